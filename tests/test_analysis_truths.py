"""The analysis recovers the structure the demo planted (truth.json), for both models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from labeler_tui.core.analysis.coverage import core_coverage
from labeler_tui.core.analysis.overview import feature_overview
from labeler_tui.core.analysis.queue_builders import build_candidates
from labeler_tui.core.analysis.similarity import similar_features
from labeler_tui.core.evidence.effects import output_effects
from labeler_tui.core.evidence.examples import feature_examples
from labeler_tui.core.evidence.hypothesis import score_hypothesis
from labeler_tui.core.registry import SIMILARITY_METHODS
from labeler_tui.core.workspace import Workspace
from labeler_tui.demo import write_demo

MODELS = ["ultra", "full"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Workspace]:
    root = tmp_path_factory.mktemp("demo") / "ws"
    write_demo(root)
    truth = json.loads((root / "truth.json").read_text())["models"]
    return root, truth, Workspace.open(root)


def _core_coverage_by_polars(root: Path, model: str, f: int, token: str) -> float:
    """Percent of core examples holding ``token``, straight from the input parquet files."""
    vocab = json.loads((root / "data" / "vocab.json").read_text())
    token_id = vocab.index(token) if isinstance(vocab, list) else vocab[token]
    acts = (
        pl.scan_parquet(root / "data" / model / "activations" / "*.parquet")
        .filter((pl.col("feature_id") == f) & (pl.col("activation") > 0))
        .collect()
    )
    eff = np.percentile(acts["activation"].to_numpy().astype(np.float64), 99.5)
    core = acts.filter(
        (pl.col("activation").cast(pl.Float64) / eff > 0.25)
        & (pl.col("activation").cast(pl.Float64) / eff <= 0.75)
    )
    examples = pl.read_parquet(root / "data" / "examples.parquet")
    joined = core.join(examples, on="example_id")
    return 100.0 * joined["tokens"].list.contains(token_id).sum() / joined.height


@pytest.mark.parametrize("model", MODELS)
def test_super_stimuli_are_flagged_with_their_weapons(demo, model: str) -> None:
    _, truth, ws = demo
    data = ws.data(model)
    for planted in truth[model]["super_stimulus"]:
        o = feature_overview(data, planted["feature_id"])
        flagged = {f["value"] for f in o["flags"] if f["kind"] == "super_stimulus"}
        assert flagged == set(planted["weapons"]), planted
        general = {g["subject"] for g in o["general"]}
        assert not general & {f"weapon={w}" for w in planted["weapons"]}
        coverage = core_coverage(data, planted["feature_id"], planted["family"])
        assert coverage["verdict"] == "headline"


@pytest.mark.parametrize("model", MODELS)
def test_tail_markers_are_judged_and_flagged(demo, model: str) -> None:
    root, truth, ws = demo
    data = ws.data(model)
    for planted in truth[model]["tail_marker"]:
        f = planted["feature_id"]
        coverage = core_coverage(data, f, planted["token"])
        assert coverage["verdict"] == "tail_marker", planted
        assert coverage["core_coverage"] == pytest.approx(
            _core_coverage_by_polars(root, model, f, planted["token"])
        )
        assert core_coverage(data, f, planted["family"])["verdict"] == "headline"
        o = feature_overview(data, f)
        tails = {flag["subject"] for flag in o["flags"] if flag["kind"] == "tail_marker"}
        assert planted["token"] in tails


@pytest.mark.parametrize("model", MODELS)
def test_general_concepts_headline_and_span_every_region(demo, model: str) -> None:
    _, truth, ws = demo
    data = ws.data(model)
    for planted in truth[model]["general"]:
        o = feature_overview(data, planted["feature_id"])
        assert (
            core_coverage(data, planted["feature_id"], planted["family"])["verdict"] == "headline"
        )
        general = [g["subject"] for g in o["general"] if g["kind"] == "family"]
        assert general[0] == planted["family"]  # present everywhere, best core coverage
        assert not [flag for flag in o["flags"] if flag["kind"] == "super_stimulus"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("method", SIMILARITY_METHODS.names())
def test_planted_clusters_are_nearest_neighbours(demo, model: str, method: str) -> None:
    _, truth, ws = demo
    data = ws.data(model)
    for cluster in truth[model]["clusters"]:
        for f in cluster:
            nearest = [g for g, _ in similar_features(data, f, method, top_k=len(cluster) - 1)]
            assert set(nearest) == set(cluster) - {f}, (method, f, cluster)


@pytest.mark.parametrize("model", MODELS)
def test_cluster_builder_queues_the_seed_cluster_first(demo, model: str) -> None:
    _, truth, ws = demo
    data = ws.data(model)
    cluster = truth[model]["clusters"][0]
    result = build_candidates(data, "cluster", labels={}, excluded=set(), seed=cluster[0], top_k=2)
    assert {c.feature_id for c in result} == set(cluster[1:])


@pytest.mark.parametrize("model", MODELS)
def test_importance_percentiles_are_exact(demo, model: str) -> None:
    root, truth, ws = demo
    data = ws.data(model)
    norms = np.linalg.norm(
        np.load(root / "data" / model / "decoder.npy").astype(np.float64), axis=1
    )
    rng = np.random.default_rng(0)
    sample = {*rng.choice(len(norms), 40, replace=False).tolist(), int(np.argmax(norms))}
    sample |= {p["feature_id"] for p in truth[model]["general"]}
    for f in sorted(sample):
        expected = 100.0 * np.count_nonzero(norms < norms[f]) / len(norms)
        assert feature_overview(data, f)["importance_percentile"] == pytest.approx(expected)
    assert feature_overview(data, int(np.argmin(norms)))["importance_percentile"] == 0.0


@pytest.mark.parametrize("model", MODELS)
def test_dead_and_weak_features_give_valid_overviews(demo, model: str) -> None:
    _, truth, ws = demo
    data = ws.data(model)
    for f in truth[model]["dead"][:5]:
        o = feature_overview(data, f)
        assert o["n_nonzero"] == 0 and o["regions"] == [] and o["flags"] == []
        assert json.loads(json.dumps(o)) == o
        assert similar_features(data, f, "coactivation") == []
    for f in truth[model]["weak"][:5]:
        o = feature_overview(data, f)
        assert 1 <= o["n_nonzero"] <= 9
        assert sum(r["count"] for r in o["regions"]) == o["n_nonzero"]
    queued = {
        c.feature_id for c in build_candidates(data, "activation_count", labels={}, excluded=set())
    }
    assert not queued & set(truth[model]["dead"])


def test_tokens_similarity_separates_features(demo) -> None:
    """Weighted by enrichment over the base rate, the token profiles of a super-stimulus are not
    all alike: its neighbours are graded, led by features of its own family."""
    _, truth, ws = demo
    data = ws.data("ultra")
    neighbours = similar_features(data, 9971, "tokens", top_k=10)
    sims = [s for _, s in neighbours]
    assert max(sims) < 0.99 and max(sims) - min(sims) > 0.1, sims
    concepts = {c["feature_id"]: c["value"] for c in truth["ultra"]["concepts"]}
    assert concepts.get(neighbours[0][0]) == "special_charge_up"


@pytest.mark.parametrize("model", MODELS)
def test_planted_output_effects_are_recovered(demo, model: str) -> None:
    _, truth, ws = demo
    data = ws.data(model)
    assert truth[model]["effects"]
    for planted in truth[model]["effects"]:
        f = planted["feature_id"]
        promoted = output_effects(data, f, len(planted["promoted"])).promoted
        suppressed = output_effects(data, f, len(planted["suppressed"])).suppressed
        assert [e.name for e in promoted] == planted["promoted"], f
        assert [e.name for e in suppressed] == planted["suppressed"], f
    overview = feature_overview(data, truth[model]["effects"][0]["feature_id"])
    assert overview["effects"]["promoted"][0]["name"] == truth[model]["effects"][0]["promoted"][0]


def test_9971_promotes_special_charge_and_suppresses_sub_abilities(demo) -> None:
    _, _, ws = demo
    effects = output_effects(ws.data("ultra"), 9971, 4)
    assert all(e.name.startswith("special_charge_up_") for e in effects.promoted)
    assert all(e.name.startswith(("sub_power_up_", "ink_saver_sub_")) for e in effects.suppressed)


@pytest.mark.parametrize("model", MODELS)
def test_a_tail_marker_hypothesis_covers_the_zone_not_the_core(demo, model: str) -> None:
    root, truth, ws = demo
    data = ws.data(model)
    for planted in truth[model]["tail_marker"]:
        f, token = planted["feature_id"], planted["token"]
        result = score_hypothesis(data, f, token)
        assert result.verdict == "tail_marker"
        assert result.coverage["core"] == pytest.approx(
            _core_coverage_by_polars(root, model, f, token)
        )
        assert 8 <= result.coverage["core"] <= 16
        assert result.coverage["flanderization"] > 75
        family = score_hypothesis(data, f, planted["family"])
        assert family.verdict == "headline" and family.score > result.score


def test_13934_read_without_respawn_punisher(demo) -> None:
    _, _, ws = demo
    data = ws.data("ultra")
    result = feature_examples(data, 13934, "core", 20, where="NOT respawn_punisher")
    assert len(result.examples) == 20 and result.matching == round(result.count * 0.88)
    assert not any("respawn_punisher" in e.token_names for e in result.examples)
    assert sum("ink_saver_main" in {g.family for g in e.tokens} for e in result.examples) >= 10


def test_9971_reads_niche_weapons_at_the_top_and_diverse_ones_in_the_core(demo) -> None:
    _, truth, ws = demo
    data = ws.data("ultra")
    niche = {"bloblobber", "glooga_dualies"}
    zone = feature_examples(data, 9971, "flanderization", 20).examples
    assert sum(e.metadata["weapon"] in niche for e in zone) >= 10
    zone = feature_examples(data, 9971, "flanderization", 20, sample=True, seed=1).examples
    assert sum(e.metadata["weapon"] in niche for e in zone) >= 16
    core = feature_examples(data, 9971, "core", 20, sample=True, seed=0).examples
    weapons = [e.metadata["weapon"] for e in core]
    assert len(set(weapons)) >= 10 and sum(w in niche for w in weapons) <= 3
