"""Which tokens and which token families each example contains, as sets, in one table.

Shares in the analysis count *examples containing* a token or family, so an example listing a
token twice, or two tokens of one family (``swim_speed_up_3`` and ``swim_speed_up_6``), must
count once. The sets are built once per workspace (deduplicated with a sort along a padded
matrix) and cached as one padded matrix: row r holds example r's distinct token ids, then its
distinct family ids shifted by ``n_tokens + 1`` (so both live in one id space), padded with
``n_tokens`` (token part) and ``pad`` (family part). A query gathers its rows once (one
contiguous copy per row, the cost is memory latency) and counts both tokens and families with
one ``np.bincount``. Memory: n_examples x (largest token set + largest family set) x 2 bytes
(4 beyond 32k ids), e.g. ~40 MB for 840k gear builds of <= 12 abilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeler_tui.core.analysis.derived import cached_arrays, memoized
from labeler_tui.core.data import ModelData

CHUNK_EXAMPLES = 100_000


@dataclass(frozen=True)
class ExampleSets:
    """Padded token + family sets of every example row (see the module docstring)."""

    matrix: np.ndarray  # int16 or int32 [n_examples, width]
    n_tokens: int
    n_families: int

    @property
    def token_width(self) -> int:
        """Columns ``[:token_width]`` hold tokens, the rest families (same split in every row)."""
        if len(self.matrix) == 0:
            return 0
        return int(np.count_nonzero(self.matrix[0] <= self.n_tokens))

    @property
    def family_offset(self) -> int:
        return self.n_tokens + 1

    @property
    def n_ids(self) -> int:
        """Size of the combined id space, pads included."""
        return self.n_tokens + self.n_families + 2

    def token_id(self, token: int) -> int:
        return token

    def family_id(self, family: int) -> int:
        return self.family_offset + family

    def gather(self, rows: np.ndarray) -> np.ndarray:
        """[len(rows), width] sets of ``rows`` in the given order.

        ``np.take`` on a one-item-per-row view: about 3x faster than 2-D fancy indexing.
        """
        rows = np.asarray(rows, dtype=np.int64)
        width = self.matrix.shape[1]
        packed = self.matrix.view(np.dtype((np.void, width * self.matrix.itemsize))).reshape(-1)
        return np.take(packed, rows).view(self.matrix.dtype).reshape(len(rows), width)


def padded_sets(offsets: np.ndarray, values: np.ndarray, pad: int, dtype: type) -> np.ndarray:
    """CSR rows -> padded matrix of each row's distinct values, sorted, then ``pad``."""
    n_rows = len(offsets) - 1
    lengths = np.diff(offsets)
    width = int(lengths.max()) if n_rows else 0
    matrix = np.full((n_rows, max(width, 1)), pad, dtype=np.int64)
    if width:
        row_of = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
        column = np.arange(len(values), dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        matrix[row_of, column] = values
        matrix.sort(axis=1)
        duplicate = np.zeros(matrix.shape, dtype=bool)
        duplicate[:, 1:] = matrix[:, 1:] == matrix[:, :-1]
        matrix[duplicate] = pad
        matrix.sort(axis=1)
    distinct = int((matrix != pad).sum(axis=1).max()) if n_rows else 0
    return np.ascontiguousarray(matrix[:, : max(distinct, 1)], dtype=dtype)


def _build(data: ModelData) -> tuple[np.ndarray]:
    n_tokens, n_families = len(data.token_names), len(data.family_names)
    family_offset = n_tokens + 1
    family_pad = family_offset + n_families
    dtype = np.int16 if family_pad < np.iinfo(np.int16).max else np.int32
    token_parts: list[np.ndarray] = []
    family_parts: list[np.ndarray] = []
    for start in range(0, data.n_examples, CHUNK_EXAMPLES):
        rows = np.arange(start, min(start + CHUNK_EXAMPLES, data.n_examples), dtype=np.int64)
        offsets, tokens = data.tokens(rows)
        token_parts.append(padded_sets(offsets, tokens, n_tokens, dtype))
        families = data.token_family[tokens].astype(np.int64) + family_offset
        family_parts.append(padded_sets(offsets, families, family_pad, dtype))
    token_width = max((p.shape[1] for p in token_parts), default=1)
    family_width = max((p.shape[1] for p in family_parts), default=1)
    matrix = np.empty((data.n_examples, token_width + family_width), dtype=dtype)
    matrix[:, :token_width] = n_tokens
    matrix[:, token_width:] = family_pad
    start = 0
    for tokens_part, families_part in zip(token_parts, family_parts, strict=True):
        stop = start + len(tokens_part)
        matrix[start:stop, : tokens_part.shape[1]] = tokens_part
        matrix[start:stop, token_width : token_width + families_part.shape[1]] = families_part
        start = stop
    return (matrix,)


def example_sets(data: ModelData) -> ExampleSets:
    """The workspace's set table, built and cached on first use, then held in RAM (it is small,
    and RAM beats a page fault per gathered row). A sequence model's sets are computed from its
    token stream for the rows asked for (``sequence_sets.SequenceSets``, same interface)."""
    if data.is_sequence:
        from labeler_tui.core.analysis.sequence_sets import SequenceSets

        return memoized(data, "example_sets", lambda: SequenceSets(data))

    def load() -> ExampleSets:
        (matrix,) = cached_arrays(data, ("example_sets",), lambda: _build(data))
        return ExampleSets(np.array(matrix), len(data.token_names), len(data.family_names))

    return memoized(data, "example_sets", load)
