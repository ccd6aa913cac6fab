"""`score_hypothesis` against the definitions computed directly from the input parquet files:
coverage per region, verdict, off rate, lift, TPR, TNR and score."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_tiny_workspace
from direct import REGIONS, read_workspace

from labeler_tui.core.errors import ValidationError
from labeler_tui.core.evidence.expressions import compile_expression
from labeler_tui.core.evidence.hypothesis import score_hypothesis
from labeler_tui.core.evidence.syntax import ExpressionError
from labeler_tui.core.workspace import Workspace

N_FEATURES = 12


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scores") / "ws"
    write_tiny_workspace(path, n_features=N_FEATURES, n_examples=400, seed=9)
    return path


@pytest.fixture(scope="module")
def data(root: Path):
    return Workspace.open(root).data()


@pytest.fixture(scope="module")
def direct(root: Path):
    return read_workspace(root)


def _matches(direct, text: str) -> set[int]:
    """The handful of expressions used here, evaluated by hand."""
    weapon = direct.metadata["weapon"]
    tests = {
        "swim_speed_up": lambda e: "swim_speed_up" in direct.families_of(e),
        "comeback OR weapon=hydra": lambda e: (
            "comeback" in direct.tokens[e] or weapon[e] == "hydra"
        ),
        "NOT ink_saver_main": lambda e: "ink_saver_main" not in direct.families_of(e),
    }
    return {e for e in direct.example_ids if tests[text](e)}


@pytest.mark.parametrize(
    "text", ["swim_speed_up", "comeback OR weapon=hydra", "NOT ink_saver_main"]
)
@pytest.mark.parametrize("feature", [0, 3, 7])
def test_scores_follow_the_definitions(data, direct, text: str, feature: int) -> None:
    match = _matches(direct, text)
    regions = direct.regions(feature)
    result = score_hypothesis(data, feature, text)
    for name in REGIONS:
        ids = regions[name]
        expected = 100.0 * len(set(ids) & match) / len(ids) if ids else None
        assert result.coverage[name] == pytest.approx(expected)
        assert (result.regions[name].count, result.regions[name].matches) == (
            len(ids),
            len(set(ids) & match),
        )
    core = result.coverage["core"]
    expected_verdict = (
        None
        if core is None
        else "headline"
        if core > 50
        else "mention"
        if core >= 30
        else "tail_marker"
    )
    assert result.verdict == expected_verdict
    zero = set(direct.example_ids) - set(direct.acts[feature])
    off = 100.0 * len(zero & match) / len(zero)
    assert result.off_rate == pytest.approx(off)
    assert result.lift == pytest.approx(
        (core / 100) / (off / 100) if core is not None and off else None
    )
    eff = direct.effective_max(feature)
    positive = {e for e, a in direct.acts[feature].items() if a > 0.25 * eff}
    tpr = len(positive & match) / len(positive)
    tnr = len(zero - match) / len(zero)
    assert result.tpr == pytest.approx(tpr) and result.tnr == pytest.approx(tnr)
    assert result.score == pytest.approx((tpr + tnr) / 2)
    doc = result.to_json()
    assert {"feature_id", "expression", "coverage", "verdict", "off_rate", "lift", "score"} <= set(
        doc
    )
    assert list(doc["coverage"]) == list(REGIONS)
    assert doc["zero"] == {"count": len(zero), "matches": len(zero & match)}


def test_a_dead_feature_has_no_coverage_and_no_score(data, direct) -> None:
    result = score_hypothesis(data, N_FEATURES - 1, "swim_speed_up")
    assert all(value is None for value in result.coverage.values())
    assert result.verdict is None and result.score is None and result.tpr is None
    assert result.off_rate == pytest.approx(
        100.0 * len(_matches(direct, "swim_speed_up")) / len(direct.example_ids)
    )


def test_lift_is_null_when_the_off_rate_is_zero(data) -> None:
    result = score_hypothesis(data, 2, "comeback AND NOT comeback")  # matches nothing
    assert result.off_rate == 0.0 and result.lift is None
    assert result.tpr == 0.0 and result.tnr == 1.0 and result.score == pytest.approx(0.5)


def test_errors_name_the_problem(data) -> None:
    with pytest.raises(ValidationError, match="feature 12 is out of range"):
        score_hypothesis(data, N_FEATURES, "swim_speed_up")
    with pytest.raises(ExpressionError, match="unknown name 'SSU'"):
        score_hypothesis(data, 0, "SSU")
    assert score_hypothesis(data, 0, "SSU", {"SSU": "swim_speed_up"}).expression == "SSU"
    compiled = compile_expression(data, "swim_speed_up")
    assert score_hypothesis(data, 0, compiled) == score_hypothesis(data, 0, "swim_speed_up")
