"""The read API of a sequence model (``kind = "sequence"``): :class:`ModelData` over positions.

Every token position is an example (its example id is its index in the token stream). What
the analysis sees as an example's tokens are its slot tokens (``token:w``, ``prev:w``,
``next:w``, ``context:w``; their family is the word ``w``), computed from the stream when asked
for; its metadata are its sequence's. :attr:`sequences` gives the stream itself (windows,
pieces) for the contexts view.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from labeler_tui.core.config import ModelConfig
from labeler_tui.core.data import index_layout as L
from labeler_tui.core.data import sequence_layout as S
from labeler_tui.core.data.model_data import ModelData
from labeler_tui.core.data.sequences import SequenceTable
from labeler_tui.core.data.tokenizer import visible_piece
from labeler_tui.core.errors import DataError, ValidationError


class SequenceModelData(ModelData):
    """A sequence model's data; see the module docstring."""

    is_sequence = True

    def __init__(self, config: ModelConfig, folder: Path, manifest: dict[str, Any]) -> None:
        super().__init__(config, folder, manifest)
        info = manifest.get("sequence") or {}
        folder = folder / L.BASE  # the sequence tables are part of the index base
        try:
            pieces = json.loads((folder / S.PIECES).read_text(encoding="utf-8"))
            self.sequences = SequenceTable(
                tokens=self._token_ids,
                offsets=np.load(folder / S.SEQ_OFFSETS),
                seq_ids=np.load(folder / S.SEQ_IDS),
                token_word=np.load(folder / S.TOKEN_WORD),
                n_words=len(self.family_names),
                pieces=list(pieces["pieces"]),
                spaced=bool(pieces["spaced"]),
                window=(int(info["window"][0]), int(info["window"][1])),
            )
            self._seq_metadata: dict[str, tuple[np.ndarray, list[Any]]] = {
                entry["column"]: (np.load(folder / S.seq_metadata_file(i)), entry["values"])
                for i, entry in enumerate(info.get("metadata", []))
            }
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"{folder}: index is damaged ({exc}); run `labeler index --force`"
            ) from None
        self.metadata_columns = list(self._seq_metadata)

    # --- the analysis's view of an example: its slot tokens ---------------------------------
    def tokens(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Slot tokens of the given positions as CSR (distinct per position)."""
        rows = self._check_rows(rows)
        slots, _families = self.sequences.slot_sets(rows)
        held = slots >= 0
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(held.sum(axis=1), out=offsets[1:])
        return offsets, slots[held].astype(np.int32)

    # --- metadata: the sequence's --------------------------------------------------------------
    def metadata_codes(self, column: str, rows: np.ndarray) -> np.ndarray:
        codes = self._seq_entry(column)[0]
        seq_rows = self.sequences.seq_rows(self._check_rows(rows))
        return np.asarray(codes[seq_rows], dtype=np.int32)

    def metadata_values(self, column: str) -> list[str | int | None]:
        return list(self._seq_entry(column)[1])

    def _seq_entry(self, column: str) -> tuple[np.ndarray, list[Any]]:
        if column not in self._seq_metadata:
            known = ", ".join(self.metadata_columns) or "none"
            raise ValidationError(f"unknown metadata column {column!r} (columns: {known})")
        return self._seq_metadata[column]

    # --- names ---------------------------------------------------------------------------------
    @property
    def output_names(self) -> list[str]:
        """The tokenizer's pieces, shown visibly (the default names of the output matrix)."""
        return [visible_piece(p) for p in self.sequences.pieces]
