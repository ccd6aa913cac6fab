"""merge_sources: newest timestamp wins per field, provenance kept, dashboard clears honoured."""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest

from labeler_tui.core.records import LabelRecord
from labeler_tui.core.sync import merge_sources, top_hypothesis
from labeler_tui.core.timestamps import parse_time

T1 = "2025-01-01T10:00:00"
T2 = "2025-01-02T10:00:00"
T3 = "2025-01-03T10:00:00"


def record(fid: int, name: str, source: str, ts: str = T2, **extra: Any) -> LabelRecord:
    rec = {
        "feature_id": fid,
        "model_type": "ultra",
        "dashboard_name": name,
        "dashboard_category": "tactical",
        "dashboard_notes": "old notes",
        "display_name": name,
        "last_updated": ts,
        "source": source,
        "hypothesis_confidence": None,
        "importance_percentile": 50.0,
        "interpretability_confidence": 0.7,
        "stability_score": None,
    }
    rec.update(extra)
    return LabelRecord.from_json(rec)


def dash(name: str, ts: str, category: str = "tactical", notes: str = "old notes") -> dict:
    return {"name": name, "category": category, "notes": notes, "timestamp": ts}


def state(label: str | None, ts: str, *hyps: tuple[str, float], path: str = "/s/f.json") -> dict:
    return {
        "feature_id": 0,
        "model_type": "ultra",
        "feature_label": label,
        "updated_at": ts,
        "hypotheses": [
            {"statement": f"h {i}", "status": status, "confidence": conf}
            for i, (status, conf) in enumerate(hyps)
        ],
        "_path": path,
    }


def merge(*args: Any, **kwargs: Any) -> tuple[dict[int, LabelRecord], list[dict]]:
    result = merge_sources(*args, **kwargs)
    return result.records, result.changes


@contextlib.contextmanager
def local_zone(monkeypatch: pytest.MonkeyPatch, zone: str) -> Iterator[None]:
    """The machine's local time zone set to ``zone`` for the block (TZ + tzset)."""
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


def fields_changed(changes: list[dict], fid: int) -> dict[str, tuple]:
    return {
        c["field"]: (c["before"], c["after"], c["from"]) for c in changes if c["feature_id"] == fid
    }


def test_newer_dashboard_wins_per_field_and_older_one_loses() -> None:
    consolidated = {
        1: record(1, "Old", "dashboard", ts=T2),
        2: record(2, "Keep", "dashboard", ts=T2),
    }
    dashboard = {
        "1": dash("New", T3, category="strategic", notes="fresh"),
        "2": dash("Stale", T1, category="mechanical"),
    }
    merged, changes = merge(consolidated, dashboard, {}, "ultra")

    one = merged[1]
    assert (one["dashboard_name"], one["display_name"]) == ("New", "New")
    assert (one["dashboard_category"], one["dashboard_notes"]) == ("strategic", "fresh")
    assert one["last_updated"] == T3
    assert one["importance_percentile"] == 50.0  # untouched fields survive
    assert fields_changed(changes, 1)["dashboard_name"] == ("Old", "New", "dashboard")
    assert merged[2] == consolidated[2]
    assert fields_changed(changes, 2) == {}


def test_inputs_are_not_modified() -> None:
    consolidated = {1: record(1, "Old", "dashboard")}
    dashboard = {"1": dash("New", T3)}
    research = {1: state("R", T3, ("supported", 0.9))}
    snapshot = copy.deepcopy((consolidated, dashboard, research))
    merge_sources(consolidated, dashboard, research, "ultra")
    assert (consolidated, dashboard, research) == snapshot


def test_cli_provenance_is_never_rewritten_to_merged() -> None:
    consolidated = {
        5: record(5, "SCU Detector", "claude code", ts=T2),
        6: record(6, "Mine", "manual", ts=T2),
    }
    dashboard = {"5": dash("SCU Detector", T2), "6": dash("Mine", T1)}
    research = {5: state("SCU research", T3, ("supported", 0.8)), 6: state("R6", T3)}
    merged, changes = merge(consolidated, dashboard, research, "ultra")

    assert merged[5]["source"] == "claude code"
    assert merged[6]["source"] == "manual"
    assert merged[5]["research_label"] == "SCU research"
    assert merged[5]["hypothesis_confidence"] == 0.8
    assert merged[5]["display_name"] == "SCU Detector"
    assert "source" not in fields_changed(changes, 5)


def test_merged_only_when_both_stores_hold_labels() -> None:
    consolidated = {
        1: record(1, "Dash", "dashboard", ts=T1),  # will gain a research label
        2: record(2, "Dash only", "dashboard", ts=T1),  # research state has no label
    }
    dashboard = {"1": dash("Dash", T1), "2": dash("Dash only", T1)}
    research = {1: state("Research", T2), 2: state(None, T2, ("testing", 0.4))}
    merged, changes = merge(consolidated, dashboard, research, "ultra")

    assert merged[1]["source"] == "merged"
    assert fields_changed(changes, 1)["source"] == ("dashboard", "merged", "sync")
    assert merged[2]["source"] == "dashboard"
    assert merged[2]["hypothesis_confidence"] == 0.4


def test_new_records_from_each_store() -> None:
    dashboard = {"3": dash("Only dash", T1), "4": dash("Both", T1)}
    research = {4: state("Both research", T2, path="/s/4.json"), 7: state("Only research", T3)}
    merged, changes = merge({}, dashboard, research, "ultra")

    assert merged[3]["source"] == "dashboard"
    assert merged[3]["display_name"] == "Only dash"
    assert merged[3]["last_updated"] == T1
    assert merged[4]["source"] == "merged"
    assert merged[4]["research_state_path"] == "/s/4.json"
    assert merged[4]["last_updated"] == T2
    assert merged[7]["source"] == "research"
    assert merged[7]["display_name"] == "Only research"
    assert merged[7]["dashboard_name"] is None
    created = {c["feature_id"] for c in changes if c["field"] == "record" and c["before"] is None}
    assert created == {3, 4, 7}
    assert all(merged[f]["feature_id"] == f for f in (3, 4, 7))
    assert all(merged[f]["model_type"] == "ultra" for f in (3, 4, 7))


def test_research_state_without_label_creates_nothing() -> None:
    merged, changes = merge({}, {}, {9: state(None, T1, ("proposed", 0.5))}, "ultra")
    assert merged == {} and changes == []


def test_an_emptied_dashboard_name_clears_an_absent_entry_does_not() -> None:
    """The original dashboard's own lost updates leave records without an entry: never read
    as a clear (it deleted labels on every sync); they are listed as notes instead."""
    consolidated = {
        1: record(1, "Entry lost", "dashboard"),
        2: record(2, "Emptied", "dashboard", ts=T1),
        3: record(3, "Agent label", "claude code"),
        4: record(4, "Merged one", "merged", research_label="Research four"),
        5: record(5, "Still here", "dashboard"),
    }
    dashboard = {"2": dash("", T2), "5": dash("Still here", T2)}
    result = merge_sources(consolidated, dashboard, {}, "ultra")
    merged, changes = result.records, result.changes

    assert merged[1] == consolidated[1]  # no entry: kept whole
    assert 2 not in merged  # an explicit clear, newer than the label
    assert merged[3] == consolidated[3]
    assert merged[4] == consolidated[4]  # its entry is missing too: kept
    assert merged[5] == consolidated[5]
    removed = {c["feature_id"]: c for c in changes if c["field"] == "record"}
    assert set(removed) == {2}
    assert removed[2]["before"]["dashboard_name"] == "Emptied" and removed[2]["after"] is None
    assert [n["feature_id"] for n in result.notes] == [1, 4]
    assert "no dashboard entry" in result.notes[0]["note"]


def test_name_emptied_in_the_dashboard_after_a_cli_label_clears_it() -> None:
    consolidated = {
        3: record(3, "Agent label", "claude code", ts=T1),
        6: record(6, "Agent with research", "manual", ts=T1, research_label="Research six"),
    }
    dashboard = {"3": dash("", T2), "6": dash("", T2)}
    merged, changes = merge(consolidated, dashboard, {}, "ultra")
    assert 3 not in merged  # no name left anywhere: the record goes
    six = merged[6]
    assert six["dashboard_name"] is None and six["display_name"] == "Research six"
    assert six["source"] == "manual"  # provenance kept, never "merged"
    assert {c["feature_id"] for c in changes} == {3, 6}
    # an emptied entry older than the CLI label does not clear it
    merged, changes = merge(
        {3: record(3, "New", "claude code", ts=T3)}, {"3": dash("", T2)}, {}, "ultra"
    )
    assert merged[3]["dashboard_name"] == "New" and changes == []


def test_empty_name_older_than_the_record_does_not_clear() -> None:
    consolidated = {2: record(2, "Relabeled", "dashboard", ts=T3)}
    merged, changes = merge(consolidated, {"2": dash("", T1)}, {}, "ultra")
    assert merged == consolidated and changes == []


def test_missing_dashboard_file_clears_nothing() -> None:
    consolidated = {1: record(1, "Keep me", "dashboard")}
    merged, changes = merge(consolidated, {}, {}, "ultra")
    assert merged == consolidated and changes == []


def test_newer_dashboard_rename_of_cli_label_names_the_dashboard_as_source() -> None:
    consolidated = {8: record(8, "Agent name", "claude code", ts=T1)}
    merged, _ = merge(consolidated, {"8": dash("Human fix", T2)}, {}, "ultra")
    assert merged[8]["display_name"] == "Human fix"
    assert merged[8]["source"] == "dashboard"


def test_equal_timestamps_keep_the_consolidated_value() -> None:
    consolidated = {1: record(1, "Mine", "claude code", ts=T2)}
    merged, changes = merge(consolidated, {"1": dash("Theirs", T2)}, {}, "ultra")
    assert merged[1]["dashboard_name"] == "Mine" and changes == []


def test_missing_fields_are_filled_whatever_the_timestamps() -> None:
    rec = record(
        1,
        "Name",
        "research",
        ts=T3,
        dashboard_category=None,
        dashboard_notes=None,
        dashboard_name=None,
        research_label="Name",
    )
    merged, changes = merge({1: rec}, {"1": dash("Dash", "", notes="n")}, {}, "ultra")
    out = merged[1]
    assert (out["dashboard_name"], out["dashboard_notes"]) == ("Dash", "n")
    assert out["display_name"] == "Name"  # the record is newer: its display name stays
    assert out["last_updated"] == T3  # filling is not a newer edit
    assert out["source"] == "research"  # no research state was read: not "merged"
    assert {c["field"] for c in changes} >= {"dashboard_name", "dashboard_notes"}


def test_hypothesis_confidence_uses_its_own_timestamp() -> None:
    consolidated = {1: record(1, "L", "claude code", ts=T2, hypothesis_confidence=0.9)}
    research = {1: state("L", T3, ("supported", 0.6))}
    research[1]["hypotheses"][0]["updated_at"] = T1  # the hypothesis itself is older
    merged, _ = merge(consolidated, {}, research, "ultra")
    assert merged[1]["hypothesis_confidence"] == 0.9

    research[1]["hypotheses"][0]["updated_at"] = T3
    merged, changes = merge(consolidated, {}, research, "ultra")
    assert merged[1]["hypothesis_confidence"] == 0.6
    assert fields_changed(changes, 1)["hypothesis_confidence"] == (0.9, 0.6, "research")


def test_top_hypothesis_ignores_refuted_and_superseded() -> None:
    s = state(
        "x", T1, ("refuted", 0.99), ("superseded", 0.95), ("testing", 0.3), ("supported", 0.7)
    )
    conf, when = top_hypothesis(s)
    assert conf == 0.7
    assert when == parse_time(T1)
    assert top_hypothesis(state("x", T1, ("refuted", 0.9))) == (None, None)


def test_research_state_of_another_model_is_ignored() -> None:
    research = {4: state("Other model", T3)}
    research[4]["model_type"] = "full"
    merged, changes = merge({}, {}, research, "ultra")
    assert merged == {} and changes == []


def test_research_path_follows_the_file() -> None:
    consolidated = {
        1: record(1, "L", "claude code", research_state_path="/mnt/e/old/feature_1_ultra.json")
    }
    research = {1: state("L", T1, path="/ws/state/ultra/feature_1_ultra.json")}
    merged, changes = merge(consolidated, {}, research, "ultra")
    assert merged[1]["research_state_path"] == "/ws/state/ultra/feature_1_ultra.json"
    assert fields_changed(changes, 1)["research_state_path"][2] == "research"


def test_sync_is_idempotent() -> None:
    consolidated = {
        1: record(1, "Old", "dashboard", ts=T1),
        2: record(2, "Agent", "claude code", ts=T1),
    }
    dashboard = {"1": dash("New", T2), "3": dash("Fresh", T2)}
    research = {1: state("R1", T3, ("supported", 0.5)), 2: state("R2", T2)}
    first, changes = merge(consolidated, dashboard, research, "ultra")
    assert changes
    second, again = merge(first, dashboard, research, "ultra")
    assert again == [] and second == first


def test_unknown_fields_are_kept() -> None:
    consolidated = {1: record(1, "Old", "dashboard", ts=T1, reviewer="bob")}
    merged, _ = merge(consolidated, {"1": dash("New", T2)}, {}, "ultra")
    assert merged[1]["reviewer"] == "bob"


@pytest.mark.parametrize(("zone", "utc_hour"), [("Etc/GMT+6", 16), ("Etc/GMT-9", 1)])
def test_timestamps_without_a_zone_are_local_time(
    zone: str, utc_hour: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SplatNLP writes datetime.now(): 10:00 local is 16:00 UTC at UTC-6, 01:00 at UTC+9."""
    with local_zone(monkeypatch, zone):
        naive = parse_time("2025-01-01T10:00:00")
        assert naive == parse_time(f"2025-01-01T{utc_hour:02d}:00:00Z")
        assert parse_time("2025-01-01T12:00:00+02:00") == parse_time("2025-01-01T10:00:00Z")
        assert parse_time(0) == parse_time("1970-01-01T00:00:00Z")
        assert parse_time("yesterday") is None and parse_time("") is None


@pytest.mark.parametrize("zone", ["Etc/GMT+6", "Etc/GMT-9"])
def test_newest_wins_compares_a_naive_dashboard_time_as_local(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard edit at 10:30 local time against a record saved at 10:00 local time
    (written by us in UTC): the dashboard is newer in every zone."""
    with local_zone(monkeypatch, zone):
        saved = parse_time("2025-01-01T10:00:00")
        assert saved is not None
        record_ts = saved.astimezone(UTC).isoformat()
        consolidated = {1: record(1, "Old", "dashboard", ts=record_ts)}
        merged, changes = merge(consolidated, {"1": dash("New", "2025-01-01T10:30:00")}, {}, "u")
        assert merged[1]["dashboard_name"] == "New"
        merged, _ = merge(consolidated, {"1": dash("Older", "2025-01-01T09:30:00")}, {}, "u")
        assert merged[1]["dashboard_name"] == "Old"


def test_research_label_emptied_later_clears_a_research_only_record() -> None:
    rec = record(
        9,
        "x",
        "research",
        ts=T1,
        research_label="Research only",
        dashboard_name=None,
        dashboard_category=None,
        dashboard_notes=None,
        display_name="Research only",
    )
    agent = record(8, "Agent", "claude code", ts=T1, research_label="Alt")
    merged, changes = merge(
        {9: rec, 8: agent}, {}, {9: state(None, T2), 8: state(None, T2)}, "ultra"
    )
    assert 9 not in merged
    removed = [c for c in changes if c["field"] == "record"]
    assert [(c["feature_id"], c["from"]) for c in removed] == [(9, "research")]
    assert merged[8]["research_label"] == "Alt"  # only a research-made label is cleared
