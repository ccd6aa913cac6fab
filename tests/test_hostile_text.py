"""Hostile user text: stored and exported exactly, shown as visible text (never markup, never a
terminal control) by every CLI command, piped and on a terminal."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from labeler_tui.cli.main import main
from labeler_tui.core.sanitize import visible

NAME = "\x1b]0;PWNED\x07[/] [link=https://evil.example]click[/link] :smile: \x1b[2J"
NOTES = "line one\nline\ttwo \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ \u202eevil\r!"
REASON = "[bold]loud[/] \x1b[31mred\x1b[0m \x9b2J"
OWNER = "[/oops]\x1b[5m"
SOURCE = "[/]\x1bc"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\r")


def test_visible_escapes_controls_and_keeps_text() -> None:
    assert visible("plain [b]text[/b] é 漢 ✓\n\tok") == "plain [b]text[/b] é 漢 ✓\n\tok"
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\x07\x7f\x9b\r") == "\\x07\\x7f\\x9b\\x0d"
    assert visible("\u202eevil\u2066") == "\\u202eevil\\u2066"
    assert visible("bad\udcffbyte") == "bad\\xffbyte"  # an argument that was not UTF-8
    assert visible(visible(NAME)) == visible(NAME)


@pytest.fixture
def hostile(tiny_workspace: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """Feature 3 labeled, feature 4 skipped, feature 5 claimed, all with hostile text."""
    ws = str(tiny_workspace)
    args = ["--workspace", ws, "label", "-f", "3", "-n", NAME, "--notes", NOTES]
    assert main([*args, "--source", SOURCE, "--owner", OWNER]) == 0
    assert main(["--workspace", ws, "add", "4,5", "--reason", REASON]) == 0
    assert main(["--workspace", ws, "skip", "-f", "4", "--reason", REASON]) == 0
    assert main(["--workspace", ws, "next", "--claim", "--owner", OWNER]) == 0
    capsys.readouterr()
    return tiny_workspace


COMMANDS = [
    ["status"],
    ["history"],
    ["history", "-f", "3"],
    ["next"],
    ["next", "--owner", OWNER],
    ["overview", "-f", "3"],
    ["similar", "-f", "2", "-k", "11"],
    ["similar", "-f", "2", "-k", "11", "--method", "tokens"],
    ["undo", "--any"],
]


_SGR = re.compile(r"\x1b\[[0-9;]*m")
PAYLOADS = ("\x1b]0;PWNED", "\x1b[2J", "\x1b[5m", "\x1bc", "\x9b2J", "\x1b]8;;", "\x1b[31mred")


def _assert_safe(out: str) -> None:
    """No payload reaches the output raw; on a terminal rich's own colour codes (SGR) are the
    only escapes; no emoji code or markup was interpreted."""
    for payload in PAYLOADS:
        assert payload not in out
    rest = _SGR.sub("", out)
    assert [c for c in rest if visible(c) != c] == []
    assert "😄" not in out


@pytest.mark.parametrize("terminal", [False, True])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_shows_hostile_text_as_text(
    hostile: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    terminal: bool,
) -> None:
    if terminal:
        monkeypatch.setenv("TTY_COMPATIBLE", "1")
        monkeypatch.setenv("COLUMNS", "400")
    assert main(["--workspace", str(hostile), *command]) == 0
    out = capsys.readouterr().out
    _assert_safe(out)
    if command[0] in ("overview", "similar") or command == ["history", "-f", "3"]:
        assert "\\x1b]0;PWNED\\x07" in out and "[/] [link=https://evil.example]" in out


def test_history_and_labels_show_the_escaped_names(
    hostile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--workspace", str(hostile), "history", "-f", "4"]) == 0
    out = capsys.readouterr().out
    assert "[bold]loud[/] \\x1b[31mred\\x1b[0m \\x9b2J" in out
    assert main(["--workspace", str(hostile), "overview", "-f", "3"]) == 0
    assert visible(NAME) in capsys.readouterr().out
    assert main(["--workspace", str(hostile), "status"]) == 0
    assert visible(SOURCE) in capsys.readouterr().out


def test_json_output_and_exports_round_trip_exactly(
    hostile: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = str(hostile)
    assert main(["--workspace", ws, "--json", "history"]) == 0
    events = json.loads(capsys.readouterr().out)
    label = next(e for e in events if e["action"] == "label")
    assert label["after"]["dashboard_name"] == NAME and label["after"]["dashboard_notes"] == NOTES
    assert label["owner"] == OWNER and label["source"] == SOURCE
    skip = next(e for e in events if e["action"] == "skip")
    assert skip["after"]["reason"] == REASON
    assert main(["--workspace", ws, "--json", "next", "--owner", OWNER]) == 0
    assert json.loads(capsys.readouterr().out)["claimed_by"] == OWNER
    for suffix in ("csv", "json", "jsonl"):
        out = tmp_path / f"out.{suffix}"
        assert main(["--workspace", ws, "export", "-o", str(out)]) == 0
        capsys.readouterr()
        text = out.read_text(encoding="utf-8")
        if suffix == "csv":
            with out.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            row = next(r for r in rows if r["feature_id"] == "3")
            assert (row["display_name"], row["notes"], row["source"]) == (NAME, NOTES, SOURCE)
        else:
            rows = (
                json.loads(text)
                if suffix == "json"
                else [json.loads(x) for x in text.split("\n") if x]
            )
            row = next(r for r in rows if r["feature_id"] == 3)
            assert (row["dashboard_name"], row["dashboard_notes"]) == (NAME, NOTES)


def test_an_error_naming_hostile_text_is_one_visible_line(
    hostile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--workspace", str(hostile), "label", "-f", "5", "-n", "mine"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert visible(OWNER) in err and "\x1b" not in err
