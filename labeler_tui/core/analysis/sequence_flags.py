"""Red flags of a sequence model's feature (docs/analysis.md, "Sequence models").

Tokens of a language model's context are common everywhere (``the``, commas, newlines), so a
sequence model's enrichment is measured against the corpus: ``P(x | region) / P(x | every
position)``, with the base rates of ``sequence_sets.base_counts``. A flag about a slot token
or a metadata value also needs support: at least ``MIN_SUPPORT_EXAMPLES`` examples from at
least ``MIN_SUPPORT_SEQUENCES`` sequences, so one document repeating a phrase is no flag.

- ``tail_marker``: a slot token in >= 5% of the flanderization zone's examples, >= 5x enriched
  there over the corpus, at least twice as common in the zone as in all the feature's nonzero
  examples, and in < 20% of the core;
- ``flanderized`` and ``super_stimulus``: as for bag models (``flags.py``), with the support;
- ``first_token``: >= 50% of the top-100 examples, or of all nonzero examples, are at position 0;
- ``single_token``: one ``token:`` word covers >= 90% of the core;
- ``dense``: active on more than 10% of the corpus's positions;
- ``single_document``: the top-100 examples come from <= 3 sequences (with >= 10 examples).

General values are the words and metadata values present in every non-empty region, as for bag
models, keeping only words at least twice as common in the core as in the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labeler_tui.core.analysis import flags as F
from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.example_sets import example_sets
from labeler_tui.core.analysis.feature_view import FeatureView
from labeler_tui.core.analysis.sequence_sets import base_counts, base_metadata_counts
from labeler_tui.core.data import ModelData
from labeler_tui.core.data.sequence_data import SequenceModelData

MIN_SUPPORT_EXAMPLES = 5
MIN_SUPPORT_SEQUENCES = 3
TAIL_MIN_CORPUS_ENRICHMENT = 5.0
TAIL_MIN_FEATURE_ENRICHMENT = 2.0
FIRST_TOKEN_SHARE = 0.5
SINGLE_TOKEN_CORE_SHARE = 0.9
DENSE_SHARE = 0.10
SINGLE_DOCUMENT_TOP_N = 100
SINGLE_DOCUMENT_MAX_SEQUENCES = 3
SINGLE_DOCUMENT_MIN_EXAMPLES = 10
GENERAL_MIN_CORE_ENRICHMENT = 2.0


@dataclass(frozen=True)
class BaseRates:
    """Shares of the corpus's positions holding each slot token, word and metadata value."""

    tokens: np.ndarray
    families: np.ndarray
    metadata: dict[str, np.ndarray]


def base_rates(data: ModelData) -> BaseRates:
    tokens, families = base_counts(data)
    n = max(data.n_examples, 1)
    metadata = {c: base_metadata_counts(data, c) / n for c in data.metadata_columns}
    return BaseRates(tokens / n, families / n, metadata)


def _sequences_of(data: ModelData, rows: np.ndarray) -> np.ndarray:
    assert isinstance(data, SequenceModelData)
    return data.sequences.seq_rows(rows)


def _supported(data: ModelData, rows: np.ndarray, held: np.ndarray) -> tuple[int, int]:
    """(examples, distinct sequences) of ``rows`` where ``held`` is true."""
    chosen = rows[held]
    return len(chosen), len(np.unique(_sequences_of(data, chosen)))


def _enough(support: tuple[int, int]) -> bool:
    return support[0] >= MIN_SUPPORT_EXAMPLES and support[1] >= MIN_SUPPORT_SEQUENCES


def _support_json(support: tuple[int, int]) -> dict[str, int]:
    return {"examples": support[0], "sequences": support[1]}


def tail_markers(
    view: FeatureView, token_counts: np.ndarray, region_counts: np.ndarray, base: BaseRates
) -> list[dict[str, Any]]:
    data = view.data
    zone_count = int(region_counts[R.FLANDERIZATION])
    core_count = int(region_counts[R.CORE])
    if zone_count == 0 or core_count == 0:
        return []
    zone = token_counts[R.FLANDERIZATION] / zone_count
    overall = token_counts.sum(axis=0) / max(view.n, 1)
    core = 100.0 * token_counts[R.CORE] / core_count
    with np.errstate(divide="ignore", invalid="ignore"):
        over_corpus = np.where(base.tokens > 0, zone / base.tokens, 0.0)
        over_feature = np.where(overall > 0, zone / overall, 0.0)
    candidates = np.flatnonzero(
        (zone >= F.TAIL_MIN_ZONE_SHARE)
        & (core < F.TAIL_MAX_CORE_PERCENT)
        & (over_corpus >= TAIL_MIN_CORPUS_ENRICHMENT)
        & (over_feature >= TAIL_MIN_FEATURE_ENRICHMENT)
        & (token_counts[R.FLANDERIZATION] >= MIN_SUPPORT_EXAMPLES)
    )
    candidates = candidates[np.lexsort((candidates, -over_corpus[candidates]))]
    if not len(candidates):
        return []
    rows = view.rows[view.region_slice(R.FLANDERIZATION)]
    table = example_sets(data)
    sets = table.gather(rows)[:, : table.token_width]
    out = []
    for t in candidates:
        support = _supported(data, rows, (sets == int(t)).any(axis=1))
        if not _enough(support):
            continue
        out.append(
            {
                "kind": "tail_marker",
                "subject": data.token_names[int(t)],
                "enrichment": float(over_corpus[t]),
                "zone_share": float(zone[t]),
                "core_coverage": float(core[t]),
                "support": _support_json(support),
            }
        )
    return out


def _value_support(
    view: FeatureView, column: str, rows_slice: slice, value: int
) -> tuple[int, int]:
    rows = view.rows[rows_slice]
    codes = view.data.metadata_codes(column, rows)
    return _supported(view.data, rows, codes == value)


def metadata_flags(
    view: FeatureView,
    metadata: dict[str, tuple[list[Any], np.ndarray, np.ndarray]],
    region_counts: np.ndarray,
) -> list[dict[str, Any]]:
    """Flanderized values and super-stimuli (``flags.py``'s rules) that have support: in the
    top 100 examples for a flanderized value, in the flanderization zone for a super-stimulus."""
    out: list[dict[str, Any]] = []
    top = slice(0, min(view.n, F.FLANDERIZED_TOP_N))
    zone = view.region_slice(R.FLANDERIZATION)
    for column, (values, top_codes, value_counts) in metadata.items():
        codes = {str(v): i for i, v in enumerate(values)}
        for flag in F.flanderized(column, values, top_codes, value_counts, region_counts):
            support = _value_support(view, column, top, codes[str(flag["value"])])
            if _enough(support):
                out.append({**flag, "support": _support_json(support)})
        for flag in F.super_stimuli(column, values, value_counts, region_counts):
            support = _value_support(view, column, zone, codes[str(flag["value"])])
            if _enough(support):
                out.append({**flag, "support": _support_json(support)})
    return out


def position_flags(
    view: FeatureView, token_counts: np.ndarray, region_counts: np.ndarray
) -> list[dict[str, Any]]:
    """``first_token``, ``single_token``, ``dense`` and ``single_document``."""
    data = view.data
    assert isinstance(data, SequenceModelData)
    table = data.sequences
    out: list[dict[str, Any]] = []
    seq_rows, positions = table.locate(view.rows)
    top_n = min(view.n, SINGLE_DOCUMENT_TOP_N)
    at_zero = positions == 0
    top_share = float(at_zero[:top_n].mean()) if top_n else 0.0
    all_share = float(at_zero.mean()) if view.n else 0.0
    count = int(at_zero.sum())
    if count >= MIN_SUPPORT_EXAMPLES and max(top_share, all_share) >= FIRST_TOKEN_SHARE:
        out.append(
            {
                "kind": "first_token",
                "subject": "pos=0",
                "top_share": top_share,
                "nonzero_share": all_share,
                "support": _support_json((count, len(np.unique(seq_rows[at_zero])))),
            }
        )
    core_count = int(region_counts[R.CORE])
    if core_count:
        w = table.n_words
        own = token_counts[R.CORE, :w]  # the token: slot
        best = int(np.argmax(own))
        share = float(own[best]) / core_count
        if share >= SINGLE_TOKEN_CORE_SHARE:
            core_rows = view.rows[view.region_slice(R.CORE)]
            words = table.token_word[np.asarray(table.tokens[core_rows])]
            support = _supported(data, core_rows, words == best)
            if _enough(support):
                out.append(
                    {
                        "kind": "single_token",
                        "subject": data.token_names[best],
                        "core_coverage": 100.0 * share,
                        "support": _support_json(support),
                    }
                )
    density = view.n / max(data.n_examples, 1)
    if density > DENSE_SHARE:
        out.append({"kind": "dense", "subject": "density", "density": density})
    if view.n >= SINGLE_DOCUMENT_MIN_EXAMPLES:
        top_sequences = np.unique(seq_rows[:top_n])
        if len(top_sequences) <= SINGLE_DOCUMENT_MAX_SEQUENCES:
            ids = [int(table.seq_ids[s]) for s in top_sequences]
            out.append(
                {
                    "kind": "single_document",
                    "subject": "seq=" + ",".join(map(str, ids)),
                    "sequences": ids,
                    "top_n": top_n,
                }
            )
    return out


def general_words(
    data: ModelData,
    family_counts: np.ndarray,
    region_counts: np.ndarray,
    base: BaseRates,
) -> list[dict[str, Any]]:
    """Words in every non-empty region that are at least twice as common in the core as in
    the corpus (common words are in every region of any feature)."""
    core_count = int(region_counts[R.CORE])
    keep = family_counts.copy()
    if core_count:
        core_share = family_counts[R.CORE] / core_count
        with np.errstate(divide="ignore", invalid="ignore"):
            enriched = np.where(base.families > 0, core_share / base.families, 0.0)
        keep[:, enriched < GENERAL_MIN_CORE_ENRICHMENT] = 0
    return F.general_values("family", data.family_names, keep, region_counts)
