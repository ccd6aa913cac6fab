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
    """Parse JSON bytes; errors become StoreError naming ``path`` and the line/column. A key
    repeated in one object is an error too (a parser keeps one of the values, so a record or a
    field would be lost silently on the next write)."""
    return parse_layout(raw, path, line_offset)[0]


def parse_layout(raw: bytes, path: Path, line_offset: int = 0) -> tuple[Any, bool]:
    """:func:`parse`, and whether ``raw`` is exactly how :func:`dumps` writes the value."""
    try:
        if orjson is None:
            return _parse_checked(raw, path), False
        value = orjson.loads(raw)
        ours = _written_by_us(value, raw)
        if not ours:
            _parse_checked(raw, path)  # may hide a repeated key: look closer
        return value, ours
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
    except RecursionError:
        raise StoreError(
            f"{path}: JSON nested too deeply; the file was left unchanged (fix or restore it)"
        ) from None


def _written_by_us(value: Any, raw: bytes) -> bool:
    """True when ``raw`` is exactly how we write ``value`` (a store file or a history line):
    such a text cannot hide a repeated key. Files written by other tools take the slower
    check."""
    if raw.startswith((b"{\n", b"[\n")):
        return dumps(value) == raw
    assert orjson is not None
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == raw.rstrip(b"\r\n")


class _Repeated(dict[str, Any]):
    """An object in which ``key`` appeared more than once."""

    key: str


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    repeated = None
    for key, value in pairs:
        if key in out and repeated is None:
            repeated = key
        out[key] = value
    if repeated is None:
        return out
    flagged = _Repeated(out)
    flagged.key = repeated
    return flagged


def _repeated_key(value: Any, where: str = "") -> tuple[str, str] | None:
    """(where, key) of the first object holding a repeated key."""
    if isinstance(value, _Repeated):
        return where, value.key
    if isinstance(value, dict):
        children = ((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        children = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for child_where, child in children:
        found = _repeated_key(child, child_where)
        if found is not None:
            return found
    return None


def _parse_checked(raw: bytes, path: Path) -> Any:
    """The standard library's parse, with every object checked for a repeated key."""
    value = json.loads(raw.decode("utf-8"), object_pairs_hook=_object_pairs)
    found = _repeated_key(value)
    if found is not None:
        where, key = found
        place = f"in {where}" if where else "at the top level"
        raise StoreError(
            f"{path}: key {key!r} appears twice {place} (one of its values would be lost); "
            "the file was left unchanged (keep one and retry)"
        )
    return value


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


def target_of(path: Path) -> Path:
    """The file a path stands for: a symlink's final target (files are written through their
    symlinks, which stay)."""
    return Path(os.path.realpath(path))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` (a symlink: its target) with ``data`` atomically (temp file + fsync +
    rename + dir fsync). Store files are written by :mod:`labeler_tui.core.stores.commit`."""
    path = target_of(path)
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


def write_json_atomic(path: Path, value: Any) -> None:
    write_bytes_atomic(path, dumps(value))


def write_cache_file(path: Path, data: bytes) -> None:
    """Replace a cache file (temp + rename, no fsync: a torn or lost cache file is only a miss);
    failures are ignored."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o644)  # readable by the workspace's other users, as the stores are
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


class JsonCache:
    """Last parsed value of each JSON file, reused while the file's fingerprint is unchanged."""

    def __init__(self, sidecars: Path | None = None) -> None:
        self._entries: dict[Path, tuple[Fingerprint, Any]] = {}
        self._lock = threading.Lock()
        self.sidecars = sidecars
        """Where keyed store files keep their index between processes (``core/stores/keyed``);
        None: nowhere."""

    def get(self, path: Path, fp: Fingerprint) -> Any | None:
        """The value kept for ``path`` at fingerprint ``fp`` (None when none is)."""
        with self._lock:
            hit = self._entries.get(path)
        return hit[1] if hit is not None and hit[0] == fp else None

    def put(self, path: Path, fp: Fingerprint, value: Any) -> None:
        with self._lock:
            self._entries[path] = (fp, value)

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

    def remember(self, path: Path, value: Any) -> None:
        """Keep ``value`` as the parsed content of ``path``, just written by a commit (under the
        workspace lock). ``value`` is kept by reference: the caller must not mutate it
        afterwards."""
        fp = fingerprint(path)
        with self._lock:
            if fp is None:
                self._entries.pop(path, None)
            else:
                self._entries[path] = (fp, value)
