"""History events and undo sequences through LabelingService."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


@pytest.fixture
def service(tiny_workspace: Path) -> LabelingService:
    return LabelingService(Workspace.open(tiny_workspace), owner="ann")


def _lines(service: LabelingService) -> list[dict]:
    return [json.loads(line) for line in service.history_path.read_text().splitlines()]


def test_every_change_is_one_event_with_before_and_after(service: LabelingService) -> None:
    service.set_label(1, LabelEdit("A", source="manual"))
    service.set_label(1, LabelEdit("B"))
    service.add([2], priority=0.4)
    service.next(claim=True, owner="bot", ttl=10)
    service.release(2, owner="bot")
    service.skip(2, reason="meh")
    service.clear_label(1)
    events = _lines(service)
    assert [e["action"] for e in events] == [
        "label", "label", "add", "claim", "release", "skip", "clear",
    ]  # fmt: skip
    for event in events:
        assert {"id", "ts", "action", "feature_id", "source", "owner", "before", "after"} <= set(
            event
        )
    first, second = events[0], events[1]
    assert first["before"] is None and first["after"]["dashboard_name"] == "A"
    assert first["source"] == "manual" and first["owner"] == "ann"
    assert second["before"]["dashboard_name"] == "A" and second["after"]["dashboard_name"] == "B"
    assert events[3]["owner"] == "bot" and events[3]["after"]["claim"]["owner"] == "bot"
    assert events[5]["after"] == {
        "status": "skipped",
        "reason": "meh",
        "skipped_at": events[5]["ts"],
    }
    assert events[6]["before"]["dashboard_name"] == "B" and events[6]["after"] is None
    assert service.history(feature_id=2, limit=2) == events[4:6]
    assert service.history(limit=0) == []


def test_undo_sequence_walks_back_and_skips_claims(service: LabelingService) -> None:
    service.set_label(1, LabelEdit("A"))
    service.set_label(1, LabelEdit("B", "tactical"))
    service.add([3, 4], priority=0.9)
    service.claim(3, owner="bot", ttl=100)
    service.skip(4, reason="x")

    undo = service.undo()[-1]  # the skip
    assert undo["action"] == "undo" and undo["undone_action"] == "skip"
    assert [e.feature_id for e in service.queue().entries] == [3, 4]
    assert service.queue().skipped == []

    undone = service.undo()  # walks past the claim: the add of 3 and 4 (one batch)
    assert [(e["undone_action"], e["feature_id"]) for e in undone] == [("add", 4), ("add", 3)]
    assert service.queue().entries == []

    service.undo()  # relabel B -> A
    record = service.label(1)
    assert record["dashboard_name"] == "A" and record["dashboard_category"] == "none"
    assert json.loads(service.dashboard_path.read_text())["1"]["name"] == "A"
    assert service.queue().completed == [1]

    service.undo()  # first label -> nothing
    assert service.label(1) is None
    assert "1" not in json.loads(service.dashboard_path.read_text())
    assert service.queue().completed == []
    assert service.undo() == []  # nothing left; undo events are not undone
    actions = [e["action"] for e in _lines(service)]
    assert actions.count("undo") == 5  # skip, add x2 (batch), label, label
    assert len(actions) == 6 + 5  # nothing removed


def test_undo_after_new_change_reverts_the_newest(service: LabelingService) -> None:
    service.set_label(2, LabelEdit("first"))
    service.undo()
    service.set_label(2, LabelEdit("second"))
    service.undo()
    assert service.label(2) is None
    service.set_label(5, LabelEdit("x"))
    service.set_label(2, LabelEdit("third"))
    service.undo()
    assert service.label(2) is None and service.label(5)["dashboard_name"] == "x"


def test_undo_clear_restores_record_dashboard_and_research(service: LabelingService) -> None:
    path = service.workspace.state_path(6, "tiny")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"feature_label": None}))
    saved = service.set_label(6, LabelEdit("Kept", "strategic", "n"))
    service.clear_label(6)
    assert json.loads(path.read_text())["feature_label"] is None
    service.undo()
    assert service.label(6) == saved
    assert json.loads(service.dashboard_path.read_text())["6"]["name"] == "Kept"
    assert json.loads(path.read_text())["feature_label"] == "Kept"
    service.undo()
    assert json.loads(path.read_text())["feature_label"] is None


def test_complete_without_label_is_an_undoable_queue_change(service: LabelingService) -> None:
    service.add([3], priority=0.9)
    service.add([4], priority=0.5)
    assert service.complete(3, label="My Label") is True
    assert service.complete(3) is False  # no longer pending
    assert service.complete(9) is False
    state = service.queue()
    assert [e.feature_id for e in state.entries] == [4] and state.completed == [3]
    event = service.history()[-1]
    assert (event["action"], event["label"], event["after"]) == (
        "complete",
        "My Label",
        {"status": "completed"},
    )
    service.undo()
    assert [e.feature_id for e in service.queue().entries] == [3, 4]
    assert service.label(3) is None
