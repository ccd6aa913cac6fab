"""The demo workspace: format, budget, determinism, and every truth.json guarantee recomputed
independently from the written parquet/npy files (numpy + polars only, the definitions of docs/analysis.md)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from labeler_tui.core.config import load_config
from labeler_tui.core.errors import ValidationError
from labeler_tui.demo import MIN_SCALE, write_demo

REGION_BOUNDS = {
    "floor": (0.0, 0.01),
    "low": (0.01, 0.10),
    "below_core": (0.10, 0.25),
    "core": (0.25, 0.75),
    "high": (0.75, 0.90),
    "flanderization": (0.90, np.inf),
}
FAMILY_RE = re.compile(r"^(.*?)_\d+$")
BUDGET_BYTES = 150 * 1024 * 1024


@dataclass
class Model:
    """One model's data as read back from disk, grouped by feature."""

    n_features: int
    decoder: np.ndarray
    feature: np.ndarray  # int64 per nonzero row, sorted
    row: np.ndarray  # example row per nonzero row
    act: np.ndarray
    starts: np.ndarray  # feature f's rows are [starts[f], starts[f + 1])
    all_rows: pl.DataFrame  # every activation row, as written

    def feature_rows(self, f: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.starts[f], self.starts[f + 1]
        return self.row[lo:hi], self.act[lo:hi]

    def nonzero_counts(self) -> np.ndarray:
        return np.diff(self.starts)


@dataclass
class Examples:
    ids: np.ndarray  # sorted example ids; an example's row is its position here
    token_names: list[str]
    weapon: np.ndarray
    token_matrix: np.ndarray  # bool[n_examples, n_tokens]
    family_names: list[str]
    family_matrix: np.ndarray  # bool[n_examples, n_families]

    def has_token(self, token: str) -> np.ndarray:
        return self.token_matrix[:, self.token_names.index(token)]

    def has_family(self, family: str) -> np.ndarray:
        return self.family_matrix[:, self.family_names.index(family)]


@dataclass
class Demo:
    root: Path
    truth: dict
    examples: Examples
    models: dict[str, Model]


def _family(token: str) -> str:
    match = FAMILY_RE.match(token)
    return match.group(1) if match else token


def _read_examples(root: Path) -> Examples:
    config = load_config(root / "labeler.toml")
    vocab = json.loads(config.model("ultra").vocab.read_text())
    names = [""] * len(vocab)
    for name, i in vocab.items():
        names[i] = name
    frame = pl.read_parquet(config.model("ultra").examples).sort("example_id")
    lengths = frame["tokens"].list.len().to_numpy()
    rows = np.repeat(np.arange(frame.height), lengths)
    tokens = frame["tokens"].explode().to_numpy()
    token_matrix = np.zeros((frame.height, len(names)), dtype=bool)
    token_matrix[rows, tokens] = True
    family_names = sorted({_family(n) for n in names})
    family_of = np.array([family_names.index(_family(n)) for n in names])
    family_matrix = np.zeros((frame.height, len(family_names)), dtype=bool)
    family_matrix[rows, family_of[tokens]] = True
    return Examples(
        ids=frame["example_id"].to_numpy(),
        token_names=names,
        weapon=frame["weapon"].to_numpy(),
        token_matrix=token_matrix,
        family_names=family_names,
        family_matrix=family_matrix,
    )


def _read_model(root: Path, name: str, examples: Examples) -> Model:
    config = load_config(root / "labeler.toml").model(name)
    frame = pl.concat([pl.read_parquet(p) for p in config.activations])
    decoder = np.load(config.decoder)
    nonzero = frame.filter(pl.col("activation") > 0)
    feature = nonzero["feature_id"].to_numpy().astype(np.int64)
    order = np.argsort(feature, kind="stable")
    row = np.searchsorted(examples.ids, nonzero["example_id"].to_numpy())
    assert np.array_equal(examples.ids[row], nonzero["example_id"].to_numpy())
    n_features = decoder.shape[0]
    starts = np.zeros(n_features + 1, dtype=np.int64)
    np.cumsum(np.bincount(feature, minlength=n_features), out=starts[1:])
    return Model(
        n_features=n_features,
        decoder=decoder,
        feature=feature[order],
        row=row[order],
        act=nonzero["activation"].to_numpy()[order],
        starts=starts,
        all_rows=frame,
    )


def _load(root: Path) -> Demo:
    truth = json.loads((root / "truth.json").read_text())
    examples = _read_examples(root)
    models = {name: _read_model(root, name, examples) for name in ("ultra", "full")}
    return Demo(root, truth, examples, models)


@pytest.fixture(scope="module")
def default_demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The real default demo, written once for the module."""
    root = tmp_path_factory.mktemp("demo") / "workspace"
    config = write_demo(root)
    assert config == root / "labeler.toml"
    return _load(root)


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, int, int]]]:
    """A demo at the smallest supported scale (root, progress calls), written once."""
    root = tmp_path_factory.mktemp("small") / "workspace"
    calls: list[tuple[str, int, int]] = []
    write_demo(root, progress=lambda *call: calls.append(call), scale=MIN_SCALE)
    return root, calls


@pytest.fixture(scope="module", params=["default", "small"])
def demo(request: pytest.FixtureRequest) -> Demo:
    """The default demo and the smallest supported scale: the truths hold for both."""
    if request.param == "default":
        return request.getfixturevalue("default_demo")
    return _load(request.getfixturevalue("small_demo")[0])


MODELS = ("ultra", "full")


def _regions(model: Model, f: int) -> dict[str, np.ndarray]:
    """Example rows per region of feature ``f`` (docs/analysis.md: effective max = 99.5th pct)."""
    rows, acts = model.feature_rows(f)
    effective_max = np.percentile(acts, 99.5)
    frac = acts / effective_max
    return {region: rows[(frac > lo) & (frac <= hi)] for region, (lo, hi) in REGION_BOUNDS.items()}


def _share_with(
    examples: Examples, rows: np.ndarray, family: str | None = None, token: str | None = None
) -> float:
    """Share of the examples ``rows`` holding the family (or the token)."""
    mask = examples.has_family(family) if family is not None else examples.has_token(token)
    return float(mask[rows].mean()) if len(rows) else 0.0


# --- format, budget, config ----------------------------------------------------------------
def test_config_loads_with_both_models_and_their_inputs(demo: Demo) -> None:
    config = load_config(demo.root / "labeler.toml")
    assert config.labeler.default_model == "ultra"
    assert set(config.models) == {"ultra", "full", "text"}
    assert config.model("text").is_sequence and not config.model("ultra").is_sequence
    for name in MODELS:
        model = config.model(name)
        assert 2 <= len(model.activations) <= 4
        assert model.decoder is not None and model.decoder.suffix == ".npy"
        assert re.match(model.token_family, "swim_speed_up_57").group(1) == "swim_speed_up"


def test_feature_counts_and_decoder_shapes(default_demo: Demo) -> None:
    demo = default_demo
    assert demo.models["ultra"].decoder.shape[0] == 24_576
    assert demo.models["full"].decoder.shape[0] == 2_048
    for model in demo.models.values():
        assert 64 <= model.decoder.shape[1] <= 128
        assert model.all_rows["feature_id"].max() < model.n_features
    for f in (18712, 18890, 19042, 10938, 9971, 13934):
        assert demo.models["ultra"].nonzero_counts()[f] > 1000


def test_vocab_has_ability_families_and_main_only_abilities(demo: Demo) -> None:
    names = set(demo.examples.token_names)
    for token in (
        "swim_speed_up_3",
        "swim_speed_up_57",
        "special_charge_up_57",
        "ink_saver_main_12",
        "quick_respawn_21",
    ):
        assert token in names
    for token in (
        "comeback",
        "stealth_jump",
        "ninja_squid",
        "respawn_punisher",
        "last_ditch_effort",
        "opening_gambit",
        "haunt",
        "tenacity",
        "thermal_ink",
        "drop_roller",
        "object_shredder",
    ):
        assert token in names
        assert _family(token) == token
    assert _family("special_charge_up_57") == "special_charge_up"
    weapons = set(demo.examples.weapon.tolist())
    assert {"splattershot", "bloblobber", "glooga_dualies", "e_liter_4k", "n_zap_85"} <= weapons
    assert 25 <= len(weapons) <= 40


def test_input_quirks_of_real_dumps(demo: Demo) -> None:
    ids = demo.examples.ids
    assert len(np.unique(ids)) == len(ids)
    assert np.any(np.diff(ids) > 1), "example ids should not be contiguous"
    for model in demo.models.values():
        rows = model.all_rows
        assert (rows["activation"] <= 0).sum() > 0
        feature = rows["feature_id"].to_numpy()
        assert np.any(np.diff(feature) < 0), "rows should not be sorted by feature"
        pairs = rows.select("feature_id", "example_id").unique().height
        assert pairs == rows.height, "one row per (feature, example)"
        assert np.isfinite(rows["activation"].to_numpy()).all()


def test_size_within_budget(default_demo: Demo) -> None:
    demo = default_demo
    total = sum(p.stat().st_size for p in demo.root.rglob("*") if p.is_file())
    assert total <= BUDGET_BYTES
    assert not list(demo.root.parent.glob(".*.tmp")), "no temporary folder left behind"


# --- planted truths ------------------------------------------------------------------------
def test_truth_schema(demo: Demo) -> None:
    assert demo.truth["seed"] == 0
    ultra = demo.truth["models"]["ultra"]
    assert {"feature_id": 10938, "family": "swim_speed_up"} in ultra["general"]
    assert {
        "feature_id": 9971,
        "family": "special_charge_up",
        "weapons": ["bloblobber", "glooga_dualies"],
    } in ultra["super_stimulus"]
    assert {"feature_id": 13934, "token": "respawn_punisher", "family": "ink_saver_main"} in ultra[
        "tail_marker"
    ]
    assert [18712, 18890, 19042] in ultra["clusters"]
    for name in MODELS:
        truth = demo.truth["models"][name]
        assert 4 <= len(truth["general"]) <= 8
        assert 3 <= len(truth["super_stimulus"]) <= 5
        assert 3 <= len(truth["tail_marker"]) <= 5
        assert 4 <= len(truth["clusters"]) <= 6
        assert all(len(c) == 3 for c in truth["clusters"])
        assert len(truth["dead"]) >= 10 and len(truth["weak"]) >= 10
        planted = [
            e["feature_id"] for k in ("general", "super_stimulus", "tail_marker") for e in truth[k]
        ]
        planted += [f for c in truth["clusters"] for f in c] + truth["dead"] + truth["weak"]
        assert len(planted) == len(set(planted)), "a feature plays one role"


@pytest.mark.parametrize("name", MODELS)
def test_general_features(demo: Demo, name: str) -> None:
    model = demo.models[name]
    for entry in demo.truth["models"][name]["general"]:
        regions = _regions(model, entry["feature_id"])
        assert _share_with(demo.examples, regions["core"], family=entry["family"]) > 0.5
        for region, rows in regions.items():
            assert _share_with(demo.examples, rows, family=entry["family"]) > 0, (entry, region)
        assert len(set(demo.examples.weapon[regions["core"]])) >= 20


@pytest.mark.parametrize("name", MODELS)
def test_super_stimulus_features(demo: Demo, name: str) -> None:
    model = demo.models[name]
    for entry in demo.truth["models"][name]["super_stimulus"]:
        regions = _regions(model, entry["feature_id"])
        core, zone = regions["core"], regions["flanderization"]
        assert _share_with(demo.examples, core, family=entry["family"]) > 0.5
        assert len(set(demo.examples.weapon[core])) >= 8
        on_listed_zone = np.isin(demo.examples.weapon[zone], entry["weapons"]).mean()
        on_listed_core = np.isin(demo.examples.weapon[core], entry["weapons"]).mean()
        assert on_listed_zone >= 0.9, entry
        assert on_listed_core < 0.15, entry


@pytest.mark.parametrize("name", MODELS)
def test_tail_marker_features(demo: Demo, name: str) -> None:
    model = demo.models[name]
    for entry in demo.truth["models"][name]["tail_marker"]:
        rows, _ = model.feature_rows(entry["feature_id"])
        regions = _regions(model, entry["feature_id"])
        core_coverage = _share_with(demo.examples, regions["core"], token=entry["token"])
        in_zone = _share_with(demo.examples, regions["flanderization"], token=entry["token"])
        overall = _share_with(demo.examples, rows, token=entry["token"])
        assert core_coverage < 0.2, entry
        assert in_zone / overall >= 5, entry
        assert _share_with(demo.examples, regions["core"], family=entry["family"]) > 0.5


def _cosine_rows(matrix: np.ndarray, rows: list[int]) -> np.ndarray:
    unit = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return unit[rows] @ unit.T


def _token_profiles(demo: Demo, model: Model) -> np.ndarray:
    """Token profile of every feature [n_features, n_families + level tokens]: per family and
    per token of a multi-token family, max(0, ln(activation-weighted share / base rate))."""
    ex = demo.examples
    sizes = {f: sum(_family(t) == f for t in ex.token_names) for f in ex.family_names}
    level_tokens = [i for i, t in enumerate(ex.token_names) if sizes[_family(t)] > 1]
    present = np.hstack([ex.family_matrix, ex.token_matrix[:, level_tokens]])
    base = present.mean(axis=0)
    totals = np.bincount(model.feature, weights=model.act, minlength=model.n_features)
    held = present[model.row]
    share = (
        np.stack(
            [
                np.bincount(
                    model.feature, weights=model.act * held[:, j], minlength=model.n_features
                )
                for j in range(held.shape[1])
            ],
            axis=1,
        )
        / np.maximum(totals, 1e-30)[:, None]
    )
    ratio = np.divide(share, base, out=np.zeros_like(share), where=base > 0)
    return np.log(ratio, out=np.zeros_like(ratio), where=ratio > 1)


def _jaccard_with_all(model: Model, f: int, n_examples: int) -> np.ndarray:
    member = np.zeros(n_examples, dtype=bool)
    member[model.feature_rows(f)[0]] = True
    inter = np.bincount(model.feature, weights=member[model.row], minlength=model.n_features)
    union = member.sum() + model.nonzero_counts() - inter
    return inter / np.maximum(union, 1)


@pytest.mark.parametrize("name", MODELS)
def test_clusters_are_found_by_all_three_similarity_methods(demo: Demo, name: str) -> None:
    model = demo.models[name]
    profiles = _token_profiles(demo, model)
    for cluster in demo.truth["models"][name]["clusters"]:
        decoder_cos = _cosine_rows(model.decoder, cluster)
        token_cos = _cosine_rows(profiles, cluster)
        for i, f in enumerate(cluster):
            partners = [g for g in cluster if g != f]
            others = np.ones(model.n_features, dtype=bool)
            others[cluster] = False
            assert decoder_cos[i, partners].min() > 0.9
            assert decoder_cos[i, others].max() < 0.5
            jaccard = _jaccard_with_all(model, f, len(demo.examples.ids))
            assert jaccard[partners].min() > 0.5
            assert jaccard[others].max() < jaccard[partners].min() / 2
            ranked = np.argsort(-token_cos[i])
            assert set(ranked[1:3].tolist()) == set(partners), (f, ranked[:5])


@pytest.mark.parametrize("name", MODELS)
def test_planted_output_effects(demo: Demo, name: str) -> None:
    """decoder row x output matrix, from the .npy files: each planted feature's top outputs are
    exactly its promoted list in order, its bottom ones its suppressed list; the matrix covers
    the vocab, stored [d, n_out] in one model and [n_out, d] in the other."""
    model = demo.models[name]
    config = load_config(demo.root / "labeler.toml").model(name)
    assert config.output is not None and config.output_vocab is None
    stored = np.load(config.output)
    d = model.decoder.shape[1]
    output = stored if stored.shape[0] == d else stored.T
    assert output.shape == (d, len(demo.examples.token_names))
    names = demo.examples.token_names
    planted = {e["feature_id"]: e for e in demo.truth["models"][name]["effects"]}
    truth = demo.truth["models"][name]
    vouched = [
        e["feature_id"] for k in ("general", "super_stimulus", "tail_marker") for e in truth[k]
    ]
    assert set(planted) == set(vouched) | {f for c in truth["clusters"] for f in c}
    for f, entry in planted.items():
        values = model.decoder[f].astype(np.float64) @ output.astype(np.float64)
        order = np.argsort(-values, kind="stable")
        assert [names[i] for i in order[: len(entry["promoted"])]] == entry["promoted"], f
        order = np.argsort(values, kind="stable")
        assert [names[i] for i in order[: len(entry["suppressed"])]] == entry["suppressed"], f
    shapes = {
        np.load(load_config(demo.root / "labeler.toml").model(m).output).shape[0] for m in MODELS
    }
    assert shapes == {d, len(names)}


@pytest.mark.parametrize("name", MODELS)
def test_dead_and_weak_features_are_exactly_the_listed_ones(demo: Demo, name: str) -> None:
    model = demo.models[name]
    truth = demo.truth["models"][name]
    counts = model.nonzero_counts()
    assert sorted(np.flatnonzero(counts == 0).tolist()) == truth["dead"]
    assert sorted(np.flatnonzero((counts >= 1) & (counts <= 9)).tolist()) == truth["weak"]
    listed_rows = model.all_rows.filter(pl.col("feature_id").is_in(truth["dead"]))
    assert listed_rows.height > 0 and (listed_rows["activation"] <= 0).all()


@pytest.mark.parametrize("name", MODELS)
def test_decoder_norms_spread_out(demo: Demo, name: str) -> None:
    norms = np.linalg.norm(demo.models[name].decoder, axis=1)
    percentile = 100 * np.array([(norms < n).mean() for n in np.quantile(norms, [0.1, 0.5, 0.9])])
    assert np.all(np.diff(percentile) > 30)
    assert norms.max() / norms.min() > 5
    if name == "ultra":
        assert 5 <= 100 * (norms < norms[10938]).mean() <= 15  # the docs quote 10938 at 9.3


# --- determinism, atomicity, progress -----------------------------------------------------
def _file_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_progress_reports_every_stage_in_order(small_demo: tuple[Path, list]) -> None:
    _, calls = small_demo
    done = [d for _, d, _ in calls]
    assert done == list(range(1, len(calls) + 1))
    assert all(total == len(calls) for _, _, total in calls)
    assert any("ultra" in stage for stage, _, _ in calls)


def test_interrupted_write_leaves_nothing(tmp_path: Path) -> None:
    def explode(stage: str, done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_demo(tmp_path / "demo", progress=explode, scale=MIN_SCALE)
    assert list(tmp_path.iterdir()) == []


def test_same_seed_same_bytes_and_rewrite_with_other_seed(
    small_demo: tuple[Path, list], tmp_path: Path
) -> None:
    first = _file_bytes(small_demo[0])
    root = tmp_path / "demo"
    write_demo(root, scale=MIN_SCALE)
    assert _file_bytes(root) == first

    (root / "labels").mkdir()
    (root / "labels" / "consolidated_ultra.json").write_text("{}")
    write_demo(root, scale=MIN_SCALE, seed=1)
    other = _file_bytes(root)
    assert json.loads(other["truth.json"])["seed"] == 1
    assert other["data/examples.parquet"] != first["data/examples.parquet"]
    assert other["labels/consolidated_ultra.json"] == b"{}"
    assert other.keys() == first.keys() | {"labels/consolidated_ultra.json"}
    assert not list(tmp_path.glob(".*")), "no temporary folder left behind"
    load_config(root / "labeler.toml")


def test_refuses_a_file_as_root_and_a_scale_out_of_range(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValidationError, match="not a directory"):
        write_demo(tmp_path / "file")
    for scale in (0.0, MIN_SCALE / 2, 1.5):
        with pytest.raises(ValidationError, match="scale"):
            write_demo(tmp_path / "demo", scale=scale)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_no_workspace_configured_creates_the_demo_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import labeler_tui.demo.writer as demo_module
    from labeler_tui.core.workspace import find_config
    from labeler_tui.demo import demo_config, demo_workspace_dir

    writes: list[Path] = []

    def small_demo(root: Path, progress=None, seed: int = 0) -> Path:
        writes.append(root)
        return write_demo(root, progress=progress, seed=seed, scale=MIN_SCALE)

    monkeypatch.setattr(demo_module, "write_demo", small_demo)
    config = find_config(fallback=demo_config)
    assert config == demo_workspace_dir() / "labeler.toml"
    assert load_config(config).labeler.default_model == "ultra"
    assert json.loads((config.parent / "truth.json").read_text())["models"].keys() == {
        "ultra",
        "full",
        "text",
    }
    assert find_config(fallback=demo_config) == config
    assert writes == [demo_workspace_dir()]
