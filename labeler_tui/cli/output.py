"""Human output helpers: plain lines when piped, tables on a terminal; user text never as markup."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


def plain(console: Console, lines: Iterable[str]) -> None:
    """Lines printed as they are (no markup, no highlighting)."""
    for line in lines:
        console.print(line, markup=False, highlight=False)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def pairs_table(title: str, rows: list[tuple[str, Any]], numeric: bool = True) -> Table:
    """Two columns, key and value; counts right-aligned, text left-aligned."""
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right" if numeric else "left", style="cyan")
    for key, value in rows:
        table.add_row(key, Text(fmt(value)))
    if not rows:
        table.add_row("(none yet)", "", style="dim")
    return table
