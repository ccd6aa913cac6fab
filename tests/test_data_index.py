"""The index returns exactly what the raw files say, for hand-written workspaces of every shape."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from labeler_tui.core.config import load_config
from labeler_tui.core.data import ModelData
from labeler_tui.core.errors import ValidationError


def open_model(ws: Path, model: str | None = None, **kwargs) -> ModelData:
    config = load_config(ws / "labeler.toml")
    return ModelData.open(config.model(model), config.paths.cache, **kwargs)


def raw_activations(ws: Path, spec: str = "data/activations/*.parquet") -> pl.DataFrame:
    return pl.read_parquet(str(ws / spec))


def expected_feature(raw: pl.DataFrame, feature: int) -> pl.DataFrame:
    """Independent answer: the feature's rows with activation > 0, highest first (ties by id)."""
    return raw.filter((pl.col("feature_id") == feature) & (pl.col("activation") > 0)).sort(
        ["activation", "example_id"], descending=[True, False]
    )


def assert_index_matches_raw(data: ModelData, raw: pl.DataFrame, examples: pl.DataFrame) -> None:
    positive = raw.filter(pl.col("activation") > 0)
    assert data.n_nonzero == positive.height
    assert data.n_examples == examples.height
    for f in range(data.n_features):
        want = expected_feature(raw, f)
        got = data.feature(f)
        assert got.feature_id == f
        np.testing.assert_array_equal(got.activations, want["activation"].cast(pl.Float32))
        np.testing.assert_array_equal(got.example_ids, want["example_id"])
        np.testing.assert_array_equal(data.example_ids[got.rows], got.example_ids)
        assert data.nonzero_counts[f] == want.height
        if want.height:
            assert data.max_activations[f] == pytest.approx(want["activation"].max(), rel=1e-6)
            assert data.mean_activations[f] == pytest.approx(want["activation"].mean(), rel=1e-5)
        else:
            assert data.max_activations[f] == 0 and data.mean_activations[f] == 0


def test_directory_of_activation_files_matches_raw(
    make_tiny_workspace: Callable[..., Path],
) -> None:
    ws = make_tiny_workspace(activation_files=3)
    assert len(list((ws / "data/activations").glob("*.parquet"))) == 3
    data = open_model(ws)
    examples = pl.read_parquet(ws / "data/examples.parquet")
    assert data.n_features == 12  # the decoder's rows; the last feature is dead
    assert data.nonzero_counts[11] == 0 and len(data.feature(11)) == 0
    assert_index_matches_raw(data, raw_activations(ws), examples)
    # non-contiguous ids come back as the user's ids, ascending
    np.testing.assert_array_equal(data.example_ids, np.sort(examples["example_id"].to_numpy()))
    assert data.example_ids[1] - data.example_ids[0] == 7


def test_glob_activations_and_no_decoder(make_tiny_workspace: Callable[..., Path]) -> None:
    ws = make_tiny_workspace(activation_files=2, with_decoder=False)
    config = ws / "labeler.toml"
    text = config.read_text().replace('"data/activations"', '"data/activations/part-*.parquet"')
    config.write_text(text)
    (ws / "data/activations/ignored.txt").write_text("not parquet, not matched by the glob")
    data = open_model(ws)
    raw = raw_activations(ws)
    assert not data.has_decoder and data.decoder is None and data.decoder_norms is None
    # without a decoder n_features is max(feature_id) + 1: the dead last feature is not seen
    assert data.n_features == int(raw["feature_id"].max()) + 1 == 11
    assert_index_matches_raw(data, raw, pl.read_parquet(ws / "data/examples.parquet"))


def test_tokens_and_metadata_match_raw_examples(tiny_workspace: Path) -> None:
    data = open_model(tiny_workspace)
    examples = pl.read_parquet(tiny_workspace / "data/examples.parquet")
    rng = np.random.default_rng(1)
    ids = rng.choice(examples["example_id"].to_numpy(), size=50, replace=False)
    rows = data.rows_for_example_ids(ids)
    np.testing.assert_array_equal(data.example_ids[rows], ids)
    offsets, token_ids = data.tokens(rows)
    assert offsets.dtype == np.int64 and token_ids.dtype == np.int32
    by_id = {r["example_id"]: r for r in examples.iter_rows(named=True)}
    values = data.metadata_values("weapon")
    codes = data.metadata_codes("weapon", rows)
    for i, ex in enumerate(ids):
        assert token_ids[offsets[i] : offsets[i + 1]].tolist() == by_id[ex]["tokens"]
        assert values[codes[i]] == by_id[ex]["weapon"]
    assert data.metadata_columns == ["weapon"]
    assert sorted(values) == sorted(examples["weapon"].unique().to_list())
    # empty selection
    offsets, token_ids = data.tokens(np.array([], dtype=np.int64))
    assert offsets.tolist() == [0] and len(token_ids) == 0


def test_unknown_lookups_are_validation_errors(tiny_workspace: Path) -> None:
    data = open_model(tiny_workspace)
    with pytest.raises(ValidationError, match="example id 1001 not found"):
        data.rows_for_example_ids(np.array([1000, 1001]))
    with pytest.raises(ValidationError, match="feature 12 is out of range"):
        data.feature(12)
    with pytest.raises(ValidationError, match="out of range"):
        data.feature(-1)
    with pytest.raises(ValidationError, match="unknown metadata column 'colour'"):
        data.metadata_values("colour")
    with pytest.raises(ValidationError, match="row 400 is out of range"):
        data.tokens(np.array([400]))


def test_token_families_from_the_config_regex(tiny_workspace: Path) -> None:
    data = open_model(tiny_workspace)
    assert data.token_names[0] == "<pad>"
    assert data.token_ids["swim_speed_up_21"] == data.token_names.index("swim_speed_up_21")
    family = data.family_names[data.token_family[data.token_ids["swim_speed_up_21"]]]
    assert family == "swim_speed_up"
    # a token the regex does not match is its own family
    assert data.family_names[data.token_family[data.token_ids["comeback"]]] == "comeback"
    assert len(data.family_names) == 1 + 4 + 3
    assert data.token_family.dtype == np.int32 and len(data.token_family) == len(data.token_names)


def test_dict_vocab_custom_names_and_int_metadata(make_tiny_workspace: Callable[..., Path]) -> None:
    """A workspace in its own vocabulary: dict vocab with a gap, an int metadata column with
    nulls, a bool column, a custom family regex."""
    ws = make_tiny_workspace()
    names = json.loads((ws / "data/vocab.json").read_text())
    # rename tokens "fam_lvl" -> "lvl:fam" and shift ids by one past a gap at id 1
    custom = {}
    for i, name in enumerate(names):
        parts = name.rsplit("_", 1)
        new = f"{parts[1]}:{parts[0]}" if len(parts) == 2 and parts[1].isdigit() else name
        custom[new] = i if i == 0 else i + 1
    (ws / "data/vocab.json").write_text(json.dumps(custom))
    examples = pl.read_parquet(ws / "data/examples.parquet")
    examples = examples.with_columns(
        tokens=pl.col("tokens").list.eval(pl.when(pl.element() > 0).then(pl.element() + 1)),
        season=(pl.col("example_id") % 5).cast(pl.Int16),
        ranked=(pl.col("example_id") % 3 == 0),
    ).with_columns(
        season=pl.when(pl.col("example_id") % 11 == 0).then(None).otherwise(pl.col("season"))
    )
    examples.write_parquet(ws / "data/examples.parquet")
    config_path = ws / "labeler.toml"
    config_path.write_text(
        config_path.read_text().replace(
            'vocab = "data/vocab.json"', "vocab = \"data/vocab.json\"\ntoken_family = '^\\d+:(.+)$'"
        )
    )
    assert load_config(config_path).model().token_family == r"^\d+:(.+)$"

    data = open_model(ws)
    assert data.token_names[1] == "<unused:1>"
    assert data.token_names[data.token_ids["21:swim_speed_up"]] == "21:swim_speed_up"
    family = data.family_names[data.token_family[data.token_ids["21:swim_speed_up"]]]
    assert family == "swim_speed_up"
    assert set(data.metadata_columns) == {"weapon", "season", "ranked"}
    season_values = data.metadata_values("season")
    assert season_values == [0, 1, 2, 3, 4, None]
    assert data.metadata_values("ranked") == [False, True]
    rows = np.arange(data.n_examples)
    offsets, token_ids = data.tokens(rows)
    raw = examples.sort("example_id")
    assert token_ids.tolist() == raw["tokens"].explode().to_list()
    assert [season_values[c] for c in data.metadata_codes("season", rows)] == raw[
        "season"
    ].to_list()
    assert_index_matches_raw(data, raw_activations(ws), examples)


def test_ties_are_ordered_by_example_id(make_tiny_workspace: Callable[..., Path]) -> None:
    ws = make_tiny_workspace()
    path = ws / "data/activations/part-000.parquet"
    raw = pl.read_parquet(path)
    raw = raw.with_columns(
        activation=pl.when(pl.col("activation") > 0).then(pl.col("activation").round(0) + 1)
    ).with_columns(pl.col("activation").fill_null(0.0))
    raw.write_parquet(path)
    data = open_model(ws)
    assert_index_matches_raw(data, raw, pl.read_parquet(ws / "data/examples.parquet"))
    got = data.feature(0)
    assert len(np.unique(got.activations)) < len(got)  # there are ties to order


def test_index_is_reused_and_rebuilt_only_when_an_input_changes(
    make_tiny_workspace: Callable[..., Path],
) -> None:
    ws = make_tiny_workspace(activation_files=2)
    built: list[str] = []

    def progress(stage: str, done: int, total: int) -> None:
        built.append(stage)

    first = open_model(ws, progress=progress)
    assert built, "the first open builds the index"
    manifest = first.cache_dir / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    built.clear()
    again = open_model(ws, progress=progress)
    assert built == [] and again.cache_dir == first.cache_dir
    assert manifest.stat().st_mtime_ns == stamp

    # touching one activation file (new mtime, same content) selects a new index
    part = ws / "data/activations/part-001.parquet"
    st = part.stat()
    os.utime(part, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    touched = open_model(ws, progress=progress)
    assert built and touched.cache_dir != first.cache_dir
    assert not first.cache_dir.exists(), "the stale index is removed"

    # rewriting a file with different data gives the new answer
    raw = pl.read_parquet(part)
    raw.with_columns(pl.col("activation") * 2).write_parquet(part)
    os.utime(part, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    rewritten = open_model(ws)
    assert_index_matches_raw(
        rewritten, raw_activations(ws), pl.read_parquet(ws / "data/examples.parquet")
    )
    # the only folder left is the current index
    assert [p.name for p in (ws / ".labeler-cache/tiny").iterdir()] == [rewritten.cache_dir.name]


def test_forced_rebuild_replaces_the_index_in_place(tiny_workspace: Path) -> None:
    first = open_model(tiny_workspace)
    before = first.feature(3).activations.copy()
    stages: list[str] = []
    second = open_model(tiny_workspace, rebuild=True, progress=lambda s, d, t: stages.append(s))
    assert stages and second.cache_dir == first.cache_dir
    np.testing.assert_array_equal(second.feature(3).activations, before)
    assert [p.name for p in (tiny_workspace / ".labeler-cache/tiny").iterdir()] == [
        second.cache_dir.name
    ]


def test_leftovers_of_crashed_builds_are_cleaned_up(tiny_workspace: Path) -> None:
    model_cache = tiny_workspace / ".labeler-cache/tiny"
    model_cache.mkdir(parents=True)
    crashed = model_cache / ".build-0123-crashed"
    running = model_cache / ".build-4567-running"
    old_version = model_cache / ("f" * 20)
    unrelated = model_cache / "notes"
    for folder in (crashed, running, old_version, unrelated):
        folder.mkdir()
        (folder / "rows.npy").write_bytes(b"partial")
    day_ago = time.time() - 24 * 3600
    os.utime(crashed, (day_ago, day_ago))
    data = open_model(tiny_workspace)
    left = sorted(p.name for p in model_cache.iterdir())
    assert left == sorted([data.cache_dir.name, running.name, unrelated.name])


def test_concurrent_first_opens_agree(tiny_workspace: Path) -> None:
    """Two processes (here threads) opening a workspace at once both get a complete index."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        opened = list(pool.map(lambda _: open_model(tiny_workspace), range(2)))
    assert opened[0].cache_dir == opened[1].cache_dir
    np.testing.assert_array_equal(
        opened[0].feature(2).activations, opened[1].feature(2).activations
    )
    assert [p.name for p in (tiny_workspace / ".labeler-cache/tiny").iterdir()] == [
        opened[0].cache_dir.name
    ]


def test_sparse_example_ids_use_the_search_path(make_tiny_workspace: Callable[..., Path]) -> None:
    """Ids spread too far for a lookup table (step 10^7) still map exactly, and unknown ids fail."""
    from labeler_tui.core.data.index_build import ExampleRows

    ws = make_tiny_workspace(example_id_step=10_000_000, activation_files=2)
    examples = pl.read_parquet(ws / "data/examples.parquet")
    ids = np.sort(examples["example_id"].to_numpy())
    mapper = ExampleRows(ids)
    assert mapper.lut is None
    np.testing.assert_array_equal(mapper.rows(ids[::-1]), np.arange(len(ids))[::-1])
    assert mapper.rows(np.array([ids[3] + 1, -5, ids[-1] + 10])).tolist() == [-1, -1, -1]
    data = open_model(ws)
    assert_index_matches_raw(data, raw_activations(ws), examples)


def test_an_open_model_keeps_working_after_its_index_is_replaced(tiny_workspace: Path) -> None:
    """The TUI may hold a ModelData while the CLI rebuilds: everything was mapped at open."""
    held = open_model(tiny_workspace)
    part = tiny_workspace / "data/activations/part-000.parquet"
    st = part.stat()
    os.utime(part, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert not held.is_current()
    fresh = open_model(tiny_workspace)
    assert fresh.is_current()
    assert not held.cache_dir.exists() and fresh.cache_dir.exists()
    rows = held.feature(4).rows
    assert (
        held.metadata_codes("weapon", rows).tolist()
        == fresh.metadata_codes("weapon", rows).tolist()
    )
    np.testing.assert_array_equal(held.tokens(rows)[1], fresh.tokens(rows)[1])
    np.testing.assert_array_equal(held.decoder, fresh.decoder)


@pytest.mark.parametrize("step", [1, 7, 10_000_000])
def test_example_rows_every_layout(step: int) -> None:
    """Contiguous ids (subtraction), dense ids (lookup table), sparse ids (binary search)."""
    from labeler_tui.core.data.index_build import ExampleRows

    ids = 500 + step * np.arange(1000, dtype=np.int64)
    mapper = ExampleRows(ids)
    assert mapper.contiguous == (step == 1) and (mapper.lut is not None) == (step == 7)
    rng = np.random.default_rng(step)
    pick = rng.integers(0, 1000, size=300)
    np.testing.assert_array_equal(mapper.rows(ids[pick]), pick)
    unknown = np.array([ids[0] - 1, ids[-1] + 1, ids[10] + (1 if step > 1 else 10**6), ids[5]])
    assert mapper.rows(unknown).tolist() == [-1, -1, -1, 5]
    assert mapper.rows(np.array([], dtype=np.int64)).tolist() == []


@pytest.mark.parametrize("ranges", ["one range", "a range per few features"])
def test_many_small_units_in_one_or_many_ranges_give_the_same_index(
    make_tiny_workspace: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, ranges: str
) -> None:
    """Files split into many units (so several threads scatter groups of them) and, under a
    tiny memory budget, features split into many ranges (one more read of the input each):
    the index is the same as the raw files say."""
    from labeler_tui.core.data import memory, shard_build, sources

    monkeypatch.setattr(sources, "UNIT_ROWS", 37)
    monkeypatch.setattr(shard_build, "SORT_CHUNK", 50)
    if ranges != "one range":
        monkeypatch.setattr(memory, "range_capacity", lambda *args: 300)
    ws = make_tiny_workspace(activation_files=2)
    data = open_model(ws)
    shard = json.loads((data.cache_dir / "shards/00000-of-00001/shard.json").read_text())
    assert (len(shard["ranges"]) > 3) == (ranges != "one range")
    assert_index_matches_raw(
        data, raw_activations(ws), pl.read_parquet(ws / "data/examples.parquet")
    )


@pytest.mark.parametrize("with_decoder", [True, False])
def test_no_positive_activations_at_all(
    make_tiny_workspace: Callable[..., Path], with_decoder: bool
) -> None:
    ws = make_tiny_workspace(with_decoder=with_decoder)
    part = ws / "data/activations/part-000.parquet"
    raw = pl.read_parquet(part).with_columns(activation=-pl.col("activation").abs())
    raw.write_parquet(part)
    data = open_model(ws)
    assert data.n_nonzero == 0
    assert data.n_features == (12 if with_decoder else int(raw["feature_id"].max()) + 1)
    assert data.nonzero_counts.tolist() == [0] * data.n_features
    assert len(data.feature(0)) == 0 and len(data.feature(0).example_ids) == 0
    assert data.max_activations.tolist() == [0.0] * data.n_features
