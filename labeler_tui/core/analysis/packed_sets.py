"""Every example's token set, family set and metadata values packed into a few 16-bit codes.

The overview counts, per region, how many examples hold each token, family and metadata value.
With one id per cell that is one counted element per set entry (24 per example on SplatNLP-like
data, plus one gather per metadata column). Here one code stands for several entries, in one of
two ways per field: a tuple of ``k`` slots with ``u`` possible ids each (pad included) is the
mixed-radix number ``s0 * u**(k-1) + ... + s(k-1)``; a bitmask of ``b`` ids has bit i set when
the example holds id ``first + i``. Metadata columns are packed together as one tuple (one code
for ``weapon`` x ``mode``). One ``np.bincount`` over the codes yields a histogram per code kind;
a field's counts are the sums of a tuple kind's marginals over its slots, or the per-bit sums of
a bitmask kind's histogram. Since an example's set holds distinct ids (pads aside, which are
dropped), both are exactly the number of examples holding each id. The layout (tuple size or
bitmask width per field) is the one with the fewest codes, preferring layouts whose kinds all fit
one ``CODE_LIMIT`` bin space (codes stored with offsets added: no arithmetic when counting).
Benchmark data (142 tokens, 38 families, 40 x 5 metadata values): token pairs, families in three
13-bit masks, one metadata code: 10 codes of 2 bytes per example instead of 24 + 2 gathers.

A vocabulary too large for pairs keeps one id per code (``uint32`` beyond 65,536 ids), so memory
stays n_examples x (largest token set + largest family set + metadata columns) codes at worst; a
metadata column with more than ``CODE_LIMIT`` values is not packed and is counted on its own.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass

import numpy as np

from labeler_tui.core.analysis.counting import count_histograms, histogram
from labeler_tui.core.analysis.derived import cached_arrays, memoized
from labeler_tui.core.analysis.example_sets import _build as build_example_sets
from labeler_tui.core.data import ModelData

CODE_LIMIT = 1 << 16  # bins of one code kind; keeps a code in uint16 and a histogram in cache
BUILD_CHUNK_ROWS = 131_072
MAX_SLOTS = 16  # slots per code even for a one-id universe
MAX_BITS = 16  # ids per bitmask code


@dataclass(frozen=True)
class Kind:
    """One kind of code. A tuple kind: ``radices[i]`` possible values of slot i, ``fields[i]``
    names what slot i holds (``"tokens"``, ``"families"`` or ``"meta:COLUMN"``). A bitmask kind
    (``first_bit`` set): bit i of the code says the row holds id ``first_bit + i`` of
    ``fields[0]``, for ``radices[0]`` bits."""

    radices: tuple[int, ...]
    fields: tuple[str, ...]
    offset: int  # where this kind's histogram starts in the combined bin space
    first_bit: int | None = None

    @property
    def bins(self) -> int:
        if self.first_bit is not None:
            return 1 << self.radices[0]
        return math.prod(self.radices)


@dataclass(frozen=True)
class Layout:
    """Which kind each code column of the packed table has, and which source slots it packs."""

    kinds: tuple[Kind, ...]
    column_kind: tuple[int, ...]  # kind index of each code column
    n_tokens: int
    n_families: int
    meta_sizes: dict[str, int]  # packed metadata column -> number of values
    # all kinds share one CODE_LIMIT bin space: codes are stored with their offsets added
    direct: bool

    @property
    def n_bins(self) -> int:
        return sum(kind.bins for kind in self.kinds)

    @property
    def dtype(self) -> type:
        return np.uint16 if max((k.bins for k in self.kinds), default=1) <= 1 << 16 else np.uint32

    @property
    def column_offsets(self) -> np.ndarray:
        return np.array([self.kinds[k].offset for k in self.column_kind], dtype=np.intp)


def slots_per_code(universe: int) -> int:
    """Largest k with universe**k <= CODE_LIMIT (at least 1)."""
    k = 1
    while k < MAX_SLOTS and universe ** (k + 1) <= CODE_LIMIT:
        k += 1
    return k


# how one field's slots become codes: ("tuple", k) or ("bits", b); see _field_kinds
Option = tuple[str, int]


def make_layout(
    token_width: int, family_width: int, n_tokens: int, n_families: int, meta_sizes: dict[str, int]
) -> Layout:
    """The code layout for sets of these widths: the fewest codes per example whose kinds fit
    one shared CODE_LIMIT bin space (then codes are stored with their kind's offset added and
    counted with no per-element arithmetic), else the fewest codes. Each field is packed as
    tuples of ``k`` ids or as bitmasks of ``b`` ids, whichever gives fewer codes (bitmasks win
    for dense sets over few ids, e.g. 38 families in 3 codes of 13 bits instead of 6 pairs).
    Metadata columns above CODE_LIMIT values are left out (``meta_sizes`` of the result lists
    the packed ones)."""
    token_options = _options(token_width, n_tokens)
    family_options = _options(family_width, n_families)
    best: tuple[tuple[bool, int, int], Layout] | None = None
    for token_option in token_options:
        for family_option in family_options:
            fixed = _bins(token_width, n_tokens, token_option) + _bins(
                family_width, n_families, family_option
            )
            for meta_limit in {CODE_LIMIT, max(CODE_LIMIT - fixed, 1)}:
                layout = _layout(
                    (token_width, n_tokens, token_option),
                    (family_width, n_families, family_option),
                    meta_sizes,
                    meta_limit,
                )
                cost = (not layout.direct, len(layout.column_kind), layout.n_bins)
                if best is None or cost < best[0]:
                    best = (cost, layout)
    assert best is not None
    return best[1]


def _options(width: int, n_ids: int) -> list[Option]:
    """Tuple sizes 1..max and the bitmask widths that need no more codes than one id each."""
    options: list[Option] = [("tuple", k) for k in range(1, slots_per_code(n_ids + 1) + 1)]
    for b in range(1, MAX_BITS + 1):
        if 0 < -(-n_ids // b) <= width and 1 << b <= CODE_LIMIT:
            options.append(("bits", b))
    return options


def _field_kinds(width: int, n_ids: int, option: Option, field: str) -> list[tuple[Kind, int]]:
    """(kind with offset 0, number of code columns) for one field's slots."""
    if not width:
        return []
    mode, size = option
    if mode == "bits":
        return [
            (Kind((min(size, n_ids - lo),), (field,), 0, first_bit=lo), 1)
            for lo in range(0, n_ids, size)
        ]
    k = min(size, width)
    return [(Kind((n_ids + 1,) * k, (field,) * k, 0), -(-width // k))]


def _bins(width: int, n_ids: int, option: Option) -> int:
    return sum(kind.bins for kind, _ in _field_kinds(width, n_ids, option, "x"))


def _layout(
    tokens: tuple[int, int, Option],
    families: tuple[int, int, Option],
    meta_sizes: dict[str, int],
    meta_limit: int,
) -> Layout:
    kinds: list[Kind] = []
    column_kind: list[int] = []
    offset = 0

    def add(kind: Kind, n_columns: int) -> None:
        nonlocal offset
        kinds.append(Kind(kind.radices, kind.fields, offset, kind.first_bit))
        offset += kind.bins
        column_kind.extend([len(kinds) - 1] * n_columns)

    for field, (width, n_ids, option) in (("tokens", tokens), ("families", families)):
        for kind, n_columns in _field_kinds(width, n_ids, option, field):
            add(kind, n_columns)
    packed: dict[str, int] = {}
    group: list[tuple[str, int]] = []

    def add_group() -> None:
        add(Kind(tuple(s for _, s in group), tuple(f"meta:{c}" for c, _ in group), 0), 1)

    for column, size in meta_sizes.items():
        size = max(size, 1)
        if size > CODE_LIMIT:
            continue
        if group and math.prod(s for _, s in group) * size > meta_limit:
            add_group()
            group = []
        group.append((column, size))
        packed[column] = size
    if group:
        add_group()
    return Layout(
        tuple(kinds), tuple(column_kind), tokens[1], families[1], packed, offset <= CODE_LIMIT
    )


def pack(
    layout: Layout, tokens: np.ndarray, families: np.ndarray, meta: dict[str, np.ndarray]
) -> np.ndarray:
    """[n, n_codes] codes of rows given as token slots (ids, pad n_tokens), family slots (ids,
    pad n_families) and metadata codes per packed column."""
    n = len(tokens)
    out: np.ndarray = np.empty((n, len(layout.column_kind)), dtype=layout.dtype)
    sources = {"tokens": tokens, "families": families}
    used = {"tokens": 0, "families": 0}
    for j, kind_index in enumerate(layout.column_kind):
        kind = layout.kinds[kind_index]
        code = np.zeros(n, dtype=np.int64)
        if kind.first_bit is not None:  # ids are distinct per row: the sum of bits is the OR
            held = sources[kind.fields[0]] - kind.first_bit
            inside = (held >= 0) & (held < kind.radices[0])
            code = (np.left_shift(1, np.where(inside, held, 0)) * inside).sum(axis=1)
            out[:, j] = code + kind.offset if layout.direct else code
            continue
        for radix, field in zip(kind.radices, kind.fields, strict=True):
            slot: np.ndarray | int
            if field.startswith("meta:"):
                slot = meta[field[5:]]
            else:
                source, i = sources[field], used[field]
                used[field] += 1
                slot = source[:, i] if i < source.shape[1] else radix - 1  # pad past the width
            code *= radix
            code += slot
        out[:, j] = code + kind.offset if layout.direct else code
    return out


@dataclass(frozen=True)
class GroupCounts:
    """Per group of rows: how many examples hold each token, family and metadata value."""

    tokens: np.ndarray  # int64[n_groups, n_tokens]
    families: np.ndarray  # int64[n_groups, n_families]
    metadata: dict[str, np.ndarray]  # column -> int64[n_groups, n_values]


class PackedSets:
    """The packed table of every example row (see the module docstring) and its counting."""

    def __init__(
        self,
        layout: Layout,
        codes: np.ndarray,
        loose_metadata: dict[str, tuple[np.ndarray, int]] | None = None,
    ) -> None:
        self.layout = layout
        self.codes = codes  # [n_examples, n_codes] uint16 / uint32
        # column -> (int32[n_examples] codes, number of values): columns too wide to pack
        self.loose_metadata = loose_metadata or {}
        width = codes.shape[1] * codes.itemsize
        self._rows = codes.view(np.dtype((np.void, width))).reshape(-1) if width else None
        self._offsets = layout.column_offsets
        self._n_bins = layout.n_bins
        self._all_rows: np.ndarray | None = None  # histogram of every row, made on first need

    @property
    def n_rows(self) -> int:
        return len(self.codes)

    @property
    def n_bins(self) -> int:
        return self._n_bins

    def count_groups(self, groups: list[np.ndarray], disjoint: bool = False) -> GroupCounts:
        """Counts of each group of example rows (row indices; a row may repeat across groups
        unless ``disjoint``, which lets a feature active on most examples be counted faster,
        see :func:`counting.count_histograms`)."""
        return self._marginals(count_histograms(self, groups, disjoint), groups)

    def every_row_histogram(self) -> np.ndarray:
        """Histogram of the codes of every example (for the complement shortcut), made once."""
        if self._all_rows is None:  # a race only computes it twice
            self._all_rows = histogram(self, np.arange(self.n_rows, dtype=np.intp))
        return self._all_rows

    def chunk_histogram(self, rows: np.ndarray) -> np.ndarray:
        """int64[n_bins]: how often each code occurs among ``rows`` (one gather: keep it to a
        chunk of rows, see ``counting.COUNT_CHUNK_ROWS``)."""
        if self._rows is None:
            return np.zeros(self._n_bins, dtype=np.int64)
        gathered = np.take(self._rows, rows).view(self.codes.dtype)
        if not self.layout.direct:  # offsets added here, else stored with the codes
            gathered = (gathered.reshape(len(rows), -1) + self._offsets).reshape(-1)
        return np.bincount(gathered, minlength=self._n_bins)

    def _marginals(self, hist: np.ndarray, groups: list[np.ndarray]) -> GroupCounts:
        layout = self.layout
        tokens = np.zeros((len(groups), layout.n_tokens + 1), dtype=np.int64)
        families = np.zeros((len(groups), layout.n_families + 1), dtype=np.int64)
        metadata: dict[str, np.ndarray] = {}
        by_field = {"tokens": tokens, "families": families}
        for kind in layout.kinds:
            if kind.first_bit is not None:
                n_bits, lo = kind.radices[0], kind.first_bit
                by_field[kind.fields[0]][:, lo : lo + n_bits] += _bit_counts(
                    hist[:, kind.offset : kind.offset + kind.bins], n_bits
                )
                continue
            cube = hist[:, kind.offset : kind.offset + kind.bins].reshape(
                len(groups), *kind.radices
            )
            for axis, field in enumerate(kind.fields):
                others = tuple(a + 1 for a in range(len(kind.radices)) if a != axis)
                marginal = cube.sum(axis=others) if others else cube
                if field == "tokens":
                    tokens += marginal
                elif field == "families":
                    families += marginal
                else:
                    metadata[field[5:]] = marginal
        for column, (codes, size) in self.loose_metadata.items():
            metadata[column] = np.zeros((len(groups), size), dtype=np.int64)
            for g, rows in enumerate(groups):
                metadata[column][g] = np.bincount(codes[rows], minlength=size)
        return GroupCounts(tokens[:, :-1], families[:, :-1], metadata)


def _bit_counts(hist: np.ndarray, n_bits: int) -> np.ndarray:
    """int64[n_groups, n_bits]: from histograms of bitmask codes, how many rows set each bit
    (a float64 product is exact: every partial sum is an integer below 2**53)."""
    return np.rint(hist.astype(np.float64) @ _bit_matrix(n_bits)).astype(np.int64)


@functools.cache
def _bit_matrix(n_bits: int) -> np.ndarray:
    """float64[2**n_bits, n_bits]: bit j of each value."""
    values = np.arange(1 << n_bits)
    return ((values[:, None] >> np.arange(n_bits)) & 1).astype(np.float64)


def _layout_of(data: ModelData, set_matrix: np.ndarray) -> tuple[Layout, int]:
    n_tokens, n_families = len(data.token_names), len(data.family_names)
    token_width = int(np.count_nonzero(set_matrix[0] <= n_tokens)) if len(set_matrix) else 0
    family_width = set_matrix.shape[1] - token_width if len(set_matrix) else 0
    meta_sizes = {c: len(data.metadata_values(c)) for c in data.metadata_columns}
    return make_layout(token_width, family_width, n_tokens, n_families, meta_sizes), token_width


def _build(data: ModelData, layout: Layout, set_matrix: np.ndarray, token_width: int) -> np.ndarray:
    every_row = np.arange(data.n_examples, dtype=np.int64)
    meta = {c: data.metadata_codes(c, every_row) for c in layout.meta_sizes}
    family_offset = layout.n_tokens + 1
    out: np.ndarray = np.empty((data.n_examples, len(layout.column_kind)), dtype=layout.dtype)
    for start in range(0, data.n_examples, BUILD_CHUNK_ROWS):
        stop = min(start + BUILD_CHUNK_ROWS, data.n_examples)
        block = np.asarray(set_matrix[start:stop], dtype=np.int64)
        out[start:stop] = pack(
            layout,
            block[:, :token_width],
            block[:, token_width:] - family_offset,
            {c: codes[start:stop] for c, codes in meta.items()},
        )
    return out


def packed_sets(data: ModelData) -> PackedSets:
    """The workspace's packed table: built from the set table on first use, cached on disk next
    to it, then held in RAM (random gathers beat page faults). A sequence model counts its rows'
    sets from the token stream instead (``sequence_sets.SequenceCounter``, same interface)."""
    if data.is_sequence:
        from labeler_tui.core.analysis.sequence_sets import SequenceCounter

        return memoized(data, "packed_sets", lambda: SequenceCounter(data))

    def load() -> PackedSets:
        (set_matrix,) = cached_arrays(data, ("example_sets",), lambda: build_example_sets(data))
        layout, token_width = _layout_of(data, set_matrix)
        name = "packed_sets_" + hashlib.sha256(repr(layout).encode()).hexdigest()[:16]
        (codes,) = cached_arrays(
            data, (name,), lambda: (_build(data, layout, set_matrix, token_width),)
        )
        if codes.shape != (data.n_examples, len(layout.column_kind)):
            codes = _build(data, layout, set_matrix, token_width)
        every_row = np.arange(data.n_examples, dtype=np.int64)
        loose = {
            c: (data.metadata_codes(c, every_row), len(data.metadata_values(c)))
            for c in data.metadata_columns
            if c not in layout.meta_sizes
        }
        return PackedSets(layout, np.array(codes), loose)

    return memoized(data, "packed_sets", load)
