"""Export label records to CSV or JSON Lines, chosen by the file extension.

Every field of every record is written (the union of their keys): the DESIGN.md label fields
first in their documented order, then any other field sorted by name, so the columns are stable
from one export to the next. The file is written atomically (temp file, fsync, rename): a reader
never sees half an export and a failed export leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from labeler_tui.core.errors import StoreError, ValidationError
from labeler_tui.core.stores.labels import RECORD_FIELDS

LABEL_FIELDS = RECORD_FIELDS  # the DESIGN.md record fields lead every export
"""The label record fields of DESIGN.md, in the order exports put them."""

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
"""Extension -> format: CSV, JSON Lines (one record a line), or one JSON array for ``.json``."""


def export_format(path: Path) -> str:
    """The format for ``path``'s extension; ValidationError for any other extension."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        suffix = Path(path).suffix or "no extension"
        raise ValidationError(
            f"{path}: unknown export format ({suffix}); use .csv, .jsonl (JSON Lines) or .json"
        )
    return fmt


def columns(records: Iterable[dict[str, Any]]) -> list[str]:
    """Every DESIGN.md field (always, so columns are stable), then any other key sorted."""
    seen: set[str] = set()
    for rec in records:
        seen.update(rec)
    return [*LABEL_FIELDS, *sorted(seen - set(LABEL_FIELDS))]


def _sort_key(rec: dict[str, Any]) -> tuple[int, Any]:
    fid = rec.get("feature_id")
    return (0, fid) if isinstance(fid, int) and not isinstance(fid, bool) else (1, str(fid))


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def render(records: list[dict[str, Any]], fmt: str) -> str:
    """The export text of ``records`` (sorted by feature id) in ``fmt``."""
    ordered = sorted(records, key=_sort_key)
    cols = columns(ordered)
    rows = [{name: rec.get(name) for name in cols} for rec in ordered]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(cols)
        for row in rows:
            writer.writerow([_csv_cell(row[name]) for name in cols])
        return buffer.getvalue()
    if fmt == "jsonl":
        return "".join(orjson.dumps(row).decode() + "\n" for row in rows)
    if fmt == "json":
        return orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n"
    raise ValueError(f"unknown export format {fmt!r}")


def _atomic_write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write export: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600); an export is for sharing, like the stores.
        os.chmod(tmp, os.stat(path).st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StoreError(f"{path}: cannot write export: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_export(records: list[dict[str, Any]], path: Path) -> int:
    """Write ``records`` to ``path`` as CSV (``.csv``), JSON Lines (``.jsonl``/``.ndjson``) or a
    JSON array (``.json``); returns the number of records written.

    Unknown extension -> ValidationError, unwritable path -> StoreError; nothing is written
    in either case.
    """
    path = Path(path)
    fmt = export_format(path)
    if path.is_dir():
        raise ValidationError(f"{path}: is a directory; give a file name for the export")
    _atomic_write(path, render(list(records), fmt))
    return len(records)
