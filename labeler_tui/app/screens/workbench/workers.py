"""The workbench's jobs: every slow call (index, overview, similarity, stores, claims).

Each is a plain function run in a thread worker (see :mod:`labeler_tui.app.jobs`): it gets
what it needs as arguments and returns the message the screen handles; it never reads or sets
an attribute of the screen and never touches a widget. ``post`` (the screen's thread-safe
``post_message``) carries progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.message import Message

from labeler_tui.app.backend import Backend, Stores
from labeler_tui.app.screens.workbench.messages import (
    ClaimChanged,
    CoverageLoaded,
    DataProgress,
    DataReady,
    FeatureLoaded,
    LintLoaded,
    NeighboursRefreshed,
    NextTaken,
    OperationDone,
    QueueLoaded,
    QueueSnapshot,
    RecentLoaded,
    SimilarLoaded,
    TableProgress,
    TableReady,
)
from labeler_tui.app.screens.workbench.queue_rows import build_rows
from labeler_tui.app.widgets.histogram import Canvas, plot_bins, render_histogram
from labeler_tui.core.errors import LabelerError
from labeler_tui.core.lease import Lease
from labeler_tui.core.records import LabelEdit

SIMILAR_TOP_K = 12
RECENT_DECISIONS = 10
PROGRESS_EVERY = 0.2
"""Seconds between two progress messages of the same job."""

Post = Callable[[Message], object]


def open_data(backend: Backend, post: Post) -> DataReady:
    """Open the model's data (building its index on first use, with progress)."""
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            share = f" {100 * done / total:.0f}%" if total else ""
            post(DataProgress(backend.model, f"Opening model {backend.model}: {stage}{share}"))

    data = backend.open_data(progress)
    return DataReady(backend.model, int(data.n_features), backend.similar_methods())


def read_snapshot(backend: Backend) -> QueueSnapshot:
    """Queue, labels and the status line's counts, each store read once; the pending rows are
    built here too (24,576 of them take ~30 ms)."""
    service = backend.service
    signature = service.stores_signature()
    queue = service.queue()
    labels = service.labels()
    status = {
        "model": backend.model,
        "labels": {"total": len(labels)},
        "queue": {
            "pending": len(queue.entries),
            "completed": len(queue.completed),
            "skipped": len(queue.skipped),
        },
    }
    snapshot = QueueSnapshot(queue, labels, status, signature)
    snapshot.pending_rows = build_rows("pending", snapshot, backend.owner)
    return snapshot


def load_queue(backend: Backend) -> QueueLoaded:
    return QueueLoaded(read_snapshot(backend))


def poll(backend: Backend, known: tuple[object, ...] | None) -> QueueLoaded | None:
    """A new snapshot when another process changed a store (cheap stat calls otherwise)."""
    if backend.service.stores_signature() == known:
        return None
    return QueueLoaded(read_snapshot(backend))


def load_feature(
    backend: Backend,
    feature_id: int,
    method: str | None,
    canvas: Canvas | None,
    stores: Stores | None = None,
) -> FeatureLoaded:
    """Overview, label, the histogram plot for ``canvas`` and, when ``method`` answers at once,
    the similar features: one message, so the screen lays out and paints once per feature.
    A method whose table is still to be built never holds the overview back."""
    overview, record = backend.overview(feature_id)
    similar = None
    if method is not None and backend.similar_ready(method):
        similar = (method, backend.similar(feature_id, method, SIMILAR_TOP_K, stores))
    plot = None
    if canvas is not None and (overview.get("histogram") or {}).get("counts"):
        edges, counts = backend.histogram(feature_id, plot_bins(canvas))
        plot = (edges, counts, render_histogram(edges, counts, canvas))
    try:
        suggestions = backend.suggestions(feature_id)
    except LabelerError:  # a broken suggestions file must not hold the feature back
        suggestions = ()
    return FeatureLoaded(feature_id, overview, record, plot, similar, suggestions)


def load_similar(
    backend: Backend, feature_id: int, method: str, stores: Stores | None = None
) -> SimilarLoaded:
    rows = backend.similar(feature_id, method, SIMILAR_TOP_K, stores)
    return SimilarLoaded(feature_id, method, rows)


def refresh_neighbours(
    backend: Backend,
    feature_id: int,
    method: str,
    pairs: list[tuple[int, float]],
    stores: Stores,
) -> NeighboursRefreshed:
    """The neighbours on screen with their labels and queue states as the newest snapshot
    read them (no similarity is recomputed)."""
    return NeighboursRefreshed(feature_id, method, backend.describe_neighbours(pairs, stores))


def lint_label(backend: Backend, feature_id: int, edit: LabelEdit) -> LintLoaded:
    return LintLoaded(feature_id, edit.name, backend.lint(feature_id, edit))


def recent_decisions(backend: Backend) -> RecentLoaded:
    """This owner's last saves and skips, newest first, from the history."""
    return RecentLoaded(backend.service.recent_decisions(RECENT_DECISIONS))


def build_table(backend: Backend, method: str, post: Post) -> TableReady:
    """The one-time table of a similarity method (tokens, coactivation), with progress."""
    shown = [-1]

    def progress(_stage: str, done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if percent != shown[0]:
            shown[0] = percent
            post(TableProgress(method, percent))

    backend.build_similar_table(method, progress)
    return TableReady(method)


def load_coverage(backend: Backend, feature_id: int, name: str) -> CoverageLoaded:
    subject, coverage = backend.coverage(feature_id, name)
    return CoverageLoaded(feature_id, subject, coverage)


def sync_lease(lease: Lease) -> ClaimChanged:
    """Make the stores hold what the screen wants held (see :class:`Lease`)."""
    state = lease.sync()
    return ClaimChanged(state.refused, state.holder)


def renew_lease(lease: Lease) -> ClaimChanged:
    lease.renew()
    return ClaimChanged()


def take_next(lease: Lease) -> NextTaken:
    """Ask the service for the next feature and claim it (it builds an empty queue first)."""
    entry = lease.take_next()
    return NextTaken(entry.feature_id if entry else None)


def write(backend: Backend, change: Callable[[], str], next_feature: bool = False) -> OperationDone:
    """One store change; its message is said, then everything reloads. The data is opened
    first: the service checks feature ids against it."""
    backend.open_data()
    return OperationDone(change(), next_feature)
