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
- ``weak_suggestions``: features with a scored suggestion (``labeler import``), the weakest
  first: priority = 1 - the best suggestion's score (the mean of its scores, clipped to 0..1).
Order: priority descending, then feature id; ``top_k`` keeps the first k (None = all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from labeler_tui.core.analysis.importance import flat_note, importance_percentiles
from labeler_tui.core.analysis.similarity import default_method, similar_features
from labeler_tui.core.data import ModelData
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.registry import QUEUE_METHODS, QueueMethod, capabilities
from labeler_tui.core.stores.suggestions import SuggestionBook

MYSTERIOUS_MIN_IMPORTANCE = 80.0
MYSTERIOUS_MAX_INTERPRETABILITY = 0.5


@dataclass(slots=True)
class Candidate:
    feature_id: int
    priority: float
    reason: str


@dataclass(frozen=True)
class BuildRequest:
    """What a builder gets: the data, the labels, the features it must not propose (``skip``:
    excluded, labeled or dead), the seed and how many to return (None = all)."""

    data: ModelData
    labels: Mapping[int, LabelRecord]
    skip: np.ndarray
    seed: int | None
    top_k: int | None
    suggestions: SuggestionBook | None = None
    """The model's imported suggestions, for a builder that ``uses_suggestions``."""


def build_candidates(
    data: ModelData,
    method: str,
    *,
    labels: Mapping[int, LabelRecord],
    excluded: set[int],
    seed: int | None = None,
    top_k: int | None = None,
    include_labeled: bool = False,
    suggestions: SuggestionBook | None = None,
) -> list[Candidate]:
    """Candidates of one builder, best first (see the module docstring for each method);
    labeled features are left out unless ``include_labeled``."""
    builder = QUEUE_METHODS.require(method, capabilities(data), data.name)
    if top_k is not None and (isinstance(top_k, bool) or top_k < 1):
        raise ValidationError(f"--top-k {top_k!r}: must be a positive integer")
    if builder.takes_seed and seed is None:
        raise ValidationError(f"--seed is required for --method {method}")
    skip = np.zeros(data.n_features, dtype=bool)
    left_out = set(excluded) if include_labeled else set(excluded) | set(labels)
    ids = np.fromiter((int(f) for f in left_out), dtype=np.int64)
    skip[ids[(ids >= 0) & (ids < data.n_features)]] = True
    skip |= np.asarray(data.nonzero_counts) == 0
    candidates = builder.candidates(BuildRequest(data, labels, skip, seed, top_k, suggestions))
    return candidates if top_k is None else candidates[:top_k]


def _best_first(candidates: list[Candidate]) -> list[Candidate]:
    candidates.sort(key=lambda c: (-c.priority, c.feature_id))
    return candidates


def _ranked(priorities: np.ndarray, skip: np.ndarray, top_k: int | None) -> np.ndarray:
    """Ids not skipped, by priority descending then id, cut to top_k before any object is made
    (a Python object per feature of a 24k-feature model costs more than the ranking)."""
    ids = np.flatnonzero(~skip)
    order = np.lexsort((ids, -priorities[ids]))
    return ids[order] if top_k is None else ids[order[:top_k]]


def _activation_count(request: BuildRequest) -> list[Candidate]:
    counts = np.asarray(request.data.nonzero_counts)
    top = int(counts.max()) if len(counts) else 0
    if top == 0:
        return []
    priorities = counts / top
    return [
        Candidate(
            int(f), float(priorities[f]), f"activation_count: {int(counts[f])} nonzero examples"
        )
        for f in _ranked(priorities, request.skip, request.top_k)
    ]


def _importance(request: BuildRequest) -> list[Candidate]:
    percentiles = importance_percentiles(request.data.decoder_norms)
    if percentiles is None:  # the registry checked the decoder: its norms are flat
        raise ValidationError(
            f"--method importance: {flat_note(request.data.decoder_norms)}; "
            "use another method (activation_count, cluster, weak_suggestions)"
        )
    return [
        Candidate(
            int(f), float(percentiles[f] / 100.0), f"importance: {percentiles[f]:.1f} percentile"
        )
        for f in _ranked(percentiles, request.skip, request.top_k)
    ]


def _cluster(request: BuildRequest) -> list[Candidate]:
    data, seed, top_k = request.data, request.seed, request.top_k
    assert seed is not None  # build_candidates checked it
    method = default_method(data)
    neighbours = similar_features(data, seed, method=method, top_k=data.n_features)
    out = []
    for f, similarity in neighbours:
        if request.skip[f] or similarity <= 0:
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
    return _best_first(out)


def _mysterious(request: BuildRequest) -> list[Candidate]:
    data = request.data
    percentiles = importance_percentiles(data.decoder_norms)
    out = []
    for f, record in request.labels.items():
        if not 0 <= f < data.n_features:
            continue
        if percentiles is not None:
            importance: float | None = float(percentiles[f])
        else:
            importance = record.importance_percentile
        confidence = record.interpretability_confidence
        if importance is None or confidence is None:
            continue
        if importance >= MYSTERIOUS_MIN_IMPORTANCE and confidence < MYSTERIOUS_MAX_INTERPRETABILITY:
            out.append(
                Candidate(
                    f,
                    importance / 100.0,
                    f"mysterious: importance {importance:.1f}, interpretability {confidence:.2f}",
                )
            )
    return _best_first(out)


def _weak_suggestions(request: BuildRequest) -> list[Candidate]:
    book = request.suggestions
    best = book.best_scores() if book is not None else {}
    if not best:
        raise ValidationError(
            f"--method weak_suggestions: model {request.data.name!r} has no scored suggestions; "
            "import some first (`labeler import delphi ...`)"
        )
    out = []
    for f, suggestion in best.items():
        if not 0 <= f < request.data.n_features or request.skip[f]:
            continue
        score = min(1.0, max(0.0, float(suggestion.score or 0.0)))
        scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(suggestion.scores.items()))
        out.append(
            Candidate(f, 1.0 - score, f"weak_suggestions: best score {score:.2f} ({scores})")
        )
    out = _best_first(out)
    return out if request.top_k is None else out[: request.top_k]


QUEUE_METHODS.add(
    QueueMethod("activation_count", "most nonzero activations first", _activation_count)
)
QUEUE_METHODS.add(
    QueueMethod("cluster", "most similar to a seed feature", _cluster, takes_seed=True)
)
QUEUE_METHODS.add(
    QueueMethod("importance", "largest decoder norm first", _importance, needs=("decoder",))
)
QUEUE_METHODS.add(
    QueueMethod(
        "mysterious", "important, labeled, low interpretability", _mysterious, relabels=True
    )
)
QUEUE_METHODS.add(
    QueueMethod(
        "weak_suggestions",
        "features whose imported suggestions score lowest first",
        _weak_suggestions,
        uses_suggestions=True,
    )
)
