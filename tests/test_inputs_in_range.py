"""Config and arguments in range, text arguments in UTF-8, and no index allocated for a feature
id wildly beyond the data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from labeler_tui.cli.main import main
from labeler_tui.core.config import load_config
from labeler_tui.core.data import ModelData
from labeler_tui.core.errors import ConfigError, DataError


def _run(capsys: pytest.CaptureFixture[str], ws: Path, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["--workspace", str(ws), *argv])
    except SystemExit as exc:  # argparse: bad usage
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _stores(ws: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted((ws / "labels").glob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "nested", ["a = " + "[" * 3000 + "]" * 3000, "a = " + "[" * 12 + "1" + "]" * 12]
)
def test_deeply_nested_toml_is_a_config_error(tiny_workspace: Path, nested: str) -> None:
    path = tiny_workspace / "labeler.toml"
    path.write_text(nested + "\n" + path.read_text())
    with pytest.raises(ConfigError, match=r"labeler\.toml: nested too deeply \(at most 8"):
        load_config(path)


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("1e30", 1, "--ttl: must be a number from 1 to 604800, got 1e+30"),
        ("nan", 1, "--ttl: must be a number from 1 to 604800, got nan"),
        ("inf", 1, "--ttl: must be a number from 1 to 604800, got inf"),
        ("1e-9", 1, "--ttl: must be a number from 1 to 604800, got 1e-09"),
        ("soon", 2, "argument --ttl: invalid float value: 'soon'"),
    ],
)
def test_ttl_out_of_range_is_one_clear_line(
    tiny_workspace: Path, capsys: pytest.CaptureFixture[str], value: str, code: int, message: str
) -> None:
    main(["--workspace", str(tiny_workspace), "add", "1,2"])
    before = _stores(tiny_workspace)
    got, _, err = _run(capsys, tiny_workspace, "next", "--claim", "--ttl", value)
    assert got == code and message in err and "Traceback" not in err
    assert _stores(tiny_workspace) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["label", "-f", "1", "-n", "bad\udcffname"],
        ["label", "-f", "1", "-n", "ok", "--notes", "\udce9t\udce9"],
        ["add", "1", "--reason", "\udcfe"],
        ["skip", "-f", "1", "--reason", "x\udcff"],
        ["next", "--claim", "--owner", "\udcff"],
    ],
)
def test_text_arguments_that_are_not_utf8_are_bad_usage(
    tiny_workspace: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    before = _stores(tiny_workspace)
    code, out, err = _run(capsys, tiny_workspace, *argv)
    assert code == 2 and out == ""
    assert "not valid UTF-8 text" in err and "\\xff" in err or "\\xe9" in err or "\\xfe" in err
    assert "Traceback" not in err
    assert _stores(tiny_workspace) == before


def test_a_path_that_is_not_utf8_is_fine(
    tiny_workspace: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    main(["--workspace", str(tiny_workspace), "label", "-f", "1", "-n", "x"])
    capsys.readouterr()
    target = os.fsdecode(bytes(tmp_path) + b"/out\xff.csv")
    code, out, _ = _run(capsys, tiny_workspace, "export", "-o", target)
    assert code == 0 and "out\\xff.csv" in out
    assert os.path.exists(target)


def _one_stray_row(ws: Path, feature_id: int) -> None:
    part = ws / "data" / "activations" / "part-000.parquet"
    frame = pl.read_parquet(part)
    row = frame.head(1).with_columns(
        pl.lit(feature_id, dtype=frame["feature_id"].dtype).alias("feature_id")
    )
    pl.concat([frame, row]).write_parquet(part)


def test_a_feature_id_far_beyond_the_data_is_refused_without_a_decoder(
    make_tiny_workspace,  # type: ignore[no-untyped-def]
) -> None:
    ws = make_tiny_workspace(with_decoder=False)
    _one_stray_row(ws, 2**31 - 1)
    config = load_config(ws / "labeler.toml")
    with pytest.raises(
        DataError,
        match=r"feature_id 2147483647 at row \d+ is out of range of the 1,048,576 features accepted without a decoder \(set n_features in \[models.tiny\]",
    ):
        ModelData.open(config.model("tiny"), ws / ".labeler-cache")


def test_n_features_from_the_config_sets_the_range(make_tiny_workspace) -> None:  # type: ignore[no-untyped-def]
    ws = make_tiny_workspace(with_decoder=False, extra_config={"models": {}})
    path = ws / "labeler.toml"
    path.write_text(path.read_text().replace("[models.tiny]", "[models.tiny]\nn_features = 40"))
    data = ModelData.open(load_config(path).model("tiny"), ws / ".labeler-cache")
    assert data.n_features == 40 and len(data.feature(39).activations) == 0
    _one_stray_row(ws, 40)
    with pytest.raises(DataError, match=r"out of range of \[models.tiny\] n_features \(40\)"):
        ModelData.open(load_config(path).model("tiny"), ws / ".labeler-cache")
    assert np.iinfo(np.int32).max == 2**31 - 1
