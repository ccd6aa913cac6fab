"""write_export: CSV / JSON Lines / JSON by extension, every field, stable columns, atomic."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest

from labeler_tui.core.errors import StoreError, ValidationError
from labeler_tui.core.export import write_export
from labeler_tui.core.records import RECORD_FIELDS as LABEL_FIELDS
from labeler_tui.core.records import LabelRecord

ORIGINAL = ["feature_id", "display_name", "category", "confidence", "source", "notes"]
"""The original tool's CSV columns, which a CSV starts with."""
MAPPED = {"dashboard_category", "hypothesis_confidence", "dashboard_notes"}
CSV_FIELDS = ORIGINAL + [f for f in LABEL_FIELDS if f not in {*ORIGINAL, *MAPPED}]

RAW = [
    {
        "feature_id": 18712,
        "model_type": "ultra",
        "dashboard_name": "SCU Detector",
        "dashboard_category": "tactical",
        "dashboard_notes": 'Responds to SCU, "stronger" at high AP,\nsecond line',
        "display_name": "SCU Detector",
        "last_updated": "2025-12-14T01:30:00",
        "source": "claude code",
        "hypothesis_confidence": 0.85,
        "importance_percentile": 9.3,
        "interpretability_confidence": 0.85,
        "stability_score": None,
        "zeta_reviewer": "bob",
    },
    {  # a SplatNLP-era record: fewer fields, one unknown list field
        "feature_id": 7,
        "model_type": "ultra",
        "dashboard_name": "Old",
        "display_name": "Old",
        "source": "dashboard",
        "alpha_tags": ["a", "b"],
    },
]
RECORDS = [LabelRecord.from_json(raw) for raw in RAW]


def test_csv_has_every_field_in_stable_order(tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    assert write_export(RECORDS, out) == 2
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    assert header[: len(CSV_FIELDS)] == CSV_FIELDS
    assert header[len(CSV_FIELDS) :] == ["alpha_tags", "zeta_reviewer"]
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert [row[0] for row in rows[1:]] == ["7", "18712"]  # sorted by feature id
    scu = by_id["18712"]
    assert scu["notes"] == RAW[0]["dashboard_notes"]  # quotes/newlines survive
    assert (scu["category"], scu["confidence"]) == ("tactical", "0.85")
    assert float(scu["importance_percentile"]) == 9.3
    assert scu["stability_score"] == "" and scu["zeta_reviewer"] == "bob"
    assert json.loads(by_id["7"]["alpha_tags"]) == ["a", "b"]
    assert by_id["7"]["category"] == ""


def test_csv_reads_back_with_polars(tmp_path: Path) -> None:
    out = tmp_path / "labels.CSV"
    write_export(RECORDS, out)
    frame = pl.read_csv(out)
    assert frame.height == 2
    assert sorted(frame["feature_id"].to_list()) == [7, 18712]


@pytest.mark.parametrize("name", ["export.jsonl", "export.ndjson"])
def test_json_lines_one_record_a_line(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    assert write_export(RECORDS, out) == 2
    lines = out.read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["feature_id"] for r in rows] == [7, 18712]
    assert list(rows[0])[: len(LABEL_FIELDS)] == list(LABEL_FIELDS)
    assert rows[0]["alpha_tags"] == ["a", "b"] and rows[0]["dashboard_notes"] is None
    assert rows[1]["dashboard_notes"] == RAW[0]["dashboard_notes"]
    assert rows[1]["stability_score"] is None


def test_json_is_one_array(tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    write_export(RECORDS, out)
    rows = json.loads(out.read_text())
    assert [r["feature_id"] for r in rows] == [7, 18712]
    assert rows[1]["zeta_reviewer"] == "bob"


def test_unknown_extension_is_a_validation_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "export.txt"
    with pytest.raises(ValidationError, match=r"export\.txt.*\.txt"):
        write_export(RECORDS, out)
    assert list(tmp_path.iterdir()) == []


def test_empty_export_still_has_a_header(tmp_path: Path) -> None:
    out = tmp_path / "empty.csv"
    assert write_export([], out) == 0
    assert out.read_text().strip().split(",") == CSV_FIELDS


def test_rewrite_replaces_atomically_and_leaves_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "export.jsonl"
    write_export(RECORDS, out)
    write_export(RECORDS[:1], out)
    assert len(out.read_text().splitlines()) == 1
    assert [p.name for p in out.parent.iterdir()] == ["export.jsonl"]


def test_unwritable_target_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot write"):
        write_export(RECORDS, blocker / "export.csv")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(ValidationError, match="directory"):
        write_export(RECORDS, folder)


def test_a_carriage_return_in_a_cell_round_trips_through_csv(tmp_path: Path) -> None:
    """csv's QUOTE_MINIMAL leaves a lone "\\r" unquoted with "\\n" rows: the row was cut there."""
    import csv

    from labeler_tui.core.records import LabelRecord

    path = tmp_path / "out.csv"
    record = LabelRecord(feature_id=1, display_name="over\rwrite", dashboard_notes="a\r\nb")
    write_export([record, LabelRecord(feature_id=2, display_name="plain")], path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["display_name"], r["notes"]) for r in rows] == [
        ("over\rwrite", "a\r\nb"),
        ("plain", ""),
    ]
