"""`labeler examples | test | effects`, `label --hypothesis`, `label --json` warnings and
`similar --json` content: JSON shapes equal to the core's, human output, one-line errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import tomli_w
from conftest import write_tiny_workspace

from labeler_tui.cli.main import main
from labeler_tui.core.evidence.effects import output_effects
from labeler_tui.core.evidence.examples import feature_examples
from labeler_tui.core.evidence.hypothesis import score_hypothesis
from labeler_tui.core.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    write_tiny_workspace(root, n_examples=400, seed=2)
    return root


def run(capsys, ws: Path, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--workspace", str(ws)])
    out, err = capsys.readouterr()
    return code, out, err


def store_bytes(ws: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(ws)): p.read_bytes()
        for folder in ("labels", "dashboard")
        if (ws / folder).exists()
        for p in sorted((ws / folder).rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def add_output(ws: Path) -> np.ndarray:
    names = json.loads((ws / "data" / "vocab.json").read_text())
    matrix = np.random.default_rng(0).normal(size=(8, len(names))).astype(np.float32)
    np.save(ws / "data" / "out.npy", matrix)
    config = tomllib.loads((ws / "labeler.toml").read_text())
    config["models"]["tiny"]["output"] = "data/out.npy"
    config["aliases"] = {"SSU": "swim_speed_up"}
    (ws / "labeler.toml").write_bytes(tomli_w.dumps(config).encode())
    return matrix


# --- examples ---------------------------------------------------------------------------------
def test_examples_json_is_the_cores(ws: Path, capsys) -> None:
    code, out, err = run(
        capsys, ws, "examples", "-f", "3", "--region", "core", "-k", "4", "--sample",
        "--seed", "5", "--where", "NOT comeback", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    data = Workspace.open(ws).data()
    expected = feature_examples(data, 3, "core", 4, sample=True, seed=5, where="NOT comeback")
    assert doc == json.loads(json.dumps(expected.to_json()))
    assert len(doc["examples"]) == 4
    for example in doc["examples"]:
        assert set(example) >= {
            "example_id",
            "activation",
            "fraction",
            "tokens",
            "metadata",
            "enriched",
        }
        assert not any("comeback" in g["tokens"] for g in example["tokens"])


def test_examples_human_output_is_one_line_per_example(ws: Path, capsys) -> None:
    code, out, _ = run(capsys, ws, "examples", "-f", "2", "-k", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Feature 2: top 3 of every nonzero example")
    assert "tokens (* enriched >= 2x in its region)" in lines[1]
    examples = feature_examples(Workspace.open(ws).data(), 2, "top", 3).examples
    assert len(lines) == 2 + len(examples)
    for line, example in zip(lines[2:], examples, strict=True):
        assert str(example.example_id) in line and example.metadata["weapon"] in line


def test_user_text_in_examples_is_never_markup(ws: Path, capsys) -> None:
    path = ws / "data" / "examples.parquet"
    frame = pl.read_parquet(path)
    frame.with_columns(pl.lit("[red]boom[/red]").alias("weapon")).write_parquet(path)
    code, out, _ = run(capsys, ws, "examples", "-f", "1", "-k", "1")
    assert code == 0 and "[red]boom[/red]" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--region", "middle"], "region: unknown region 'middle' (choose from top, floor"),
        (["-k", "0"], "k: must be an integer >= 1, got 0"),
        (["--where", "swim_sped_up"], "unknown name 'swim_sped_up' (did you mean swim_speed_up?)"),
        (["--sample", "--seed", "-2"], "seed: must be an integer >= 0"),
    ],
)
def test_examples_bad_input_is_one_line_and_exit_1(
    ws: Path, capsys, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, ws, "examples", "-f", "1", *argv)
    assert code == 1 and out == "" and message in err and err.count("\n") == 1


def test_feature_out_of_range_for_the_new_commands(ws: Path, capsys) -> None:
    add_output(ws)
    for argv in (["examples"], ["test", "comeback"], ["effects"]):
        code, out, err = run(capsys, ws, *argv, "-f", "12")
        assert code == 1 and out == "" and "feature 12 is out of range" in err
        assert err.count("\n") == 1


# --- test -------------------------------------------------------------------------------------
def test_test_json_is_the_cores_and_uses_the_aliases(ws: Path, capsys) -> None:
    add_output(ws)
    code, out, err = run(capsys, ws, "test", "-f", "4", "SSU AND NOT comeback", "--json")
    assert code == 0, err
    doc = json.loads(out)
    data = Workspace.open(ws).data()
    expected = score_hypothesis(data, 4, "swim_speed_up AND NOT comeback")
    assert {k: doc[k] for k in ("coverage", "verdict", "off_rate", "lift", "score")} == {
        "coverage": pytest.approx(expected.coverage),
        "verdict": expected.verdict,
        "off_rate": pytest.approx(expected.off_rate),
        "lift": pytest.approx(expected.lift),
        "score": pytest.approx(expected.score),
    }
    assert doc["expression"] == "SSU AND NOT comeback" and doc["feature_id"] == 4
    code, out, _ = run(capsys, ws, "test", "-f", "4", "swim_speed_up")
    assert code == 0 and "verdict:" in out and "off rate:" in out and "score:" in out


def test_test_unknown_name_is_one_line_with_suggestions(ws: Path, capsys) -> None:
    code, out, err = run(capsys, ws, "test", "-f", "4", "swim_sped_up OR comeback")
    assert code == 1 and out == ""
    assert err == "labeler: error: unknown name 'swim_sped_up' (did you mean swim_speed_up?)\n"


# --- effects ----------------------------------------------------------------------------------
def test_effects_json_and_human(ws: Path, capsys) -> None:
    add_output(ws)
    code, out, err = run(capsys, ws, "effects", "-f", "5", "-k", "3", "--json")
    assert code == 0, err
    doc = json.loads(out)
    expected = output_effects(Workspace.open(ws).data(), 5, 3).to_json()
    assert doc == json.loads(json.dumps(expected))
    assert set(doc) == {"feature_id", "promoted", "suppressed"}
    assert all(set(e) == {"name", "value"} for e in doc["promoted"] + doc["suppressed"])
    code, out, _ = run(capsys, ws, "effects", "-f", "5", "-k", "3")
    assert code == 0 and doc["promoted"][0]["name"] in out and doc["suppressed"][0]["name"] in out


def test_effects_without_an_output_matrix_is_one_line(ws: Path, capsys) -> None:
    code, out, err = run(capsys, ws, "effects", "-f", "5")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "model 'tiny' has no output matrix (set `output` in its [models.tiny] table" in err
    code, out, _ = run(capsys, ws, "overview", "-f", "5", "--json")
    assert json.loads(out)["effects"] is None


# --- label --hypothesis and warnings ------------------------------------------------------------
def test_label_with_a_hypothesis_stores_it_with_its_score(ws: Path, capsys) -> None:
    code, out, err = run(
        capsys, ws, "label", "-f", "6", "-n", "Swim Pressure", "-c", "tactical",
        "--interpretability-confidence", "0.7", "--hypothesis", "swim_speed_up", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    score = score_hypothesis(Workspace.open(ws).data(), 6, "swim_speed_up").score
    assert doc["hypothesis_expression"] == "swim_speed_up"
    assert doc["hypothesis_score"] == round(score, 4)
    stored = json.loads((ws / "labels" / "consolidated_tiny.json").read_text())["6"]
    assert stored["hypothesis_score"] == doc["hypothesis_score"]
    # relabeling without --hypothesis keeps it; "" clears it
    code, out, _ = run(capsys, ws, "label", "-f", "6", "-n", "Swim Pressure 2", "--json")
    assert json.loads(out)["hypothesis_expression"] == "swim_speed_up"
    code, out, _ = run(
        capsys, ws, "label", "-f", "6", "-n", "Swim Pressure", "--hypothesis", "", "--json"
    )
    doc = json.loads(out)
    assert doc["hypothesis_expression"] is None and doc["hypothesis_score"] is None


def test_label_with_a_bad_hypothesis_writes_nothing(ws: Path, capsys) -> None:
    run(capsys, ws, "label", "-f", "1", "-n", "Before")
    before = store_bytes(ws)
    code, out, err = run(capsys, ws, "label", "-f", "6", "-n", "X", "--hypothesis", "SSU AND")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("labeler: error: --hypothesis: the expression ends where")
    code, _, err = run(capsys, ws, "label", "-f", "6", "-n", "X", "--hypothesis", "swim_sped_up")
    assert (
        code == 1
        and "--hypothesis: unknown name 'swim_sped_up' (did you mean swim_speed_up?)" in err
    )
    assert store_bytes(ws) == before


def test_label_json_returns_the_lint_warnings(ws: Path, capsys) -> None:
    code, out, err = run(
        capsys, ws, "label", "-f", "2", "-n", "Death-Averse Build", "-c", "strategic", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert [w["code"] for w in doc["warnings"]] == [
        "negation",
        "strategic_no_notes",
        "no_interpretability",
    ]
    assert all(set(w) == {"code", "message"} for w in doc["warnings"])
    stored = json.loads((ws / "labels" / "consolidated_tiny.json").read_text())["2"]
    assert "warnings" not in stored and stored["dashboard_name"] == "Death-Averse Build"
    code, out, _ = run(capsys, ws, "label", "-f", "2", "-n", "Death-Averse Build")
    assert code == 0 and "warning (negation):" in out


# --- similar ----------------------------------------------------------------------------------
def test_similar_json_has_content_and_queue_state(ws: Path, capsys) -> None:
    code, out, err = run(capsys, ws, "similar", "-f", "0", "-k", "3", "--json")
    assert code == 0, err
    doc = json.loads(out)
    first = doc[0]["feature_id"]  # the tiny workspace's features are all alive but the last
    assert all(
        set(n) >= {"feature_id", "similarity", "label", "core_families", "queue"} for n in doc
    )
    data = Workspace.open(ws).data()
    for n in doc:  # a dead feature (decoder neighbours include them) has no core families
        alive = data.nonzero_counts[n["feature_id"]] > 0
        assert n["label"] is None and len(n["core_families"]) == (3 if alive else 0)
    run(capsys, ws, "label", "-f", str(first), "-n", "Neighbour")
    code, out, _ = run(capsys, ws, "similar", "-f", "0", "-k", "3", "--json")
    row = json.loads(out)[0]
    assert (row["label"], row["core_families"], row["queue"]) == ("Neighbour", None, "completed")
