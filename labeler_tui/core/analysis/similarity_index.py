"""Per-workspace tables behind the similarity methods.

Both are built in one pass over every feature's nonzero activations (features in batches, one
gather of family sets and one ``bincount`` / ``np.minimum.at`` per batch), saved next to the
index (see ``derived``) and reused by every later query and process.

- token profiles: sparse rows, one column per token family and one per token of a family with
  several tokens (``swim_speed_up_57``; a one-token family would repeat its family's column),
  or for a sequence model one per slot token (``token:w``, ``prev:w``, ``next:w``,
  ``context:w``). Row f holds, per column x, the positive pointwise mutual information
  ``max(0, ln(share_f(x) / base(x)))``: ``share_f(x)`` is the activation-weighted share of f's
  nonzero examples containing x (for a sequence model, of 512 of them evenly spaced in
  activation order), ``base(x)`` the share of all examples containing x. A row keeps its
  ``PROFILE_TOP_COLUMNS`` largest values and is L2-normalised (dead features: empty rows).
  Weighting by enrichment over the base rate keeps common families (in most examples, so in
  most features' examples) from making every profile alike. Memory is the rows' entries, never
  features x vocabulary; a query adds up the entries of its own columns.
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
PROFILE_BATCH_ENTRIES = 8_000_000
"""(example, column) entries of one batch (about 130 MB of keys and weights)."""
PROFILE_BATCH_CELLS = 8_000_000
"""Features x columns of one batch's block of sums (64 MB of float64), read back at its
nonzero cells: with PROFILE_BATCH_ENTRIES, the build's memory bound."""
PROFILE_TOP_COLUMNS = 256
"""A profile keeps its largest columns (a feature's few hundred over-represented tokens)."""
SEQUENCE_PROFILE_SAMPLE = 512
"""A sequence model's profile is estimated from this many of a feature's nonzero examples."""
MINHASH_BINS = 128
MINHASH_SEED = 20_240_601
EMPTY = np.iinfo(np.int32).max
PROFILES_NAMES = (
    "token_profiles_v4_indptr",
    "token_profiles_v4_columns",
    "token_profiles_v4_values",
)
"""v4: sparse rows of the v3 values (PPMI over families and level tokens; slot tokens for a
sequence model), at most PROFILE_TOP_COLUMNS columns each."""
PROFILES_NAME = PROFILES_NAMES[0]
UNIT_DECODER_NAME = "decoder_unit"
UNIT_DECODER_CHUNK_BYTES = 32 << 20
SMALL_DECODER_BYTES = 64 << 20
"""A decoder up to this size has its unit copy made on first use without a table-build step
(well under a second); a larger one is a table the app builds with progress first."""


def _batches(
    data: ModelData,
    progress: ProgressCallback | None,
    stage: str,
    sample: int | None = None,
    max_features: int | None = None,
    max_nonzeros: int = BATCH_NONZEROS,
) -> Iterator[tuple[int, list[np.ndarray], list[np.ndarray]]]:
    """(first feature id, rows per feature, activations per feature) in batches of about
    ``BATCH_NONZEROS`` nonzeros and at most ``max_features`` features; with ``sample``, at most
    that many of each feature's nonzeros, evenly spaced in activation order."""
    start, rows, acts, size = 0, [], [], 0
    for f in range(data.n_features):
        activations = data.feature(f)
        n = len(activations)
        if sample is not None and n > sample:
            chosen = np.unique(np.linspace(0, n - 1, sample).round().astype(np.int64))
            rows.append(activations.rows_at(chosen))
            acts.append(np.asarray(activations.activations[chosen]))
        else:
            rows.append(activations.rows)
            acts.append(activations.activations)
        size += len(rows[-1])
        full = max_features is not None and len(rows) >= max_features
        if size >= max_nonzeros or full or f == data.n_features - 1:
            yield start, rows, acts
            if progress is not None:
                progress(stage, f + 1, data.n_features)
            start, rows, acts, size = f + 1, [], [], 0


def profile_columns(data: ModelData) -> np.ndarray:
    """int64[n_tokens + n_families + 2]: the profile column of each id of the set table's id
    space (tokens, their pad, families, their pad; see ``example_sets``), or ``n_columns`` (the
    last value + 1, dropped) for ids without a column. Columns: the families in id order, then
    the tokens of families with more than one token, in token id order. A sequence model's
    columns are its slot tokens (``token:w``, ``prev:w``, ``next:w``, ``context:w``)."""
    table = example_sets(data)
    if data.is_sequence:
        column = np.full(table.n_ids, table.n_tokens, dtype=np.int64)
        column[: table.n_tokens] = np.arange(table.n_tokens)
        return column
    family_sizes = np.bincount(data.token_family, minlength=table.n_families)
    tokens = np.flatnonzero(family_sizes[data.token_family] > 1)
    n_columns = table.n_families + len(tokens)
    column = np.full(table.n_ids, n_columns, dtype=np.int64)
    column[table.family_offset : table.family_offset + table.n_families] = np.arange(
        table.n_families
    )
    column[tokens] = table.n_families + np.arange(len(tokens))
    return column


def _build_profiles(
    data: ModelData, progress: ProgressCallback | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse unit rows (CSR: indptr, columns, values) of the PPMI profiles. Each batch of
    features sums its activations per column in a block of at most PROFILE_BATCH_CELLS cells
    (one ``bincount``) and keeps only the block's nonzero cells, so memory is bounded whatever
    the vocabulary (never features x columns) and the PPMI is computed on the pairs held."""
    table = example_sets(data)
    column_of = profile_columns(data)
    n_columns = int(column_of.max())  # the drop column's index: real columns are below it
    width = n_columns + 1
    base = _base_rates(data, column_of, width)[:n_columns]
    used = table.token_width if data.is_sequence else None  # a sequence's families: no column
    set_width = table.token_width * (1 if data.is_sequence else 2)  # tokens (+ families)
    batch = max(1, PROFILE_BATCH_ENTRIES // max(1, set_width))
    sample = SEQUENCE_PROFILE_SAMPLE if data.is_sequence else None
    indptr = np.zeros(data.n_features + 1, dtype=np.int64)
    columns: list[np.ndarray] = []
    values: list[np.ndarray] = []
    max_features = max(1, PROFILE_BATCH_CELLS // width)
    batches = _batches(data, progress, "token profiles", sample, max_features, batch)
    for start, rows, acts in batches:
        counts = np.array([len(r) for r in rows], dtype=np.int64)
        all_rows, all_acts = np.concatenate(rows), np.concatenate(acts)
        owner = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
        owner_parts, col_parts, weight_parts = [], [], []
        for i in range(0, len(all_rows), PROFILE_CHUNK):
            part = slice(i, i + PROFILE_CHUNK)
            ids = table.gather(all_rows[part])
            cols = column_of[ids if used is None else ids[:, :used]]
            held = cols < n_columns
            owner_parts.append(np.broadcast_to(owner[part, None], cols.shape)[held])
            col_parts.append(cols[held])
            weight_parts.append(
                np.broadcast_to(all_acts[part].astype(np.float64)[:, None], cols.shape)[held]
            )
        # the batch's columns numbered compactly, then one block of sums (features x those
        # columns, at most PROFILE_BATCH_CELLS), read back at its nonzero cells
        all_cols = np.concatenate(col_parts)
        present = np.zeros(width, dtype=bool)
        present[all_cols] = True
        held_columns = np.flatnonzero(present)
        compact = np.cumsum(present) - 1
        n_held = max(1, len(held_columns))
        block = np.bincount(
            np.concatenate(owner_parts) * n_held + compact[all_cols],
            weights=np.concatenate(weight_parts),
            minlength=len(rows) * n_held,
        )
        cells = np.flatnonzero(block)
        sums = block[cells]
        del block
        local, col = np.divmod(cells, n_held)
        col = held_columns[col]
        totals = np.array([float(np.sum(a, dtype=np.float64)) for a in acts])
        ratio = np.divide(
            sums / totals[local], base[col], out=np.zeros_like(sums), where=base[col] > 0
        )
        keep = ratio > 1.0
        local, col, ppmi = local[keep], col[keep], np.log(ratio[keep])
        # each feature's largest PROFILE_TOP_COLUMNS values, ties by lower column: the pairs
        # are in (feature, column) order, so two stable sorts give (feature, -value, column)
        by_value = np.argsort(-ppmi, kind="stable")
        order = by_value[np.argsort(local[by_value], kind="stable")]
        firsts = np.searchsorted(local, np.arange(len(rows)))  # local is still ascending
        rank = np.arange(len(order)) - firsts[local[order]]
        chosen = np.sort(order[rank < PROFILE_TOP_COLUMNS])  # back in (feature, column) order
        local, col, ppmi = local[chosen], col[chosen], ppmi[chosen]
        norms = np.sqrt(np.bincount(local, weights=ppmi * ppmi, minlength=len(rows)))
        columns.append(col.astype(np.int32))
        values.append((ppmi / norms[local]).astype(np.float32))
        indptr[start + 1 : start + len(rows) + 1] = np.bincount(local, minlength=len(rows))
    np.cumsum(indptr, out=indptr)
    return (
        indptr,
        np.concatenate(columns) if columns else np.zeros(0, np.int32),
        np.concatenate(values) if values else np.zeros(0, np.float32),
    )


def _base_rates(data: ModelData, column_of: np.ndarray, width: int) -> np.ndarray:
    """float64[width]: share of all examples holding each column's token or family (an
    example's set holds each id once)."""
    if data.is_sequence:
        from labeler_tui.core.analysis.sequence_sets import base_counts

        tokens, _families = base_counts(data)
        held = np.zeros(width, dtype=np.float64)
        held[: len(tokens)] = tokens
        return held / max(data.n_examples, 1)
    table = example_sets(data)
    held = np.zeros(width, dtype=np.int64)
    for start in range(0, data.n_examples, PROFILE_CHUNK * 4):
        block = column_of[table.matrix[start : start + PROFILE_CHUNK * 4]]
        held += np.bincount(block.reshape(-1), minlength=width)
    return held / max(data.n_examples, 1)


class TokenProfiles:
    """The sparse profiles (CSR rows) and, for queries, the same entries by column."""

    def __init__(self, indptr: np.ndarray, columns: np.ndarray, values: np.ndarray) -> None:
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.columns = np.asarray(columns)
        self.values = np.asarray(values, dtype=np.float32)
        self.n_features = len(self.indptr) - 1
        owners = np.repeat(np.arange(self.n_features, dtype=np.int64), np.diff(self.indptr))
        order = np.argsort(self.columns, kind="stable")
        n_columns = int(self.columns.max()) + 1 if len(self.columns) else 0
        self._column_ptr = np.zeros(n_columns + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.columns, minlength=n_columns), out=self._column_ptr[1:])
        self._column_features = owners[order]
        self._column_values = self.values[order].astype(np.float64)

    def row(self, feature_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of one feature's unit profile."""
        lo, hi = int(self.indptr[feature_id]), int(self.indptr[feature_id + 1])
        return np.asarray(self.columns[lo:hi]), np.asarray(self.values[lo:hi], dtype=np.float64)

    def similarities(self, feature_id: int) -> np.ndarray:
        """float64[n_features]: the cosine of every profile with this feature's (the rows are
        unit vectors), from the entries of its columns only."""
        columns, values = self.row(feature_id)
        out = np.zeros(self.n_features, dtype=np.float64)
        if not len(columns):
            return out
        lo, hi = self._column_ptr[columns], self._column_ptr[columns + 1]
        lengths = hi - lo
        index = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        weights = self._column_values[index] * np.repeat(values, lengths)
        out += np.bincount(self._column_features[index], weights=weights, minlength=self.n_features)
        return out

    def dense(self) -> np.ndarray:
        """float64[n_features, n_columns] (tests and small models only)."""
        n_columns = len(self._column_ptr) - 1
        out = np.zeros((self.n_features, n_columns), dtype=np.float64)
        owners = np.repeat(np.arange(self.n_features), np.diff(self.indptr))
        out[owners, self.columns] = self.values
        return out


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


def token_profiles(data: ModelData, progress: ProgressCallback | None = None) -> TokenProfiles:
    """The sparse unit profiles (see :func:`profile_columns`; dead features: empty rows)."""

    def load() -> TokenProfiles:
        arrays = cached_arrays(data, PROFILES_NAMES, lambda: _build_profiles(data, progress))
        indptr = np.asarray(arrays[0])
        if len(indptr) != data.n_features + 1 or int(indptr[-1]) != len(arrays[1]):
            arrays = _build_profiles(data, progress)  # a damaged cache: rebuilt
        return TokenProfiles(*arrays)

    return memoized(data, "token_profiles", load)


def minhash_signatures(data: ModelData, progress: ProgressCallback | None = None) -> np.ndarray:
    """int32[n_features, MINHASH_BINS] one-permutation MinHash signatures (EMPTY = no row)."""

    def load() -> np.ndarray:
        return cached_arrays(data, ("minhash",), lambda: _build_minhash(data, progress))[0]

    return memoized(data, "minhash", load)


def token_profiles_ready(data: ModelData) -> bool:
    """Whether :func:`token_profiles` answers without building (it takes minutes at full
    scale)."""
    return is_available(data, "token_profiles", PROFILES_NAMES)


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
