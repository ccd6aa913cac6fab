"""Queue commands: ``next``, ``skip``, ``add``, ``build-queue``.

Thin argument parsing over :class:`labeler_tui.core.service.LabelingService`; human output is
rich text on a terminal and the original tool's plain lines when piped.
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from labeler_tui.cli.context import CliContext
from labeler_tui.cli.options import (
    add_feature_id,
    add_force,
    add_method,
    add_owner,
    feature_id_list,
)
from labeler_tui.cli.output import plain, text
from labeler_tui.core.data import ModelData
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.queueing import AddResult
from labeler_tui.core.registry import QUEUE_METHODS
from labeler_tui.core.results.queue import next_result, skip_result
from labeler_tui.core.service import DEFAULT_BUILD_TOP_K
from labeler_tui.core.timestamps import shown
from labeler_tui.core.validation import check_ttl, check_unit_interval

UPCOMING = 4
"""Entries `labeler next` lists after the next one."""


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
        help="lease length in seconds, 1 to 604800 (default: [app] claim_ttl_seconds, 1800)",
    )
    p.set_defaults(handler=cmd_next)

    p = sub.add_parser(
        "skip",
        parents=[common],
        help="skip a feature (default: the next one)",
        description="Skip a feature, keeping the reason and time. Without --feature-id, the "
        "next feature of the queue is skipped.",
    )
    add_feature_id(p, required=False)
    p.add_argument("--reason", "-r", metavar="S", help="why it is skipped")
    add_owner(p)
    add_force(p)
    p.set_defaults(handler=cmd_skip)

    p = sub.add_parser(
        "add",
        parents=[common],
        help="queue features (IDS like 18712,18890,19042)",
        description="Add features to the queue. A skipped feature is queued again, a "
        "completed (labeled) one for relabeling; a pending one changes only when the new "
        "priority is higher. Prints what changed.",
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
    add_owner(p)
    p.set_defaults(handler=cmd_add)

    methods = QUEUE_METHODS.entries()
    p = sub.add_parser(
        "build-queue",
        parents=[common],
        help="queue candidates chosen by a method (priorities 0..1)",
        description="Queue --top-k new features chosen by a method: pending ones keep their "
        "priority and reason and do not count, skipped ones are never proposed, labeled ones "
        "only with --include-labeled (or by a method that relabels). Methods: "
        + "; ".join(f"{m.name} ({m.help})" for m in methods)
        + ".",
    )
    add_method(p, QUEUE_METHODS.names(), methods[0].name, f"default: {methods[0].name}")
    p.add_argument("--seed", type=int, metavar="N", help="seed feature (--method cluster)")
    p.add_argument(
        "--top-k",
        "-k",
        type=int,
        default=DEFAULT_BUILD_TOP_K,
        metavar="K",
        help=f"how many new features to queue (default {DEFAULT_BUILD_TOP_K})",
    )
    p.add_argument(
        "--include-labeled",
        action="store_true",
        help="propose labeled features too (queued again for relabeling)",
    )
    add_owner(p)
    p.set_defaults(handler=cmd_build_queue)


# --- next -------------------------------------------------------------------------------------
def cmd_next(ctx: CliContext) -> int:
    args = ctx.args
    if args.ttl is not None:
        check_ttl(args.ttl, "--ttl")
    if not args.no_build:
        ctx.data()
    service = ctx.service()
    entry = service.next(build=not args.no_build, claim=args.claim, owner=args.owner, ttl=args.ttl)
    result = next_result(entry)
    if ctx.json:
        ctx.emit(result)
        return 0
    upcoming = []
    if entry is not None:
        available = service.queue().available(args.owner or service.owner, service.now())
        upcoming = [e for e in available if e.feature_id != entry.feature_id][:UPCOMING]

    def human(console: Console) -> None:
        if entry is None:
            plain(
                console,
                ["Queue is empty. Use `labeler add IDS` or `labeler build-queue` to fill it."],
            )
            return
        rows = [
            ("Priority", f"{entry.priority:.3f}"),
            ("Reason", entry.reason or "-"),
            ("Added", shown(entry.added_at)),
        ]
        if entry.claimed_by:
            rows.append(("Claimed by", f"{entry.claimed_by} until {shown(entry.claim_expires)}"))
        if ctx.is_terminal:
            console.print(f"[bold]Next feature:[/] [bold cyan]{entry.feature_id}[/]", markup=True)
            table = Table(show_header=False, box=None, pad_edge=False)
            table.add_column(style="bold")
            table.add_column()
            for key, value in rows:
                table.add_row(key, text(value))
            console.print(table)
            if upcoming:
                console.print("[bold]Upcoming[/]", markup=True)
                for i, e in enumerate(upcoming, 2):
                    console.print(
                        f"  {i}. feature [cyan]{e.feature_id}[/] (priority={e.priority:.3f})",
                        markup=True,
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
        plain(console, lines)

    ctx.emit(result, human)
    return 0


# --- skip / add -------------------------------------------------------------------------------
def cmd_skip(ctx: CliContext) -> int:
    args = ctx.args
    if args.feature_id is not None:
        ctx.data()
    feature_id = ctx.service().skip(args.feature_id, args.reason, force=args.force)
    result = skip_result(feature_id, args.reason)

    def human(console: Console) -> None:
        if ctx.is_terminal:
            console.print(f"[yellow]Skipped[/] feature [bold cyan]{feature_id}[/]", markup=True)
            if args.reason:
                plain(console, [f"Reason: {args.reason}"])
            return
        plain(console, [f"Skipped Feature {feature_id}"])
        if args.reason:
            plain(console, [f"Reason: {args.reason}"])

    ctx.emit(result, human)
    return 0


def cmd_add(ctx: CliContext) -> int:
    args = ctx.args
    ids = [fid for group in args.feature_ids for fid in group]
    check_unit_interval("--priority", args.priority)  # before the data opens
    ctx.data()
    result = ctx.service().add(ids, priority=args.priority, reason=args.reason)
    ctx.emit(result.to_json(), lambda console: _say_added(console, result, ""))
    return 0


def _say_added(console: Console, result: AddResult, what: str) -> None:
    """``3 queued, 9 already pending, 1 skipped left as is`` and the ids that changed."""
    lines = [f"{result.summary()}{what}."]
    if result.changed:
        lines.append("Queued: " + ", ".join(map(str, result.changed)))
    plain(console, lines)


# --- build-queue ------------------------------------------------------------------------------
def _prepare_similarity(ctx: CliContext, data: ModelData) -> None:
    """Build the default similarity method's one-time table with a progress bar (a seeded
    builder ranks every feature by it; at full scale the table takes seconds to minutes)."""
    from labeler_tui.core.analysis.similarity import similarity_method

    method = similarity_method(data)
    if method.prepare is not None and not method.is_ready(data):
        with ctx.progress() as progress:
            method.prepare(data, progress)


def cmd_build_queue(ctx: CliContext) -> int:
    args = ctx.args
    if QUEUE_METHODS.get(args.method).takes_seed and args.seed is None:
        raise ValidationError(f"--seed: required for --method {args.method}")
    if args.top_k is not None and args.top_k < 1:
        raise ValidationError(f"--top-k: must be at least 1, got {args.top_k}")
    data = ctx.data()
    if QUEUE_METHODS.get(args.method).takes_seed:
        _prepare_similarity(ctx, data)
    result = ctx.service().build_queue(
        args.method, seed=args.seed, top_k=args.top_k, include_labeled=args.include_labeled
    )
    what = f" by {args.method}" + (f" (seed {args.seed})" if args.seed is not None else "")
    ctx.emit(result.to_json(), lambda console: _say_added(console, result, what))
    return 0
