"""History commands: ``undo`` and ``history``."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from labeler_tui.cli.context import CliContext
from labeler_tui.cli.options import add_feature_id, add_owner
from labeler_tui.cli.output import fmt, plain, text
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.records import label_name
from labeler_tui.core.results.history import undo_result

HISTORY_SCREEN = 20
"""Events `labeler history` shows on screen without --limit (--json gives all)."""


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "undo",
        parents=[common],
        help="revert the newest change",
        description="Revert the newest change not yet undone (label, clear, skip, add, "
        "complete, sync; claims and releases are passed over) by appending a compensating "
        "event; history is never rewritten. A change of several features at once (one `add` "
        "or `build-queue` of many ids, one `sync`) is undone whole. Only your own changes "
        "(--owner) unless --any.",
    )
    add_owner(p)
    p.add_argument("--any", action="store_true", help="the newest change of anyone")
    p.set_defaults(handler=cmd_undo)

    p = sub.add_parser(
        "history",
        parents=[common],
        help="change events, oldest first",
        description="Show the change history, oldest first: the newest 20 events on screen, "
        "all with --json, or the newest --limit K.",
    )
    add_feature_id(p, required=False, help="only this feature")
    p.add_argument("--limit", type=int, metavar="K", help="only the newest K events")
    p.set_defaults(handler=cmd_history)


# --- undo / history -------------------------------------------------------------------
def _event_summary(event: dict[str, Any]) -> str:
    action = event.get("action")
    before, after = event.get("before"), event.get("after")
    if action in ("label", "clear", "sync") or (
        action == "undo" and event.get("undone_action") in ("label", "clear", "sync")
    ):
        old, new = label_name(before), label_name(after)
        if old == new:
            return repr(new) if new else ""
        return f"{old!r} -> {new!r}" if old and new else (f"-> {new!r}" if new else f"{old!r} ->")
    states = [s.get("status") if isinstance(s, dict) else None for s in (before, after)]
    text = f"{states[0] or '-'} -> {states[1] or '-'}"
    if isinstance(after, dict) and after.get("reason"):
        text += f" ({after['reason']})"
    return text


def _whose(event: dict[str, Any]) -> str:
    owner = event.get("undone_owner")
    return f"{owner}'s " if owner else ""


def cmd_undo(ctx: CliContext) -> int:
    events = ctx.service().undo(any_owner=ctx.args.any)
    undone = sorted(int(e["feature_id"]) for e in events)

    def human(console: Console) -> None:
        if not events:
            plain(console, ["Nothing to undo."])
            return
        summaries = {_event_summary(e) for e in events}
        actions = {e.get("undone_action") for e in events}
        whose = _whose(events[-1])
        if len(events) > 1 and len(summaries) == 1 and len(actions) == 1:
            ids = ", ".join(map(str, undone))
            lines = [f"Undid {whose}{actions.pop()} of features {ids}: {summaries.pop()}"]
        else:
            lines = [
                f"Undid {_whose(e)}{e.get('undone_action')} of feature {e.get('feature_id')}: "
                f"{_event_summary(e)}"
                for e in events
            ]
        plain(console, lines)

    ctx.emit(undo_result(events), human)
    return 0


def cmd_history(ctx: CliContext) -> int:
    args = ctx.args
    if args.limit is not None and args.limit < 0:
        raise ValidationError(f"--limit: must be >= 0, got {args.limit}")
    limit = args.limit
    if limit is None and not ctx.json:  # a screenful; the log grows with every change
        limit = HISTORY_SCREEN + 1
    events = ctx.service().history(feature_id=args.feature_id, limit=limit)
    more = args.limit is None and not ctx.json and len(events) > HISTORY_SCREEN
    if more:
        events = events[-HISTORY_SCREEN:]

    def human(console: Console) -> None:
        if not events:
            plain(console, ["No history yet."])
            return
        if more:
            plain(
                console,
                [f"(the newest {HISTORY_SCREEN} events; --limit K for more, --json for all)"],
            )
        rows = [
            (
                str(e.get("ts", ""))[:19].replace("T", " "),
                str(e.get("action", "")),
                fmt(e.get("feature_id")),
                str(e.get("source") or ""),
                str(e.get("owner") or ""),
                _event_summary(e),
            )
            for e in events
        ]
        if ctx.is_terminal:
            table = Table("time (UTC)", "action", "feature", "source", "owner", "change", box=None)
            for row in rows:
                table.add_row(*(text(cell) for cell in row))
            console.print(table)
            return
        plain(console, ["  ".join(part for part in row if part) for row in rows])

    ctx.emit(events, human)
    return 0
