"""Every bad input gets one clear line naming the file and the problem, exit 1, and no index."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from labeler_tui.cli.main import main
from labeler_tui.core.config import load_config
from labeler_tui.core.data import ModelData
from labeler_tui.core.errors import DataError

PART = "data/activations/part-000.parquet"


def edit_parquet(ws: Path, name: str, change: Callable[[pl.DataFrame], pl.DataFrame]) -> None:
    path = ws / name
    change(pl.read_parquet(path)).write_parquet(path)


def first_positive_row(frame: pl.DataFrame) -> pl.Expr:
    row = frame.with_row_index().filter(pl.col("activation") > 0)["index"][0]
    return pl.int_range(pl.len()) == row


def set_activation(value: float) -> Callable[[Path], None]:
    def change(ws: Path) -> None:
        edit_parquet(
            ws,
            PART,
            lambda f: f.with_columns(
                activation=pl.when(first_positive_row(f))
                .then(pl.lit(value, pl.Float32))
                .otherwise("activation")
            ),
        )

    return change


def duplicate_example_id(ws: Path) -> None:
    edit_parquet(
        ws,
        "data/examples.parquet",
        lambda f: f.with_columns(
            example_id=pl.when(pl.int_range(pl.len()) == 5)
            .then(pl.col("example_id").first())
            .otherwise("example_id")
        ),
    )


def unknown_example_id(ws: Path) -> None:
    edit_parquet(
        ws,
        PART,
        lambda f: f.with_columns(
            example_id=pl.when(pl.int_range(pl.len()) == 3)
            .then(pl.lit(999_999, pl.Int64))
            .otherwise("example_id")
        ),
    )


def token_outside_vocab(ws: Path) -> None:
    edit_parquet(
        ws,
        "data/examples.parquet",
        lambda f: f.with_columns(
            tokens=pl.when(pl.int_range(pl.len()) == 2)
            .then(pl.lit([1, 99], pl.List(pl.Int32)))
            .otherwise("tokens")
        ),
    )


def feature_outside_decoder(ws: Path) -> None:
    edit_parquet(
        ws,
        PART,
        lambda f: f.with_columns(
            feature_id=pl.when(pl.int_range(pl.len()) == 0)
            .then(pl.lit(12, pl.Int32))
            .otherwise("feature_id")
        ),
    )


def duplicate_activation_row(ws: Path) -> None:
    def change(f: pl.DataFrame) -> pl.DataFrame:
        row = f.filter(pl.col("activation") > 0).head(1)
        return pl.concat([f, row.with_columns(pl.col("activation") + 1)])

    edit_parquet(ws, PART, change)


def decoder_with_nan(ws: Path) -> None:
    weights = np.load(ws / "data/decoder.npy")
    weights[3, 2] = np.nan
    np.save(ws / "data/decoder.npy", weights)


BAD_INPUTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing activation column": (
        lambda ws: edit_parquet(ws, PART, lambda f: f.drop("activation")),
        r"part-000\.parquet: missing column 'activation'",
    ),
    "missing tokens column": (
        lambda ws: edit_parquet(ws, "data/examples.parquet", lambda f: f.drop("tokens")),
        r"examples\.parquet: missing column 'tokens'",
    ),
    "float feature ids": (
        lambda ws: edit_parquet(ws, PART, lambda f: f.with_columns(pl.col("feature_id") * 1.0)),
        r"part-000\.parquet: column 'feature_id' must be integer, got Float64",
    ),
    "string activations": (
        lambda ws: edit_parquet(
            ws, PART, lambda f: f.with_columns(pl.col("activation").cast(pl.String))
        ),
        r"part-000\.parquet: column 'activation' must be float, got String",
    ),
    "tokens not a list": (
        lambda ws: edit_parquet(
            ws, "data/examples.parquet", lambda f: f.with_columns(tokens=pl.lit("a b"))
        ),
        r"examples\.parquet: column 'tokens' must be a list of integers, got String",
    ),
    "float metadata": (
        lambda ws: edit_parquet(
            ws, "data/examples.parquet", lambda f: f.with_columns(score=pl.lit(0.5))
        ),
        r"examples\.parquet: metadata column 'score' has dtype Float64",
    ),
    "NaN activation": (set_activation(float("nan")), r"part-000\.parquet: activation is nan"),
    "inf activation": (set_activation(float("inf")), r"part-000\.parquet: activation is inf"),
    "null activation": (
        lambda ws: edit_parquet(
            ws,
            PART,
            lambda f: f.with_columns(
                activation=pl.when(pl.int_range(pl.len()) > 2).then("activation")
            ),
        ),
        r"part-000\.parquet: column 'activation' has 3 null values",
    ),
    "negative feature id": (
        lambda ws: edit_parquet(
            ws,
            PART,
            lambda f: f.with_columns(
                feature_id=pl.when(pl.int_range(pl.len()) == 4)
                .then(pl.lit(-3, pl.Int32))
                .otherwise("feature_id")
            ),
        ),
        r"part-000\.parquet: negative feature_id -3 at row 4",
    ),
    "duplicate example ids": (
        duplicate_example_id,
        r"examples\.parquet: duplicate example_id 1000",
    ),
    "example id not in examples": (
        unknown_example_id,
        r"part-000\.parquet: example_id 999999 at row 3 is not in the examples file",
    ),
    "token id outside the vocab": (
        token_outside_vocab,
        r"examples\.parquet: token id 99 \(example_id 1014\) is outside the vocab vocab\.json",
    ),
    "feature id outside the decoder": (
        feature_outside_decoder,
        r"part-000\.parquet: feature_id 12 at row 0 is out of range of the decoder decoder\.npy",
    ),
    "duplicate feature/example row": (
        duplicate_activation_row,
        r"data/activations: more than one row for feature_id \d+ and example_id \d+",
    ),
    "unreadable activations file": (
        lambda ws: (ws / PART).write_bytes(b"PAR1 this is not really parquet"),
        r"part-000\.parquet: cannot read activations parquet",
    ),
    "vocab that does not parse": (
        lambda ws: (ws / "data/vocab.json").write_text('{"a": 1,'),
        r"vocab\.json: vocab is not valid JSON: .*line 1",
    ),
    "vocab of the wrong shape": (
        lambda ws: (ws / "data/vocab.json").write_text('{"a": "one"}'),
        r"vocab\.json: vocab id of 'a' is 'one', expected an integer >= 0",
    ),
    "decoder with NaN": (decoder_with_nan, r"decoder\.npy: decoder row 3 has NaN or infinite"),
    "decoder not an array": (
        lambda ws: (ws / "data/decoder.npy").write_bytes(b"nonsense"),
        r"decoder\.npy: cannot read decoder \.npy",
    ),
}


def assert_no_index(ws: Path) -> None:
    model_cache = ws / ".labeler-cache" / "tiny"
    leftovers = list(model_cache.iterdir()) if model_cache.exists() else []
    assert leftovers == [], f"half-built index left behind: {leftovers}"


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_no_index(
    tiny_workspace: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    breaker, message = BAD_INPUTS[case]
    breaker(tiny_workspace)
    config = load_config(tiny_workspace / "labeler.toml")
    with pytest.raises(DataError, match=message) as err:
        ModelData.open(config.model(), config.paths.cache)
    assert "\n" not in str(err.value)
    assert_no_index(tiny_workspace)

    code = main(["--workspace", str(tiny_workspace), "info", "--json"])
    out, stderr = capsys.readouterr()
    assert code == 1 and out == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labeler: error: ")
    assert err.value.args[0] in stderr.replace("\n", "")
    assert_no_index(tiny_workspace)


def test_input_deleted_after_config_load_is_a_data_error(tiny_workspace: Path) -> None:
    config = load_config(tiny_workspace / "labeler.toml")
    (tiny_workspace / "data/examples.parquet").unlink()
    with pytest.raises(DataError, match=r"examples\.parquet: examples file not found"):
        ModelData.open(config.model(), config.paths.cache)
    assert_no_index(tiny_workspace)


def test_a_failed_rebuild_keeps_the_previous_index_out_of_the_way(tiny_workspace: Path) -> None:
    """After a good build, breaking an input fails cleanly and leaves only the old index."""
    config = load_config(tiny_workspace / "labeler.toml")
    good = ModelData.open(config.model(), config.paths.cache)
    (tiny_workspace / "data/vocab.json").write_text(json.dumps(["only", "two"]))
    with pytest.raises(DataError, match="outside the vocab"):
        ModelData.open(config.model(), config.paths.cache)
    folders = [p.name for p in (tiny_workspace / ".labeler-cache/tiny").iterdir()]
    assert folders == [good.cache_dir.name]


@pytest.mark.parametrize("size", [10, 600])
def test_duplicate_rows_found_in_small_and_large_features(
    make_tiny_workspace: Callable[..., Path], size: int
) -> None:
    """Small features are checked by sorting pairs, large ones one by one: both must catch it."""
    ws = make_tiny_workspace(n_examples=1200)
    raw = pl.read_parquet(ws / PART)
    counts = raw.filter(pl.col("activation") > 0).group_by("feature_id").len()
    # the feature whose nonzero count is closest to `size`
    feature = counts.sort((pl.col("len").cast(pl.Int64) - size).abs())["feature_id"][0]
    n = counts.filter(pl.col("feature_id") == feature)["len"][0]
    assert (n < 256) == (size < 256)
    victim = raw.filter((pl.col("feature_id") == feature) & (pl.col("activation") > 0)).tail(1)
    pl.concat([raw, victim.with_columns(pl.col("activation") * 0.5)]).write_parquet(ws / PART)
    config = load_config(ws / "labeler.toml")
    example = victim["example_id"][0]
    with pytest.raises(
        DataError, match=f"more than one row for feature_id {feature} and example_id {example} "
    ):
        ModelData.open(config.model(), config.paths.cache)
    assert_no_index(ws)


def test_inputs_changing_during_the_build_leave_no_index(
    tiny_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labeler_tui.core.data import index_build

    real_build = index_build._build

    def build_then_touch(config, out, fp, *args):  # type: ignore[no-untyped-def]
        real_build(config, out, fp, *args)
        vocab = tiny_workspace / "data/vocab.json"
        st = vocab.stat()
        os.utime(vocab, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    monkeypatch.setattr(index_build, "_build", build_then_touch)
    config = load_config(tiny_workspace / "labeler.toml")
    with pytest.raises(DataError, match="input files changed while the index was being built"):
        ModelData.open(config.model(), config.paths.cache)
    assert_no_index(tiny_workspace)
