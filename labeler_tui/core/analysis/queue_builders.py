"""Queue builders: which features to label next, each with a priority in 0..1 and a reason.

``LabelingService.build_queue`` calls :func:`build_candidates` and adds the result to the queue.
All methods skip ``excluded`` ids (labeled, completed, skipped or pending, as the caller
decides), already labeled features and dead features, except ``mysterious``, which is by
definition about labeled features (it ignores ``excluded``):

- ``activation_count``: nonzero count / the largest nonzero count.
- ``cluster``: similarity to ``seed`` (decoder cosine; token-profile cosine without a decoder),
  only neighbours with similarity > 0; the seed itself is not a candidate.
- ``importance``: decoder-norm percentile / 100 (needs a decoder).
- ``mysterious``: labeled, importance >= 80 and interpretability_confidence < 0.5; priority =
  importance / 100. Importance comes from the decoder, else from the label's stored
  ``importance_percentile``.
Order: priority descending, then feature id; ``top_k`` keeps the first k (None = all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from labeler_tui.core.analysis.importance import importance_percentiles
from labeler_tui.core.analysis.similarity import similar_features
from labeler_tui.core.data import ModelData
from labeler_tui.core.errors import ValidationError

QUEUE_METHODS = ("activation_count", "cluster", "importance", "mysterious")
MYSTERIOUS_MIN_IMPORTANCE = 80.0
MYSTERIOUS_MAX_INTERPRETABILITY = 0.5


@dataclass(slots=True)
class Candidate:
    feature_id: int
    priority: float
    reason: str


def build_candidates(
    data: ModelData,
    method: str,
    *,
    labels: Mapping[int, Mapping[str, Any]],
    excluded: set[int],
    seed: int | None = None,
    top_k: int | None = None,
) -> list[Candidate]:
    """Candidates of one builder, best first (see the module docstring for each method)."""
    if method not in QUEUE_METHODS:
        raise ValidationError(
            f"--method {method!r}: unknown queue method (choose from {', '.join(QUEUE_METHODS)})"
        )
    if top_k is not None and (isinstance(top_k, bool) or top_k < 1):
        raise ValidationError(f"--top-k {top_k!r}: must be a positive integer")
    labeled = {int(f) for f in labels}
    if method == "mysterious":
        candidates = _mysterious(data, labels)
    else:
        skip = np.zeros(data.n_features, dtype=bool)
        ids = np.fromiter((int(f) for f in set(excluded) | labeled), dtype=np.int64)
        ids = ids[(ids >= 0) & (ids < data.n_features)]
        skip[ids] = True
        skip |= np.asarray(data.nonzero_counts) == 0
        if method == "activation_count":
            candidates = _activation_count(data, skip, top_k)
        elif method == "importance":
            candidates = _importance(data, skip, top_k)
        else:
            candidates = _cluster(data, skip, seed, top_k)
    if method in ("cluster", "mysterious"):  # the others come ranked and cut already
        candidates.sort(key=lambda c: (-c.priority, c.feature_id))
    return candidates if top_k is None else candidates[:top_k]


def _ranked(priorities: np.ndarray, skip: np.ndarray, top_k: int | None) -> np.ndarray:
    """Ids not skipped, by priority descending then id, cut to top_k before any object is made
    (a Python object per feature of a 24k-feature model costs more than the ranking)."""
    ids = np.flatnonzero(~skip)
    order = np.lexsort((ids, -priorities[ids]))
    return ids[order] if top_k is None else ids[order[:top_k]]


def _activation_count(data: ModelData, skip: np.ndarray, top_k: int | None) -> list[Candidate]:
    counts = np.asarray(data.nonzero_counts)
    top = int(counts.max()) if len(counts) else 0
    if top == 0:
        return []
    priorities = counts / top
    return [
        Candidate(
            int(f), float(priorities[f]), f"activation_count: {int(counts[f])} nonzero examples"
        )
        for f in _ranked(priorities, skip, top_k)
    ]


def _importance(data: ModelData, skip: np.ndarray, top_k: int | None) -> list[Candidate]:
    percentiles = importance_percentiles(data.decoder_norms)
    if percentiles is None:
        raise ValidationError(f"--method importance: model {data.name!r} has no decoder configured")
    return [
        Candidate(
            int(f), float(percentiles[f] / 100.0), f"importance: {percentiles[f]:.1f} percentile"
        )
        for f in _ranked(percentiles, skip, top_k)
    ]


def _cluster(
    data: ModelData, skip: np.ndarray, seed: int | None, top_k: int | None
) -> list[Candidate]:
    if seed is None:
        raise ValidationError("--seed is required for --method cluster")
    method = "decoder" if data.has_decoder else "tokens"
    neighbours = similar_features(data, seed, method=method, top_k=data.n_features)
    out = []
    for f, similarity in neighbours:
        if skip[f] or similarity <= 0:
            continue
        out.append(
            Candidate(
                f,
                float(min(similarity, 1.0)),
                f"cluster: {method} similarity {similarity:.3f} to {seed}",
            )
        )
        if top_k is not None and len(out) >= top_k:
            break
    return out


def _mysterious(data: ModelData, labels: Mapping[int, Mapping[str, Any]]) -> list[Candidate]:
    percentiles = importance_percentiles(data.decoder_norms)
    out = []
    for key, record in labels.items():
        f = int(key)
        if not 0 <= f < data.n_features:
            continue
        if percentiles is not None:
            importance: float | None = float(percentiles[f])
        else:
            stored = record.get("importance_percentile")
            importance = float(stored) if isinstance(stored, int | float) else None
        confidence = record.get("interpretability_confidence")
        if importance is None or not isinstance(confidence, int | float):
            continue
        if importance >= MYSTERIOUS_MIN_IMPORTANCE and confidence < MYSTERIOUS_MAX_INTERPRETABILITY:
            out.append(
                Candidate(
                    f,
                    importance / 100.0,
                    f"mysterious: importance {importance:.1f}, interpretability {confidence:.2f}",
                )
            )
    return out
