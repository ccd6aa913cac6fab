"""Pilot tests of the workbench on the tiny workspace: the whole labeling flow through keys,
checked against the JSON stores on disk."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events

from labeler_tui.app.app import LabelerApp
from labeler_tui.app.screens.workbench import NARROW_WIDTH, WorkbenchScreen
from labeler_tui.app.widgets.feature_detail import FeatureDetail
from labeler_tui.app.widgets.similar_sidebar import SimilarSidebar
from labeler_tui.app.widgets.status_line import StatusLine
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.stores.queue import ENTRY_KEYS
from labeler_tui.core.workspace import Workspace


def service(ws: Path) -> LabelingService:
    return LabelingService(Workspace.open(ws), owner="someone-else", source="cli")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


async def wait_until(pilot: Any, condition: Callable[[], Any], timeout: float = 8.0) -> None:
    """Let workers and messages run until ``condition()`` holds (fails after ``timeout``)."""
    waited = 0.0
    while not condition():
        if waited >= timeout:
            app = pilot.app
            raise AssertionError(
                f"condition not met in time; notifications: {notes(app)}; "
                f"status: {app.workbench.query_one(StatusLine).render()}; "
                f"similar: {app.workbench.query_one('#similar-title').render()}"
            )
        await pilot.pause(0.02)
        waited += 0.02


def burst(app: LabelerApp, text: str = "", *keys: str) -> None:
    """Type ``text``, then press ``keys``, as the terminal driver sends them: in one burst,
    with no idle wait in between (fast, and the harder case for the app). Keys that move the
    focus go through ``pilot.press``: like a paste, a burst lands in the field focused when it
    arrives."""
    for char in text:
        app.post_message(events.Key("space" if char == " " else char, char))
    for key in keys:
        app.post_message(events.Key(key, {"tab": "\t", "enter": "\r"}.get(key)))


def workbench(app: LabelerApp) -> WorkbenchScreen:
    return app.workbench


def ready(app: LabelerApp) -> bool:
    wb = app.workbench
    return wb.data_ready and wb.snapshot is not None


def notes(app: LabelerApp) -> list[str]:
    return [f"{n.title}: {n.message}" if n.title else str(n.message) for n in app._notifications]


def make_app(ws: Path, poll: float | None = None) -> LabelerApp:
    app = LabelerApp(Workspace.open(ws), None)
    return app


@pytest.fixture
def queued_workspace(tiny_workspace: Path) -> Path:
    service(tiny_workspace).add([3, 5, 7], priority=0.9, reason="seeded")
    return tiny_workspace


async def test_next_label_save_writes_the_json_stores(queued_workspace: Path) -> None:
    ws = queued_workspace
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        # the top entry is shown on start; n moves on to the next one and claims it
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        await pilot.press("n")
        await wait_until(pilot, lambda: workbench(app).current == 5 and workbench(app).claimed == 5)
        queue = read_json(ws / "labels" / "queue_tiny.json")
        assert queue["claims"]["5"]["owner"] == "tester"
        assert all(set(e) == set(ENTRY_KEYS) for e in queue["entries"])
        await pilot.press("enter")  # enter on the open feature moves into the form
        assert app.focused is not None and app.focused.id == "form-name"
        burst(app, "swim speed")
        await pilot.press("tab", "tab")
        burst(app, "0.8")
        await pilot.press("tab")
        burst(app, "0.6", "ctrl+s")
        dashboard = ws / "dashboard" / "feature_labels_tiny.json"
        await wait_until(  # the write ends with the queue file: all three are then in place
            pilot,
            lambda: (
                "5" in (read_json(ws / "labels" / "consolidated_tiny.json") or {})
                and "5" in (read_json(dashboard) or {})
                and 5 in (read_json(ws / "labels" / "queue_tiny.json") or {}).get("completed", [])
            ),
        )
        record = read_json(ws / "labels" / "consolidated_tiny.json")["5"]
        assert record["dashboard_name"] == "swim speed"
        assert record["interpretability_confidence"] == 0.8
        assert record["hypothesis_confidence"] == 0.6
        assert record["source"] == "dashboard"
        assert read_json(dashboard)["5"]["name"] == "swim speed"
        queue = read_json(ws / "labels" / "queue_tiny.json")
        assert 5 in queue["completed"]
        assert all(e["feature_id"] != 5 for e in queue["entries"])
        assert "5" not in queue["claims"]
        await wait_until(
            pilot, lambda: "labeled 1/12" in str(app.workbench.query_one(StatusLine).render())
        )


async def test_skip_asks_for_a_reason_and_moves_on(queued_workspace: Path) -> None:
    ws = queued_workspace
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        app.workbench.queue_list.focus()
        await wait_until(pilot, lambda: workbench(app).claimed == 3)  # the dwell claim, written
        before = (ws / "labels" / "queue_tiny.json").read_bytes()
        await pilot.press("s")  # escape cancels: nothing is written
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SkipReasonScreen")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.workbench)
        await pilot.pause(0.1)
        assert (ws / "labels" / "queue_tiny.json").read_bytes() == before
        await pilot.press("s")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SkipReasonScreen")
        burst(app, "too noisy", "enter")
        await wait_until(
            pilot, lambda: (read_json(ws / "labels" / "queue_tiny.json") or {}).get("skipped")
        )
        queue = read_json(ws / "labels" / "queue_tiny.json")
        assert queue["skipped"] == [3]
        assert queue["skip_details"]["3"]["reason"] == "too noisy"
        assert [s.reason for s in service(ws).queue().skipped] == ["too noisy"]
        await wait_until(pilot, lambda: workbench(app).current == 5)


async def test_undo_reverts_the_saved_label(queued_workspace: Path) -> None:
    ws = queued_workspace
    app = make_app(ws)
    labels_path = ws / "labels" / "consolidated_tiny.json"
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        await pilot.press("e")
        burst(app, "ink saver", "ctrl+s")
        await wait_until(pilot, lambda: "3" in (read_json(labels_path) or {}))
        await pilot.press("escape", "u")
        await wait_until(pilot, lambda: "3" not in (read_json(labels_path) or {}))
        assert any("Undid" in n for n in notes(app))

        def actions() -> list[str]:  # the history line is appended after the store files
            lines = (ws / "labels" / "history_tiny.jsonl").read_text().splitlines()
            events = [json.loads(line) for line in lines]
            return [e["action"] for e in events if e["feature_id"] == 3 and e["action"] != "claim"]

        await wait_until(pilot, lambda: actions()[-2:] == ["label", "undo"])


async def test_similar_feature_added_to_the_queue(queued_workspace: Path) -> None:
    ws = queued_workspace
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        sidebar = app.workbench.query_one(SimilarSidebar)
        await wait_until(pilot, lambda: sidebar.feature_id == 3 and sidebar.rows)
        app.workbench.query_one("#similar-list").focus()
        await pilot.press("j")
        target = sidebar.highlighted_feature
        assert target == sidebar.rows[1].feature_id
        await pilot.press("a")

        def queued() -> dict[int, dict[str, Any]]:
            doc = read_json(ws / "labels" / "queue_tiny.json") or {"entries": []}
            return {e["feature_id"]: e for e in doc["entries"]}

        await wait_until(pilot, lambda: target in queued())
        assert queued()[target]["reason"] == "similar to 3"
        await pilot.press("A")
        await wait_until(pilot, lambda: set(sidebar.shown_features) <= set(queued()))
        # the queue pane shows them too
        await wait_until(
            pilot,
            lambda: target in {r.feature_id for r in app.workbench.queue_list.visible_rows()},
        )


async def test_changes_by_another_process_show_up(queued_workspace: Path) -> None:
    ws = queued_workspace
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        other = service(ws)
        other.set_label(3, LabelEdit("written by the CLI", "tactical"))
        other.add([9], priority=1.0, reason="from the cli")
        queue_list = app.workbench.queue_list
        # polled every [app] poll_interval_seconds (1 s): visible within 2 s
        await wait_until(
            pilot, lambda: 9 in {r.feature_id for r in queue_list.visible_rows()}, timeout=2.0
        )
        detail = app.workbench.query_one(FeatureDetail)
        label_line = detail.query_one("#detail-label")
        await wait_until(pilot, lambda: "written by the CLI" in str(label_line.render()), timeout=4)
        assert detail.record is not None and detail.record.name == "written by the CLI"
        assert "labeled 1/12" in str(app.workbench.query_one(StatusLine).render())


async def test_bad_confidence_is_shown_and_nothing_written(queued_workspace: Path) -> None:
    ws = queued_workspace
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        await pilot.press("e")
        burst(app, "a name")
        await pilot.press("tab", "tab")
        burst(app, "1.5", "ctrl+s")
        await wait_until(pilot, lambda: any("confidence" in n for n in notes(app)))
        await pilot.pause(0.2)
    assert "interpretability confidence" in " ".join(notes(app))
    assert not (ws / "labels" / "consolidated_tiny.json").exists() or "3" not in read_json(
        ws / "labels" / "consolidated_tiny.json"
    )


async def test_corrupt_store_shows_the_error_and_is_left_alone(tiny_workspace: Path) -> None:
    ws = tiny_workspace
    path = ws / "labels" / "queue_tiny.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"entries": [ {"feature_id": 1,')
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: any("queue_tiny.json" in n for n in notes(app)))
        await pilot.press("n")
        await pilot.pause(0.3)
        assert "failed" in str(app.workbench.query_one(StatusLine).render())
    assert path.read_text() == '{"entries": [ {"feature_id": 1,'


async def test_go_to_an_unknown_feature_is_an_error(queued_workspace: Path) -> None:
    app = make_app(queued_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        app.workbench._go_to(999)
        await pilot.pause()
        assert any("999" in n and "out of range" in n for n in notes(app))
        assert workbench(app).current == 3
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "GoToFeatureScreen")
        await pilot.press("1", "1", "enter")
        await wait_until(pilot, lambda: workbench(app).current == 11)
        detail = app.workbench.query_one(FeatureDetail)
        await wait_until(pilot, lambda: detail.overview is not None)
        assert detail.overview["n_nonzero"] == 0  # the tiny workspace's dead feature


async def test_keymap_from_the_config_remaps_an_action(make_tiny_workspace: Any) -> None:
    ws = make_tiny_workspace(extra_config={"keymap": {"next": "x", "no_such_action": "z"}})
    service(ws).add([4, 6], priority=0.7)
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 4)
        assert any("no_such_action" in n and "[keymap]" in n for n in notes(app))
        app.workbench.queue_list.focus()
        await pilot.press("n")  # no longer bound
        await pilot.pause(0.2)
        assert workbench(app).current == 4
        await pilot.press("x")
        await wait_until(pilot, lambda: workbench(app).current == 6 and workbench(app).claimed == 6)
        await app.perform("next")  # by id, as the palette and the help screen do
        await wait_until(pilot, lambda: workbench(app).current == 4)
        await app.perform("queue_view")
        assert app.workbench.view == "completed"


async def test_typing_in_the_form_never_triggers_a_hotkey(queued_workspace: Path) -> None:
    ws = queued_workspace
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        await pilot.press("e")
        burst(app, "quasi")
        await pilot.press("tab", "tab", "tab", "tab")
        burst(app, "q n s")
        await wait_until(pilot, lambda: app.workbench.query_one("#form-notes").text == "q n s")
        assert app.is_running
        assert workbench(app).current == 3
        assert app.workbench.query_one("#form-name").value == "quasi"
        assert app.workbench.query_one("#form-notes").text == "q n s"
        await pilot.press("shift+tab", "shift+tab", "shift+tab")  # back to the category Select
        assert app.focused is not None and app.focused.id == "form-category"
        await pilot.press("q", "n", "s")
        assert app.is_running and workbench(app).current == 3
        assert type(app.screen).__name__ == "WorkbenchScreen"
        await pilot.press("escape")
        assert app.focused is app.workbench.queue_list


async def test_narrow_terminal_stacks_the_sidebar(queued_workspace: Path) -> None:
    app = make_app(queued_workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        screen = app.workbench
        assert screen.has_class("narrow")
        queue_region = screen.query_one("#queue-pane").region
        similar_region = screen.query_one("#similar").region
        assert similar_region.y >= queue_region.bottom  # stacked under the queue
        assert similar_region.x == queue_region.x
        assert screen.query_one("#form").region.bottom <= 23  # above the footer


async def test_save_typed_in_a_burst_keeps_every_keystroke(queued_workspace: Path) -> None:
    """Keys arrive as fast as a paste: ctrl+s must not read the form before they land."""
    ws = queued_workspace
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        await pilot.press("e")
        burst(app, "tail 0.7", "ctrl+s")
        labels_path = ws / "labels" / "consolidated_tiny.json"
        await wait_until(pilot, lambda: "3" in (read_json(labels_path) or {}))
        assert read_json(labels_path)["3"]["dashboard_name"] == "tail 0.7"


async def test_leaving_a_feature_or_quitting_releases_its_claim(queued_workspace: Path) -> None:
    ws = queued_workspace
    app = make_app(ws)

    def claimed() -> list[int]:
        return sorted(int(k) for k in read_json(ws / "labels" / "queue_tiny.json")["claims"])

    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        await pilot.press("enter")  # open = claim at once
        await wait_until(pilot, lambda: claimed() == [3])
        await pilot.press("escape", "v")  # the completed view: nothing pending to claim there
        app.workbench._go_to(10)
        await wait_until(pilot, lambda: workbench(app).current == 10 and claimed() == [])
        await pilot.press("v", "v", "n")  # back to pending; n claims the top one again
        await wait_until(pilot, lambda: claimed() == [3])
        await pilot.press("q")
    assert claimed() == []  # quitting released it


async def test_switching_model_releases_the_claim_and_shows_the_other_stores(
    make_tiny_workspace: Any,
) -> None:
    model = {"activations": "data/activations", "examples": "data/examples.parquet"}
    model |= {"vocab": "data/vocab.json", "decoder": "data/decoder.npy"}
    ws = make_tiny_workspace(extra_config={"models": {"other": model}})
    service(ws).add([2], priority=0.9)
    LabelingService(Workspace.open(ws), "other", owner="x").add([8, 9], priority=0.9)
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 2)
        await pilot.press("enter")
        await wait_until(pilot, lambda: workbench(app).claimed == 2)
        app.switch_model("other")
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 8)
        rows = [r.feature_id for r in app.workbench.queue_list.visible_rows()]
        assert rows == [8, 9]
        assert str(app.workbench.query_one(StatusLine).render()).startswith(" other ")
    assert read_json(ws / "labels" / "queue_tiny.json")["claims"] == {}


async def test_queue_filter_and_views_from_the_keyboard(queued_workspace: Path) -> None:
    ws = queued_workspace
    service(ws).skip(7, "hard")
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        queue_list = app.workbench.queue_list

        def shown() -> list[int]:
            return [r.feature_id for r in queue_list.visible_rows()]

        assert shown() == [3, 5]
        await pilot.press("slash", "5", "enter")
        assert shown() == [5]
        assert app.focused is queue_list
        await pilot.press("v", "v")  # completed, then skipped: the filter still applies
        assert shown() == []
        await pilot.press("slash", "escape")  # escape drops the filter
        assert shown() == [7]
        assert [r.reason for r in queue_list.visible_rows()] == ["hard"]
        await pilot.press("v")  # back to pending
        assert shown() == [3, 5]


async def test_similar_method_switch_and_open_a_neighbour(queued_workspace: Path) -> None:
    app = make_app(queued_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        sidebar = app.workbench.query_one(SimilarSidebar)
        await wait_until(pilot, lambda: sidebar.feature_id == 3 and sidebar.rows)
        assert sidebar.method == "decoder"
        await pilot.press("c")
        await wait_until(pilot, lambda: sidebar.method == "tokens" and sidebar.rows)
        from labeler_tui.core.analysis.similarity import similar_features

        expected = similar_features(app.backend.data, 3, "tokens", 12)
        await wait_until(pilot, lambda: sidebar.shown_features == [f for f, _ in expected])
        neighbour = sidebar.shown_features[0]
        app.workbench.query_one("#similar-list").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: workbench(app).current == neighbour)


async def test_a_store_corrupted_meanwhile_is_reported_then_recovered(
    queued_workspace: Path,
) -> None:
    ws = queued_workspace
    service(ws).set_label(9, LabelEdit("nine"))
    labels_path = ws / "labels" / "consolidated_tiny.json"
    good = labels_path.read_text()
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 3)
        labels_path.write_text('{"9": {"dashboard_name": ')  # another process broke it
        await wait_until(pilot, lambda: any("consolidated_tiny.json" in n for n in notes(app)))
        await pilot.press("e")
        burst(app, "will not be written", "ctrl+s")
        await wait_until(pilot, lambda: any(n.startswith("Save failed: ") for n in notes(app)))
        assert "consolidated_tiny.json" in next(n for n in notes(app) if n.startswith("Save"))
        assert labels_path.read_text() == '{"9": {"dashboard_name": '
        labels_path.write_text(good)
        status = app.workbench.query_one(StatusLine)
        await wait_until(pilot, lambda: "failed" not in str(status.render()), timeout=3)
        assert "labeled 1/12" in str(status.render())


async def test_the_claim_on_screen_is_renewed_before_it_expires(make_tiny_workspace: Any) -> None:
    ws = make_tiny_workspace(extra_config={"app": {"claim_ttl_seconds": 3}})
    service(ws).add([4], priority=0.9)
    app = make_app(ws)

    def expiry() -> str | None:
        claim = read_json(ws / "labels" / "queue_tiny.json").get("claims", {}).get("4")
        return None if claim is None else claim["expires"]

    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 4)
        await pilot.press("enter")
        await wait_until(pilot, lambda: expiry() is not None)
        first = expiry()
        await wait_until(pilot, lambda: expiry() != first, timeout=3)  # renewed every ttl / 3
        assert expiry() > first


async def test_a_model_without_decoder_shows_similar_by_tokens(make_tiny_workspace: Any) -> None:
    ws = make_tiny_workspace(with_decoder=False)
    service(ws).add([2], priority=0.9)
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and workbench(app).current == 2)
        sidebar = app.workbench.query_one(SimilarSidebar)
        await wait_until(pilot, lambda: sidebar.feature_id == 2 and sidebar.rows)
        assert sidebar.method == "tokens"
        detail = app.workbench.query_one(FeatureDetail)
        await wait_until(pilot, lambda: detail.overview is not None)
        assert detail.overview["importance_percentile"] is None
        assert "importance - pct" in str(detail.query_one("#detail-summary").render())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_footer_shows_every_footer_key_in_the_width(tiny_workspace: Path, size) -> None:
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    from labeler_tui.app.actions import ACTIONS

    app = make_app(tiny_workspace)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: ready(app))
        wanted = {spec.title for spec in ACTIONS if spec.show}

        def shown() -> set[str]:
            keys = app.workbench.query_one(Footer).query(FooterKey)
            return {k.description for k in keys if 0 < k.region.right <= size[0]}

        await wait_until(pilot, lambda: wanted <= shown())  # once the footer is laid out
        keys = list(app.workbench.query_one(Footer).query(FooterKey))
        # the palette key is listed at 120 columns; at 80 help (f1) lists it instead
        assert any(key.description == "palette" for key in keys) == (size[0] >= NARROW_WIDTH)


async def test_a_similarity_table_still_to_build_does_not_hold_back_the_feature(
    make_tiny_workspace: Any, monkeypatch
) -> None:
    """The tokens table takes minutes on a full-size model: the feature shows at once, the
    sidebar reports the build's progress, then the neighbours."""
    import threading

    from labeler_tui.core.analysis import similarity_index

    ws = make_tiny_workspace(extra_config={"app": {"similar_method": "tokens"}})
    service(ws).add([3], priority=0.9)
    release = threading.Event()
    build = similarity_index._build_profiles

    def slow_build(data, progress):
        if progress is not None:
            progress("token profiles", 1, 4)
        release.wait(10)
        return build(data, progress)

    monkeypatch.setattr(similarity_index, "_build_profiles", slow_build)
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = app.workbench.query_one(FeatureDetail)
        sidebar = app.workbench.query_one(SimilarSidebar)
        await wait_until(
            pilot, lambda: ready(app) and (detail.overview or {}).get("feature_id") == 3
        )

        def title() -> str:
            return str(app.workbench.query_one("#similar-title").render())

        await wait_until(pilot, lambda: "building 25%" in title())
        assert sidebar.rows == []  # still building
        release.set()
        await wait_until(pilot, lambda: sidebar.rows and sidebar.feature_id == 3)
        assert sidebar.method == "tokens" and "of 3" in title()
