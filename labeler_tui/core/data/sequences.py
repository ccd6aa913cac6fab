"""A sequence model's token stream as the analysis reads it: windows and slots of positions.

Position ``p`` (an example row) lies in sequence row ``s`` (``offsets[s] <= p < offsets[s+1]``);
its window is the ``before`` tokens before it, itself and the ``after`` tokens after it, cut at
the sequence's ends. Its *slots* (docs/analysis.md, "Sequence models") are ``token`` (its own
word), ``prev`` and ``next`` (the words beside it, when inside the sequence) and ``context``
(every word of its window). Everything here is vectorised over many positions; the cost is
the positions asked for times the window, never the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeler_tui.core.data.sequence_layout import CONTEXT, NEXT, PREV, TOKEN
from labeler_tui.core.data.tokenizer import visible_piece

MISSING = -1


def distinct_rows(matrix: np.ndarray, pad: int = MISSING) -> np.ndarray:
    """Each row's distinct values (in place; repeats and ``pad`` become ``pad``)."""
    if matrix.shape[1] > 1:
        matrix.sort(axis=1)
        repeated = np.zeros(matrix.shape, dtype=bool)
        repeated[:, 1:] = matrix[:, 1:] == matrix[:, :-1]
        matrix[repeated] = pad
    return matrix


@dataclass
class SequenceTable:
    """The stream, its sequences and the tokenizer's pieces and words (all from the index)."""

    tokens: np.ndarray  # int32 [n_positions], memory-mapped
    offsets: np.ndarray  # int64 [n_seq + 1]
    seq_ids: np.ndarray  # int64 [n_seq]
    token_word: np.ndarray  # int32 [n_vocab]
    n_words: int
    pieces: list[str]
    spaced: bool
    window: tuple[int, int]

    @property
    def n_positions(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_sequences(self) -> int:
        return len(self.seq_ids)

    @property
    def separator(self) -> str:
        return " " if self.spaced else ""

    @property
    def ctx_len(self) -> int | None:
        lengths = np.diff(self.offsets)
        if not len(lengths) or not (lengths == lengths[0]).all():
            return None
        return int(lengths[0])

    def seq_rows(self, positions: np.ndarray) -> np.ndarray:
        """int64 sequence row of each position."""
        positions = np.asarray(positions, dtype=np.int64)
        return np.searchsorted(self.offsets, positions, side="right").astype(np.int64) - 1

    def locate(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sequence row, position in its sequence) of each position."""
        rows = self.seq_rows(positions)
        return rows, np.asarray(positions, dtype=np.int64) - self.offsets[rows]

    def window_positions(
        self, positions: np.ndarray, before: int, after: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """([n, before + 1 + after] positions of each window, bool inside the sequence)."""
        positions = np.asarray(positions, dtype=np.int64)
        rows = self.seq_rows(positions)
        grid = positions[:, None] + np.arange(-before, after + 1, dtype=np.int64)[None, :]
        inside = (grid >= self.offsets[rows][:, None]) & (grid < self.offsets[rows + 1][:, None])
        return grid, inside

    def window_words(self, positions: np.ndarray, before: int, after: int) -> np.ndarray:
        """int64 [n, before + 1 + after]: the word of each window token, MISSING outside."""
        grid, inside = self.window_positions(positions, before, after)
        if not self.n_positions:
            return np.full(grid.shape, MISSING, dtype=np.int64)
        clipped = np.clip(grid, 0, self.n_positions - 1)
        words = self.token_word[np.asarray(self.tokens[clipped.reshape(-1)])].reshape(grid.shape)
        return np.where(inside, words.astype(np.int64), MISSING)

    def slot_sets(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slot-token ids [n, 3 + window], word ids [n, window + 2]) of each position, distinct
        per row, MISSING where there is none. A slot token's id is ``slot * n_words + word``."""
        before, after = self.window
        positions = np.asarray(positions, dtype=np.int64)
        reach_before, reach_after = max(before, 1), max(after, 1)
        words = self.window_words(positions, reach_before, reach_after)
        center = reach_before
        window = words[:, center - before : center + after + 1]
        w = self.n_words

        def slot(column: np.ndarray, index: int) -> np.ndarray:
            return np.where(column >= 0, column + index * w, MISSING)

        context = distinct_rows(window.copy())
        slots = np.concatenate(
            [
                slot(words[:, center], TOKEN)[:, None],
                slot(words[:, center - 1], PREV)[:, None],
                slot(words[:, center + 1], NEXT)[:, None],
                np.where(context >= 0, context + CONTEXT * w, MISSING),
            ],
            axis=1,
        )
        if before >= 1 and after >= 1:
            families = context
        else:  # prev or next outside the window: their words are held too
            families = distinct_rows(
                np.concatenate([window, words[:, [center - 1, center + 1]]], axis=1)
            )
        return slots, families

    def display(self, token_ids: np.ndarray) -> list[str]:
        """The visible piece of each token id (see :func:`tokenizer.visible_piece`)."""
        return [visible_piece(self.pieces[int(t)]) for t in token_ids]
