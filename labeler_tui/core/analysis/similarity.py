"""Similar features (docs/analysis.md, "Similar features"): the methods registered here.

- ``decoder``: exact cosine of decoder rows. One float32 mat-vec over the unit decoder (rows
  divided by their norms, cached next to the index and memory-mapped) ranks every feature; the
  candidates within float32 rounding of the top_k-th are re-ranked by their cosine computed in
  float64 from the decoder itself, so the top_k and their values are exact.
- ``tokens``: cosine of token profiles (per family and level token, or per slot token of a
  sequence model, the positive pointwise mutual information of the activation-weighted share
  over the base rate), sparse rows precomputed once per workspace
  (``similarity_index.token_profiles``); a query reads the entries of its own columns.
- ``coactivation``: Jaccard index of active-example sets. Candidates come from MinHash
  signatures (``similarity_index.minhash_signatures``, an estimate); the best
  ``max(RERANK_MIN, RERANK_FACTOR x top_k)`` of them are re-ranked by their exact Jaccard, which
  is the similarity returned. A true neighbour the estimate ranks below that cut can be missed.

``tokens`` and ``coactivation`` return only neighbours with similarity > 0 (a dead feature has
none); ``decoder`` returns the top_k by cosine whatever its sign. Ties: lower feature id first.
"""

from __future__ import annotations

import numpy as np

from labeler_tui.core.analysis.similarity_index import (
    EMPTY,
    minhash_by_bin,
    minhash_ready,
    token_profiles,
    token_profiles_ready,
    unit_decoder,
    unit_decoder_ready,
)
from labeler_tui.core.data import ModelData, ProgressCallback
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.registry import SIMILARITY_METHODS, SimilarityMethod, capabilities

RERANK_MIN = 64
UNIT_ROUNDING = 1e-4
"""Bound on the float32 error of a unit-row dot product (d * 2^-24 ~ 1.4e-4 at d = 2304 in the
worst case, ~1e-6 in practice): candidates this close to the cut are re-ranked exactly."""
RERANK_FACTOR = 4


def similar_features(
    data: ModelData,
    feature_id: int,
    method: str | None = None,
    top_k: int = 10,
    progress: ProgressCallback | None = None,
) -> list[tuple[int, float]]:
    """The ``top_k`` features most similar to ``feature_id`` (itself excluded), best first.

    ``method`` names a registered similarity method (default: :func:`default_method`);
    ``progress`` reports the one-time precompute of the tokens/coactivation tables.
    """
    entry = similarity_method(data, method)
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1:
        raise ValidationError(f"--top-k {top_k!r}: must be a positive integer")
    return entry.neighbours(data, _feature_index(data, feature_id), int(top_k), progress)


def similarity_method(data: ModelData, method: str | None = None) -> SimilarityMethod:
    """The registered method called ``method`` (default: :func:`default_method`), checked to
    work with the model (``decoder`` needs a decoder)."""
    if method is None:
        return SIMILARITY_METHODS.default(capabilities(data))
    return SIMILARITY_METHODS.require(method, capabilities(data), data.name)


def default_method(data: ModelData) -> str:
    """``decoder`` when the model has a decoder, else ``tokens``."""
    return similarity_method(data).name


def _feature_index(data: ModelData, feature_id: int) -> int:
    if isinstance(feature_id, bool) or not isinstance(feature_id, int | np.integer):
        raise ValidationError(f"feature id must be an integer, got {feature_id!r}")
    if not 0 <= int(feature_id) < data.n_features:
        raise ValidationError(
            f"feature {int(feature_id)} is out of range for model {data.name!r} "
            f"(features 0..{data.n_features - 1})"
        )
    return int(feature_id)


def decoder_similarities(
    data: ModelData, feature_id: int, progress: ProgressCallback | None = None
) -> np.ndarray:
    """float32[n_features]: cosine of each decoder row with row ``feature_id`` (0 for zero
    rows), from the unit decoder (float32 rounding; :func:`exact_cosines` for exact values)."""
    if data.decoder is None or data.decoder_norms is None:
        SIMILARITY_METHODS.require("decoder", capabilities(data), data.name)  # raises
        raise AssertionError("unreachable: a model without a decoder has no decoder method")
    unit = unit_decoder(data, progress)
    out = np.empty(data.n_features, dtype=np.float32)
    np.matmul(unit, np.array(unit[feature_id]), out=out)
    return out


def exact_cosines(data: ModelData, feature_id: int, others: np.ndarray) -> np.ndarray:
    """float64 cosines of decoder row ``feature_id`` with rows ``others`` (0 for zero rows)."""
    decoder = data.decoder
    assert decoder is not None
    query = np.asarray(decoder[feature_id], dtype=np.float64)
    rows = np.asarray(decoder[np.asarray(others, dtype=np.int64)], dtype=np.float64)
    dots = rows @ query
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows)) * float(np.sqrt(query @ query))
    out = np.zeros(len(others), dtype=np.float64)
    np.divide(dots, norms, out=out, where=norms > 0)
    return np.clip(out, -1.0, 1.0)


def _top(
    sims: np.ndarray, feature_id: int, top_k: int, positive_only: bool
) -> list[tuple[int, float]]:
    sims = sims.astype(np.float64, copy=True)
    sims[feature_id] = -np.inf
    candidates = np.flatnonzero(sims > 0) if positive_only else np.flatnonzero(np.isfinite(sims))
    if len(candidates) > top_k:  # keep ties at the cut so the id tie-break is exact
        values = sims[candidates]
        cut = np.partition(values, len(values) - top_k)[len(values) - top_k]
        candidates = candidates[values >= cut]
    order = np.lexsort((candidates, -sims[candidates]))[:top_k]
    return [(int(candidates[i]), float(sims[candidates[i]])) for i in order]


def minhash_estimates(by_bin: np.ndarray, feature_id: int) -> np.ndarray:
    """float64[n_features]: one-permutation MinHash estimate of Jaccard with ``feature_id``,
    from the signatures bin by bin (``similarity_index.minhash_by_bin``): one pass over each
    bin's contiguous row (cache-sized), counting matches where the query's bin is filled and
    bins empty in both where it is not."""
    n_bins, n_features = by_bin.shape
    query = np.array(by_bin[:, feature_id])
    matches = np.zeros(n_features, dtype=np.uint8)  # at most MINHASH_BINS (128) each
    both_empty = np.zeros(n_features, dtype=np.uint8)
    hit = np.empty(n_features, dtype=bool)
    for b in range(n_bins):
        if query[b] != EMPTY:
            np.equal(by_bin[b], query[b], out=hit)
            np.add(matches, hit, out=matches, casting="unsafe")
        else:
            np.equal(by_bin[b], EMPTY, out=hit)
            np.add(both_empty, hit, out=both_empty, casting="unsafe")
    denominators = n_bins - both_empty.astype(np.int64)
    out = np.zeros(n_features, dtype=np.float64)
    np.divide(matches, denominators, out=out, where=denominators > 0)
    return out


def exact_jaccard(data: ModelData, feature_id: int, others: np.ndarray) -> np.ndarray:
    """float64[len(others)]: exact Jaccard of active-example sets (one mask, one gather each)."""
    rows = data.feature(feature_id).rows
    mask = np.zeros(data.n_examples, dtype=bool)
    mask[rows] = True
    out = np.zeros(len(others), dtype=np.float64)
    for i, g in enumerate(others):
        other_rows = data.feature(int(g)).rows
        inter = int(np.count_nonzero(mask[other_rows]))
        union = len(rows) + len(other_rows) - inter
        out[i] = inter / union if union else 0.0
    return out


def _coactivation(
    data: ModelData, feature_id: int, top_k: int, progress: ProgressCallback | None
) -> list[tuple[int, float]]:
    if data.nonzero_counts[feature_id] == 0:
        return []
    estimates = minhash_estimates(minhash_by_bin(data, progress), feature_id)
    shortlist = [
        g for g, _ in _top(estimates, feature_id, max(RERANK_MIN, RERANK_FACTOR * top_k), True)
    ]
    if not shortlist:
        return []
    candidates = np.asarray(shortlist, dtype=np.int64)
    exact = np.zeros(data.n_features, dtype=np.float64)
    exact[candidates] = exact_jaccard(data, feature_id, candidates)
    return _top(exact, feature_id, top_k, positive_only=True)


def _decoder(
    data: ModelData, feature_id: int, top_k: int, progress: ProgressCallback | None
) -> list[tuple[int, float]]:
    sims = decoder_similarities(data, feature_id, progress)
    sims[feature_id] = -np.inf
    k = min(top_k, data.n_features - 1)
    if k <= 0:
        return []
    cut = float(np.partition(sims, len(sims) - k)[len(sims) - k])
    candidates = np.flatnonzero(sims >= cut - UNIT_ROUNDING)
    exact = np.full(data.n_features, -np.inf)
    exact[candidates] = exact_cosines(data, feature_id, candidates)
    return _top(exact, feature_id, top_k, positive_only=False)


def _tokens(
    data: ModelData, feature_id: int, top_k: int, progress: ProgressCallback | None
) -> list[tuple[int, float]]:
    sims = token_profiles(data, progress).similarities(feature_id)
    return _top(sims, feature_id, top_k, positive_only=True)


SIMILARITY_METHODS.add(
    SimilarityMethod(
        "decoder",
        "cosine of the decoder rows (what the features write)",
        _decoder,
        needs=("decoder",),
        prepare=unit_decoder,
        ready=unit_decoder_ready,
    )
)
SIMILARITY_METHODS.add(
    SimilarityMethod(
        "tokens",
        "cosine of the token profiles, weighted by enrichment over the base rate (what they read)",
        _tokens,
        prepare=token_profiles,
        ready=token_profiles_ready,
    )
)
SIMILARITY_METHODS.add(
    SimilarityMethod(
        "coactivation",
        "Jaccard index of the sets of examples they are active on",
        _coactivation,
        prepare=minhash_by_bin,
        ready=minhash_ready,
    )
)
