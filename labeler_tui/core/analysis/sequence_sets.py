"""The analysis tables of a sequence model, computed from the token stream instead of stored.

A bag model keeps every example's token set in a table (``example_sets``, ``packed_sets``); a
sequence model's examples are its token positions and their sets (the slot tokens of each
position, docs/analysis.md) follow from the stream, so they are computed for the rows asked
for: the cost is those rows times the window, and no table of the corpus is held.

- :class:`SequenceSets` gathers rows' sets in the id space of ``example_sets`` (tokens, then
  families shifted by ``n_tokens + 1``, padded), so coverage, expressions and neighbours read
  them as they read a bag model's;
- :class:`SequenceCounter` counts groups of rows (``packed_sets``' ``count_groups``);
- :func:`base_counts`: how many positions of the corpus hold each slot token and each word
  (the base rates of enrichment), one pass over the stream, cached next to the index;
- :func:`holding_any`: the whole-corpus mask of positions holding any of some slot tokens
  (for hypothesis expressions), a few vector passes over the stream;
- :func:`first_half_rows`: the stability split, by sequence (every position of a sequence is on
  its sequence's side).
"""

from __future__ import annotations

import numpy as np

from labeler_tui.core.analysis.derived import cached_arrays, memoized
from labeler_tui.core.analysis.packed_sets import GroupCounts
from labeler_tui.core.analysis.stability import in_first_half
from labeler_tui.core.data import ModelData
from labeler_tui.core.data.sequence_data import SequenceModelData
from labeler_tui.core.data.sequence_layout import CONTEXT, NEXT, PREV, SLOTS, TOKEN
from labeler_tui.core.data.sequences import SequenceTable

CHUNK_ROWS = 65_536
MASK_CHUNK = 1 << 20
BASE_NAMES = ("sequence_base_tokens", "sequence_base_families")


def _sequence(data: ModelData) -> SequenceModelData:
    assert isinstance(data, SequenceModelData)
    return data


class SequenceSets:
    """Rows' slot-token and word sets, in the id space of ``example_sets.ExampleSets``."""

    def __init__(self, data: ModelData) -> None:
        self.table: SequenceTable = _sequence(data).sequences
        self.n_tokens = len(data.token_names)
        self.n_families = len(data.family_names)
        before, after = self.table.window
        self.token_width = 3 + before + 1 + after
        self.family_width = before + 1 + after + 2

    @property
    def family_offset(self) -> int:
        return self.n_tokens + 1

    @property
    def n_ids(self) -> int:
        return self.n_tokens + self.n_families + 2

    def token_id(self, token: int) -> int:
        return token

    def family_id(self, family: int) -> int:
        return self.family_offset + family

    def gather(self, rows: np.ndarray) -> np.ndarray:
        """int64 [len(rows), token_width + family_width]: each row's slot tokens (pad
        ``n_tokens``), then its words shifted by ``family_offset`` (pad after the last)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.token_width + self.family_width), dtype=np.int64)
        for start in range(0, len(rows), CHUNK_ROWS):
            part = rows[start : start + CHUNK_ROWS]
            slots, families = self.table.slot_sets(part)
            block = out[start : start + len(part)]
            block[:, : slots.shape[1]] = np.where(slots >= 0, slots, self.n_tokens)
            block[:, slots.shape[1] : self.token_width] = self.n_tokens
            pad = self.family_offset + self.n_families
            held = np.where(families >= 0, families + self.family_offset, pad)
            block[:, self.token_width : self.token_width + families.shape[1]] = held
            block[:, self.token_width + families.shape[1] :] = pad
        return out


class SequenceCounter:
    """``count_groups`` of ``packed_sets.PackedSets`` for a sequence model."""

    def __init__(self, data: ModelData) -> None:
        self.data = _sequence(data)
        self.table = self.data.sequences
        self.n_tokens = len(data.token_names)
        self.n_families = len(data.family_names)

    def count_groups(self, groups: list[np.ndarray], disjoint: bool = False) -> GroupCounts:
        """How many positions of each group hold each slot token, word and metadata value
        (``disjoint`` is accepted for the interface; the cost is the groups' rows anyway)."""
        tokens = np.zeros((len(groups), self.n_tokens), dtype=np.int64)
        families = np.zeros((len(groups), self.n_families), dtype=np.int64)
        columns = self.data.metadata_columns
        metadata = {
            c: np.zeros((len(groups), len(self.data.metadata_values(c))), dtype=np.int64)
            for c in columns
        }
        for g, rows in enumerate(groups):
            rows = np.asarray(rows, dtype=np.int64)
            for start in range(0, len(rows), CHUNK_ROWS):
                part = rows[start : start + CHUNK_ROWS]
                slots, words = self.table.slot_sets(part)
                tokens[g] += np.bincount(slots[slots >= 0], minlength=self.n_tokens)
                families[g] += np.bincount(words[words >= 0], minlength=self.n_families)
                for c in columns:
                    codes = self.data.metadata_codes(c, part)
                    metadata[c][g] += np.bincount(codes, minlength=metadata[c].shape[1])
        return GroupCounts(tokens, families, metadata)


# --- base rates ---------------------------------------------------------------------------------
def _reach(table: SequenceTable) -> dict[int, tuple[int, int]]:
    """Per slot, (a, b): the positions q whose slot holds the token at p are ``p-a .. p+b``."""
    before, after = table.window
    return {TOKEN: (0, 0), PREV: (-1, 1), NEXT: (1, -1), CONTEXT: (after, before)}


def _covered(
    words: np.ndarray, order: np.ndarray, table: SequenceTable, a: int, b: int, n_words: int
) -> np.ndarray:
    """int64[n_words]: how many positions have a word within ``[q - b, q + a]`` of them, i.e.
    the union of the intervals ``[p - a, p + b]`` (cut to p's sequence) over the word's
    positions p. With the positions of each word in stream order, intervals of equal length
    never start before the previous one, so each adds what lies beyond the previous end."""
    positions = order
    rows = table.seq_rows(positions)
    lo = np.maximum(positions - a, table.offsets[rows])
    hi = np.minimum(positions + b, table.offsets[rows + 1] - 1)
    sorted_words = words[order]
    new_word = np.ones(len(order), dtype=bool)
    new_word[1:] = sorted_words[1:] != sorted_words[:-1]
    previous_end = np.empty(len(order), dtype=np.int64)
    previous_end[0] = -1
    previous_end[1:] = hi[:-1]
    # the running maximum of hi within a word is hi itself (hi never decreases within a word)
    previous_end[new_word] = -1
    start = np.maximum(lo, previous_end + 1)
    added = np.maximum(hi - start + 1, 0)
    return np.bincount(sorted_words, weights=added, minlength=n_words).astype(np.int64)


def _build_base(data: SequenceModelData) -> tuple[np.ndarray, np.ndarray]:
    table = data.sequences
    w = table.n_words
    tokens = np.zeros(len(SLOTS) * w, dtype=np.int64)
    if not table.n_positions or not w:
        return tokens, np.zeros(w, dtype=np.int64)
    words = table.token_word[np.asarray(table.tokens)].astype(np.int64)
    order = np.argsort(words, kind="stable")
    for slot, (a, b) in _reach(table).items():
        tokens[slot * w : (slot + 1) * w] = _covered(words, order, table, a, b, w)
    before, after = table.window
    families = _covered(words, order, table, max(after, 1), max(before, 1), w)
    return tokens, families


def base_counts(data: ModelData) -> tuple[np.ndarray, np.ndarray]:
    """(int64[n_tokens], int64[n_families]): positions of the corpus holding each slot token,
    each word (any slot); built on first need and cached next to the index."""
    seq = _sequence(data)

    def load() -> tuple[np.ndarray, np.ndarray]:
        arrays = cached_arrays(seq, BASE_NAMES, lambda: _build_base(seq))
        return np.asarray(arrays[0]), np.asarray(arrays[1])

    return memoized(data, "sequence_base_counts", load)


def base_metadata_counts(data: ModelData, column: str) -> np.ndarray:
    """int64[n_values]: positions of the corpus having each value of a sequence column."""
    seq = _sequence(data)
    lengths = np.diff(seq.sequences.offsets)
    codes = seq.metadata_codes(column, seq.sequences.offsets[:-1][lengths > 0])
    return np.bincount(
        codes, weights=lengths[lengths > 0], minlength=len(seq.metadata_values(column))
    ).astype(np.int64)


# --- whole-corpus masks -------------------------------------------------------------------------
def holding_any(data: ModelData, tokens: tuple[int, ...]) -> np.ndarray:
    """bool[n_positions]: the positions holding at least one of the slot tokens ``tokens``."""
    table = _sequence(data).sequences
    n = table.n_positions
    mask = np.zeros(n, dtype=bool)
    if not tokens or not n:
        return mask
    w = table.n_words
    by_slot: dict[int, list[int]] = {}
    for t in tokens:
        by_slot.setdefault(int(t) // w, []).append(int(t) % w)
    reach = _reach(table)
    for slot, words in by_slot.items():
        wanted = np.zeros(w, dtype=bool)
        wanted[words] = True
        lut = wanted[table.token_word]
        a, b = reach[slot]
        _mark(mask, lut, table, -b, a)
    return mask


def _mark(mask: np.ndarray, lut: np.ndarray, table: SequenceTable, lo: int, hi: int) -> None:
    """Set ``mask[q]`` where a token in ``lut`` lies at ``q + lo .. q + hi`` (inside q's
    sequence), chunk by chunk (cumulative sums of hits)."""
    n = table.n_positions
    for start in range(0, n, MASK_CHUNK):
        stop = min(n, start + MASK_CHUNK)
        q = np.arange(start, stop, dtype=np.int64)
        rows = table.seq_rows(q)
        first = np.maximum(q + lo, table.offsets[rows])
        last = np.minimum(q + hi, table.offsets[rows + 1] - 1)
        span_lo, span_hi = max(0, start + min(lo, 0)), min(n, stop + max(hi, 0))
        hits = lut[np.asarray(table.tokens[span_lo:span_hi])]
        cumulative = np.zeros(span_hi - span_lo + 1, dtype=np.int64)
        np.cumsum(hits, out=cumulative[1:])
        valid = last >= first
        upper = np.where(valid, last - span_lo + 1, 0)
        lower = np.where(valid, first - span_lo, 0)
        mask[start:stop] |= valid & (cumulative[upper] > cumulative[lower])


# --- stability ------------------------------------------------------------------------------------
def first_half_rows(data: ModelData, seed: int = 0) -> np.ndarray:
    """bool[n_positions]: the side of each position's sequence (a seeded hash of its id)."""
    table = _sequence(data).sequences

    def build() -> np.ndarray:
        sides = in_first_half(table.seq_ids, seed)
        return np.repeat(sides, np.diff(table.offsets))

    return memoized(data, f"sequence-halves:{seed}", build)
