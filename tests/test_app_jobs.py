"""The workbench's jobs: failures reported in one place, and a similarity table built by one
job while moving through the queue stays as fast as ever."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from test_app_flow import notes, ready, wait_until
from textual.worker import WorkerState

from labeler_tui.app.app import LabelerApp
from labeler_tui.app.backend import Backend
from labeler_tui.app.jobs import error_log_path
from labeler_tui.app.widgets.feature_detail import FeatureDetail
from labeler_tui.app.widgets.similar_sidebar import SimilarSidebar
from labeler_tui.core.analysis import similarity_index
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


def queued(ws: Path, ids: list[int]) -> None:
    LabelingService(Workspace.open(ws), owner="someone-else").add(ids, priority=0.9)


def broken_overview(bad: int) -> Any:
    """Backend.overview with a programming error for feature ``bad``."""
    real = Backend.overview

    def overview(self: Backend, feature_id: int) -> Any:
        if feature_id == bad:
            raise TypeError("boom: an unexpected None")
        return real(self, feature_id)

    return overview


async def test_a_bug_in_a_job_is_a_notice_and_a_log_entry(
    tiny_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued(tiny_workspace, [3, 5])
    monkeypatch.setattr(Backend, "overview", broken_overview(5))
    app = LabelerApp(Workspace.open(tiny_workspace))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and app.workbench.current == 3)
        await pilot.press("j")
        await wait_until(pilot, lambda: any("boom" in n for n in notes(app)))
        note = next(n for n in notes(app) if "boom" in n)
        assert note.startswith("Loading feature 5 failed: internal error (TypeError: boom")
        assert str(error_log_path()) in note
        detail = app.workbench.query_one(FeatureDetail)
        assert "TypeError" in str(detail.query_one("#detail-summary").render())
        await pilot.press("k")  # the app goes on working
        await wait_until(pilot, lambda: (detail.overview or {}).get("feature_id") == 3)
    log = error_log_path().read_text()
    assert "Loading feature 5" in log and "TypeError: boom" in log and "Traceback" in log


async def test_a_bug_in_a_job_shows_its_traceback_in_development(
    tiny_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued(tiny_workspace, [5])
    monkeypatch.setattr(Backend, "overview", broken_overview(5))
    app = LabelerApp(Workspace.open(tiny_workspace))
    app.features = frozenset({"debug", "devtools"})  # what `textual run --dev` sets
    with pytest.raises(TypeError, match="boom"):
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(400):
                if not app.is_running:
                    break
                await pilot.pause(0.02)
    assert not error_log_path().exists()


async def test_moving_during_a_table_build_runs_one_build_and_every_feature_loads(
    make_tiny_workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each move used to start a similar job that waited on the build: after five moves the
    thread pool was full and the detail pane stalled until the build ended."""
    ws = make_tiny_workspace(extra_config={"app": {"similar_method": "tokens"}})
    queued(ws, list(range(11)))
    release = threading.Event()
    build = similarity_index._build_profiles

    def slow_build(data: Any, progress: Any) -> Any:
        release.wait(20)
        return build(data, progress)

    monkeypatch.setattr(similarity_index, "_build_profiles", slow_build)
    app = LabelerApp(Workspace.open(ws))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            detail = app.workbench.query_one(FeatureDetail)
            await wait_until(pilot, lambda: ready(app) and app.workbench.current is not None)
            seen = []
            for _ in range(10):
                await pilot.press("j")
                current = app.workbench.current
                await wait_until(
                    pilot, lambda c=current: (detail.overview or {}).get("feature_id") == c
                )
                seen.append(current)
            assert len(set(seen)) == 10  # every feature opened and its detail drawn
            builds = [w for w in app.workers if w.group == "build-tokens"]
            assert len(builds) == 1 and builds[0].state == WorkerState.RUNNING
            assert not release.is_set()
            release.set()
            sidebar = app.workbench.query_one(SimilarSidebar)
            await wait_until(pilot, lambda: sidebar.feature_id == seen[-1] and sidebar.rows)
            assert sidebar.method == "tokens"
    finally:
        release.set()


async def test_a_malformed_record_is_reported_not_a_crash(tiny_workspace: Path) -> None:
    """A record the CLI also refuses ("high" is no confidence) is one notice in the app."""
    queued(tiny_workspace, [3, 5])
    path = tiny_workspace / "labels" / "consolidated_tiny.json"
    path.write_text(
        '{"3": {"dashboard_name": "x", "interpretability_confidence": "high"},'
        ' "5": {"dashboard_name": "five"}}'
    )
    app = LabelerApp(Workspace.open(tiny_workspace))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: any("interpretability_confidence" in n for n in notes(app)))
        note = next(n for n in notes(app) if "interpretability_confidence" in n)
        assert "consolidated_tiny.json: record 3" in note
        await pilot.press("j")  # the app goes on: feature 5 and its label
        detail = app.workbench.query_one(FeatureDetail)
        await wait_until(pilot, lambda: detail.record is not None and detail.record.name == "five")
    assert "high" in path.read_text()  # left as it was
