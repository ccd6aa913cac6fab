"""The workbench's thread workers: every slow call (index, overview, similarity, stores).

Each runs in a ``@work(thread=True)`` worker and posts a message of
:mod:`labeler_tui.app.messages` with its result; the workbench's handlers only update widgets.
Feature loads are ``exclusive`` so moving quickly cancels stale ones, and a result for a
feature that is no longer wanted is dropped. Writes (group ``write``) are never cancelled.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from textual import work
from textual.screen import Screen
from textual.worker import get_current_worker

from labeler_tui.app.backend import mentioned_subject
from labeler_tui.app.messages import (
    CoverageLoaded,
    DataReady,
    FeatureLoaded,
    OperationDone,
    OperationFailed,
    QueueLoaded,
    QueueSnapshot,
    SimilarLoaded,
)
from labeler_tui.app.queue_rows import build_rows
from labeler_tui.app.widgets.feature_detail import FeatureDetail
from labeler_tui.app.widgets.similar_sidebar import SimilarSidebar
from labeler_tui.core.errors import LabelerError

if TYPE_CHECKING:
    from labeler_tui.app.backend import Backend

SIMILAR_TOP_K = 12
OPENING_DATA = "Opening the data"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, LabelerError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class WorkbenchWorkers(Screen[None]):
    """The workers of :class:`~labeler_tui.app.screens.workbench.WorkbenchScreen` (its base)."""

    snapshot: QueueSnapshot | None
    current: int | None
    claimed: int | None
    error: str | None
    _subjects: list[tuple[str, str]] | None

    @property
    def backend(self) -> Backend:
        return self.app.backend  # type: ignore[attr-defined]

    def _opened_next(self, feature_id: int) -> None:
        raise NotImplementedError

    def _show_claim(self, feature_id: int, claimed: bool | None) -> None:
        raise NotImplementedError

    @work(thread=True, exclusive=True, group="data")
    def _open_data(self) -> None:
        backend = self.backend
        last = [0.0]

        def progress(stage: str, done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] < 0.2:
                return
            last[0] = now
            share = f" {100 * done / total:.0f}%" if total else ""
            self.app.call_from_thread(
                self.query_one(FeatureDetail).show_message,
                f"Opening model {backend.model}: {stage}{share}",
            )

        try:
            data = backend.open_data(progress)
            n = int(data.n_features)
            has_decoder = bool(data.has_decoder)
        except Exception as exc:  # shown to the user, never a traceback
            self.post_message(OperationFailed(OPENING_DATA, _error_text(exc)))
            return
        self.post_message(DataReady(backend.model, n, has_decoder))

    def _read_snapshot(self, backend: Backend) -> QueueSnapshot:
        """Queue, labels and the counts of the status line, each store read once. The pending
        rows are built here too, off the UI thread (24,576 of them take ~30 ms)."""
        service = backend.service
        signature = service.stores_signature()
        state = service.queue()
        labels = service.labels()
        status = {
            "model": backend.model,
            "labels": {"total": len(labels)},
            "queue": {
                "pending": len(state.entries),
                "completed": len(state.completed),
                "skipped": len(state.skipped),
            },
        }
        snapshot = QueueSnapshot(
            entries=state.entries,
            completed=state.completed,
            skipped=state.skipped,
            labels=labels,
            status=status,
            signature=signature,
            n_features=None,
        )
        snapshot.pending_rows = build_rows("pending", snapshot, backend.owner)
        return snapshot

    @work(thread=True, exclusive=True, group="queue")
    def _load_queue(self) -> None:
        backend = self.backend
        try:
            snapshot = self._read_snapshot(backend)
        except Exception as exc:
            self.post_message(OperationFailed("Reading the labels and queue", _error_text(exc)))
            return
        if backend is self.backend:
            self.post_message(QueueLoaded(snapshot))

    def _poll(self) -> None:
        self._poll_worker()

    @work(thread=True, exclusive=True, group="poll")
    def _poll_worker(self) -> None:
        """Reload when another process changed a store (cheap stat calls otherwise)."""
        backend = self.backend
        try:
            signature = backend.service.stores_signature()
        except Exception:
            return
        known = self.snapshot.signature if self.snapshot else None
        if signature == known and self.error is None:
            return
        try:
            snapshot = self._read_snapshot(backend)
        except Exception as exc:
            if self.snapshot is not None and self.error is None:
                self.post_message(OperationFailed("Reading the labels and queue", _error_text(exc)))
            return
        self.post_message(QueueLoaded(snapshot))

    @work(thread=True, exclusive=True, group="feature")
    def _load_feature(self, feature_id: int, claim: bool, similar_method: str | None) -> None:
        """Overview, similar features and the histogram plot of one feature, posted as ONE
        message so the screen is laid out and painted once per feature."""
        worker = get_current_worker()
        backend = self.backend
        try:
            overview = backend.overview(feature_id)
        except Exception as exc:
            if not worker.is_cancelled:
                self.post_message(
                    OperationFailed(f"Loading feature {feature_id}", _error_text(exc), feature_id)
                )
            return
        if worker.is_cancelled:
            return
        similar: tuple[str, list[tuple[int, float, str | None]]] | None = None
        similar_error = None
        # a method whose table is not built yet (minutes at full scale) must not hold back the
        # overview: the screen asks for it separately, with progress (_load_similar)
        if similar_method is not None and backend.similar_ready(similar_method):
            try:
                similar = (
                    similar_method,
                    backend.similar(feature_id, similar_method, SIMILAR_TOP_K),
                )
            except Exception as exc:
                similar_error = _error_text(exc)
        try:
            plot = self.query_one(FeatureDetail).prerender_histogram(overview)
        except Exception:  # the UI thread draws it then
            plot = None
        if worker.is_cancelled:
            return
        self.post_message(
            FeatureLoaded(
                feature_id,
                overview,
                None,
                claim_pending=claim,
                histogram=plot,
                similar=similar,
                similar_error=similar_error,
            )
        )
        if claim:  # the lease is written after the detail is on its way to the screen
            claimed = self._claim_in_thread(backend, feature_id)
            self.app.call_from_thread(self._show_claim, feature_id, claimed)
        elif self.claimed is not None and self.claimed != feature_id:
            self._release_in_thread(backend)  # we left the feature we held

    def _release_in_thread(self, backend: Backend) -> None:
        held = self.claimed
        if held is None:
            return
        with contextlib.suppress(LabelerError):  # else the lease simply expires
            backend.service.release(held)
        if self.claimed == held:
            self.claimed = None

    def _claim_in_thread(self, backend: Backend, feature_id: int) -> bool | None:
        """Release our previous lease and lease this feature (only if it is pending)."""
        previous = self.claimed
        try:
            if previous is not None and previous != feature_id:
                backend.service.release(previous)
                self.claimed = None
            if not self._is_pending(feature_id):
                return None
            ok = backend.service.claim(feature_id)
        except LabelerError:
            return None
        if ok:
            self.claimed = feature_id
        return ok

    def _is_pending(self, feature_id: int) -> bool:
        snapshot = self.snapshot
        return snapshot is not None and any(e.feature_id == feature_id for e in snapshot.entries)

    @work(thread=True, exclusive=True, group="claim")
    def _claim_worker(self, feature_id: int) -> None:
        if self.current != feature_id:
            return
        claimed = self._claim_in_thread(self.backend, feature_id)
        self.app.call_from_thread(self._show_claim, feature_id, claimed)

    @work(thread=True, exclusive=True, group="similar")
    def _load_similar(self, feature_id: int, method: str) -> None:
        worker = get_current_worker()
        sidebar = self.query_one(SimilarSidebar)
        shown = [-1]

        def progress(_stage: str, done: int, total: int) -> None:
            percent = 100 * done // max(total, 1)
            if percent != shown[0] and not worker.is_cancelled:
                shown[0] = percent
                self.app.call_from_thread(sidebar.show_progress, f"building {percent}%")

        try:
            rows = self.backend.similar(feature_id, method, SIMILAR_TOP_K, progress)
        except Exception as exc:
            if not worker.is_cancelled:
                self.app.call_from_thread(
                    self.query_one(SimilarSidebar).show_error, _error_text(exc)
                )
            return
        if not worker.is_cancelled:
            self.post_message(SimilarLoaded(feature_id, method, rows))

    @work(thread=True, exclusive=True, group="coverage")
    def _load_coverage(self, feature_id: int, name: str) -> None:
        backend = self.backend
        try:
            if self._subjects is None:
                self._subjects = backend.coverage_subjects()
            subject = mentioned_subject(name, self._subjects)
            coverage = backend.coverage(feature_id, subject) if subject else None
        except Exception:
            subject, coverage = None, None
        if not get_current_worker().is_cancelled:
            self.post_message(CoverageLoaded(feature_id, subject or "", coverage))

    @work(thread=True, group="write")
    def _write(self, what: str, call: Callable[[], str | None], next_feature: bool = False) -> None:
        """Run one store change; its message is said, then everything reloads."""
        try:
            self.backend.data  # noqa: B018 - the service validates ids against the data
            text = call()
        except Exception as exc:
            self.post_message(OperationFailed(what, _error_text(exc)))
            return
        self.post_message(OperationDone(text or f"{what}: done", next_feature))

    @work(thread=True, exclusive=True, group="next")
    def _take_next_from_service(self) -> None:
        """No pending feature known here: ask the service (it builds an empty queue)."""
        backend = self.backend
        try:
            backend.data  # noqa: B018
            if self.claimed is not None:
                backend.service.release(self.claimed)
                self.claimed = None
            entry = backend.service.next(claim=True)
        except Exception as exc:
            self.post_message(OperationFailed("Next", _error_text(exc)))
            return
        if entry is None or entry.feature_id == self.current:
            self.post_message(OperationDone("The queue is empty: press b to build it."))
            return
        self.claimed = entry.feature_id
        self.app.call_from_thread(self._opened_next, entry.feature_id)

    def next_candidate(self) -> int | None:
        """The top pending feature other than the one on screen that nobody else holds."""
        if self.snapshot is None:
            return None
        now = datetime.now(UTC)
        owner = self.backend.owner
        for entry in self.snapshot.entries:
            if entry.feature_id != self.current and not entry.held_by_other(owner, now):
                return entry.feature_id
        return None
