"""Queue builders: priorities, reasons, exclusions, checked against the definitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from labeler_tui.core.analysis.queue_builders import Candidate, build_candidates
from labeler_tui.core.analysis.similarity import similar_features
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.registry import QUEUE_METHODS
from labeler_tui.core.workspace import Workspace


def rec(feature_id: int, fields: dict) -> LabelRecord:
    return LabelRecord.from_json(fields, feature_id)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import write_tiny_workspace

    root = tmp_path_factory.mktemp("queue") / "ws"
    write_tiny_workspace(root, n_features=20, n_examples=300, seed=3)
    return root


@pytest.fixture(scope="module")
def data(workspace: Path):
    return Workspace.open(workspace).data()


@pytest.fixture(scope="module")
def counts(workspace: Path) -> np.ndarray:
    acts = pl.read_parquet(workspace / "data" / "activations" / "*.parquet")
    per = acts.filter(pl.col("activation") > 0).group_by("feature_id").len()
    out = np.zeros(20, dtype=int)
    for f, n in per.iter_rows():
        out[f] = n
    return out


@pytest.fixture(scope="module")
def percentiles(workspace: Path) -> np.ndarray:
    norms = np.linalg.norm(np.load(workspace / "data" / "decoder.npy").astype(np.float64), axis=1)
    return np.array([100.0 * np.sum(norms < n) / len(norms) for n in norms])


def test_activation_count_priorities_and_exclusions(data, counts: np.ndarray) -> None:
    labels = {2: rec(2, {"dashboard_name": "x"})}
    result = build_candidates(data, "activation_count", labels=labels, excluded={0, 5})
    expected = sorted(
        (f for f in range(20) if f not in {0, 2, 5} and counts[f] > 0),
        key=lambda f: (-counts[f], f),
    )
    assert [c.feature_id for c in result] == expected
    for c in result:
        assert c.priority == pytest.approx(counts[c.feature_id] / counts.max())
        assert str(counts[c.feature_id]) in c.reason
    assert 19 not in {c.feature_id for c in result}  # dead
    top = build_candidates(data, "activation_count", labels={}, excluded=set(), top_k=3)
    assert [c.feature_id for c in top] == sorted(range(20), key=lambda f: (-counts[f], f))[:3]


def test_importance_is_percentile_over_100(data, percentiles: np.ndarray) -> None:
    result = build_candidates(data, "importance", labels={}, excluded={1})
    assert {c.feature_id for c in result} == set(range(19)) - {1}
    for c in result:
        assert c.priority == pytest.approx(percentiles[c.feature_id] / 100)
    priorities = [c.priority for c in result]
    assert priorities == sorted(priorities, reverse=True)


def test_cluster_ranks_by_decoder_similarity_to_the_seed(data) -> None:
    with pytest.raises(ValidationError, match="--seed is required"):
        build_candidates(data, "cluster", labels={}, excluded=set())
    result = build_candidates(data, "cluster", labels={}, excluded={4}, seed=3, top_k=5)
    neighbours = [
        (g, s) for g, s in similar_features(data, 3, "decoder", top_k=19) if s > 0 and g != 4
    ]
    neighbours = [(g, s) for g, s in neighbours if g != 19][:5]  # 19 is dead
    assert [(c.feature_id, c.priority) for c in result] == [
        (g, pytest.approx(s)) for g, s in neighbours
    ]
    assert all(0 < c.priority <= 1 and "to 3" in c.reason for c in result)


def test_mysterious_selects_important_labeled_low_confidence(data, percentiles) -> None:
    order = np.argsort(percentiles)
    high, low = int(order[-1]), int(order[0])  # percentile >= 80 and < 80
    second = int(order[-2])
    labels = {
        high: rec(high, {"interpretability_confidence": 0.3}),
        second: rec(second, {"interpretability_confidence": 0.7}),  # understood enough
        low: rec(low, {"interpretability_confidence": 0.1}),  # not important
        int(order[-3]): rec(int(order[-3]), {"dashboard_name": "no confidence recorded"}),
    }
    result = build_candidates(data, "mysterious", labels=labels, excluded={high})
    assert result == [Candidate(high, pytest.approx(percentiles[high] / 100), result[0].reason)]
    assert "interpretability 0.30" in result[0].reason


def test_priorities_are_within_unit_interval_for_every_method(data) -> None:
    labels = {f: rec(f, {"interpretability_confidence": 0.2}) for f in range(20)}
    for method in QUEUE_METHODS.names():
        if method == "weak_suggestions":  # needs imported suggestions: tests/test_suggestions.py
            continue
        result = build_candidates(
            data, method, labels=labels if method == "mysterious" else {}, excluded=set(), seed=0
        )
        assert result and all(0.0 <= c.priority <= 1.0 for c in result)


def test_bad_method_and_missing_decoder(make_tiny_workspace) -> None:
    data = Workspace.open(make_tiny_workspace("nodec", with_decoder=False)).data()
    with pytest.raises(ValidationError, match="unknown queue method"):
        build_candidates(data, "random", labels={}, excluded=set())
    with pytest.raises(ValidationError, match="no decoder"):
        build_candidates(data, "importance", labels={}, excluded=set())
    # cluster falls back to token profiles without a decoder
    result = build_candidates(data, "cluster", labels={}, excluded=set(), seed=0, top_k=3)
    assert len(result) == 3 and all("tokens similarity" in c.reason for c in result)
    # mysterious falls back to the importance stored in the label
    labels = {4: rec(4, {"importance_percentile": 91.0, "interpretability_confidence": 0.2})}
    assert [
        c.feature_id for c in build_candidates(data, "mysterious", labels=labels, excluded=set())
    ] == [4]
