"""`labeler info / activations / index / init / demo` through the real argument parser."""

from __future__ import annotations

import json
import sys
import tomllib
import types
from pathlib import Path

import polars as pl
import pytest
import tomli_w

from labeler_tui.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_info_json(tiny_workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "info", "--workspace", str(tiny_workspace))
    raw = pl.read_parquet(tiny_workspace / "data/activations/*.parquet")
    assert result["models"] == {
        "tiny": {
            "n_features": 12,
            "n_examples": 400,
            "n_nonzero": raw.filter(pl.col("activation") > 0).height,
            "has_decoder": True,
        }
    }
    # the options are accepted before the command word too
    assert (
        run_json(capsys, "--workspace", str(tiny_workspace), "info")["models"] == result["models"]
    )


def test_info_human(tiny_workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info", "--workspace", str(tiny_workspace))
    assert code == 0
    assert "tiny (default)" in out and "400" in out


def test_activations_json_highest_first(
    tiny_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = pl.read_parquet(tiny_workspace / "data/activations/*.parquet")
    want = raw.filter((pl.col("feature_id") == 4) & (pl.col("activation") > 0)).sort(
        ["activation", "example_id"], descending=[True, False]
    )
    result = run_json(
        capsys, "activations", "--workspace", str(tiny_workspace), "--feature-id", "4"
    )
    assert result["feature_id"] == 4
    assert result["example_ids"] == want["example_id"].to_list()
    assert result["activations"] == want["activation"].cast(pl.Float32).to_list()
    top = run_json(
        capsys, "activations", "--workspace", str(tiny_workspace), "--feature-id", "4", "--top", "5"
    )
    assert top["example_ids"] == result["example_ids"][:5]
    assert top["activations"] == result["activations"][:5]


def test_activations_errors(tiny_workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = str(tiny_workspace)
    code, out, err = run(capsys, "activations", "--workspace", ws, "--feature-id", "12", "--json")
    assert code == 1 and out == ""
    assert (
        err.strip()
        == "labeler: error: feature 12 is out of range for model 'tiny' (features 0..11)"
    )
    code, _, err = run(capsys, "activations", "--workspace", ws, "--feature-id", "1", "--top", "0")
    assert code == 1 and "--top: must be at least 1" in err
    code, _, err = run(
        capsys, "activations", "--workspace", ws, "--model", "nope", "--feature-id", "1"
    )
    assert code == 1 and "unknown model 'nope'" in err and "labeler.toml" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["activations", "--workspace", ws])
    assert exit_info.value.code == 2


def two_model_workspace(ws: Path) -> None:
    config = ws / "labeler.toml"
    data = tomllib.loads(config.read_text())
    data["models"]["other"] = {**data["models"]["tiny"], "token_family": r"^(.*)_\d+$"}
    config.write_bytes(tomli_w.dumps(data).encode())


def test_index_builds_once_and_force_rebuilds(
    tiny_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_model_workspace(tiny_workspace)
    ws = str(tiny_workspace)
    first = run_json(capsys, "index", "--workspace", ws)
    assert list(first["models"]) == ["tiny"] and first["models"]["tiny"]["built"] is True
    index_dir = Path(first["models"]["tiny"]["index"])
    assert (index_dir / "manifest.json").is_file()
    again = run_json(capsys, "index", "--workspace", ws)
    assert again["models"]["tiny"]["built"] is False
    assert again["models"]["tiny"]["index"] == str(index_dir)
    forced = run_json(capsys, "index", "--workspace", ws, "--force")
    assert forced["models"]["tiny"]["built"] is True
    both = run_json(capsys, "index", "--workspace", ws, "--all")
    assert both["models"]["tiny"]["built"] is False and both["models"]["other"]["built"] is True
    assert both["models"]["other"]["n_nonzero"] == both["models"]["tiny"]["n_nonzero"]
    assert sorted(p.name for p in (tiny_workspace / ".labeler-cache").iterdir()) == [
        "other",
        "tiny",
    ]
    code, out, _ = run(capsys, "index", "--workspace", ws, "--model", "other")
    assert code == 0 and "other: index up to date" in out


def test_init_writes_a_skeleton_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "new"
    result = run_json(capsys, "init", str(target), "--model", "sae")
    config = target / "labeler.toml"
    assert result["config"] == str(config.resolve()) and result["model"] == "sae"
    assert "[models.sae]" in config.read_text()
    assert (target / "data/sae").is_dir()
    code, _, err = run(capsys, "init", str(target))
    assert code == 1 and "already exists; not overwriting" in err


def test_demo_command_wiring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`labeler demo DIR` calls write_demo(root, progress) and refuses to overwrite without --force.

    The generator itself is tested with labeler_tui.demo; here a stand-in records the call.
    """
    calls: list[Path] = []

    def write_demo(root: Path, progress=None) -> Path:
        calls.append(root)
        root.mkdir(parents=True, exist_ok=True)
        (root / "labeler.toml").write_text("# demo\n")
        (root / "truth.json").write_text("{}\n")
        progress("writing demo", 1, 1)
        return root / "labeler.toml"

    fake = types.ModuleType("labeler_tui.demo")
    fake.write_demo = write_demo  # type: ignore[attr-defined]
    fake.TRUTH_NAME = "truth.json"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "labeler_tui.demo", fake)
    target = tmp_path / "demo"
    result = run_json(capsys, "demo", str(target))
    assert calls == [target] and result["config"] == str((target / "labeler.toml").resolve())
    code, _, err = run(capsys, "demo", str(target))
    assert code == 1 and "already exists; use --force" in err and len(calls) == 1
    assert run_json(capsys, "demo", str(target), "--force")["workspace"] == str(target.resolve())
    assert len(calls) == 2


def test_info_with_no_setup_opens_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    """No --workspace, no $LABELER_WORKSPACE, no labeler.toml around: the built-in demo."""
    result = run_json(capsys, "info")
    models = result["models"]
    assert set(models) == {"ultra", "full", "text"}
    assert models["ultra"]["n_features"] == 24_576 and models["full"]["n_features"] == 2_048
    assert all(m["has_decoder"] and m["n_nonzero"] > 0 for m in models.values())
    ids = run_json(capsys, "activations", "--feature-id", "18712", "--top", "3")
    assert ids["feature_id"] == 18712 and len(ids["activations"]) <= 3
    assert ids["activations"] == sorted(ids["activations"], reverse=True)


def test_activations_human_output_is_short(
    tiny_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tiny_workspace)
    raw = pl.read_parquet(tiny_workspace / "data/activations/*.parquet")
    n = raw.filter((pl.col("feature_id") == 4) & (pl.col("activation") > 0)).height
    code, out, _ = run(capsys, "activations", "--workspace", ws, "--feature-id", "4")
    assert code == 0 and n > 20
    assert f"{n:,} nonzero activations, top 20 shown (--top K or --json for more)" in out
    assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 20
    code, out, _ = run(capsys, "activations", "--workspace", ws, "--feature-id", "4", "--top", "3")
    assert "top 3 shown" in out and len(out.strip().splitlines()) == 5
