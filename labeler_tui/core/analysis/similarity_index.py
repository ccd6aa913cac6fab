"""Per-workspace tables behind the ``tokens`` and ``coactivation`` similarity methods.

Both are built in one pass over every feature's nonzero activations (features in batches, one
gather of family sets and one ``bincount`` / ``np.minimum.at`` per batch), saved next to the
index (see ``derived``) and reused by every later query and process.

- token profiles: float32[n_features, n_families], row f = sum over f's nonzero examples of
  activation x (families the example contains), L2-normalised (dead features: zero rows). A
  ``tokens`` query is then one mat-vec.
- MinHash signatures (one-permutation hashing, Li, Owen & Zhang 2012): a fixed seeded permutation
  ``pi`` of the example rows splits into ``MINHASH_BINS`` equal ranges; signature[f, b] is the
  smallest ``pi(row)`` of f's rows inside range b, or ``EMPTY``. The share of bins where two
  features agree (among bins not empty for both) estimates the Jaccard index of their
  active-example sets; candidates are then re-ranked by the exact Jaccard.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from labeler_tui.core.analysis.derived import cached_arrays, is_available, memoized
from labeler_tui.core.analysis.example_sets import example_sets
from labeler_tui.core.data import ModelData, ProgressCallback

BATCH_NONZEROS = 2_000_000
PROFILE_CHUNK = 32_768  # nonzeros per weighted count: 100+ MB temporaries per batch cost 3x
MINHASH_BINS = 128
MINHASH_SEED = 20_240_601
EMPTY = np.iinfo(np.int32).max
PROFILES_NAME = "token_profiles_v2"  # v2: normalised in float64 (tiny activations kept)


def _batches(
    data: ModelData, progress: ProgressCallback | None, stage: str
) -> Iterator[tuple[int, list[np.ndarray], list[np.ndarray]]]:
    """(first feature id, rows per feature, activations per feature) in batches."""
    start, rows, acts, size = 0, [], [], 0
    for f in range(data.n_features):
        activations = data.feature(f)
        rows.append(activations.rows)
        acts.append(activations.activations)
        size += len(activations)
        if size >= BATCH_NONZEROS or f == data.n_features - 1:
            yield start, rows, acts
            if progress is not None:
                progress(stage, f + 1, data.n_features)
            start, rows, acts, size = f + 1, [], [], 0


def _build_profiles(data: ModelData, progress: ProgressCallback | None) -> tuple[np.ndarray]:
    table = example_sets(data)
    n_families, first, width = table.n_families, table.family_offset, table.token_width
    columns = n_families + 1  # the pad (id n_families) gets its own column, dropped below
    profiles = np.zeros((data.n_features, n_families), dtype=np.float32)
    for start, rows, acts in _batches(data, progress, "token profiles"):
        counts = np.array([len(r) for r in rows], dtype=np.int64)
        all_rows, all_acts = np.concatenate(rows), np.concatenate(acts)
        owner = np.repeat(np.arange(len(rows), dtype=np.int64) * columns, counts)
        sums = np.zeros(len(rows) * columns, dtype=np.float64)
        for i in range(0, len(all_rows), PROFILE_CHUNK):  # temporaries stay in cache
            part = slice(i, i + PROFILE_CHUNK)
            families = table.gather(all_rows[part])[:, width:].astype(np.int64) - first
            keys = owner[part, None] + families
            weights = np.broadcast_to(all_acts[part].astype(np.float64)[:, None], keys.shape)
            sums += np.bincount(keys.reshape(-1), weights=weights.reshape(-1), minlength=len(sums))
        block = sums.reshape(len(rows), columns)[:, :n_families]
        profiles[start : start + len(rows)] = _unit_rows(block)
    return (profiles,)


def _unit_rows(sums: np.ndarray) -> np.ndarray:
    """Rows of non-negative ``sums`` scaled to unit L2 norm (zero rows stay zero), in float64
    and by the row's peak first, so activations of any scale (1e-30 included: their squares
    underflow float32) give the same profile."""
    peak = sums.max(axis=1, keepdims=True, initial=0.0)
    scaled = np.divide(sums, peak, out=np.zeros_like(sums), where=peak > 0)
    norms = np.linalg.norm(scaled, axis=1, keepdims=True)
    return np.divide(scaled, norms, out=np.zeros_like(scaled), where=norms > 0)


def _build_minhash(data: ModelData, progress: ProgressCallback | None) -> tuple[np.ndarray]:
    n = max(data.n_examples, 1)
    permutation = np.random.default_rng(MINHASH_SEED).permutation(n).astype(np.int64)
    signatures = np.full((data.n_features, MINHASH_BINS), EMPTY, dtype=np.int32)
    for start, rows, _acts in _batches(data, progress, "coactivation signatures"):
        counts = np.array([len(r) for r in rows], dtype=np.int64)
        hashed = permutation[np.concatenate(rows)]
        owner = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
        keys = owner * MINHASH_BINS + hashed * MINHASH_BINS // n
        block = signatures[start : start + len(rows)].reshape(-1)
        np.minimum.at(block, keys, hashed.astype(np.int32))
        signatures[start : start + len(rows)] = block.reshape(len(rows), MINHASH_BINS)
    return (signatures,)


def token_profiles(data: ModelData, progress: ProgressCallback | None = None) -> np.ndarray:
    """float32[n_features, n_families], unit rows (zero rows for dead features)."""

    def load() -> np.ndarray:
        return cached_arrays(data, (PROFILES_NAME,), lambda: _build_profiles(data, progress))[0]

    return memoized(data, "token_profiles", load)


def minhash_signatures(data: ModelData, progress: ProgressCallback | None = None) -> np.ndarray:
    """int32[n_features, MINHASH_BINS] one-permutation MinHash signatures (EMPTY = no row)."""

    def load() -> np.ndarray:
        return cached_arrays(data, ("minhash",), lambda: _build_minhash(data, progress))[0]

    return memoized(data, "minhash", load)


def token_profiles_ready(data: ModelData) -> bool:
    """Whether :func:`token_profiles` answers without building (it takes minutes at full
    scale)."""
    return is_available(data, "token_profiles", (PROFILES_NAME,))


def minhash_ready(data: ModelData) -> bool:
    """Whether :func:`minhash_signatures` answers without building."""
    return is_available(data, "minhash", ("minhash",))
