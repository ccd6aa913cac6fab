"""A Neuronpedia export, read in place.

Neuronpedia's exporter (``utils/neuronpedia-utils/.../export-data.py``) writes one folder per
source (an SAE, e.g. ``6-res-jb``) holding ``features/batch-N.jsonl`` (one row per feature:
``modelId``, ``layer``, ``index``, ``pos_str``/``pos_values`` and ``neg_str``/``neg_values``,
the output tokens the feature promotes and suppresses most, ...) and ``explanations/batch-N.jsonl``
(one row per explanation: ``index``, ``description``, ``explanationModelName``, ``typeName``,
...), each optionally gzipped (``.jsonl.gz``, as the public exports are).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labeler_tui.core.errors import DataError

PARTS = ("features", "explanations")


def is_source_folder(path: Path) -> bool:
    """Whether ``path`` holds ``features/`` or ``explanations/`` batches."""
    return path.is_dir() and any(batch_files(path, part) for part in PARTS)


def batch_files(source: Path, part: str) -> list[Path]:
    """The ``.jsonl`` and ``.jsonl.gz`` files of ``source/part``, in batch order."""
    folder = source / part
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz"))]

    def batch(path: Path) -> tuple[int, str]:
        stem = path.name.split(".")[0]
        number = stem.rsplit("-", 1)[-1]
        return (int(number) if number.isdigit() else 1 << 30, path.name)

    return sorted(files, key=batch)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of a JSONL file (gzipped or not); DataError naming the file and the
    line for anything unreadable."""
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}: line {number}: not JSON: {exc.msg}") from None
                if not isinstance(row, dict):
                    raise DataError(f"{path}: line {number}: expected a JSON object")
                yield number, row
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None


def feature_index(row: dict[str, Any], path: Path, number: int) -> int:
    """A row's feature index (Neuronpedia stores it as text)."""
    value = row.get("index")
    try:
        index = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataError(f"{path}: line {number}: index {value!r} is not a feature index") from None
    if index < 0:
        raise DataError(f"{path}: line {number}: index {index} is negative")
    return index
