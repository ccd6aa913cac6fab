"""The history log: ``labels/history_{model}.jsonl``, append-only, one event a line.

Event: ``{"id", "ts", "action", "feature_id", "source", "owner", "before", "after"}`` plus, when
relevant, ``"batch"`` (events written by one call share it), ``"undoes"`` (the id of the event an
undo reverts) and the before/after of the other stores the change touched (``queue_before`` /
``queue_after``, ``dashboard_before`` / ``dashboard_after``, ``research_before`` /
``research_after``). Nothing is ever removed from the log.

Appends are fsynced. A final line cut short by a crash is ignored when reading and trimmed before
the next append; any other unreadable line is a StoreError naming the line.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Any

from labeler_tui.core.errors import StoreError
from labeler_tui.core.stores.jsonfile import dumps_line, parse

ACTIONS = ("label", "clear", "skip", "add", "claim", "release", "sync", "undo")
UNDOABLE = frozenset({"label", "clear", "skip", "add", "sync"})
"""Claims and releases are leases, not changes of content: undo walks past them."""


def new_id() -> str:
    return uuid.uuid4().hex[:16]


class HistoryLog:
    """Reads (incrementally, it only grows) and appends the history file of one model."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._inode: int | None = None
        self._offset = 0  # bytes parsed so far (always just after a newline)
        self._lines = 0
        self._events: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        """Every complete event, oldest first (shared list: do not mutate)."""
        with self._lock:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                self._reset(None)
                return []
            if st.st_ino != self._inode or st.st_size < self._offset:
                self._reset(st.st_ino)
            if st.st_size > self._offset:
                with open(self.path, "rb") as handle:
                    handle.seek(self._offset)
                    chunk = handle.read()
                end = chunk.rfind(b"\n") + 1  # a torn last line (no newline yet) waits
                for raw in chunk[:end].split(b"\n")[:-1]:
                    self._lines += 1
                    if not raw.strip():
                        continue
                    event = parse(raw, self.path, line_offset=self._lines - 1)
                    if not isinstance(event, dict):
                        raise StoreError(
                            f"{self.path}: line {self._lines}: expected a JSON object; "
                            "the file was left unchanged"
                        )
                    self._events.append(event)
                self._offset += end
            return self._events

    def _reset(self, inode: int | None) -> None:
        self._inode = inode
        self._offset = 0
        self._lines = 0
        self._events = []

    def append(self, events: list[dict[str, Any]]) -> None:
        """Append events durably (caller holds the workspace lock)."""
        if not events:
            return
        data = b"".join(dumps_line(event) for event in events)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write: {exc.strerror}") from None
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                self._trim_torn_tail(fd, size)
            os.write(fd, data)
            os.fsync(fd)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write: {exc.strerror}") from None
        finally:
            os.close(fd)

    def _trim_torn_tail(self, fd: int, size: int) -> None:
        """Cut a final line a crash left without its newline (it never completed)."""
        start = max(0, size - (1 << 20))
        tail = os.pread(fd, size - start, start)
        keep = start + tail.rfind(b"\n") + 1 if b"\n" in tail else start
        os.ftruncate(fd, keep)
