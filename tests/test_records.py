"""The label record type: JSON in and out, checks naming the field, the label-name rule, the
edit a save applies, and the CLI flags declared with the edit's fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labeler_tui.cli.main import build_parser
from labeler_tui.core.errors import StoreError, ValidationError
from labeler_tui.core.records import (
    RECORD_FIELDS,
    LabelEdit,
    LabelRecord,
    edit_options,
    label_name,
    saved_record,
)
from labeler_tui.core.stores.labels import LabelBook

FULL = {
    "feature_id": 18712,
    "model_type": "ultra",
    "dashboard_name": "SCU Detector",
    "dashboard_category": "tactical",
    "dashboard_notes": "Responds to SCU",
    "display_name": "SCU Detector",
    "last_updated": "2025-12-14T01:30:00+00:00",
    "source": "claude code",
    "hypothesis_confidence": 0.85,
    "importance_percentile": 9.3,
    "interpretability_confidence": 1,
    "stability_score": None,
    "research_label": None,
    "research_state_path": None,
    "hypothesis_expression": "special_charge_up AND NOT respawn_punisher",
    "hypothesis_score": 0.91,
    "derived_from": {"source": "delphi", "text": "charge"},
    "reviewer": {"name": "bob"},
}


def test_a_record_round_trips_with_its_unknown_fields() -> None:
    record = LabelRecord.from_json(FULL, 18712)
    assert record.to_json() == FULL
    assert list(record.to_json())[: len(RECORD_FIELDS)] == list(RECORD_FIELDS)
    assert record.extras == {"reviewer": {"name": "bob"}}
    assert record.interpretability_confidence == 1 and record.hypothesis_score == 0.91
    assert record == FULL and dict(record) == FULL and record["reviewer"] == {"name": "bob"}
    assert record.get("nope") is None and "reviewer" in record and len(record) == len(FULL)


def test_an_older_record_loads_and_gains_the_newer_fields_as_null() -> None:
    splatnlp = {"feature_id": 7, "dashboard_name": "Old", "source": "dashboard", "x": [1]}
    record = LabelRecord.from_json(splatnlp, 7)
    out = record.to_json()
    assert set(RECORD_FIELDS) <= set(out) and out["x"] == [1]
    assert out["hypothesis_expression"] is None and out["dashboard_category"] is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("interpretability_confidence", "high", "interpretability_confidence: expected a number"),
        ("hypothesis_confidence", 1.5, r"hypothesis_confidence: must be in \[0, 1\]"),
        ("importance_percentile", 101, r"importance_percentile: must be in \[0, 100\]"),
        ("stability_score", True, "stability_score: expected a number"),
        ("dashboard_name", 5, "dashboard_name: expected text"),
        ("derived_from", "delphi", "derived_from: expected an object"),
    ],
)
def test_a_bad_field_is_named(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        LabelRecord.from_json({**FULL, field: value}, 1)
    assert caught.value.field == field


def test_a_bad_record_in_a_store_names_file_record_and_field(tmp_path: Path) -> None:
    raw = {"1": {"dashboard_name": "fine"}, "2": {"interpretability_confidence": "high"}}
    book = LabelBook(tmp_path / "consolidated_m.json", raw)
    assert book[1].name == "fine" and book.name(2) is None and len(book) == 2
    with pytest.raises(StoreError, match=r"consolidated_m\.json: record 2: interpretability"):
        book[2]


def test_the_label_name_rule() -> None:
    assert label_name({"dashboard_name": "A", "display_name": "B", "research_label": "C"}) == "A"
    assert label_name({"dashboard_name": "  ", "display_name": "B"}) == "B"
    assert label_name({"dashboard_name": None, "display_name": "", "research_label": "C"}) == "C"
    assert label_name({}) is None and label_name(None) is None
    assert LabelRecord(1, research_label="R").name == "R"


def test_an_edit_is_checked_in_one_place() -> None:
    edit = LabelEdit("  SCU  ", "tactical", interpretability_confidence=1).checked(["tactical"])
    assert edit.name == "SCU" and edit.interpretability_confidence == 1.0
    assert isinstance(edit.interpretability_confidence, float)
    assert LabelEdit("x", "none").checked(["tactical"]).category == "none"
    for bad, message in (
        (LabelEdit(" "), "name: must not be empty"),
        (LabelEdit("x", "weird"), "category: 'weird' is not one of"),
        (LabelEdit("x", notes=3), "notes: expected text"),  # type: ignore[arg-type]
        (LabelEdit("x", source=" "), "source: must not be empty"),
        (LabelEdit("x", stability_score=float("nan")), "stability_score: expected a number"),
    ):
        with pytest.raises(ValidationError, match=message):
            bad.checked(["tactical"])


def test_a_save_keeps_what_the_edit_leaves_unset() -> None:
    before = LabelRecord.from_json(FULL, 18712)
    after = saved_record(
        before,
        LabelEdit("Renamed", notes="new notes"),
        feature_id=18712,
        model="ultra",
        source="manual",
        timestamp="2026-01-01T00:00:00+00:00",
        importance_percentile=12.5,
        research_state_path=None,
    )
    assert (after.dashboard_name, after.display_name) == ("Renamed", "Renamed")
    assert (after.dashboard_category, after.dashboard_notes) == ("tactical", "new notes")
    assert after.interpretability_confidence == 1 and after.hypothesis_confidence == 0.85
    assert (after.source, after.importance_percentile) == ("manual", 12.5)
    assert after.extras == before.extras and after.derived_from == before.derived_from
    fresh = saved_record(
        None,
        LabelEdit("New"),
        feature_id=3,
        model="m",
        source="s",
        timestamp="t",
        importance_percentile=None,
        research_state_path=None,
    )
    assert (fresh.dashboard_category, fresh.dashboard_notes) == ("none", "")


def test_the_label_commands_flags_are_the_edit_fields() -> None:
    """Adding a LabelEdit field adds its `labeler label` flag: one declaration."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    label = sub.choices["label"]
    others = {"help", "feature_id", "workspace", "model", "json", "owner", "force"}
    dests = {a.dest for a in label._actions} - others - {"if_unchanged_since", "from_suggestion"}
    assert dests == {option.name for option in edit_options()}
    flags = {flag for a in label._actions for flag in a.option_strings}
    assert all(set(option.flags) <= flags for option in edit_options())


text = st.one_of(st.none(), st.text(max_size=20))
unit = st.one_of(st.none(), st.floats(0, 1), st.integers(0, 1))


@given(
    name=text,
    notes=text,
    source=text,
    confidence=unit,
    importance=st.one_of(st.none(), st.floats(0, 100)),
    extra=st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k not in RECORD_FIELDS),
        st.one_of(st.integers(), st.text(max_size=8), st.none()),
        max_size=3,
    ),
)
def test_any_valid_record_survives_json(
    name: str | None,
    notes: str | None,
    source: str | None,
    confidence: float | None,
    importance: float | None,
    extra: dict[str, object],
) -> None:
    raw = {
        "dashboard_name": name,
        "dashboard_notes": notes,
        "source": source,
        "interpretability_confidence": confidence,
        "importance_percentile": importance,
        **extra,
    }
    record = LabelRecord.from_json(raw, 5)
    again = LabelRecord.from_json(json.loads(json.dumps(record.to_json())), 5)
    assert again == record and again.to_json() == record.to_json()
