"""Label commands: ``label``, ``clear``, ``status``, ``sync``, ``export``.

Thin argument parsing over :class:`labeler_tui.core.service.LabelingService`: the ``label``
options come from :class:`~labeler_tui.core.records.LabelEdit` (one per record field a user
sets), the export formats from the registry. ``--json`` prints the record's stored JSON.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from labeler_tui.cli.context import CliContext
from labeler_tui.cli.options import add_feature_id, add_force, add_label_edit, add_owner
from labeler_tui.cli.output import fmt, pairs_table, plain, text
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.records import LabelEdit, edit_options, label_name
from labeler_tui.core.registry import EXPORT_FORMATS
from labeler_tui.core.results.labels import (
    ExportJson,
    clear_result,
    label_result,
    suggestions_result,
)
from labeler_tui.core.service import unchanged_since


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "label",
        parents=[common],
        help="save a feature's label",
        description="Save a label to the consolidated store and the dashboard file (and an "
        "existing research state); marks the feature completed in the queue.",
    )
    add_feature_id(p)
    add_label_edit(p, name_required=False)
    p.add_argument(
        "--from-suggestion",
        type=int,
        metavar="I",
        help="start from the feature's I-th suggestion (1 = the first `labeler suggestions` "
        "lists): its text is the name unless --name is given; the label records it as "
        "derived_from",
    )
    add_owner(p)
    add_force(p)
    p.set_defaults(label_parser=p)
    p.add_argument(
        "--if-unchanged-since",
        metavar="TS",
        help="save only if the stored label's last_updated is still TS (none: no label yet); "
        "exit 1 when it moved",
    )
    p.set_defaults(handler=cmd_label)

    p = sub.add_parser(
        "suggestions",
        parents=[common],
        help="a feature's suggested labels, imported from other tools",
        description="Suggested labels imported by `labeler import` (Delphi explanations and "
        "their scores, Neuronpedia explanations), best scored first. They are not labels: "
        "`labeler label -f N --from-suggestion I` saves one as a label.",
    )
    add_feature_id(p)
    p.set_defaults(handler=cmd_suggestions)

    p = sub.add_parser(
        "clear",
        parents=[common],
        help="remove a feature's label",
        description="Remove a label from the consolidated store and the dashboard file.",
    )
    add_feature_id(p)
    add_owner(p)
    add_force(p)
    p.set_defaults(handler=cmd_clear)

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
        "store (newest timestamp wins per field, provenance kept) and print what changed. "
        "A record without a dashboard entry is kept and listed as a note.",
    )
    add_owner(p)
    p.set_defaults(handler=cmd_sync)

    formats = "; ".join(f"{', '.join(f.extensions)}: {f.help}" for f in EXPORT_FORMATS.entries())
    p = sub.add_parser(
        "export",
        parents=[common],
        help="write every label to a file (CSV, JSON Lines, JSON)",
        description="Export every label record with all its fields, in the format the "
        f"extension of --output names ({formats}).",
    )
    p.add_argument(
        "--output", "-o", default="labels.csv", metavar="PATH", help="default labels.csv"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler=cmd_export)


# --- label / clear ----------------------------------------------------------------------------
def cmd_label(ctx: CliContext) -> int:
    args = ctx.args
    if args.name is None and args.from_suggestion is None:
        args.label_parser.error("one of the arguments --name/-n or --from-suggestion is required")
    options = edit_options()
    suggestion = None
    if args.from_suggestion is not None:
        ctx.data()
        suggestion = ctx.service().suggestion(args.feature_id, args.from_suggestion)
        if args.name is None:
            args.name = suggestion.text
    edit = LabelEdit(**{option.name: getattr(args, option.name) for option in options})
    flags = {option.name: option.flags[0] for option in options}
    try:  # bad values fail before the data opens, naming the flag
        edit.checked(ctx.workspace.config.labeler.categories)
    except ValidationError as exc:
        raise exc.renamed(flags.get(exc.field or "", exc.field or "")) from None
    ctx.data()
    service = ctx.service()
    try:  # a bad --hypothesis expression is found when it is tested, before anything is written
        record = service.set_label(
            args.feature_id,
            edit,
            force=args.force,
            if_unchanged_since=unchanged_since(args.if_unchanged_since),
            derived_from=suggestion,
        )
    except ValidationError as exc:
        if exc.field not in flags:
            raise
        raise exc.renamed(flags[exc.field]) from None
    warnings = service.lint(record)

    def human(console: Console) -> None:
        synced = ["consolidated", "dashboard"]
        if record.research_state_path:
            synced.append("research state")
        rows = [
            ("Name", record.display_name),
            ("Category", record.dashboard_category),
            ("Notes", record.dashboard_notes or None),
            ("Source", record.source),
            ("Importance", record.importance_percentile),
            ("Interpretability", record.interpretability_confidence),
            ("Hypothesis", record.hypothesis_expression),
            ("Hypothesis score", record.hypothesis_score),
            (
                "Derived from",
                None
                if not record.derived_from
                else f"{record.derived_from.get('source')}: {record.derived_from.get('text')}",
            ),
            ("Synced to", ", ".join(synced)),
        ]
        rows = [(k, v) for k, v in rows if v is not None]
        if ctx.is_terminal:
            console.print(
                f"[green]Label saved[/] for feature [bold cyan]{args.feature_id}[/]", markup=True
            )
            console.print(pairs_table("", rows, numeric=False))
            for warning in warnings:
                console.print(text(f"warning ({warning.code}): {warning.message}", "yellow"))
            return
        lines = [f"Label saved for Feature {args.feature_id}:"]
        lines += [f"- {key}: {fmt(value)}" for key, value in rows]
        lines += [f"warning ({w.code}): {w.message}" for w in warnings]
        plain(console, lines)

    ctx.emit(label_result(record, warnings), human)
    return 0


def cmd_clear(ctx: CliContext) -> int:
    feature_id = ctx.args.feature_id
    removed = ctx.service().clear_label(feature_id, force=ctx.args.force)
    result = clear_result(feature_id, removed)

    def human(console: Console) -> None:
        if removed is None:
            plain(console, [f"Feature {feature_id} had no label; nothing changed."])
        else:
            plain(console, [f"Cleared the label of feature {feature_id} ({removed.name!r})"])

    ctx.emit(result, human)
    return 0


# --- suggestions ------------------------------------------------------------------------------
def cmd_suggestions(ctx: CliContext) -> int:
    feature_id = ctx.args.feature_id
    ctx.data()
    found = ctx.service().suggestions(feature_id)
    result = suggestions_result(feature_id, ctx.model, found)

    def human(console: Console) -> None:
        if not found:
            plain(
                console, [f"Feature {feature_id}: no suggestions (import some: `labeler import`)"]
            )
            return
        lines = [f"Feature {feature_id}: {len(found)} suggestion(s), best scored first"]
        for i, s in enumerate(found, start=1):
            scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(s.scores.items()))
            by = " / ".join(x for x in (s.source, s.explainer, s.method) if x)
            lines.append(f"  [{i}] {s.text}")
            lines.append(f"      {by}" + (f"; {scores}" if scores else ""))
        lines.append(f"Save one: labeler label -f {feature_id} --from-suggestion I [--name S]")
        plain(console, lines)

    ctx.emit(result, human)
    return 0


# --- status -----------------------------------------------------------------------------------
def _source_label(source: str) -> str:
    return "Merged" if source == "merged" else f"From {source}"


def cmd_status(ctx: CliContext) -> int:
    status = ctx.service().status()
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
            console.print(
                Text.assemble(
                    ("Labeling status", "bold"), " (", text(status["model"], "cyan"), ")\n"
                )
            )
            label_rows = [("Total labeled", labels["total"])]
            label_rows += [(_source_label(src), n) for src, n in by_source]
            console.print(pairs_table("Labels", label_rows))
            console.print()
            console.print(pairs_table("Categories", by_category))
            console.print()
            console.print(pairs_table("Queue", queue_rows))
            return
        lines = [f"## Labeling Status ({status['model']})", "", "### Labels"]
        lines.append(f"- Total labeled: {labels['total']}")
        lines += [f"- {_source_label(src)}: {n}" for src, n in by_source]
        lines += ["", "### Categories"]
        lines += [f"- {cat}: {n}" for cat, n in by_category] or ["- (none yet)"]
        lines += ["", "### Queue"]
        lines += [f"- {key}: {n}" for key, n in queue_rows]
        plain(console, lines)

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
    synced = ctx.service().sync()
    changes = synced.changes
    features = sorted({c.get("feature_id") for c in changes}, key=lambda f: (f is None, f))

    def human(console: Console) -> None:
        human_changes(console)
        plain(console, [f"Note: feature {n['feature_id']}: {n['note']}" for n in synced.notes])

    def human_changes(console: Console) -> None:
        if not changes:
            plain(console, ["Sync: no changes; the consolidated store is up to date."])
            return
        if ctx.is_terminal:
            console.print(
                f"[bold]Synced[/] {len(changes)} change(s) to {len(features)} feature(s)",
                markup=True,
            )
            table = Table("feature", "field", "before", "after", "from", box=None)
            for c in changes:
                if c.get("field") == "record":
                    before = text(label_name(c.get("before")) or "-")
                    after = text(label_name(c.get("after")) or "(cleared)")
                    if c.get("after") is None:
                        after.stylize("red")
                else:
                    before, after = text(c.get("before")), text(c.get("after"))
                table.add_row(
                    text(c.get("feature_id")),
                    text(c.get("field")),
                    before,
                    after,
                    text(c.get("from")),
                )
            console.print(table)
            return
        lines = [f"Synced {len(changes)} change(s) to {len(features)} feature(s):"]
        lines += ["- " + _describe_change(c) for c in changes]
        plain(console, lines)

    ctx.emit(synced.to_json(), human)
    return 0


def cmd_export(ctx: CliContext) -> int:
    from labeler_tui.core.export import export_format
    from labeler_tui.core.protected import check_output

    output = Path(ctx.args.output).expanduser()
    check_output(output, ctx.workspace.config, force=ctx.args.force)  # never onto a store
    export_format(output)  # an unknown extension fails before any store is read
    count = ctx.service().export(output, force=ctx.args.force)
    result = ExportJson(output=str(output.resolve()), count=count)
    ctx.emit(
        result,
        lambda console: plain(console, [f"Exported {count} labels to {result['output']}"]),
    )
    return 0
