"""Label lint: the warnings of the labeling guide's strategic label test, checked against core
coverage computed from the input files; never blocking."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_tiny_workspace
from direct import read_workspace

from labeler_tui.core.evidence.lint import (
    abbreviations,
    coverage_subjects,
    lint_label,
    lint_record,
    mentioned_subject,
    mentioned_subjects,
)
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.workspace import Workspace


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lint") / "ws"
    write_tiny_workspace(path, n_examples=600, seed=13)
    return path


@pytest.fixture(scope="module")
def data(root: Path):
    return Workspace.open(root).data()


@pytest.fixture(scope="module")
def direct(root: Path):
    return read_workspace(root)


def codes(data, feature: int = 1, **label) -> list[str]:
    label.setdefault("interpretability_confidence", 0.8)
    return [w.code for w in lint_label(data, feature, **label)]


def core_percent(direct, feature: int, test) -> float:
    core = direct.regions(feature)["core"]
    return 100.0 * sum(test(e) for e in core) / len(core)


def test_a_named_tail_marker_is_flagged_and_a_headline_is_not(data, direct) -> None:
    for feature in range(4):
        comeback = core_percent(direct, feature, lambda e: "comeback" in direct.tokens[e])
        flagged = "tail_marker" in codes(data, feature, name="Comeback Anchor")
        assert flagged == (comeback < 30), (feature, comeback)
        hydra = core_percent(direct, feature, lambda e: direct.metadata["weapon"][e] == "hydra")
        assert ("tail_marker" in codes(data, feature, name="Hydra Pressure")) == (hydra < 30)
        swim = core_percent(direct, feature, lambda e: "swim_speed_up" in direct.families_of(e))
        assert ("tail_marker" in codes(data, feature, name="Swim Speed Up Mobility")) == (swim < 30)
    message = lint_label(data, 0, name="Comeback Anchor", interpretability_confidence=1)[0]
    assert "comeback" in message.message and "% of the core" in message.message


def test_abbreviations_and_aliases_are_recognised(data) -> None:
    assert ("ssu", "swim_speed_up") in abbreviations(data)
    assert ("ism", "ink_saver_main") in abbreviations(data)
    subjects = coverage_subjects(data, {"CB": "comeback", "X": "comeback OR ninja_squid"})
    assert ("CB", "comeback") in subjects and not any(text == "X" for text, _ in subjects)
    short = {text for text, _ in abbreviations(data)}
    found = mentioned_subjects("SSU and CB Kit", subjects + abbreviations(data), short | {"CB"})
    assert found == ["swim_speed_up", "comeback"]


def test_mentioned_subjects_prefer_the_longest_match() -> None:
    subjects = [("swim_speed_up", "swim_speed_up"), ("swim_speed_up_57", "swim_speed_up_57")]
    assert mentioned_subjects("Swim Speed Up 57 stack", subjects) == ["swim_speed_up_57"]
    assert mentioned_subject("Swim Speed Up 57 stack", subjects) == "swim_speed_up_57"
    assert mentioned_subjects("nothing here", subjects) == []


@pytest.mark.parametrize(
    ("name", "category", "flagged"),
    [
        ("SSU + ISM + RSU Kit", "tactical", True),
        ("Swim Speed Up 21 Stacker", "strategic", True),
        ("Comeback Ninja Squid", "tactical", True),
        ("SSU + ISM Kit", "mechanical", False),  # mechanical labels may list tokens
        ("Positional Survival - Midrange", "strategic", False),
        ("Swim Utility Sustain", "tactical", False),
    ],
)
def test_names_made_only_of_token_names(data, name: str, category: str, flagged: bool) -> None:
    assert ("token_names_only" in codes(data, name=name, category=category, notes="x")) == flagged


@pytest.mark.parametrize(
    ("name", "flagged"),
    [
        ("Death-Averse Efficiency", True),
        ("Non-Special Build", True),
        ("No Swim Builds", True),
        ("Offensive Intensity", False),
        ("Notable Anchor", False),
        ("Nonstop Pressure", False),
    ],
)
def test_negations(data, name: str, flagged: bool) -> None:
    assert ("negation" in codes(data, name=name)) == flagged


def test_strategic_notes_and_interpretability(data) -> None:
    assert "strategic_no_notes" in codes(data, name="Positional Survival", category="strategic")
    assert "strategic_no_notes" not in codes(
        data, name="Positional Survival", category="strategic", notes="core: SSU 70%"
    )
    assert "strategic_no_notes" not in codes(data, name="Positional Survival", category="tactical")
    assert codes(data, name="Positional Survival", interpretability_confidence=None) == [
        "no_interpretability"
    ]


def test_a_record_is_linted_by_its_fields(data) -> None:
    record = LabelRecord(
        feature_id=2,
        dashboard_name="Non-Swim Kit",
        dashboard_category="strategic",
        dashboard_notes="",
    )
    assert [w.code for w in lint_record(data, record)] == [
        "negation",
        "strategic_no_notes",
        "no_interpretability",
    ]
    assert all(set(w.to_json()) == {"code", "message"} for w in lint_record(data, record))
