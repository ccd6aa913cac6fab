"""`labeler overview | coverage | similar`: JSON shapes, human output, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labeler_tui.cli.main import main
from labeler_tui.core.analysis.coverage import core_coverage
from labeler_tui.core.analysis.overview import feature_overview
from labeler_tui.core.analysis.similarity import similar_features
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import write_tiny_workspace

    root = tmp_path_factory.mktemp("cli") / "ws"
    write_tiny_workspace(root)
    return root


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_overview_json_is_the_core_overview_with_the_label(workspace: Path, capsys) -> None:
    ws = Workspace.open(workspace)
    LabelingService(ws).set_label(
        3, LabelEdit("Swim kit", "mechanical", interpretability_confidence=0.9)
    )
    code, out, err = run(
        capsys, "overview", "--workspace", str(workspace), "--feature-id", "3", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    label = LabelingService(ws).label(3)
    assert doc == json.loads(json.dumps(feature_overview(ws.data(), 3, label)))
    assert doc["label"]["dashboard_name"] == "Swim kit"
    assert set(doc) >= {
        "feature_id", "model", "n_nonzero", "effective_max", "max", "mean",
        "importance_percentile", "stability_score", "quadrant", "histogram", "regions",
        "flags", "general", "label",
    }  # fmt: skip
    assert doc["quadrant"] is not None


def test_overview_human_output_shows_regions_and_histogram(workspace: Path, capsys) -> None:
    code, out, _ = run(capsys, "overview", "--workspace", str(workspace), "--feature-id", "2")
    assert code == 0
    for name in ("floor", "below_core", "core", "flanderization", "effective max"):
        assert name in out
    assert "activation / effective max" in out  # the plotext histogram title
    assert "Red flags" in out or "No red flags" in out


def test_dead_feature_overview(workspace: Path, capsys) -> None:
    code, out, _ = run(
        capsys, "overview", "--workspace", str(workspace), "--feature-id", "11", "--json"
    )
    assert code == 0 and json.loads(out)["n_nonzero"] == 0 and json.loads(out)["regions"] == []
    code, out, _ = run(capsys, "overview", "--workspace", str(workspace), "--feature-id", "11")
    assert code == 0 and "dead" in out


@pytest.mark.parametrize("command", ["overview", "coverage", "similar"])
def test_feature_out_of_range_exits_1(workspace: Path, capsys, command: str) -> None:
    extra = ["--token", "comeback"] if command == "coverage" else []
    code, out, err = run(
        capsys, command, "--workspace", str(workspace), "--feature-id", "12", *extra
    )
    assert code == 1 and out == ""
    assert "feature 12 is out of range" in err and err.count("\n") == 1


def test_coverage_json_and_errors(workspace: Path, capsys) -> None:
    code, out, _ = run(
        capsys, "coverage", "--workspace", str(workspace), "--feature-id", "4",
        "--token", "weapon=hydra", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out) == core_coverage(Workspace.open(workspace).data(), 4, "weapon=hydra")
    code, out, _ = run(
        capsys,
        "coverage",
        "--workspace",
        str(workspace),
        "--feature-id",
        "4",
        "--token",
        "swim_speed_up",
    )
    assert code == 0 and "core examples of feature 4" in out
    code, _, err = run(
        capsys, "coverage", "--workspace", str(workspace), "--feature-id", "4", "--token", "nope"
    )
    assert code == 1 and "'nope'" in err


def test_similar_json_carries_neighbour_labels(workspace: Path, capsys) -> None:
    ws = Workspace.open(workspace)
    expected = similar_features(ws.data(), 5, "decoder", top_k=4)
    LabelingService(ws).set_label(expected[0][0], LabelEdit("Neighbour", "tactical"))
    code, out, err = run(
        capsys,
        "similar",
        "--workspace",
        str(workspace),
        "--feature-id",
        "5",
        "--top-k",
        "4",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert [(d["feature_id"], d["similarity"]) for d in doc] == [
        (g, pytest.approx(s)) for g, s in expected
    ]
    assert doc[0]["label"] == "Neighbour" and all(d["label"] is None for d in doc[1:])
    code, out, _ = run(
        capsys,
        "similar",
        "--workspace",
        str(workspace),
        "--feature-id",
        "5",
        "--method",
        "coactivation",
    )
    assert code == 0 and "Features similar to 5 (coactivation)" in out


def test_similar_bad_usage(workspace: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["similar", "--workspace", str(workspace), "--feature-id", "1", "--method", "x"])
    assert exc.value.code == 2
    code, _, err = run(
        capsys, "similar", "--workspace", str(workspace), "--feature-id", "1", "--top-k", "0"
    )
    assert code == 1 and "--top-k" in err
