"""Activation regions (DESIGN.md "Analysis definitions").

A feature's nonzero activations are read highest first, so each region - a half-open band
(lo, hi] of f = activation / effective max - is a contiguous slice of that order, found with two
binary searches instead of a mask per region.
"""

from __future__ import annotations

import math
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


def region_bounds(descending_fractions: np.ndarray) -> np.ndarray:
    """int64[len(REGIONS), 2]: region i is positions ``bounds[i, 0]:bounds[i, 1]`` of the
    highest-first order (so the flanderization zone comes first and the floor last)."""
    negated = -descending_fractions  # ascending
    out = np.empty((len(REGIONS), 2), dtype=np.int64)
    for i, region in enumerate(REGIONS):
        # count of f > t is the left insertion point of -t in -f
        start = 0 if math.isinf(region.hi) else int(np.searchsorted(negated, -region.hi, "left"))
        stop = int(np.searchsorted(negated, -region.lo, "left"))
        out[i] = (start, stop)
    return out


def histogram(descending_fractions: np.ndarray, n_bins: int = 40) -> tuple[list[float], list[int]]:
    """Histogram of f over [0, max(1, max f)] in ``n_bins`` equal bins (edges, counts).

    Bins are half-open (lo, hi] like the regions; an activation is never 0 so none is lost.
    """
    if len(descending_fractions) == 0:
        return [], []
    top = max(1.0, float(descending_fractions[0]))
    edges = np.linspace(0.0, top, n_bins + 1)
    negated = -descending_fractions
    above = np.searchsorted(negated, -edges, "left")  # count of f > edge
    counts = above[:-1] - above[1:]
    return edges.tolist(), counts.astype(int).tolist()
