"""Readers for the input parquet files, validating them against the input data contract.

Every problem is a DataError naming the file and the problem in one line. Activations are
read a row range at a time (never loaded whole); the examples table is read at once (it is one
row per example, small next to the activations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from polars.datatypes import DataTypeClass

from labeler_tui.core.errors import DataError

ACTIVATION_COLUMNS = ("feature_id", "example_id", "activation")
_READ_ERRORS = (pl.exceptions.PolarsError, OSError, ValueError, RuntimeError)


def _schema(path: Path, what: str) -> pl.Schema:
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    try:
        return pl.Schema(pl.read_parquet_schema(path))
    except _READ_ERRORS as exc:
        raise DataError(f"{path}: cannot read {what} parquet: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _is_int(dtype: pl.DataType | DataTypeClass) -> bool:
    return dtype.is_integer()


# --- activations ------------------------------------------------------------------------------
def check_activation_file(path: Path) -> int:
    """Validate the columns and dtypes of one activation file; returns its row count."""
    schema = _schema(path, "activations")
    for name in ACTIVATION_COLUMNS:
        if name not in schema:
            raise DataError(
                f"{path}: missing column {name!r} (activation files need "
                f"{', '.join(ACTIVATION_COLUMNS)}; found {', '.join(schema.names()) or 'none'})"
            )
    for name in ("feature_id", "example_id"):
        if not _is_int(schema[name]):
            raise DataError(f"{path}: column {name!r} must be integer, got {schema[name]}")
    if not (schema["activation"].is_float() or _is_int(schema["activation"])):
        raise DataError(f"{path}: column 'activation' must be float, got {schema['activation']}")
    try:
        return int(pl.scan_parquet(path).select(pl.len()).collect().item())
    except _READ_ERRORS as exc:
        raise DataError(f"{path}: cannot read activations parquet: {_first_line(exc)}") from None


@dataclass
class ActivationBatch:
    """One record batch of an activation file as numpy arrays (validated: no nulls, finite)."""

    feature_ids: np.ndarray  # integer (any width; values 0 .. 2**31-1)
    example_ids: np.ndarray  # int64
    activations: np.ndarray  # float32
    first_row: int
    """Row number in the file of this batch's first row (for error messages)."""


def read_activation_slice(
    path: Path, start: int, length: int, with_example_ids: bool = True
) -> ActivationBatch:
    """Rows ``start .. start+length`` of an activation file, validated.

    Reading by explicit row ranges (the parquet reader skips to them) gives every pass the same
    batches, so work can be split between threads. Without ``with_example_ids`` that column
    is not decoded (``example_ids`` is empty).
    """
    columns = ACTIVATION_COLUMNS if with_example_ids else ("feature_id", "activation")
    try:
        frame = pl.scan_parquet(path).slice(start, length).select(columns).collect()
    except _READ_ERRORS as exc:
        raise DataError(f"{path}: cannot read activations parquet: {_first_line(exc)}") from None
    return _to_batch(path, frame, start)


def _to_batch(path: Path, frame: pl.DataFrame, first_row: int) -> ActivationBatch:
    nulls = frame.null_count().row(0)
    for name, count in zip(frame.columns, nulls, strict=True):
        if count:
            raise DataError(f"{path}: column {name!r} has {count} null values")
    exs = (
        frame["example_id"].to_numpy()
        if "example_id" in frame.columns
        else np.empty(0, dtype=np.int64)
    )
    return activation_batch(
        path, frame["feature_id"].to_numpy(), exs, frame["activation"].to_numpy(), first_row
    )


def activation_batch(
    source: Path | str,
    feature_ids: np.ndarray,
    example_ids: np.ndarray,
    activations: np.ndarray,
    first_row: int = 0,
) -> ActivationBatch:
    """A validated batch from column chunks (for any input format): finite activations
    (float32), feature ids >= 0 and < 2**31, example ids as int64 (``example_ids`` may be empty
    when the reader was asked not to decode them). DataError naming ``source`` otherwise."""
    feats = np.asarray(feature_ids)
    if feats.dtype.kind not in "iu":
        raise DataError(f"{source}: feature ids must be integers, got {feats.dtype}")
    exs = np.asarray(example_ids).astype(np.int64, copy=False)
    acts_in = np.asarray(activations)
    acts = acts_in.astype(np.float32, copy=False)
    if len(exs) and len(exs) != len(feats) or len(acts) != len(feats):
        raise DataError(f"{source}: columns of different lengths at row {first_row}")
    if not len(feats):
        return ActivationBatch(feats.astype(np.int32), exs, acts, first_row)
    # fast path: a float64 sum of float32 values is finite iff every value is
    if not np.isfinite(acts.sum(dtype=np.float64)):
        i = int(np.argmax(~np.isfinite(acts)))
        raise DataError(
            f"{source}: activation is {acts_in[i]} (not finite as float32) at row "
            f"{first_row + i} (feature_id {feats[i]})"
        )
    if feats.min() < 0:
        i = int(np.argmax(feats < 0))
        raise DataError(f"{source}: negative feature_id {feats[i]} at row {first_row + i}")
    if feats.dtype.itemsize > 4 or feats.dtype == np.uint32:
        if feats.max() >= 2**31:
            i = int(np.argmax(feats >= 2**31))
            raise DataError(f"{source}: feature_id {feats[i]} at row {first_row + i} is too large")
        feats = feats.astype(np.int32)
    return ActivationBatch(feats, exs, acts, first_row)


# --- examples ---------------------------------------------------------------------------------
_METADATA_KINDS = "string or integer"


@dataclass
class MetadataColumn:
    codes: np.ndarray  # int32 per example row
    values: list[str | int | bool | None]


@dataclass
class ExampleTable:
    """The examples file sorted by example id, tokens as CSR, metadata as codes."""

    example_ids: np.ndarray  # int64[n], ascending
    token_offsets: np.ndarray  # int64[n + 1]
    token_ids: np.ndarray  # int32[total tokens]
    metadata: dict[str, MetadataColumn] = field(default_factory=dict)

    @property
    def n_examples(self) -> int:
        return len(self.example_ids)


def read_examples(path: Path, n_vocab: int, vocab_path: Path) -> ExampleTable:
    """Read and validate the examples file (unique ids, token ids inside the vocab)."""
    schema = _schema(path, "examples")
    for name in ("example_id", "tokens"):
        if name not in schema:
            raise DataError(
                f"{path}: missing column {name!r} (examples need example_id, tokens; "
                f"found {', '.join(schema.names()) or 'none'})"
            )
    if not _is_int(schema["example_id"]):
        raise DataError(f"{path}: column 'example_id' must be integer, got {schema['example_id']}")
    tokens_type = schema["tokens"]
    if not (isinstance(tokens_type, pl.List | pl.Array) and _is_int(tokens_type.inner)):
        raise DataError(f"{path}: column 'tokens' must be a list of integers, got {tokens_type}")
    metadata_names = [n for n in schema.names() if n not in ("example_id", "tokens")]
    for name in metadata_names:
        dtype = schema[name]
        if not (
            dtype == pl.String
            or _is_int(dtype)
            or dtype == pl.Boolean
            or isinstance(dtype, pl.Categorical | pl.Enum)
        ):
            raise DataError(
                f"{path}: metadata column {name!r} has dtype {dtype}; expected {_METADATA_KINDS}"
            )
    try:
        frame = pl.read_parquet(path)
    except _READ_ERRORS as exc:
        raise DataError(f"{path}: cannot read examples parquet: {_first_line(exc)}") from None

    ids = frame["example_id"]
    if ids.null_count():
        raise DataError(f"{path}: column 'example_id' has {ids.null_count()} null values")
    if not ids.is_sorted():
        frame = frame.sort("example_id")
    example_ids = frame["example_id"].to_numpy().astype(np.int64)
    same = example_ids[1:] == example_ids[:-1]
    if same.any():
        first = int(example_ids[1:][same][0])
        raise DataError(f"{path}: duplicate example_id {first} ({int(same.sum())} duplicates)")

    tokens = frame["tokens"]
    if isinstance(tokens.dtype, pl.Array):
        tokens = tokens.cast(pl.List(tokens.dtype.inner))
    if tokens.null_count():
        raise DataError(f"{path}: column 'tokens' has {tokens.null_count()} null lists")
    lengths = tokens.list.len().to_numpy().astype(np.int64)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = tokens.explode()
    if flat.null_count() > int((lengths == 0).sum()):
        raise DataError(f"{path}: column 'tokens' has null token ids")
    flat_ids = flat.drop_nulls().to_numpy()
    if len(flat_ids) != offsets[-1]:
        raise DataError(f"{path}: column 'tokens' could not be read as lists of token ids")
    if len(flat_ids):
        lo, hi = int(flat_ids.min()), int(flat_ids.max())
        if lo < 0 or hi >= n_vocab:
            bad = lo if lo < 0 else hi
            row = int(np.searchsorted(offsets, int(np.argmax(flat_ids == bad)), side="right") - 1)
            raise DataError(
                f"{path}: token id {bad} (example_id {example_ids[row]}) is outside the vocab "
                f"{vocab_path.name} (ids 0..{n_vocab - 1})"
            )
    metadata = {name: _metadata_column(frame[name]) for name in metadata_names}
    return ExampleTable(example_ids, offsets, flat_ids.astype(np.int32, copy=False), metadata)


def _metadata_column(column: pl.Series) -> MetadataColumn:
    """Dense int32 codes over the sorted distinct values (null last, if present)."""
    if isinstance(column.dtype, pl.Categorical | pl.Enum):
        column = column.cast(pl.String)
    distinct = column.drop_nulls().unique().sort()
    values: list[str | int | bool | None] = distinct.to_list()
    positions = distinct.search_sorted(column.fill_null(distinct[0]) if len(distinct) else column)
    codes = positions.to_numpy().astype(np.int32)
    if column.null_count():
        codes[column.is_null().to_numpy()] = len(values)
        values.append(None)
    return MetadataColumn(codes, values)
