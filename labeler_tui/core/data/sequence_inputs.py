"""The inputs of a sequence model: its token stream, its sequence metadata, and its activations
as the index builder's batches.

Every token position of the corpus is one *example*: sequences are laid end to end in one
stream (sorted by sequence id), and a position's example id is its index in that stream, so
a token matrix [n_seq, ctx_len] gives ``seq_row * ctx_len + pos``. Activations come as parquet
rows ``feature_id, seq_id, pos, activation`` or as the rows of a Delphi cache ``(sequence,
position, latent)``; both become (feature id, example id, activation) batches, every bad row
a DataError naming the file, the row and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from labeler_tui.core.config import ModelConfig
from labeler_tui.core.data.delphi_cache import DelphiCache
from labeler_tui.core.data.readers import (
    _READ_ERRORS,
    ActivationBatch,
    MetadataColumn,
    _first_line,
    _is_int,
    _metadata_column,
    _schema,
    _to_batch,
)
from labeler_tui.core.errors import DataError

SEQUENCE_ACTIVATION_COLUMNS = ("feature_id", "seq_id", "pos", "activation")


@dataclass(frozen=True)
class TokenStream:
    """Every sequence's tokens end to end: sequence row i holds positions
    ``offsets[i]:offsets[i + 1]`` of ``tokens``; ``seq_ids`` are the users' ids (ascending)."""

    seq_ids: np.ndarray  # int64 [n_seq]
    offsets: np.ndarray  # int64 [n_seq + 1]
    tokens: np.ndarray  # int32 [n_positions]
    source: Path | None

    @property
    def n_sequences(self) -> int:
        return len(self.seq_ids)

    @property
    def n_positions(self) -> int:
        return int(self.offsets[-1])

    @property
    def ctx_len(self) -> int | None:
        """The common length of every sequence, or None when they differ."""
        lengths = np.diff(self.offsets)
        if not len(lengths) or not (lengths == lengths[0]).all():
            return None
        return int(lengths[0])

    @classmethod
    def empty(cls) -> TokenStream:
        return cls(np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int32), source=None)

    @classmethod
    def from_matrix(cls, matrix: np.ndarray, source: Path) -> TokenStream:
        n_seq, ctx = matrix.shape
        offsets = np.arange(n_seq + 1, dtype=np.int64) * ctx
        return cls(np.arange(n_seq, dtype=np.int64), offsets, _as_int32(matrix, source), source)


def _as_int32(values: np.ndarray, source: Path) -> np.ndarray:
    flat = np.asarray(values).reshape(-1)
    if flat.dtype.kind not in "iu":
        raise DataError(f"{source}: token ids must be integers, got {flat.dtype}")
    if len(flat) and (int(flat.min()) < 0 or int(flat.max()) >= 2**31):
        bad = int(flat.min()) if int(flat.min()) < 0 else int(flat.max())
        raise DataError(f"{source}: token id {bad} is out of range")
    return flat.astype(np.int32)


def read_token_stream(config: ModelConfig, delphi: DelphiCache | None) -> TokenStream:
    """The model's token stream: its ``tokens`` file, else the Delphi cache's token matrix,
    else an empty corpus."""
    sequence = config.sequence
    assert sequence is not None
    if sequence.tokens is not None:
        stream = _read_tokens_file(sequence.tokens)
        if delphi is not None:
            ctx = delphi.ctx_len
            if ctx is not None and stream.ctx_len not in (None, ctx):
                raise DataError(
                    f"{sequence.tokens}: sequences of {stream.ctx_len} tokens, but the Delphi "
                    f"cache {delphi.folder} has cache_ctx_len {ctx}"
                )
        return stream
    if delphi is not None:
        return TokenStream.from_matrix(np.asarray(delphi.tokens()), delphi.folder)
    return TokenStream.empty()


def _read_tokens_file(path: Path) -> TokenStream:
    if path.suffix == ".npy":
        try:
            matrix = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read the token matrix: {exc}") from None
        if matrix.ndim != 2:
            raise DataError(
                f"{path}: the token matrix must be 2-D [n_seq, ctx_len], got {matrix.shape}"
            )
        return TokenStream.from_matrix(matrix, path)
    schema = _schema(path, "tokens")
    for name in ("seq_id", "tokens"):
        if name not in schema:
            raise DataError(
                f"{path}: missing column {name!r} (a token parquet needs seq_id, tokens; found "
                f"{', '.join(schema.names()) or 'none'})"
            )
    if not _is_int(schema["seq_id"]):
        raise DataError(f"{path}: column 'seq_id' must be integer, got {schema['seq_id']}")
    kind = schema["tokens"]
    if not (isinstance(kind, pl.List | pl.Array) and _is_int(kind.inner)):
        raise DataError(f"{path}: column 'tokens' must be a list of integers, got {kind}")
    try:
        frame = pl.read_parquet(path, columns=["seq_id", "tokens"])
    except _READ_ERRORS as exc:
        raise DataError(f"{path}: cannot read tokens parquet: {_first_line(exc)}") from None
    for name in ("seq_id", "tokens"):
        if frame[name].null_count():
            raise DataError(f"{path}: column {name!r} has {frame[name].null_count()} null values")
    frame = frame.sort("seq_id")
    seq_ids = frame["seq_id"].to_numpy().astype(np.int64)
    same = seq_ids[1:] == seq_ids[:-1]
    if same.any():
        raise DataError(f"{path}: duplicate seq_id {int(seq_ids[1:][same][0])}")
    tokens = frame["tokens"]
    if isinstance(tokens.dtype, pl.Array):
        tokens = tokens.cast(pl.List(tokens.dtype.inner))
    lengths = tokens.list.len().to_numpy().astype(np.int64)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = tokens.explode().drop_nulls().to_numpy()
    if len(flat) != offsets[-1]:
        raise DataError(f"{path}: column 'tokens' has null token ids")
    return TokenStream(seq_ids, offsets, _as_int32(flat, path), path)


def check_token_ids(stream: TokenStream, n_vocab: int, tokenizer: Path) -> None:
    if not len(stream.tokens):
        return
    top = int(stream.tokens.max())
    if top >= n_vocab:
        where = int(np.argmax(stream.tokens >= n_vocab))
        row = int(np.searchsorted(stream.offsets, where, side="right") - 1)
        raise DataError(
            f"{stream.source}: token id {top} (sequence {int(stream.seq_ids[row])}) is outside the "
            f"tokenizer {tokenizer.name} (ids 0..{n_vocab - 1})"
        )


def read_sequence_metadata(path: Path, stream: TokenStream) -> dict[str, MetadataColumn]:
    """Per-sequence metadata (``seq_id`` + columns), one code per sequence row; a sequence the
    file does not list has null values."""
    schema = _schema(path, "metadata")
    if "seq_id" not in schema:
        raise DataError(f"{path}: missing column 'seq_id' (sequence metadata needs seq_id)")
    if not _is_int(schema["seq_id"]):
        raise DataError(f"{path}: column 'seq_id' must be integer, got {schema['seq_id']}")
    columns = [n for n in schema.names() if n != "seq_id"]
    for name in columns:
        dtype = schema[name]
        if not (
            dtype == pl.String
            or _is_int(dtype)
            or dtype == pl.Boolean
            or isinstance(dtype, pl.Categorical | pl.Enum)
        ):
            raise DataError(
                f"{path}: metadata column {name!r} has dtype {dtype}; expected string or integer"
            )
    try:
        frame = pl.read_parquet(path)
    except _READ_ERRORS as exc:
        raise DataError(f"{path}: cannot read metadata parquet: {_first_line(exc)}") from None
    ids = frame["seq_id"]
    if ids.null_count():
        raise DataError(f"{path}: column 'seq_id' has {ids.null_count()} null values")
    if ids.is_duplicated().any():
        raise DataError(f"{path}: duplicate seq_id {ids.filter(ids.is_duplicated())[0]}")
    unknown = pl.Series(~np.isin(ids.cast(pl.Int64).to_numpy(), stream.seq_ids))
    if unknown.any():
        raise DataError(
            f"{path}: seq_id {ids.filter(unknown)[0]} is not a sequence of the token matrix"
        )
    aligned = pl.DataFrame({"seq_id": stream.seq_ids}).join(
        frame.with_columns(pl.col("seq_id").cast(pl.Int64)), on="seq_id", how="left"
    )
    aligned = aligned.sort("seq_id")
    return {name: _metadata_column(aligned[name]) for name in columns}


# --- activations --------------------------------------------------------------------------------
class _SequenceRows:
    """Maps (sequence id, position) to the example id of that position."""

    def __init__(self, stream: TokenStream) -> None:
        self.stream = stream
        ids = stream.seq_ids
        self.dense = len(ids) and int(ids[0]) == 0 and int(ids[-1]) == len(ids) - 1
        self.lengths = np.diff(stream.offsets)

    def example_ids(
        self, path: Path, first_row: int, seq_ids: np.ndarray, pos: np.ndarray
    ) -> np.ndarray:
        stream = self.stream
        if self.dense:
            rows = seq_ids
            bad = (seq_ids < 0) | (seq_ids >= stream.n_sequences)
        else:
            found = np.searchsorted(stream.seq_ids, seq_ids)
            np.minimum(found, max(stream.n_sequences - 1, 0), out=found)
            bad = (
                np.ones(len(seq_ids), dtype=bool)
                if not stream.n_sequences
                else stream.seq_ids[found] != seq_ids
            )
            rows = found
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{path}: sequence {int(seq_ids[i])} at row {first_row + i} is not in the token "
                f"matrix {stream.source} ({stream.n_sequences} sequences)"
            )
        lengths = self.lengths[rows]
        out_of = (pos < 0) | (pos >= lengths)
        if out_of.any():
            i = int(np.argmax(out_of))
            raise DataError(
                f"{path}: position {int(pos[i])} at row {first_row + i} is outside sequence "
                f"{int(seq_ids[i])} ({int(lengths[i])} tokens)"
            )
        return stream.offsets[rows] + pos


class SequenceParquetActivations:
    """Parquet files of ``feature_id, seq_id, pos, activation``."""

    def __init__(self, files: tuple[Path, ...], stream: TokenStream, n_features: int | None):
        self._files = files
        self._rows = _SequenceRows(stream)
        self._n_features = n_features

    @property
    def files(self) -> tuple[Path, ...]:
        return self._files

    @property
    def min_features(self) -> int:
        return self._n_features or 0

    def count(self, path: Path) -> int:
        schema = _schema(path, "activations")
        for name in SEQUENCE_ACTIVATION_COLUMNS:
            if name not in schema:
                raise DataError(
                    f"{path}: missing column {name!r} (sequence activations need "
                    f"{', '.join(SEQUENCE_ACTIVATION_COLUMNS)}; found "
                    f"{', '.join(schema.names()) or 'none'})"
                )
        for name in ("feature_id", "seq_id", "pos"):
            if not _is_int(schema[name]):
                raise DataError(f"{path}: column {name!r} must be integer, got {schema[name]}")
        if not (schema["activation"].is_float() or _is_int(schema["activation"])):
            raise DataError(
                f"{path}: column 'activation' must be float, got {schema['activation']}"
            )
        try:
            return int(pl.scan_parquet(path).select(pl.len()).collect().item())
        except _READ_ERRORS as exc:
            raise DataError(
                f"{path}: cannot read activations parquet: {_first_line(exc)}"
            ) from None

    def read(
        self, path: Path, start: int, length: int, with_example_ids: bool = True
    ) -> ActivationBatch:
        columns = SEQUENCE_ACTIVATION_COLUMNS if with_example_ids else ("feature_id", "activation")
        try:
            frame = pl.scan_parquet(path).slice(start, length).select(columns).collect()
        except _READ_ERRORS as exc:
            raise DataError(
                f"{path}: cannot read activations parquet: {_first_line(exc)}"
            ) from None
        batch = _to_batch(
            path,
            frame.select(
                "feature_id", "activation", *(("seq_id", "pos") if with_example_ids else ())
            ),
            start,
        )
        _check_limit(path, batch, self._n_features, "n_features")
        if with_example_ids:
            batch.example_ids = self._rows.example_ids(
                path,
                start,
                frame["seq_id"].to_numpy().astype(np.int64),
                frame["pos"].to_numpy().astype(np.int64),
            )
        return batch


def _check_limit(path: Path, batch: ActivationBatch, limit: int | None, what: str) -> None:
    if limit is None or not len(batch.feature_ids):
        return
    too_big = batch.feature_ids >= limit
    if too_big.any():
        i = int(np.argmax(too_big))
        raise DataError(
            f"{path}: feature_id {int(batch.feature_ids[i])} at row {batch.first_row + i} is out "
            f"of range of {what} ({limit} features)"
        )


class DelphiActivations:
    """The split files of a Delphi cache: rows (sequence, position, latent) and activations."""

    def __init__(self, cache: DelphiCache, stream: TokenStream, n_features: int | None) -> None:
        self.cache = cache
        self._rows = _SequenceRows(stream)
        self._n_features = n_features

    @property
    def files(self) -> tuple[Path, ...]:
        return self.cache.files

    @property
    def min_features(self) -> int:
        return max(self.cache.width, self._n_features or 0)

    def count(self, path: Path) -> int:
        return self.cache.split(path).n_rows

    def read(
        self, path: Path, start: int, length: int, with_example_ids: bool = True
    ) -> ActivationBatch:
        locations, activations = self.cache.rows(path, start, length)
        split = self.cache.split(path)
        if len(activations) and not np.isfinite(activations.sum(dtype=np.float64)):
            i = int(np.argmax(~np.isfinite(activations)))
            raise DataError(f"{path}: activation {activations[i]} at row {start + i} is not finite")
        latents = locations[:, 2]
        outside = latents > split.end
        if outside.any():
            i = int(np.argmax(outside))
            raise DataError(
                f"{path}: latent {int(latents[i])} at row {start + i} is outside the split's "
                f"latents {split.start}..{split.end}"
            )
        batch = ActivationBatch(latents.astype(np.int32), np.empty(0, np.int64), activations, start)
        _check_limit(path, batch, self._n_features, "n_features")
        if with_example_ids:
            batch.example_ids = self._rows.example_ids(
                path, start, locations[:, 0], locations[:, 1]
            )
        return batch
