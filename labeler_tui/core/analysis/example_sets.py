"""Which tokens and which token families each example contains, as sets.

Shares in the analysis count *examples containing* a token or family, so an example listing a
token twice, or two tokens of one family (``swim_speed_up_3`` and ``swim_speed_up_6``), must
count once. Deduplicating per query would mean a sort per overview; instead both set tables are
built once per workspace (chunked sort over all examples) and cached as CSR arrays, and a query
only gathers the rows it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeler_tui.core.analysis.derived import cached_arrays, memoized
from labeler_tui.core.data import ModelData

CHUNK_EXAMPLES = 200_000


@dataclass(frozen=True)
class SetTable:
    """CSR: example row r holds ``values[offsets[r]:offsets[r+1]]`` (unique, ascending)."""

    offsets: np.ndarray  # int64[n_examples + 1]
    values: np.ndarray  # int32[...]
    n_values: int  # size of the id space (vocab or family count)

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, values) of ``rows`` in the given order; vectorised, no loop over rows."""
        return gather_csr(self.offsets, self.values, rows)


def gather_csr(
    offsets: np.ndarray, values: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    rows = np.asarray(rows, dtype=np.int64)
    starts = np.asarray(offsets[rows], dtype=np.int64)
    lengths = np.asarray(offsets[rows + 1], dtype=np.int64) - starts
    out_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_offsets[1:])
    total = int(out_offsets[-1])
    index = np.repeat(starts - out_offsets[:-1], lengths) + np.arange(total, dtype=np.int64)
    return out_offsets, np.asarray(values[index], dtype=np.int32)


def unique_per_row(
    offsets: np.ndarray, values: np.ndarray, n_values: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row unique sorted values of a CSR table (one sort of the whole chunk)."""
    n_rows = len(offsets) - 1
    lengths = np.diff(offsets)
    row_of = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    keys = np.unique(row_of * n_values + values.astype(np.int64))
    new_lengths = np.bincount(keys // n_values, minlength=n_rows)
    new_offsets = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(new_lengths, out=new_offsets[1:])
    return new_offsets, (keys % n_values).astype(np.int32)


def _build(data: ModelData, family: bool) -> tuple[np.ndarray, np.ndarray]:
    n_values = len(data.family_names) if family else len(data.token_names)
    offsets_parts: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
    values_parts: list[np.ndarray] = []
    total = 0
    for start in range(0, data.n_examples, CHUNK_EXAMPLES):
        rows = np.arange(start, min(start + CHUNK_EXAMPLES, data.n_examples), dtype=np.int64)
        offsets, tokens = data.tokens(rows)
        ids = data.token_family[tokens] if family else tokens
        new_offsets, new_values = unique_per_row(offsets, ids, max(n_values, 1))
        offsets_parts.append(new_offsets[1:] + total)
        values_parts.append(new_values)
        total += len(new_values)
    values = np.concatenate(values_parts) if values_parts else np.zeros(0, dtype=np.int32)
    return np.concatenate(offsets_parts), values


def token_sets(data: ModelData) -> SetTable:
    """Unique token ids per example row."""

    def load() -> SetTable:
        offsets, values = cached_arrays(
            data, ("token_set_offsets", "token_set_ids"), lambda: _build(data, family=False)
        )
        return SetTable(offsets, values, len(data.token_names))

    return memoized(data, "token_sets", load)


def family_sets(data: ModelData) -> SetTable:
    """Unique token-family ids per example row."""

    def load() -> SetTable:
        offsets, values = cached_arrays(
            data, ("family_set_offsets", "family_set_ids"), lambda: _build(data, family=True)
        )
        return SetTable(offsets, values, len(data.family_names))

    return memoized(data, "family_sets", load)
