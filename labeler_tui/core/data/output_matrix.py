"""The optional output (unembedding) matrix of a model, and the names of its outputs.

A feature's output effects are its decoder row times this matrix (docs/formats.md, "Output
matrix"). The file is ``.npy`` or ``.safetensors`` (tensor ``W_U``, else ``lm_head.weight``,
``unembed.weight``, else the file's only tensor), memory-mapped, read lazily on first use (it
is not part of the index). Its orientation is told apart by the decoder's width ``d``: a
[d, n_out] matrix (the ``W_U`` convention) or an [n_out, d] one (a torch ``Linear`` weight);
a square [d, d] one is read as [d, n_out]. Output names come from ``output_vocab`` (a JSON
list, index = output id, or ``{name: id}``), by default the model's vocab.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labeler_tui.core.data.decoder import read_safetensors_header
from labeler_tui.core.data.vocab import read_vocab
from labeler_tui.core.errors import DataError

SAFETENSORS_KEYS = ("W_U", "lm_head.weight", "unembed.weight")
CHUNK_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class OutputMatrix:
    """The output matrix as stored (memory-mapped) and its output names."""

    path: Path
    raw: np.ndarray
    transposed: bool
    """True when stored [n_out, d]."""
    bfloat16: bool
    names: list[str]

    @property
    def n_outputs(self) -> int:
        return int(self.raw.shape[0] if self.transposed else self.raw.shape[1])

    @property
    def width(self) -> int:
        return int(self.raw.shape[1] if self.transposed else self.raw.shape[0])

    def effects(self, direction: np.ndarray) -> np.ndarray:
        """float64[n_outputs]: ``direction`` (float [d]) times the matrix. A float32 matrix is
        multiplied as stored (one BLAS mat-vec over the mapped file); other dtypes are widened
        to float32 a chunk of outputs at a time, so a large vocabulary is never copied whole."""
        query = np.asarray(direction, dtype=np.float32)
        if self.raw.dtype == np.float32 and not self.bfloat16:
            out = self.raw @ query if self.transposed else query @ self.raw
            return np.asarray(out, dtype=np.float64)
        result = np.empty(self.n_outputs, dtype=np.float64)
        step = max(1, CHUNK_BYTES // max(1, self.width * 4))
        for start in range(0, self.n_outputs, step):
            stop = min(start + step, self.n_outputs)
            block = self.raw[start:stop] if self.transposed else self.raw[:, start:stop]
            block = _as_float32(np.asarray(block), self.bfloat16)
            result[start:stop] = block @ query if self.transposed else query @ block
        return result


def _as_float32(block: np.ndarray, bfloat16: bool) -> np.ndarray:
    if bfloat16:
        return (block.astype(np.uint32) << 16).view(np.float32)
    return block.astype(np.float32, copy=False)


def open_output(
    path: Path, width: int, vocab: Path | None, default_names: list[str]
) -> OutputMatrix:
    """Open the output matrix for a decoder of width ``width``; DataError naming the file for a
    bad file, a shape without a dimension of ``width`` or names that do not match."""
    if not path.is_file():
        raise DataError(f"{path}: output file not found")
    if path.suffix == ".npy":
        try:
            raw = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read output .npy: {exc}") from None
        bfloat16 = False
        if raw.ndim != 2:
            raise DataError(f"{path}: output must be 2-D, got shape {raw.shape}")
        if raw.dtype.kind != "f":
            raise DataError(f"{path}: output dtype must be floating point, got {raw.dtype}")
    elif path.suffix == ".safetensors":
        header = read_safetensors_header(path, "output")
        key = next((k for k in SAFETENSORS_KEYS if k in header.tensors), None)
        if key is None and len(header.tensors) == 1:
            key = next(iter(header.tensors))
        if key is None:
            listed = ", ".join(sorted(header.tensors)) or "none"
            raise DataError(
                f"{path}: no W_U, lm_head.weight or unembed.weight tensor and not exactly one "
                f"tensor (tensors: {listed})"
            )
        raw, bfloat16 = header.map(key)
    else:
        raise DataError(f"{path}: output must be a .npy or .safetensors file")
    rows, columns = (int(x) for x in raw.shape)
    if rows == width:
        transposed = False
    elif columns == width:
        transposed = True
    else:
        raise DataError(
            f"{path}: output shape [{rows}, {columns}] has no dimension equal to the decoder's "
            f"width d = {width} (expected [d, n_out] or [n_out, d])"
        )
    n_out = rows if transposed else columns
    names = read_vocab(vocab) if vocab is not None else default_names
    if len(names) != n_out:
        source = "the model's vocab" if vocab is None else f"output_vocab {vocab}"
        hint = "" if vocab is not None else "; set output_vocab"
        raise DataError(
            f"{path}: the output matrix has {n_out} outputs but {source} names {len(names)}{hint}"
        )
    return OutputMatrix(path, raw, transposed, bfloat16, list(names))
