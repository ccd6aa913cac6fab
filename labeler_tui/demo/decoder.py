"""Decoder rows for a demo model: random directions, near-duplicates for clusters.

Norms are lognormal so importance percentiles spread out. Cluster members are one base
direction plus a little noise (pairwise cosine ~0.96); every other row is redrawn until its
cosine with each cluster member is below ``MAX_OUTSIDE_COSINE``, so a member's nearest
neighbours by decoder cosine are exactly its cluster partners.
"""

from __future__ import annotations

import numpy as np

MEMBER_NOISE = 0.2
MAX_OUTSIDE_COSINE = 0.45


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def decoder_matrix(
    rng: np.random.Generator,
    n_features: int,
    d: int,
    clusters: list[list[int]],
    norm_quantiles: dict[int, float] | None = None,
) -> np.ndarray:
    """float32[n_features, d]; ``norm_quantiles`` pins chosen features' norms at a quantile
    of the norm distribution (e.g. a feature the docs quote at the 9th percentile)."""
    directions = _unit(rng.standard_normal((n_features, d)))
    members = np.array(sorted({f for c in clusters for f in c}), dtype=np.int64)
    for cluster in clusters:
        base = _unit(rng.standard_normal((1, d)))
        noise = rng.standard_normal((len(cluster), d)) * (MEMBER_NOISE / np.sqrt(d))
        directions[cluster] = _unit(base + noise)
    if len(members):
        outside = np.ones(n_features, dtype=bool)
        outside[members] = False
        while True:
            cosine = np.abs(directions @ directions[members].T).max(axis=1)
            redraw = np.flatnonzero(outside & (cosine >= MAX_OUTSIDE_COSINE))
            if not len(redraw):
                break
            directions[redraw] = _unit(rng.standard_normal((len(redraw), d)))
    norms = rng.lognormal(0.0, 0.5, size=n_features)
    for feature_id, q in (norm_quantiles or {}).items():
        norms[feature_id] = np.quantile(norms, q)
    return (directions * norms[:, None]).astype(np.float32)
