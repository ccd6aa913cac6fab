"""Pilot tests of the secondary screens: modal prompts, help, command palette and progress."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from rich.text import Text
from textual.app import App, ComposeResult
from textual.command import CommandList, CommandPalette
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static

from labeler_tui.app.actions import ACTIONS, action_spec
from labeler_tui.app.commands import LabelerCommands
from labeler_tui.app.screens.help import HelpScreen
from labeler_tui.app.screens.modals import (
    BuildQueueScreen,
    GoToFeatureScreen,
    ModelPickerScreen,
    SkipReasonScreen,
)
from labeler_tui.app.screens.progress import ProgressScreen
from labeler_tui.core.analysis.quadrant import IN_BETWEEN, MYSTERIOUS, SKIP, STRONG, WEAK
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace

_UNSET = object()


class Recorder(Screen[None]):
    """Stands in for the workbench: records which of its actions ran."""

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("workbench")

    def action_show_progress(self) -> None:
        self.ran.append("show_progress")

    def action_skip_feature(self) -> None:
        self.ran.append("skip_feature")


class Host(App[None]):
    """A bare app that pushes one screen and keeps what it was dismissed with."""

    COMMANDS = App.COMMANDS | {LabelerCommands}

    def __init__(self, keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.result: Any = _UNSET
        self.workbench = Recorder()
        if keymap is not None:  # the shape the real app has: app.workspace.config.keymap
            self.workspace = type("W", (), {"config": type("C", (), {"keymap": keymap})()})()

    def on_mount(self) -> None:
        self.push_screen(self.workbench)

    def open(self, screen: Screen[Any]) -> None:
        self.push_screen(screen, self._keep)

    async def perform(self, action_id: str) -> None:
        """As LabelerApp.perform does: the action with this id, on the workbench."""
        await self.workbench.run_action(action_spec(action_id).action)

    def _keep(self, value: Any) -> None:
        self.result = value


def plain(renderable: Any, width: int = 120) -> str:
    """What a Rich renderable or markup string looks like as text."""
    if isinstance(renderable, str):
        return Text.from_markup(renderable).plain
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


# --- modal prompts -------------------------------------------------------------------------------


async def test_skip_reason_returns_the_typed_reason() -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.open(SkipReasonScreen(7))
        await pilot.pause()
        assert "Skip feature 7" in plain(str(app.screen.query_one("#title").content))
        await pilot.press(*"too noisy ", "enter")
        await pilot.pause()
    assert app.result == "too noisy"


async def test_skip_reason_empty_is_a_skip_without_reason_and_escape_cancels() -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.open(SkipReasonScreen(7))
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == ""
        app.open(SkipReasonScreen(7))
        await pilot.pause()
        await pilot.press("x", "escape")
        await pilot.pause()
        assert app.result is None
        assert app.screen is app.workbench


async def test_go_to_feature_rejects_out_of_range_ids_in_the_dialog() -> None:
    app = Host()
    async with app.run_test() as pilot:
        screen = GoToFeatureScreen(12)
        app.open(screen)
        await pilot.pause()
        await pilot.press("1", "2", "enter")
        await pilot.pause()
        assert app.result is _UNSET
        assert app.screen is screen
        assert "out of range" in screen.error_text and "0..11" in screen.error_text
        await pilot.press("backspace", "enter")  # "1"
        await pilot.pause()
    assert app.result == 1


@pytest.mark.parametrize("typed", ["12.5", "a-42", "1e3", "1_0", "-3", "４２"])
async def test_go_to_feature_refuses_anything_but_a_whole_number(typed: str) -> None:
    """``12.5`` used to open feature 125 (the dot was silently dropped)."""
    app = Host()
    async with app.run_test() as pilot:
        screen = GoToFeatureScreen(100)
        app.open(screen)
        await pilot.pause()
        screen.query_one(Input).value = typed
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and "must be a whole number" in screen.error_text
        assert repr(typed) in screen.error_text
        screen.query_one(Input).value = "42"
        await pilot.press("enter")
        await pilot.pause()
    assert app.result == 42


async def test_go_to_feature_escape_cancels() -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.open(GoToFeatureScreen(100))
        await pilot.pause()
        await pilot.press("4", "escape")
        await pilot.pause()
    assert app.result is None


async def test_build_queue_default_is_activation_count_with_top_k() -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.open(BuildQueueScreen(12))
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
    assert app.result == {"method": "activation_count", "seed": None, "top_k": 50}


async def test_build_queue_cluster_needs_a_valid_seed() -> None:
    app = Host()
    async with app.run_test() as pilot:
        screen = BuildQueueScreen(12)
        app.open(screen)
        await pilot.pause()
        await pilot.press("down", "enter")  # cluster, no seed yet
        await pilot.pause()
        assert app.result is _UNSET
        assert "seed" in screen.error_text
        assert app.focused is screen.query_one("#seed", Input)
        await pilot.press("9", "9", "enter")
        await pilot.pause()
        assert "out of range" in screen.error_text
        await pilot.press("backspace", "backspace", "5", "tab")
        top_k = screen.query_one("#top-k", Input)
        assert app.focused is top_k
        top_k.value = ""
        await pilot.press("1", "0", "enter")
        await pilot.pause()
    assert app.result == {"method": "cluster", "seed": 5, "top_k": 10}


async def test_build_queue_rejects_zero_top_k_and_empty_means_default() -> None:
    app = Host()
    async with app.run_test() as pilot:
        screen = BuildQueueScreen(12, method="importance", top_k=None)
        app.open(screen)
        await pilot.pause()
        assert screen.method == "importance"
        screen.query_one("#top-k", Input).value = "0"
        await pilot.press("enter")
        await pilot.pause()
        assert "at least 1" in screen.error_text
        screen.query_one("#top-k", Input).value = ""
        await pilot.press("enter")
        await pilot.pause()
    assert app.result == {"method": "importance", "seed": None, "top_k": None}


async def test_model_picker_starts_on_the_current_model() -> None:
    app = Host()
    async with app.run_test() as pilot:
        screen = ModelPickerScreen(["full", "ultra"], current="ultra")
        app.open(screen)
        await pilot.pause()
        assert screen.query_one(OptionList).highlighted == 1
        await pilot.press("up", "enter")
        await pilot.pause()
        assert app.result == "full"
        app.open(ModelPickerScreen(["full", "ultra"], current="ultra"))
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert app.result is None


# --- help ----------------------------------------------------------------------------------------


async def test_help_lists_every_action_with_its_remapped_key() -> None:
    app = Host(keymap={"skip": "x", "next": "N"})
    async with app.run_test(size=(120, 60)) as pilot:
        screen = HelpScreen()
        app.open(screen)
        await pilot.pause()
        text = plain(screen.keys_table())
        rows = {line.split()[0] if line.split() else "": line for line in text.splitlines()}
        for spec in ACTIONS:
            if spec.id.startswith("skip_"):  # the nine preset skips share one row
                assert spec.title not in text
                continue
            assert spec.title in text
            assert spec.help in text
        preset = next(line for line in text.splitlines() if "Skip: preset" in line)
        assert preset.split()[:3] == ["1", "…", "9"]
        skip_line = next(
            line for line in text.splitlines() if "Skip the feature on screen (" in line
        )
        assert skip_line.split()[0] == "x"
        next_line = next(line for line in text.splitlines() if "Open the next unclaimed" in line)
        assert next_line.split()[0] == "N"
        save_line = next(line for line in text.splitlines() if "Save the label" in line)
        assert save_line.split()[0] == "^s"
        assert rows  # the table rendered rows
        guide = screen.query_one("#guide").source
        assert "**`N`** opens the next unclaimed feature" in guide
        assert "`x`" in guide
        assert "tail marker" in guide and "flanderization" in guide
        assert "important but mysterious" in guide
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.workbench


# --- command palette -----------------------------------------------------------------------------


async def test_palette_discovers_every_palette_action_and_searches_help_text() -> None:
    app = Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        provider = LabelerCommands(app.screen)
        discovered = [hit.text async for hit in provider.discover()]
        assert discovered == [spec.title for spec in ACTIONS if spec.palette]
        helps = [hit.help async for hit in provider.discover()]
        assert any("(^s)" in (h or "") for h in helps)
        hits = [hit.text async for hit in provider.search("reason")]
        assert "Skip" in hits  # matched in its help text
        themes = [hit.text async for hit in provider.search("theme: nord")]
        assert "Theme: nord" in themes


async def wait_until(pilot, condition, timeout: float = 5.0) -> None:
    """Pause in small steps until ``condition()`` holds (fails the test after ``timeout``)."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


async def run_from_palette(pilot, query: str, expected: str) -> None:
    """ctrl+p, type ``query``, wait for ``expected`` to be the highlighted hit, enter."""
    await pilot.press("ctrl+p")
    await pilot.press(*query)
    commands = pilot.app.screen.query_one(CommandList)

    def highlighted_is_expected() -> bool:
        index = commands.highlighted
        if index is None:
            return False
        return expected in str(commands.get_option_at_index(index).prompt)

    await wait_until(pilot, highlighted_is_expected)
    await pilot.press("enter")
    await wait_until(pilot, lambda: not isinstance(pilot.app.screen, CommandPalette))


async def test_palette_runs_the_chosen_action_and_switches_theme() -> None:
    app = Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        await run_from_palette(pilot, "Progr", "Progress")
        await wait_until(pilot, lambda: app.workbench.ran == ["show_progress"])
        await run_from_palette(pilot, "nord", "Theme: nord")
        await wait_until(pilot, lambda: app.theme == "nord")


# --- progress ------------------------------------------------------------------------------------


def _at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00").replace(tzinfo=UTC)


@pytest.fixture
def labeled_workspace(tiny_workspace: Path) -> Workspace:
    """Three labels on two days, one undone; a skip; one feature queued."""
    workspace = Workspace.open(tiny_workspace)
    clock = {"now": _at("2026-11-20")}
    service = LabelingService(workspace, clock=lambda: clock["now"])
    service.set_label(
        0,
        LabelEdit(
            "Swim A", "mechanical", interpretability_confidence=0.9, source="manual [bold]v2"
        ),
    )
    service.set_label(1, LabelEdit("Ink B", "tactical", interpretability_confidence=0.3))
    clock["now"] = _at("2026-11-22")
    service.set_label(2, LabelEdit("Run C", "tactical", interpretability_confidence=0.95))
    service.set_label(3, LabelEdit("Oops", "strategic", interpretability_confidence=0.1))
    service.undo()
    service.skip(5, reason="noise")
    service.add([6], priority=0.9)
    return workspace


async def test_progress_shows_counts_quadrants_and_weighted_coverage(
    labeled_workspace: Workspace,
) -> None:
    data = labeled_workspace.data()
    service = LabelingService(labeled_workspace)
    app = Host()
    async with app.run_test(size=(120, 50)) as pilot:
        screen = ProgressScreen(service, data)
        app.open(screen)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        report = screen.report
        assert report is not None

        norms = np.linalg.norm(np.load(labeled_workspace.root / "data" / "decoder.npy"), axis=1)
        labeled = [0, 1, 2]
        assert report.labeled == 3 and report.n_features == 12
        assert report.weighted_coverage == pytest.approx(norms[labeled].sum() / norms.sum())
        percentile = {f: 100 * np.mean(norms < norms[f]) for f in labeled}
        expected = dict.fromkeys((STRONG, MYSTERIOUS, WEAK, SKIP, IN_BETWEEN, "unknown"), 0)
        for f, conf in zip(labeled, (0.9, 0.3, 0.95), strict=True):
            high, low = percentile[f] > 80, percentile[f] < 20
            if conf > 0.8:
                expected[STRONG if high else WEAK if low else IN_BETWEEN] += 1
            else:
                expected[MYSTERIOUS if high else SKIP if low else IN_BETWEEN] += 1
        assert report.quadrants == expected
        assert [(d.day, d.labeled, d.total) for d in report.days] == [
            ("2026-11-20", 2, 2),
            ("2026-11-22", 2, 3),
        ]

        summary = plain(str(screen.query_one("#summary", Static).content))
        weighted = 100 * norms[labeled].sum() / norms.sum()
        assert "3 / 12 features labeled (25.0%)" in summary
        assert f"importance-weighted coverage {weighted:.1f}%" in summary
        categories = plain(screen.query_one("#by-category", Static).content)
        assert "tactical" in categories and "mechanical" in categories
        assert "strategic" not in categories  # undone
        tactical_line = next(line for line in categories.splitlines() if "tactical" in line)
        assert tactical_line.split()[1:] == ["2", "67%"]
        sources = plain(screen.query_one("#by-source", Static).content)
        assert "manual [bold]v2" in sources and "dashboard" in sources  # user text, not markup
        queue = plain(screen.query_one("#queue", Static).content)
        assert next(ln for ln in queue.splitlines() if "skipped" in ln).split()[1] == "1"
        assert next(ln for ln in queue.splitlines() if "pending" in ln).split()[1] == "1"
        quadrants = plain(screen.query_one("#quadrants", Static).content)
        for key, count in expected.items():
            line = next(ln for ln in quadrants.splitlines() if ln.strip().startswith(key))
            assert line.split()[-1] == str(count)

        plot = screen.query_one("#labels-over-time")
        drawn = Text.from_ansi(plot.plt.build()).plain
        assert "2026-11-20" in drawn and "2026-11-22" in drawn
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.workbench


async def test_progress_follows_labels_written_by_another_process(
    labeled_workspace: Workspace,
) -> None:
    service = LabelingService(labeled_workspace)
    app = Host()
    async with app.run_test(size=(120, 50)) as pilot:
        screen = ProgressScreen(service, labeled_workspace.data())
        app.open(screen)
        await wait_until(pilot, lambda: screen.report is not None)
        assert screen.report.labeled == 3
        LabelingService(labeled_workspace, source="claude code").set_label(
            9, LabelEdit("Other", "none")
        )
        await wait_until(pilot, lambda: screen.report.labeled == 4, timeout=3.0)  # polled
        assert screen.report.by_source.get("claude code") == 1
        summary = plain(str(screen.query_one("#summary", Static).content))
        assert "4 / 12 features labeled" in summary
        LabelingService(labeled_workspace).set_label(10, LabelEdit("Another", "none"))
        await pilot.press("r")
        await wait_until(pilot, lambda: screen.report.labeled == 5)


async def test_progress_shows_a_store_error_instead_of_crashing(
    labeled_workspace: Workspace,
) -> None:
    labeled_workspace.labels_path().write_text('{"0": {"dashboard_name": ')
    service = LabelingService(labeled_workspace)
    app = Host()
    async with app.run_test(size=(120, 50)) as pilot:
        screen = ProgressScreen(service, labeled_workspace.data())
        app.open(screen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.report is None
        summary = plain(str(screen.query_one("#summary", Static).content))
        assert "Cannot compute progress" in summary
        assert "consolidated_tiny.json" in summary


# --- inside the real app -------------------------------------------------------------------------


async def test_real_app_help_follows_the_keymap_and_palette_opens_progress(
    make_tiny_workspace,
) -> None:
    from labeler_tui.app.app import LabelerApp

    root = make_tiny_workspace(extra_config={"keymap": {"skip": "x", "help": "f2"}})
    workspace = Workspace.open(root)
    LabelingService(workspace).set_label(3, LabelEdit("Quick Respawn", "mechanical"))
    app = LabelerApp(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.workbench.data_ready)
        await pilot.press("f2")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        table = plain(help_screen.keys_table())
        skip_line = next(line for line in table.splitlines() if "Skip the feature" in line)
        help_line = next(line for line in table.splitlines() if "Every key" in line)
        assert skip_line.split()[0] == "x"
        assert help_line.split()[0] == "f2"
        await pilot.press("f2")  # the remapped help key closes it too
        await pilot.pause()
        assert app.screen is app.workbench

        await run_from_palette(pilot, "Progr", "Progress")
        await wait_until(pilot, lambda: isinstance(app.screen, ProgressScreen))
        progress = app.screen
        await wait_until(pilot, lambda: progress.report is not None)
        assert progress.report.labeled == 1
        assert progress.report.by_category == {"mechanical": 1}
        await pilot.press("escape")
