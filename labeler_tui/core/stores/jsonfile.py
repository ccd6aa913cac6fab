"""Atomic, deterministic JSON files.

Writes go to a temp file in the same folder, are fsynced, renamed over the target with
``os.replace`` and the folder is fsynced, so a reader (or a crash) only ever sees the old or the
new complete file. Output is deterministic (sorted keys, 2-space indent, trailing newline) so
label files diff well in git. A file that does not parse raises StoreError with its name and the
line/column, and is never overwritten.

Parsing an 18 MB label file costs tens of milliseconds, so :class:`JsonCache` keeps the last parsed
value per file keyed by its stat fingerprint; callers must treat cached values as read-only.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labeler_tui.core.errors import StoreError

try:  # orjson serialises 24k label records ~10x faster than the standard library
    import orjson
except ImportError:  # pragma: no cover - exercised only where orjson is missing
    orjson = None  # type: ignore[assignment]

import json

Fingerprint = tuple[int, int, int, int]


def dumps(value: Any) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, indent 2, trailing newline."""
    if orjson is not None:
        return orjson.dumps(
            value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
        )
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def dumps_line(value: Any) -> bytes:
    """One compact JSON line (for JSONL logs), keys sorted, newline-terminated."""
    if orjson is not None:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
    return (
        json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
    ).encode()


def parse(raw: bytes, path: Path, line_offset: int = 0) -> Any:
    """Parse JSON bytes; errors become StoreError naming ``path`` and the line/column."""
    try:
        if orjson is not None:
            return orjson.loads(raw)
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1 + line_offset
        raise StoreError(
            f"{path}: line {line}: not valid UTF-8; the file was left unchanged"
        ) from None
    except json.JSONDecodeError as exc:  # orjson.JSONDecodeError is a subclass
        raise StoreError(
            f"{path}: corrupt JSON at line {exc.lineno + line_offset}, column {exc.colno}: "
            f"{exc.msg}; the file was left unchanged (fix or restore it)"
        ) from None


def fingerprint(path: Path) -> Fingerprint | None:
    """(inode, size, mtime_ns, ctime_ns) of a file, or None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror}") from None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise StoreError(f"{path}: is a directory, expected a JSON file") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror}") from None


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot fsync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temp file + fsync + rename + dir fsync)."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            if path.exists():
                os.chmod(tmp, os.stat(path).st_mode & 0o777)
            else:
                os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StoreError(f"{path}: cannot write: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(folder)


def remove_stale_temps(path: Path) -> int:
    """Delete temp files a killed writer left beside ``path``; call only under the workspace
    lock (every writer creates its temp file under it, so none is in use). Returns the count."""
    removed = 0
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()
            removed += 1
    return removed


def write_json_atomic(path: Path, value: Any) -> None:
    write_bytes_atomic(path, dumps(value))


class JsonCache:
    """Last parsed value of each JSON file, reused while the file's fingerprint is unchanged."""

    def __init__(self) -> None:
        self._entries: dict[Path, tuple[Fingerprint, Any]] = {}
        self._lock = threading.Lock()

    def read(self, path: Path, check: Callable[[Path, Any], None] | None = None) -> Any | None:
        """The parsed file (None when missing). The value is shared: do not mutate it.

        ``check(path, value)`` validates a fresh parse (raising StoreError); a cached value has
        passed it already."""
        before = fingerprint(path)
        if before is None:
            return None
        with self._lock:
            hit = self._entries.get(path)
        if hit is not None and hit[0] == before:
            return hit[1]
        raw = read_bytes(path)
        if raw is None:
            return None
        value = parse(raw, path)
        if check is not None:
            check(path, value)
        after = fingerprint(path)
        if after == before:  # not replaced while we read it
            with self._lock:
                self._entries[path] = (after, value)
        return value

    def write(self, path: Path, value: Any) -> None:
        """Write ``value`` atomically (under the workspace lock) and remember it as the file's
        parsed content. ``value`` is kept by reference: the caller must not mutate it afterwards."""
        remove_stale_temps(path)
        write_json_atomic(path, value)
        fp = fingerprint(path)
        with self._lock:
            if fp is None:
                self._entries.pop(path, None)
            else:
                self._entries[path] = (fp, value)
