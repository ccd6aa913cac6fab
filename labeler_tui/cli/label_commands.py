"""Labeling commands: next, label, skip, add, status, sync, export, build-queue, undo, history,
clear.

Thin argument parsing over :class:`labeler_tui.core.service.LabelingService`, so the CLI, the app
and the Python API share one set of rules. Command words, flags (with the original's short
forms) and the ``--json`` shapes are the contract of DESIGN.md; human output is rich tables and
colour on a terminal and plain lines when piped.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from labeler_tui.cli.context import CliContext
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.stores.labels import label_name

if TYPE_CHECKING:
    from labeler_tui.core.service import LabelingService

BUILD_METHODS = ("activation_count", "cluster", "importance", "mysterious")
HISTORY_SCREEN = 20
"""Events `labeler history` shows on screen without --limit (--json gives all)."""


# --- argument types ---------------------------------------------------------------------------
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
    """argparse type for a score in [0, 1]: not a number -> exit 2 (the range is checked later,
    as a validation error: exit 1)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None


def _check_unit(flag: str, value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:  # NaN fails too
        raise ValidationError(f"{flag}: must be a number in [0, 1], got {value:g}")


def _service(ctx: CliContext, **options: Any) -> LabelingService:
    from labeler_tui.core.service import LabelingService

    return LabelingService(ctx.workspace, ctx.model, **options)


def _open_data(ctx: CliContext) -> None:
    """Open (building if needed, with a progress bar) the model data the service will use."""
    ctx.data()


# --- registration -----------------------------------------------------------------------------
def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "next",
        parents=[common],
        help="the next feature to label",
        description="Show the top pending feature of the queue. An empty queue is first built "
        "by activation count unless --no-build. With --claim the feature is leased to --owner "
        "for --ttl seconds, so two agents never get the same one.",
    )
    p.add_argument("--no-build", action="store_true", help="don't build an empty queue")
    p.add_argument("--claim", action="store_true", help="lease the feature (see --owner, --ttl)")
    p.add_argument("--owner", metavar="NAME", help="who holds the lease (default: [labeler] owner)")
    p.add_argument(
        "--ttl",
        type=float,
        metavar="S",
        help="lease length in seconds (default: [app] claim_ttl_seconds, 1800)",
    )
    p.set_defaults(handler=cmd_next)

    p = sub.add_parser(
        "label",
        parents=[common],
        help="save a feature's label",
        description="Save a label to the consolidated store and the dashboard file (and an "
        "existing research state); marks the feature completed in the queue.",
    )
    p.add_argument("--feature-id", "-f", type=int, required=True, metavar="N", help="feature id")
    p.add_argument("--name", "-n", required=True, metavar="S", help="label name")
    p.add_argument(
        "--category",
        "-c",
        metavar="C",
        help="one of the configured categories; none = uncategorized (a new label's default)",
    )
    p.add_argument("--notes", metavar="S", help="investigation notes")
    p.add_argument(
        "--source",
        "-s",
        metavar="S",
        help='provenance, e.g. "claude code", "manual" (default: [labeler] source)',
    )
    for flag in ("interpretability-confidence", "hypothesis-confidence", "stability-score"):
        p.add_argument(f"--{flag}", type=unit_number, metavar="F", help="0..1")
    p.add_argument("--research-label", metavar="S", help="alternative label for research context")
    p.set_defaults(handler=cmd_label)

    p = sub.add_parser(
        "skip",
        parents=[common],
        help="skip a feature (default: the next one)",
        description="Skip a feature, keeping the reason and time. Without --feature-id, the "
        "next feature of the queue is skipped.",
    )
    p.add_argument("--feature-id", "-f", type=int, metavar="N", help="feature id")
    p.add_argument("--reason", "-r", metavar="S", help="why it is skipped")
    p.set_defaults(handler=cmd_skip)

    p = sub.add_parser(
        "add",
        parents=[common],
        help="queue features (IDS like 18712,18890,19042)",
        description="Add features to the queue. A pending feature gets the new priority and "
        "reason; a completed or skipped one is re-queued for relabeling.",
    )
    p.add_argument(
        "feature_ids",
        nargs="+",
        type=feature_id_list,
        metavar="IDS",
        help="feature ids, comma-separated (18712,18890,19042) or space-separated",
    )
    p.add_argument(
        "--priority", "-p", type=float, default=0.5, metavar="F", help="0..1 (default 0.5)"
    )
    p.add_argument("--reason", "-r", metavar="S", help="why they are queued")
    p.set_defaults(handler=cmd_add)

    p = sub.add_parser(
        "status",
        parents=[common],
        help="labeling progress: labels and queue",
        description="Labels by source and category, then queue counts.",
    )
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser(
        "sync",
        parents=[common],
        help="merge dashboard and research labels into the consolidated store",
        description="Merge the dashboard file and research states into the consolidated "
        "store (newest timestamp wins per field, provenance kept) and print what changed.",
    )
    p.set_defaults(handler=cmd_sync)

    p = sub.add_parser(
        "export",
        parents=[common],
        help="write every label to CSV or JSONL",
        description="Export every label record with all its fields: .csv, .jsonl (JSON "
        "Lines) or .json (one array), by the extension of --output.",
    )
    p.add_argument(
        "--output", "-o", default="labels.csv", metavar="PATH", help="default labels.csv"
    )
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser(
        "build-queue",
        parents=[common],
        help="queue candidates chosen by a method (priorities 0..1)",
        description="Add candidates to the queue, skipping labeled, queued, completed and "
        "skipped features. Methods: activation_count (most data), cluster (similar to --seed), "
        "importance (decoder norm percentile), mysterious (important, labeled, low "
        "interpretability confidence).",
    )
    p.add_argument(
        "--method",
        choices=BUILD_METHODS,
        default="activation_count",
        help="default: activation_count",
    )
    p.add_argument("--seed", type=int, metavar="N", help="seed feature (--method cluster)")
    p.add_argument("--top-k", "-k", type=int, default=50, metavar="K", help="default 50")
    p.set_defaults(handler=cmd_build_queue)

    p = sub.add_parser(
        "undo",
        parents=[common],
        help="revert the newest change",
        description="Revert the newest change not yet undone (label, clear, skip, add, "
        "complete, sync; claims and releases are passed over) by appending a compensating "
        "event; history is never rewritten. A change of several features at once (one `add` "
        "or `build-queue` of many ids, one `sync`) is undone whole.",
    )
    p.set_defaults(handler=cmd_undo)

    p = sub.add_parser(
        "history",
        parents=[common],
        help="change events, oldest first",
        description="Show the change history, oldest first: the newest 20 events on screen, "
        "all with --json, or the newest --limit K.",
    )
    p.add_argument("--feature-id", "-f", type=int, metavar="N", help="only this feature")
    p.add_argument("--limit", type=int, metavar="K", help="only the newest K events")
    p.set_defaults(handler=cmd_history)

    p = sub.add_parser(
        "clear",
        parents=[common],
        help="remove a feature's label",
        description="Remove a label from the consolidated store and the dashboard file.",
    )
    p.add_argument("--feature-id", "-f", type=int, required=True, metavar="N", help="feature id")
    p.set_defaults(handler=cmd_clear)


# --- output helpers ---------------------------------------------------------------------------
def _plain(console: Console, lines: Iterable[str]) -> None:
    for line in lines:
        console.print(line, markup=False, highlight=False)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _pairs_table(title: str, rows: list[tuple[str, Any]], numeric: bool = True) -> Table:
    """Two columns, key and value; counts right-aligned, text left-aligned."""
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right" if numeric else "left", style="cyan")
    for key, value in rows:
        table.add_row(key, Text(_fmt(value)))
    if not rows:
        table.add_row("(none yet)", "", style="dim")
    return table


# --- next -------------------------------------------------------------------------------------
def cmd_next(ctx: CliContext) -> int:
    args = ctx.args
    if args.ttl is not None and not args.ttl > 0:
        raise ValidationError(f"--ttl: must be a positive number of seconds, got {args.ttl:g}")
    if not args.no_build:
        _open_data(ctx)
    service = _service(ctx)
    entry = service.next(build=not args.no_build, claim=args.claim, owner=args.owner, ttl=args.ttl)
    result: dict[str, Any] = {
        "feature_id": entry.feature_id if entry else None,
        "priority": entry.priority if entry else None,
        "reason": entry.reason if entry else None,
        "claimed_by": entry.claimed_by if entry else None,
        "claim_expires": entry.claim_expires if entry else None,
    }
    if ctx.json:
        ctx.emit(result)
        return 0
    upcoming = []
    if entry is not None:
        owner = args.owner or service.owner
        upcoming = [
            e
            for e in service.queue().entries
            if e.feature_id != entry.feature_id and not (e.claimed_by and e.claimed_by != owner)
        ][:4]

    def human(console: Console) -> None:
        if entry is None:
            console.print(
                "Queue is empty. Use `labeler add IDS` or `labeler build-queue` to fill it.",
                markup=False,
            )
            return
        added = entry.added_at[:16].replace("T", " ") if entry.added_at else "-"
        rows = [
            ("Priority", f"{entry.priority:.3f}"),
            ("Reason", entry.reason or "-"),
            ("Added", added),
        ]
        if entry.claimed_by:
            rows.append(("Claimed by", f"{entry.claimed_by} until {entry.claim_expires}"))
        if ctx.is_terminal:
            console.print(f"[bold]Next feature:[/] [bold cyan]{entry.feature_id}[/]")
            table = Table(show_header=False, box=None, pad_edge=False)
            table.add_column(style="bold")
            table.add_column()
            for key, value in rows:
                table.add_row(key, Text(value))
            console.print(table)
            if upcoming:
                console.print("[bold]Upcoming[/]")
                for i, e in enumerate(upcoming, 2):
                    console.print(
                        f"  {i}. feature [cyan]{e.feature_id}[/] (priority={e.priority:.3f})"
                    )
            return
        lines = [f"## Next Feature: {entry.feature_id}"]
        lines += [f"- {key}: {value}" for key, value in rows]
        if upcoming:
            lines += ["", "Upcoming:"]
            lines += [
                f"  {i}. Feature {e.feature_id} (priority={e.priority:.3f})"
                for i, e in enumerate(upcoming, 2)
            ]
        _plain(console, lines)

    ctx.emit(result, human)
    return 0


# --- label ------------------------------------------------------------------------------------
def cmd_label(ctx: CliContext) -> int:
    args = ctx.args
    scores = {
        "interpretability_confidence": args.interpretability_confidence,
        "hypothesis_confidence": args.hypothesis_confidence,
        "stability_score": args.stability_score,
    }
    for field, value in scores.items():
        _check_unit("--" + field.replace("_", "-"), value)
    _open_data(ctx)
    record = _service(ctx).set_label(
        args.feature_id,
        args.name,
        args.category,
        args.notes,
        source=args.source,
        research_label=args.research_label,
        **scores,
    )

    def human(console: Console) -> None:
        synced = ["consolidated", "dashboard"]
        if record.get("research_state_path"):
            synced.append("research state")
        rows = [
            ("Name", record.get("display_name")),
            ("Category", record.get("dashboard_category")),
            ("Notes", record.get("dashboard_notes") or None),
            ("Source", record.get("source")),
            ("Importance", record.get("importance_percentile")),
            ("Interpretability", record.get("interpretability_confidence")),
            ("Synced to", ", ".join(synced)),
        ]
        rows = [(k, v) for k, v in rows if v is not None]
        if ctx.is_terminal:
            console.print(f"[green]Label saved[/] for feature [bold cyan]{args.feature_id}[/]")
            console.print(_pairs_table("", rows, numeric=False))
            return
        lines = [f"Label saved for Feature {args.feature_id}:"]
        lines += [f"- {key}: {_fmt(value)}" for key, value in rows]
        _plain(console, lines)

    ctx.emit(record, human)
    return 0


# --- skip / add -------------------------------------------------------------------------------
def cmd_skip(ctx: CliContext) -> int:
    args = ctx.args
    if args.feature_id is not None:
        _open_data(ctx)
    feature_id = _service(ctx).skip(args.feature_id, args.reason)
    result = {"feature_id": feature_id, "reason": args.reason}

    def human(console: Console) -> None:
        if ctx.is_terminal:
            console.print(f"[yellow]Skipped[/] feature [bold cyan]{feature_id}[/]")
            if args.reason:
                console.print(f"Reason: {args.reason}", markup=False)
            return
        _plain(console, [f"Skipped Feature {feature_id}"])
        if args.reason:
            _plain(console, [f"Reason: {args.reason}"])

    ctx.emit(result, human)
    return 0


def cmd_add(ctx: CliContext) -> int:
    args = ctx.args
    ids = [fid for group in args.feature_ids for fid in group]
    _check_unit("--priority", args.priority)
    _open_data(ctx)
    added = _service(ctx).add(ids, priority=args.priority, reason=args.reason)
    result = {"added": added}

    def human(console: Console) -> None:
        if not added:
            _plain(console, ["Nothing added."])
            return
        for fid in added:
            if ctx.is_terminal:
                console.print(
                    f"[green]Added[/] feature [bold cyan]{fid}[/] (priority={args.priority:g})"
                )
            else:
                _plain(console, [f"Added Feature {fid} (priority={args.priority:g})"])

    ctx.emit(result, human)
    return 0


# --- status -----------------------------------------------------------------------------------
def _source_label(source: str) -> str:
    return "Merged" if source == "merged" else f"From {source}"


def cmd_status(ctx: CliContext) -> int:
    status = _service(ctx).status()
    labels, queue = status["labels"], status["queue"]
    by_source = sorted(labels["by_source"].items(), key=lambda kv: (-kv[1], kv[0]))
    by_category = sorted(labels["by_category"].items(), key=lambda kv: (-kv[1], kv[0]))
    queue_rows = [
        ("Pending", queue["pending"]),
        ("Completed", queue["completed"]),
        ("Skipped", queue["skipped"]),
        ("Claimed", queue["claimed"]),
    ]

    def human(console: Console) -> None:
        if ctx.is_terminal:
            console.print(f"[bold]Labeling status[/] ([cyan]{status['model']}[/])\n")
            label_rows = [("Total labeled", labels["total"])]
            label_rows += [(_source_label(src), n) for src, n in by_source]
            console.print(_pairs_table("[bold magenta]Labels[/]", label_rows))
            console.print()
            console.print(_pairs_table("[bold magenta]Categories[/]", by_category))
            console.print()
            console.print(_pairs_table("[bold magenta]Queue[/]", queue_rows))
            return
        lines = [f"## Labeling Status ({status['model']})", "", "### Labels"]
        lines.append(f"- Total labeled: {labels['total']}")
        lines += [f"- {_source_label(src)}: {n}" for src, n in by_source]
        lines += ["", "### Categories"]
        lines += [f"- {cat}: {n}" for cat, n in by_category] or ["- (none yet)"]
        lines += ["", "### Queue"]
        lines += [f"- {key}: {n}" for key, n in queue_rows]
        _plain(console, lines)

    ctx.emit(status, human)
    return 0


# --- sync / export ----------------------------------------------------------------------------
def _describe_change(change: dict[str, Any]) -> str:
    fid, field, origin = change.get("feature_id"), change.get("field"), change.get("from")
    if field == "record":
        if change.get("before") is None:
            return f"feature {fid}: new label {label_name(change.get('after'))!r} (from {origin})"
        return f"feature {fid}: label {label_name(change.get('before'))!r} cleared (from {origin})"
    return f"feature {fid}: {field} {change.get('before')!r} -> {change.get('after')!r} (from {origin})"


def cmd_sync(ctx: CliContext) -> int:
    changes = _service(ctx).sync()
    features = sorted({c.get("feature_id") for c in changes}, key=lambda f: (f is None, f))

    def human(console: Console) -> None:
        if not changes:
            _plain(console, ["Sync: no changes; the consolidated store is up to date."])
            return
        if ctx.is_terminal:
            console.print(f"[bold]Synced[/] {len(changes)} change(s) to {len(features)} feature(s)")
            table = Table("feature", "field", "before", "after", "from", box=None)
            for c in changes:
                if c.get("field") == "record":
                    before = Text(label_name(c.get("before")) or "-")
                    after = Text(label_name(c.get("after")) or "(cleared)")
                    if c.get("after") is None:
                        after.stylize("red")
                else:
                    before, after = Text(_fmt(c.get("before"))), Text(_fmt(c.get("after")))
                table.add_row(
                    str(c.get("feature_id")), str(c.get("field")), before, after, str(c.get("from"))
                )
            console.print(table)
            return
        lines = [f"Synced {len(changes)} change(s) to {len(features)} feature(s):"]
        lines += ["- " + _describe_change(c) for c in changes]
        _plain(console, lines)

    ctx.emit({"changes": changes}, human)
    return 0


def cmd_export(ctx: CliContext) -> int:
    from labeler_tui.core.export import export_format

    output = Path(ctx.args.output).expanduser()
    export_format(output)  # an unknown extension fails before any store is read
    count = _service(ctx).export(output)
    result = {"output": str(output.resolve()), "count": count}
    ctx.emit(
        result,
        lambda console: _plain(console, [f"Exported {count} labels to {result['output']}"]),
    )
    return 0


# --- build-queue ------------------------------------------------------------------------------
def cmd_build_queue(ctx: CliContext) -> int:
    args = ctx.args
    if args.method == "cluster" and args.seed is None:
        raise ValidationError("--seed: required for --method cluster")
    if args.top_k is not None and args.top_k < 1:
        raise ValidationError(f"--top-k: must be at least 1, got {args.top_k}")
    _open_data(ctx)
    added = _service(ctx).build_queue(args.method, seed=args.seed, top_k=args.top_k)

    def human(console: Console) -> None:
        what = f"by {args.method}" + (f" (seed {args.seed})" if args.seed is not None else "")
        if not added:
            _plain(console, [f"Queue unchanged: no new candidates {what}."])
            return
        ids = ", ".join(str(f) for f in added)
        if ctx.is_terminal:
            console.print(f"[green]Added {len(added)}[/] feature(s) to the queue {what}: {ids}")
        else:
            _plain(console, [f"Added {len(added)} feature(s) to the queue {what}: {ids}"])

    ctx.emit({"added": added}, human)
    return 0


# --- undo / history / clear -------------------------------------------------------------------
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


def cmd_undo(ctx: CliContext) -> int:
    events = _service(ctx).undo_change()
    # JSON: the newest compensating event, plus every feature the undo reverted
    undone = sorted(int(e["feature_id"]) for e in events)
    event = dict(events[-1], undone_feature_ids=undone) if events else None

    def human(console: Console) -> None:
        if not events:
            _plain(console, ["Nothing to undo."])
            return
        summaries = {_event_summary(e) for e in events}
        actions = {e.get("undone_action") for e in events}
        if len(events) > 1 and len(summaries) == 1 and len(actions) == 1:
            ids = ", ".join(map(str, undone))
            lines = [f"Undid {actions.pop()} of features {ids}: {summaries.pop()}"]
        else:
            lines = [
                f"Undid {e.get('undone_action')} of feature {e.get('feature_id')}: "
                f"{_event_summary(e)}"
                for e in events
            ]
        _plain(console, lines)

    ctx.emit(event, human)
    return 0


def cmd_history(ctx: CliContext) -> int:
    args = ctx.args
    if args.limit is not None and args.limit < 0:
        raise ValidationError(f"--limit: must be >= 0, got {args.limit}")
    limit = args.limit
    if limit is None and not ctx.json:  # a screenful; the log grows with every change
        limit = HISTORY_SCREEN + 1
    events = _service(ctx).history(feature_id=args.feature_id, limit=limit)
    more = args.limit is None and not ctx.json and len(events) > HISTORY_SCREEN
    if more:
        events = events[-HISTORY_SCREEN:]

    def human(console: Console) -> None:
        if not events:
            _plain(console, ["No history yet."])
            return
        if more:
            _plain(
                console,
                [f"(the newest {HISTORY_SCREEN} events; --limit K for more, --json for all)"],
            )
        rows = [
            (
                str(e.get("ts", ""))[:19].replace("T", " "),
                str(e.get("action", "")),
                _fmt(e.get("feature_id")),
                str(e.get("source") or ""),
                str(e.get("owner") or ""),
                _event_summary(e),
            )
            for e in events
        ]
        if ctx.is_terminal:
            table = Table("time (UTC)", "action", "feature", "source", "owner", "change", box=None)
            for row in rows:
                table.add_row(*(Text(cell) for cell in row))
            console.print(table)
            return
        _plain(console, ["  ".join(part for part in row if part) for row in rows])

    ctx.emit(events, human)
    return 0


def cmd_clear(ctx: CliContext) -> int:
    feature_id = ctx.args.feature_id
    removed = _service(ctx).clear_label(feature_id)
    result = {"feature_id": feature_id, "removed": removed}

    def human(console: Console) -> None:
        if removed is None:
            _plain(console, [f"Feature {feature_id} had no label; nothing changed."])
        else:
            _plain(
                console, [f"Cleared the label of feature {feature_id} ({label_name(removed)!r})"]
            )

    ctx.emit(result, human)
    return 0
