"""The status line: model and progress, always visible (labeled / total, queue counts)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from labeler_tui.core.sanitize import visible


def status_text(
    model: str,
    status: dict[str, Any] | None,
    n_features: int | None,
    feature_id: int | None = None,
    claim: str = "",
    error: str | None = None,
) -> Text:
    """`` ultra  labeled 12/2,048 · queue 40 pending 12 done 3 skipped · #17 claimed``."""
    text = Text()
    text.append(f" {visible(model)} ", style="bold reverse")
    labels = (status or {}).get("labels") or {}
    queue = (status or {}).get("queue") or {}
    total = f"{n_features:,}" if n_features else "?"
    text.append(f" labeled {int(labels.get('total') or 0):,}/{total}")
    text.append(
        f" · queue {int(queue.get('pending') or 0):,} pending"
        f" {int(queue.get('completed') or 0):,} done"
        f" {int(queue.get('skipped') or 0):,} skipped"
    )
    if feature_id is not None:
        text.append(f" · #{feature_id}", style="bold")
        if claim:
            text.append(f" {visible(claim)}")
    if error:
        text.append(f" · {visible(error)}", style="bold red")
    return text


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; }
    """
