"""Stability score: does the core's token profile hold up on two random halves of the core?

Seeded split-half agreement (docs/analysis.md, "Stability score"): every example belongs to one of two halves of the
workspace, chosen by a seeded hash of its example id (:func:`in_first_half`), so a feature's
core splits into the core examples of each half; each half's profile is the share of its
examples containing each token; the score is the cosine of the two profiles, in 0..1 (1 = the
halves agree exactly). None when the core has fewer than ``MIN_CORE_EXAMPLES`` examples, a half
is empty, or no token is held, since a split of a handful of examples says nothing.

The split is a property of the examples, not of the feature: the same example is on the same
side for every feature and every run, and splitting a core costs one lookup per example (no
per-feature permutation: the overview of a 1M-nonzero feature would spend ~5 ms on one).
"""

from __future__ import annotations

import numpy as np

from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.derived import memoized
from labeler_tui.core.analysis.feature_view import FeatureView
from labeler_tui.core.data import ModelData

MIN_CORE_EXAMPLES = 10
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def in_first_half(example_ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """bool per example id: in the first half of the split ``seed``. The rule: ``z`` =
    :func:`seeded_hash` of the id, first half when ``z < 2**63``."""
    return seeded_hash(example_ids, seed) < np.uint64(1 << 63)


def seeded_hash(example_ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """uint64 per example id: the splitmix64 finalizer of ``id + (seed + 1) *
    0x9E3779B97F4A7C15`` (mod 2**64; a negative id as its two's complement). A bijection, so
    distinct ids get distinct values; the same id and seed give the same value everywhere."""
    with np.errstate(over="ignore"):
        z = np.asarray(example_ids, dtype=np.int64).astype(np.uint64)
        z += np.uint64(seed + 1) * _GOLDEN
        z ^= z >> np.uint64(30)
        z *= _MIX1
        z ^= z >> np.uint64(27)
        z *= _MIX2
        z ^= z >> np.uint64(31)
    return z


def first_half_rows(data: ModelData, seed: int = 0) -> np.ndarray:
    """bool[n_examples]: :func:`in_first_half` of every example row (made once per process).
    A sequence model splits by sequence: every position is on its sequence's side."""
    if data.is_sequence:
        from labeler_tui.core.analysis.sequence_sets import first_half_rows as by_sequence

        return by_sequence(data, seed)
    return memoized(
        data, f"stability-halves:{seed}", lambda: in_first_half(np.asarray(data.example_ids), seed)
    )


def split_core(data: ModelData, core_rows: np.ndarray, seed: int = 0) -> list[np.ndarray] | None:
    """The core's rows in the first and in the second half, or None when the score is not
    defined (a core under ``MIN_CORE_EXAMPLES`` or a half without examples)."""
    if len(core_rows) < MIN_CORE_EXAMPLES:
        return None
    first = first_half_rows(data, seed)[core_rows]
    halves = [np.compress(first, core_rows), np.compress(~first, core_rows)]
    return halves if all(len(half) for half in halves) else None


def score_from_counts(
    first: np.ndarray, core: np.ndarray, n_first: int, n_core: int
) -> float | None:
    """Cosine of the halves' token profiles, from the first half's and the whole core's token
    counts (so a caller counting the core anyway gets the score from one extra split)."""
    a = first / n_first
    b = (core - first) / (n_core - n_first)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norm == 0.0:
        return None
    return float(np.clip(np.dot(a, b) / norm, 0.0, 1.0))


def stability_of(view: FeatureView, seed: int = 0) -> float | None:
    """The score of a feature already read (None when not defined, see :func:`split_core`)."""
    halves = split_core(view.data, view.rows[view.region_slice(R.CORE)], seed)
    if halves is None:
        return None
    counts = view.packed.count_groups(halves, disjoint=True).tokens
    n_first, n_core = len(halves[0]), len(halves[0]) + len(halves[1])
    return score_from_counts(counts[0], counts[0] + counts[1], n_first, n_core)


def stability_score(data: ModelData, feature_id: int, seed: int = 0) -> float | None:
    """Split-half agreement of the core token profile, 0..1, or None (see :func:`split_core`)."""
    return stability_of(FeatureView(data, feature_id), seed)
