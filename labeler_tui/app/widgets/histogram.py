"""The activation-region histogram: counts of activation / effective max, with region borders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual_plotext import PlotextPlot

REGION_BOUNDARIES = (0.01, 0.10, 0.25, 0.75, 0.90)
"""Fractions of the effective max where the regions of DESIGN.md meet."""


class RegionHistogram(PlotextPlot):
    """Bars of the overview's histogram; vertical lines mark the region boundaries."""

    DEFAULT_CSS = """
    RegionHistogram { height: 12; min-height: 8; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.edges: list[float] = []
        self.counts: list[int] = []
        self.title = ""
        self._version = 0
        self._rendered: tuple[Any, Any] | None = None

    def on_mount(self) -> None:
        self._draw()

    def show(self, edges: Sequence[float], counts: Sequence[int], title: str = "") -> None:
        """Plot a histogram given as bin edges (len n+1) and counts (len n)."""
        self.edges = [float(e) for e in edges]
        self.counts = [int(c) for c in counts]
        self.title = title
        self._draw()

    def clear(self, message: str = "") -> None:
        self.edges, self.counts, self.title = [], [], message
        self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        if len(self.counts) and len(self.edges) == len(self.counts) + 1:
            centres = [(a + b) / 2 for a, b in zip(self.edges[:-1], self.edges[1:], strict=True)]
            width = (self.edges[-1] - self.edges[0]) / max(1, len(self.counts))
            plt.bar(centres, self.counts, width=width * 0.9)
            top = max(self.counts) or 1
            for x in REGION_BOUNDARIES:
                if self.edges[0] <= x <= self.edges[-1]:
                    plt.vline(x, "red")
            plt.ylim(0, top * 1.05)
            ticks = [x for x in (0.0, 0.25, 0.5, 0.75, 1.0) if x <= self.edges[-1]]
            plt.xticks(ticks, [f"{x:g}" for x in ticks])
            plt.xlabel("activation / effective max (red: region borders)")
        self._version += 1
        self.refresh()

    def render(self) -> Any:
        """The plot, rebuilt only when the data, the size or the theme changed (a plotext
        build costs ~10-40 ms; a relayout elsewhere on screen must not pay it again)."""
        key = (self._version, self.size, self.app.theme, self.theme)
        if self._rendered is None or self._rendered[0] != key:
            self._rendered = (key, super().render())
        return self._rendered[1]
