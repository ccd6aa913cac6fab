"""Human output helpers: plain lines when piped, tables on a terminal.

User text (names, notes, reasons, owners, sources, token and metadata names, paths) is never
markup (the consoles are made with ``markup=False``; our own styles are ``Text`` styles) and goes
through :func:`~labeler_tui.core.sanitize.visible`, so a control character in it shows as an
escape instead of acting on the terminal. JSON output (``--json``) is exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from labeler_tui.core.sanitize import visible


def console(stderr: bool = False) -> Console:
    """A console that never reads markup or emoji codes in what it prints."""
    return Console(stderr=stderr, highlight=False, soft_wrap=not stderr, markup=False, emoji=False)


def plain(console: Console, lines: Iterable[str]) -> None:
    """Lines printed as text (no markup, no highlighting, control characters shown)."""
    for line in lines:
        console.print(visible(line), markup=False, highlight=False, emoji=False)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def text(value: Any, style: str = "") -> Text:
    """A value (user text included) as a Text cell: never markup, control characters shown."""
    return Text(visible(fmt(value)), style=style)


def pairs_table(title: str, rows: list[tuple[str, Any]], numeric: bool = True) -> Table:
    """Two columns, key and value; counts right-aligned, text left-aligned."""
    table = Table(
        title=Text(title, style="bold magenta") if title else None,
        title_justify="left",
        show_header=False,
        box=None,
        pad_edge=False,
    )
    table.add_column(style="bold")
    table.add_column(justify="right" if numeric else "left", style="cyan")
    for key, value in rows:
        table.add_row(text(key), text(value))
    if not rows:
        table.add_row("(none yet)", "", style="dim")
    return table
