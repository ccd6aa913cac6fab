"""Export label records to CSV, JSON Lines or JSON, chosen by the file extension.

Every field of every record is written (the union of their keys): the documented record fields
(docs/formats.md) first in their order, then any other field sorted by name, so the columns are stable
from one export to the next. The file is written atomically (temp file, fsync, rename): a reader
never sees half an export and a failed export leaves the previous file intact.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from labeler_tui.core.errors import ValidationError
from labeler_tui.core.records import RECORD_FIELDS, LabelRecord
from labeler_tui.core.registry import EXPORT_FORMATS, ExportFormat
from labeler_tui.core.stores.jsonfile import write_bytes_atomic


def export_format(path: Path) -> ExportFormat:
    """The registered format for ``path``'s extension; ValidationError for any other."""
    suffix = Path(path).suffix.lower()
    for fmt in EXPORT_FORMATS.entries():
        if suffix in fmt.extensions:
            return fmt
    known = "; ".join(f"{', '.join(f.extensions)} ({f.help})" for f in EXPORT_FORMATS.entries())
    raise ValidationError(
        f"{path}: unknown export format ({suffix or 'no extension'}); use {known}"
    )


def columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every documented record field (always, so columns are stable), then any other key
    sorted."""
    seen: set[str] = set()
    for row in rows:
        seen.update(row)
    return [*RECORD_FIELDS, *sorted(seen - set(RECORD_FIELDS))]


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


ORIGINAL_CSV = (
    ("feature_id", "feature_id"),
    ("display_name", "display_name"),
    ("category", "dashboard_category"),
    ("confidence", "hypothesis_confidence"),
    ("source", "source"),
    ("notes", "dashboard_notes"),
)
"""The original tool's CSV columns (header, record field): a CSV starts with them."""


def _csv(rows: Sequence[Mapping[str, Any]], cols: list[str]) -> str:
    mapped = {field for _, field in ORIGINAL_CSV}
    fields = [field for _, field in ORIGINAL_CSV] + [c for c in cols if c not in mapped]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # with "\n" rows, a lone "\r" in a cell is not quoted by QUOTE_MINIMAL, and a reader ends
    # the row there: such a row is written with every cell quoted
    quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow([header for header, _ in ORIGINAL_CSV] + fields[len(ORIGINAL_CSV) :])
    for row in rows:
        cells = [_csv_cell(row.get(name)) for name in fields]
        (quoted if any("\r" in cell for cell in cells) else writer).writerow(cells)
    return buffer.getvalue()


def _full(rows: Sequence[Mapping[str, Any]], cols: list[str]) -> list[dict[str, Any]]:
    return [{name: row.get(name) for name in cols} for row in rows]


def _jsonl(rows: Sequence[Mapping[str, Any]], cols: list[str]) -> str:
    return "".join(orjson.dumps(row).decode() + "\n" for row in _full(rows, cols))


def _json(rows: Sequence[Mapping[str, Any]], cols: list[str]) -> str:
    return orjson.dumps(_full(rows, cols), option=orjson.OPT_INDENT_2).decode() + "\n"


EXPORT_FORMATS.add(ExportFormat("csv", "comma-separated values, one row a label", (".csv",), _csv))
EXPORT_FORMATS.add(
    ExportFormat("jsonl", "JSON Lines, one record a line", (".jsonl", ".ndjson"), _jsonl)
)
EXPORT_FORMATS.add(ExportFormat("json", "one JSON array of records", (".json",), _json))


def render(records: Iterable[LabelRecord], fmt: ExportFormat) -> str:
    """The export text of ``records`` (sorted by feature id) in ``fmt``."""
    rows = [record.to_json() for record in sorted(records, key=lambda r: r.feature_id)]
    return fmt.render(rows, columns(rows))


def write_export(records: Iterable[LabelRecord], path: Path) -> int:
    """Write ``records`` to ``path`` in the format its extension names; returns the number of
    records written. Unknown extension -> ValidationError, unwritable path -> StoreError;
    nothing is written in either case (the file is replaced atomically)."""
    path = Path(path)
    fmt = export_format(path)
    if path.is_dir():
        raise ValidationError(f"{path}: is a directory; give a file name for the export")
    records = list(records)
    text = render(records, fmt)
    write_bytes_atomic(path, text.encode("utf-8"))
    return len(records)
