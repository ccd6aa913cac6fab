"""SVG snapshots of the real app on a small deterministic workspace, at 80x24 and 120x40.

The workspace is the tiny hand-made one of conftest.py with a fixed state written through the
service under a frozen clock (labels, skips and queue entries carry fixed dates). Nothing on screen
depends on the test's temporary path or on the time of the run: the feature shown is opened and
claimed explicitly (not by the dwell timer), and every worker has finished before the picture.

Update after an intended change of the look: ``pytest tests/test_app_snapshots.py
--snapshot-update``, then look at the new SVGs in ``tests/__snapshots__/`` before committing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from labeler_tui.app.app import LabelerApp
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace

FROZEN = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def snapshot_workspace(make_tiny_workspace: Callable[..., Path]) -> Workspace:
    """Two labels, one skip and a queue of five, all stamped with fixed dates; the app polls the
    stores every 0.1 s so the claim it writes shows up without a long wait."""
    root = make_tiny_workspace(extra_config={"app": {"poll_interval_seconds": 0.1}})
    workspace = Workspace.open(root)
    service = LabelingService(workspace, clock=lambda: FROZEN)
    service.set_label(
        0,
        LabelEdit(
            "Swim Speed Stacker",
            "mechanical",
            notes="Core: swim_speed_up in most builds.",
            interpretability_confidence=0.9,
            hypothesis_confidence=0.8,
        ),
    )
    service.set_label(2, LabelEdit("Ink Economy", "tactical", interpretability_confidence=0.4))
    service.add([4], priority=0.9, reason="doc example")
    service.add([6, 1], priority=0.7, reason="activation_count")
    service.add([8, 9], priority=0.3, reason="cluster of 4")
    service.skip(7, reason="ReLU floor too high")
    return workspace


async def settle(pilot: Pilot[None]) -> None:
    """Every worker done (a cancelled stale load is fine) and the screen repainted."""
    for _ in range(2):
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.02)


async def open_top_entry(pilot: Pilot[None]) -> None:
    """Open and claim the top queue entry, then wait for its detail and similar features."""
    app = pilot.app
    for _ in range(100):  # the data and the queue load in workers
        await settle(pilot)
        workbench = app.workbench  # type: ignore[attr-defined]
        if workbench.data_ready and workbench.snapshot is not None:
            break
    await pilot.press("enter")
    for _ in range(100):  # the detail drawn and the claim back from the queue file
        await settle(pilot)
        workbench = app.workbench  # type: ignore[attr-defined]
        overview = workbench.query_one("#detail").overview
        row = workbench.query_one("#queue-list").highlighted
        if overview is not None and overview.get("feature_id") == 4 and row and row.claimed_by:
            break
    app.workbench.query_one("#queue-list").focus()  # type: ignore[attr-defined]
    await settle(pilot)


def then(*keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await open_top_entry(pilot)
        await pilot.press(*keys)
        await settle(pilot)

    return run


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_workbench(snap_compare, snapshot_workspace: Workspace, size: tuple[int, int]) -> None:
    """Queue, feature 4's detail with its histogram, similar features and the empty form."""
    app = LabelerApp(snapshot_workspace)
    assert snap_compare(app, terminal_size=size, run_before=then())


async def fill_in_form(pilot: Pilot[None]) -> None:
    """Feature 4 open, the form entered and partly filled in. The text cursor is held still
    (a blinking one is drawn or not depending on when the picture is taken)."""
    await open_top_entry(pilot)
    for widget in pilot.app.screen.query("#form Input, #form TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
    await pilot.press("e")
    pilot.app.screen.query_one("#form-name").value = "Swim Kit"
    pilot.app.screen.query_one("#form-interp").value = "0.7"
    pilot.app.screen.query_one("#form-notes").text = "Core: swim_speed_up."
    await pilot.pause(0.5)  # the label lint runs once typing pauses
    await settle(pilot)


def test_label_form_in_use(snap_compare, snapshot_workspace: Workspace) -> None:
    """The form being filled in (name, interpretability, notes) at 120x40."""
    app = LabelerApp(snapshot_workspace)
    assert snap_compare(app, terminal_size=(120, 40), run_before=fill_in_form)


def test_help_80x24(snap_compare, snapshot_workspace: Workspace) -> None:
    app = LabelerApp(snapshot_workspace)
    assert snap_compare(app, terminal_size=(80, 24), run_before=then("f1"))


def test_progress_120x40(snap_compare, snapshot_workspace: Workspace) -> None:
    """Counts, quadrants and the labels-over-time chart (one frozen day)."""
    app = LabelerApp(snapshot_workspace)
    assert snap_compare(app, terminal_size=(120, 40), run_before=then("p"))


async def type_hypothesis(pilot: Pilot[None]) -> None:
    """Feature 4's examples with a hypothesis typed into the box (its figures drawn)."""
    await open_top_entry(pilot)
    pilot.app.screen.query_one("#hypothesis").cursor_blink = False
    await pilot.press("h", *"weapon=hydra OR swim_speed_up")
    for _ in range(100):
        await settle(pilot)
        view = pilot.app.workbench.query_one("#examples")  # type: ignore[attr-defined]
        if view.hypothesis is not None and view.examples is not None:
            break
    await pilot.pause(0.5)  # the form's hypothesis line and lint
    await settle(pilot)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_examples_with_a_hypothesis(
    snap_compare, snapshot_workspace: Workspace, size: tuple[int, int]
) -> None:
    """The examples view: region tabs, the hypothesis box and its figures, the examples that
    match (truncated with an ellipsis at 80 columns)."""
    app = LabelerApp(snapshot_workspace)
    assert snap_compare(app, terminal_size=size, run_before=type_hypothesis)
