"""One feature's activations split into regions, with its examples' token and family sets.

The overview, core coverage and stability all start from the same reading of a feature; this
object does it once (regions by binary search, sets gathered through the cached CSR tables).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.example_sets import family_sets, token_sets
from labeler_tui.core.data import ModelData


class FeatureView:
    def __init__(self, data: ModelData, feature_id: int) -> None:
        self.data = data
        activations = data.feature(feature_id)  # validates the id
        self.feature_id = activations.feature_id
        self.rows = activations.rows
        self.activations = activations.activations  # descending
        self.n = len(self.activations)
        self.effective_max = R.effective_max(self.activations)
        if self.effective_max is None:
            self.fractions = np.zeros(0, dtype=np.float64)
            self.bounds = np.zeros((len(R.REGIONS), 2), dtype=np.int64)
        else:
            self.fractions = R.fractions(self.activations, self.effective_max)
            self.bounds = R.region_bounds(self.fractions)

    def region_slice(self, region: int) -> slice:
        start, stop = self.bounds[region]
        return slice(int(start), int(stop))

    def region_count(self, region: int) -> int:
        start, stop = self.bounds[region]
        return int(stop - start)

    @cached_property
    def tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, unique token ids) of every nonzero example, highest activation first."""
        return token_sets(self.data).gather(self.rows)

    @cached_property
    def families(self) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, unique family ids) of every nonzero example, highest activation first."""
        return family_sets(self.data).gather(self.rows)

    def metadata_codes(self, column: str) -> np.ndarray:
        return self.data.metadata_codes(column, self.rows)


def counts_by_region(
    offsets: np.ndarray, values: np.ndarray, bounds: np.ndarray, n_values: int
) -> np.ndarray:
    """int64[len(REGIONS), n_values]: per region, how many of its examples hold each value.

    ``values`` are per-example sets (CSR by ``offsets``), so a count is a number of examples.
    """
    out = np.zeros((len(bounds), n_values), dtype=np.int64)
    for i, (start, stop) in enumerate(bounds):
        if stop > start:
            out[i] = np.bincount(values[offsets[start] : offsets[stop]], minlength=n_values)
    return out


def codes_by_region(codes: np.ndarray, bounds: np.ndarray, n_values: int) -> np.ndarray:
    """int64[len(REGIONS), n_values]: per region, how many examples have each metadata code."""
    out = np.zeros((len(bounds), n_values), dtype=np.int64)
    for i, (start, stop) in enumerate(bounds):
        if stop > start:
            out[i] = np.bincount(codes[start:stop], minlength=n_values)
    return out
