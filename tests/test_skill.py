"""`labeler skill`: the agents' guide ships with the package and is right about our CLI and tools."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from labeler_tui.cli.main import build_parser, main
from labeler_tui.mcp.tools import TOOLS
from labeler_tui.skill import skill_text

TEXT = skill_text()
PLACEHOLDERS = {"N": "7", "T": "swim_speed_up", "S": "x", "EXPR": "comeback", "IDS": "1,2"}
"""Words of the tool table's command shapes, and what stands in for them when parsed."""


def command_lines() -> list[str]:
    """Every ``labeler ...`` command of the guide: the lines of its code blocks (also after
    ``-- `` in a line that launches one, as ``claude mcp add labeler -- labeler mcp``) and its
    inline code spans."""
    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", TEXT, re.DOTALL):
        for line in block.splitlines():
            line = line.split(" -- ", 1)[1] if " -- labeler " in line else line
            if line.startswith("labeler "):
                found.append(line)
    found += [span for span in re.findall(r"`([^`\n]+)`", TEXT) if span.startswith("labeler ")]
    return found


def test_labeler_skill_prints_the_packaged_guide(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skill"]) == 0
    assert capsys.readouterr().out == TEXT
    assert main(["skill", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"text": TEXT}


def test_the_guide_is_a_skill_file() -> None:
    front = re.match(r"---\nname: labeler\ndescription: (.+)\n---\n", TEXT)
    assert front is not None and len(front.group(1)) > 80


def test_every_command_in_the_guide_parses() -> None:
    lines = command_lines()
    assert len(lines) >= 25
    parser = build_parser()
    commands = set()
    for line in lines:
        words = [PLACEHOLDERS.get(word, word) for word in shlex.split(line, comments=True)[1:]]
        try:
            args = parser.parse_args(words)
        except SystemExit as exit_:
            raise AssertionError(f"the guide's `{line}` does not parse") from exit_
        commands.add(args.command)
    loop = {"next", "overview", "examples", "test", "coverage", "effects", "label", "similar"}
    assert loop | {"add", "skip", "status", "history", "undo", "mcp"} <= commands


def test_the_guide_covers_every_tool_and_both_ways_in() -> None:
    table = TEXT.split("## MCP tools and CLI commands", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| `labeler ([\w-]+)", table, re.MULTILINE)
    assert [tool for tool, _ in rows] == [name for name, _, _ in TOOLS]
    assert all(tool == command for tool, command in rows)  # same word both ways
    for advice in ("--source", "--interpretability-confidence", "core coverage", "tail_marker"):
        assert advice in TEXT
    for section in ("The core, not the top", "The strategic label test", "Categories"):
        assert f"### {section}" in TEXT
