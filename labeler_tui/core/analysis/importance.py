"""Importance percentile: how large a feature's decoder row is among all features'.

Many SAEs keep every decoder row at unit norm (sparsify's ``normalize_decoder``, SAELens
checkpoints trained with a norm constraint): the norms then differ only by rounding, and a
percentile of them would rank noise. When the norms' spread, ``(max - min) / median`` over the
rows with a nonzero norm, is under ``FLAT_SPREAD``, the norms are *flat* and every importance is
null; :func:`flat_note` says so.
"""

from __future__ import annotations

import numpy as np

FLAT_SPREAD = 0.05


def norm_spread(decoder_norms: np.ndarray | None) -> float | None:
    """``(max - min) / median`` of the nonzero decoder-row norms (None without any)."""
    if decoder_norms is None:
        return None
    norms = np.asarray(decoder_norms, dtype=np.float64)
    norms = norms[norms > 0]
    if len(norms) < 2:
        return None
    return float((norms.max() - norms.min()) / np.median(norms))


def norms_are_flat(decoder_norms: np.ndarray | None) -> bool:
    """Whether the decoder norms are flat (spread < ``FLAT_SPREAD``): no importance then."""
    spread = norm_spread(decoder_norms)
    return spread is not None and spread < FLAT_SPREAD


def flat_note(decoder_norms: np.ndarray | None) -> str | None:
    """Why the importance is null for a model with flat decoder norms (None otherwise)."""
    spread = norm_spread(decoder_norms)
    if spread is None or spread >= FLAT_SPREAD:
        return None
    return (
        f"decoder norms are flat (spread {100 * spread:.2g}% < {100 * FLAT_SPREAD:.0f}%): "
        "the SAE normalises its decoder rows, so importance is not ranked"
    )


def importance_percentiles(decoder_norms: np.ndarray | None) -> np.ndarray | None:
    """100 x the fraction of features whose decoder-row L2 norm is strictly less (docs/analysis.md);
    None without a decoder or with flat norms.

    O(n log n): the count of strictly smaller norms is the left insertion point in sorted order.
    """
    if decoder_norms is None or norms_are_flat(decoder_norms):
        return None
    norms = np.asarray(decoder_norms, dtype=np.float64)
    n = len(norms)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    smaller = np.searchsorted(np.sort(norms), norms, side="left")
    return 100.0 * smaller / n


def importance_percentile(decoder_norms: np.ndarray | None, feature_id: int) -> float | None:
    """One feature's importance percentile in O(n_features), same value as the array version
    (None without a decoder or with flat norms)."""
    if decoder_norms is None or norms_are_flat(decoder_norms):
        return None
    norms = np.asarray(decoder_norms)
    return 100.0 * int(np.count_nonzero(norms < norms[feature_id])) / len(norms)
