"""``labeler import KIND PATH``: add a model's files written by other tools (core: ``importers``)."""

from __future__ import annotations

import argparse

from rich.console import Console

from labeler_tui.cli.context import CliContext
from labeler_tui.cli.output import plain
from labeler_tui.importers import IMPORTERS


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    kinds = "; ".join(f"{i.name}: {i.help}" for i in IMPORTERS.entries())
    p = sub.add_parser(
        "import",
        parents=[common],
        help="add a model from SAELens, sparsify, Delphi or Neuronpedia files (in place)",
        description="Add or update a model of the workspace's labeler.toml from files another "
        "tool wrote, referencing them where they are, and import their explanations as "
        f"suggestions (never labels). Kinds: {kinds}. --model NAME names the model to create or "
        "attach to. Works in a workspace without a model, or without labeler.toml (one is "
        "written in the current folder, or --workspace DIR).",
    )
    p.add_argument(
        "kind", choices=IMPORTERS.names(), metavar="KIND", help=", ".join(IMPORTERS.names())
    )
    p.add_argument("path", metavar="PATH", help="the folder the tool wrote")
    p.add_argument(
        "--tokenizer",
        metavar="T",
        help="the model's tokenizer.json or vocab file (delphi: how its tokens are shown)",
    )
    p.set_defaults(handler=cmd_import)


def cmd_import(ctx: CliContext) -> int:
    from labeler_tui.importers import run_import

    args = ctx.args
    with ctx.progress() as progress:
        result = run_import(
            args.kind,
            args.path,
            workspace=getattr(args, "workspace", None),
            model=getattr(args, "model", None),
            tokenizer=args.tokenizer,
            progress=progress,
        )

    def human(console: Console) -> None:
        lines = [f"Imported {result.kind} {result.source} into {result.config_path}"]
        for model in result.models:
            what = "created" if model["created"] else "updated"
            lines.append(
                f"- model {model['name']} ({what}): {model['n_features']:,} features, "
                f"{model['n_examples']:,} positions, {model['n_nonzero']:,} nonzero activations"
                + (", decoder" if model["has_decoder"] else "")
            )
        for name, counts in result.suggestions.items():
            lines.append(
                f"- {name}: {counts['added']} suggestions added, {counts['replaced']} replaced "
                f"({counts['total']} in all; `labeler suggestions -f N --model {name}`)"
            )
        lines += [f"  {note}" for note in result.notes]
        plain(console, lines)

    ctx.emit(result.to_json(), human)
    return 0
