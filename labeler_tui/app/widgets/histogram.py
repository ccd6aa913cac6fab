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


REGION_NAMES = ("floor", "low", "below", "core", "high", "90%+")
"""Short names of the regions between the boundaries, as drawn over the plot."""
Y_AXIS_COLUMNS = 8
"""Columns the count axis and the frame take: the plot area is the rest."""


def plot_bins(canvas: Canvas | None) -> int:
    """How many bins fill the plot area of ``canvas`` (two per column: the area is drawn with
    half blocks), so the histogram is continuous at any width."""
    if canvas is None:
        return 40
    return max(20, min(1000, 2 * (canvas.width - Y_AXIS_COLUMNS)))


def draw_histogram(plt: Plot, edges: Sequence[float], counts: Sequence[int], title: str) -> None:
    """The histogram as a filled area (no gaps between bins), red lines at the region
    borders with the regions named over them, both axes labeled."""
    plt.clear_data()
    plt.clear_figure()
    plt.title(title)
    if not (len(counts) and len(edges) == len(counts) + 1):
        return
    lo, hi = float(edges[0]), float(edges[-1])
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    top = max(counts) or 1
    plt.plot([lo, *centres, hi], [counts[0], *counts, counts[-1]], fillx=True, marker="hd")
    for x in REGION_BOUNDARIES:
        if lo <= x <= hi:
            plt.vline(x, "red")
    plt.ylim(0, top * 1.05)
    yticks = sorted({0, top // 2, top})
    plt.yticks([float(y) for y in yticks], [f"{y:,}" for y in yticks])
    plt.xlim(lo, hi)
    _name_regions(plt, lo, hi, max(1, len(counts) // 2), below=-top)
    ticks = [x for x in (0.0, 0.25, 0.5, 0.75, 1.0) if x <= hi]
    plt.xticks(ticks, [f"{x:g}" for x in ticks])
    plt.xlabel("activation / effective max (red: region borders)")
    plt.ylabel("examples")


def _name_regions(plt: Plot, lo: float, hi: float, columns: int, below: float) -> None:
    """The regions' names on the upper axis, each centred in its band when it fits there
    (the axis needs a plot of its own: one at ``below``, out of sight under the y range)."""
    borders = (lo, *(x for x in REGION_BOUNDARIES if lo < x < hi), hi)
    names = REGION_NAMES[len(REGION_NAMES) - (len(borders) - 1) :]
    ticks: list[float] = []
    labels: list[str] = []
    for name, a, b in zip(names, borders[:-1], borders[1:], strict=True):
        if (b - a) / (hi - lo or 1.0) * columns >= len(name) + 1:
            ticks.append((a + b) / 2)
            labels.append(name)
    plt.plot([lo, hi], [below, below], xside="upper", marker=" ")
    plt.xlim(lo, hi, xside=2)
    plt.xticks(ticks, labels, xside=2)


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
