"""Everything a labeler reads before naming a feature, as one JSON-ready dict.

Cost is linear in the feature's own nonzero count: the regions are slices of its sorted
activations, token and family counts are one ``np.bincount`` per region over the example sets
gathered from the cached padded set tables, metadata one ``bincount`` per column and region.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from labeler_tui.core.analysis import flags as F
from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis import stability as S
from labeler_tui.core.analysis.feature_view import FeatureView
from labeler_tui.core.analysis.importance import flat_note, importance_percentile
from labeler_tui.core.analysis.overview_cache import cached_part
from labeler_tui.core.analysis.packed_sets import GroupCounts
from labeler_tui.core.analysis.quadrant import quadrant
from labeler_tui.core.data import ModelData
from labeler_tui.core.records import LabelRecord

TOP_K = 10  # tokens, families and values per metadata column listed per region
HISTOGRAM_BINS = 40
EFFECTS_K = 10  # promoted and suppressed outputs listed


def feature_overview(
    data: ModelData, feature_id: int, label: LabelRecord | None = None
) -> dict[str, Any]:
    """The overview of one feature, JSON-ready (the shape of ``labeler overview --json``,
    docs/cli.md).

    Keys: ``feature_id``, ``model``, ``n_nonzero``, ``effective_max``, ``max``, ``mean``,
    ``importance_percentile`` (null without a decoder), ``stability_score`` (null for a core
    of < 10 examples or with an empty half, see ``stability.py``), ``quadrant`` (see
    ``quadrant.py``; null unless there is both an importance and a label with
    ``interpretability_confidence``), ``histogram`` ``{"edges", "counts"}`` of
    activation / effective max (40 bins over [0, max(1, max f)], half-open (lo, hi]),
    ``regions`` (six, floor first: ``name``, ``lo``, ``hi`` (null = inf), ``count``, ``share``,
    ``top_tokens`` ``[{"token", "share", "enrichment"}]``, ``top_families`` ``[{"family", ...}]``,
    ``metadata`` ``{column: [{"value", ...}]}``, 10 each), ``flags`` (``{"kind", "subject",
    ...}``: tail_marker + ``enrichment``, ``zone_share``, ``core_coverage``; flanderized +
    ``column``, ``value``, ``top_share``, ``core_coverage``; super_stimulus + ``column``,
    ``value``, ``zone_share``, ``core_coverage``), ``general`` (``{"kind": "family" |
    "metadata", "subject", "core_coverage"}``), ``effects`` (``{"promoted", "suppressed"}``,
    10 ``{"name", "value"}`` each, or null without an output matrix; ``evidence/effects.py``)
    and ``label`` (the record's JSON, or null).

    Shares are fractions (0..1) of the region's examples; ``core_coverage`` values are percents
    (null when the core is empty). A dead feature gives ``n_nonzero`` 0, null statistics, an
    empty histogram and no regions, flags or general values. Rules: ``flags.py``.

    A large feature's label-independent part is cached per feature (``overview_cache.py``).
    """
    activations = data.feature(feature_id)  # validates the id
    f = activations.feature_id
    n = len(activations.activations)
    part = cached_part(data, f, n, LABEL_FREE_KEYS, lambda: _label_free(data, f))
    confidence = label.interpretability_confidence if label else None
    part["quadrant"] = quadrant(part["importance_percentile"], confidence)
    part["model"] = data.name
    part["label"] = label.to_json() if label else None
    part["effects"] = _effects(data, f)
    return {key: part[key] for key in KEYS}


def _effects(data: ModelData, feature_id: int) -> dict[str, Any] | None:
    """``{"promoted", "suppressed"}`` (the top ``EFFECTS_K`` of each) or None without an output
    matrix. Not in the cached part: the output matrix is not an input of the index."""
    from labeler_tui.core.evidence.effects import has_output, output_effects

    if not has_output(data):
        return None
    effects = output_effects(data, feature_id, EFFECTS_K).to_json()
    return {"promoted": effects["promoted"], "suppressed": effects["suppressed"]}


KEYS = (
    "feature_id",
    "model",
    "n_nonzero",
    "effective_max",
    "max",
    "mean",
    "importance_percentile",
    "importance_note",
    "stability_score",
    "quadrant",
    "histogram",
    "regions",
    "flags",
    "general",
    "effects",
    "label",
)
LABEL_FREE_KEYS = tuple(key for key in KEYS if key not in ("model", "quadrant", "label", "effects"))


def fraction_histogram(
    data: ModelData, feature_id: int, n_bins: int = HISTOGRAM_BINS
) -> tuple[list[float], list[int]]:
    """The overview's histogram of activation / effective max in ``n_bins`` bins (edges,
    counts; empty for a dead feature): a plot asks for as many bins as it has columns."""
    return FeatureView(data, feature_id).histogram(max(1, int(n_bins)))


def _label_free(data: ModelData, feature_id: int) -> dict[str, Any]:
    """The overview without ``model``, ``quadrant`` and ``label``."""
    view = FeatureView(data, feature_id)
    result: dict[str, Any] = {
        "feature_id": view.feature_id,
        "n_nonzero": view.n,
        "effective_max": view.effective_max,
        "max": float(view.activations[0]) if view.n else None,
        "mean": float(np.mean(view.activations, dtype=np.float64)) if view.n else None,
        "importance_percentile": importance_percentile(data.decoder_norms, view.feature_id),
        "importance_note": flat_note(data.decoder_norms),
        "stability_score": None,
        "histogram": {"edges": [], "counts": []},
        "regions": [],
        "flags": [],
        "general": [],
    }
    if view.n == 0:
        return result
    edges, bins = view.histogram(HISTOGRAM_BINS)
    result["histogram"] = {"edges": edges, "counts": bins}

    region_counts = view.bounds[:, 1] - view.bounds[:, 0]
    counts, result["stability_score"] = _count_regions(view)
    token_counts, family_counts = counts.tokens, counts.families
    metadata: dict[str, tuple[list[Any], np.ndarray, np.ndarray]] = {}
    for column in data.metadata_columns:
        values = data.metadata_values(column)
        top_codes = view.metadata_codes(column, F.FLANDERIZED_TOP_N)
        metadata[column] = (values, top_codes, counts.metadata[column])

    base = None
    if data.is_sequence:  # enrichment over the corpus; flags with support (sequence_flags.py)
        from labeler_tui.core.analysis import sequence_flags as SF

        base = SF.base_rates(data)
    result["regions"] = [
        _region(i, region_counts, token_counts, family_counts, metadata, data, view.n, base)
        for i in range(len(R.REGIONS))
    ]
    if base is not None:
        flags = SF.tail_markers(view, token_counts, region_counts, base)
        flags += SF.metadata_flags(view, metadata, region_counts)
        flags += SF.position_flags(view, token_counts, region_counts)
        general = SF.general_words(data, family_counts, region_counts, base)
    else:
        flags = F.tail_markers(token_counts, region_counts, data.token_names)
        general = F.general_values("family", data.family_names, family_counts, region_counts)
    for column, (values, top_codes, value_counts) in metadata.items():
        if base is None:
            flags += F.flanderized(column, values, top_codes, value_counts, region_counts)
            flags += F.super_stimuli(column, values, value_counts, region_counts)
        known = value_counts.copy()
        known[:, [i for i, v in enumerate(values) if v is None]] = 0
        names = [f"{column}={v}" for v in values]
        general += F.general_values("metadata", names, known, region_counts)
    result["flags"] = flags
    # a value concentrated at 90%+ is a super-stimulus even if a few examples reach every region
    supers = {flag["subject"] for flag in flags if flag["kind"] == "super_stimulus"}
    result["general"] = [g for g in general if g["subject"] not in supers]
    return result


def _count_regions(view: FeatureView) -> tuple[GroupCounts, float | None]:
    """Per-region counts and the stability score from one counting pass: the core is counted
    as its two stability halves (seed 0), which add up to the core's counts."""
    groups = [view.rows[view.region_slice(i)] for i in range(len(R.REGIONS))]
    halves = S.split_core(view.data, groups[R.CORE])
    if halves is None:
        return view.packed.count_groups(groups, disjoint=True), None
    n_core = len(groups[R.CORE])
    groups[R.CORE] = halves[0]
    groups.append(halves[1])
    counts = view.packed.count_groups(groups, disjoint=True)  # a feature's rows are distinct
    first = counts.tokens[R.CORE].copy()
    merged = GroupCounts(
        _merge_second_half(counts.tokens),
        _merge_second_half(counts.families),
        {column: _merge_second_half(a) for column, a in counts.metadata.items()},
    )
    score = S.score_from_counts(first, merged.tokens[R.CORE], len(halves[0]), n_core)
    return merged, score


def _merge_second_half(per_group: np.ndarray) -> np.ndarray:
    """Regions' counts from [regions with the core's first half, the core's second half]."""
    out = per_group[: len(R.REGIONS)].copy()
    out[R.CORE] += per_group[len(R.REGIONS)]
    return out


def _region(
    i: int,
    region_counts: np.ndarray,
    token_counts: np.ndarray,
    family_counts: np.ndarray,
    metadata: dict[str, tuple[list[Any], np.ndarray, np.ndarray]],
    data: ModelData,
    n: int,
    base: Any = None,
) -> dict[str, Any]:
    region = R.REGIONS[i]
    count = int(region_counts[i])
    tokens, families = (None, None) if base is None else (base.tokens, base.families)
    return {
        "name": region.name,
        "lo": region.lo,
        "hi": None if math.isinf(region.hi) else region.hi,
        "count": count,
        "share": count / n,
        "top_tokens": _top(token_counts, i, count, n, data.token_names, "token", tokens),
        "top_families": _top(family_counts, i, count, n, data.family_names, "family", families),
        "metadata": {
            column: _top(
                counts,
                i,
                count,
                n,
                values,
                "value",
                None if base is None else base.metadata[column],
            )
            for column, (values, _codes, counts) in metadata.items()
        },
    }


def _top(
    counts: np.ndarray,
    region: int,
    region_count: int,
    n: int,
    names: list[Any],
    key: str,
    base: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """The region's TOP_K most common values: share of the region, enrichment over nonzero
    (over the corpus, ``base`` rates, for a sequence model)."""
    row = counts[region]
    present = np.flatnonzero(row)
    if len(present) > TOP_K:  # keep ties at the cut so the id tie-break below is exact
        threshold = np.partition(row[present], len(present) - TOP_K)[len(present) - TOP_K]
        present = present[row[present] >= threshold]
    present = present[np.lexsort((present, -row[present]))][:TOP_K]
    expected = counts.sum(axis=0) / n if base is None else base
    out = []
    for v in present:
        share = row[v] / region_count
        enrichment = share / expected[v] if expected[v] > 0 else None
        out.append(
            {
                key: names[v],
                "share": float(share),
                "enrichment": None if enrichment is None else float(enrichment),
            }
        )
    return out
