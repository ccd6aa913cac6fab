"""The activation-region histogram: counts of activation / effective max, with region borders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

REGION_BOUNDARIES = (0.01, 0.10, 0.25, 0.75, 0.90)
"""Fractions of the effective max where the regions meet (docs/analysis.md, "Regions")."""


@dataclass(frozen=True)
class Canvas:
    """Where a plot is drawn: the widget's size and plotext theme, read on the UI thread."""

    width: int
    height: int
    theme: str


def draw_histogram(plt: Plot, edges: Sequence[float], counts: Sequence[int], title: str) -> None:
    """Bars at the bin centres, a red vertical line at each region boundary."""
    plt.clear_data()
    plt.clear_figure()
    plt.title(title)
    if len(counts) and len(edges) == len(counts) + 1:
        centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        width = (edges[-1] - edges[0]) / max(1, len(counts))
        plt.bar(centres, list(counts), width=width * 0.9)
        top = max(counts) or 1
        for x in REGION_BOUNDARIES:
            if edges[0] <= x <= edges[-1]:
                plt.vline(x, "red")
        plt.ylim(0, top * 1.05)
        ticks = [x for x in (0.0, 0.25, 0.5, 0.75, 1.0) if x <= edges[-1]]
        plt.xticks(ticks, [f"{x:g}" for x in ticks])
        plt.xlabel("activation / effective max (red: region borders)")


PlotKey = tuple[tuple[float, ...], tuple[int, ...], str, Canvas]
Rendered = tuple[PlotKey, Text]


def render_histogram(
    edges: Sequence[float], counts: Sequence[int], canvas: Canvas, title: str = ""
) -> Rendered:
    """The plot drawn on a private figure for ``canvas``: pure, so a worker thread can build
    it ahead (10-40 ms) and the UI thread only shows it."""
    key: PlotKey = (tuple(float(e) for e in edges), tuple(int(c) for c in counts), title, canvas)
    plt = Plot()
    draw_histogram(plt, key[0], key[1], title)
    plt.plotsize(canvas.width, canvas.height)
    plt._set_size(canvas.width, canvas.height)  # as PlotextPlot.render does
    plt.theme(canvas.theme)
    return key, Text.from_ansi(plt.build())


class RegionHistogram(PlotextPlot):
    """Bars of the overview's histogram; vertical lines mark the region boundaries.

    A plotext build costs 10-40 ms, so the rendered plot is cached per (data, size, theme), and
    a worker can build it ahead with :func:`render_histogram` for this widget's :meth:`canvas`
    so the UI thread only shows it.
    """

    DEFAULT_CSS = """
    RegionHistogram { height: 12; min-height: 8; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.edges: list[float] = []
        self.counts: list[int] = []
        self.title = ""
        self._rendered: tuple[PlotKey, Any] | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self._draw()

    def canvas(self) -> Canvas | None:
        """The size and theme a plot is drawn for now (None before the first layout)."""
        width, height = self.size.width, self.size.height
        if width <= 0 or height <= 0:
            return None
        return Canvas(width, height, self._get_plotext_theme_name(self.app.theme))

    def _key(self) -> PlotKey | None:
        canvas = self.canvas()
        if canvas is None:
            return None
        return (tuple(self.edges), tuple(self.counts), self.title, canvas)

    def show(
        self,
        edges: Sequence[float],
        counts: Sequence[int],
        title: str = "",
        prerendered: Rendered | None = None,
    ) -> None:
        """Plot a histogram given as bin edges (len n+1) and counts (len n); ``prerendered``
        (from :func:`render_histogram`) is used when it was drawn for the current canvas."""
        self.edges = [float(e) for e in edges]
        self.counts = [int(c) for c in counts]
        self.title = title
        self._draw()
        if prerendered is not None and prerendered[0] == self._key():
            self._rendered = prerendered

    def clear(self, message: str = "") -> None:
        self.edges, self.counts, self.title = [], [], message
        self._draw()

    def _draw(self) -> None:
        draw_histogram(self.plt, self.edges, self.counts, self.title)
        self._rendered = None
        self.refresh()

    def render(self) -> Any:
        """The plot, rebuilt only when the data, the size or the theme changed."""
        key = self._key()
        if key is None:
            return super().render()
        if self._rendered is None or self._rendered[0] != key:
            self._rendered = (key, super().render())
        return self._rendered[1]
