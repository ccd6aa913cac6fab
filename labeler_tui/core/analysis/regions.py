"""Activation regions (docs/analysis.md, "Regions").

A feature's nonzero activations are read highest first, so each region - a half-open band
(lo, hi] of f = activation / effective max - is a contiguous slice of that order, found with two
binary searches instead of a mask per region (on the activations themselves: no fraction array).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

EFFECTIVE_MAX_PERCENTILE = 99.5


@dataclass(frozen=True)
class Region:
    name: str
    lo: float
    hi: float  # math.inf for the last region


REGIONS: tuple[Region, ...] = (
    Region("floor", 0.0, 0.01),
    Region("low", 0.01, 0.10),
    Region("below_core", 0.10, 0.25),
    Region("core", 0.25, 0.75),
    Region("high", 0.75, 0.90),
    Region("flanderization", 0.90, math.inf),
)
REGION_NAMES = tuple(region.name for region in REGIONS)
CORE = REGION_NAMES.index("core")
FLANDERIZATION = REGION_NAMES.index("flanderization")


def effective_max(descending: np.ndarray) -> float | None:
    """The 99.5th percentile of nonzero activations given highest first (None when empty).

    Same value as ``np.percentile(x, 99.5)`` (linear interpolation, numpy's lerp) in float64,
    but O(1): the two order statistics it needs are read directly from the sorted array.
    """
    n = len(descending)
    if n == 0:
        return None
    pos = EFFECTIVE_MAX_PERCENTILE / 100.0 * (n - 1)
    below = math.floor(pos)
    above = min(below + 1, n - 1)
    a = float(descending[n - 1 - below])
    b = float(descending[n - 1 - above])
    t = pos - below
    diff = b - a
    return b - diff * (1.0 - t) if t >= 0.5 else a + diff * t


def fractions(descending: np.ndarray, eff_max: float) -> np.ndarray:
    """f = activation / effective max, float64, highest first."""
    return np.asarray(descending, dtype=np.float64) / eff_max


def above_counter(descending: np.ndarray, scale: float = 1.0) -> Callable[[float], int]:
    """``count(t)``: how many values of ``descending / scale`` are > t, by binary search.

    Each probe divides one value as a float64, exactly as :func:`fractions` does, so counting
    on the activations with ``scale`` = effective max gives the counts of their fractions
    without making the fractions (a 1M-nonzero feature: ~50 probes of a few us, not 8 MB).
    """
    n = len(descending)

    def count(t: float) -> int:
        return bisect.bisect_left(
            range(n), True, key=lambda i: not float(descending[i]) / scale > t
        )

    return count


def region_bounds(descending_fractions: np.ndarray) -> np.ndarray:
    """int64[len(REGIONS), 2]: region i is positions ``bounds[i, 0]:bounds[i, 1]`` of the
    highest-first order (so the flanderization zone comes first and the floor last)."""
    return bounds_from(above_counter(descending_fractions))


def bounds_from(count_above: Callable[[float], int]) -> np.ndarray:
    """:func:`region_bounds` from a counter of the fractions above a threshold."""
    out = np.empty((len(REGIONS), 2), dtype=np.int64)
    for i, region in enumerate(REGIONS):
        start = 0 if math.isinf(region.hi) else count_above(region.hi)
        out[i] = (start, count_above(region.lo))
    return out


def histogram(descending_fractions: np.ndarray, n_bins: int = 40) -> tuple[list[float], list[int]]:
    """Histogram of f over [0, max(1, max f)] in ``n_bins`` equal bins (edges, counts).

    Bins are half-open (lo, hi] like the regions; an activation is never 0 so none is lost.
    """
    if len(descending_fractions) == 0:
        return [], []
    return histogram_from(
        float(descending_fractions[0]), above_counter(descending_fractions), n_bins
    )


def histogram_from(
    top_fraction: float, count_above: Callable[[float], int], n_bins: int = 40
) -> tuple[list[float], list[int]]:
    """:func:`histogram` from the highest fraction and a counter of the fractions above."""
    edges = np.linspace(0.0, max(1.0, top_fraction), n_bins + 1)
    above = [count_above(float(edge)) for edge in edges]
    return edges.tolist(), [above[i] - above[i + 1] for i in range(n_bins)]
