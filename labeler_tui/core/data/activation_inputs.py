"""What the index builder reads activations from: files cut into row ranges, each range read as
an :class:`ActivationBatch` of (feature id, example id, activation).

A bag model's activations are parquet files (``readers.py``); a sequence model's are parquet
files of ``feature_id, seq_id, pos, activation`` or the split files of a Delphi cache, whose
rows become the same batches with the example id of a position (``sequence_inputs.py``). The
builder sees only this interface.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from labeler_tui.core.data.readers import (
    ActivationBatch,
    check_activation_file,
    read_activation_slice,
)


class ActivationInput(Protocol):
    """Activation files, each read a row range at a time."""

    @property
    def files(self) -> tuple[Path, ...]: ...

    @property
    def min_features(self) -> int:
        """At least this many features, whatever the largest feature id (0: no minimum)."""
        ...

    def count(self, path: Path) -> int:
        """Validate a file's layout; its row count."""
        ...

    def read(
        self, path: Path, start: int, length: int, with_example_ids: bool = True
    ) -> ActivationBatch:
        """Rows ``start .. start + length`` of a file, validated (without the example ids
        when ``with_example_ids`` is false)."""
        ...


class BagActivations:
    """Parquet files of ``feature_id, example_id, activation`` (the bag model)."""

    def __init__(self, files: tuple[Path, ...]) -> None:
        self._files = files

    @property
    def files(self) -> tuple[Path, ...]:
        return self._files

    @property
    def min_features(self) -> int:
        return 0

    def count(self, path: Path) -> int:
        return check_activation_file(path)

    def read(
        self, path: Path, start: int, length: int, with_example_ids: bool = True
    ) -> ActivationBatch:
        return read_activation_slice(path, start, length, with_example_ids)
