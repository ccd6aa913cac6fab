"""The history log: ``labels/history_{model}.jsonl``, append-only, one event a line.

Event: ``{"id", "ts", "action", "feature_id", "source", "owner", "before", "after"}`` plus, when
relevant, ``"batch"`` (events written by one call share it), ``"undoes"`` (the id of the event an
undo reverts) and the before/after of the other stores the change touched (``queue_before`` /
``queue_after``, ``dashboard_before`` / ``dashboard_after``, ``research_before`` /
``research_after``). Nothing is ever removed from the log.

The log grows without bound (full records before and after each change), so nothing keeps it in
memory: undo and ``history --limit`` read it backwards from the end and stop early, and a
per-feature query parses only the lines that mention the feature. Events are appended by the
commit of their change (:mod:`labeler_tui.core.stores.commit`), fsynced. A final line cut short
by a crash is ignored when reading and trimmed before the next append; any other unreadable line
is a StoreError naming its line number.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from labeler_tui.core.errors import StoreError
from labeler_tui.core.stores.jsonfile import parse

ACTIONS = ("label", "clear", "skip", "add", "complete", "claim", "release", "sync", "undo")
QUEUE_ACTIONS = frozenset({"add", "skip", "complete"})
"""Changes of the queue alone: their before/after is the feature's queue state."""
UNDOABLE = frozenset({"label", "clear", "sync"}) | QUEUE_ACTIONS
"""Claims and releases are leases, not changes of content: undo walks past them."""

_BLOCK = 1 << 16


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def complete_end(handle: BinaryIO, size: int) -> int:
    """Offset just after the last newline (a torn final line lies beyond it)."""
    pos = size
    while pos > 0:
        start = max(0, pos - _BLOCK)
        handle.seek(start)
        chunk = handle.read(pos - start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        pos = start
    return 0


class HistoryLog:
    """Reads and appends the history file of one model."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _open(self) -> BinaryIO | None:
        try:
            return open(self.path, "rb")  # noqa: SIM115 - closed by the callers' with
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc.strerror}") from None

    def _event(self, raw: bytes, line: int) -> dict[str, Any]:
        event = parse(raw, self.path, line_offset=line - 1)
        if not isinstance(event, dict):
            raise StoreError(
                f"{self.path}: line {line}: expected a JSON object; the file was left unchanged"
            )
        return event

    def read(self) -> list[dict[str, Any]]:
        """Every complete event, oldest first."""
        handle = self._open()
        if handle is None:
            return []
        with handle:
            data = handle.read()
        end = data.rfind(b"\n") + 1
        events = []
        for number, raw in enumerate(data[:end].split(b"\n")[:-1], start=1):
            if raw.strip():
                events.append(self._event(raw, number))
        return events

    def reverse(self, contains: bytes | None = None) -> Iterator[dict[str, Any]]:
        """Events newest first, read backwards block by block; with ``contains``, only lines
        holding those bytes are parsed (a cheap pre-filter; callers still check the event)."""
        handle = self._open()
        if handle is None:
            return
        with handle:
            pos = complete_end(handle, handle.seek(0, os.SEEK_END))
            carry = b""
            while pos > 0:
                start = max(0, pos - _BLOCK)
                handle.seek(start)
                parts = (handle.read(pos - start) + carry).split(b"\n")
                pos = start
                carry = parts[0]
                for raw in reversed(parts[1:]):
                    if raw.strip() and (contains is None or contains in raw):
                        yield self._parse_reverse(raw)
            if carry.strip() and (contains is None or contains in carry):
                yield self._parse_reverse(carry)

    def _parse_reverse(self, raw: bytes) -> dict[str, Any]:
        try:
            event = parse(raw, self.path)
        except StoreError:
            event = None
        if isinstance(event, dict):
            return event
        self.read()  # reading forwards raises the error with its line number
        raise StoreError(f"{self.path}: an unreadable event; the file was left unchanged")

    def for_feature(self, feature_id: int, limit: int | None = None) -> list[dict[str, Any]]:
        """The feature's events, oldest first (the newest ``limit``)."""
        found: list[dict[str, Any]] = []
        if limit == 0:
            return found
        needle = f'"feature_id":{feature_id}'.encode()
        for event in self.reverse(contains=needle):
            if event.get("feature_id") == feature_id:
                found.append(event)
                if limit is not None and len(found) >= limit:
                    break
        return found[::-1]

    def undo_targets(self, owner: str | None = None) -> list[dict[str, Any]]:
        """The events the next undo reverts, newest first: the newest undoable event not undone
        yet (made by ``owner``, when given), with the rest of its batch (events written by one
        call are undone together). Claims, releases and undo events are passed over."""
        undone: set[str] = set()
        targets: list[dict[str, Any]] = []
        for event in self.reverse():
            if event.get("action") == "undo":
                undone.add(str(event.get("undoes")))
                continue
            wanted = (
                event.get("action") in UNDOABLE
                and event.get("id") not in undone
                and (owner is None or event.get("owner") == owner)
            )
            if targets:  # collecting the rest of the target's batch
                if event.get("batch") != targets[0]["batch"]:
                    break
                if wanted:
                    targets.append(event)
            elif wanted:
                targets.append(event)
                if not event.get("batch"):
                    break
        return targets

    def recent_decisions(self, owner: str, limit: int = 10) -> list[dict[str, Any]]:
        """``owner``'s newest label and skip events not undone, newest first, one per feature
        (its newest): the app's recent-decisions list. Reads back from the end only as far
        as it needs."""
        undone: set[str] = set()
        seen: set[Any] = set()
        found: list[dict[str, Any]] = []
        for event in self.reverse():
            if event.get("action") == "undo":
                undone.add(str(event.get("undoes")))
                continue
            if (
                event.get("action") in ("label", "skip")
                and event.get("owner") == owner
                and event.get("id") not in undone
                and event.get("feature_id") not in seen
            ):
                seen.add(event.get("feature_id"))
                found.append(event)
                if len(found) >= limit:
                    break
        return found

    def tail(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` events, oldest first."""
        found: list[dict[str, Any]] = []
        if limit <= 0:
            return found
        for event in self.reverse():
            found.append(event)
            if len(found) >= limit:
                break
        return found[::-1]
