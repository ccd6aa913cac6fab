"""Parser and dispatch for ``labeler``.

Each command group lives in its own module with ``register(subparsers, common)``; a handler
takes a :class:`CliContext` and returns an exit code (None means 0). A LabelerError becomes one
line on stderr and exit 1; argparse problems exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from labeler_tui.cli import (
    agent_commands,
    analysis_commands,
    data_commands,
    evidence_commands,
    history_commands,
    import_commands,
    label_commands,
    queue_commands,
)
from labeler_tui.cli.context import CliContext
from labeler_tui.core.errors import LabelerError
from labeler_tui.core.sanitize import visible

COMMAND_MODULES = (
    data_commands,
    queue_commands,
    label_commands,
    history_commands,
    analysis_commands,
    evidence_commands,
    import_commands,
    agent_commands,
)


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """--workspace/--model/--json, accepted before or after the command word."""
    default = argparse.SUPPRESS if suppress else None
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--workspace", metavar="DIR", default=default, help="workspace folder (or its labeler.toml)"
    )
    common.add_argument(
        "--model",
        metavar="NAME",
        default=default,
        help="model name (default: the workspace's default_model)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print one JSON document on stdout",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labeler",
        description="Label sparse autoencoder features: queue, labels, analysis. "
        "Run `labeler-tui` for the interactive app.",
        parents=[_common_options(suppress=False)],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    common = _common_options(suppress=True)
    for module in COMMAND_MODULES:
        module.register(sub, common)
    return parser


PATH_ARGUMENTS = frozenset({"workspace", "output", "dir"})
"""Arguments that name files: any bytes the file system allows (shown with escapes)."""


def _flag(parser: argparse.ArgumentParser, args: argparse.Namespace, dest: str) -> str:
    """How the user spelled the argument stored in ``dest`` (``--name``, ``IDS``)."""
    parsers = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and args.command in action.choices:
            parsers.insert(0, action.choices[args.command])
    for candidate in parsers:
        for action in candidate._actions:
            if action.dest == dest:
                return action.option_strings[0] if action.option_strings else str(action.metavar)
    return dest


def _check_text_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Text arguments must be UTF-8: an undecodable byte would be stored in the JSON files (or
    break them). Bad usage (exit 2), naming the argument."""
    for dest, value in vars(args).items():
        if dest in PATH_ARGUMENTS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    parser.error(
                        f"{_flag(parser, args, dest)}: not valid UTF-8 text: {visible(item)}"
                    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_text_arguments(parser, args)
    ctx = CliContext(args)
    try:
        code = args.handler(ctx)
    except LabelerError as exc:
        ctx.err.print(visible(f"labeler: error: {exc}"), soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        ctx.err.print("labeler: interrupted")
        return 130
    except BrokenPipeError:
        return 0
    return int(code or 0)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
