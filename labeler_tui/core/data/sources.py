"""The index builder's input: activations as a collection of independently readable units.

The builder reads its input several times (one pass to count and validate, then one pass per
feature range that fits the memory budget) and from several threads, so its input is not an
iterator but a tuple of *units*: each unit can be read any number of times, from any thread,
and every read returns the same rows. A unit returns one :class:`ActivationBatch`: three equal
length column chunks, ``feature_ids`` (integer, >= 0), ``example_ids`` (int64: the example, or
for a sequence model the flattened (sequence, position) id, as in the examples table) and
``activations`` (float32, finite), validated (build it with
:func:`labeler_tui.core.data.readers.activation_batch`). Rows may come in any order, within and
across units; rows with activation <= 0 are skipped by the builder.

A new input format is a class with ``name``, ``n_rows`` and ``read`` plus a branch in
:func:`activation_source`; nothing else of the builder changes. A sequence model's inputs (its
``feature_id, seq_id, pos, activation`` parquet, or a Delphi latent cache read in place) are
:class:`InputUnit` s over ``activation_inputs.ActivationInput``, whose rows name positions of
the token stream written in the index base.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from labeler_tui.core.config import ModelConfig
from labeler_tui.core.data.activation_inputs import ActivationInput
from labeler_tui.core.data.readers import (
    ActivationBatch,
    check_activation_file,
    read_activation_slice,
)

UNIT_ROWS = 1 << 20
"""Rows of a parquet unit: small enough that a few in flight stay a small part of the memory
budget, large enough that the per-read overhead (a few ms) stays negligible."""


class ActivationUnit(Protocol):
    """A piece of the input the builder can read again and again, from any thread."""

    @property
    def name(self) -> str:
        """What to name in an error message about this unit's rows (its file)."""
        ...

    @property
    def n_rows(self) -> int:
        """Rows the unit holds (zero rows included); used for progress and scheduling."""
        ...

    def read(self, with_example_ids: bool = True) -> ActivationBatch:
        """The unit's rows, validated. Without ``with_example_ids`` the example ids may be left
        out (an empty array): the counting pass does not need them."""
        ...


@dataclass(frozen=True)
class ActivationSource:
    """Everything the builder reads: the units, and how to name the input as a whole."""

    units: tuple[ActivationUnit, ...]
    spec: str
    """The configured activations (a folder, a glob, a file), for messages about all of them."""

    @property
    def total_rows(self) -> int:
        return sum(unit.n_rows for unit in self.units)


@dataclass(frozen=True)
class ParquetUnit:
    """Rows ``start .. start + length`` of one activation parquet file."""

    path: Path
    start: int
    length: int

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def n_rows(self) -> int:
        return self.length

    def read(self, with_example_ids: bool = True) -> ActivationBatch:
        return read_activation_slice(self.path, self.start, self.length, with_example_ids)


def parquet_source(
    files: tuple[Path, ...], spec: str, unit_rows: int | None = None
) -> ActivationSource:
    """Units of ``unit_rows`` rows (default ``UNIT_ROWS``) over the activation parquet files
    (each file's columns and dtypes checked first)."""
    unit_rows = unit_rows or UNIT_ROWS
    units: list[ActivationUnit] = []
    for path in files:
        size = check_activation_file(path)
        units += [
            ParquetUnit(path, start, min(unit_rows, size - start))
            for start in range(0, size, unit_rows)
        ]
    return ActivationSource(tuple(units), spec)


@dataclass(frozen=True)
class InputUnit:
    """Rows ``start .. start + length`` of one file of an :class:`ActivationInput` (a sequence
    model's parquet files or Delphi split files, whose rows become example ids of positions)."""

    source: ActivationInput
    path: Path
    start: int
    length: int

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def n_rows(self) -> int:
        return self.length

    def read(self, with_example_ids: bool = True) -> ActivationBatch:
        return self.source.read(self.path, self.start, self.length, with_example_ids)


def input_source(
    source: ActivationInput, spec: str, unit_rows: int | None = None
) -> ActivationSource:
    """Units of ``unit_rows`` rows over the files of an :class:`ActivationInput`."""
    unit_rows = unit_rows or UNIT_ROWS
    units: list[ActivationUnit] = []
    for path in source.files:
        size = source.count(path)
        units += [
            InputUnit(source, path, start, min(unit_rows, size - start))
            for start in range(0, size, unit_rows)
        ]
    return ActivationSource(tuple(units), spec)


def activation_source(config: ModelConfig, base_folder: Path | None = None) -> ActivationSource:
    """The builder's input for a model: its activation parquet files, or for a sequence model
    its ``feature_id, seq_id, pos, activation`` parquet or Delphi cache, read against the token
    stream of the index base in ``base_folder``."""
    if config.is_sequence:
        from labeler_tui.core.data.sequence_build import sequence_activations_input

        assert base_folder is not None, "a sequence model's input needs its index base"
        return input_source(
            sequence_activations_input(config, base_folder), str(config.activations_spec)
        )
    return parquet_source(config.activations, str(config.activations_spec))
