"""The evidence in the app (issue 10): the examples view, the hypothesis box with its figures
and filtering, output effects, neighbours, lint in the form, saving a hypothesis, and the
detail pane's picture and pace (histogram, width, scroll, focus, theme, presets, recent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_app_flow import burst, notes, read_json, ready, wait_until
from test_evidence_effects import configure, vocab

from labeler_tui.app.app import LabelerApp
from labeler_tui.app.widgets.evidence_text import short_name
from labeler_tui.app.widgets.examples_view import ExamplesView
from labeler_tui.app.widgets.feature_detail import FeatureDetail, regions_text
from labeler_tui.app.widgets.histogram import Canvas, plot_bins, render_histogram
from labeler_tui.app.widgets.label_form import LabelForm
from labeler_tui.app.widgets.queue_list import QueueList
from labeler_tui.core.evidence.examples import feature_examples
from labeler_tui.core.evidence.hypothesis import score_hypothesis
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace

FEATURE = 3


def service(ws: Path, owner: str = "tester") -> LabelingService:
    return LabelingService(Workspace.open(ws), owner=owner)


@pytest.fixture
def ws(make_tiny_workspace: Any) -> Path:
    """The tiny workspace with an output matrix and features 3, 5, 6 queued (3 first)."""
    root = make_tiny_workspace(extra_config={"app": {"poll_interval_seconds": 0.2}})
    matrix = np.random.default_rng(4).normal(size=(8, len(vocab(root)))).astype(np.float32)
    np.save(root / "data" / "out.npy", matrix)
    configure(root, output="data/out.npy")
    service(root).add([FEATURE], priority=0.9)
    service(root).add([5, 6], priority=0.5)
    return root


def view_of(app: LabelerApp) -> ExamplesView:
    return app.workbench.query_one(ExamplesView)


async def opened(app: LabelerApp, pilot: Any, feature: int = FEATURE) -> None:
    await wait_until(pilot, lambda: ready(app) and app.workbench.current == feature)
    detail = app.workbench.query_one(FeatureDetail)
    await wait_until(pilot, lambda: (detail.overview or {}).get("feature_id") == feature)


async def shown_examples(app: LabelerApp, pilot: Any, region: str, where: str | None) -> Any:
    view = view_of(app)

    def done() -> bool:
        ex = view.examples
        return ex is not None and ex.region == region and ex.where == where

    await wait_until(pilot, done)
    return view.examples


# --- the examples view ----------------------------------------------------------------------------
async def test_examples_view_shows_the_regions_examples_like_the_core(ws: Path) -> None:
    app = LabelerApp(Workspace.open(ws))
    data = Workspace.open(ws).data()
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(app, pilot)
        await pilot.press("x")
        result = await shown_examples(app, pilot, "core", None)
        expected = feature_examples(data, FEATURE, "core", 30, sample=True, seed=0)
        assert [e.example_id for e in result.examples] == [e.example_id for e in expected.examples]
        lines = str(app.workbench.query_one("#examples-lines").render()).splitlines()
        assert len(lines) == len(expected.examples)
        first = expected.examples[0]
        assert f"#{first.example_id}" in lines[0] and f"{first.fraction:4.2f}" in lines[0]
        assert str(first.metadata["weapon"]) in lines[0]
        assert first.tokens[0].tokens[0] in lines[0]
        heading = str(app.workbench.query_one("#examples-heading").render())
        assert f"of {expected.count:,}" in heading and "seeded sample" in heading
        await pilot.press("left_square_bracket")  # core -> high: its top by activation
        result = await shown_examples(app, pilot, "high", None)
        top = feature_examples(data, FEATURE, "high", 30)
        assert [e.example_id for e in result.examples] == [e.example_id for e in top.examples]
        assert "reverse" in str(
            app.workbench.query_one("#examples-tabs").render().spans  # type: ignore[attr-defined]
        )
        await pilot.press("o")  # high as a seeded sample
        await wait_until(pilot, lambda: view_of(app).examples.sample)  # type: ignore[union-attr]
        await pilot.press("x")  # back to the overview
        await wait_until(pilot, lambda: not app.workbench.examples_shown)


async def test_enriched_tokens_are_starred_and_lines_end_in_an_ellipsis_at_80_columns(
    ws: Path,
) -> None:
    app = LabelerApp(Workspace.open(ws))
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(app, pilot)
        await pilot.press("x", "right_square_bracket")  # core -> below
        result = await shown_examples(app, pilot, "below_core", None)
        starred = [e for e in result.examples if e.enriched]
        lines_widget = app.workbench.query_one("#examples-lines")
        await pilot.pause(0.1)
        width = lines_widget.size.width
        painted = [lines_widget.render_line(y).text for y in range(lines_widget.size.height)]
        assert any(line.rstrip().endswith("…") for line in painted)
        assert all(len(line) <= width for line in painted)
        text = str(lines_widget.render())
        for example in starred[:3]:
            assert f"{example.enriched[0]}*" in text


async def test_hypothesis_box_shows_the_figures_and_filters_the_examples(ws: Path) -> None:
    data = Workspace.open(ws).data()
    expression = "weapon=hydra OR swim_speed_up"
    scored = score_hypothesis(data, FEATURE, expression)
    app = LabelerApp(Workspace.open(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(app, pilot)
        await pilot.press("h")
        await wait_until(pilot, lambda: app.focused is not None and app.focused.id == "hypothesis")
        burst(app, expression)
        result = await shown_examples(app, pilot, "core", expression)
        figures = str(app.workbench.query_one("#hypothesis-result").render())
        assert f"core {scored.core_coverage:.1f}%" in figures
        assert f"score {scored.score:.3f}" in figures
        assert f"off rate {scored.off_rate:.1f}%" in figures
        assert scored.verdict and scored.verdict in figures
        matching = feature_examples(data, FEATURE, "core", 30, sample=True, where=expression)
        assert result.matching == matching.matching
        assert [e.example_id for e in result.examples] == [e.example_id for e in matching.examples]
        for example in result.examples:  # every one shown holds hydra or a swim_speed_up token
            names = example.token_names
            assert example.metadata["weapon"] == "hydra" or any(
                n.startswith("swim_speed_up") for n in names
            )
        await pilot.press("ctrl+t")  # those that do not match
        await wait_until(pilot, lambda: not view_of(app).examples.match)  # type: ignore[union-attr]
        for example in view_of(app).examples.examples:  # type: ignore[union-attr]
            assert example.metadata["weapon"] != "hydra"
            assert not any(n.startswith("swim_speed_up") for n in example.token_names)
        form_line = str(app.workbench.query_one("#form-hypothesis").render())
        assert expression in form_line and f"{scored.score:.3f}" in form_line


async def test_a_bad_expression_says_why_with_suggestions_and_keeps_the_examples(
    ws: Path,
) -> None:
    app = LabelerApp(Workspace.open(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(app, pilot)
        await pilot.press("x")
        before = await shown_examples(app, pilot, "core", None)
        await pilot.press("h")
        burst(app, "swim_sped_up")
        result = app.workbench.query_one("#hypothesis-result")
        await wait_until(pilot, lambda: "swim_sped_up" in str(result.render()))
        shown = str(result.render())
        assert "unknown name" in shown and "swim_speed_up" in shown
        assert view_of(app).examples is before  # the list was left as it was
        await pilot.press("escape")  # leaves the box for the list, the expression stays
        assert app.focused is not None and app.focused.id == "examples-list"
        assert view_of(app).expression == "swim_sped_up"


async def test_saving_stores_the_tested_hypothesis_and_says_the_lint(ws: Path) -> None:
    labels = ws / "labels" / "consolidated_tiny.json"
    app = LabelerApp(Workspace.open(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(app, pilot)
        await pilot.press("h")
        burst(app, "swim_speed_up")
        await shown_examples(app, pilot, "core", "swim_speed_up")
        await pilot.press("escape", "e")
        burst(app, "Not Swim")  # a negation, no interpretability: two warnings
        form = app.workbench.query_one(LabelForm)
        await wait_until(pilot, lambda: "negation" in form.warnings_shown.lower())
        assert "interpretability" in form.warnings_shown
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: str(FEATURE) in (read_json(labels) or {}))
        record = read_json(labels)[str(FEATURE)]
        score = score_hypothesis(Workspace.open(ws).data(), FEATURE, "swim_speed_up").score
        assert record["hypothesis_expression"] == "swim_speed_up"
        assert record["hypothesis_score"] == pytest.approx(round(score, 4))
        await wait_until(pilot, lambda: any(n.startswith("Saved feature") for n in notes(app)))
        said = next(n for n in notes(app) if n.startswith("Saved feature"))
        assert "lint:" in said and "negation" in said.lower()


# --- the detail pane --------------------------------------------------------------------------------
async def test_detail_shows_output_effects_and_opens_each_feature_at_its_top(ws: Path) -> None:
    data = Workspace.open(ws).data()
    from labeler_tui.core.evidence.effects import output_effects

    effects = output_effects(data, FEATURE, 10)
    app = LabelerApp(Workspace.open(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(app, pilot)
        detail = app.workbench.query_one(FeatureDetail)
        shown = str(detail.query_one("#detail-effects").render())
        assert f"{effects.promoted[0].name} {effects.promoted[0].value:+.2f}" in shown
        assert f"{effects.suppressed[0].name} {effects.suppressed[0].value:+.2f}" in shown
        detail.scroll_end(animate=False)
        await pilot.pause(0.1)
        assert detail.scroll_y > 0
        await pilot.press("j")  # the next queue entry
        await opened(app, pilot, 5)
        assert detail.scroll_y == 0


def test_region_rows_use_the_width_there_is() -> None:
    items = [{"token": f"token_{i}", "share": 0.5 - i / 100, "enrichment": 1.0} for i in range(10)]
    overview = {
        "regions": [
            {"name": "core", "lo": 0.25, "hi": 0.75, "count": 10, "share": 1.0, "top_tokens": items}
        ]
    }
    narrow = regions_text(overview, 60).plain.splitlines()[2]
    wide = regions_text(overview, 200).plain.splitlines()[2]
    assert narrow.count("token_") == 3
    assert wide.count("token_") > 3 and len(wide) <= 200


def test_histogram_is_continuous_at_any_width_with_named_regions() -> None:
    for width in (60, 120, 200):
        canvas = Canvas(width, 14, "textual-dark")
        bins = plot_bins(canvas)
        edges = np.linspace(0.0, 1.2, bins + 1)
        counts = (50 + 40 * np.sin(np.linspace(0, 6, bins))).astype(int)  # all > 0
        text = render_histogram(edges.tolist(), counts.tolist(), canvas)[1].plain.splitlines()
        axis_row = next(i for i, line in enumerate(text) if line.lstrip().startswith("0┤"))
        bottom = text[axis_row].split("┤", 1)[1].rstrip("│")
        assert " " not in bottom  # no comb: every column of the lowest row is filled
        assert "core" in text[0]  # the regions are named over the plot
        assert any("examples" in line for line in text[-2:])  # the count axis is labeled
        assert any("activation / effective max" in line for line in text[-2:]) or width < 80


# --- neighbours, focus, theme ---------------------------------------------------------------------
async def test_unlabeled_neighbours_show_core_families_and_queue_marks(ws: Path) -> None:
    service(ws).set_label(5, LabelEdit("a labeled neighbour"))
    app = LabelerApp(Workspace.open(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(app, pilot)
        sidebar_list = app.workbench.query_one("#similar-list", QueueList)
        await wait_until(pilot, lambda: sidebar_list.row_count > 0)
        rows = {r.feature_id: r for r in sidebar_list.visible_rows()}
        assert rows[5].reason == "a labeled neighbour" and rows[5].mark == "✓"
        assert rows[6].mark == "•" and rows[6].dim and rows[6].reason.startswith("~ ")


async def test_the_pane_with_the_focus_is_marked_and_only_it(ws: Path) -> None:
    app = LabelerApp(Workspace.open(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(app, pilot)
        panes = ("#queue-pane", "#center", "#form", "#similar")

        def active() -> list[str]:
            return [p for p in panes if app.workbench.query_one(p).has_class("-active")]

        app.workbench.query_one("#queue-list").focus()
        await wait_until(pilot, lambda: active() == ["#queue-pane"])
        for expected in ("#center", "#form", "#similar", "#queue-pane"):
            for _ in range(6):  # inside the form, tab walks its fields first
                await pilot.press("tab")
                await pilot.pause(0.05)
                if active() != ["#form"] or expected == "#form":
                    break
            await wait_until(pilot, lambda e=expected: active() == [e])


async def test_lists_follow_a_theme_change(ws: Path) -> None:
    app = LabelerApp(Workspace.open(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(app, pilot)
        queue = app.workbench.query_one("#queue-list", QueueList)
        dark = list(queue.render_line(3))[0].style
        app.theme = "textual-light"
        await pilot.pause(0.2)
        light = list(queue.render_line(3))[0].style
        assert dark is not None and light is not None and dark.bgcolor != light.bgcolor


# --- pace -------------------------------------------------------------------------------------------
async def test_a_digit_skips_with_its_preset_reason_and_moves_on(ws: Path) -> None:
    queue_file = ws / "labels" / "queue_tiny.json"
    reasons = Workspace.open(ws).config.app.skip_reasons
    app = LabelerApp(Workspace.open(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(app, pilot)
        await pilot.press("2")
        await wait_until(pilot, lambda: FEATURE in read_json(queue_file)["skipped"])
        assert read_json(queue_file)["skip_details"][str(FEATURE)]["reason"] == reasons[1]
        await wait_until(pilot, lambda: app.workbench.current in (5, 6))
        await pilot.press("9")  # no ninth preset by default: nothing happens
        await pilot.pause(0.2)
        assert any("No preset skip reason 9" in n for n in notes(app))
        assert len(read_json(queue_file)["skipped"]) == 1


async def test_next_after_save_is_an_option_and_a_toggle(make_tiny_workspace: Any) -> None:
    root = make_tiny_workspace(extra_config={"app": {"next_after_save": True}})
    service(root).add([FEATURE], priority=0.9)
    service(root).add([5], priority=0.5)
    app = LabelerApp(Workspace.open(root))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(app, pilot)
        await pilot.press("e")
        burst(app, "first", "ctrl+s")
        await wait_until(pilot, lambda: app.workbench.current == 5)
        await pilot.press("N")  # off: saving stays on the feature
        await pilot.press("e")
        burst(app, "second", "ctrl+s")
        labels = root / "labels" / "consolidated_tiny.json"
        await wait_until(pilot, lambda: "5" in (read_json(labels) or {}))
        await pilot.pause(0.3)
        assert app.workbench.current == 5


async def test_recent_decisions_reopen_a_feature(ws: Path) -> None:
    service(ws).set_label(7, LabelEdit("seven"))
    service(ws).skip(5, "noisy")
    service(ws, owner="someone-else").set_label(8, LabelEdit("not mine"))
    app = LabelerApp(Workspace.open(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(app, pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RecentScreen")
        lines = [str(o.prompt) for o in app.screen.query_one("#recent").options]  # type: ignore[attr-defined]
        assert len(lines) == 2
        assert "skip" in lines[0] and "5" in lines[0] and "noisy" in lines[0]
        assert "label" in lines[1] and "seven" in lines[1]
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: app.workbench.current == 7)


def test_region_names_are_short_where_drawn() -> None:
    assert short_name("flanderization") == "90%+" and short_name("core") == "core"


def test_history_file_is_untouched_by_reading_recent_decisions(ws: Path) -> None:
    service(ws).set_label(7, LabelEdit("seven"))
    path = ws / "labels" / "history_tiny.jsonl"
    before = path.read_bytes()
    decisions = service(ws).recent_decisions()
    assert [d["feature_id"] for d in decisions] == [7]
    assert json.loads(before.splitlines()[-1])["action"] == "label"
    assert path.read_bytes() == before
