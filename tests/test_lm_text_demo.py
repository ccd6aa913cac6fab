"""The demo's text sequence model: the analysis recovers the truths it plants (truth.json)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tomli_w

from labeler_tui.core.analysis.overview import feature_overview
from labeler_tui.core.analysis.similarity import similar_features
from labeler_tui.core.evidence.contexts import feature_contexts
from labeler_tui.core.evidence.hypothesis import score_hypothesis
from labeler_tui.core.workspace import Workspace
from labeler_tui.demo.text_model import config_table, write_text_model


@pytest.fixture(scope="module")
def text(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    root = tmp_path_factory.mktemp("textdemo")
    truth = write_text_model(
        root / "data" / "text", np.random.default_rng(np.random.SeedSequence([0, 2])), 0.25
    )
    config = {"labeler": {"default_model": "text"}, "models": {"text": config_table("data/text")}}
    (root / "labeler.toml").write_text(tomli_w.dumps(config))
    return Workspace.open(root).data("text"), truth


def _flags(data: Any, feature_id: int) -> dict[str, dict[str, Any]]:
    return {
        f["kind"] + ":" + str(f.get("subject")): f
        for f in feature_overview(data, feature_id)["flags"]
    }


def test_headlines_are_recovered(text) -> None:
    data, truth = text
    features = truth["features"]
    for name in ("copyright", "bracket", "legal"):
        planted = features[name]
        result = score_hypothesis(data, planted["feature_id"], planted["headline"])
        assert result.verdict == "headline", (name, result.coverage)
    bracket = features["bracket"]
    assert score_hypothesis(data, bracket["feature_id"], bracket["hypothesis"]).score > 0.9
    # the token alone is not the bracket feature: ")" in prose does not fire it
    assert score_hypothesis(data, bracket["feature_id"], "token:) AND source=prose").verdict == (
        "tail_marker"
    )


def test_the_legal_features_top_zone_is_a_tail_marker_not_its_core(text) -> None:
    data, truth = text
    legal = truth["features"]["legal"]
    flags = _flags(data, legal["feature_id"])
    assert f"tail_marker:{legal['tail_marker']}" in flags
    assert flags[f"tail_marker:{legal['tail_marker']}"]["core_coverage"] < 20
    assert f"tail_marker:{legal['top_zone']}" in flags
    # read in context, the core is the disclaimer
    core = feature_contexts(data, legal["feature_id"], "core", 20)
    assert core.sample and len(core.contexts) == 20
    assert all("WARRANTY" in c.tokens or "SOFTWARE" in c.tokens for c in core.contexts)


def test_sequence_flags_are_raised_on_their_planted_features(text) -> None:
    data, truth = text
    features = truth["features"]
    assert any(
        k.startswith("first_token") for k in _flags(data, features["first_token"]["feature_id"])
    )
    single = features["single_token"]
    assert f"single_token:{single['subject']}" in _flags(data, single["feature_id"])
    assert any(k.startswith("dense") for k in _flags(data, features["dense"]["feature_id"]))
    doc = features["single_document"]
    (flag,) = [f for k, f in _flags(data, doc["feature_id"]).items() if k.startswith("single_doc")]
    assert sorted(flag["sequences"]) == sorted(doc["sequences"])
    # and none of them on the copyright feature (no false alarm)
    kinds = {k.split(":")[0] for k in _flags(data, features["copyright"]["feature_id"])}
    assert not kinds & {"first_token", "single_token", "dense", "single_document"}


def test_overviews_of_the_planted_features_match_the_published_schema(text) -> None:
    import jsonschema

    from labeler_tui.cli.schemas import command_schema

    data, truth = text
    schema = command_schema("overview")
    kinds = set()
    for planted in truth["features"].values():
        overview = feature_overview(data, planted["feature_id"])
        jsonschema.validate(overview, schema, cls=jsonschema.Draft202012Validator)
        kinds |= {f["kind"] for f in overview["flags"]}
    assert kinds >= {"tail_marker", "first_token", "single_token", "dense", "single_document"}


def test_twin_effects_and_flat_norms(text) -> None:
    data, truth = text
    copyright_ = truth["features"]["copyright"]
    f, twin = copyright_["feature_id"], copyright_["twin"]
    assert similar_features(data, f, "decoder", top_k=1)[0][0] == twin
    assert similar_features(data, f, "tokens", top_k=1)[0][0] == twin
    overview = feature_overview(data, f)
    promoted = [e["name"] for e in overview["effects"]["promoted"][:5]]
    assert set(promoted) <= set(copyright_["promotes"])
    assert truth["flat_decoder_norms"]
    assert overview["importance_percentile"] is None
    assert "flat" in overview["importance_note"]


def test_contexts_are_cut_at_the_sequence_start_and_a_whole_sequence_reads_back(text) -> None:
    from labeler_tui.core.evidence.contexts import sequence_activations

    data, truth = text
    first = truth["features"]["first_token"]["feature_id"]
    top = feature_contexts(data, first, "top", 5, window=(24, 4))
    assert top.separator == " " and len(top.contexts) == 5
    for c in top.contexts:
        assert (c.pos, c.center, len(c.tokens)) == (0, 0, 5)  # nothing before position 0
        whole = sequence_activations(data, first, c.seq)
        assert whole.tokens[:5] == c.tokens and whole.activations[:5] == c.activations
        assert len(whole.tokens) == truth["ctx_len"]


def test_stability_halves_split_by_sequence(text) -> None:
    from labeler_tui.core.analysis.stability import first_half_rows

    data, truth = text
    sides = first_half_rows(data).reshape(-1, truth["ctx_len"])  # one row per sequence
    assert (sides == sides[:, :1]).all()  # every position on its sequence's side
    assert 0.3 < sides[:, 0].mean() < 0.7
