"""The queue through LabelingService: order, re-queue, skips, claims with an injected clock,
building, status; and SplatNLP-shaped queue files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labeler_tui.core.errors import ValidationError
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(tiny_workspace: Path, clock: Clock) -> LabelingService:
    return LabelingService(Workspace.open(tiny_workspace), clock=clock)


def _pending(service: LabelingService) -> list[int]:
    return [e.feature_id for e in service.queue().entries]


def test_priority_order_then_age(service: LabelingService, clock: Clock) -> None:
    service.add([4], priority=0.5)
    clock.advance(1)
    service.add([2], priority=0.9)
    clock.advance(1)
    service.add([7, 1], priority=0.5)  # same priority and time: insertion order
    clock.advance(1)
    service.add([9], priority=0.5)
    assert _pending(service) == [2, 4, 7, 1, 9]
    top = service.next()
    assert (top.feature_id, top.priority) == (2, 0.9)
    file = json.loads(service.queue_path.read_text())
    assert [e["feature_id"] for e in file["entries"]] == [2, 4, 7, 1, 9]
    assert file["model_type"] == "tiny"
    assert set(file["entries"][0]) >= {"feature_id", "model_type", "priority", "reason", "added_at"}


def test_adding_pending_updates_without_duplicates(service: LabelingService, clock: Clock) -> None:
    service.add([3, 5], priority=0.2, reason="first")
    added_at = service.queue().entries[0].added_at
    clock.advance(5)
    assert service.add([5, 5], priority=0.95, reason="SCU-related cluster").raised == [5]
    entries = service.queue().entries
    assert [(e.feature_id, e.priority, e.reason) for e in entries] == [
        (5, 0.95, "SCU-related cluster"),
        (3, 0.2, "first"),
    ]
    assert entries[0].added_at == added_at  # age kept


def test_claims_live_at_the_top_level_and_expired_ones_are_dropped(
    service: LabelingService, clock: Clock
) -> None:
    """SplatNLP's QueueEntry(**entry) crashed on any claim inside an entry."""
    service.add([3, 4, 5], priority=0.5)
    service.claim(3, owner="agent-1", ttl=60)
    service.claim(4, owner="agent-2", ttl=600)
    file = json.loads(service.queue_path.read_text())
    assert all(set(e) == {"feature_id", "model_type", "priority", "reason", "added_at"}
               for e in file["entries"])  # fmt: skip
    assert set(file["claims"]) == {"3", "4"} and file["claims"]["3"]["owner"] == "agent-1"
    clock.advance(120)  # agent-1's claim expired
    service.add([6])
    assert set(json.loads(service.queue_path.read_text())["claims"]) == {"4"}


def test_an_older_file_with_claims_inside_entries_reads_them(service: LabelingService) -> None:
    expires = (service.now() + timedelta(minutes=5)).isoformat()
    service.queue_path.parent.mkdir(parents=True, exist_ok=True)
    service.queue_path.write_text(
        json.dumps(
            {
                "entries": [
                    {"feature_id": 2, "model_type": "tiny", "priority": 0.5, "reason": None,
                     "added_at": "2026-01-01T00:00:00+00:00", "claimed_by": "bob",
                     "claim_expires": expires},
                ]
            }
        )
    )  # fmt: skip
    assert service.queue().entries[0].claimed_by == "bob"
    assert service.next(owner="alice") is None
    service.add([5])
    file = json.loads(service.queue_path.read_text())
    assert file["claims"]["2"] == {"owner": "bob", "expires": expires}
    assert "claimed_by" not in file["entries"][0]


def test_an_add_never_demotes_a_pending_entry(service: LabelingService) -> None:
    service.add([3], priority=0.9, reason="the user's")
    result = service.add([3, 4], priority=0.5, reason="later")
    assert (result.pending, result.queued) == ([3], [4])
    assert result.summary() == "1 queued, 1 already pending"
    assert [(e.feature_id, e.priority, e.reason) for e in service.queue().entries] == [
        (3, 0.9, "the user's"),
        (4, 0.5, "later"),
    ]


def test_a_bulk_add_leaves_done_features_and_reasons_alone(service: LabelingService) -> None:
    """`A` on a similar list: pending ones keep their reason (a higher priority only moves
    them up), skipped and labeled ones are not resurrected."""
    service.add([1, 2, 3, 4], priority=0.3, reason="mine")
    service.set_label(1, LabelEdit("done"))
    service.skip(2, reason="noisy")
    result = service.add([1, 2, 3, 5], priority=0.6, reason="similar to 9", bulk=True)
    assert (result.left_done, result.left_skipped) == ([1], [2])
    assert (result.raised, result.queued) == ([3], [5])
    assert result.summary() == (
        "1 queued, 1 given a higher priority, 1 skipped left as is, 1 labeled left as is"
    )
    state = service.queue()
    assert [(e.feature_id, e.priority, e.reason) for e in state.entries] == [
        (3, 0.6, "mine"),
        (5, 0.6, "similar to 9"),
        (4, 0.3, "mine"),
    ]
    assert state.completed == [1] and [s.feature_id for s in state.skipped] == [2]
    again = service.add([1, 2, 3, 5], priority=0.6, reason="similar to 9", bulk=True)
    assert again.changed == [] and service.history()[-1]["action"] == "add"  # nothing written


def test_an_explicit_add_requeues_skipped_and_completed(service: LabelingService) -> None:
    service.add([1, 2], priority=0.3)
    service.set_label(1, LabelEdit("done"))
    service.skip(2, reason="noisy")
    result = service.add([1, 2], priority=0.4, reason="again")
    assert (result.relabel, result.requeued) == ([1], [2])
    assert "1 labeled queued again for relabeling" in result.summary()
    assert [e.feature_id for e in service.queue().entries] == [1, 2]


def test_set_priority_moves_a_pending_entry_either_way(service: LabelingService) -> None:
    service.add([3], priority=0.9, reason="r")
    assert service.set_priority(3, 0.1)
    assert [(e.priority, e.reason) for e in service.queue().entries] == [(0.1, "r")]
    assert not service.set_priority(4, 0.5)  # not pending


def test_label_completes_and_add_requeues_completed_and_skipped(service: LabelingService) -> None:
    service.add([1, 2, 3], priority=0.6)
    service.set_label(1, LabelEdit("done"))
    assert service.skip(2, reason="too noisy") == 2
    state = service.queue()
    assert [e.feature_id for e in state.entries] == [3]
    assert state.completed == [1]
    assert [(s.feature_id, s.reason) for s in state.skipped] == [(2, "too noisy")]
    assert state.skipped[0].skipped_at.startswith("2026-01-01T12:00:00")
    service.add([1, 2], priority=0.9, reason="relabel")
    state = service.queue()
    assert [e.feature_id for e in state.entries] == [1, 2, 3]
    assert state.completed == [] and state.skipped == []


def test_skip_default_is_next_and_empty_queue_is_an_error(service: LabelingService) -> None:
    service.add([6], priority=0.3)
    service.add([8], priority=0.7)
    assert service.skip() == 8
    assert service.skip() == 6
    with pytest.raises(ValidationError, match="nothing to skip"):
        service.skip()


def test_add_validates_priority_and_ids(service: LabelingService) -> None:
    with pytest.raises(ValidationError, match="priority"):
        service.add([1], priority=1.2)
    with pytest.raises(ValidationError, match="out of range"):
        service.add([1, 99])
    assert not service.queue_path.exists()


def test_claims_lease_top_entry_and_expire(service: LabelingService, clock: Clock) -> None:
    service.add([1, 2, 3], priority=0.5)
    a = service.next(claim=True, owner="agent-a", ttl=60)
    b = service.next(claim=True, owner="agent-b", ttl=60)
    assert (a.feature_id, a.claimed_by) == (1, "agent-a")
    assert (b.feature_id, b.claimed_by) == (2, "agent-b")
    assert a.claim_expires == (clock.now + timedelta(seconds=60)).isoformat(timespec="microseconds")
    assert service.next(owner="agent-b").feature_id == 2  # own lease still served to its owner
    assert service.next(owner="agent-c").feature_id == 3
    assert service.status()["queue"]["claimed"] == 2
    assert service.claim(1, owner="agent-c") is False
    clock.advance(61)  # both leases expired
    assert service.status()["queue"]["claimed"] == 0
    c = service.next(claim=True, owner="agent-c", ttl=30)
    assert c.feature_id == 1 and c.claimed_by == "agent-c"
    service.release(1, owner="agent-c")
    assert service.queue().entries[0].claimed_by is None
    with pytest.raises(ValidationError, match="ttl"):
        service.next(claim=True, ttl=0)


def test_release_of_another_owners_live_lease_needs_force(service: LabelingService) -> None:
    service.add([4])
    assert service.claim(4, owner="x", ttl=100)
    with pytest.raises(ValidationError, match="claimed by x"):
        service.release(4, owner="y")
    service.release(4, owner="y", force=True)
    assert service.claim(4, owner="y", ttl=100)


def test_labeling_releases_the_claim(service: LabelingService) -> None:
    service.add([5, 6])
    entry = service.next(claim=True, owner=service.owner, ttl=100)
    service.set_label(entry.feature_id, LabelEdit("done"))
    assert service.queue().active_claims() == []
    assert service.next(claim=True, owner="other").feature_id == 6


def test_all_claimed_by_others_returns_none(service: LabelingService) -> None:
    service.add([2])
    service.next(claim=True, owner="a", ttl=100)
    assert service.next(claim=True, owner="b") is None
    assert service.next(owner="b") is None


def test_next_builds_an_empty_queue(service: LabelingService) -> None:
    service.set_label(0, LabelEdit("labeled"))
    assert service.next(build=False) is None
    entry = service.next()
    counts = service.workspace.data().nonzero_counts
    expected = max((f for f in range(1, 12)), key=lambda f: int(counts[f]))
    assert entry is not None and entry.feature_id == expected
    assert 0 not in _pending(service) and len(_pending(service)) == 10  # 11 is dead
    adds = [e for e in service.history() if e["action"] == "add"]
    assert {e["source"] for e in adds} == {"build-queue:activation_count"}


def test_splatnlp_queue_file_loads_and_keeps_unknown_keys(service: LabelingService) -> None:
    old = {
        "model_type": "tiny",
        "entries": [
            {"feature_id": 4, "model_type": "tiny", "priority": 0.3, "reason": "a",
             "added_at": "2025-12-01T10:00:00.000000", "note": "kept"},
            {"feature_id": 9, "model_type": "tiny", "priority": 0.8, "reason": None,
             "added_at": "2025-12-02T10:00:00.000000"},
        ],
        "completed": [1, 2],
        "skipped": [3],
        "version": 1,
    }  # fmt: skip
    service.queue_path.parent.mkdir(parents=True, exist_ok=True)
    service.queue_path.write_text(json.dumps(old))
    state = service.queue()
    assert [e.feature_id for e in state.entries] == [9, 4]
    assert (state.completed, [s.feature_id for s in state.skipped]) == ([1, 2], [3])
    assert service.status()["queue"] == {"pending": 2, "completed": 2, "skipped": 1, "claimed": 0}
    service.skip(9, reason="later")
    file = json.loads(service.queue_path.read_text())
    assert file["version"] == 1
    # entries hold exactly SplatNLP's five keys (its loader is QueueEntry(**entry)); an
    # entry's other keys are kept at the top level, which that loader ignores
    assert file["entries"] == [{k: v for k, v in old["entries"][0].items() if k != "note"}]
    assert file["entry_extras"] == {"4": {"note": "kept"}}
    assert file["completed"] == [1, 2] and file["skipped"] == [3, 9]
    assert file["skip_details"]["9"]["reason"] == "later"


def test_status_counts(service: LabelingService) -> None:
    service.set_label(1, LabelEdit("a", "tactical", source="claude code"))
    service.set_label(2, LabelEdit("b", "tactical"))
    service.set_label(3, LabelEdit("c"))
    service.add([4, 5])
    service.skip(6)
    service.next(claim=True, owner="z", ttl=10)
    assert service.status() == {
        "model": "tiny",
        "labels": {
            "total": 3,
            "by_source": {"claude code": 1, "dashboard": 2},
            "by_category": {"none": 1, "tactical": 2},
        },
        "queue": {"pending": 2, "completed": 3, "skipped": 1, "claimed": 1},
    }


def test_stores_signature_changes_on_write(service: LabelingService) -> None:
    first = service.stores_signature()
    assert first == service.stores_signature()
    service.add([1])
    second = service.stores_signature()
    assert second != first
    other = LabelingService(Workspace.open(service.workspace.root))
    other.set_label(2, LabelEdit("from another process"))
    assert service.stores_signature() != second
