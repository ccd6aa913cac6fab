"""The app with hostile text everywhere: an owner named ``[/oops]`` holding a claim, labels,
notes, reasons, a source and a category made of markup and escape sequences. Nothing crashes,
nothing is read as markup, every control character shows as its escape on the screen."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.text import Text
from test_app_flow import ready, wait_until

from labeler_tui.app.app import LabelerApp
from labeler_tui.app.widgets.feature_detail import FeatureDetail
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.sanitize import visible
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace

NAME = "\x1b]0;PWNED\x07[/] [link=https://evil.example]x[/link] \x1b[2J"
NOTES = "see \x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\ \u202eevil"
REASON = "[b]loud[/] \x1b[31mred"
OWNER = "[/oops]"


def screen_text(app: LabelerApp) -> str:
    """What the screen shows, as the terminal would get it (styles left out)."""
    console = Console(file=io.StringIO(), record=True, width=app.size.width, force_terminal=True)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)


def _hostile_workspace(ws: Path) -> None:
    config = ws / "labeler.toml"
    config.write_text(
        config.read_text()
        .replace('source = "dashboard"', 'source = "[/oops]\\u001b[5m"')
        .replace("[labeler]", '[labeler]\ncategories = ["[/]", "tactical"]')
    )
    agent = LabelingService(Workspace.open(ws), owner="agent", source="[/]\x1bc")
    agent.set_label(3, LabelEdit(NAME, "[/]", NOTES))
    agent.add([3, 5, 7], priority=0.9, reason=REASON)
    LabelingService(Workspace.open(ws), owner=OWNER).claim(5, ttl=600)


async def test_hostile_text_is_shown_as_text_and_crashes_nothing(tiny_workspace: Path) -> None:
    _hostile_workspace(tiny_workspace)
    app = LabelerApp(Workspace.open(tiny_workspace))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: ready(app) and app.workbench.current == 3)
        detail = app.workbench.query_one(FeatureDetail)
        await wait_until(pilot, lambda: detail.record is not None)
        await pilot.pause(0.2)
        shown = screen_text(app)
        assert visible(NAME)[:30] in shown  # the label line and the form's name
        assert "[b]loud[/] \\x1b" in shown  # a queue reason (cut at the pane's width)
        assert "was [/]\\x1bc, saves as [/oops]\\x1b[5m" in shown  # the form's sources
        for raw in ("\x1b]", "\x1b[2J", "\x1b[31m", "\x07", "\u202e"):
            assert raw not in shown
        # opening the feature [/oops] holds: refused, said as text
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "GoToFeatureScreen")
        await pilot.press("5", "enter")
        await wait_until(pilot, lambda: app.workbench.current == 5)
        await wait_until(pilot, lambda: "claimed by [/oops]" in app.workbench.claim_note)
        await pilot.pause(0.2)
        assert "Feature 5 is claimed by [/oops]." in [str(n.message) for n in app._notifications]
        assert "claimed by [/oops]" in screen_text(app)
        # typed markup in a prompt's error line is text too
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "GoToFeatureScreen")
        await pilot.press("[", "/", "]", "enter")
        await pilot.pause(0.2)
        assert "got '[/]'" in app.screen.error_text  # type: ignore[attr-defined]
        await pilot.press("escape")
        # the progress screen lists the hostile source and category as text
        await pilot.press("p")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ProgressScreen")
        await wait_until(pilot, lambda: app.screen.report is not None)  # type: ignore[attr-defined]
        await pilot.pause(0.2)
        assert "[/]\\x1bc" in screen_text(app)
        assert app.is_running


def test_example_lines_show_hostile_tokens_and_metadata_as_text() -> None:
    from labeler_tui.app.widgets.evidence_text import example_line
    from labeler_tui.core.evidence.examples import Example, TokenGroup

    token = "\x1b]8;;https://evil.example\x07[b]x[/]"
    example = Example(
        example_id=7,
        row=0,
        activation=1.5,
        fraction=0.5,
        region="core",
        tokens=(TokenGroup("family", (token, "plain")),),
        metadata={"mode": "\x1b[2J[/oops]"},
        enriched=(token,),
    )
    text = Text()
    example_line(example, text)
    assert "\x1b" not in text.plain and "\x07" not in text.plain
    assert "\\x1b]8;;https://evil.example\\x07[b]x[/]*" in text.plain  # enriched: starred
    assert "\\x1b[2J[/oops]" in text.plain
    assert text.plain.endswith("#7")
