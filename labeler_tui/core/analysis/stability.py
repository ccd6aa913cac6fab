"""Stability score: does the core's token profile hold up on two random halves of the core?

Seeded split-half agreement (DESIGN.md): the core examples are split into two halves by a
permutation from ``numpy.random.default_rng(seed)``; each half's profile is the share of its
examples containing each token; the score is the cosine of the two profiles, in 0..1 (1 = the
halves agree exactly). None when the core has fewer than ``MIN_CORE_EXAMPLES`` examples or no
tokens, since a split of a handful of examples says nothing.
"""

from __future__ import annotations

import numpy as np

from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.feature_view import FeatureView
from labeler_tui.core.data import ModelData

MIN_CORE_EXAMPLES = 10


def first_half(n_core: int, seed: int = 0) -> np.ndarray:
    """bool[n_core]: which core positions (highest activation first) form the first half."""
    return np.random.default_rng(seed).permutation(n_core) < n_core // 2


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
    """The score of a feature already read (None for a core under ``MIN_CORE_EXAMPLES``)."""
    core = view.region_slice(R.CORE)
    n_core = core.stop - core.start
    if n_core < MIN_CORE_EXAMPLES:
        return None
    mask = first_half(n_core, seed)
    core_rows = view.rows[core]
    halves = [np.compress(mask, core_rows), np.compress(~mask, core_rows)]
    counts = view.packed.count_groups(halves, disjoint=True).tokens
    return score_from_counts(counts[0], counts[0] + counts[1], int(mask.sum()), n_core)


def stability_score(data: ModelData, feature_id: int, seed: int = 0) -> float | None:
    """Split-half agreement of the core token profile, 0..1, or None for a tiny core."""
    return stability_of(FeatureView(data, feature_id), seed)
