"""Which examples hold a token, as postings, and a small cache of whole-dataset match masks.

Evaluating an expression over every example (its off rate needs the examples where the feature
is zero) must not loop over examples: each token has a *postings list*, the sorted rows of the
examples holding it, built once per workspace from the token sets (``example_sets``) and cached
next to the index. "Holds any of these tokens" is then one scatter of their postings into a
boolean mask, in time proportional to how often the tokens occur. Masks of whole expressions
are kept per model (the last ``MASK_CACHE_SIZE``), since a labeler tests one expression on
feature after feature, and the app re-evaluates it on every keystroke.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from labeler_tui.core.analysis.derived import cached_arrays, memoized
from labeler_tui.core.analysis.example_sets import example_sets
from labeler_tui.core.data import ModelData

POSTINGS_NAMES = ("token_postings_offsets", "token_postings_rows")
BUILD_CHUNK_ROWS = 262_144
MASK_CACHE_SIZE = 16


def token_postings(data: ModelData) -> tuple[np.ndarray, np.ndarray]:
    """(offsets int64[n_tokens + 1], rows int32[...]): the examples holding token t are rows
    ``rows[offsets[t]:offsets[t + 1]]``, ascending. Built on first use, cached on disk."""

    def load() -> tuple[np.ndarray, np.ndarray]:
        offsets, rows = cached_arrays(data, POSTINGS_NAMES, lambda: _build_postings(data))
        return np.asarray(offsets), rows

    return memoized(data, "token_postings", load)


def _build_postings(data: ModelData) -> tuple[np.ndarray, np.ndarray]:
    table = example_sets(data)
    n_tokens, width = table.n_tokens, table.token_width
    matrix = table.matrix
    counts = np.zeros(n_tokens + 1, dtype=np.int64)
    for start in range(0, data.n_examples, BUILD_CHUNK_ROWS):
        block = matrix[start : start + BUILD_CHUNK_ROWS, :width]
        counts += np.bincount(block.reshape(-1).astype(np.int64), minlength=n_tokens + 1)
    offsets = np.zeros(n_tokens + 1, dtype=np.int64)
    np.cumsum(counts[:n_tokens], out=offsets[1:])
    rows = np.empty(int(offsets[-1]), dtype=np.int32)
    cursor = offsets[:-1].copy()
    for start in range(0, data.n_examples, BUILD_CHUNK_ROWS):
        stop = min(start + BUILD_CHUNK_ROWS, data.n_examples)
        flat = matrix[start:stop, :width].reshape(-1)  # int16 for most vocabularies
        owner = np.repeat(np.arange(start, stop, dtype=np.int32), width)
        keep = flat != n_tokens
        flat, owner = flat[keep], owner[keep]
        # stable: rows stay ascending within a token (a radix sort for 16-bit ids)
        order = np.argsort(flat, kind="stable")
        flat, owner = flat[order].astype(np.int64), owner[order]
        chunk_counts = np.bincount(flat, minlength=n_tokens)
        first = np.cumsum(chunk_counts) - chunk_counts
        rank = np.arange(len(flat), dtype=np.int64) - first[flat]
        rows[cursor[flat] + rank] = owner
        cursor += chunk_counts
    return offsets, rows


def holding_any(data: ModelData, tokens: tuple[int, ...]) -> np.ndarray:
    """bool[n_examples]: the examples holding at least one of ``tokens``."""
    if data.is_sequence:  # slots follow from the token stream: no postings
        from labeler_tui.core.analysis.sequence_sets import holding_any as sequence_holding_any

        return sequence_holding_any(data, tokens)
    offsets, rows = token_postings(data)
    mask = np.zeros(data.n_examples, dtype=bool)
    for t in tokens:
        mask[rows[offsets[t] : offsets[t + 1]]] = True
    return mask


class MaskCache:
    """The last ``size`` whole-dataset masks, by key (thread-safe: the app's workers share it)."""

    def __init__(self, size: int = MASK_CACHE_SIZE) -> None:
        self.size = size
        self._masks: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, int]:
        """(mask, its count of True) for ``key``, computed on a miss."""
        with self._lock:
            if key in self._masks:
                self._masks.move_to_end(key)
                return self._masks[key]
        mask = compute()
        mask.setflags(write=False)
        entry = (mask, int(np.count_nonzero(mask)))
        with self._lock:
            self._masks[key] = entry
            while len(self._masks) > self.size:
                self._masks.popitem(last=False)
        return entry

    def peek(self, key: str) -> tuple[np.ndarray, int] | None:
        with self._lock:
            return self._masks.get(key)

    def clear(self) -> None:
        with self._lock:
            self._masks.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._masks)


def mask_cache(data: ModelData) -> MaskCache:
    """The model's mask cache (one per ModelData, made on first use)."""
    return memoized(data, "expression_masks", MaskCache)
