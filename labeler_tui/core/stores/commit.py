"""Crash-consistent changes: the files of one change and its history events commit as a unit.

One change (say a label: the consolidated store, the dashboard file, the queue, research states
and the history events) is committed under the workspace lock in these steps (docs/formats.md,
"Store rules"):

1. **check**: each target (for a symlinked store, the file it points to) and its folder must be
   writable, the history file and the journal's folder too; a read-only one is refused before
   anything is written.
2. **plan**: ``.labeler.journal`` beside the lock is created (``O_EXCL``) in state ``stage``,
   listing each target with the names of its temp file and backup, and the history file with its
   size before the change.
3. **stage**: each new content is written to its temp file beside its target and fsynced; the
   current file gets its backup name too (a hard link; a copy where links are impossible). A
   failure here (disk full, I/O error) removes the temps and backups: nothing changed.
4. **intent**: the journal's state becomes ``apply`` (fsynced): from here on a crash is rolled
   back.
5. **apply**: the events are appended to the history (fsynced), each temp is renamed over its
   target, the folders are fsynced.
6. **commit mark**: the journal's state becomes ``done`` (fsynced); the backups and the journal
   are removed.

A failure in step 5 rolls back at once. A writer killed before the commit mark leaves the
journal; the next lock holder (every writer, and a reader that finds a journal) finishes it: in
state ``stage`` the temps and backups are removed; in state ``apply`` the change is rolled back
(the history is cut to its size before, each replaced target gets its backup back, a target that
did not exist is removed); in state ``done`` the backups are removed. After any crash the stores
show the whole change with its events, or none of it.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labeler_tui.core.errors import StoreError
from labeler_tui.core.stores.jsonfile import fsync_dir, target_of

JOURNAL_NAME = ".labeler.journal"
_JOURNAL_VERSION = 1
_LINK_FAILURES = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}

_step: Callable[[str], None] = lambda name: None  # noqa: E731
"""Called after each step (tests simulate a kill there); does nothing in use."""


@dataclass(frozen=True)
class FileSpan:
    """``length`` bytes at ``offset`` of the open file ``fd`` (copied in the kernel)."""

    fd: int
    offset: int
    length: int


Piece = bytes | memoryview | FileSpan


@dataclass(frozen=True)
class FileWrite:
    """A store file's new content; ``path`` as configured (a symlink is written through)."""

    path: Path
    data: bytes | tuple[Piece, ...]
    """The content, or its pieces in order (a keyed store's unchanged spans and new entries)."""


@dataclass(frozen=True)
class _Staged:
    target: Path
    temp: Path
    backup: Path | None
    """The old file's second name; None when the target did not exist."""


@dataclass(frozen=True)
class _History:
    path: Path
    size: int
    existed: bool


def _named(shown: Path, target: Path) -> str:
    return str(shown) if shown == target else f"{shown} (-> {target})"


def _read_only(path: Path) -> bool:
    """Not writable for this process, or with no write bit at all (root ignores the bits, but a
    store someone made 0444 is still meant to stay as it is)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not os.access(path, os.W_OK) or not mode & 0o222


def _existing_folder(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_folder(folder: Path) -> None:
    """StoreError when files cannot be created in ``folder`` (or the ancestor that will hold
    it)."""
    existing = _existing_folder(folder)
    if not existing.is_dir():
        raise StoreError(f"{existing}: not a folder; nothing was written")
    if _read_only(existing):
        raise StoreError(
            f"{existing}: read-only folder; nothing was written (make it writable to save changes)"
        )


def check_target(path: Path, *, append: bool = False) -> Path:
    """The file ``path`` stands for, after checking it can be replaced (or, with ``append``,
    appended to): a read-only file or folder is a StoreError and nothing is written."""
    target = target_of(path)
    if target.exists():
        if not target.is_file():
            raise StoreError(f"{_named(path, target)}: not a regular file; nothing was written")
        if _read_only(target):
            raise StoreError(
                f"{_named(path, target)}: read-only file; nothing was written (make it writable "
                "to save changes)"
            )
        if append:
            return target
    check_folder(target.parent)
    return target


# --- staging ------------------------------------------------------------------------------------
def remove_stale(target: Path) -> None:
    """Temps and backups a killed writer left beside ``target`` (call under the lock, with no
    journal: none of them is in use)."""
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*"):
        if stale.name.endswith((".tmp", ".bak")):
            with contextlib.suppress(OSError):
                stale.unlink()


@contextlib.contextmanager
def _about(path: Path) -> Iterator[None]:
    """An OSError without a file name (a write, an fsync) gets ``path``, for the message."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise


def _write_fd(fd: int, data: bytes | tuple[Piece, ...]) -> None:
    for piece in (data,) if isinstance(data, bytes) else data:
        if isinstance(piece, FileSpan):
            _copy_span(piece, fd)
            continue
        view = memoryview(piece)
        while view:
            written = os.write(fd, view)
            view = view[written:]


def _copy_span(span: FileSpan, fd: int) -> None:
    """Append a span of another file: copy_file_range (in the kernel, no copy through this
    process), else read and write."""
    offset, left = span.offset, span.length
    while left:
        try:
            done = os.copy_file_range(span.fd, fd, left, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            done = 0
        if done <= 0:  # not supported here (or the source ended): the plain way
            chunk = os.pread(span.fd, min(left, 1 << 24), offset)
            if not chunk:
                raise OSError(errno.EIO, "the file being copied ended early")
            done = os.write(fd, chunk)
        offset += done
        left -= done


def _stage_all(writes: list[FileWrite], staged: list[_Staged]) -> None:
    """Stage every file; several at once on threads (writes and fsyncs of a large label store
    and dashboard file overlap), each finished before the first error is raised."""
    if len(writes) < 2:
        for write, s in zip(writes, staged, strict=True):
            _stage(s, write.data)
        return
    with ThreadPoolExecutor(max_workers=len(writes)) as pool:
        futures = [pool.submit(_stage, s, w.data) for w, s in zip(writes, staged, strict=True)]
    for future in futures:
        future.result()


def _plan(target: Path, txid: str) -> _Staged:
    base = target.parent / f".{target.name}.{txid}"
    backup = Path(f"{base}.bak") if target.exists() else None
    return _Staged(target, Path(f"{base}.tmp"), backup)


def _stage(staged: _Staged, data: bytes | tuple[Piece, ...]) -> None:
    """Write the temp file (fsynced, with the target's mode) and the backup name."""
    with _about(staged.target):
        _stage_temp(staged, data)
        if staged.backup is not None:
            _stage_backup(staged.target, staged.backup)


def _stage_temp(staged: _Staged, data: bytes | tuple[Piece, ...]) -> None:
    fd = os.open(staged.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        _write_fd(fd, data)
        try:
            st = os.stat(staged.target)
        except FileNotFoundError:
            pass
        else:
            os.fchmod(fd, st.st_mode & 0o7777)
            if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
                with contextlib.suppress(OSError):
                    os.fchown(fd, st.st_uid, st.st_gid)
        os.fsync(fd)
    finally:
        os.close(fd)


def _stage_backup(target: Path, backup: Path) -> None:
    """The current file under a second name: a hard link, a copy where links are impossible."""
    try:
        os.link(target, backup)
    except OSError as exc:
        if exc.errno not in _LINK_FAILURES:
            raise
        shutil.copy2(target, backup)
        with open(backup, "rb+") as handle:
            os.fsync(handle.fileno())


def _history_size(path: Path) -> _History:
    """The history file's size before the change, a torn final line (a crash during an append)
    cut first."""
    from labeler_tui.core.stores.history import complete_end

    target = target_of(path)
    try:
        fd = os.open(target, os.O_RDWR)
    except FileNotFoundError:
        return _History(target, 0, False)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            with os.fdopen(os.dup(fd), "rb") as handle:
                size = complete_end(handle, size)
            os.ftruncate(fd, size)
    finally:
        os.close(fd)
    return _History(target, size, True)


def _append(history: _History, lines: bytes) -> None:
    history.path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(history.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        with _about(history.path):
            _write_fd(fd, lines)
            os.fsync(fd)
    finally:
        os.close(fd)


# --- the journal --------------------------------------------------------------------------------
_STATES = ("stage", "apply", "done")
"""The journal's first line, padded to one width so it is rewritten in place."""


def _state_line(state: str) -> bytes:
    return f"{state:<6}\n".encode()


class _Journal:
    """The journal file of one commit, kept open to move its state in place."""

    def __init__(self, path: Path, staged: list[_Staged], history: _History | None) -> None:
        doc: dict[str, Any] = {
            "version": _JOURNAL_VERSION,
            "files": [
                {
                    "target": str(s.target),
                    "temp": str(s.temp),
                    "backup": None if s.backup is None else str(s.backup),
                }
                for s in staged
            ],
            "history": None
            if history is None
            else {"path": str(history.path), "size": history.size, "existed": history.existed},
        }
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            body = json.dumps(doc, indent=1).encode("utf-8", "surrogateescape")
            with _about(path):
                _write_fd(self.fd, _state_line("stage") + body + b"\n")
        except BaseException:
            self.remove()
            raise

    def mark(self, state: str) -> None:
        """Move to ``state``, durably."""
        with _about(self.path):
            os.pwrite(self.fd, _state_line(state), 0)
            os.fdatasync(self.fd)
        if state == "apply":
            fsync_dir(self.path.parent)  # the journal itself must survive a crash from now on

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def _parse_journal(raw: bytes) -> tuple[str, list[_Staged], _History | None]:
    state = raw[:7].decode("ascii", "replace").strip()
    doc = json.loads(raw[7:].decode("utf-8", "surrogateescape"))
    staged = [
        _Staged(
            Path(f["target"]),
            Path(f["temp"]),
            None if f["backup"] is None else Path(f["backup"]),
        )
        for f in doc["files"]
    ]
    h = doc.get("history")
    history = None if h is None else _History(Path(h["path"]), int(h["size"]), bool(h["existed"]))
    return state, staged, history


# --- finishing ----------------------------------------------------------------------------------
def _rollback(staged: Iterable[_Staged], history: _History | None) -> None:
    """Put every file back as it was before the change; safe to run twice."""
    folders: set[Path] = set()
    if history is not None:
        if history.existed:
            with contextlib.suppress(FileNotFoundError):
                if os.stat(history.path).st_size > history.size:
                    os.truncate(history.path, history.size)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(history.path)
        folders.add(history.path.parent)
    for s in reversed(list(staged)):
        if os.path.lexists(s.temp):  # never renamed: the target is untouched
            os.unlink(s.temp)
            if s.backup is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(s.backup)
        elif s.backup is None:  # the change created the target
            with contextlib.suppress(FileNotFoundError):
                os.unlink(s.target)
        elif os.path.lexists(s.backup):
            os.replace(s.backup, s.target)
        # else: restored already by an earlier rollback
        folders.add(s.target.parent)
    for folder in folders:
        fsync_dir(folder)


def _discard(staged: Iterable[_Staged]) -> None:
    """Remove the temps and backups of a change (never applied, or committed)."""
    for s in staged:
        for path in (s.temp, s.backup):
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)


def recover(journal: Path) -> bool:
    """Finish the change a killed writer left (call under the workspace lock): roll it back,
    or just tidy up when it was never applied or had committed; True when there was one."""
    try:
        raw = journal.read_bytes()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StoreError(f"{journal}: cannot read the journal: {exc.strerror}") from None
    try:
        state, staged, history = _parse_journal(raw)
    except (ValueError, KeyError, TypeError):
        state, staged, history = "stage", [], None  # cut short while planning: nothing staged
    try:
        if state == "apply":
            _rollback(staged, history)
        else:
            _discard(staged)
        os.unlink(journal)
        fsync_dir(journal.parent)
    except OSError as exc:
        raise StoreError(
            f"{journal}: an interrupted change could not be rolled back ({exc.strerror}: "
            f"{exc.filename}); the next command tries again"
        ) from None
    return True


# --- committing ---------------------------------------------------------------------------------
def _os_error(exc: OSError, what: Path | str) -> StoreError:
    where = exc.filename or what
    return StoreError(f"{where}: cannot write: {exc.strerror}; nothing was changed")


def commit(
    journal: Path,
    writes: list[FileWrite],
    history: Path | None = None,
    lines: bytes = b"",
) -> None:
    """Replace every file of ``writes`` and append ``lines`` to ``history``, all or nothing
    (the caller holds the workspace lock and has called :func:`recover`)."""
    if not writes and not lines:
        return
    targets = [check_target(w.path) for w in writes]
    if len(set(targets)) < len(targets):
        shown = ", ".join(
            str(w.path) for w, t in zip(writes, targets, strict=True) if targets.count(t) > 1
        )
        raise StoreError(f"{shown}: the same file under two store names; nothing was written")
    if lines and history is not None:
        check_target(history, append=True)
    check_folder(journal.parent)

    txid = uuid.uuid4().hex[:12]
    staged = [_plan(target, txid) for target in targets]
    log: _Journal | None = None
    history_state: _History | None = None
    try:
        for s in staged:
            s.target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale(s.target)
        if lines and history is not None:
            history_state = _history_size(history)
        log = _Journal(journal, staged, history_state)
        _stage_all(writes, staged)
        _step("staged")
        log.mark("apply")
    except (Exception, KeyboardInterrupt) as exc:
        _discard(staged)
        if log is not None:
            log.remove()
        if isinstance(exc, OSError):
            raise _os_error(exc, journal) from None
        raise
    _step("journal")
    try:
        if history_state is not None:
            _append(history_state, lines)
            _step("history")
        for i, s in enumerate(staged):
            os.replace(s.temp, s.target)
            _step(f"renamed {i}")
        for folder in {s.target.parent for s in staged}:
            fsync_dir(folder)
        _step("applied")
        log.mark("done")  # the commit mark
    except (Exception, KeyboardInterrupt) as exc:
        try:
            _rollback(staged, history_state)
            log.remove()
            fsync_dir(journal.parent)
        except OSError:
            pass  # the journal stays: the next lock holder rolls back
        if isinstance(exc, OSError):
            raise _os_error(exc, journal) from None
        raise
    _step("committed")
    _discard(staged)
    log.remove()
