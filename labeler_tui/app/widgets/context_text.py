"""The contexts view's text (sequence models): one context per line, aligned on the activating
token, and a whole sequence shaded by one feature's activation.

Pure functions from core results to Rich ``Text``. Token pieces come from the data: they are
shown through :func:`~labeler_tui.core.data.tokenizer.visible_piece` (white space and control
characters visible, never obeyed) and never as markup.
"""

from __future__ import annotations

from rich.text import Text

from labeler_tui.app.widgets.evidence_text import short_name
from labeler_tui.core.data.tokenizer import visible_piece
from labeler_tui.core.evidence.contexts import Context, ContextsResult, SequenceActivations

SHADES = ("black on #fff1db", "black on #ffd9a0", "black on #ffb347", "black on #ff8c00")
"""Backgrounds for a token on which the feature is active, from weak to strong (fixed colours
with a black foreground, readable on a dark or a light theme)."""
CENTER_STYLE = "reverse bold"
CURSOR_MARK = "▶ "
LEFT_SHARE = 0.45
"""Share of the context column given to the tokens before the activating one."""
MIN_COLUMN = 20
WHERE_FROM_WIDTH = 60
"""Narrower lines leave out sequence:position (the whole sequence, ``w``, says it)."""


def shade(activation: float, effective_max: float | None) -> str:
    """The style of a token with this activation ("" when the feature is not active on it)."""
    if activation <= 0.0:
        return ""
    level = activation / effective_max if effective_max and effective_max > 0 else 1.0
    index = min(len(SHADES) - 1, int(max(0.0, level) * len(SHADES)))
    return SHADES[index]


def _pieces(tokens: tuple[str, ...], separator: str) -> list[str]:
    """What each token shows as (the separator in front of every token but the first)."""
    return [(separator if i else "") + visible_piece(t) for i, t in enumerate(tokens)]


def _append_token(text: Text, piece: str, style: str) -> None:
    """A token with its style on its text only: the spaces in front of it (the separator, the
    leading space of a byte-level piece) stay plain, so shaded neighbours stay apart."""
    body = piece.lstrip(" ") or piece
    text.append(piece[: len(piece) - len(body)])
    text.append(body, style=style)


def context_line(
    context: Context,
    separator: str,
    effective_max: float | None,
    width: int,
    cursor: bool = False,
) -> Text:
    """``▶  3.21  …left tokens [TOKEN] right tokens…  386:24`` (activation, the window with
    the activating token at a fixed column, so a screen of contexts reads like a concordance,
    then sequence:position when there is room)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(CURSOR_MARK if cursor else "  ", style="bold")
    text.append(f"{context.activation:5.3g}  ", style="cyan")
    where = f"  {context.seq}:{context.pos}" if width >= WHERE_FROM_WIDTH else ""
    column = max(MIN_COLUMN, width - text.cell_len - len(where))
    shown = _pieces(context.tokens, separator)
    center = context.center
    left_room = int(column * LEFT_SHARE)
    first, used = center, 0
    while first > 0 and used + len(shown[first - 1]) < left_room:  # one cell kept for "…"
        first -= 1
        used += len(shown[first])
    if first < center and separator and shown[first].startswith(separator):
        shown[first] = shown[first][len(separator) :]  # nothing before it on the line
        used -= len(separator)
    text.append(" " * (left_room - used - (1 if first > 0 else 0)))
    if first > 0:  # the window goes on further left than there is room for
        text.append("…", style="dim")
    for i in range(first, center):
        _append_token(text, shown[i], shade(_act(context, i), effective_max))
    _append_center(text, shown[center] if first < center else shown[center].lstrip(separator))
    room = column - left_room - len(shown[center])
    for i in range(center + 1, len(shown)):
        if len(shown[i]) > room:
            text.append("…", style="dim")
            break
        _append_token(text, shown[i], shade(_act(context, i), effective_max))
        room -= len(shown[i])
    text.append(where, style="dim")
    return text


def _act(context: Context, i: int) -> float:
    return context.activations[i] if i < len(context.activations) else 0.0


def _append_center(text: Text, piece: str) -> None:
    """The activating token in reverse video."""
    _append_token(text, piece, CENTER_STYLE)


def contexts_text(result: ContextsResult, width: int, cursor: int | None = None) -> Text:
    """Every context of the result, one per line, the one at ``cursor`` marked."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if not result.contexts:
        text.append("no context here", style="dim")
        return text
    for i, context in enumerate(result.contexts):
        if i:
            text.append("\n")
        text.append_text(
            context_line(context, result.separator, result.effective_max, width, i == cursor)
        )
    return text


def contexts_heading(result: ContextsResult) -> Text:
    """``core · seeded sample · 20 of 155 contexts · 24 before, 4 after · seq:pos``."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(short_name(result.region), style="bold")
    text.append(" · seeded sample" if result.sample else " · top by activation")
    shown = len(result.contexts)
    if result.where is None:
        text.append(f" · {shown} of {result.count:,} contexts")
    else:
        which = "matching" if result.match else "not matching"
        text.append(f" · {shown} of {result.matching or 0:,} {which} ")
        text.append(visible_piece(result.where), style="bold")
        text.append(f" (of {result.count:,})")
    before, after = result.window
    text.append(f" · window {before}+{after} · seq:pos", style="dim")
    return text


def sequence_text(sequence: SequenceActivations, center: int | None = None) -> Text:
    """The whole sequence as running text (wrapped by the widget), each token shaded by the
    feature's activation on it, the token at position ``center`` in reverse video."""
    text = Text()
    for i, piece in enumerate(_pieces(sequence.tokens, sequence.separator)):
        act = sequence.activations[i] if i < len(sequence.activations) else 0.0
        if i == center:
            _append_center(text, piece)
        else:
            _append_token(text, piece, shade(act, sequence.effective_max))
    return text


def sequence_heading(sequence: SequenceActivations, pos: int | None) -> Text:
    """``feature 7 · sequence 12 · 64 tokens · active on 5 · max 3.21 (token 40)``."""
    acts = sequence.activations
    active = sum(1 for a in acts if a > 0)
    top = max(range(len(acts)), key=acts.__getitem__) if acts else None
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"feature {sequence.feature_id}", style="bold")
    text.append(f" · sequence {sequence.seq} · {len(sequence.tokens)} tokens · active on {active}")
    if top is not None and acts[top] > 0:
        text.append(f" · max {acts[top]:.3g} at {top}")
    if pos is not None:
        text.append(f" · reversed: position {pos}", style="dim")
    return text
