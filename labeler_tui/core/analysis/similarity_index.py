"""Per-workspace tables behind the similarity methods.

Both are built in one pass over every feature's nonzero activations (features in batches, one
gather of family sets and one ``bincount`` / ``np.minimum.at`` per batch), saved next to the
index (see ``derived``) and reused by every later query and process.

- token profiles: float32[n_features, n_columns], one column per token family and one per
  token of a family with several tokens (``swim_speed_up_57``; a one-token family would repeat
  its family's column). Row f holds, per column x, the positive pointwise mutual information
  ``max(0, ln(share_f(x) / base(x)))``: ``share_f(x)`` is the activation-weighted share of f's
  nonzero examples containing x, ``base(x)`` the share of all examples containing x. Rows are
  L2-normalised (dead features: zero rows). Weighting by enrichment over the base rate keeps
  common families (in most examples, so in most features' examples) from making every profile
  alike. A ``tokens`` query is then one mat-vec.
- the unit decoder: the decoder's rows divided by their norms, float32, written once next to the
  index (row chunks, so a 131,072 x 2,304 decoder is never held twice) and memory-mapped: a
  ``decoder`` query is one mat-vec over it, held in the page cache and shared by every process.
- MinHash signatures (one-permutation hashing, Li, Owen & Zhang 2012): a fixed seeded permutation
  ``pi`` of the example rows splits into ``MINHASH_BINS`` equal ranges; signature[f, b] is the
  smallest ``pi(row)`` of f's rows inside range b, or ``EMPTY``. The share of bins where two
  features agree (among bins not empty for both) estimates the Jaccard index of their
  active-example sets; candidates are then re-ranked by the exact Jaccard.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from labeler_tui.core.analysis.derived import (
    cache_folder,
    cached_arrays,
    is_available,
    load_array,
    memoized,
)
from labeler_tui.core.analysis.example_sets import example_sets
from labeler_tui.core.data import ModelData, ProgressCallback

BATCH_NONZEROS = 2_000_000
PROFILE_CHUNK = 32_768  # nonzeros per weighted count: 100+ MB temporaries per batch cost 3x
MINHASH_BINS = 128
MINHASH_SEED = 20_240_601
EMPTY = np.iinfo(np.int32).max
PROFILES_NAME = "token_profiles_v3"  # v3: PPMI over families and level tokens (v2: raw sums)
UNIT_DECODER_NAME = "decoder_unit"
UNIT_DECODER_CHUNK_BYTES = 32 << 20
SMALL_DECODER_BYTES = 64 << 20
"""A decoder up to this size has its unit copy made on first use without a table-build step
(well under a second); a larger one is a table the app builds with progress first."""


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


def profile_columns(data: ModelData) -> np.ndarray:
    """int64[n_tokens + n_families + 2]: the profile column of each id of the set table's id
    space (tokens, their pad, families, their pad; see ``example_sets``), or ``n_columns`` (the
    last value + 1, dropped) for ids without a column. Columns: the families in id order, then
    the tokens of families with more than one token, in token id order."""
    table = example_sets(data)
    family_sizes = np.bincount(data.token_family, minlength=table.n_families)
    tokens = np.flatnonzero(family_sizes[data.token_family] > 1)
    n_columns = table.n_families + len(tokens)
    column = np.full(table.n_ids, n_columns, dtype=np.int64)
    column[table.family_offset : table.family_offset + table.n_families] = np.arange(
        table.n_families
    )
    column[tokens] = table.n_families + np.arange(len(tokens))
    return column


def _build_profiles(data: ModelData, progress: ProgressCallback | None) -> tuple[np.ndarray]:
    table = example_sets(data)
    column_of = profile_columns(data)
    n_columns = int(column_of.max())  # the drop column's index: real columns are below it
    width = n_columns + 1
    base = _base_rates(data, column_of, width)[:n_columns]
    profiles = np.zeros((data.n_features, n_columns), dtype=np.float32)
    for start, rows, acts in _batches(data, progress, "token profiles"):
        counts = np.array([len(r) for r in rows], dtype=np.int64)
        all_rows, all_acts = np.concatenate(rows), np.concatenate(acts)
        owner = np.repeat(np.arange(len(rows), dtype=np.int64) * width, counts)
        sums = np.zeros(len(rows) * width, dtype=np.float64)
        for i in range(0, len(all_rows), PROFILE_CHUNK):  # temporaries stay in cache
            part = slice(i, i + PROFILE_CHUNK)
            keys = owner[part, None] + column_of[table.gather(all_rows[part])]
            weights = np.broadcast_to(all_acts[part].astype(np.float64)[:, None], keys.shape)
            sums += np.bincount(keys.reshape(-1), weights=weights.reshape(-1), minlength=len(sums))
        totals = np.array([float(np.sum(a, dtype=np.float64)) for a in acts])
        block = sums.reshape(len(rows), width)[:, :n_columns]
        profiles[start : start + len(rows)] = _ppmi_rows(block, totals, base)
    return (profiles,)


def _base_rates(data: ModelData, column_of: np.ndarray, width: int) -> np.ndarray:
    """float64[width]: share of all examples holding each column's token or family (an
    example's set holds each id once)."""
    table = example_sets(data)
    held = np.zeros(width, dtype=np.int64)
    for start in range(0, data.n_examples, PROFILE_CHUNK * 4):
        block = column_of[table.matrix[start : start + PROFILE_CHUNK * 4]]
        held += np.bincount(block.reshape(-1), minlength=width)
    return held / max(data.n_examples, 1)


def _ppmi_rows(sums: np.ndarray, totals: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Unit rows of ``max(0, ln((sums / totals) / base))`` (0 where a feature never holds the
    column). Shares are ratios of activation sums, so activations of any scale (1e-30
    included) give the same profile."""
    share = np.divide(sums, totals[:, None], out=np.zeros_like(sums), where=totals[:, None] > 0)
    ratio = np.divide(share, base, out=np.zeros_like(share), where=base > 0)
    ppmi = np.log(ratio, out=np.zeros_like(ratio), where=ratio > 1.0)
    norms = np.linalg.norm(ppmi, axis=1, keepdims=True)
    return np.divide(ppmi, norms, out=np.zeros_like(ppmi), where=norms > 0)


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
    """float32[n_features, n_columns] (see :func:`profile_columns`), unit rows (zero rows for
    dead features)."""

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


def unit_decoder(data: ModelData, progress: ProgressCallback | None = None) -> np.ndarray:
    """float32[n_features, d]: each decoder row divided by its L2 norm (zero rows stay zero),
    memory-mapped from the analysis cache (built on first use, chunk by chunk)."""

    def load() -> np.ndarray:
        path = cache_folder(data) / f"{UNIT_DECODER_NAME}.npy"
        table = load_array(path)
        decoder = data.decoder
        assert decoder is not None
        if table is None or table.shape != decoder.shape:
            _write_unit_decoder(data, path, progress)
            table = load_array(path)
        if table is None:
            raise OSError(f"{path}: cannot read the unit decoder just written")
        return table

    return memoized(data, UNIT_DECODER_NAME, load)


def _write_unit_decoder(data: ModelData, path: Path, progress: ProgressCallback | None) -> None:
    decoder, norms = data.decoder, data.decoder_norms
    assert decoder is not None and norms is not None
    n, d = decoder.shape
    chunk = max(1, UNIT_DECODER_CHUNK_BYTES // max(1, 4 * d))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    stage = f"{data.name}: unit decoder"
    try:
        with open(tmp, "wb") as fh:
            header = {"descr": "<f4", "fortran_order": False, "shape": (n, d)}
            np.lib.format.write_array_header_1_0(fh, header)
            for start in range(0, n, chunk):
                stop = min(n, start + chunk)
                block = np.asarray(decoder[start:stop], dtype=np.float64)
                scale = np.asarray(norms[start:stop], dtype=np.float64)
                np.divide(block, scale[:, None], out=block, where=scale[:, None] > 0)
                block[scale <= 0] = 0.0
                fh.write(block.astype(np.float32).data)
                if progress is not None:
                    progress(stage, stop, n)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def unit_decoder_ready(data: ModelData) -> bool:
    """Whether a ``decoder`` query answers without a noticeable build first."""
    decoder = data.decoder
    if decoder is None or decoder.nbytes <= SMALL_DECODER_BYTES:
        return True
    return is_available(data, UNIT_DECODER_NAME, (UNIT_DECODER_NAME,))


def minhash_by_bin(data: ModelData, progress: ProgressCallback | None = None) -> np.ndarray:
    """int32[MINHASH_BINS, n_features]: the signatures bin by bin (each bin's values of every
    feature contiguous, so a query streams 128 rows instead of gathering columns), saved next to
    the signatures and memory-mapped by every later process."""

    def load() -> np.ndarray:
        def build() -> tuple[np.ndarray]:
            return (np.ascontiguousarray(np.asarray(minhash_signatures(data, progress)).T),)

        return cached_arrays(data, ("minhash_by_bin",), build)[0]

    return memoized(data, "minhash_by_bin", load)
