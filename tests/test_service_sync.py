"""sync() and export() through the service: real files in, merged store and events out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from labeler_tui.core.errors import StoreError
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


@pytest.fixture
def service(tiny_workspace: Path) -> LabelingService:
    return LabelingService(Workspace.open(tiny_workspace))


def _write(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def test_sync_merges_dashboard_and_research_and_keeps_cli_provenance(
    service: LabelingService,
) -> None:
    service.set_label(1, LabelEdit("CLI label", "tactical", source="claude code"))
    dashboard = json.loads(service.dashboard_path.read_text())
    dashboard["2"] = {
        "name": "Dash only",
        "category": "mechanical",
        "notes": "n",
        "timestamp": "2030-01-01T00:00:00",
    }
    _write(service.dashboard_path, dashboard)
    state = service.workspace.state_path(1, "tiny")
    _write(state, {"feature_label": "Research says", "updated_at": "2030-01-01T00:00:00"})
    history_before = len(service.history())

    changes = service.sync().changes

    labels = service.labels()
    assert labels[1]["source"] == "claude code"
    assert labels[1]["dashboard_name"] == "CLI label"
    assert labels[1]["research_label"] == "Research says"
    assert labels[1]["research_state_path"] == str(state)
    assert labels[2]["dashboard_name"] == "Dash only" and labels[2]["source"] == "dashboard"
    assert labels[2]["importance_percentile"] is not None  # filled from the decoder
    assert {c["feature_id"] for c in changes} == {1, 2}
    events = service.history()[history_before:]
    assert [(e["action"], e["feature_id"]) for e in events] == [("sync", 1), ("sync", 2)]
    assert events[0]["before"]["research_label"] is None
    assert events[0]["after"]["research_label"] == "Research says"
    assert service.sync().changes == []  # nothing new: no change, no event
    assert len(service.history()) == history_before + 2

    service.undo()  # one sync is one batch
    assert set(service.labels()) == {1}
    assert service.labels()[1]["research_label"] is None


def test_sync_refuses_a_corrupt_research_state(service: LabelingService) -> None:
    service.set_label(1, LabelEdit("x"))
    bad = service.workspace.state_path(3, "tiny")
    bad.parent.mkdir(parents=True)
    bad.write_text('{"feature_label": "a",\n oops}')
    before = service.labels_path.read_bytes()
    with pytest.raises(StoreError, match=r"feature_3_tiny\.json: corrupt JSON at line 2"):
        service.sync()
    assert service.labels_path.read_bytes() == before


def test_export_writes_every_record(service: LabelingService, tmp_path: Path) -> None:
    service.set_label(4, LabelEdit("four", "strategic", "n4"))
    service.set_label(2, LabelEdit("two"))
    out = tmp_path / "labels.csv"
    assert service.export(out) == 2
    rows = list(csv.DictReader(out.open()))
    assert [r["feature_id"] for r in rows] == ["2", "4"]
    assert rows[1]["category"] == "strategic" and rows[1]["notes"] == "n4"  # the original's
    assert rows[1]["dashboard_name"] == "four"  # then every other field
    assert service.export(tmp_path / "labels.jsonl") == 2
    lines = (tmp_path / "labels.jsonl").read_text().splitlines()
    assert [json.loads(line)["dashboard_name"] for line in lines] == ["two", "four"]
