"""Example ids to example-table rows, for the index build."""

from __future__ import annotations

import numpy as np


class ExampleRows:
    """Maps user example ids to example-table rows (a lookup table when ids are dense enough)."""

    def __init__(self, sorted_ids: np.ndarray) -> None:
        self.ids = sorted_ids
        self.lut: np.ndarray | None = None
        self.low = int(sorted_ids[0]) if len(sorted_ids) else 0
        self.span = int(sorted_ids[-1]) - self.low + 1 if len(sorted_ids) else 0
        self.contiguous = self.span == len(sorted_ids)
        """ids are low, low+1, ...: the row is the id minus low."""
        if len(sorted_ids) and not self.contiguous:
            span = self.span
            if span <= 8 * len(sorted_ids) + (1 << 20):
                self.lut = np.full(span, -1, dtype=np.int32)
                self.lut[sorted_ids - self.low] = np.arange(len(sorted_ids), dtype=np.int32)

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + (self.lut.nbytes if self.lut is not None else 0))

    def rows(self, example_ids: np.ndarray) -> np.ndarray:
        """int32 rows; -1 where the id is not in the examples table."""
        if len(self.ids) == 0:
            return np.full(len(example_ids), -1, dtype=np.int32)
        if len(example_ids) == 0:
            return np.empty(0, dtype=np.int32)
        in_range = example_ids.min() >= self.low and example_ids.max() - self.low < self.span
        if self.contiguous and in_range:
            return (example_ids - self.low).astype(np.int32)
        if self.lut is not None and in_range:
            return self.lut[example_ids - self.low]
        if self.lut is not None or self.contiguous:
            offset = example_ids - self.low
            inside = offset.view(np.uint64) < self.span
            rows = np.full(len(example_ids), -1, dtype=np.int32)
            rows[inside] = offset[inside] if self.lut is None else self.lut[offset[inside]]
            return rows
        pos = np.searchsorted(self.ids, example_ids)
        np.minimum(pos, len(self.ids) - 1, out=pos)
        return np.where(self.ids[pos] == example_ids, pos, -1).astype(np.int32)
