"""Analysis commands: ``overview``, ``coverage`` and ``similar``."""

from __future__ import annotations

import argparse
import io
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from labeler_tui.cli.context import CliContext
from labeler_tui.cli.options import add_feature_id, add_method
from labeler_tui.cli.output import plain, text
from labeler_tui.core.records import label_name
from labeler_tui.core.registry import SIMILARITY_METHODS
from labeler_tui.core.sanitize import visible

OVERVIEW_TEXT_WIDTH = 110
"""Columns of the overview as text (the regions table fits)."""


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "overview",
        parents=[common],
        help="one feature's activation regions, red flags and statistics",
        description="Effective max, the six activation regions with their top tokens, families "
        "and metadata values, red flags (tail markers, flanderized values, super-stimuli), "
        "importance, stability and the feature's label.",
    )
    add_feature_id(p)
    p.set_defaults(handler=cmd_overview)

    p = sub.add_parser(
        "coverage",
        parents=[common],
        help="core coverage of a token, family or metadata value",
        description="Percent of the feature's core examples (25-75 percent of effective max) "
        "containing the subject; verdict headline (> 50), mention (30-50), tail_marker (< 30).",
    )
    add_feature_id(p)
    p.add_argument(
        "--token",
        required=True,
        metavar="T",
        help="a token name, a token family name, or COLUMN=VALUE for a metadata value",
    )
    p.set_defaults(handler=cmd_coverage)

    methods = SIMILARITY_METHODS.entries()
    p = sub.add_parser(
        "similar",
        parents=[common],
        help="features most similar to one feature",
        description="Nearest features, with their labels, by "
        + "; ".join(f"{m.name} ({m.help})" for m in methods)
        + ".",
    )
    add_feature_id(p)
    add_method(
        p,
        SIMILARITY_METHODS.names(),
        None,
        "default: decoder (tokens for a model without a decoder)",
    )
    p.add_argument("--top-k", "-k", type=int, default=10, metavar="K", help="default: 10")
    p.set_defaults(handler=cmd_similar)


# --- overview ---------------------------------------------------------------------------------
def cmd_overview(ctx: CliContext) -> int:
    ctx.data()
    overview = ctx.service().overview(ctx.args.feature_id)
    ctx.emit(overview, lambda console: print_overview(console, overview))
    return 0


def overview_text(overview: Mapping[str, Any], width: int = OVERVIEW_TEXT_WIDTH) -> str:
    """The overview as plain text, as ``labeler overview`` prints it when piped (the MCP server's
    feature pages)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system=None,
        force_terminal=False,
        highlight=False,
        soft_wrap=True,
    )
    print_overview(console, dict(overview))
    return buffer.getvalue()


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_overview(console: Console, o: dict[str, Any]) -> None:
    name = label_name(o["label"])
    console.print(
        Text.assemble(
            (f"Feature {o['feature_id']}", "bold"),
            f" ({visible(o['model'])})",
            ("  " + visible(name), "bold green") if name else ("  (unlabeled)", "dim"),
        )
    )
    plain(
        console,
        [
            f"nonzero {o['n_nonzero']}   effective max {_fmt(o['effective_max'])}   "
            f"max {_fmt(o['max'])}   mean {_fmt(o['mean'])}   importance "
            f"{_fmt(o['importance_percentile'], 1)}   stability {_fmt(o['stability_score'], 2)}   "
            f"quadrant {o['quadrant'] or '-'}"
        ],
    )
    if o.get("importance_note"):
        console.print(Text(f"importance: {o['importance_note']}", style="dim"))
    if not o["regions"]:
        console.print(Text("No nonzero activations: this feature is dead.", style="dim"))
        return
    _print_histogram(console, o["histogram"])
    console.print(_regions_table(o))
    if o["flags"]:
        console.print(Text("Red flags", style="bold red"))
        for flag in o["flags"]:
            console.print(text(f"  ! {_describe_flag(flag)}", "red"))
    else:
        console.print(Text("No red flags.", style="green"))
    if o["general"]:
        shown = [g for g in o["general"] if g["kind"] == "family"][:5]
        shown += [g for g in o["general"] if g["kind"] == "metadata"][:5]
        general = ", ".join(
            f"{g['subject']} ({_fmt(g['core_coverage'], 0)}% of core)" for g in shown
        )
        console.print(Text.assemble(("General (in every region): ", "bold"), visible(general)))
    effects = o.get("effects")
    if effects:
        console.print(
            Text.assemble(
                ("Decoder promotes: ", "bold"),
                visible(", ".join(e["name"] for e in effects["promoted"][:5])),
                ("; suppresses: ", "bold"),
                visible(", ".join(e["name"] for e in effects["suppressed"][:5])),
            )
        )


def _regions_table(o: dict[str, Any]) -> Table:
    table = Table(title="Activation regions (fraction of effective max)", expand=False)
    for column in ("region", "count", "share"):
        table.add_column(column, justify="left" if column == "region" else "right", no_wrap=True)
    # Token names carry the AP level at their end (special_charge_up_57): never cut them off.
    for column, key, name in (
        ("top tokens", "top_tokens", "token"),
        ("top families", "top_families", "family"),
    ):
        names = [visible(item[name]) for r in o["regions"] for item in r[key][:3]]
        table.add_column(column, min_width=min(32, max(map(len, names), default=0)))
    metadata_columns = list(o["regions"][0]["metadata"]) if o["regions"] else []
    for column in metadata_columns:
        table.add_column(text(f"top {column}"), overflow="fold")
    flagged = {flag["subject"] for flag in o["flags"]}

    def cell(items: list[dict[str, Any]], key: str, prefix: str = "") -> Text:
        cell_text = Text()
        for i, item in enumerate(items[:3]):
            if i:
                cell_text.append("\n")
            subject = f"{prefix}{item[key]}"
            style = "bold red" if subject in flagged else ""
            cell_text.append(f"{visible(str(item[key]))} {100 * item['share']:.0f}%", style=style)
            if item["enrichment"] is not None:
                cell_text.append(f" x{item['enrichment']:.1f}", style="dim")
        return cell_text

    for region in o["regions"]:
        hi = "inf" if region["hi"] is None else f"{region['hi']:g}"
        row: list[str | Text] = [
            f"{region['name']}\n({region['lo']:g}, {hi}]",
            str(region["count"]),
            f"{100 * region['share']:.1f}%",
            cell(region["top_tokens"], "token"),
            cell(region["top_families"], "family"),
        ]
        row += [cell(region["metadata"][c], "value", f"{c}=") for c in metadata_columns]
        table.add_row(*row, style="bold" if region["name"] == "core" else None)
    return table


def _describe_flag(flag: dict[str, Any]) -> str:
    core = _fmt(flag.get("core_coverage"), 0)
    if flag["kind"] == "tail_marker":
        return (
            f"tail marker {flag['subject']}: {flag['enrichment']:.1f}x enriched at 90%+, "
            f"{core}% of core"
        )
    if flag["kind"] == "flanderized":
        return (
            f"flanderized {flag['subject']}: {100 * flag['top_share']:.0f}% of the top 100, "
            f"{core}% of core"
        )
    if flag["kind"] == "super_stimulus":
        return (
            f"super-stimulus {flag['subject']}: {100 * flag['zone_share']:.0f}% of the 90%+ "
            f"zone, {core}% of core"
        )
    if flag["kind"] == "first_token":
        return (
            f"first token: {100 * flag['top_share']:.0f}% of the top 100 and "
            f"{100 * flag['nonzero_share']:.0f}% of all nonzero examples are at position 0"
        )
    if flag["kind"] == "single_token":
        return f"single token {flag['subject']}: {core}% of core"
    if flag["kind"] == "dense":
        return f"dense: active on {100 * flag['density']:.1f}% of the positions"
    if flag["kind"] == "single_document":
        return (
            f"single document: the top {flag['top_n']} examples come from sequence(s) "
            + ", ".join(map(str, flag["sequences"]))
        )
    return f"{flag['kind']} {flag['subject']}"


def _print_histogram(console: Console, histogram: dict[str, Any]) -> None:
    import plotext as plt

    edges, counts = histogram["edges"], histogram["counts"]
    if not counts:
        return
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    plt.clear_figure()
    plt.bar(centres, counts, width=0.9 * (edges[1] - edges[0]))
    for boundary in (0.25, 0.75, 0.9):
        plt.vline(boundary, "red")
    plt.title("activation / effective max (red: core 0.25-0.75, flanderization > 0.9)")
    top = edges[-1]
    ticks = [t for t in (0.0, 0.25, 0.5, 0.75, 0.9, 1.0) if t <= top] + ([top] if top > 1 else [])
    plt.xticks(ticks, [f"{t:g}" if t <= 1 else f"{t:.2f}" for t in ticks])
    plt.plotsize(max(40, min(console.width, 120)), 15)
    plt.theme("clear")
    console.print(Text.from_ansi(plt.build()))
    plt.clear_figure()


# --- coverage ---------------------------------------------------------------------------------
def cmd_coverage(ctx: CliContext) -> int:
    ctx.data()
    result = ctx.service().coverage(ctx.args.feature_id, ctx.args.token)

    def human(console: Console) -> None:
        if result["core_coverage"] is None:
            plain(console, [f"Feature {result['feature_id']} has no core examples."])
            return
        style = {"headline": "green", "mention": "yellow", "tail_marker": "red"}[result["verdict"]]
        console.print(
            Text.assemble(
                f"{visible(result['subject'])}: in {result['core_with']} of {result['core_count']} core "
                f"examples of feature {result['feature_id']} ({result['core_coverage']:.1f}%) -> ",
                (result["verdict"], f"bold {style}"),
            )
        )

    ctx.emit(result, human)
    return 0


# --- similar ----------------------------------------------------------------------------------
def cmd_similar(ctx: CliContext) -> int:
    from labeler_tui.core.analysis.similarity import similarity_method

    data = ctx.data()
    method = similarity_method(data, ctx.args.method)
    ctx.args.method = method.name
    with ctx.progress() as progress:
        neighbours = ctx.service().similar(
            ctx.args.feature_id, method.name, ctx.args.top_k, progress=progress
        )
    result = [n.to_json() for n in neighbours]

    def human(console: Console) -> None:
        if not ctx.is_terminal:  # piped: the original's plain lines, easy to read by a script
            lines = [f"Features similar to {ctx.args.feature_id} ({ctx.args.method}):"]
            for row in result:
                label = f"  {row['label']}" if row["label"] else ""
                lines.append(f"- {row['feature_id']} (sim={row['similarity']:.2f}){label}")
            if not result:
                lines.append("  (none found)")
            plain(console, lines)
            return
        table = Table(title=f"Features similar to {ctx.args.feature_id} ({ctx.args.method})")
        table.add_column("feature", justify="right")
        table.add_column("similarity", justify="right")
        table.add_column("label, or core families when unlabeled")
        table.add_column("queue")
        for n in neighbours:
            if n.label:
                content = text(n.label)
            else:
                content = text(", ".join(n.core_families or ()) or "-", "dim")
            queue = n.queue or "-"
            if n.claimed_by:
                queue = f"claimed by {n.claimed_by}"
            table.add_row(str(n.feature_id), f"{n.similarity:.3f}", content, text(queue, "dim"))
        console.print(table if result else "No similar features found.")

    ctx.emit(result, human)
    return 0
