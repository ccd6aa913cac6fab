"""An index built in feature-range shards (by several processes, by a Dask cluster, or resumed
later) serves exactly what a single-process build does, and what the raw files say."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from test_data_index import assert_index_matches_raw, open_model, raw_activations

from labeler_tui.cli.main import main
from labeler_tui.core.config import load_config
from labeler_tui.core.data import ModelData
from labeler_tui.core.data.index_build import build_shard
from labeler_tui.core.errors import ConfigError, DataError, ValidationError


def _model(ws: Path):  # type: ignore[no-untyped-def]
    config = load_config(ws / "labeler.toml")
    return config.model(), config.paths.cache


def _shard_files(data: ModelData, name: str) -> bytes:
    """The shards' ``name`` arrays joined in feature order, as bytes."""
    parts = [
        np.load(data.cache_dir / "shards" / entry["folder"] / name)
        for entry in data.manifest["shards"]
    ]
    return np.concatenate(parts).tobytes()


def assert_same_index(sharded: ModelData, whole: ModelData) -> None:
    """Value for value, feature by feature, and byte for byte over the joined shards."""
    assert sharded.n_features == whole.n_features
    assert sharded.n_nonzero == whole.n_nonzero
    np.testing.assert_array_equal(sharded.nonzero_counts, whole.nonzero_counts)
    np.testing.assert_array_equal(sharded.max_activations, whole.max_activations)
    np.testing.assert_array_equal(sharded.mean_activations, whole.mean_activations)
    for f in range(whole.n_features):
        a, b = sharded.feature(f), whole.feature(f)
        np.testing.assert_array_equal(a.activations, b.activations)
        np.testing.assert_array_equal(a.rows, b.rows)
        np.testing.assert_array_equal(a.example_ids, b.example_ids)
    for name in ("rows.npy", "acts.npy"):
        assert _shard_files(sharded, name) == _shard_files(whole, name)


@pytest.fixture
def two_copies(make_tiny_workspace: Callable[..., Path]) -> tuple[Path, Path]:
    """The same inputs seen by two workspaces with their own caches."""
    ws = make_tiny_workspace(n_features=40, n_examples=600, activation_files=3)
    other = ws.parent / "other"
    other.mkdir()
    text = (ws / "labeler.toml").read_text().replace('"data/', f'"{ws}/data/')
    (other / "labeler.toml").write_text(text)
    return ws, other


def test_shards_built_one_by_one_equal_a_single_build(two_copies: tuple[Path, Path]) -> None:
    ws, other = two_copies
    whole = open_model(ws)
    assert whole.n_shards == 1
    config, cache = _model(other)
    results = [build_shard(config, cache / config.name, i, 3) for i in (2, 0, 1)]
    assert [r.complete for r in results] == [False, False, True]
    assert all(r.built for r in results)
    bounds = [r.manifest["features"] for r in sorted(results, key=lambda r: r.shard)]
    assert bounds[0][0] == 0 and bounds[-1][1] == whole.n_features
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    sharded = open_model(other)
    assert sharded.n_shards == 3 and sharded.cache_dir.name == whole.cache_dir.name
    assert_same_index(sharded, whole)
    assert_index_matches_raw(
        sharded, raw_activations(ws), pl.read_parquet(ws / "data/examples.parquet")
    )
    # shards share the nonzeros about equally
    sizes = [r.manifest["n_nonzero"] for r in results]
    assert max(sizes) < 0.6 * sum(sizes)


def test_worker_processes_build_the_same_index(two_copies: tuple[Path, Path]) -> None:
    """Shards built at the same time by separate processes (nothing shared but the files)."""
    ws, other = two_copies
    whole = open_model(ws)
    config, cache = _model(other)
    build = partial(build_shard, config, cache / config.name, n_shards=3, memory=1 << 30)
    with ProcessPoolExecutor(max_workers=3, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(build, range(3)))
    assert [r.shard for r in results] == [0, 1, 2]
    assert all(r.built for r in results) and any(r.complete for r in results)
    assert_same_index(open_model(other), whole)


def test_a_dask_cluster_builds_the_same_index(two_copies: tuple[Path, Path]) -> None:
    """The documented recipe: one task per shard on a LocalCluster of worker processes."""
    distributed = pytest.importorskip("distributed")
    ws, other = two_copies
    whole = open_model(ws)
    config, cache = _model(other)
    with (
        distributed.LocalCluster(
            n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        futures = client.map(
            partial(build_shard, config, cache / config.name, n_shards=3, memory=1 << 30),
            range(3),
        )
        results = client.gather(futures)
    assert sorted(r.shard for r in results) == [0, 1, 2]
    assert any(r.complete for r in results)
    assert_same_index(open_model(other), whole)


def test_a_later_open_builds_the_missing_shards_of_the_same_split(
    two_copies: tuple[Path, Path],
) -> None:
    ws, other = two_copies
    whole = open_model(ws)
    config, cache = _model(other)
    first = build_shard(config, cache / config.name, 1, 4)
    assert not first.complete
    with pytest.raises(DataError, match="being built in 4 shards, not 2"):
        build_shard(config, cache / config.name, 0, 2)
    stages: list[str] = []
    resumed = open_model(other, progress=lambda s, d, t: stages.append(s))
    assert resumed.n_shards == 4
    assert not any("shard 2/4" in s for s in stages), "the finished shard is not rebuilt"
    assert any("shard 1/4" in s for s in stages) and any("shard 4/4" in s for s in stages)
    assert_same_index(resumed, whole)
    again = build_shard(config, cache / config.name, 1, 4)
    assert not again.built and again.complete


def test_a_failed_shard_leaves_no_partial_folder(
    make_tiny_workspace: Callable[..., Path],
) -> None:
    ws = make_tiny_workspace(n_features=20, n_examples=300)
    part = ws / "data/activations/part-000.parquet"
    raw = pl.read_parquet(part)
    row = raw.filter(pl.col("activation") > 0).sort("feature_id").tail(1)
    pl.concat([raw, row]).write_parquet(part)  # a duplicate row in the last features
    config, cache = _model(ws)
    ok = build_shard(config, cache / config.name, 0, 2)
    with pytest.raises(DataError, match="more than one row for feature_id"):
        build_shard(config, cache / config.name, 1, 2)
    shards = sorted(p.name for p in (ok.folder / "shards").iterdir())
    assert shards == ["00000-of-00002"], "only the finished shard; no temporary folder"
    assert not (ok.folder / "manifest.json").exists()


def test_cli_shards_then_info(
    two_copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ws, other = two_copies
    outs = []
    for i in (1, 2):
        assert main(["--workspace", str(other), "index", "--shard", f"{i}/2", "--json"]) == 0
        outs.append(json.loads(capsys.readouterr().out)["models"]["tiny"])
    assert [o["shard"] for o in outs] == ["1/2", "2/2"]
    assert [o["complete"] for o in outs] == [False, True]
    assert outs[0]["features"][1] == outs[1]["features"][0]
    assert outs[0]["n_nonzero"] + outs[1]["n_nonzero"] == open_model(ws).n_nonzero
    assert main(["--workspace", str(other), "index", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["models"]["tiny"]
    assert info["built"] is False and info["shards"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "0/3"], "need 1 <= I <= N"),
        (["--shard", "4/3"], "need 1 <= I <= N"),
        (["--shard", "two"], "expected I/N"),
        (["--shard", "1/2", "--all"], "leave out --all"),
        (["--memory", "100M"], "out of range"),
        (["--memory", "lots"], "not a size"),
    ],
)
def test_cli_bad_index_options(
    tiny_workspace: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["--workspace", str(tiny_workspace), "index", *args]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tiny_workspace / ".labeler-cache").exists()


def test_memory_budget_from_config_and_flag(
    tiny_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = tiny_workspace / "labeler.toml"
    config_path.write_text(config_path.read_text() + '\n[index]\nmemory = "2G"\n')
    assert load_config(config_path).index.memory == 2 << 30
    assert main(["--workspace", str(tiny_workspace), "index", "--json"]) == 0
    data = open_model(tiny_workspace)
    shard = json.loads((data.cache_dir / "shards/00000-of-00001/shard.json").read_text())
    assert shard["budget"] == 2 << 30
    capsys.readouterr()
    assert main(["--workspace", str(tiny_workspace), "index", "--force", "--memory", "3G"]) == 0
    shard = json.loads((data.cache_dir / "shards/00000-of-00001/shard.json").read_text())
    assert shard["budget"] == 3 << 30
    for bad in ('"0.5G"', '"2 parsecs"', "true"):
        config_path.write_text(
            config_path.read_text().rsplit("memory =", 1)[0] + f"memory = {bad}\n"
        )
        with pytest.raises(ConfigError, match=r"\[index\] memory"):
            load_config(config_path)


def test_shard_arguments_are_checked(tiny_workspace: Path) -> None:
    config, cache = _model(tiny_workspace)
    for shard, n in ((3, 3), (-1, 3), (0, 0)):
        with pytest.raises(ValidationError, match="--shard I/N"):
            build_shard(config, cache / config.name, shard, n)


def test_index_all_builds_every_table_ahead_of_time(
    tiny_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--workspace", str(tiny_workspace), "index", "--all", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["models"]["tiny"]
    assert info["tables"] == [
        "token sets",
        "packed token sets",
        "token postings",
        "decoder similarity",
        "tokens similarity",
        "coactivation similarity",
    ]
    data = open_model(tiny_workspace)  # a later process: every method answers without building
    from labeler_tui.core.registry import SIMILARITY_METHODS

    assert all(m.is_ready(data) for m in SIMILARITY_METHODS.entries())
    analysis = {p.name for p in (data.cache_dir / "analysis-v1").iterdir()}
    assert {"decoder_unit.npy", "minhash.npy", "minhash_by_bin.npy"} <= analysis


def test_long_first_uses_draw_progress_on_stderr(
    make_tiny_workspace: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a terminal: the index build, every table of --all, and the table a seeded queue
    builder needs, each with its stage, percent and count."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: stderr is a terminal
    ws = make_tiny_workspace(with_decoder=False)
    assert main(["--workspace", str(ws), "index"]) == 0
    err = capsys.readouterr().err
    assert "tiny: counting activations" in err and "100%" in err
    assert main(["--workspace", str(ws), "build-queue", "--method", "cluster", "--seed", "1"]) == 0
    err = capsys.readouterr().err
    assert "token profiles" in err and "100%" in err
    other = make_tiny_workspace("other")
    assert main(["--workspace", str(other), "index", "--all"]) == 0
    err = capsys.readouterr().err
    for stage in ("token sets", "token postings", "decoder similarity", "coactivation similarity"):
        assert f"tiny: {stage}" in err
    assert "coactivation signatures" in err and "token profiles" in err
