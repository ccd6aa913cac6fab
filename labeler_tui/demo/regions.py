"""Placing a planted feature's examples in chosen activation regions.

A planted feature is built region by region: each region gets a count of examples drawn from
chosen pools (e.g. "special_charge_up on bloblobber" for the 90%+ zone) and activations drawn
inside a band of that region. The bands leave margins around DESIGN.md's region bounds, so the
region an example lands in does not depend on where the 99.5th percentile (effective max) falls:
the zone holds >= 0.5% of the nonzeros and its band is [0.95, 1.05] x scale, so the effective max
is within that band and every band below stays inside its region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

REGIONS: tuple[str, ...] = ("floor", "low", "below_core", "core", "high", "flanderization")

BANDS: dict[str, tuple[float, float]] = {
    "floor": (0.002, 0.009),
    "low": (0.012, 0.09),
    "below_core": (0.11, 0.23),
    "core": (0.27, 0.71),
    "high": (0.79, 0.85),
    "flanderization": (0.95, 1.05),
}
"""Activation bands (x the feature's scale) that fall inside each region for any effective max
in [0.95, 1.05] x scale."""

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
    counts["core"] += n - sum(counts.values())
    return counts


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
    parts: dict[str, Sequence[Part]],
    fallbacks: dict[str, Sequence[np.ndarray]],
    shares: dict[str, float] = DEFAULT_SHARES,
) -> PlantedRows:
    """A feature with ``n`` nonzeros placed region by region from the given pools."""
    rows, acts = [], []
    for region, count in region_counts(n, shares).items():
        chosen = picker.compose(count, parts[region], fallbacks.get(region, ()))
        lo, hi = BANDS[region]
        rows.append(chosen)
        acts.append(rng.uniform(lo, hi, size=len(chosen)) * scale)
    return PlantedRows(np.concatenate(rows), np.concatenate(acts).astype(np.float32))
