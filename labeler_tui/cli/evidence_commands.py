"""Evidence commands: ``examples``, ``test``, ``effects`` and ``contexts`` (core: ``core/evidence``)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.text import Text

from labeler_tui.cli.context import CliContext
from labeler_tui.cli.options import add_feature_id
from labeler_tui.cli.output import plain
from labeler_tui.core.sanitize import visible


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "examples",
        parents=[common],
        help="read a feature's examples: the top of a region, or a seeded sample",
        description="The top-k examples of a region by activation (region top: of every "
        "nonzero example), or a seeded uniform sample of k; each with its activation, fraction "
        "of the effective max, tokens grouped by family, metadata and the tokens enriched >= 2x "
        "in its region.",
    )
    add_feature_id(p)
    p.add_argument(
        "--region",
        "-r",
        default="top",
        metavar="R",
        help="top (default), floor, low, below_core, core, high or flanderization",
    )
    p.add_argument("-k", "--top-k", dest="k", type=int, default=10, metavar="K", help="default 10")
    p.add_argument(
        "--sample", action="store_true", help="a seeded uniform sample of the region, not its top"
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="the sample's seed (default 0)")
    p.add_argument(
        "--where",
        metavar="EXPR",
        help='only the examples matching a hypothesis expression ("NOT EXPR": those that do not)',
    )
    p.set_defaults(handler=cmd_examples)

    p = sub.add_parser(
        "test",
        parents=[common],
        help="test a hypothesis expression on a feature",
        description="Coverage of the expression in each region, the core-coverage verdict, the "
        "off rate (where the feature is zero), lift and score (balanced accuracy as a detector "
        "of the feature).",
    )
    add_feature_id(p)
    p.add_argument(
        "expression",
        metavar="EXPR",
        help='a hypothesis expression, e.g. "respawn_punisher", "special_charge_up>=29 AND NOT '
        'weapon=bloblobber" (docs/hypotheses.md)',
    )
    p.set_defaults(handler=cmd_test)

    p = sub.add_parser(
        "effects",
        parents=[common],
        help="the outputs a feature promotes and suppresses",
        description="The decoder row times the output matrix ([models.NAME] output): the "
        "highest (promoted) and lowest (suppressed) outputs.",
    )
    add_feature_id(p)
    p.add_argument("-k", "--top-k", dest="k", type=int, default=10, metavar="K", help="default 10")
    p.set_defaults(handler=cmd_effects)

    register_contexts(sub, common)


# --- examples ---------------------------------------------------------------------------------
def cmd_examples(ctx: CliContext) -> int:
    from labeler_tui.core.evidence.examples import check_region

    args = ctx.args
    check_region(args.region)  # a bad region fails before the data opens
    ctx.data()
    result = ctx.service().examples(
        args.feature_id, args.region, args.k, sample=args.sample, seed=args.seed, where=args.where
    )

    def human(console: Console) -> None:
        how = f"sample of {result.k} (seed {result.seed})" if result.sample else f"top {result.k}"
        scope = "every nonzero example" if result.region == "top" else f"region {result.region}"
        head = f"Feature {result.feature_id}: {how} of {scope} ({result.count} examples"
        if result.where is not None:
            head += f"; {result.matching} match {result.where}"
        eff = "-" if result.effective_max is None else f"{result.effective_max:.4g}"
        plain(console, [head + f"), effective max {eff}"])
        if not result.examples:
            plain(console, ["  (no examples)"])
            return
        columns = list(result.examples[0].metadata)
        plain(
            console,
            [
                "  activation  fraction  example_id  "
                + " / ".join(columns)
                + ("  tokens (* enriched >= 2x in its region)" if columns else "tokens")
            ],
        )
        for example in result.examples:
            line = Text(
                f"  {example.activation:10.4g}  {example.fraction:8.2f}  {example.example_id:>10}  "
            )
            metadata = " / ".join(str(v) for v in example.metadata.values())
            line.append(visible(metadata), style="cyan")
            line.append("  ")
            enriched = set(example.enriched)
            for i, group in enumerate(example.tokens):
                for j, token in enumerate(group.tokens):
                    if i or j:
                        line.append(" " if j else ", ")
                    if token in enriched:
                        line.append(visible(token) + "*", style="bold yellow")
                    else:
                        line.append(visible(token))
            if ctx.is_terminal:  # one example per line, cut at the terminal's width
                line.no_wrap = True
                line.overflow = "ellipsis"
                console.print(line, soft_wrap=False, crop=True, highlight=False)
            else:
                plain(console, [line.plain])

    ctx.emit(result.to_json(), human)
    return 0


# --- test -------------------------------------------------------------------------------------
def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def cmd_test(ctx: CliContext) -> int:
    data = ctx.data()
    data.feature(ctx.args.feature_id)  # a bad id is named before the expression is read
    result = ctx.service().score_hypothesis(ctx.args.feature_id, ctx.args.expression)

    def human(console: Console) -> None:
        lines = [
            f"Feature {result.feature_id}: {result.expression}",
            f"  {'region':<16}{'examples':>9}{'match':>8}{'coverage':>10}",
        ]
        coverage = result.coverage
        for name, tally in result.regions.items():
            lines.append(
                f"  {name:<16}{tally.count:>9}{tally.matches:>8}{_percent(coverage[name]):>10}"
            )
        plain(console, lines)
        styles = {"headline": "green", "mention": "yellow", "tail_marker": "red"}
        verdict = Text("  verdict: ")
        verdict.append(result.verdict or "-", style=f"bold {styles.get(result.verdict or '', '')}")
        verdict.append(f" ({_percent(result.core_coverage)} of the core)")
        console.print(verdict, highlight=False)
        lift = "-" if result.lift is None else f"{result.lift:.2f}"
        score = "-" if result.score is None else f"{result.score:.3f}"
        tpr = "-" if result.tpr is None else f"{result.tpr:.3f}"
        tnr = "-" if result.tnr is None else f"{result.tnr:.3f}"
        plain(
            console,
            [
                f"  off rate: {_percent(result.off_rate)} of the {result.zero.count} examples "
                "where the feature is zero",
                f"  lift: {lift}   score: {score} (TPR {tpr} above 0.25 x effective max, "
                f"TNR {tnr})",
            ],
        )

    ctx.emit(result.to_json(), human)
    return 0


# --- effects ----------------------------------------------------------------------------------
def cmd_effects(ctx: CliContext) -> int:
    data = ctx.data()
    result = ctx.service().effects(ctx.args.feature_id, ctx.args.k)
    how = (
        "decoder row x output matrix"
        if data.config.output is not None
        else "imported from a Neuronpedia export: its pos_str / neg_str logits"
    )

    def human(console: Console) -> None:
        width = max([len(e.name) for e in result.promoted] + [len("promotes")])
        lines = [
            f"Feature {result.feature_id}: output effects ({how})",
            f"  {'promotes':<{width}}  {'value':>8}    {'value':>8}  suppresses",
        ]
        for i in range(max(len(result.promoted), len(result.suppressed))):
            left = " " * (width + 10)
            if i < len(result.promoted):
                e = result.promoted[i]
                left = f"{e.name:<{width}}  {e.value:>+8.3f}"
            right = ""
            if i < len(result.suppressed):
                e = result.suppressed[i]
                right = f"{e.value:>+8.3f}  {e.name}"
            lines.append(f"  {left}    {right}".rstrip())
        plain(console, lines)

    ctx.emit(result.to_json(), human)
    return 0


# --- contexts ---------------------------------------------------------------------------------
def window_pair(text: str) -> tuple[int, int]:
    """``24,4`` -> (24, 4) (argparse type: a malformed pair is a usage error, exit 2)."""
    parts = [part.strip() for part in text.split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        before, after = int(parts[0]), int(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected BEFORE,AFTER (two integers, e.g. 24,4), got {text!r}"
        ) from None
    return before, after


def register_contexts(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "contexts",
        parents=[common],
        help="a sequence model's feature in context: the tokens around each activation",
        description="The top-k contexts of a region by activation (a seeded sample for the core "
        "and below), each the window of tokens around the activating one with this feature's "
        "activation at every token; or, with --seq, a whole sequence.",
    )
    add_feature_id(p)
    p.add_argument(
        "--region",
        "-r",
        default="top",
        metavar="R",
        help="top (default), floor, low, below_core, core, high or flanderization",
    )
    p.add_argument("-k", "--top-k", dest="k", type=int, default=10, metavar="K", help="default 10")
    p.add_argument(
        "--window",
        type=window_pair,
        metavar="B,A",
        help="tokens before and after the activating one (default: the model's window)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="the sample's seed (default 0)")
    p.add_argument(
        "--where",
        metavar="EXPR",
        help='only the contexts matching a hypothesis expression ("NOT EXPR": those that do not)',
    )
    p.add_argument(
        "--seq", type=int, metavar="S", help="show the whole sequence S with every activation"
    )
    p.set_defaults(handler=cmd_contexts)


def _context_line(
    tokens: tuple[str, ...],
    activations: tuple[float, ...],
    center: int | None,
    separator: str,
    terminal: bool,
) -> Text:
    from labeler_tui.core.data.tokenizer import visible_piece

    line = Text()
    for i, (piece, value) in enumerate(zip(tokens, activations, strict=True)):
        if i and separator:
            line.append(separator)
        shown = visible_piece(piece)
        if i == center:
            line.append(shown if terminal else f"«{shown}»", style="reverse bold")
        elif value > 0:
            line.append(shown, style="underline")
        else:
            line.append(shown)
    return line


def cmd_contexts(ctx: CliContext) -> int:
    from labeler_tui.core.evidence.contexts import (
        check_window,
        feature_contexts,
        sequence_activations,
    )
    from labeler_tui.core.evidence.examples import check_region

    args = ctx.args
    check_region(args.region)
    if args.window is not None:
        check_window(args.window)
    data = ctx.data()
    if args.seq is not None:
        whole = sequence_activations(data, args.feature_id, args.seq)

        def human_sequence(console: Console) -> None:
            plain(
                console,
                [
                    f"Feature {whole.feature_id}: sequence {whole.seq} ({len(whole.tokens)} tokens; underlined: active)"
                ],
            )
            line = _context_line(
                whole.tokens, whole.activations, None, whole.separator, ctx.is_terminal
            )
            if ctx.is_terminal:
                console.print(line, highlight=False)
            else:
                console.print(line.plain, markup=False, highlight=False)
            active = [f"{i}:{v:.4g}" for i, v in enumerate(whole.activations) if v > 0]
            plain(console, ["  active at " + (", ".join(active) or "no position")])

        ctx.emit(whole.to_json(), human_sequence)
        return 0
    result = feature_contexts(
        data,
        args.feature_id,
        args.region,
        args.k,
        seed=args.seed,
        window=args.window,
        where=args.where,
        aliases=ctx.workspace.config.aliases,
    )

    def human(console: Console) -> None:
        how = f"sample of {result.k} (seed {result.seed})" if result.sample else f"top {result.k}"
        scope = "every nonzero example" if result.region == "top" else f"region {result.region}"
        head = f"Feature {result.feature_id}: {how} of {scope} ({result.count} examples"
        if result.where is not None:
            head += f"; {result.matching} match {result.where}"
        eff = "-" if result.effective_max is None else f"{result.effective_max:.4g}"
        before, after = result.window
        plain(console, [head + f"), effective max {eff}, window {before},{after}"])
        if not result.contexts:
            plain(console, ["  (no contexts)"])
            return
        plain(console, ["  activation  fraction  seq:pos      context (activating token marked)"])
        for c in result.contexts:
            line = Text(f"  {c.activation:10.4g}  {c.fraction:8.2f}  {f'{c.seq}:{c.pos}':<11}  ")
            line.append_text(
                _context_line(c.tokens, c.activations, c.center, result.separator, ctx.is_terminal)
            )
            if ctx.is_terminal:
                line.no_wrap = True
                line.overflow = "ellipsis"
                console.print(line, soft_wrap=False, crop=True, highlight=False)
            else:
                console.print(line.plain, markup=False, highlight=False)

    ctx.emit(result.to_json(), human)
    return 0
