"""The examples view's text: example lines, the hypothesis figures, the region tabs.

Pure functions from core results to Rich ``Text`` (never markup: token names, metadata values
and expressions come from the data and the user), so they are cheap to test and to draw.
"""

from __future__ import annotations

from rich.text import Text

from labeler_tui.core.evidence.examples import TOP, Example, ExamplesResult
from labeler_tui.core.evidence.hypothesis import HypothesisResult
from labeler_tui.core.evidence.syntax import ExpressionError
from labeler_tui.core.sanitize import visible

REGION_ORDER = (TOP, "flanderization", "high", "core", "below_core", "low", "floor")
"""The examples view's regions, as the tabs show them: highest activations first."""
SHORT_NAMES = {"flanderization": "90%+", "below_core": "below"}
SAMPLED_BY_DEFAULT = frozenset({"core", "below_core", "low", "floor"})
"""Regions read as a seeded sample unless asked otherwise (the top zones: their top k)."""
VERDICT_STYLES = {"headline": "bold green", "mention": "bold yellow", "tail_marker": "bold red"}
BAR_CELLS = 5
BAR_FULL = 1.25
"""A bar is full at this fraction of the effective max."""
_EIGHTHS = " ▏▎▍▌▋▊▉"


def short_name(region: str) -> str:
    return SHORT_NAMES.get(region, region)


def region_tabs(current: str) -> Text:
    """`` top  90%+  high  [core]  below  low  floor `` with the current region reversed."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for region in REGION_ORDER:
        text.append(f" {short_name(region)} ", style="reverse bold" if region == current else "")
        text.append(" ")
    return text


def activation_bar(fraction: float) -> str:
    """``fraction`` of the effective max as a bar of BAR_CELLS cells (eighth blocks)."""
    eighths = round(max(0.0, min(fraction / BAR_FULL, 1.0)) * BAR_CELLS * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[part] if part else "")).ljust(BAR_CELLS)


def example_line(example: Example, text: Text) -> None:
    """Append one example: bar, activation, fraction, metadata, tokens by family (the
    region-enriched ones highlighted and starred), then its id."""
    text.append(activation_bar(example.fraction), style="cyan")
    text.append(f" {example.activation:5.3g} {example.fraction:4.2f}  ")
    if example.metadata:
        text.append(visible(" / ".join(str(v) for v in example.metadata.values())), style="italic")
        text.append("  ")
    enriched = set(example.enriched)
    for g, group in enumerate(example.tokens):
        if g:
            text.append(" · ", style="dim")
        for t, token in enumerate(group.tokens):
            if t:
                text.append(" ")
            if token in enriched:
                text.append(f"{visible(token)}*", style="bold yellow")
            else:
                text.append(visible(token))
    text.append(f"  #{example.example_id}", style="dim")


def examples_text(result: ExamplesResult) -> Text:
    """Every example of the result, one per line (cut with an ellipsis at the pane's width)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if not result.examples:
        text.append("no example here", style="dim")
        return text
    for i, example in enumerate(result.examples):
        if i:
            text.append("\n")
        example_line(example, text)
    return text


def examples_heading(result: ExamplesResult) -> Text:
    """``core · seeded sample · 20 of 155 matching respawn_punisher (of 1,291)``."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{short_name(result.region)}", style="bold")
    text.append(" · seeded sample" if result.sample else " · top by activation")
    shown = len(result.examples)
    if result.where is None:
        text.append(f" · {shown} of {result.count:,}")
        return text
    which = "matching" if result.match else "not matching"
    text.append(f" · {shown} of {result.matching or 0:,} {which} ")
    text.append(visible(result.where), style="bold")
    text.append(f" (of {result.count:,})")
    return text


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def hypothesis_text(result: HypothesisResult) -> Text:
    """Core coverage and verdict first, the other regions, then off rate, lift and score."""
    text = Text(no_wrap=True, overflow="ellipsis")
    coverage = result.coverage
    text.append("core ", style="bold")
    text.append(_pct(coverage.get("core")), style="bold")
    verdict = result.verdict
    if verdict:
        text.append(f" {verdict}", style=VERDICT_STYLES.get(verdict, ""))
    for region in ("flanderization", "high", "below_core", "low", "floor"):
        text.append(f" · {short_name(region)} {_pct(coverage.get(region))}")
    text.append("\n")
    text.append(f"off rate {_pct(result.off_rate)}")
    text.append(f" · lift {_num(result.lift, '.2f')}")
    text.append(" · score ")
    text.append(_num(result.score, ".3f"), style="bold")
    text.append(f" (TPR {_num(result.tpr, '.2f')}, TNR {_num(result.tnr, '.2f')})", style="dim")
    return text


def expression_error_text(error: ExpressionError) -> Text:
    """The problem, and the closest known names when there are some."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("✗ ", style="bold red")
    text.append(visible(str(error)), style="red")
    if error.suggestions and "did you mean" not in str(error):
        text.append("\ndid you mean: ", style="dim")
        text.append(visible(", ".join(error.suggestions[:6])), style="bold")
    return text
