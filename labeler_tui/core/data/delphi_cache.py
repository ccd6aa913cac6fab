"""A Delphi latent cache, read in place.

Delphi's ``populate_cache`` (EleutherAI/delphi, ``LatentCache.save_splits``) writes one folder
per hookpoint, ``latents/{hookpoint}/``, holding ``{start}_{end}.safetensors`` files (the
latents ``start..end``, both included) and a ``config.json`` (its cache config: ``cache_ctx_len``,
``n_tokens``, ``dataset_repo``, ..., and ``model_name``). Each file holds:

- ``locations``: [N, 3] integers (uint16 when they fit, else uint32; int64 in older caches),
  each row ``(sequence, position, latent - start)``; the sequence indexes the token matrix;
- ``activations``: [N] float16, the latent's value there (``abs > 1e-5``: negative values may be
  present and are not nonzero);
- ``tokens``: [n_sequences, ctx_len] integers, the token matrix the cache was made from (the
  same in every file; read once).

The tensors are memory-mapped (the safetensors header is parsed here), so the index builder
reads them a row range at a time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labeler_tui.core.data.decoder import SafetensorsHeader, read_safetensors_header
from labeler_tui.core.errors import DataError

SPLIT_NAME = re.compile(r"^(\d+)_(\d+)\.safetensors$")
CONFIG_NAME = "config.json"
_DTYPES: dict[str, np.dtype[Any]] = {
    "U8": np.dtype("<u1"),
    "U16": np.dtype("<u2"),
    "U32": np.dtype("<u4"),
    "U64": np.dtype("<u8"),
    "I8": np.dtype("<i1"),
    "I16": np.dtype("<i2"),
    "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "BF16": np.dtype("<u2"),
}


def map_tensor(header: SafetensorsHeader, key: str, kinds: str, ndim: int) -> np.ndarray:
    """Tensor ``key`` of a safetensors file, memory-mapped (bfloat16 widened to float32 when
    read); ``kinds`` are the allowed numpy kinds (``"iu"``, ``"f"``). DataError naming the file
    for a missing tensor, a bad dtype or shape, or a truncated file."""
    path = header.path
    info = header.tensors.get(key)
    if info is None:
        names = ", ".join(sorted(header.tensors)) or "none"
        raise DataError(f"{path}: no {key!r} tensor (tensors: {names})")
    try:
        dtype_name, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{path}: malformed safetensors entry for {key}") from None
    dtype = _DTYPES.get(dtype_name)
    bfloat16 = dtype_name == "BF16"
    if dtype is None or (("f" if bfloat16 else dtype.kind) not in kinds):
        raise DataError(f"{path}: {key} has dtype {dtype_name}, which is not expected here")
    if not isinstance(shape, list) or len(shape) != ndim:
        raise DataError(f"{path}: {key} must have {ndim} dimension(s), got shape {shape}")
    count = int(np.prod(shape)) if shape else 1
    if (
        int(end) - int(begin) != count * dtype.itemsize
        or header.data_start + int(end) > header.size
    ):
        raise DataError(f"{path}: {key} data does not match its shape {shape} (truncated file?)")
    if count == 0:
        return np.zeros(shape, dtype=np.float32 if bfloat16 else dtype)
    raw = np.memmap(
        path, dtype=dtype, mode="r", offset=header.data_start + int(begin), shape=tuple(shape)
    )
    if bfloat16:
        return (np.asarray(raw).astype(np.uint32) << 16).view(np.float32)
    return raw


@dataclass(frozen=True)
class DelphiSplit:
    """One ``{start}_{end}.safetensors`` file: latents ``start..end`` (both included)."""

    path: Path
    start: int
    end: int
    n_rows: int


def split_files(folder: Path) -> list[tuple[int, int, Path]]:
    """(start, end, path) of every split file of a cache folder, by start."""
    found = []
    try:
        children = list(folder.iterdir())
    except OSError:
        return []
    for child in children:
        match = SPLIT_NAME.match(child.name)
        if match and child.is_file():
            found.append((int(match.group(1)), int(match.group(2)), child))
    return sorted(found)


def is_delphi_cache(path: Path) -> bool:
    """Whether ``path`` is a folder of Delphi split files (a ``latents/{hookpoint}`` folder)."""
    return path.is_dir() and bool(split_files(path))


class DelphiCache:
    """The split files of one hookpoint's latent cache, and its token matrix."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        found = split_files(folder)
        if not found:
            raise DataError(f"{folder}: no Delphi split files ({{start}}_{{end}}.safetensors)")
        splits: list[DelphiSplit] = []
        self._tensors: dict[Path, tuple[np.ndarray, np.ndarray]] = {}
        previous_end = -1
        self._tokens_file: Path | None = None
        for start, end, path in found:
            if end < start:
                raise DataError(f"{path}: the split's last latent {end} is before its first")
            if start <= previous_end:
                raise DataError(f"{path}: latents {start}..{end} overlap the previous split")
            previous_end = end
            header = read_safetensors_header(path, "Delphi cache")
            locations = map_tensor(header, "locations", "iu", 2)
            activations = map_tensor(header, "activations", "f", 1)
            if locations.shape[1] != 3 or locations.shape[0] != activations.shape[0]:
                raise DataError(
                    f"{path}: locations must be [N, 3] beside activations [N], got "
                    f"{list(locations.shape)} and {list(activations.shape)}"
                )
            if self._tokens_file is None and "tokens" in header.tensors:
                self._tokens_file = path
            self._tensors[path] = (locations, activations)
            splits.append(DelphiSplit(path, start, end, int(activations.shape[0])))
        self.splits = tuple(splits)
        self.config = self._read_config()

    def _read_config(self) -> dict[str, Any]:
        path = self.folder / CONFIG_NAME
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read the cache config: {exc}") from None
        return data if isinstance(data, dict) else {}

    @property
    def width(self) -> int:
        """The number of latents the splits cover (the last split's end + 1)."""
        return self.splits[-1].end + 1

    @property
    def ctx_len(self) -> int | None:
        """The cache's context length from its config.json (``cache_ctx_len``, or ``ctx_len``
        in older caches), or None."""
        for key in ("cache_ctx_len", "ctx_len"):
            value = self.config.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
        return None

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(split.path for split in self.splits)

    def split(self, path: Path) -> DelphiSplit:
        for split in self.splits:
            if split.path == path:
                return split
        raise KeyError(path)

    def tokens(self) -> np.ndarray:
        """The token matrix [n_sequences, ctx_len] (memory-mapped), from the first split that
        holds one; DataError when none does."""
        if self._tokens_file is None:
            raise DataError(
                f"{self.folder}: the cache holds no tokens tensor (it was saved without "
                "save_tokens); give the token matrix as `tokens` in labeler.toml"
            )
        header = read_safetensors_header(self._tokens_file, "Delphi cache")
        tokens = map_tensor(header, "tokens", "iu", 2)
        ctx = self.ctx_len
        if ctx is not None and tokens.shape[1] != ctx:
            raise DataError(
                f"{self._tokens_file}: tokens are [{tokens.shape[0]}, {tokens.shape[1]}] but "
                f"{self.folder / CONFIG_NAME} says cache_ctx_len {ctx}"
            )
        return tokens

    def rows(self, path: Path, start: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        """(locations int64 [n, 3] with the split's first latent added to column 2,
        activations float32 [n]) of rows ``start .. start + length`` of one split file."""
        locations, activations = self._tensors[path]
        block = np.asarray(locations[start : start + length], dtype=np.int64)
        block[:, 2] += self.split(path).start
        return block, np.asarray(activations[start : start + length], dtype=np.float32)
