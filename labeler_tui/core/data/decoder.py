"""Decoder weights (``.npy`` or ``.safetensors``), opened without loading them whole.

A ``.safetensors`` file is an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw data; we parse the header ourselves and
memory-map the tensor, so a 1M x 2304 decoder costs no RAM until rows are read. ``W_dec`` is
[n_features, d] (SAELens, sparsify); ``decoder.weight`` is [d, n_features] (a torch Linear).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labeler_tui.core.errors import DataError

SAFETENSORS_KEYS = ("W_dec", "decoder.weight")
_SAFETENSORS_DTYPES: dict[str, np.dtype[Any]] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # raw bits; widened to float32 per chunk
}
_MAX_HEADER = 100 * 1024 * 1024


@dataclass(frozen=True)
class DecoderSource:
    """A decoder tensor on disk: a read-only raw view plus how to turn it into float32 [n, d]."""

    path: Path
    raw: np.ndarray
    """The stored tensor as memory-mapped (bf16 as uint16 bits)."""
    transposed: bool
    """True when stored as [d, n_features] (``decoder.weight``)."""
    bfloat16: bool

    @property
    def n_features(self) -> int:
        return int(self.raw.shape[1] if self.transposed else self.raw.shape[0])

    @property
    def width(self) -> int:
        return int(self.raw.shape[0] if self.transposed else self.raw.shape[1])

    @property
    def is_float32_rows(self) -> bool:
        """Already float32 [n, d] C-order: usable as the decoder with no conversion."""
        return (
            not self.transposed
            and not self.bfloat16
            and self.raw.dtype == np.float32
            and self.raw.flags.c_contiguous
        )

    def rows(self, start: int, stop: int) -> np.ndarray:
        """float32 [stop-start, d] copy of decoder rows start..stop."""
        block = self.raw[:, start:stop].T if self.transposed else self.raw[start:stop]
        if self.bfloat16:
            return (np.ascontiguousarray(block).astype(np.uint32) << 16).view(np.float32)
        return np.ascontiguousarray(block, dtype=np.float32)


def open_decoder(path: Path) -> DecoderSource:
    """Open a decoder file memory-mapped; DataError naming the file for anything malformed."""
    if not path.is_file():
        raise DataError(f"{path}: decoder file not found")
    if path.suffix == ".npy":
        return _open_npy(path)
    if path.suffix == ".safetensors":
        return _open_safetensors(path)
    raise DataError(f"{path}: decoder must be a .npy or .safetensors file")


def _open_npy(path: Path) -> DecoderSource:
    try:
        raw = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read decoder .npy: {exc}") from None
    if raw.ndim != 2:
        raise DataError(f"{path}: decoder must be 2-D [n_features, d], got shape {raw.shape}")
    if raw.dtype.kind != "f":
        raise DataError(f"{path}: decoder dtype must be floating point, got {raw.dtype}")
    return DecoderSource(path=path, raw=raw, transposed=False, bfloat16=False)


def _open_safetensors(path: Path) -> DecoderSource:
    header = read_safetensors_header(path, "decoder")
    key = next((k for k in SAFETENSORS_KEYS if k in header.tensors), None)
    if key is None:
        names = ", ".join(sorted(header.tensors)) or "none"
        raise DataError(f"{path}: no W_dec or decoder.weight tensor (tensors: {names})")
    raw, bfloat16 = header.map(key)
    return DecoderSource(path=path, raw=raw, transposed=key == "decoder.weight", bfloat16=bfloat16)


@dataclass(frozen=True)
class SafetensorsHeader:
    """A safetensors file's parsed header: its tensors by name (``__metadata__`` left out)."""

    path: Path
    tensors: dict[str, Any]
    data_start: int
    size: int

    def map(self, key: str) -> tuple[np.ndarray, bool]:
        """(the 2-D tensor ``key`` memory-mapped, whether it holds bfloat16 bits); DataError
        naming the file for a bad dtype, shape or byte range."""
        path, info = self.path, self.tensors[key]
        try:
            dtype_name, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{path}: malformed safetensors entry for {key}") from None
        if dtype_name not in _SAFETENSORS_DTYPES:
            raise DataError(f"{path}: {key} has dtype {dtype_name}; expected F32, F16, BF16 or F64")
        dtype = _SAFETENSORS_DTYPES[dtype_name]
        if not isinstance(shape, list) or len(shape) != 2:
            raise DataError(f"{path}: {key} must be 2-D, got shape {shape}")
        offset = self.data_start + int(begin)
        if (
            int(end) - int(begin) != shape[0] * shape[1] * dtype.itemsize
            or self.data_start + int(end) > self.size
        ):
            raise DataError(
                f"{path}: {key} data does not match its shape {shape} (truncated file?)"
            )
        if shape[0] * shape[1] == 0:
            raw: np.ndarray = np.zeros(shape, dtype=dtype)
        else:
            raw = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=tuple(shape))
        return raw, dtype_name == "BF16"


def read_safetensors_header(path: Path, what: str) -> SafetensorsHeader:
    """The header of a safetensors file (an 8-byte little-endian length, then JSON); ``what``
    names the file's role in errors (``decoder``, ``output``)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise DataError(f"{path}: not a safetensors file (too short)")
            (header_len,) = struct.unpack("<Q", head)
            if header_len > min(_MAX_HEADER, size - 8):
                raise DataError(f"{path}: not a safetensors file (bad header length)")
            header_bytes = fh.read(header_len)
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        header = json.loads(header_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DataError(f"{path}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise DataError(f"{path}: not a safetensors file (header is not a JSON object)")
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    return SafetensorsHeader(path, tensors, 8 + header_len, size)


def write_float32_rows(
    source: DecoderSource,
    target: Path,
    chunk_rows: int,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Copy the decoder into a float32 [n, d] ``.npy`` at ``target``, chunk by chunk; returns norms."""
    n = source.n_features
    out = np.lib.format.open_memmap(target, mode="w+", dtype=np.float32, shape=(n, source.width))
    norms = np.empty(n, dtype=np.float32)
    for start in range(0, n, chunk_rows):
        stop = min(n, start + chunk_rows)
        block = source.rows(start, stop)
        out[start:stop] = block
        norms[start:stop] = _row_norms(block)
        if progress:
            progress(stop)
    out.flush()
    del out
    return norms


def row_norms(source: DecoderSource, chunk_rows: int) -> np.ndarray:
    """float32 L2 norm of every decoder row, reading the file chunk by chunk."""
    n = source.n_features
    norms = np.empty(n, dtype=np.float32)
    for start in range(0, n, chunk_rows):
        stop = min(n, start + chunk_rows)
        norms[start:stop] = _row_norms(source.rows(start, stop))
    return norms


def _row_norms(block: np.ndarray) -> np.ndarray:
    wide = block.astype(np.float64, copy=False)
    return np.sqrt(np.einsum("ij,ij->i", wide, wide)).astype(np.float32)
