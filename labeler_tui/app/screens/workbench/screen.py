"""The one main screen: queue, feature detail, label form and similar features.

Layout, message handlers and the user actions of :mod:`labeler_tui.app.actions` live here. Every
slow call is a job of :mod:`.workers`, started through :class:`~labeler_tui.app.jobs.Jobs`; the
jobs return messages and only the handlers below (on the UI thread) change this screen's state
or its widgets. Failures of every job arrive at :meth:`on_worker_state_changed`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Input, Static
from textual.worker import Worker, WorkerState

from labeler_tui.app.actions import bindings
from labeler_tui.app.backend import Backend
from labeler_tui.app.jobs import Failure, Job, JobResult, Jobs
from labeler_tui.app.screens.modals import (
    BuildQueueScreen,
    ConfirmScreen,
    ConflictScreen,
    GoToFeatureScreen,
    ModelPickerScreen,
    RecentScreen,
    SkipReasonScreen,
)
from labeler_tui.app.screens.sequence import SequenceScreen
from labeler_tui.app.screens.workbench import workers
from labeler_tui.app.screens.workbench.messages import (
    ClaimChanged,
    CoverageLoaded,
    DataProgress,
    DataReady,
    FeatureLoaded,
    LintLoaded,
    ModelChosen,
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
from labeler_tui.app.screens.workbench.queue_rows import QUEUE_VIEWS, build_rows
from labeler_tui.app.widgets.examples_view import ExampleLines, ExamplesView
from labeler_tui.app.widgets.feature_detail import FeatureDetail
from labeler_tui.app.widgets.label_form import LabelForm, coverage_hint
from labeler_tui.app.widgets.queue_list import QueueList
from labeler_tui.app.widgets.similar_sidebar import SimilarSidebar
from labeler_tui.app.widgets.status_line import StatusLine, status_text
from labeler_tui.core.errors import ClaimedError, LabelerError, StaleLabelError
from labeler_tui.core.records import LabelEdit, LabelRecord
from labeler_tui.core.sanitize import visible
from labeler_tui.core.service import NO_LABEL
from labeler_tui.core.stores.labels import LabelBook
from labeler_tui.core.stores.queue import QueueState
from labeler_tui.core.stores.suggestions import Suggestion
from labeler_tui.core.timestamps import shown

SAVE = "Save"
NARROW_WIDTH = 110
"""Below this many columns the similar list stacks under the queue."""
CLAIM_DWELL_SECONDS = 1.5
"""A feature merely browsed to is claimed once it stayed on screen this long (n/enter claim at
once), so holding j does not write a claim per keypress."""
LINT_PAUSE = 0.3
"""Seconds of quiet in the form before the label lint runs on it."""
OPENING_DATA = "Opening the data"
READING_STORES = "Reading the labels and queue"


class WorkbenchScreen(Screen[None]):
    """Queue | detail + form | similar; the status line on top, the footer below."""

    BINDINGS: ClassVar[list[BindingType]] = bindings()
    AUTO_FOCUS = "#queue-list"

    def __init__(self, backend: Backend, similar_method: str | None = None) -> None:
        """``similar_method``: the similar pane's first method (None: the model's default)."""
        super().__init__()
        self.backend = backend
        self.jobs = Jobs(self)
        self._similar_method = similar_method
        self.snapshot: QueueSnapshot | None = None
        self.view = "pending"
        self.n_features: int | None = None
        self.data_ready = False
        self.current: int | None = None
        """The feature on screen (its detail, its form)."""
        self.claim_note = ""
        self.error: str | None = None
        self.drafts: dict[int, tuple[dict[str, str], LabelRecord | None]] = {}
        """Unsaved form contents by feature, with the label they were written against."""
        self._saving: _Saving | None = None
        self._frozen = False
        self._claim_timer: Timer | None = None
        self._building: dict[str, Worker[None]] = {}
        """Similarity methods whose one-time table a job is building, and that job."""
        self._lint_timer: Timer | None = None
        self._bad_records: set[int] = set()
        """Features whose malformed record was reported for the current snapshot."""
        self.next_after_save = backend.next_after_save

    @property
    def claimed(self) -> int | None:
        """The feature this app holds a claim on (at most one)."""
        return self.backend.lease.held

    @property
    def queue_list(self) -> QueueList:
        return self.query_one("#queue-list", QueueList)

    # --- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        backend = self.backend
        yield StatusLine(id="status")
        with Grid(id="body"):
            with Vertical(id="queue-pane", classes="pane"):
                yield Static("Queue", id="queue-title", classes="pane-title")
                yield Input(
                    placeholder="filter: id, reason, owner", id="queue-filter", compact=True
                )
                yield QueueList(id="queue-list")
            with ContentSwitcher(initial="detail", id="center"):
                yield FeatureDetail(id="detail", classes="pane")
                yield ExamplesView(id="examples", classes="pane")
            yield SimilarSidebar(self._similar_method, backend.owner, id="similar")
            yield LabelForm(backend.categories, backend.source, backend.owner, id="form")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#queue-filter").display = False
        self.query_one("#detail").border_title = "Feature"
        self._update_layout(self.app.size.width, self.app.size.height)
        self.refresh_status()
        self.set_interval(self.backend.poll_interval, self._poll)
        self.set_interval(max(1.0, min(self.backend.claim_ttl / 3, 600.0)), self._renew_claim)
        self.start()

    def start(self) -> None:
        """(Re)load everything for the current model."""
        self.data_ready = False
        self.snapshot = None
        self.current = None
        self.drafts.clear()
        self._building.clear()
        self.queue_list.set_rows([])
        self.queue_list.empty_text = "loading…"
        self.query_one(FeatureDetail).show_message(f"Opening model {self.backend.model}…")
        self.query_one(LabelForm).fill(None, None)
        self.query_one(SimilarSidebar).clear()
        self.query_one(SimilarSidebar).owner = self.backend.owner
        self.query_one(ExamplesView).attach(self.backend)
        self._run(partial(workers.open_data, self.backend, self.post_message), "data", OPENING_DATA)
        self._load_queue()

    def open_model(self, backend: Backend) -> None:
        """Leave the current model (giving its claim back) and open another one."""
        old = self.backend
        self.backend = backend
        self._run(partial(_released, old), "release", "Releasing the claim", exclusive=False)
        self.start()

    def on_resize(self, event: Resize) -> None:
        self._update_layout(event.size.width, event.size.height)

    def _update_layout(self, width: int, height: int) -> None:
        self.set_class(width < NARROW_WIDTH, "narrow")
        self.set_class(height < 30, "short")
        # at 80 columns the footer cut off "f1 Help  q Quit": compact, without the palette
        # key (help lists it), every shown key fits
        footer = self.query_one(Footer)
        footer.compact = width < NARROW_WIDTH
        if footer.show_command_palette != (width >= NARROW_WIDTH):
            footer.show_command_palette = width >= NARROW_WIDTH
            footer.refresh(recompose=True)

    # --- jobs ------------------------------------------------------------------------------------
    def _run(
        self,
        function: Callable[[], JobResult],
        group: str,
        what: str,
        *,
        exclusive: bool = True,
        feature_id: int | None = None,
        shown_in: str = "notice",
        quiet: bool = False,
    ) -> Worker[None]:
        job = Job(what, feature_id, shown_in, quiet)
        return self.jobs.start(function, job, group, exclusive)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a job's failure is reported (a bug re-raises in development)."""
        if event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self._building = {m: w for m, w in self._building.items() if w is not event.worker}
        failure = self.jobs.failure(event)
        if failure is not None:
            self._report_failure(failure)

    def _report_failure(self, failure: Failure) -> None:
        job, message = failure.job, failure.message
        if job.what == SAVE and self._save_refused(failure):
            return
        if job.shown_in == "similar" and job.feature_id in (None, self.current):
            self.query_one(SimilarSidebar).show_error(message)
        elif job.shown_in == "detail" and job.feature_id in (None, self.current):
            prefix = f"{job.what} failed: " if job.feature_id is None else ""
            self.query_one(FeatureDetail).show_error(prefix + message)
            self._sync_lease()  # what open_feature wished for, though the feature failed
        if job.feature_id is not None and job.feature_id != self.current and not failure.bug:
            return  # about a feature no longer on screen
        if job.shown_in in ("similar", "hint") and not failure.bug:
            return
        if job.quiet and self.error is not None and not failure.bug:
            return  # said already; polling keeps trying
        self.report_error(job.what, message)

    def _load_queue(self) -> None:
        self._run(partial(workers.load_queue, self.backend), "queue", READING_STORES)

    def _poll(self) -> None:
        """Reload when another process changed a store (after a failure: every time)."""
        known = self.snapshot.signature if self.snapshot and self.error is None else None
        self._run(partial(workers.poll, self.backend, known), "poll", READING_STORES, quiet=True)

    def _load_feature(self, feature_id: int) -> None:
        canvas = self.query_one(FeatureDetail).histogram_canvas()
        method = self.query_one(SimilarSidebar).method
        self._run(
            partial(workers.load_feature, self.backend, feature_id, method, canvas, self._stores),
            "feature",
            f"Loading feature {feature_id}",
            feature_id=feature_id,
            shown_in="detail",
        )

    def _load_similar(self, feature_id: int, method: str) -> None:
        """The neighbours by ``method``; a method whose table is not built yet gets ONE build
        job (moving on meanwhile starts no more), and its neighbours follow when it is done."""
        sidebar = self.query_one(SimilarSidebar)
        if not self.backend.similar_ready(method):
            if method not in self._building:
                sidebar.show_progress("building…")
                self._building[method] = self._run(
                    partial(workers.build_table, self.backend, method, self.post_message),
                    f"build-{method}",
                    f"Building the {method} table",
                    exclusive=False,
                    shown_in="similar",
                )
            return
        self._run(
            partial(workers.load_similar, self.backend, feature_id, method, self._stores),
            "similar",
            f"Finding features similar to {feature_id}",
            feature_id=feature_id,
            shown_in="similar",
        )

    @property
    def _stores(self) -> tuple[LabelBook, QueueState] | None:
        """The labels and queue of the newest snapshot (immutable: jobs may read them)."""
        snapshot = self.snapshot
        return None if snapshot is None else (snapshot.labels, snapshot.queue)

    def _load_coverage(self, feature_id: int, name: str) -> None:
        self._run(
            partial(workers.load_coverage, self.backend, feature_id, name),
            "coverage",
            "Core coverage",
            feature_id=feature_id,
            shown_in="hint",
        )

    def _sync_lease(self) -> None:
        lease = self.backend.lease
        if lease.wanted == lease.held:
            return  # nothing to write
        self._run(partial(workers.sync_lease, lease), "claim", "Claiming", exclusive=False)

    def _write(self, what: str, change: Callable[[], str], next_feature: bool = False) -> None:
        """Run one store change (never cancelled); its message is said, then all reloads."""
        self._run(
            partial(workers.write, self.backend, change, next_feature),
            "write",
            what,
            exclusive=False,
        )

    # --- status ----------------------------------------------------------------------------------
    def refresh_status(self) -> None:
        status = self.snapshot.status if self.snapshot else None
        self.query_one(StatusLine).update(
            status_text(
                self.backend.model,
                status,
                self.n_features,
                self.current,
                self.claim_note,
                self.error,
            )
        )
        title = Text("Queue · ", style="bold")
        title.append(self.view)
        queue_list = self.queue_list
        shown, total = queue_list.row_count, queue_list.total_count
        title.append(f" {shown:,}" if shown == total else f" {shown:,}/{total:,}")
        if queue_list.filter_text:
            title.append(f" /{visible(queue_list.filter_text)}", style="italic")
        self.query_one("#queue-title", Static).update(title)

    def report_error(self, what: str, error: str) -> None:
        self.error = f"{what} failed"
        self.notify(
            visible(error), title=f"{what} failed", severity="error", timeout=10, markup=False
        )
        self.refresh_status()

    # --- message handlers ------------------------------------------------------------------------
    def on_data_progress(self, message: DataProgress) -> None:
        if message.model == self.backend.model and not self.data_ready:
            self.query_one(FeatureDetail).show_message(message.text)

    def on_data_ready(self, message: DataReady) -> None:
        if message.model != self.backend.model:
            return
        self.data_ready = True
        self.n_features = message.n_features
        sidebar = self.query_one(SimilarSidebar)
        wanted = sidebar.method
        sidebar.set_methods(message.similar_methods)
        if self._similar_method is not None and sidebar.method != wanted:
            self.notify(
                visible(
                    f"Model {message.model} cannot use {wanted} similarity: "
                    f"similar features by {sidebar.method}."
                ),
                markup=False,
            )
        self.refresh_status()
        if self.current is None:
            self.query_one(FeatureDetail).show_message(
                f"Model {visible(message.model)}: {message.n_features:,} features. "
                "Press n for the next feature, g to go to one, b to build the queue."
            )
        row = self.queue_list.highlighted
        if self.current is None and row is not None:
            self.open_feature(row.feature_id, claim=False)

    def _freeze_startup_objects(self) -> None:
        """Once the model and the queue are in, move every object alive into the collector's
        permanent generation: a full collection then skips the app, the index and the queue
        (without this each one took 50-80 ms, stalling the keypress it landed on). Objects
        freed later by reference counting are still freed."""
        if not self._frozen and self.data_ready and self.snapshot is not None:
            self._frozen = True
            gc.freeze()

    def on_unmount(self) -> None:
        if self._frozen:  # give the app's objects back to the collector (tests start many apps)
            gc.unfreeze()

    def on_queue_loaded(self, message: QueueLoaded) -> None:
        snapshot = message.snapshot
        if self.snapshot is None or snapshot.signature != self.snapshot.signature:
            self._bad_records.clear()  # the stores changed: a bad record is said again
        self.snapshot = snapshot
        self.error = None
        queue_list = self.queue_list
        queue_list.empty_text = {
            "pending": "Empty: n or b builds it",
            "completed": "Nothing completed yet.",
            "skipped": "Nothing skipped.",
        }[self.view]
        if self.view == "pending":
            rows = snapshot.pending_rows
        else:
            rows = build_rows(self.view, snapshot, self.backend.owner)
        queue_list.set_rows(rows)
        self._refresh_neighbours()
        if self.current is not None:
            record = self._stored_label(self.current)
            detail = self.query_one(FeatureDetail)
            if detail.overview is not None and detail.record != record:
                detail.show_label(record)
                form = self.query_one(LabelForm)
                if not form.dirty:
                    form.fill(self.current, record)
        self.refresh_status()
        if self.data_ready and self.current is None and queue_list.highlighted:
            self.open_feature(queue_list.highlighted.feature_id, claim=False)

    def on_feature_loaded(self, message: FeatureLoaded) -> None:
        if message.feature_id != self.current:
            return
        self.query_one(FeatureDetail).show(message.overview, message.record, message.histogram)
        sidebar = self.query_one(SimilarSidebar)
        if message.similar is not None and message.similar[0] == sidebar.method:
            sidebar.show(message.feature_id, *message.similar)
        elif sidebar.method is not None:  # its table is still to be built: one job, progress
            self._load_similar(message.feature_id, sidebar.method)
        form = self.query_one(LabelForm)
        if form.feature_id != message.feature_id or not form.dirty:
            form.fill(message.feature_id, message.record)
        form.set_suggestions(message.feature_id, message.suggestions)
        self._sync_lease()  # after the detail: the claim's write must not delay the drawing
        lease = self.backend.lease
        if lease.wanted != message.feature_id and self._claim_timer is None:
            fid = message.feature_id
            self._claim_timer = self.set_timer(CLAIM_DWELL_SECONDS, lambda: self._dwell_claim(fid))
        self._freeze_startup_objects()
        name = self.query_one("#form-name", Input).value
        if name:
            self._load_coverage(message.feature_id, name)

    def _dwell_claim(self, feature_id: int) -> None:
        self._claim_timer = None
        if self.current == feature_id:
            self._claim(feature_id)

    def _claim(self, feature_id: int) -> None:
        """Claim the feature on screen now, if it is pending and not ours already."""
        if self.backend.lease.wanted != feature_id and self._is_pending(feature_id):
            self.backend.lease.want(feature_id)
            self._sync_lease()

    def _is_pending(self, feature_id: int) -> bool:
        return self.snapshot is not None and self.snapshot.is_pending(feature_id)

    def on_claim_changed(self, message: ClaimChanged) -> None:
        self._show_claim(message.refused, message.holder)

    def _show_claim(self, refused: int | None = None, holder: str | None = None) -> None:
        """Say whose claim the feature on screen is under (``refused``: a feature we wanted
        and another owner, ``holder``, holds)."""
        current = self.current
        if current is not None and self.claimed == current:
            self.claim_note = "claimed"
        elif current is not None and refused == current:
            if holder is None and self.snapshot is not None:
                holder = self.snapshot.claimed_by(current)
            self.claim_note = f"claimed by {holder}" if holder else "claimed by someone else"
            self.notify(
                visible(f"Feature {current} is {self.claim_note}."),
                severity="warning",
                markup=False,
            )
        elif not self.claim_note.startswith("claimed by"):
            self.claim_note = ""
        self.refresh_status()

    def _renew_claim(self) -> None:
        """Keep the claim of the feature on screen alive while it is being studied."""
        lease = self.backend.lease
        if lease.held is not None and lease.held == self.current:
            self._run(partial(workers.renew_lease, lease), "claim-renew", "Renewing the claim")

    def on_similar_loaded(self, message: SimilarLoaded) -> None:
        if message.feature_id == self.current:
            self.query_one(SimilarSidebar).show(message.feature_id, message.method, message.rows)

    def on_table_progress(self, message: TableProgress) -> None:
        sidebar = self.query_one(SimilarSidebar)
        if sidebar.method == message.method:
            sidebar.show_progress(f"building {message.percent}%")

    def on_table_ready(self, message: TableReady) -> None:
        self._building.pop(message.method, None)
        sidebar = self.query_one(SimilarSidebar)
        if self.current is not None and sidebar.method == message.method:
            self._load_similar(self.current, message.method)

    def on_coverage_loaded(self, message: CoverageLoaded) -> None:
        if message.feature_id != self.current:
            return
        hint = coverage_hint(message.coverage) if message.coverage else ""
        self.query_one(LabelForm).set_hint(hint)

    def _refresh_neighbours(self) -> None:
        """Labels and queue states of the similar features shown, as stored now."""
        sidebar = self.query_one(SimilarSidebar)
        fid, method, stores = sidebar.feature_id, sidebar.method, self._stores
        if fid is None or method is None or not sidebar.rows or not self.data_ready:
            return
        if stores is None:
            return
        self._run(
            partial(workers.refresh_neighbours, self.backend, fid, method, sidebar.pairs, stores),
            "neighbours",
            "Refreshing the similar features",
            feature_id=fid,
            shown_in="similar",
        )

    def on_neighbours_refreshed(self, message: NeighboursRefreshed) -> None:
        self.query_one(SimilarSidebar).refresh_rows(
            message.feature_id, message.method, message.rows
        )

    @on(LabelForm.Edited)
    def _form_edited(self) -> None:
        if self._lint_timer is not None:
            self._lint_timer.stop()
        self._lint_timer = self.set_timer(LINT_PAUSE, self._lint)

    def _lint(self) -> None:
        """The label lint on the form's label as typed (a field that does not parse yet: the
        warnings stay until it does)."""
        self._lint_timer = None
        form = self.query_one(LabelForm)
        feature_id = form.feature_id
        if feature_id is None or feature_id != self.current or not self.data_ready:
            return
        try:
            edit = form.values()
        except LabelerError:
            return
        if not edit.name.strip():
            form.set_warnings([])
            return
        self._run(
            partial(workers.lint_label, self.backend, feature_id, edit),
            "lint",
            "Label lint",
            feature_id=feature_id,
            shown_in="hint",
        )

    def on_lint_loaded(self, message: LintLoaded) -> None:
        form = self.query_one(LabelForm)
        if message.feature_id == self.current == form.feature_id:
            form.set_warnings(message.warnings)

    @on(ExamplesView.Tested)
    def _hypothesis_tested(self, message: ExamplesView.Tested) -> None:
        if message.feature_id != self.current:
            return
        view = self.query_one(ExamplesView)
        record = self._stored_label(message.feature_id)
        stored = record.hypothesis_expression if record else None
        result = message.result
        self.query_one(LabelForm).set_hypothesis(
            view.expression,
            result.score if result is not None else None,
            view.hypothesis_for_save(stored) is None,
        )

    def on_recent_loaded(self, message: RecentLoaded) -> None:
        def done(feature_id: int | None) -> None:
            if feature_id is not None:
                self._go_to(feature_id)

        self.app.push_screen(RecentScreen(message.events), done)

    def on_next_taken(self, message: NextTaken) -> None:
        if message.feature_id is None or message.feature_id == self.current:
            self.notify("The queue is empty: press b to build it.")
            return
        self._load_queue()
        self._show_in_queue(message.feature_id)
        self.open_feature(message.feature_id, claim=False)
        self.claim_note = "claimed"
        self.refresh_status()

    def on_operation_done(self, message: OperationDone) -> None:
        self.notify(visible(message.text), markup=False)
        self._saving = None
        self._show_claim()  # a save or a skip took the claim away with the entry
        self._load_queue()
        if message.next_feature:
            self.action_next_feature()
        elif self.current is not None:
            self._load_feature(self.current)

    # --- opening features ------------------------------------------------------------------------
    def open_feature(self, feature_id: int, claim: bool = True) -> None:
        """Show a feature (a new request cancels the stale load); ``claim`` claims it at once,
        else browsing on gives back a claim held on another feature."""
        if self.current is not None and self.current != feature_id:
            self._keep_draft()
        if self._claim_timer is not None:
            self._claim_timer.stop()
            self._claim_timer = None
        self.current = feature_id
        lease = self.backend.lease  # written once the feature is drawn (on_feature_loaded)
        if claim and self._is_pending(feature_id):
            lease.want(feature_id)
        elif lease.wanted != feature_id:
            lease.want(None)
        self.claim_note = "claimed" if self.claimed == feature_id else ""
        form = self.query_one(LabelForm)
        record = self._stored_label(feature_id)
        form.fill(feature_id, record)
        draft = self.drafts.pop(feature_id, None)
        if draft:
            form.restore(*draft)
        stored = record.hypothesis_expression if record else None
        form.set_hypothesis(stored or "", record.hypothesis_score if record else None, True)
        self.query_one(ExamplesView).show_feature(feature_id, stored)
        self.query_one(SimilarSidebar).show_loading(feature_id)
        self.refresh_status()
        self._load_feature(feature_id)

    def _stored_label(self, feature_id: int) -> LabelRecord | None:
        """The feature's label as the last snapshot read it (a malformed record: reported)."""
        if self.snapshot is None:
            return None
        try:
            return self.snapshot.labels.get(feature_id)
        except LabelerError as exc:
            if feature_id not in self._bad_records:  # once per feature and snapshot
                self._bad_records.add(feature_id)
                self.report_error(READING_STORES, str(exc))
            return None

    def _show_in_queue(self, feature_id: int) -> None:
        if self.view != "pending":
            self.view = "pending"
            if self.snapshot is not None:
                self.post_message(QueueLoaded(self.snapshot))
        self.queue_list.select_feature(feature_id, announce=False)

    def _keep_draft(self) -> None:
        form = self.query_one(LabelForm)
        if not form.dirty or form.feature_id is None:
            return
        self.drafts[form.feature_id] = (form.raw(), form.base)
        self.notify(f"Unsaved edits of feature {form.feature_id} kept as a draft.", timeout=3)

    @on(QueueList.Highlighted, "#queue-list")
    def _queue_highlighted(self, event: QueueList.Highlighted) -> None:
        if event.feature_id is not None and self.data_ready and event.feature_id != self.current:
            self.open_feature(event.feature_id, claim=False)

    @on(QueueList.Selected, "#queue-list")
    def _queue_selected(self, event: QueueList.Selected) -> None:
        self._open_and_claim(event.feature_id)

    @on(QueueList.Selected, "#similar-list")
    def _similar_selected(self, event: QueueList.Selected) -> None:
        event.stop()
        self._open_and_claim(event.feature_id)

    def _open_and_claim(self, feature_id: int) -> None:
        if feature_id == self.current:
            self._claim(feature_id)
            self.query_one(LabelForm).focus_name()
            return
        self.queue_list.select_feature(feature_id, announce=False)
        self.open_feature(feature_id, claim=True)

    @on(LabelForm.NameChanged)
    def _name_changed(self, event: LabelForm.NameChanged) -> None:
        if self.current is not None and self.data_ready:
            self._load_coverage(self.current, event.name)
        if self.current is not None:
            self._claim(self.current)

    @on(Input.Changed, "#queue-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.queue_list.set_filter(event.value)
        self.refresh_status()

    @on(Input.Submitted, "#queue-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._leave_filter()

    @on(Input.Submitted, "#form-name, #form-interp, #form-hyp")
    def _form_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save_label()

    def _leave_filter(self) -> None:
        box = self.query_one("#queue-filter", Input)
        if not box.value:
            box.display = False
        self.queue_list.focus()

    # --- focus helpers ---------------------------------------------------------------------------
    PANES = ("#queue-pane", "#center", "#form", "#similar")
    """The panes that show focus plainly (class ``-active``: an accent title or border)."""

    def on_descendant_focus(self) -> None:
        self._mark_active_pane()

    def _mark_active_pane(self) -> None:
        """Textual's ``:focus-within`` was not restyled when the focus moved (the queue's title
        stayed lit): the pane with the focus is marked by class instead."""
        for selector in self.PANES:
            pane = self.query_one(selector)
            pane.set_class(self._focus_in(pane), "-active")

    def _focus_in(self, widget: Widget) -> bool:
        focused = self.focused
        return focused is not None and (focused is widget or widget in focused.ancestors)

    def _panes(self) -> list[Widget]:
        center: Widget = self.query_one(FeatureDetail)
        if self.examples_shown:
            center = self.query_one(ExampleLines)
        return [
            self.queue_list,
            center,
            self.query_one("#form-name"),
            self.query_one("#similar-list"),
        ]

    @property
    def examples_shown(self) -> bool:
        return self.query_one("#center", ContentSwitcher).current == "examples"

    # --- actions (declared in actions.py) --------------------------------------------------------
    def action_next_feature(self) -> None:
        """Open the next pending feature at once and claim it in the background (with no
        pending feature known here, the service is asked: it builds an empty queue)."""
        candidate = self.next_candidate()
        if candidate is None:
            self._run(partial(workers.take_next, self.backend.lease), "next", "Next")
            return
        self._show_in_queue(candidate)
        self.open_feature(candidate, claim=True)

    def next_candidate(self) -> int | None:
        """The next pending feature after the one on screen, in queue order, that nobody else
        holds (wrapping at the end): ``n`` walks the queue."""
        if self.snapshot is None:
            return None
        now = self.backend.service.now()
        entry = self.snapshot.queue.after(self.current, self.backend.owner, now)
        return None if entry is None else entry.feature_id

    def action_open_entry(self) -> None:
        if (
            self._focus_in(self.query_one(ExampleLines))
            and self.query_one(ExamplesView).has_contexts
        ):
            self.action_whole_sequence()
            return
        if self._focus_in(self.query_one(SimilarSidebar)):
            fid = self.query_one(SimilarSidebar).highlighted_feature
        else:
            row = self.queue_list.highlighted
            fid = row.feature_id if row else None
        if fid is not None:
            self._open_and_claim(fid)

    def _move(self, down: bool) -> None:
        focused = self.focused
        if focused is None or self._focus_in(self.query_one(LabelForm)):
            return
        view = self.query_one(ExamplesView)
        if isinstance(focused, ExampleLines) and view.has_contexts:
            view.move_cursor(1 if down else -1)
            return
        if isinstance(focused, FeatureDetail | ExampleLines):
            (focused.scroll_down if down else focused.scroll_up)(animate=False)
            return
        target = focused if isinstance(focused, QueueList) else self.queue_list
        (target.action_cursor_down if down else target.action_cursor_up)()

    def action_cursor_down(self) -> None:
        self._move(True)

    def action_cursor_up(self) -> None:
        self._move(False)

    def action_filter_queue(self) -> None:
        box = self.query_one("#queue-filter", Input)
        box.display = True
        box.focus()

    def action_cycle_queue_view(self) -> None:
        self.view = QUEUE_VIEWS[(QUEUE_VIEWS.index(self.view) + 1) % len(QUEUE_VIEWS)]
        if self.snapshot is not None:
            self.post_message(QueueLoaded(self.snapshot))
        self.refresh_status()

    def action_go_to_feature(self) -> None:
        def done(feature_id: int | None) -> None:
            if feature_id is not None:
                self._go_to(feature_id)

        self.app.push_screen(GoToFeatureScreen(self.n_features), done)

    def _go_to(self, feature_id: int) -> None:
        """Open a feature by id; the focus stays where it was (never in the form)."""
        if self.n_features is not None and not 0 <= feature_id < self.n_features:
            self.report_error(
                "Go to", f"feature {feature_id} is out of range (features 0..{self.n_features - 1})"
            )
            return
        if feature_id == self.current:
            self._claim(feature_id)
            return
        self.queue_list.select_feature(feature_id, announce=False)
        self.open_feature(feature_id, claim=True)

    def action_build_queue(self) -> None:
        service = self.backend.service

        def done(choice: dict[str, Any] | None) -> None:
            if not choice:
                return
            method, seed, top_k = choice["method"], choice.get("seed"), choice.get("top_k")

            def change() -> str:
                result = service.build_queue(method, seed=seed, top_k=top_k)
                return f"Build {method}: {result.summary()}."

            self.notify(f"Building the queue ({method})…", timeout=2)
            self._write("Build queue", change)

        self.app.push_screen(BuildQueueScreen(self.n_features, seed=self.current), done)

    def action_edit_label(self) -> None:
        if self.current is None:
            self.notify("Open a feature first (n or enter).", severity="warning")
            return
        self.query_one(LabelForm).focus_name()

    def action_use_suggestion(self) -> None:
        if self.current is None:
            self.notify("Open a feature first (n or enter).", severity="warning")
            return
        form = self.query_one(LabelForm)
        chosen = form.use_next_suggestion()
        if chosen is None:
            self.notify(
                f"Feature {self.current} has no suggestion (labeler import delphi|neuronpedia).",
                severity="information",
            )
            return
        form.focus_name()

    def action_save_label(self) -> None:
        form = self.query_one(LabelForm)
        feature_id = self.current
        if feature_id is None or form.feature_id != feature_id:
            self.notify("No feature on screen to label.", severity="warning")
            return
        try:
            edit = form.values()
        except LabelerError as exc:
            self.report_error("Save", str(exc))
            return
        stored = form.base.hypothesis_expression if form.base else None
        hypothesis = self.query_one(ExamplesView).hypothesis_for_save(stored)
        if hypothesis is not None:
            edit = replace(edit, hypothesis_expression=hypothesis)
        self._save(feature_id, edit, form.read_since, derived_from=form.derived_from)

    def _save(
        self,
        feature_id: int,
        edit: LabelEdit,
        since: str,
        force: bool = False,
        derived_from: Suggestion | None = None,
    ) -> None:
        """Save the form's label if the stored one is still the one it was filled from
        (``since``); a label saved meanwhile by someone else, or a claim of another owner,
        comes back as a failure that asks what to do (:meth:`_save_refused`)."""
        backend, lease = self.backend, self.backend.lease

        def change() -> str:
            record = backend.service.set_label(
                feature_id, edit, force=force, if_unchanged_since=since, derived_from=derived_from
            )
            lease.dropped(feature_id)  # labeling completed it: its claim went with its entry
            warnings = backend.service.lint(record)
            said = f"Saved feature {feature_id}: {edit.name}"
            if warnings:
                said += " (lint: " + "; ".join(w.message for w in warnings) + ")"
            return said

        form = self.query_one(LabelForm)
        self._saving = _Saving(feature_id, edit, since, force, form.mark_saved(), derived_from)
        self.queue_list.focus()
        self._write(SAVE, change, next_feature=self.next_after_save)

    def _save_refused(self, failure: Failure) -> bool:
        """A save refused by a claim or by a newer label: ask (True when it asked)."""
        saving, self._saving = self._saving, None
        error = failure.error
        if saving is None or not isinstance(error, ClaimedError | StaleLabelError):
            return False
        form = self.query_one(LabelForm)
        if form.feature_id == saving.feature_id:
            form.unmark(saving.filled)  # the edits are unsaved again
        if isinstance(error, ClaimedError):

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self._save(
                        saving.feature_id,
                        saving.edit,
                        saving.since,
                        force=True,
                        derived_from=saving.derived_from,
                    )

            question = f"Feature {error.feature_id} is claimed by {error.owner} until {shown(error.expires)}."
            self.app.push_screen(ConfirmScreen("Claimed", question, "Save anyway"), confirmed)
            return True
        theirs = error.current if isinstance(error.current, LabelRecord) else None
        conflict = ConflictScreen(saving.feature_id, saving.edit, theirs)
        self.app.push_screen(conflict, lambda choice: self._resolve(saving, theirs, choice))
        return True

    def _resolve(self, saving: _Saving, theirs: LabelRecord | None, choice: str | None) -> None:
        """Keep mine (save over the stored label), take theirs, or merge both notes."""
        if choice == "mine":
            since = NO_LABEL if theirs is None else (theirs.last_updated or "")
            self._save(saving.feature_id, saving.edit, since, saving.force, saving.derived_from)
            return
        if choice not in ("theirs", "merge") or self.current != saving.feature_id:
            return
        form = self.query_one(LabelForm)
        form.fill(saving.feature_id, theirs)
        form.mark_saved()  # the form now shows the stored label, clean
        if choice == "merge":
            notes = [
                n for n in (saving.edit.notes, theirs.dashboard_notes if theirs else None) if n
            ]
            form.show_edit(replace(saving.edit, notes="\n\n".join(notes) or None))
            form.focus_name()

    def action_skip_feature(self) -> None:
        feature_id = self.current
        if feature_id is None:
            self.notify("No feature on screen to skip.", severity="warning")
            return

        def done(reason: str | None) -> None:
            if reason is not None:
                self.skip_feature(feature_id, reason)

        self.app.push_screen(SkipReasonScreen(feature_id, self.backend.skip_reasons), done)

    def skip_feature(self, feature_id: int, reason: str) -> None:
        """Skip (with the reason, possibly empty) and go on to the next feature."""
        service, lease = self.backend.service, self.backend.lease

        def change() -> str:
            service.skip(feature_id, reason or None)
            lease.dropped(feature_id)
            return f"Skipped feature {feature_id}" + (f": {reason}" if reason else "")

        self.query_one(LabelForm).mark_saved()
        self._write("Skip", change, next_feature=True)

    def action_undo(self) -> None:
        self._undo(any_owner=False)

    def action_undo_any(self) -> None:
        self._undo(any_owner=True)

    def _undo(self, any_owner: bool) -> None:
        """Undo the newest change of this app's owner (``any_owner``: of anyone); the notice
        names the feature and whose change it was."""
        service = self.backend.service

        def change() -> str:
            events = service.undo(any_owner=any_owner)
            if not events:
                mine = "" if any_owner else f" by {service.owner}"
                return f"Nothing{mine} to undo."
            reverted = events[-1].get("undone_action") or "change"
            owner = events[-1].get("undone_owner")
            whose = f"{owner}'s " if owner else ""
            ids = [str(i) for i in sorted(int(e["feature_id"]) for e in events)]
            features = f"features {', '.join(ids)}" if len(ids) > 1 else f"feature {ids[0]}"
            return f"Undid {whose}{reverted} of {features}"

        self._write("Undo", change)

    def _add_to_queue(self, ids: list[int], what: str, bulk: bool) -> None:
        """``a`` adds one feature explicitly (a skipped or labeled one is queued again); ``A``
        adds the list in bulk (those are left as they are). The notice counts what changed."""
        if not ids:
            self.notify("No similar feature to add.", severity="warning")
            return
        service = self.backend.service
        reason = f"similar to {self.current}"

        def change() -> str:
            result = service.add(ids, priority=0.5, reason=reason, bulk=bulk)
            shown = ", ".join(map(str, result.changed[:8]))
            return f"{what}: {result.summary()}" + (f" ({shown})" if shown else "")

        self._write(what, change)

    def action_add_similar(self) -> None:
        fid = self.query_one(SimilarSidebar).highlighted_feature
        self._add_to_queue([fid] if fid is not None else [], "Add", bulk=False)

    def action_add_all_similar(self) -> None:
        shown = self.query_one(SimilarSidebar).shown_features
        self._add_to_queue(shown, "Add all", bulk=True)

    def action_cycle_similar_method(self) -> None:
        method = self.query_one(SimilarSidebar).next_method()
        if self.current is not None:
            self._load_similar(self.current, method)

    def _step_pane(self, step: int) -> None:
        panes = self._panes()
        index = 0
        for i, pane in enumerate(panes):
            in_form = i == 2 and self._focus_in(self.query_one(LabelForm))
            in_view = i == 1 and self._focus_in(self.query_one(ExamplesView))
            if self._focus_in(pane) or in_form or in_view:
                index = i
                break
        panes[(index + step) % len(panes)].focus()

    def action_next_pane(self) -> None:
        if self._focus_in(self.query_one(LabelForm)):
            self.focus_next()  # inside the form, tab walks its fields
            if not self._focus_in(self.query_one(LabelForm)):
                self.query_one("#similar-list").focus()
            return
        self._step_pane(1)

    def action_previous_pane(self) -> None:
        if self._focus_in(self.query_one(LabelForm)):
            self.focus_previous()
            if not self._focus_in(self.query_one(LabelForm)):
                self.query_one(FeatureDetail).focus()
            return
        self._step_pane(-1)

    # --- evidence ----------------------------------------------------------------------------------
    def _show_examples(self, shown: bool) -> None:
        switcher = self.query_one("#center", ContentSwitcher)
        switcher.current = "examples" if shown else "detail"
        if shown:
            self.query_one(ExamplesView).load()

    def action_toggle_examples(self) -> None:
        if self.current is None:
            self.notify("Open a feature first (n or enter).", severity="warning")
            return
        shown = not self.examples_shown
        focus_was_there = self._focus_in(self.query_one("#center"))
        self._show_examples(shown)
        if focus_was_there or shown:
            view = self.query_one(ExamplesView)
            (view.focus_list() if shown else self.query_one(FeatureDetail).focus())

    def action_hypothesis(self) -> None:
        if self.current is None:
            self.notify("Open a feature first (n or enter).", severity="warning")
            return
        if not self.examples_shown:
            self._show_examples(True)
        self.query_one(ExamplesView).focus_box()

    def action_whole_sequence(self) -> None:
        view = self.query_one(ExamplesView)
        context = view.current_context if self.examples_shown else None
        if self.current is None or context is None:
            self.notify(
                "Open a sequence model's contexts first (x), then pick one with j/k.",
                severity="warning",
            )
            return
        self.app.push_screen(SequenceScreen(self.backend, self.current, context.seq, context.pos))

    def action_step_region(self, step: int) -> None:
        if self.current is None:
            return
        if not self.examples_shown:
            self._show_examples(True)
        self.query_one(ExamplesView).step_region(step)

    def action_examples_order(self) -> None:
        if self.examples_shown:
            self.query_one(ExamplesView).toggle_order()

    def action_toggle_match(self) -> None:
        view = self.query_one(ExamplesView)
        if not view.expression:
            self.notify("Type a hypothesis first (h).", severity="warning")
            return
        view.toggle_match()

    # --- pace ------------------------------------------------------------------------------------
    def action_skip_preset(self, number: int) -> None:
        """Skip the feature on screen with the ``number``-th preset reason, at once."""
        reasons = self.backend.skip_reasons
        if self.current is None:
            self.notify("No feature on screen to skip.", severity="warning")
        elif not 1 <= number <= len(reasons):
            self.notify(f"No preset skip reason {number} ([app] skip_reasons).", severity="warning")
        else:
            self.skip_feature(self.current, reasons[number - 1])

    def action_toggle_next_after_save(self) -> None:
        self.next_after_save = not self.next_after_save
        state = "opens the next feature" if self.next_after_save else "stays on the feature"
        self.notify(f"Saving now {state}.", timeout=3)

    def action_recent_decisions(self) -> None:
        self._run(partial(workers.recent_decisions, self.backend), "recent", "Recent decisions")

    def action_switch_model(self) -> None:
        models = list(self.backend.workspace.config.models)
        if len(models) < 2:
            self.notify(visible(f"This workspace has one model ({models[0]})."), markup=False)
            return

        def done(name: str | None) -> None:
            if name and name != self.backend.model:
                self.post_message(ModelChosen(name))

        self.app.push_screen(ModelPickerScreen(models, self.backend.model), done)

    def action_show_progress(self) -> None:
        if not self.data_ready:
            self.notify("The model's data is still opening.", severity="warning")
            return
        from labeler_tui.app.screens.progress import ProgressScreen

        self.app.push_screen(ProgressScreen(self.backend.service, self.backend.data))

    def action_reload(self) -> None:
        if not self.data_ready:
            self._run(
                partial(workers.open_data, self.backend, self.post_message), "data", OPENING_DATA
            )
        self._load_queue()
        if self.current is not None:
            self._load_feature(self.current)

    def action_help(self) -> None:
        from labeler_tui.app.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self.backend.workspace.config.keymap))

    def action_leave_form(self) -> None:
        box = self.query_one("#queue-filter", Input)
        if box.has_focus:  # escape drops the filter; enter keeps it
            box.value = ""
            self.queue_list.set_filter("")
            self._leave_filter()
            self.refresh_status()
            return
        if self.query_one("#hypothesis", Input).has_focus:
            self.query_one(ExamplesView).focus_list()  # the expression stays
            return
        if self._focus_in(self.query_one(LabelForm)) or self._focus_in(
            self.query_one(SimilarSidebar)
        ):
            self.queue_list.focus()


@dataclass(frozen=True)
class _Saving:
    """A save on its way: what to retry with, and the form's state to restore if refused."""

    feature_id: int
    edit: LabelEdit
    since: str
    force: bool
    filled: dict[str, str]
    derived_from: Suggestion | None = None


def _released(backend: Backend) -> None:
    """Job: give back the claim of a model the app left."""
    backend.lease.release()
