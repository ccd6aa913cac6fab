"""Keyed store files (the label store, the dashboard file) read and changed by entry.

Both are one JSON object keyed by feature id, written in the deterministic layout of
:func:`~labeler_tui.core.stores.jsonfile.dumps` (sorted keys, indent 2). In that layout every
top-level entry starts a line with exactly two spaces and a quote (deeper lines have four or more
spaces, and JSON strings hold no raw newline), so the byte span of each entry can be found
without parsing, and a change of a few entries can be written as the old file's unchanged spans
around the new entries' text: the result is byte for byte what ``dumps`` of the whole new object
gives (a test checks it), the file stays the complete JSON other tools read, and a save does not
cost a parse and a serialisation of every record (docs/formats.md, "Store rules").

:class:`KeyedIndex` is that map of spans (plus a few fields per entry, for tallies), kept per
file fingerprint in memory and in a small sidecar file under the workspace cache, so a fresh
process (``labeler label``, ``labeler status``) reads neither the whole file nor every record. A
file another tool wrote in another layout, or changed since the index was made, is parsed and
checked whole as before (and the next save writes the deterministic layout).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labeler_tui.core.errors import StoreError
from labeler_tui.core.stores.commit import FileSpan, Piece
from labeler_tui.core.stores.jsonfile import (
    Fingerprint,
    JsonCache,
    dumps,
    fingerprint,
    parse_layout,
    read_bytes,
    target_of,
    write_cache_file,
)

try:
    import orjson
except ImportError:  # pragma: no cover - exercised only where orjson is missing
    orjson = None  # type: ignore[assignment]

import json

SIDECAR_VERSION = 3
_OPEN = b"{\n"
_CLOSE = b"\n}\n"
_SEP = b",\n"
_DELETED = object()


def _loads(raw: bytes | memoryview) -> Any:
    return orjson.loads(raw) if orjson is not None else json.loads(bytes(raw))


def entry_bytes(key: str, value: Any) -> bytes:
    """One top-level entry as :func:`dumps` writes it inside the object (indented once)."""
    body = dumps(value)[:-1].replace(b"\n", b"\n  ")
    return b'  "' + key.encode() + b'": ' + body


@dataclass
class KeyedIndex:
    """Where each entry of one version of a keyed file is."""

    fingerprint: Fingerprint
    size: int
    keys: list[str]
    """In file order (sorted as :func:`dumps` sorts them)."""
    starts: np.ndarray
    """int64: offset of each entry's line (its two spaces)."""
    ends: np.ndarray
    """int64: offset just past each entry's value."""
    columns: dict[str, list[Any]] = field(default_factory=dict)
    """Per entry, the values of a few fields (``labeler status`` tallies them)."""

    def value_span(self, i: int) -> tuple[int, int]:
        return int(self.starts[i]) + 6 + len(self.keys[i].encode()), int(self.ends[i])

    def position(self, key: str) -> tuple[int, bool]:
        """(insertion index, found)."""
        i = bisect.bisect_left(self.keys, key)
        return i, i < len(self.keys) and self.keys[i] == key

    def to_json(self, path: Path) -> dict[str, Any]:
        """The sidecar's content: ``starts`` as base64 of little-endian int64 (the ends follow
        from them: each entry ends two bytes before the next one starts)."""
        return {
            "version": SIDECAR_VERSION,
            "path": str(path),
            "fingerprint": list(self.fingerprint),
            "size": self.size,
            "keys": _joined(self.keys),
            "starts": _b64(self.starts.astype("<i8")),
            "columns": {name: _coded(values) for name, values in self.columns.items()},
        }

    @classmethod
    def from_json(cls, raw: Any, path: Path, fp: Fingerprint) -> KeyedIndex | None:
        """The index in a sidecar, when it is of this file version (None otherwise)."""
        if (
            not isinstance(raw, dict)
            or raw.get("version") != SIDECAR_VERSION
            or raw.get("path") != str(path)
            or tuple(raw.get("fingerprint") or ()) != fp
        ):
            return None
        keys, size = _split(raw["keys"]), int(raw["size"])
        starts = np.frombuffer(base64.b64decode(raw["starts"]), dtype="<i8").astype(np.int64)
        if not keys or len(keys) != len(starts):
            return None
        columns = {name: _decoded(coded) for name, coded in (raw.get("columns") or {}).items()}
        if any(len(values) != len(keys) for values in columns.values()):
            return None
        return cls(fp, size, list(keys), starts, _ends(starts, size), columns)


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(array.tobytes()).decode()


def _joined(keys: list[str]) -> str | list[str]:
    """The keys as one newline-joined string (parsed ~4x faster than a list of 131k strings);
    as a list when one holds a newline."""
    return keys if any("\n" in k for k in keys) else "\n".join(keys)


def _split(keys: str | list[str]) -> list[str]:
    return keys.split("\n") if isinstance(keys, str) else list(keys)


def _coded(values: list[Any]) -> dict[str, Any]:
    """A column as its distinct values and one uint32 code per entry."""
    codes: dict[Any, int] = {}
    index = [codes.setdefault(v, len(codes)) for v in values]
    return {"values": list(codes), "codes": _b64(np.asarray(index, dtype="<u4"))}


def _decoded(coded: dict[str, Any]) -> list[Any]:
    values = coded["values"]
    codes = np.frombuffer(base64.b64decode(coded["codes"]), dtype="<u4")
    return np.asarray(values, dtype=object)[codes].tolist() if len(codes) else []


def _ends(starts: np.ndarray, size: int) -> np.ndarray:
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - len(_SEP)
    ends[-1] = size - len(_CLOSE)
    return ends


def index_of(
    raw: bytes, value: Mapping[str, Any], fp: Fingerprint, columns: Sequence[str] = ()
) -> KeyedIndex | None:
    """The index of ``raw``, which must be ``dumps(value)`` (None for an empty object)."""
    keys = list(value)
    if not keys or not raw.startswith(_OPEN) or not raw.endswith(_CLOSE):
        return None
    data = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(data[:-3] == 10)
    lines = newlines[
        (data[newlines + 1] == 32) & (data[newlines + 2] == 32) & (data[newlines + 3] == 34)
    ]
    if len(lines) != len(keys):  # not the deterministic layout after all
        return None
    starts = lines.astype(np.int64) + 1
    ends = _ends(starts, len(raw))
    cols = {name: [_column(value[k], name) for k in keys] for name in columns}
    return KeyedIndex(fp, len(raw), keys, starts, ends, cols)


def _column(entry: Any, name: str) -> Any:
    found = entry.get(name) if isinstance(entry, dict) else None
    return found if found is None or isinstance(found, str | int | float | bool) else str(found)


class KeyedView(Mapping[str, Any]):
    """One version of a keyed file: entries decoded on first access (shared: never mutate
    them), from the parsed file or from the bytes the index points into."""

    def __init__(
        self,
        path: Path,
        index: KeyedIndex | None,
        parsed: Mapping[str, Any] | None = None,
        data: bytes | None = None,
    ) -> None:
        assert index is not None or parsed is not None
        self.path = path
        self.index = index
        self._parsed = parsed
        self._data = data
        self._fd: int | None = None
        self._decoded: dict[str, Any] = {}
        self.read_as: Fingerprint | None = index.fingerprint if index is not None else None
        """The fingerprint of the file version this view shows (when known)."""

    # --- the bytes the index points into ------------------------------------------------------
    def source(self) -> bytes | int | None:
        """The file's bytes when in memory, else an open descriptor of the version the index
        was made from (opened once); None when the file has changed since (another program
        replaced it)."""
        if self._data is not None:
            return self._data
        if self._fd is None and self.index is not None:
            self._fd = _open_version(self.path, self.index.fingerprint)
            if self._fd is not None:
                weakref.finalize(self, _close_later, self._fd)
        return self._fd

    def _read(self, start: int, end: int) -> bytes | memoryview:
        source = self.source()
        if source is None:
            raise StoreError(f"{self.path}: changed while it was read; try again")
        if isinstance(source, bytes):
            return memoryview(source)[start:end]
        return os.pread(source, end - start, start)

    def _position(self, key: str) -> int | None:
        assert self.index is not None
        i, found = self.index.position(key)
        return i if found else None

    # --- Mapping ------------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        if self._parsed is not None:
            return self._parsed[key]
        found = self._decoded.get(key)
        if found is not None:
            return found
        i = self._position(key)
        if i is None:
            raise KeyError(key)
        start, end = self.index.value_span(i)  # type: ignore[union-attr]
        found = _loads(self._read(start, end))
        self._decoded[key] = found
        return found

    def __iter__(self) -> Iterator[str]:
        if self._parsed is not None:
            return iter(self._parsed)
        assert self.index is not None
        return iter(self.index.keys)

    def __len__(self) -> int:
        if self._parsed is not None:
            return len(self._parsed)
        assert self.index is not None
        return len(self.index.keys)

    def __contains__(self, key: object) -> bool:
        if self._parsed is not None:
            return key in self._parsed
        return isinstance(key, str) and self._position(key) is not None

    def column(self, name: str) -> list[Any] | None:
        """Every entry's ``name`` field, without decoding the entries (None when not kept)."""
        if self.index is not None and name in self.index.columns:
            return self.index.columns[name]
        return None

    def decoded(self) -> dict[str, Any]:
        """The entries decoded so far (carried to the next version by a splice)."""
        return self._decoded if self._parsed is None else {}


def _close_later(fd: int) -> None:
    """Close on a thread: the last descriptor of a replaced 80 MB store frees its blocks,
    which takes a while and is nobody's wait."""
    threading.Thread(target=os.close, args=(fd,), daemon=True).start()


def _open_version(path: Path, fp: Fingerprint) -> int | None:
    """A read descriptor of ``path`` when it is still the version ``fp`` (None otherwise)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    st = os.fstat(fd)
    if (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) != fp:
        os.close(fd)
        return None
    return fd


class Changes(MutableMapping[str, Any]):
    """A keyed file's entries as a transaction changes them: the view read, plus the changes."""

    def __init__(self, base: KeyedView | Mapping[str, Any]) -> None:
        self.base = base
        self.changed: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        found = self.changed.get(key, None)
        if found is _DELETED:
            raise KeyError(key)
        if found is not None:
            return found
        return self.base[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.changed[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self.changed[key] = _DELETED

    def __contains__(self, key: object) -> bool:
        found = self.changed.get(key) if isinstance(key, str) else None
        if found is not None:
            return found is not _DELETED
        return key in self.base

    def __iter__(self) -> Iterator[str]:
        for key in self.base:
            if self.changed.get(key) is not _DELETED:
                yield key
        for key in self.changed:
            if self.changed[key] is not _DELETED and key not in self.base:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def whole(self) -> dict[str, Any]:
        """Every entry (decodes them all)."""
        return {key: self[key] for key in self}


@dataclass
class Splice:
    """A keyed file's next version: the pieces to write and where its entries will be."""

    pieces: list[Piece]
    index_after: KeyedIndex
    """With a placeholder fingerprint until the file is written (:meth:`written`)."""
    decoded: dict[str, Any]

    def written(self, fp: Fingerprint) -> KeyedIndex:
        self.index_after.fingerprint = fp
        return self.index_after


def _replaced(path: Path) -> StoreError:
    return StoreError(
        f"{path}: changed by another program while this change was made; nothing was written "
        "(try again)"
    )


def check_unchanged(changes: Changes) -> None:
    """StoreError when the file was replaced since this change read it (a program that does not
    take the workspace lock wrote it): what it wrote is not overwritten."""
    base = changes.base
    if not isinstance(base, KeyedView):
        return
    now = fingerprint(base.path)
    read = base.index.fingerprint if base.index is not None else base.read_as
    if read is not None and now != read:
        raise _replaced(base.path)


def splice(changes: Changes, columns: Sequence[str] = ()) -> Splice | None:
    """The new file as the old file's unchanged spans around the changed entries; None when
    the old file has no index (written by another tool, empty) or the result would be empty."""
    base = changes.base
    if not isinstance(base, KeyedView) or base.index is None:
        return None
    source = base.source()
    if source is None:
        raise _replaced(base.path)
    index = base.index
    view = memoryview(source) if isinstance(source, bytes) else None
    fd = source if isinstance(source, int) else -1
    keys_out: list[str] = []
    starts_out: list[np.ndarray] = []
    ends_out: list[np.ndarray] = []
    cols_out: dict[str, list[Any]] = {name: [] for name in columns}
    if any(name not in index.columns for name in columns):
        return None
    pieces: list[Piece] = [_OPEN]
    offset = len(_OPEN)
    entries = 0
    decoded = {k: v for k, v in base.decoded().items() if k not in changes.changed}

    def separator() -> None:
        nonlocal offset
        if entries:
            pieces.append(_SEP)
            offset += len(_SEP)

    def keep(lo: int, hi: int) -> None:  # entries lo..hi-1 of the old file, one span
        nonlocal offset, entries
        if lo >= hi:
            return
        separator()
        a, b = int(index.starts[lo]), int(index.ends[hi - 1])
        pieces.append(view[a:b] if view is not None else FileSpan(fd, a, b - a))
        shift = offset - a
        starts_out.append(index.starts[lo:hi] + shift)
        ends_out.append(index.ends[lo:hi] + shift)
        keys_out.extend(index.keys[lo:hi])
        for name in columns:
            cols_out[name].extend(index.columns[name][lo:hi])
        offset += b - a
        entries += hi - lo

    def put(key: str, value: Any) -> None:
        nonlocal offset, entries
        separator()
        text = entry_bytes(key, value)
        pieces.append(text)
        starts_out.append(np.array([offset], dtype=np.int64))
        ends_out.append(np.array([offset + len(text)], dtype=np.int64))
        keys_out.append(key)
        for name in columns:
            cols_out[name].append(_column(value, name))
        decoded[key] = value
        offset += len(text)
        entries += 1

    cursor = 0
    for key in sorted(changes.changed):
        value = changes.changed[key]
        i, found = index.position(key)
        keep(cursor, i)
        if value is not _DELETED:
            put(key, value)
        cursor = i + 1 if found else i
    keep(cursor, len(index.keys))
    if not entries:
        return None
    pieces.append(_CLOSE)
    offset += len(_CLOSE)
    after = KeyedIndex(
        (0, 0, 0, 0),
        offset,
        keys_out,
        np.concatenate(starts_out),
        np.concatenate(ends_out),
        cols_out,
    )
    return Splice(pieces, after, decoded)


# --- sidecars -------------------------------------------------------------------------------------
def sidecar_path(folder: Path, path: Path) -> Path:
    digest = hashlib.sha1(str(target_of(path)).encode()).hexdigest()[:20]
    return folder / f"{digest}.json"


def load_sidecar(folder: Path | None, path: Path, fp: Fingerprint) -> KeyedIndex | None:
    if folder is None:
        return None
    try:
        raw = sidecar_path(folder, path).read_bytes()
        return KeyedIndex.from_json(_loads(raw), target_of(path), fp)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_sidecar(folder: Path | None, path: Path, index: KeyedIndex) -> None:
    """Keep the index for the next process (a cache: failures are ignored)."""
    if folder is None:
        return
    raw = index.to_json(target_of(path))
    data = orjson.dumps(raw) if orjson is not None else json.dumps(raw).encode()
    write_cache_file(sidecar_path(folder, path), data)


# --- reading through the cache --------------------------------------------------------------------
def read_keyed(
    cache: JsonCache,
    path: Path,
    check: Callable[[Path, Any], None] | None = None,
    columns: Sequence[str] = (),
) -> KeyedView | None:
    """The keyed file at ``path`` (None when missing): the version kept in memory, else the one
    a sidecar indexes, else parsed and checked whole (and indexed, when it is in the
    deterministic layout). The view is shared: do not mutate its entries."""
    before = fingerprint(path)
    if before is None:
        return None
    hit = cache.get(path, before)
    if isinstance(hit, KeyedView):
        return hit
    index = load_sidecar(cache.sidecars, path, before)
    if index is not None and all(name in index.columns for name in columns):
        view = KeyedView(path, index)
        cache.put(path, before, view)
        return view
    raw = read_bytes(path)
    if raw is None:
        return None
    value, ours = parse_layout(raw, path)
    if check is not None:
        check(path, value)
    after = fingerprint(path)
    index = index_of(raw, value, after, columns) if ours and after == before else None
    view = KeyedView(path, index, parsed=value, data=raw)
    view.read_as = before
    if after == before:  # not replaced while we read it
        cache.put(path, after, view)
        if index is not None:
            save_sidecar(cache.sidecars, path, index)
    return view


def remember_written(
    cache: JsonCache,
    path: Path,
    done: Splice | None,
    whole: Mapping[str, Any] | None = None,
    data: bytes | None = None,
    columns: Sequence[str] = (),
) -> None:
    """After a commit wrote ``path``: keep its new version (and its sidecar), so the next read
    needs neither a parse nor a check. ``done`` is the splice written, or None when the whole
    ``whole`` was written as ``data``."""
    fp = fingerprint(path)
    if fp is None:
        return
    if done is not None:
        view = KeyedView(path, done.written(fp))
        view._decoded = done.decoded
    else:
        assert whole is not None and data is not None
        view = KeyedView(path, index_of(data, whole, fp, columns), parsed=whole, data=data)
        view.read_as = fp
    cache.put(path, fp, view)
    if view.index is not None:
        save_sidecar(cache.sidecars, path, view.index)
