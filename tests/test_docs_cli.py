"""docs/cli.md stays in step with the `labeler` parser.

Every subcommand has a ``## labeler COMMAND`` section; every option string of the subcommand
(long and short forms) appears in its section; every ``--flag`` or ``-x`` written in a section
exists in that command's parser; positional arguments are named by their metavar; and no section
documents a command the parser lacks. Adding a flag without documenting it fails here.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from labeler_tui.cli.main import build_parser

CLI_DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
COMMON = frozenset({"--workspace", "--model", "--json"})
"""Accepted by every command and documented once under "Global options"."""
HELP = frozenset({"-h", "--help"})

_SECTION = re.compile(r"^## labeler (\S+)[ \t]*$", re.MULTILINE)
_LONG = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*")
_SHORT = re.compile(r"(?<![\w-])-[A-Za-z](?![\w-])")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    assert parser._subparsers is not None, "labeler has no subcommands"
    action = parser._subparsers._group_actions[0]
    assert isinstance(action, argparse._SubParsersAction)
    return dict(action.choices)


def _sections() -> dict[str, str]:
    """Command -> the text of its ``## labeler COMMAND`` section (up to the next ``## ``)."""
    text = CLI_DOC.read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    for match in _SECTION.finditer(text):
        command = match.group(1)
        assert command not in sections, f"docs/cli.md: two sections for `labeler {command}`"
        end = text.find("\n## ", match.end())
        sections[command] = text[match.end() : end if end >= 0 else len(text)]
    return sections


def _section(command: str) -> str:
    section = _sections().get(command)
    assert section is not None, f"docs/cli.md has no `## labeler {command}` section"
    return section


def _option_strings(sub: argparse.ArgumentParser) -> set[str]:
    return {
        option
        for action in sub._actions
        for option in action.option_strings
        if option not in HELP and option not in COMMON
    }


def _mentions(section: str, option: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", section) is not None


SUBCOMMANDS = _subcommands()


def test_every_command_has_a_section_and_no_section_is_extra() -> None:
    sections = _sections()
    missing = sorted(set(SUBCOMMANDS) - set(sections))
    extra = sorted(set(sections) - set(SUBCOMMANDS))
    assert not missing, f"docs/cli.md lacks a `## labeler COMMAND` section for: {missing}"
    assert not extra, f"docs/cli.md documents commands the parser does not have: {extra}"


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_every_option_of_the_command_is_documented(command: str) -> None:
    section = _section(command)
    undocumented = sorted(
        option for option in _option_strings(SUBCOMMANDS[command]) if not _mentions(section, option)
    )
    assert not undocumented, (
        f"`labeler {command}` accepts {undocumented} but its section in docs/cli.md "
        "does not mention them"
    )


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_every_positional_argument_is_named(command: str) -> None:
    section = _section(command)
    for action in SUBCOMMANDS[command]._actions:
        if action.option_strings or isinstance(action, argparse._SubParsersAction):
            continue
        name = action.metavar if isinstance(action.metavar, str) else action.dest
        assert _mentions(section, name), (
            f"`labeler {command}` takes the argument {name} but its section in docs/cli.md "
            "does not name it"
        )


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_every_documented_flag_exists(command: str) -> None:
    section = _section(command)
    known = {option for action in SUBCOMMANDS[command]._actions for option in action.option_strings}
    written = set(_LONG.findall(section)) | set(_SHORT.findall(section))
    unknown = sorted(written - known)
    assert not unknown, (
        f"docs/cli.md documents {unknown} under `labeler {command}`, "
        f"but `labeler {command}` has no such option"
    )


MIGRATION_DOC = CLI_DOC.with_name("migration.md")
_MAPPED_ROW = re.compile(r"^\| `(?:labeler|overview)_cli [^|]*\| `(labeler [^`]*)`", re.MULTILINE)


def test_the_migration_guide_commands_parse() -> None:
    """Every ``labeler ...`` command docs/migration.md maps an original command to is accepted
    by the parser (placeholders ``N`` and ``"..."`` become values; ``[...]`` is optional)."""
    commands = _MAPPED_ROW.findall(MIGRATION_DOC.read_text(encoding="utf-8"))
    assert len(commands) >= 10
    parser = build_parser()
    for command in commands:
        filled = re.sub(r"\[([^\]]*)\]", r"\1", command).replace("...", "x")
        words = ["7" if w == "N" else w for w in shlex.split(filled)[1:]]
        try:
            parser.parse_args(words)
        except SystemExit as exit_:
            raise AssertionError(f"docs/migration.md: `{command}` does not parse") from exit_
