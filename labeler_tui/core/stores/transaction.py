"""One change to the stores of a model: read under the workspace lock, staged, committed.

A :class:`Transaction` reads each store on first use (the caller holds the lock, and has rolled
back any change a killed writer left: :func:`~labeler_tui.core.stores.commit.recover`), collects
the changes and history events in memory, and writes only in :meth:`Transaction.commit`, after
every read and check has passed: the changed files and the events are committed as one unit by
:func:`~labeler_tui.core.stores.commit.commit`. See docs/formats.md, "Store rules".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from labeler_tui.core.errors import StoreError
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.stores.checks import check_record
from labeler_tui.core.stores.commit import FileWrite, commit
from labeler_tui.core.stores.dashboard import read_dashboard
from labeler_tui.core.stores.history import HistoryLog, new_id
from labeler_tui.core.stores.jsonfile import JsonCache, dumps, dumps_line
from labeler_tui.core.stores.keyed import (
    Changes,
    Splice,
    check_unchanged,
    remember_written,
    splice,
)
from labeler_tui.core.stores.labels import TALLIED, LabelStore
from labeler_tui.core.stores.queue import QueueDoc
from labeler_tui.core.timestamps import iso


@dataclass(frozen=True)
class StorePaths:
    """The store files of one model (see :class:`~labeler_tui.core.workspace.Workspace`)."""

    model: str
    labels: Path
    queue: Path
    history: Path
    dashboard: Path
    journal: Path
    """The commit journal (beside the workspace lock)."""


def read_queue(cache: JsonCache, model: str, path: Path) -> QueueDoc:
    raw = cache.read(path)
    if raw is not None and not isinstance(raw, dict):
        raise StoreError(f'{path}: expected a JSON object with "entries"; left unchanged')
    return QueueDoc(model, path, raw)


class Transaction:
    """Stores read on first use, changed in memory, written by :meth:`commit`."""

    def __init__(
        self,
        paths: StorePaths,
        cache: JsonCache,
        labels: LabelStore,
        history: HistoryLog,
        now: datetime,
        source: str,
        owner: str,
    ) -> None:
        self.paths = paths
        self.cache = cache
        self._label_store = labels
        self._history = history
        self.now = now
        self.ts = iso(now)
        self.source = source
        self.owner = owner
        self._labels: Changes | None = None
        self._dashboard: Changes | None = None
        self._queue: QueueDoc | None = None
        self.research: dict[Path, dict[str, Any]] = {}
        self.dirty: set[str] = set()
        self.events: list[dict[str, Any]] = []

    # --- reads -----------------------------------------------------------------------------------
    @property
    def raw_labels(self) -> Changes:
        """The label store's JSON as this change changes it (records are replaced, never
        mutated)."""
        if self._labels is None:
            self._labels = Changes(self._label_store.read_raw())
        return self._labels

    def label(self, feature_id: int) -> LabelRecord | None:
        key = str(feature_id)
        raw = self.raw_labels.get(key)
        return None if raw is None else check_record(self.paths.labels, key, raw)

    def labeled_ids(self) -> set[int]:
        return {int(key) for key in self.raw_labels}

    @property
    def dashboard(self) -> Changes:
        if self._dashboard is None:
            self._dashboard = Changes(read_dashboard(self.cache, self.paths.dashboard))
        return self._dashboard

    @property
    def queue(self) -> QueueDoc:
        if self._queue is None:
            self._queue = read_queue(self.cache, self.paths.model, self.paths.queue)
        return self._queue

    # --- changes ---------------------------------------------------------------------------------
    def put_label(self, feature_id: int, record: LabelRecord | None) -> None:
        self.restore_label(feature_id, None if record is None else record.to_json())

    def restore_label(self, feature_id: int, raw: Mapping[str, Any] | None) -> None:
        """Put a record back exactly as it was stored (undo); it is checked first."""
        key = str(feature_id)
        if raw is None:
            self.raw_labels.pop(key, None)
        else:
            check_record(self.paths.history, key, raw)  # a bad record never reaches the store
            self.raw_labels[key] = dict(raw)
        self.dirty.add("labels")

    def put_dashboard(self, feature_id: int, entry: dict[str, Any] | None) -> None:
        key = str(feature_id)
        if entry is None:
            self.dashboard.pop(key, None)
        else:
            self.dashboard[key] = entry
        self.dirty.add("dashboard")

    def touch_queue(self) -> None:
        self.dirty.add("queue")

    def event(self, action: str, feature_id: int, before: Any, after: Any, **extra: Any) -> None:
        """Record a history event (written by :meth:`commit`)."""
        event = {
            "id": new_id(),
            "ts": self.ts,
            "action": action,
            "feature_id": feature_id,
            "source": extra.pop("source", None) or self.source,
            "owner": extra.pop("owner", None) or self.owner,
            "before": before,
            "after": after,
        }
        event.update(extra)
        self.events.append(event)

    def commit(self) -> None:
        """Write every changed store and append the events, as one unit (all or nothing).
        The label store and the dashboard file are written as their unchanged spans around the
        changed entries when they are indexed (``core/stores/keyed``), whole otherwise."""
        keyed: list[tuple[Path, Changes, tuple[str, ...]]] = []
        if "labels" in self.dirty:
            keyed.append((self.paths.labels, self.raw_labels, TALLIED))
        if "dashboard" in self.dirty:
            keyed.append((self.paths.dashboard, self.dashboard, ()))
        values: list[tuple[Path, Any]] = list(self.research.items())
        if "queue" in self.dirty:
            values.append((self.paths.queue, self.queue.to_raw(self.now)))
        if len(self.events) > 1:
            batch = new_id()
            for event in self.events:
                event["batch"] = batch
        lines = b"".join(dumps_line(event) for event in self.events)
        writes: list[FileWrite] = []
        spliced: list[tuple[Path, Splice | None, Any, bytes | None, tuple[str, ...]]] = []
        for path, changes, columns in keyed:
            check_unchanged(changes)
            done = splice(changes, columns)
            if done is not None:
                writes.append(FileWrite(path, tuple(done.pieces)))
                spliced.append((path, done, None, None, columns))
            else:
                whole = changes.whole()
                text = dumps(whole)
                writes.append(FileWrite(path, text))
                spliced.append((path, None, whole, text, columns))
        writes.extend(FileWrite(path, dumps(value)) for path, value in values)
        commit(self.paths.journal, writes, self._history.path, lines)
        for path, done, whole, data, columns in spliced:
            remember_written(self.cache, path, done, whole, data, columns)
        for path, value in values:
            self.cache.remember(path, value)
