"""Argument types and options shared by the commands (one declaration each)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from labeler_tui.core.records import edit_options


def feature_id_list(text: str) -> list[int]:
    """``18712,18890,19042`` -> ids (argparse type: a malformed list is a usage error, exit 2)."""
    parts = [part.strip() for part in text.split(",")]
    if parts and parts[-1] == "":
        parts.pop()  # a trailing comma is harmless
    if not parts or any(not part for part in parts):
        raise argparse.ArgumentTypeError(f"expected comma-separated feature ids, got {text!r}")
    ids = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not a feature id (expected e.g. 18712,18890,19042)"
            ) from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"feature id {value} is negative")
        ids.append(value)
    return ids


def unit_number(text: str) -> float:
    """argparse type for a score in [0, 1]: not a number -> exit 2 (the range is checked by the
    core, as a validation error: exit 1)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None


def add_feature_id(
    parser: argparse.ArgumentParser, required: bool = True, help: str = "feature id"
) -> None:
    """``--feature-id N`` / ``-f N``."""
    parser.add_argument("--feature-id", "-f", type=int, required=required, metavar="N", help=help)


def add_method(
    parser: argparse.ArgumentParser,
    names: Iterable[str],
    default: str | None,
    help: str,
) -> None:
    """``--method M`` with the choices of a registry."""
    parser.add_argument("--method", choices=tuple(names), default=default, help=help)


def add_label_edit(parser: argparse.ArgumentParser, name_required: bool = True) -> None:
    """One option per field of :class:`~labeler_tui.core.records.LabelEdit` (its flag, short
    form and help come from the record module); ``name_required`` False when the command
    checks the name itself (``label --from-suggestion`` gives one)."""
    for option in edit_options():
        unit = option.kind == "unit"
        parser.add_argument(
            *option.flags,
            dest=option.name,
            type=unit_number if unit else str,
            required=option.required and name_required,
            metavar={"unit": "F", "category": "C", "expression": "EXPR"}.get(option.kind, "S"),
            help=option.help,
        )


def add_owner(parser: argparse.ArgumentParser) -> None:
    """``--owner NAME``: who makes the change (recorded in the history; whose changes ``undo``
    reverts; whose claims bind others)."""
    parser.add_argument(
        "--owner",
        metavar="NAME",
        help="who makes the change (default: [labeler] owner, else your login name)",
    )


def add_force(parser: argparse.ArgumentParser) -> None:
    """``--force``: write a feature another owner has claimed."""
    parser.add_argument(
        "--force",
        action="store_true",
        help="write even if another owner holds a live claim on the feature",
    )
