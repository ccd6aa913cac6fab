"""Output effects imported from a Neuronpedia export (``[models.NAME] effects``).

Without an output matrix, a model's effects can come from the export a Neuronpedia source ships:
each feature row's ``pos_str``/``pos_values`` (the output tokens it promotes most, highest
first) and ``neg_str``/``neg_values`` (those it suppresses most). The export's feature files
are read once per process, on the first effects asked for.
"""

from __future__ import annotations

from typing import Any

from labeler_tui.core.analysis.derived import memoized
from labeler_tui.core.data import ModelData
from labeler_tui.core.data.neuronpedia_export import batch_files, feature_index, read_rows
from labeler_tui.core.data.tokenizer import visible_piece
from labeler_tui.core.errors import DataError

Pairs = list[tuple[str, float]]


def _pairs(row: dict[str, Any], names_key: str, values_key: str) -> Pairs:
    names, values = row.get(names_key) or [], row.get(values_key) or []
    if not isinstance(names, list) or not isinstance(values, list):
        return []
    out = []
    for name, value in zip(names, values, strict=False):
        if isinstance(name, str) and isinstance(value, int | float) and not isinstance(value, bool):
            out.append((visible_piece(name), float(value)))
    return out


def _read(data: ModelData) -> dict[int, tuple[Pairs, Pairs]]:
    folder = data.config.effects
    assert folder is not None
    files = batch_files(folder, "features")
    if not files:
        raise DataError(f"{folder}: no features/batch-*.jsonl files (a Neuronpedia export)")
    table: dict[int, tuple[Pairs, Pairs]] = {}
    for path in files:
        for number, row in read_rows(path):
            index = feature_index(row, path, number)
            promoted = sorted(_pairs(row, "pos_str", "pos_values"), key=lambda p: -p[1])
            suppressed = sorted(_pairs(row, "neg_str", "neg_values"), key=lambda p: p[1])
            table[index] = (promoted, suppressed)
    return table


def imported_effects(data: ModelData, feature_id: int) -> tuple[Pairs, Pairs]:
    """(promoted highest first, suppressed lowest first) of one feature; empty lists when the
    export does not list it."""
    table: dict[int, tuple[Pairs, Pairs]] = memoized(data, "imported_effects", lambda: _read(data))
    return table.get(int(feature_id), ([], []))
