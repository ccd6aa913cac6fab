"""Red flags and general concepts (docs/analysis.md, "Red flags").

Inputs are per-region example counts (rows: REGIONS order) so every rule is a few vector
comparisons. Thresholds follow the original tool's guide; the two it leaves open are fixed here:

- tail marker: a token >= 5x enriched in the flanderization zone (P(t | zone) / P(t | nonzero))
  and in < 20% of core examples. Noise floor: the token must also be in >= 5% of the zone's
  examples (else a token seen once in a small zone is "5x enriched").
- flanderized: a metadata value in > 40% of the top-100 examples and < 15% of core examples.
- super-stimulus ("values concentrated at 90%+"; the original guide: the zone "concentrated on 3-4
  special-dependent weapons"): only when the column's 4 most common values in the zone cover
  >= 90% of its examples; then each of those values in > 10% of the zone's examples, < 15% of
  core examples and at least twice as common in the zone as in core. A zone spread over many
  values (a general concept pushed high) has no super-stimuli.
- general: a token family or metadata value present in every non-empty region (a feature needs
  two or more non-empty regions to have general values), best core coverage first, 10 per kind
  (per metadata column); the overview drops values flagged as super-stimuli from this list.
A flagged value must also be held by at least ``MIN_FLAG_EXAMPLES`` examples of the zone (or of
the top 100), so one example in a tiny zone is no flag. Missing metadata values (null) are never
flagged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labeler_tui.core.analysis import regions as R

TAIL_MIN_ENRICHMENT = 5.0
TAIL_MAX_CORE_PERCENT = 20.0
TAIL_MIN_ZONE_SHARE = 0.05
FLANDERIZED_TOP_N = 100
FLANDERIZED_MIN_TOP_PERCENT = 40.0
FLANDERIZED_MAX_CORE_PERCENT = 15.0
SUPER_MIN_ZONE_SHARE = 0.10
SUPER_MAX_CORE_PERCENT = 15.0
SUPER_MIN_ZONE_OVER_CORE = 2.0
SUPER_TOP_VALUES = 4
SUPER_MIN_CONCENTRATION = 0.90
GENERAL_LIMIT = 10
MIN_FLAG_EXAMPLES = 2


def tail_markers(
    token_counts: np.ndarray, region_counts: np.ndarray, token_names: list[str]
) -> list[dict[str, Any]]:
    zone_count = int(region_counts[R.FLANDERIZATION])
    n = int(region_counts.sum())
    if zone_count == 0 or region_counts[R.CORE] == 0:  # no core: nothing to contrast the tail with
        return []
    zone = token_counts[R.FLANDERIZATION] / zone_count
    overall = token_counts.sum(axis=0) / n
    core_count = int(region_counts[R.CORE])
    core = 100.0 * token_counts[R.CORE] / max(core_count, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        enrichment = np.where(overall > 0, zone / overall, 0.0)
    hits = np.flatnonzero(
        (enrichment >= TAIL_MIN_ENRICHMENT)
        & (core < TAIL_MAX_CORE_PERCENT)
        & (zone >= TAIL_MIN_ZONE_SHARE)
        & (token_counts[R.FLANDERIZATION] >= MIN_FLAG_EXAMPLES)
    )
    hits = hits[np.lexsort((hits, -enrichment[hits]))]
    return [
        {
            "kind": "tail_marker",
            "subject": token_names[t],
            "enrichment": float(enrichment[t]),
            "zone_share": float(zone[t]),
            "core_coverage": float(core[t]) if core_count else None,
        }
        for t in hits
    ]


def flanderized(
    column: str,
    values: list[Any],
    top_codes: np.ndarray,
    code_counts: np.ndarray,
    region_counts: np.ndarray,
) -> list[dict[str, Any]]:
    """``top_codes``: the column's codes of the top-100 examples (highest activation first)."""
    if len(top_codes) == 0 or region_counts[R.CORE] == 0:
        return []
    top_counts = np.bincount(top_codes, minlength=len(values))
    top = 100.0 * top_counts / len(top_codes)
    core_count = int(region_counts[R.CORE])
    core = 100.0 * code_counts[R.CORE] / max(core_count, 1)
    hits = np.flatnonzero(
        (top > FLANDERIZED_MIN_TOP_PERCENT) & (core < FLANDERIZED_MAX_CORE_PERCENT)
    )
    hits = hits[np.lexsort((hits, -top[hits]))]
    return [
        {
            "kind": "flanderized",
            "subject": f"{column}={values[v]}",
            "column": column,
            "value": values[v],
            "top_share": float(top[v] / 100.0),
            "core_coverage": float(core[v]) if core_count else None,
        }
        for v in hits
        if values[v] is not None
    ]


def super_stimuli(
    column: str, values: list[Any], code_counts: np.ndarray, region_counts: np.ndarray
) -> list[dict[str, Any]]:
    zone_count = int(region_counts[R.FLANDERIZATION])
    if zone_count == 0 or region_counts[R.CORE] == 0:
        return []
    zone = code_counts[R.FLANDERIZATION] / zone_count
    if np.sort(zone)[::-1][:SUPER_TOP_VALUES].sum() < SUPER_MIN_CONCENTRATION:
        return []
    top_values = np.zeros(len(zone), dtype=bool)
    top_values[np.lexsort((np.arange(len(zone)), -zone))[:SUPER_TOP_VALUES]] = True
    core_count = int(region_counts[R.CORE])
    core = code_counts[R.CORE] / max(core_count, 1)
    hits = np.flatnonzero(
        top_values
        & (zone > SUPER_MIN_ZONE_SHARE)
        & (100.0 * core < SUPER_MAX_CORE_PERCENT)
        & (zone >= SUPER_MIN_ZONE_OVER_CORE * core)
        & (code_counts[R.FLANDERIZATION] >= MIN_FLAG_EXAMPLES)
    )
    hits = hits[np.lexsort((hits, -zone[hits]))]
    return [
        {
            "kind": "super_stimulus",
            "subject": f"{column}={values[v]}",
            "column": column,
            "value": values[v],
            "zone_share": float(zone[v]),
            "core_coverage": float(100.0 * core[v]) if core_count else None,
        }
        for v in hits
        if values[v] is not None
    ]


def general_values(
    kind: str,
    names: list[str],
    counts: np.ndarray,
    region_counts: np.ndarray,
) -> list[dict[str, Any]]:
    """Values present in every non-empty region; ``names[i]`` is the subject text of value i."""
    nonempty = region_counts > 0
    if int(nonempty.sum()) < 2:
        return []
    everywhere = np.flatnonzero((counts[nonempty] > 0).all(axis=0))
    core_count = int(region_counts[R.CORE])
    core = 100.0 * counts[R.CORE] / max(core_count, 1)
    everywhere = everywhere[np.lexsort((everywhere, -core[everywhere]))][:GENERAL_LIMIT]
    return [
        {
            "kind": kind,
            "subject": names[i],
            "core_coverage": float(core[i]) if core_count else None,
        }
        for i in everywhere
    ]
