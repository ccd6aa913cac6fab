"""`feature_examples` against the input parquet files: top-k of each region, seeded samples,
--where filters, tokens grouped by family, metadata and region-enriched tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import write_tiny_workspace
from direct import REGIONS, family, level, read_workspace

from labeler_tui.core.errors import ValidationError
from labeler_tui.core.evidence.examples import REGION_CHOICES, feature_examples
from labeler_tui.core.evidence.syntax import ExpressionError
from labeler_tui.core.workspace import Workspace

N_FEATURES = 10
MASK64 = (1 << 64) - 1


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("examples") / "ws"
    write_tiny_workspace(path, n_features=N_FEATURES, n_examples=500, seed=21)
    return path


@pytest.fixture(scope="module")
def data(root: Path):
    return Workspace.open(root).data()


@pytest.fixture(scope="module")
def direct(root: Path):
    return read_workspace(root)


def _region_ids(direct, feature: int, region: str) -> list[int]:
    if region == "top":
        return [e for e, _ in direct.ranked(feature)]
    return direct.regions(feature)[region]


def splitmix(example_id: int, seed: int) -> int:
    """docs/analysis.md's sample key, in plain Python integers."""
    z = (example_id + (seed + 1) * 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


@pytest.mark.parametrize("region", REGION_CHOICES)
@pytest.mark.parametrize("feature", [1, 4])
def test_top_k_of_each_region(data, direct, feature: int, region: str) -> None:
    ids = _region_ids(direct, feature, region)
    result = feature_examples(data, feature, region, 5)
    assert [e.example_id for e in result.examples] == ids[:5]
    assert result.count == len(ids) and result.matching is None
    eff = direct.effective_max(feature)
    acts = direct.acts[feature]
    for example in result.examples:
        assert example.activation == pytest.approx(acts[example.example_id])
        assert example.fraction == pytest.approx(acts[example.example_id] / eff)
        assert example.example_id in direct.regions(feature)[example.region]


@pytest.mark.parametrize("feature", [0, 5])
def test_each_example_carries_tokens_by_family_metadata_and_enrichment(
    data, direct, feature: int
) -> None:
    regions = direct.regions(feature)
    nonzero = list(direct.acts[feature])
    family_ids = {}
    for name in direct.vocab:
        family_ids.setdefault(family(name), len(family_ids))
    for region in ("core", "below_core"):
        for example in feature_examples(data, feature, region, 20).examples:
            tokens = direct.tokens[example.example_id]
            groups: dict[str, list[str]] = {}
            for t in tokens:
                groups.setdefault(family(t), []).append(t)
            expected = sorted(
                groups.items(),
                key=lambda g: (
                    -len(g[1]),
                    -max(level(t) if level(t) is not None else -1 for t in g[1]),
                    family_ids[g[0]],
                ),
            )
            assert [(g.family, set(g.tokens)) for g in example.tokens] == [
                (fam, set(ts)) for fam, ts in expected
            ]
            assert example.metadata == {"weapon": direct.metadata["weapon"][example.example_id]}
            members = regions[region]

            def share(t: str, ids: list[int]) -> float:
                return sum(t in direct.tokens[e] for e in ids) / len(ids)

            enriched = {t for t in tokens if share(t, members) >= 2 * share(t, nonzero)}
            assert set(example.enriched) == enriched
            assert example.to_json()["tokens"] == [g.to_json() for g in example.tokens]


def test_a_sample_is_seeded_and_follows_the_documented_rule(data, direct) -> None:
    feature = 3
    ids = direct.regions(feature)["core"]
    assert len(ids) > 8
    first = feature_examples(data, feature, "core", 6, sample=True, seed=7)
    again = feature_examples(data, feature, "core", 6, sample=True, seed=7)
    other = feature_examples(data, feature, "core", 6, sample=True, seed=8)
    assert first == again and first.seed == 7 and first.sample
    chosen = sorted(ids, key=lambda e: splitmix(e, 7))[:6]
    rank = {e: i for i, e in enumerate(ids)}  # highest activation first
    assert [e.example_id for e in first.examples] == sorted(chosen, key=rank.__getitem__)
    assert {e.example_id for e in other.examples} != set(chosen)
    everything = feature_examples(data, feature, "core", len(ids) + 5, sample=True)
    assert [e.example_id for e in everything.examples] == ids


def test_where_keeps_the_matching_examples_or_the_others(data, direct) -> None:
    feature = 6
    ids = direct.regions(feature)["core"]
    has = [e for e in ids if "swim_speed_up" in direct.families_of(e)]
    lacks = [e for e in ids if e not in has]
    result = feature_examples(data, feature, "core", 4, where="swim_speed_up")
    assert [e.example_id for e in result.examples] == has[:4] and result.matching == len(has)
    result = feature_examples(data, feature, "core", 4, where="NOT swim_speed_up")
    assert [e.example_id for e in result.examples] == lacks[:4]
    assert result.matching == len(lacks) and result.where == "NOT swim_speed_up"
    toggled = feature_examples(data, feature, "core", 4, where="swim_speed_up", match=False)
    assert toggled.examples == result.examples
    sampled = feature_examples(data, feature, "core", 3, sample=True, seed=2, where="swim_speed_up")
    assert {e.example_id for e in sampled.examples} <= set(has)
    aliased = feature_examples(
        data, feature, "core", 4, where="SSU", aliases={"SSU": "swim_speed_up"}
    )
    assert [e.example_id for e in aliased.examples] == has[:4]


def test_bad_requests_are_validation_errors(data) -> None:
    with pytest.raises(
        ValidationError, match=r"region: unknown region 'middle' \(choose from top, floor"
    ):
        feature_examples(data, 1, "middle")
    with pytest.raises(ValidationError, match="k: must be an integer >= 1, got 0"):
        feature_examples(data, 1, "core", 0)
    with pytest.raises(ValidationError, match="seed: must be an integer >= 0"):
        feature_examples(data, 1, "core", sample=True, seed=-1)
    with pytest.raises(ValidationError, match="feature 10 is out of range"):
        feature_examples(data, N_FEATURES, "core")
    with pytest.raises(ExpressionError, match="unknown name"):
        feature_examples(data, 1, "core", where="nope")


def test_a_dead_feature_has_no_examples(data) -> None:
    result = feature_examples(data, N_FEATURES - 1, "top", 5)
    assert result.examples == () and result.count == 0 and result.effective_max is None
    doc = result.to_json()
    assert doc["examples"] == [] and doc["feature_id"] == N_FEATURES - 1


def test_json_shape(data) -> None:
    doc = feature_examples(data, 2, "core", 2).to_json()
    assert {"feature_id", "region", "effective_max", "count", "examples"} <= set(doc)
    for example in doc["examples"]:
        assert set(example) >= {
            "example_id",
            "activation",
            "fraction",
            "tokens",
            "metadata",
            "enriched",
        }
        assert isinstance(example["example_id"], int)
    assert np.isfinite(doc["effective_max"])
    assert set(REGION_CHOICES) == {"top", *REGIONS}
