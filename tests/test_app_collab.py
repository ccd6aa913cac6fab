"""The app in a shared workspace: n walks the queue, A leaves others' work alone, undo is
yours, a stale draft or another owner's claim is asked about, neighbours' labels stay live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_app_flow import burst, notes, read_json, ready, wait_until

from labeler_tui.app.app import LabelerApp
from labeler_tui.app.widgets.feature_detail import FeatureDetail
from labeler_tui.app.widgets.label_form import LabelForm
from labeler_tui.app.widgets.similar_sidebar import SimilarSidebar
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


def agent(ws: Path) -> LabelingService:
    return LabelingService(Workspace.open(ws), owner="agent-7", source="claude code")


@pytest.fixture
def five(tiny_workspace: Path) -> Path:
    """Five entries in serving order 1, 2, 3, 4, 6."""
    for fid, priority in ((1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6), (6, 0.5)):
        agent(tiny_workspace).add([fid], priority=priority)
    return tiny_workspace


async def test_n_walks_the_queue_and_wraps(five: Path) -> None:
    """It used to alternate between the top two (release put the feature back on top)."""
    app = LabelerApp(Workspace.open(five))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and app.workbench.current == 1)
        seen = []
        for _ in range(6):
            before = app.workbench.current
            await pilot.press("n")
            await wait_until(pilot, lambda b=before: app.workbench.current not in (None, b))
            await wait_until(pilot, lambda: app.workbench.claimed == app.workbench.current)
            seen.append(app.workbench.current)
        assert seen == [2, 3, 4, 6, 1, 2]


async def test_n_passes_over_a_feature_claimed_by_someone_else(five: Path) -> None:
    agent(five).claim(3, ttl=600)
    app = LabelerApp(Workspace.open(five))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and app.workbench.current == 1)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.workbench.current == 2)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.workbench.current == 4)


async def test_go_to_keeps_the_focus_where_it_was(five: Path) -> None:
    """A label "18712" was once saved onto another feature: g left the focus in the form."""
    app = LabelerApp(Workspace.open(five))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and app.workbench.current == 1)
        for typed in ("1", "4"):
            await pilot.press("g")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "GoToFeatureScreen")
            await pilot.press(typed, "enter")
            await wait_until(pilot, lambda: app.screen is app.workbench)
            await pilot.pause(0.1)
            assert app.focused is not None and app.focused.id == "queue-list"
        await wait_until(pilot, lambda: app.workbench.current == 4)
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "GoToFeatureScreen")
        burst(app, "12.5", "enter")
        await pilot.pause(0.2)
        assert "must be a whole number" in app.screen.error_text  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.workbench)
        assert app.workbench.current == 4 and app.focused.id == "queue-list"  # type: ignore[union-attr]


async def test_add_all_leaves_pending_skipped_and_labeled_alone(five: Path) -> None:
    app = LabelerApp(Workspace.open(five))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and app.workbench.current == 1)
        sidebar = app.workbench.query_one(SimilarSidebar)
        await wait_until(pilot, lambda: sidebar.feature_id == 1 and sidebar.rows)
        shown = sidebar.shown_features
        pending = next(f for f in shown if f in (2, 3, 4, 6))
        others = [f for f in shown if f not in (2, 3, 4, 6)]
        skipped, labeled = others[0], others[1]
        agent(five).skip(skipped, "noisy")
        agent(five).set_label(labeled, LabelEdit("the agent's"))
        before = {e.feature_id: (e.priority, e.reason) for e in agent(five).queue().entries}
        await pilot.press("A")
        await wait_until(pilot, lambda: any(n.startswith("Add all:") for n in notes(app)))
        note = next(n for n in notes(app) if n.startswith("Add all:"))
        assert "1 skipped left as is" in note and "1 labeled left as is" in note
        state = agent(five).queue()
        after = {e.feature_id: (e.priority, e.reason) for e in state.entries}
        assert after[pending] == before[pending]  # 0.5 is not higher: left as it was
        assert skipped in [s.feature_id for s in state.skipped]
        assert labeled not in after


async def test_u_undoes_your_change_not_a_newer_one_of_an_agent(five: Path) -> None:
    ws = five
    app = LabelerApp(Workspace.open(ws))
    labels = ws / "labels" / "consolidated_tiny.json"
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and app.workbench.current == 1)
        await pilot.press("e")
        burst(app, "mine", "ctrl+s")
        await wait_until(pilot, lambda: "1" in (read_json(labels) or {}))
        agent(ws).set_label(2, LabelEdit("the agent's"))  # newer, someone else's
        await pilot.press("escape", "u")
        await wait_until(pilot, lambda: "1" not in (read_json(labels) or {}))
        assert "2" in read_json(labels)
        note = next(n for n in notes(app) if n.startswith("Undid"))
        assert note == "Undid tester's label of feature 1"
        await pilot.press("U")  # anyone's: the agent's now
        await wait_until(pilot, lambda: "2" not in (read_json(labels) or {}))
        assert any(n == "Undid agent-7's label of feature 2" for n in notes(app))


async def _stale_draft(ws: Path, app: LabelerApp, pilot: Any) -> None:
    """Feature 1 open with a draft typed; meanwhile an agent labels it; the draft is saved."""
    await wait_until(pilot, lambda: ready(app) and app.workbench.current == 1)
    await pilot.press("e")
    burst(app, "my draft")
    await pilot.press("tab", "tab", "tab", "tab")
    burst(app, "my notes")
    await pilot.pause(0.1)
    agent(ws).set_label(1, LabelEdit("the agent's", notes="agent notes"), force=True)
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "ConflictScreen")


@pytest.mark.parametrize("choice", ["mine", "theirs", "merge"])
async def test_a_stale_draft_is_never_saved_over_an_agents_label(five: Path, choice: str) -> None:
    ws = five
    app = LabelerApp(Workspace.open(ws))
    labels = ws / "labels" / "consolidated_tiny.json"
    async with app.run_test(size=(120, 40)) as pilot:
        await _stale_draft(ws, app, pilot)
        assert read_json(labels)["1"]["display_name"] == "the agent's"  # not overwritten
        await wait_until(pilot, lambda: app.screen.query("#theirs"))
        shown = str(app.screen.query_one("#theirs").render())
        assert "the agent's" in shown and "agent notes" in shown
        await pilot.press(*{"mine": [], "theirs": ["down"], "merge": ["down", "down"]}[choice])
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is app.workbench)
        form = app.workbench.query_one(LabelForm)
        if choice == "mine":
            await wait_until(pilot, lambda: read_json(labels)["1"]["display_name"] == "my draft")
            return
        await pilot.pause(0.2)
        assert read_json(labels)["1"]["display_name"] == "the agent's"  # nothing saved yet
        values = form.values()
        if choice == "theirs":
            assert (values.name, values.notes) == ("the agent's", "agent notes")
            assert not form.dirty
            return
        assert values.name == "my draft" and values.notes == "my notes\n\nagent notes"
        assert form.dirty
        await pilot.press("ctrl+s")  # the merge saves: it was made against the stored label
        await wait_until(pilot, lambda: read_json(labels)["1"]["display_name"] == "my draft")
        assert read_json(labels)["1"]["dashboard_notes"] == "my notes\n\nagent notes"


async def test_saving_a_feature_another_owner_claims_asks_first(five: Path) -> None:
    ws = five
    app = LabelerApp(Workspace.open(ws))
    labels = ws / "labels" / "consolidated_tiny.json"
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and app.workbench.current == 1)
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "GoToFeatureScreen")
        agent(ws).claim(4, ttl=600)  # the agent took it just before
        await pilot.press("4", "enter")
        await wait_until(pilot, lambda: app.workbench.current == 4)
        await wait_until(pilot, lambda: "claimed by agent-7" in app.workbench.claim_note)
        await pilot.press("e")
        burst(app, "mine", "ctrl+s")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        assert "claimed by agent-7" in app.screen.question  # type: ignore[attr-defined]
        assert not labels.exists() or "4" not in read_json(labels)
        await pilot.press("enter")  # save anyway
        await wait_until(pilot, lambda: "4" in (read_json(labels) or {}))
        assert read_json(labels)["4"]["display_name"] == "mine"


async def test_similar_labels_follow_other_processes(five: Path) -> None:
    """Labels and queue states of the neighbours follow other processes (issue 10, 11)."""
    app = LabelerApp(Workspace.open(five))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and app.workbench.current == 1)
        sidebar = app.workbench.query_one(SimilarSidebar)
        await wait_until(pilot, lambda: sidebar.feature_id == 1 and sidebar.rows)
        first, second = sidebar.rows[0].feature_id, sidebar.rows[1].feature_id
        assert sidebar.rows[0].label is None and sidebar.rows[0].core_families
        agent(five).set_label(first, LabelEdit("named elsewhere"))
        await wait_until(
            pilot,
            lambda: (first, "named elsewhere") in {(n.feature_id, n.label) for n in sidebar.rows},
        )
        agent(five).add([second], priority=0.4)
        agent(five).claim(second, ttl=600)
        await wait_until(pilot, lambda: sidebar.rows[1].queue == "claimed")
        assert sidebar.rows[1].claimed_by == "agent-7"
        shown = sidebar.query_one("#similar-list").visible_rows()  # type: ignore[attr-defined]
        assert shown[0].reason == "named elsewhere" and shown[1].claimed_by == "agent-7"
        assert shown[1].mark == "●"
        detail = app.workbench.query_one(FeatureDetail)
        agent(five).set_label(1, LabelEdit("on screen", notes="from the agent"), force=True)
        await wait_until(
            pilot, lambda: detail.record is not None and detail.record.name == "on screen"
        )
        assert "from the agent" in str(detail.query_one("#detail-label").render())
        claims = json.loads((five / "labels" / "queue_tiny.json").read_text())["claims"]
        assert list(claims) == [str(second)]
