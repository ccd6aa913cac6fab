"""The one store validator: bad contents are one clear error naming the file, the record and the
field, the same for every reader, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labeler_tui.cli.main import main
from labeler_tui.core.errors import StoreError
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


@pytest.fixture
def service(tiny_workspace: Path) -> LabelingService:
    service = LabelingService(Workspace.open(tiny_workspace))
    service.set_label(1, LabelEdit("first", "tactical", "notes"))
    service.add([2, 3], priority=0.6, reason="r")
    return service


def _fresh(service: LabelingService) -> LabelingService:
    return LabelingService(service.workspace)


def _stores(service: LabelingService) -> dict[str, bytes]:
    paths = [service.labels_path, service.queue_path, service.history_path, service.dashboard_path]
    return {p.name: p.read_bytes() for p in paths if p.exists()}


def _edit_json(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def _cli_error(ws: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["--workspace", str(ws), *args])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith("labeler: error: ") and err.count("\n") == 1
    return err


def test_a_negative_queue_entry_is_named_and_never_served(
    service: LabelingService, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit_json(service.queue_path, lambda d: d["entries"][0].update(feature_id=-3))
    before = _stores(service)
    with pytest.raises(StoreError, match=r"queue_tiny\.json: entries\[0\]\.feature_id: .*got -3"):
        _fresh(service).next()
    err = _cli_error(service.workspace.root, capsys, "next", "--claim")
    assert "entries[0].feature_id" in err and "queue_tiny.json" in err
    assert _stores(service) == before


def test_a_queue_entry_beyond_the_model_is_refused_by_next(service: LabelingService) -> None:
    n = service.workspace.data("tiny").n_features
    _edit_json(service.queue_path, lambda d: d["entries"][0].update(feature_id=n + 5))
    before = _stores(service)
    with pytest.raises(StoreError, match=rf"feature {n + 5}: out of range .*0\.\.{n - 1}"):
        _fresh(service).next(claim=True)
    assert _stores(service) == before


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d["entries"][0].update(priority="high"), r"entries\[0\]\.priority"),
        (lambda d: d["entries"][0].update(priority=7), r"entries\[0\]\.priority: must be in"),
        (lambda d: d["entries"][0].update(reason=["x"]), r"entries\[0\]\.reason"),
        (lambda d: d.update(claims={"abc": {"owner": "x"}}), r"claims\['abc'\]"),
        (lambda d: d.update(claims={"2": {"owner": 5}}), r"claims\['2'\]\.owner"),
        (lambda d: d.update(skip_details={"2": "x"}), r"skip_details\['2'\]"),
        (lambda d: d.update(completed=["²"]), r"completed\[0\]"),
    ],
)
def test_bad_queue_fields_are_named(service: LabelingService, change, named: str) -> None:  # type: ignore[no-untyped-def]
    _edit_json(service.queue_path, change)
    before = _stores(service)
    with pytest.raises(StoreError, match=named) as err:
        _fresh(service).add([4])
    assert str(err.value).startswith(str(service.queue_path))
    assert _stores(service) == before


def test_repeated_keys_are_refused_before_a_record_is_lost(
    service: LabelingService, capsys: pytest.CaptureFixture[str]
) -> None:
    text = service.labels_path.read_text()
    record = json.loads(text)["1"]
    doubled = text.rstrip().removesuffix("}") + ', "1": ' + json.dumps(record) + "}\n"
    service.labels_path.write_text(doubled)
    before = _stores(service)
    with pytest.raises(StoreError, match=r"key '1' appears twice at the top level"):
        _fresh(service).labels()
    err = _cli_error(service.workspace.root, capsys, "label", "-f", "2", "-n", "x")
    assert "consolidated_tiny.json" in err and "appears twice" in err
    assert _stores(service) == before


def test_a_repeated_field_inside_a_record_is_named(service: LabelingService) -> None:
    text = service.labels_path.read_text()
    service.labels_path.write_text(
        text.replace('"dashboard_name": "first"', '"dashboard_name": "a", "dashboard_name": "b"')
    )
    with pytest.raises(StoreError, match=r"key 'dashboard_name' appears twice in 1"):
        _fresh(service).labels()


def test_a_bad_record_field_is_named_by_cli_and_service(
    service: LabelingService, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit_json(service.labels_path, lambda d: d["1"].update(interpretability_confidence="high"))
    with pytest.raises(StoreError, match=r"record 1: interpretability_confidence: .*'high'"):
        _fresh(service).label(1)
    err = _cli_error(service.workspace.root, capsys, "export", "-o", "out.csv")
    assert "record 1: interpretability_confidence" in err


def test_a_bad_dashboard_entry_is_named(service: LabelingService) -> None:
    _edit_json(service.dashboard_path, lambda d: d["1"].update(name=5))
    before = _stores(service)
    with pytest.raises(StoreError, match=r"feature_labels_tiny\.json: feature 1\.name"):
        _fresh(service).set_label(2, LabelEdit("x"))
    assert _stores(service) == before


def test_a_bad_research_state_is_named_not_a_crash(service: LabelingService) -> None:
    state = service.workspace.root / "state" / "tiny" / "feature_1_tiny.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"feature_label": "x", "hypotheses": 5}))
    with pytest.raises(StoreError, match=r"feature_1_tiny\.json: hypotheses: expected a list"):
        _fresh(service).sync()


def _history(service: LabelingService) -> list[dict]:
    return [json.loads(line) for line in service.history_path.read_text().splitlines()]


def _rewrite_history(service: LabelingService, events: list[dict]) -> None:
    service.history_path.write_text("".join(json.dumps(e) + "\n" for e in events))


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("before", "a string", r"\.before: expected an object"),
        ("after", {"interpretability_confidence": "high"}, r"\.after: interpretability_conf"),
        ("feature_id", -1, r"\.feature_id: expected a feature id"),
        ("feature_id", True, r"\.feature_id: expected a feature id"),
        ("dashboard_before", {"name": 3}, r"dashboard_before\.name"),
        ("queue_before", {"status": "lost"}, r"queue_before\.status"),
    ],
)
def test_undo_checks_the_event_before_applying_it(
    service: LabelingService,
    capsys: pytest.CaptureFixture[str],
    field: str,
    value: object,
    named: str,
) -> None:
    service.set_label(5, LabelEdit("five"))
    events = _history(service)
    events[-1][field] = value
    _rewrite_history(service, events)
    before = _stores(service)
    with pytest.raises(StoreError, match=named) as err:
        _fresh(service).undo()
    assert str(err.value).startswith(str(service.history_path))
    assert str(err.value).endswith("nothing was undone")
    assert _stores(service) == before
    msg = _cli_error(service.workspace.root, capsys, "undo")
    assert "history_tiny.jsonl: event" in msg
