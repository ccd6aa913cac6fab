"""LabelingService label writes on a real tiny workspace: records, dashboard, research state,
validation, SplatNLP files, corrupt stores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from labeler_tui.core.errors import StoreError, ValidationError
from labeler_tui.core.records import RECORD_FIELDS, LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


@pytest.fixture
def service(tiny_workspace: Path) -> LabelingService:
    return LabelingService(Workspace.open(tiny_workspace))


def _store_bytes(service: LabelingService) -> dict[str, bytes | None]:
    paths = [service.labels_path, service.queue_path, service.history_path, service.dashboard_path]
    return {p.name: (p.read_bytes() if p.exists() else None) for p in paths}


def test_set_label_writes_full_record_dashboard_and_queue(service: LabelingService) -> None:
    record = service.set_label(
        3,
        LabelEdit(
            "SCU Detector",
            "tactical",
            "Responds to SCU",
            source="claude code",
            interpretability_confidence=0.8,
            hypothesis_confidence=0.7,
            stability_score=0.5,
        ),
    )
    stored = json.loads(service.labels_path.read_text())
    assert list(stored) == ["3"]
    assert stored["3"] == record
    assert set(RECORD_FIELDS) <= set(record)
    assert record["feature_id"] == 3 and record["model_type"] == "tiny"
    assert record["dashboard_name"] == record["display_name"] == "SCU Detector"
    assert record["dashboard_category"] == "tactical"
    assert record["source"] == "claude code"
    assert (record["interpretability_confidence"], record["hypothesis_confidence"]) == (0.8, 0.7)
    assert record["stability_score"] == 0.5
    # importance: 100 x share of features whose decoder norm is strictly smaller
    norms = np.linalg.norm(np.load(service.workspace.root / "data/decoder.npy"), axis=1)
    expected = 100.0 * np.sum(norms < norms[3]) / len(norms)
    assert record["importance_percentile"] == pytest.approx(expected, abs=0.01)
    dashboard = json.loads(service.dashboard_path.read_text())
    assert dashboard["3"] == {
        "name": "SCU Detector",
        "category": "tactical",
        "notes": "Responds to SCU",
        "timestamp": record["last_updated"],
    }
    assert service.queue().completed == [3]
    assert service.label(3) == record
    assert service.labels() == {3: record}
    assert service.workspace.state_dir("tiny").exists() is False  # never created


def test_relabel_keeps_unset_fields_and_default_source(service: LabelingService) -> None:
    service.set_label(2, LabelEdit("First", "mechanical", "n1", interpretability_confidence=0.4))
    record = service.set_label(2, LabelEdit("Second"))
    assert record["dashboard_name"] == "Second"
    assert record["dashboard_category"] == "mechanical"
    assert record["dashboard_notes"] == "n1"
    assert record["interpretability_confidence"] == 0.4
    assert record["source"] == "dashboard"  # the workspace's [labeler] source


def test_label_without_decoder_has_null_importance(make_tiny_workspace) -> None:
    root = make_tiny_workspace("nodec", with_decoder=False)
    record = LabelingService(Workspace.open(root)).set_label(1, LabelEdit("x"))
    assert record["importance_percentile"] is None
    assert record["dashboard_category"] == "none"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"feature_id": 12, "name": "x"}, "out of range"),
        ({"feature_id": -1, "name": "x"}, "out of range"),
        ({"feature_id": 1, "name": "  "}, "name: must not be empty"),
        ({"feature_id": 1, "name": "x", "category": "weird"}, "category: 'weird'"),
        ({"feature_id": 1, "name": "x", "interpretability_confidence": 1.5}, "must be in"),
        ({"feature_id": 1, "name": "x", "hypothesis_confidence": -0.1}, "must be in"),
        ({"feature_id": 1, "name": "x", "stability_score": float("nan")}, "expected a number"),
    ],
)
def test_invalid_values_write_nothing(service: LabelingService, kwargs, message: str) -> None:
    service.set_label(0, LabelEdit("existing"))
    before = _store_bytes(service)
    feature_id = kwargs.pop("feature_id")
    with pytest.raises(ValidationError, match=message):
        service.set_label(feature_id, LabelEdit(**kwargs))
    assert _store_bytes(service) == before


def test_research_state_updated_only_when_it_exists(service: LabelingService) -> None:
    path = service.workspace.state_path(5, "tiny")
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps({"feature_label": "old", "hypotheses": [{"statement": "h"}], "custom": 1})
    )
    record = service.set_label(5, LabelEdit("New name"))
    state = json.loads(path.read_text())
    assert state["feature_label"] == "New name"
    assert state["updated_at"] == record["last_updated"]
    assert state["hypotheses"] == [{"statement": "h"}] and state["custom"] == 1
    assert record["research_state_path"] == str(path)
    service.set_label(6, LabelEdit("Other"))
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_splatnlp_file_loads_and_unknown_fields_survive(service: LabelingService) -> None:
    old = {
        "10": {
            "feature_id": 10,
            "model_type": "tiny",
            "dashboard_name": "Old label",
            "dashboard_category": "strategic",
            "dashboard_notes": "from splatnlp",
            "display_name": "Old label",
            "last_updated": "2025-12-14T01:30:00.000000",
            "source": "dashboard",
            "legacy_field": {"keep": [1, 2]},
        },
        "4": {"feature_id": 4, "dashboard_name": "Sparse", "source": "research"},
        "6": {"dashboard_name": "No id, no source"},
    }
    service.labels_path.parent.mkdir(parents=True, exist_ok=True)
    service.labels_path.write_text(json.dumps(old))
    assert service.labels()[10]["legacy_field"] == {"keep": [1, 2]}
    assert service.labels()[6]["feature_id"] == 6
    assert service.label(6)["feature_id"] == 6
    assert service.status()["labels"]["by_source"] == {"dashboard": 1, "research": 1, "unknown": 1}
    record = service.set_label(10, LabelEdit("Renamed", notes=None))
    assert record["legacy_field"] == {"keep": [1, 2]}
    assert record["dashboard_notes"] == "from splatnlp"
    assert record["dashboard_category"] == "strategic"
    stored = json.loads(service.labels_path.read_text())
    assert stored["4"] == old["4"]  # untouched records keep their content
    assert stored["6"] == old["6"]
    assert stored["10"]["legacy_field"] == {"keep": [1, 2]}


@pytest.mark.parametrize("store", ["labels_path", "queue_path", "dashboard_path"])
def test_corrupt_store_is_never_overwritten(service: LabelingService, store: str) -> None:
    service.set_label(1, LabelEdit("ok"))
    path: Path = getattr(service, store)
    path.write_bytes(b'{\n  "1": {\n    "name": "x",,\n  }\n}\n')
    before = _store_bytes(service)
    with pytest.raises(StoreError) as err:
        service.set_label(2, LabelEdit("blocked"))
    assert str(path) in str(err.value) and "line 3" in str(err.value)
    assert _store_bytes(service) == before
    fresh = LabelingService(Workspace.open(service.workspace.root))
    with pytest.raises(StoreError):
        fresh.set_label(2, LabelEdit("blocked"))
    assert _store_bytes(service) == before


def test_clear_label_removes_record_and_dashboard_entry(service: LabelingService) -> None:
    service.set_label(7, LabelEdit("To clear", "tactical"))
    service.set_label(8, LabelEdit("Stays"))
    removed = service.clear_label(7)
    assert removed is not None and removed["dashboard_name"] == "To clear"
    assert service.label(7) is None
    assert "7" not in json.loads(service.dashboard_path.read_text())
    assert service.label(8)["dashboard_name"] == "Stays"
    assert service.clear_label(7) is None
    assert [e["action"] for e in service.history(feature_id=7)] == ["label", "clear"]
