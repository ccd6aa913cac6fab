"""The progress screen: labels over time, counts by category and source, the importance x
interpretability quadrants and importance-weighted coverage of one model.

The figures come from :func:`labeler_tui.core.progress.progress_report`, computed in a worker
thread (reading the history and the decoder norms can take a moment on a big model); this screen
only renders them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar

from rich.markup import escape
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker
from textual_plotext import PlotextPlot

from labeler_tui.app.jobs import Job, Jobs
from labeler_tui.core.analysis.quadrant import (
    HIGH_IMPORTANCE,
    HIGH_INTERPRETABILITY,
    IN_BETWEEN,
    LOW_IMPORTANCE,
    LOW_INTERPRETABILITY,
    MYSTERIOUS,
    SKIP,
    STRONG,
    WEAK,
)
from labeler_tui.core.data import ModelData
from labeler_tui.core.progress import QUADRANT_KEYS, UNKNOWN, ProgressReport, progress_report
from labeler_tui.core.sanitize import visible
from labeler_tui.core.service import LabelingService

MAX_DATE_TICKS = 6

_QUADRANT_AXES: dict[str, tuple[str, str]] = {
    STRONG: (f"> {HIGH_IMPORTANCE:g}", f"> {HIGH_INTERPRETABILITY:g}"),
    MYSTERIOUS: (f"> {HIGH_IMPORTANCE:g}", f"< {LOW_INTERPRETABILITY:g}"),
    WEAK: (f"< {LOW_IMPORTANCE:g}", f"> {HIGH_INTERPRETABILITY:g}"),
    SKIP: (f"< {LOW_IMPORTANCE:g}", f"< {LOW_INTERPRETABILITY:g}"),
    IN_BETWEEN: ("", ""),
    UNKNOWN: ("?", "?"),
}


def _table(title: str) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        expand=False,
        box=None,
        padding=(0, 1),
        show_edge=False,
    )
    return table


def counts_table(title: str, counts: Mapping[str, int], total: int) -> Table:
    """A name / count / share table, biggest first."""
    table = _table(title)
    table.add_column("", overflow="fold", max_width=40)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    if not counts:
        table.add_row("[dim]no labels yet[/]", "", "")
    for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        share = f"{100 * count / total:.0f}%" if total else "-"
        table.add_row(Text(visible(name)), f"{count:,}", share)  # user text, never markup
    return table


def quadrant_table(quadrants: Mapping[str, int]) -> Table:
    """The importance x interpretability table of the original docs, with counts."""
    table = _table("Importance x interpretability")
    table.add_column("quadrant", no_wrap=True)
    table.add_column("imp.", no_wrap=True)
    table.add_column("interp.", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    for key in QUADRANT_KEYS:
        importance, interpretability = _QUADRANT_AXES.get(key, ("", ""))
        style = "bold" if key == MYSTERIOUS and quadrants.get(key) else ""
        table.add_row(
            f"[{style}]{key}[/]" if style else key,
            importance,
            interpretability,
            f"{quadrants.get(key, 0):,}",
        )
    return table


def queue_table(queue: Mapping[str, int]) -> Table:
    table = _table("Queue")
    table.add_column("", min_width=10)
    table.add_column("count", justify="right", no_wrap=True)
    for key in ("pending", "claimed", "completed", "skipped"):
        if key in queue:
            table.add_row(key, f"{queue[key]:,}")
    return table


def percent(share: float) -> str:
    """A 0..1 share as a percentage, with enough digits that a small nonzero share is not 0.0%."""
    if 0 < share < 0.01:
        return f"{100 * share:.2f}%"
    return f"{100 * share:.1f}%"


def summary_text(model: str, report: ProgressReport) -> str:
    """The one-line headline: labeled / total and both coverage figures."""
    weighted = (
        percent(report.weighted_coverage)
        if report.weighted_coverage is not None
        else "n/a (no decoder)"
    )
    return (
        f"[b]{escape(visible(model))}[/]: {report.labeled:,} / {report.n_features:,} features labeled "
        f"({percent(report.labeled_share)}) · importance-weighted coverage [b]{weighted}[/]"
    )


class ProgressScreen(Screen[None]):
    """Labels over time, counts by category and source, quadrants and weighted coverage.

    ``service`` is the model's LabelingService, ``data`` its ModelData. The figures follow
    changes made by other processes (the stores are polled like the workbench polls them); ``r``
    recomputes at once; escape, ``p`` or ``q`` return to the workbench.
    """

    DEFAULT_CSS = """
    ProgressScreen #progress-body {
        padding: 0 1;
    }
    ProgressScreen #summary {
        height: auto;
        margin-bottom: 1;
    }
    ProgressScreen #labels-over-time {
        height: 14;
        min-height: 8;
    }
    ProgressScreen .tables {
        height: auto;
        margin-top: 1;
    }
    ProgressScreen .tables > Static {
        width: 1fr;
        height: auto;
        margin-right: 2;
    }
    ProgressScreen .tables > #quadrants {
        width: auto;
        max-width: 1fr;
    }
    ProgressScreen .tables > #queue {
        width: 22;
        margin-right: 0;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,p", "close", "Close"),
        Binding("r", "refresh_report", "Refresh"),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
    ]

    def __init__(self, service: LabelingService, data: ModelData) -> None:
        super().__init__()
        self.service = service
        self.data = data
        self.jobs = Jobs(self)
        self.report: ProgressReport | None = None
        self.error: str | None = None
        self._signature: tuple[Any, ...] | None = None

    @property
    def model_name(self) -> str:
        return self.service.model

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="progress-body"):
            yield Static(
                f"[b]{escape(visible(self.model_name))}[/]: computing progress...", id="summary"
            )
            yield PlotextPlot(id="labels-over-time")
            with Horizontal(classes="tables"):
                yield Static("", id="by-category")
                yield Static("", id="by-source")
            with Horizontal(classes="tables"):
                yield Static("", id="quadrants")
                yield Static("", id="queue")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#progress-body").focus()
        self.compute()
        poll = self.service.workspace.config.app.poll_interval_seconds
        self.set_interval(float(poll), self.watch_stores)

    def watch_stores(self) -> None:
        """Recompute when another process (the CLI, an agent) changed a store meanwhile."""
        if self._signature is not None:
            job = partial(_recomputed, self.service, self.data, self._signature)
            self.jobs.start(job, Job("Progress"), "progress-poll")

    def compute(self) -> None:
        """Read the stores and the decoder norms off the event loop, then render."""
        self.jobs.start(partial(_computed, self.service, self.data), Job("Progress"), "progress")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = self.jobs.failure(event)
        if failure is not None and failure.message != self.error:  # said once, not each poll
            self.show_error(failure.message)

    def on_progress_computed(self, message: ProgressComputed) -> None:
        self._signature = message.signature
        self.show_report(message.report)

    def show_error(self, message: str) -> None:
        if not self.is_attached:  # closed before the worker finished
            return
        self.error = message
        self.query_one("#summary", Static).update(
            f"[b red]Cannot compute progress:[/] {escape(visible(message))}"
        )
        self.notify(visible(message), title="Progress", severity="error", markup=False)

    def show_report(self, report: ProgressReport) -> None:
        if not self.is_attached:
            return
        self.report = report
        self.error = None
        self.query_one("#summary", Static).update(summary_text(self.model_name, report))
        self.query_one("#by-category", Static).update(
            counts_table("By category", report.by_category, report.labeled)
        )
        self.query_one("#by-source", Static).update(
            counts_table("By source", report.by_source, report.labeled)
        )
        self.query_one("#quadrants", Static).update(quadrant_table(report.quadrants))
        self.query_one("#queue", Static).update(queue_table(report.queue))
        self._draw_plot(report)

    def _draw_plot(self, report: ProgressReport) -> None:
        widget = self.query_one("#labels-over-time", PlotextPlot)
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        if not report.days:
            plt.title("Labels over time: no labels in the history yet")
            widget.refresh()
            return
        # x = 0 is "before the first day" (nothing labeled), so one day still draws a rise.
        x = list(range(len(report.days) + 1))
        plt.bar(x, [0] + [day.labeled for day in report.days], label="saved that day", width=0.3)
        plt.plot(x, [0] + [day.total for day in report.days], label="labeled", marker="hd")
        step = max(1, -(-len(report.days) // MAX_DATE_TICKS))
        ticks = x[1::step]
        plt.xticks([float(t) for t in ticks], [report.days[i - 1].day for i in ticks])
        plt.xlim(-0.5, len(report.days) + 0.5)
        top = max(max(day.total, day.labeled) for day in report.days)
        y_step = max(1, -(-top // 5))
        plt.yticks(list(range(0, top + y_step, y_step)))
        plt.title("Labels over time")
        widget.refresh()

    def action_refresh_report(self) -> None:
        self.compute()

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#progress-body", VerticalScroll)
        if direction == "down":
            body.scroll_down(animate=False)
        else:
            body.scroll_up(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)


class ProgressComputed(Message):
    def __init__(self, report: ProgressReport, signature: tuple[Any, ...]) -> None:
        super().__init__()
        self.report = report
        self.signature = signature


def _computed(service: LabelingService, data: ModelData) -> ProgressComputed:
    """Job: the progress figures, and the stores' signature they were read at."""
    signature = service.stores_signature()
    report = progress_report(
        service.status(),
        service.labels(),
        service.history(),
        data.decoder_norms,
        int(data.n_features),
    )
    return ProgressComputed(report, signature)


def _recomputed(
    service: LabelingService, data: ModelData, known: tuple[Any, ...]
) -> ProgressComputed | None:
    """Job: the figures again when a store changed since ``known`` (None otherwise)."""
    if service.stores_signature() == known:
        return None
    return _computed(service, data)
