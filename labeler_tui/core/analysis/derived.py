"""Per-workspace derived arrays for the analysis, cached next to the index.

Some answers need a pass over every example or every feature once (token sets per example,
similarity profiles, MinHash signatures). They are computed on first use, saved atomically into
``data.cache_dir/analysis-v1/`` (dropped with the index when an input changes) and kept in memory
per :class:`ModelData` object, so later queries in the same process are a dictionary lookup.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from labeler_tui.core.data import ModelData

CACHE_FOLDER = "analysis-v1"

_memo: weakref.WeakKeyDictionary[ModelData, dict[str, Any]] = weakref.WeakKeyDictionary()
_memo_lock = threading.Lock()
_build_locks: dict[tuple[int, str], threading.Lock] = {}


def cache_folder(data: ModelData) -> Path:
    return Path(data.cache_dir) / CACHE_FOLDER


def save_array(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` (.npy) through a temp file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(array))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_array(path: Path) -> np.ndarray | None:
    """The cached array, memory-mapped; None when missing or unreadable (then it is rebuilt)."""
    try:
        return np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None


def memoized(data: ModelData, key: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per (data, key) in this process; thread-safe (app workers share it)."""
    with _memo_lock:
        slot = _memo.setdefault(data, {})
        if key in slot:
            return slot[key]
        lock = _build_locks.setdefault((id(data), key), threading.Lock())
    with lock:
        with _memo_lock:
            if key in slot:
                return slot[key]
        value = compute()
        with _memo_lock:
            slot[key] = value
        return value


def is_available(data: ModelData, key: str, names: tuple[str, ...]) -> bool:
    """Whether ``memoized(data, key, ...)`` or ``cached_arrays(data, names, ...)`` would answer
    without building: the value is in this process's memo or its files are in the cache."""
    with _memo_lock:
        if key in _memo.get(data, {}):
            return True
    folder = cache_folder(data)
    return all((folder / f"{name}.npy").is_file() for name in names)


def cached_arrays(
    data: ModelData, names: tuple[str, ...], build: Callable[[], tuple[np.ndarray, ...]]
) -> tuple[np.ndarray, ...]:
    """Arrays ``names`` from the on-disk cache, else ``build()`` them and save them."""
    folder = cache_folder(data)
    loaded = [load_array(folder / f"{name}.npy") for name in names]
    if all(array is not None for array in loaded):
        return tuple(loaded)  # type: ignore[arg-type]
    built = build()
    try:
        for name, array in zip(names, built, strict=True):
            save_array(folder / f"{name}.npy", array)
    except OSError:
        pass  # a read-only cache only costs a rebuild in the next process
    return built
