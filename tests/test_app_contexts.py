"""The app on a sequence model: the examples view shows token contexts (the activating token
reversed, the others shaded by the feature's activation), ``w`` opens a context's whole
sequence, and the label form lists imported suggestions (ctrl+g copies one; the save records
``derived_from``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tomli_w
from rich.text import Text
from test_app_flow import ready, wait_until

from labeler_tui.app.app import LabelerApp
from labeler_tui.app.widgets.context_text import (
    CENTER_STYLE,
    SHADES,
    context_line,
    sequence_text,
)
from labeler_tui.app.widgets.examples_view import ExamplesView
from labeler_tui.app.widgets.label_form import LabelForm
from labeler_tui.core.evidence.contexts import Context, ContextsResult, feature_contexts
from labeler_tui.core.service import LabelingService
from labeler_tui.core.stores.suggestions import Suggestion, add_suggestions
from labeler_tui.core.workspace import Workspace
from labeler_tui.demo.text_model import config_table, write_text_model

LEGAL = 77  # the demo text model's feature inside all-caps licence text (truth.json)


@pytest.fixture(scope="module")
def text_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("textapp")
    write_text_model(
        root / "data" / "text", np.random.default_rng(np.random.SeedSequence([0, 2])), 0.25
    )
    config = {
        "labeler": {"default_model": "text", "source": "tester", "owner": "me"},
        "models": {"text": config_table("data/text")},
    }
    (root / "labeler.toml").write_text(tomli_w.dumps(config))
    Workspace.open(root).data("text")  # the index, outside the app's timings
    return root


def _styled(text: Text, style: str) -> list[str]:
    return [text.plain[span.start : span.end] for span in text.spans if str(span.style) == style]


async def _contexts_of(app: LabelerApp, pilot: Any, feature_id: int) -> ExamplesView:
    await wait_until(pilot, lambda: ready(app))
    app.workbench._go_to(feature_id)
    await wait_until(pilot, lambda: app.workbench.current == feature_id)
    await pilot.press("x")
    view = app.workbench.query_one(ExamplesView)
    await wait_until(pilot, lambda: isinstance(view.examples, ContextsResult))
    return view


async def test_contexts_show_the_activating_token_and_open_the_whole_sequence(
    text_ws: Path,
) -> None:
    data = Workspace.open(text_ws).data("text")
    expected = feature_contexts(data, LEGAL, "core", 30, sample=True, seed=0)
    app = LabelerApp(Workspace.open(text_ws), "text")
    async with app.run_test(size=(120, 40)) as pilot:
        view = await _contexts_of(app, pilot, LEGAL)
        shown = view.examples
        assert isinstance(shown, ContextsResult) and shown.region == "core" and shown.sample
        assert [(c.seq, c.pos) for c in shown.contexts] == [
            (c.seq, c.pos) for c in expected.contexts
        ]
        drawn = view.query_one("#examples-lines").content
        assert isinstance(drawn, Text)
        lines = drawn.plain.split("\n")
        assert len(lines) == len(expected.contexts)
        assert lines[0].startswith("▶") and not lines[1].startswith("▶")
        first = expected.contexts[0]
        reversed_tokens = _styled(drawn, CENTER_STYLE)
        assert reversed_tokens[0] == first.tokens[first.center].strip()
        assert len(reversed_tokens) == len(expected.contexts)  # one activating token a line
        # j moves the cursor; w opens that context's whole sequence
        await pilot.press("j", "j")
        assert view.cursor == 2
        assert view.query_one("#examples-lines").content.plain.split("\n")[2].startswith("▶")
        await pilot.press("w")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SequenceScreen")
        screen: Any = app.screen
        await wait_until(pilot, lambda: screen.sequence is not None)
        third = expected.contexts[2]
        assert (screen.seq, screen.pos) == (third.seq, third.pos)
        body = screen.query_one("#sequence-text").content
        assert _styled(body, CENTER_STYLE) == [third.tokens[third.center].strip()]
        assert screen.sequence.tokens[third.pos] == third.tokens[third.center]
        assert len(screen.sequence.tokens) > len(third.tokens)  # the whole sequence
        assert screen.sequence.activations[third.pos] == pytest.approx(third.activation)
        await pilot.press("escape")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "WorkbenchScreen")


async def test_a_suggestion_is_copied_and_saved_as_derived_from(text_ws: Path) -> None:
    service = LabelingService(Workspace.open(text_ws), "text")
    fid = 17
    add_suggestions(
        service.suggestions_path,
        service.lock_path,
        [
            Suggestion(fid, "years after Copyright", "delphi", scores={"detection": 0.9}),
            Suggestion(fid, "[b]numbers[/b]\x1b[2J", "neuronpedia", scores={"fuzz": 0.4}),
        ],
    )
    assert service.label(fid) is None and service.status()["labels"]["total"] == 0
    app = LabelerApp(Workspace.open(text_ws), "text")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app))
        app.workbench._go_to(fid)
        form = app.workbench.query_one(LabelForm)
        await wait_until(pilot, lambda: len(form.suggestions) == 2)
        listed = form.query_one("#form-suggestions").content
        assert "years after Copyright" in listed.plain
        assert "[b]numbers[/b]\\x1b[2J" in listed.plain  # as text, escaped
        await pilot.press("ctrl+g")
        assert form.query_one("#form-name").value == "years after Copyright"
        await pilot.press("ctrl+g")  # the next one
        assert form.query_one("#form-name").value == "[b]numbers[/b]\x1b[2J"
        await pilot.press("ctrl+g")  # and round again
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: service.label(fid) is not None)
    record = json.loads(service.labels_path.read_text())[str(fid)]
    assert record["dashboard_name"] == "years after Copyright"
    assert record["derived_from"] == {"source": "delphi", "text": "years after Copyright"}
    assert record["source"] == "tester"  # the author's, not the suggestion's


def test_context_lines_align_the_activating_token_and_show_pieces_as_text() -> None:
    def context(tokens: tuple[str, ...], center: int) -> Context:
        acts = tuple(
            2.0 if i == center else (0.5 if i == center - 1 else 0.0) for i in range(len(tokens))
        )
        return Context(
            seq=3,
            pos=center,
            example_id=0,
            activation=2.0,
            fraction=1.0,
            region="top",
            tokens=tokens,
            token_ids=tuple(range(len(tokens))),
            activations=acts,
            center=center,
        )

    short = context(("A", "B", "TOKEN", "c"), 2)
    long = context(("one", "two", "three", "\x1b[2J", "[b]x[/b]", "TOKEN", "\n", "after"), 5)
    lines = [context_line(c, " ", 2.0, 70) for c in (short, long)]
    columns = [line.plain.index("TOKEN") for line in lines]
    assert columns[0] == columns[1]
    assert "\\x1b[2J [b]x[/b] TOKEN ↵ after" in lines[1].plain
    assert "\x1b" not in lines[1].plain
    assert _styled(lines[1], CENTER_STYLE) == ["TOKEN"]
    assert _styled(lines[1], SHADES[1]) == ["[b]x[/b]"]  # 0.5 of the effective max


def test_a_whole_sequence_is_shaded_token_by_token() -> None:
    from labeler_tui.core.evidence.contexts import SequenceActivations

    seq = SequenceActivations(
        feature_id=1,
        model="m",
        seq=0,
        tokens=("a", "b", "c", "d"),
        token_ids=(0, 1, 2, 3),
        activations=(0.0, 4.0, 1.0, 0.0),
        separator=" ",
        effective_max=4.0,
    )
    text = sequence_text(seq, center=2)
    assert text.plain == "a b c d"
    assert _styled(text, SHADES[-1]) == ["b"]
    assert _styled(text, CENTER_STYLE) == ["c"]
