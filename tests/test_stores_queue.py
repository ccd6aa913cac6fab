"""QueueDoc: the queue file model on its own (no workspace)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labeler_tui.core.errors import StoreError
from labeler_tui.core.stores.queue import QueueDoc, QueueState
from labeler_tui.core.timestamps import parse_time

PATH = Path("queue_m.json")


def _entry(fid: int, priority: float, added_at: str = "2025-01-01T00:00:00", **extra) -> dict:
    return {"feature_id": fid, "model_type": "m", "priority": priority, "reason": None,
            "added_at": added_at, **extra}  # fmt: skip


def test_old_writer_leftovers_are_normalised() -> None:
    raw = {
        "entries": [_entry(1, 0.5), _entry(2, 0.4), _entry(1, 0.9), _entry(3, 0.3)],
        "completed": [2, 2, 5],
        "skipped": [3, 5, {"feature_id": 6}],
    }
    doc = QueueDoc("m", PATH, raw)
    assert [e["feature_id"] for e in doc.entries] == [1]  # first duplicate wins; 2, 3 are done
    assert doc.entries[0]["priority"] == 0.5
    assert doc.completed == [2, 5]
    assert doc.skipped == [3, 6]  # 5 is completed
    assert doc.feature_state(3) == {"status": "skipped", "reason": None, "skipped_at": None}
    assert doc.to_raw(datetime(2026, 1, 1, tzinfo=UTC))["model_type"] == "m"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"entries": {"1": {}}}, '"entries" must be a list'),
        ({"entries": [5]}, r"entries\[0\]: expected an object, got 5"),
        ({"entries": [{"feature_id": -3}]}, r"entries\[0\].feature_id: .* got -3"),
        ({"entries": [{"feature_id": 1, "priority": float("nan")}]}, r"entries\[0\].priority"),
        ({"claims": {"x": {"owner": "a"}}}, r"claims\['x'\]: the key is not a feature id"),
        ({"entries": [{"feature_id": "x"}]}, r"entries\[0\].feature_id: expected a feature id"),
        ({"completed": [1, None]}, r"completed\[1\]"),
        ({"skip_details": []}, "skip_details"),
    ],
)
def test_malformed_queue_is_a_store_error(raw: dict, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        QueueDoc("m", PATH, raw)


def test_snapshot_round_trip_restores_every_state() -> None:
    doc = QueueDoc("m", PATH, None)
    doc.add(1, 0.7, "r", "2025-01-01T00:00:00")
    doc.add(2, 0.2, None, "2025-01-01T00:00:01")
    doc.skip(3, "why", "2025-01-02T00:00:00")
    doc.complete(4)
    snapshots = {fid: doc.feature_state(fid) for fid in (1, 2, 3, 4, 5)}
    assert snapshots[5] is None
    doc.complete(1)
    doc.add(3, 0.9, None, "2025-01-03T00:00:00")
    doc.skip(4, None, "2025-01-03T00:00:00")
    doc.add(5, 0.1, None, "2025-01-03T00:00:00")
    for fid, snap in snapshots.items():
        doc.set_feature_state(fid, snap)
    assert {fid: doc.feature_state(fid) for fid in snapshots} == snapshots
    assert [e["feature_id"] for e in doc.entries] == [1, 2]


def test_active_claims_and_expiry_parsing() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    doc = QueueDoc("m", PATH, None)
    for fid in (1, 2, 3):
        doc.add(fid, 0.5, None, "2025-01-01T00:00:00")
    doc.set_claim(1, "a", (now + timedelta(minutes=5)).isoformat())
    doc.set_claim(2, "b", "2025-12-30T23:59:59")  # naive: local time, a day ago anywhere
    doc.set_claim(3, "c", "not a time")  # unreadable: free
    state: QueueState = doc.state()
    assert [e.feature_id for e in state.active_claims(now.isoformat())] == [1]
    assert doc.top("b", now)["feature_id"] == 2
    assert doc.top("a", now)["feature_id"] == 1
    local = datetime(2025, 12, 31, 23, 59, 59).astimezone()
    assert parse_time("2025-12-31T23:59:59") == local
    raw = doc.to_raw(now)
    assert set(raw["claims"]) == {"1"}  # expired and unreadable claims are dropped
