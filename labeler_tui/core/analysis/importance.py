"""Importance percentile: how large a feature's decoder row is among all features'."""

from __future__ import annotations

import numpy as np


def importance_percentiles(decoder_norms: np.ndarray | None) -> np.ndarray | None:
    """100 x the fraction of features whose decoder-row L2 norm is strictly less (docs/analysis.md).

    O(n log n): the count of strictly smaller norms is the left insertion point in sorted order.
    """
    if decoder_norms is None:
        return None
    norms = np.asarray(decoder_norms, dtype=np.float64)
    n = len(norms)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    smaller = np.searchsorted(np.sort(norms), norms, side="left")
    return 100.0 * smaller / n


def importance_percentile(decoder_norms: np.ndarray | None, feature_id: int) -> float | None:
    """One feature's importance percentile in O(n_features), same value as the array version."""
    if decoder_norms is None:
        return None
    norms = np.asarray(decoder_norms)
    return 100.0 * int(np.count_nonzero(norms < norms[feature_id])) / len(norms)
