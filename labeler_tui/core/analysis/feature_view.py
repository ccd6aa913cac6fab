"""One feature's activations split into regions, with its examples' token and family sets.

The overview, core coverage and stability all start from the same reading of a feature; this
object does it once (regions by binary search, sets gathered from the cached padded tables).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.derived import memoized
from labeler_tui.core.analysis.example_sets import ExampleSets, example_sets
from labeler_tui.core.analysis.packed_sets import PackedSets, packed_sets
from labeler_tui.core.data import ModelData


class FeatureView:
    """A feature's nonzero activations (highest first), effective max, fractions, and region
    bounds (``bounds[i]`` = start, stop of region i in that order); sets gathered on demand."""

    def __init__(self, data: ModelData, feature_id: int) -> None:
        self.data = data
        activations = data.feature(feature_id)  # validates the id
        self.feature_id = activations.feature_id
        self.rows = activations.rows
        self.activations = activations.activations  # descending
        self.n = len(self.activations)
        self.effective_max = R.effective_max(self.activations)
        if self.effective_max is None:
            self.bounds = np.zeros((len(R.REGIONS), 2), dtype=np.int64)
        else:
            self.bounds = R.bounds_from(self.count_above)

    def count_above(self, t: float) -> int:
        """How many activations have f = activation / effective max > t (binary search)."""
        if self.effective_max is None:
            return 0
        return R.above_counter(self.activations, self.effective_max)(t)

    def histogram(self, n_bins: int) -> tuple[list[float], list[int]]:
        """:func:`regions.histogram` of the fractions (edges, counts); empty when dead."""
        if self.effective_max is None:
            return [], []
        top = float(self.activations[0]) / self.effective_max
        return R.histogram_from(top, self.count_above, n_bins)

    @cached_property
    def fractions(self) -> np.ndarray:
        """float64[n]: f of each nonzero activation, highest first (made on first use)."""
        if self.effective_max is None:
            return np.zeros(0, dtype=np.float64)
        return R.fractions(self.activations, self.effective_max)

    def region_slice(self, region: int) -> slice:
        start, stop = self.bounds[region]
        return slice(int(start), int(stop))

    @cached_property
    def table(self) -> ExampleSets:
        return example_sets(self.data)

    @cached_property
    def packed(self) -> PackedSets:
        return packed_sets(self.data)

    def region_sets(self, region: int) -> np.ndarray:
        """[n, width] token + family sets of one region's examples, highest activation first
        (ids as in :class:`ExampleSets`)."""
        return self.table.gather(self.rows[self.region_slice(region)])

    def metadata_codes(self, column: str, stop: int | None = None) -> np.ndarray:
        """The column's codes of the nonzero examples (the first ``stop``), highest first."""
        return all_metadata_codes(self.data, column)[self.rows[:stop]]


def all_metadata_codes(data: ModelData, column: str) -> np.ndarray:
    """int32[n_examples] codes of a metadata column, read once and held in RAM (a few MB)."""
    data.metadata_values(column)  # unknown column -> ValidationError
    return memoized(
        data,
        f"metadata:{column}",
        lambda: data.metadata_codes(column, np.arange(data.n_examples, dtype=np.int64)),
    )
