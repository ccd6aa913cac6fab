"""The workbench's widgets and helpers on their own (no workspace needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from labeler_tui.app.actions import ACTIONS, action_spec, bindings, unknown_keymap_ids
from labeler_tui.app.backend import mentioned_subject
from labeler_tui.app.screens.workbench import WorkbenchScreen
from labeler_tui.app.screens.workbench.messages import QueueSnapshot
from labeler_tui.app.screens.workbench.queue_rows import build_rows
from labeler_tui.app.widgets.feature_detail import (
    flags_text,
    label_text,
    regions_text,
    summary_text,
)
from labeler_tui.app.widgets.histogram import RegionHistogram
from labeler_tui.app.widgets.label_form import LabelForm, coverage_hint
from labeler_tui.app.widgets.queue_list import QueueList, QueueRow
from labeler_tui.app.widgets.status_line import status_text
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.service import QueueEntry, QueueState, SkipRecord
from labeler_tui.core.stores.labels import LabelBook

N_ROWS = 24_576


class ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield QueueList(id="q")


async def test_queue_list_renders_only_the_visible_lines_of_24576_rows() -> None:
    app = ListApp()
    async with app.run_test(size=(40, 20)) as pilot:
        queue_list = app.query_one(QueueList)
        calls: list[int] = []
        original = queue_list.render_line

        def counting(y: int):  # noqa: ANN202
            calls.append(y)
            return original(y)

        queue_list.render_line = counting  # type: ignore[method-assign]
        queue_list.set_rows([QueueRow(i, 1 - i / N_ROWS, f"reason {i}") for i in range(N_ROWS)])
        queue_list.focus()
        await pilot.pause()
        assert queue_list.row_count == N_ROWS
        assert queue_list.virtual_size.height == N_ROWS
        assert calls and max(calls) < queue_list.size.height  # never asked for off-screen lines
        assert "reason 0" in original(0).text

        await pilot.press("end")
        assert queue_list.highlighted is not None
        assert queue_list.highlighted.feature_id == N_ROWS - 1
        assert queue_list.scroll_y >= N_ROWS - queue_list.size.height
        assert f"{N_ROWS - 1}" in original(queue_list.size.height - 1).text
        await pilot.press("home", "pagedown")
        assert queue_list.cursor == queue_list.scrollable_content_region.height - 1


async def test_queue_list_filter_keeps_the_highlighted_feature() -> None:
    app = ListApp()
    async with app.run_test(size=(40, 20)) as pilot:
        queue_list = app.query_one(QueueList)
        rows = [
            QueueRow(i, 0.5, "similar to 7" if i % 3 == 0 else "activation count")
            for i in range(300)
        ]
        queue_list.set_rows(rows)
        assert queue_list.select_feature(99)
        queue_list.set_filter("similar")
        await pilot.pause()
        assert queue_list.row_count == 100
        assert all(r.feature_id % 3 == 0 for r in queue_list.visible_rows())
        assert queue_list.highlighted is not None and queue_list.highlighted.feature_id == 99
        queue_list.set_filter("")
        assert queue_list.row_count == 300


async def test_queue_list_posts_highlighted_only_for_user_moves() -> None:
    seen: list[int | None] = []

    class Watch(ListApp):
        def on_queue_list_highlighted(self, event: QueueList.Highlighted) -> None:
            seen.append(event.feature_id)

    app = Watch()
    async with app.run_test(size=(40, 10)) as pilot:
        queue_list = app.query_one(QueueList)
        queue_list.set_rows([QueueRow(i) for i in (10, 20, 30)])
        queue_list.set_rows([QueueRow(i) for i in (5, 10, 20, 30)])  # a reload keeps 10
        await pilot.pause()
        assert seen == []
        queue_list.action_cursor_down()
        await pilot.pause()
        assert seen[-1] == 20


def test_build_rows_marks_live_claims_and_lists_skips() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = (now + timedelta(minutes=5)).isoformat()
    earlier = (now - timedelta(minutes=5)).isoformat()
    entries = [
        QueueEntry(1, 0.9, "a", "t", "m", claimed_by="me", claim_expires=later),
        QueueEntry(2, 0.8, "b", "t", "m", claimed_by="bob", claim_expires=later),
        QueueEntry(3, 0.7, "c", "t", "m", claimed_by="bob", claim_expires=earlier),
    ]
    snapshot = QueueSnapshot(
        queue=QueueState(
            entries=entries,
            completed=[4, 5],
            skipped=[SkipRecord(6, "noisy", None), SkipRecord(7, None, None)],
        ),
        labels=LabelBook(Path("labels.json"), {"5": {"dashboard_name": "five"}}),
        status={},
        signature=(),
    )
    pending = build_rows("pending", snapshot, "me", now)
    assert [(r.feature_id, r.claimed_by, r.mine) for r in pending] == [
        (1, "me", True),
        (2, "bob", False),
        (3, None, False),  # the lease expired
    ]
    assert [(r.feature_id, r.reason) for r in build_rows("completed", snapshot, "me", now)] == [
        (5, "five"),
        (4, None),
    ]
    assert [r.reason for r in build_rows("skipped", snapshot, "me", now)] == [
        "(no reason)",
        "noisy",
    ]


SUBJECTS = [
    ("swim_speed_up", "swim_speed_up"),
    ("swim_speed_up_57", "swim_speed_up_57"),
    ("comeback", "comeback"),
    ("hydra", "weapon=hydra"),
]


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("Swim speed up stacking", "swim_speed_up"),
        ("swim_speed_up_57 tail", "swim_speed_up_57"),
        ("Hydra anchor builds", "weapon=hydra"),
        ("comebacks", None),  # whole words only
        ("ab", None),
    ],
)
def test_mentioned_subject(name: str, subject: str | None) -> None:
    assert mentioned_subject(name, SUBJECTS) == subject


class FormApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LabelForm(("mechanical", "tactical"), "dashboard", "alice", id="form")


async def test_label_form_fill_values_and_validation() -> None:
    app = FormApp()
    async with app.run_test(size=(100, 12)) as pilot:
        form = app.query_one(LabelForm)
        record = LabelRecord.from_json(
            {
                "dashboard_name": "ink saver",
                "dashboard_category": "tactical",
                "dashboard_notes": "mostly mains",
                "interpretability_confidence": 0.7,
                "source": "cli",
            },
            7,
        )
        form.fill(7, record)
        await pilot.pause()
        assert not form.dirty
        values = form.values()
        assert (values.name, values.category, values.notes) == (
            "ink saver",
            "tactical",
            "mostly mains",
        )
        assert values.interpretability_confidence == 0.7
        assert values.hypothesis_confidence is None
        form.query_one("#form-hyp").value = "1.5"
        assert form.dirty
        with pytest.raises(ValidationError, match=r"hypothesis confidence: must be in \[0, 1\]"):
            form.values()
        form.query_one("#form-hyp").value = "abc"
        with pytest.raises(ValidationError, match="hypothesis confidence: expected a number"):
            form.values()
        form.query_one("#form-hyp").value = "0.25"
        form.query_one("#form-name").value = "  "
        with pytest.raises(ValidationError, match="name: must not be empty"):
            form.values()
        draft = {**form.raw(), "#form-name": "draft name"}
        form.fill(8, None)
        assert form.values  # empty form for a feature without a label
        assert form.raw()["#form-name"] == ""
        form.restore(draft)
        assert form.dirty and form.values().name == "draft name"
        assert form.values().hypothesis_confidence == 0.25


def test_texts_show_the_figures() -> None:
    overview = {
        "feature_id": 42,
        "n_nonzero": 12345,
        "effective_max": 3.5,
        "importance_percentile": 91.25,
        "stability_score": 0.8,
        "quadrant": "important but mysterious",
        "flags": [
            {"kind": "tail_marker", "subject": "comeback", "enrichment": 6.5, "core_coverage": 4.0},
            {"kind": "flanderized", "subject": "weapon=hydra", "top_share": 0.5},
            {"kind": "super_stimulus", "subject": "weapon=hydra", "zone_share": 0.93},
        ],
        "general": [{"kind": "family", "subject": "swim_speed_up"}],
    }
    summary = summary_text(overview).plain
    for piece in ("Feature 42", "12,345 nonzero", "eff. max 3.5", "91.2", "0.80", "mysterious"):
        assert piece in summary
    flags = flags_text(overview)
    lines = flags.plain.splitlines()
    assert lines[0] == "⚠ comeback tail-marker  x6.5 enriched · core 4.0%"
    # two flags on one subject share a line
    assert lines[1] == "⚠ weapon=hydra flanderized + super-stimulus  top-100 50% · 90%+ zone 93%"
    assert any("red" in str(span.style) for span in flags.spans)
    assert "swim_speed_up" in flags.plain
    assert flags_text({}).plain == "no red flags"
    assert "Not labeled" in label_text(None).plain
    assert (
        "ink  [tactical]"
        in label_text(LabelRecord(1, dashboard_name="ink", dashboard_category="tactical")).plain
    )
    hint = coverage_hint(
        {
            "subject": "hydra",
            "core_coverage": 72.4,
            "verdict": "headline",
            "core_with": 21,
            "core_count": 29,
        }
    )
    assert hint.plain.startswith("core coverage: hydra in 72% of core examples (21/29) headline")


def test_status_text_shows_model_and_progress() -> None:
    status = {"labels": {"total": 12}, "queue": {"pending": 40, "completed": 12, "skipped": 3}}
    text = status_text("ultra", status, 24576, 17, "claimed").plain
    assert "ultra" in text
    assert "labeled 12/24,576" in text
    assert "queue 40 pending 12 done 3 skipped" in text
    assert "#17 claimed" in text


class HistApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RegionHistogram()


async def test_histogram_draws_bars_and_region_borders() -> None:
    app = HistApp()
    async with app.run_test(size=(80, 14)) as pilot:
        hist = app.query_one(RegionHistogram)
        edges = [i / 20 for i in range(21)]
        hist.show(edges, [0] * 5 + [10] * 10 + [0] * 5)
        await pilot.pause()
        drawn = hist.plt.build()
        assert "region borders" in drawn
        assert "█" in drawn
        assert hist.counts[5] == 10


def test_every_action_is_declared_once_and_reaches_a_method() -> None:
    ids = [spec.id for spec in ACTIONS]
    assert len(ids) == len(set(ids))
    assert [b.id for b in bindings()] == ids
    for spec in ACTIONS:
        if not spec.action.startswith("app."):
            name = spec.action.split("(")[0]  # parameters: skip_preset(3)
            assert hasattr(WorkbenchScreen, f"action_{name}"), spec.action
    assert action_spec("save").key == "ctrl+s"
    assert unknown_keymap_ids({"next": "x", "nope": "y"}) == ["nope"]


def test_regions_text_lists_every_region_with_its_top_values() -> None:
    overview = {
        "regions": [
            {
                "name": "core",
                "lo": 0.25,
                "hi": 0.75,
                "count": 1234,
                "share": 0.5,
                "top_tokens": [{"token": "hydra_3", "share": 0.61, "enrichment": 2.04}],
                "top_families": [{"family": "hydra", "share": 0.7, "enrichment": 1.5}],
                "metadata": {"weapon": [{"value": "dualies", "share": 0.4, "enrichment": 3.0}]},
            },
            {"name": "flanderization", "lo": 0.9, "hi": None, "count": 0, "share": 0.0},
        ]
    }
    lines = regions_text(overview).plain.splitlines()
    assert lines[1].split() == ["core", "(0.25,", "0.75]", "1,234", "50%"]
    assert lines[2].split() == ["tokens", "hydra_3", "61%", "x2.0"]
    assert lines[3].split() == ["family", "hydra", "70%", "x1.5"]
    assert lines[4].split() == ["weapon", "dualies", "40%", "x3.0"]
    assert lines[5].split()[0] == "flanderization" and lines[5].split()[-2:] == ["0", "0%"]
    assert "No nonzero activations" in regions_text({"regions": []}).plain
