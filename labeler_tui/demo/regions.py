"""Placing a planted feature's examples in chosen activation regions.

A planted feature is built region by region: each region gets a count of examples drawn from
chosen pools (e.g. "special_charge_up on bloblobber" for the 90%+ zone) and activations spread
over that region's whole range of fractions (docs/analysis.md, "Regions"). The 99.5th percentile is pinned: a few
activations around that rank are exactly ``scale``, so the effective max is ``scale`` under any
quantile interpolation and every example lands in the region it was drawn for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

REGIONS: tuple[str, ...] = ("floor", "low", "below_core", "core", "high", "flanderization")

BOUNDS: dict[str, tuple[float, float]] = {
    "floor": (0.0005, 0.01),
    "low": (0.01, 0.10),
    "below_core": (0.10, 0.25),
    "core": (0.25, 0.75),
    "high": (0.75, 0.90),
    "flanderization": (0.90, 1.0),
}
"""Fractions of the effective max drawn for each region (half-open (lo, hi], docs/analysis.md)."""
ABOVE_MAX = 1.3
"""Largest fraction of the effective max (the top 0.5% lies in (1, ABOVE_MAX])."""
SCORE_NOISE = 0.25
"""Noise added to a driver score before it orders activations inside a region."""
PIN_WIDTH = 2
"""Ranks on either side of the 99.5th percentile's rank that are pinned at the effective max."""

DEFAULT_SHARES: dict[str, float] = {
    "floor": 0.04,
    "low": 0.12,
    "below_core": 0.16,
    "core": 0.50,
    "high": 0.13,
    "flanderization": 0.05,
}


def region_counts(n: int, shares: dict[str, float] = DEFAULT_SHARES) -> dict[str, int]:
    """Split ``n`` examples over the regions; rounding leftovers go to the core."""
    counts = {region: int(shares[region] * n) for region in REGIONS}
    counts["flanderization"] = max(counts["flanderization"], n - _pinned_ranks(n)[0] + 1)
    counts["core"] += n - sum(counts.values())
    return counts


def _pinned_ranks(n: int) -> tuple[int, int]:
    """(first, last) ascending ranks set to exactly the effective max among ``n`` nonzeros."""
    position = 0.995 * (n - 1)
    return max(0, math.floor(position) - PIN_WIDTH), min(n - 1, math.ceil(position) + PIN_WIDTH)


def _fractions(rng: np.random.Generator, region: str, count: int, n: int) -> np.ndarray:
    """``count`` fractions inside ``region``; the zone's include the pinned ranks."""
    lo, hi = BOUNDS[region]
    if region != "flanderization":
        return hi - rng.random(count) * (hi - lo)  # in (lo, hi]
    first, last = _pinned_ranks(n)
    n_above, n_pinned = n - 1 - last, last - first + 1
    values = np.concatenate(
        [
            hi - rng.random(count - n_above - n_pinned) * (hi - lo),
            np.ones(n_pinned),
            ABOVE_MAX - rng.random(n_above) * (ABOVE_MAX - 1.0) * 0.999,
        ]
    )
    return rng.permutation(values)


Part = tuple[np.ndarray, float]
"""(mask of candidate examples, share of the region's count to draw from it)."""


class Picker:
    """Draws distinct examples for one feature (no example twice)."""

    def __init__(self, rng: np.random.Generator, n_examples: int) -> None:
        self.rng = rng
        self.used = np.zeros(n_examples, dtype=bool)

    def take(self, mask: np.ndarray, count: int) -> np.ndarray:
        """Up to ``count`` unused examples of ``mask``, chosen at random."""
        if count <= 0:
            return np.empty(0, dtype=np.int64)
        available = np.flatnonzero(mask & ~self.used)
        if len(available) > count:
            available = self.rng.choice(available, size=count, replace=False)
        self.used[available] = True
        return available.astype(np.int64)

    def compose(
        self, count: int, parts: Sequence[Part], fallbacks: Sequence[np.ndarray]
    ) -> np.ndarray:
        """``count`` examples split over ``parts`` by share; a shortfall is drawn from the
        fallbacks in order, then from any unused example."""
        chosen = [self.take(mask, int(round(share * count))) for mask, share in parts]
        got = sum(len(c) for c in chosen)
        for mask in [*fallbacks, np.ones_like(self.used)]:
            if got >= count:
                break
            extra = self.take(mask, count - got)
            chosen.append(extra)
            got += len(extra)
        out = np.concatenate(chosen)
        return out[:count]


@dataclass(frozen=True)
class PlantedRows:
    """One feature's nonzero rows: example rows (not ids) and activations."""

    rows: np.ndarray
    activations: np.ndarray


def plant(
    rng: np.random.Generator,
    picker: Picker,
    n: int,
    scale: float,
    parts: Mapping[str, Sequence[Part]],
    fallbacks: Mapping[str, Sequence[np.ndarray]],
    shares: dict[str, float] = DEFAULT_SHARES,
    score: np.ndarray | None = None,
) -> PlantedRows:
    """A feature with ``n`` nonzeros placed region by region from the given pools.

    With ``score`` (a value per example, e.g. a family's AP / 57), the activations inside each
    region rise with the score, with noise, as a real feature's would with its driver.
    """
    rows, acts = [], []
    for region, count in region_counts(n, shares).items():
        chosen = picker.compose(count, parts[region], fallbacks.get(region, ()))
        fractions = _fractions(rng, region, len(chosen), n)
        if score is not None:
            noisy = score[chosen] + rng.normal(0.0, SCORE_NOISE, size=len(chosen))
            fractions = np.sort(fractions)[np.argsort(np.argsort(noisy, kind="stable"))]
        rows.append(chosen)
        acts.append(fractions)
    activations = (np.concatenate(acts) * scale).astype(np.float32)
    return PlantedRows(np.concatenate(rows), activations)
