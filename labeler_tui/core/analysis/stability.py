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


def stability_of(
    view: FeatureView, seed: int = 0, core_token_counts: np.ndarray | None = None
) -> float | None:
    """``core_token_counts`` (the core's token counts, if the caller has them) saves a pass."""
    core = view.region_slice(R.CORE)
    n_core = core.stop - core.start
    if n_core < MIN_CORE_EXAMPLES:
        return None
    first_half = np.random.default_rng(seed).permutation(n_core) < n_core // 2
    core_sets = view.sets[core]
    if core_token_counts is None:
        core_token_counts = view.table.count(core_sets)[0]
    first = view.table.count(core_sets[first_half])[0]
    n_first = int(first_half.sum())
    a = first / n_first
    b = (core_token_counts - first) / (n_core - n_first)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norm == 0.0:
        return None
    return float(np.clip(np.dot(a, b) / norm, 0.0, 1.0))


def stability_score(data: ModelData, feature_id: int, seed: int = 0) -> float | None:
    """Split-half agreement of the core token profile, 0..1, or None for a tiny core."""
    return stability_of(FeatureView(data, feature_id), seed)
