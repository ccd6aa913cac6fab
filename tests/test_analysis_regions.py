"""Pure computations of the analysis on arrays built here, checked against slow direct loops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labeler_tui.core.analysis import flags as F
from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.coverage import verdict
from labeler_tui.core.analysis.example_sets import ExampleSets, padded_sets
from labeler_tui.core.analysis.importance import importance_percentile, importance_percentiles
from labeler_tui.core.analysis.quadrant import MYSTERIOUS, SKIP, STRONG, WEAK, quadrant


def _region_of(f: float) -> int:
    for i, region in enumerate(R.REGIONS):
        if region.lo < f <= region.hi:
            return i
    raise AssertionError(f)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 200, 1001])
def test_effective_max_equals_numpy_percentile(n: int) -> None:
    values = np.random.default_rng(n).gamma(2.0, 1.5, size=n).astype(np.float32)
    descending = np.sort(values)[::-1]
    expected = np.percentile(values.astype(np.float64), 99.5)
    assert R.effective_max(descending) == pytest.approx(expected, rel=1e-12)


def test_effective_max_of_nothing_is_none() -> None:
    assert R.effective_max(np.zeros(0, dtype=np.float32)) is None


def test_region_bounds_match_a_loop_including_exact_boundaries() -> None:
    rng = np.random.default_rng(1)
    boundaries = np.array([0.01, 0.10, 0.25, 0.75, 0.90, 1.0, 1.3])
    fractions = np.sort(np.concatenate([rng.uniform(0.001, 1.2, 500), boundaries]))[::-1]
    bounds = R.region_bounds(fractions)
    expected = np.zeros(len(R.REGIONS), dtype=int)
    for f in fractions:
        expected[_region_of(float(f))] += 1
    assert (bounds[:, 1] - bounds[:, 0]).tolist() == expected.tolist()
    for i in range(len(R.REGIONS)):  # each slice holds exactly that region's fractions
        start, stop = bounds[i]
        assert all(_region_of(float(f)) == i for f in fractions[start:stop])
    assert _region_of(0.25) == R.REGION_NAMES.index("below_core")  # half-open (lo, hi]
    assert _region_of(0.9) == R.REGION_NAMES.index("high")


def test_histogram_counts_half_open_bins() -> None:
    fractions = np.sort(np.random.default_rng(2).uniform(0.0001, 1.4, 300))[::-1]
    edges, counts = R.histogram(fractions, n_bins=20)
    assert edges[0] == 0.0 and edges[-1] == pytest.approx(fractions[0])
    expected = [
        sum(1 for f in fractions if lo < f <= hi)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    assert counts == expected and sum(counts) == 300
    assert R.histogram(np.zeros(0), 20) == ([], [])


@pytest.mark.parametrize("seed", range(4))
def test_counting_on_activations_equals_counting_fractions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    acts = rng.gamma(2.0, 1.5, size=rng.integers(1, 3000)).astype(np.float32)
    eff = R.effective_max(np.sort(acts)[::-1])
    # activations right at region edges and bin edges, where rounding decides the side
    edges = [r.lo for r in R.REGIONS] + list(np.linspace(0, 1, 41))
    acts = np.concatenate([acts, (np.array(edges) * eff).astype(np.float32), acts[:5]])
    descending = np.sort(acts)[::-1]
    fractions = R.fractions(descending, eff)
    count = R.above_counter(descending, eff)
    assert R.bounds_from(count).tolist() == R.region_bounds(fractions).tolist()
    top = float(descending[0]) / eff
    assert R.histogram_from(top, count) == R.histogram(fractions)
    for t in edges:
        assert count(t) == int(np.sum(fractions > t))


def _table(token_rows: list[list[int]], family_of: list[int]) -> ExampleSets:
    """An ExampleSets built the way the workspace table is, from plain lists."""
    n_tokens, n_families = len(family_of), max(family_of) + 1
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in token_rows])]).astype(np.int64)
    values = np.array([v for r in token_rows for v in r], dtype=np.int64)
    tokens = padded_sets(offsets, values, n_tokens, np.int16)
    families = padded_sets(
        offsets, np.array(family_of)[values] + n_tokens + 1, n_tokens + 1 + n_families, np.int16
    )
    return ExampleSets(np.hstack([tokens, families]), n_tokens, n_families)


def test_example_sets_gather_distinct_tokens_and_families_per_example() -> None:
    rng = np.random.default_rng(3)
    family_of = [0, 0, 0, 1, 1, 2, 3, 3, 4]  # 9 tokens in 5 families
    rows = [rng.integers(0, 9, size=rng.integers(0, 8)).tolist() for _ in range(50)]
    table = _table(rows, family_of)
    picked = np.array([7, 0, 7, 49, 3])
    gathered = table.gather(picked)
    for j, i in enumerate(picked):  # each gathered row holds exactly the example's sets
        held = set(gathered[j].tolist())
        assert {v for v in held if v < 9} == set(rows[i])
        assert {v - 10 for v in held if 10 <= v < 15} == {family_of[v] for v in rows[i]}


def test_importance_percentile_single_matches_array_and_definition() -> None:
    norms = np.array([3.0, 1.0, 2.0, 2.0, 0.5], dtype=np.float32)
    expected = [100.0 * sum(other < mine for other in norms) / len(norms) for mine in norms]
    assert importance_percentiles(norms).tolist() == expected
    assert [importance_percentile(norms, f) for f in range(5)] == expected
    assert importance_percentile(None, 0) is None


def test_verdict_boundaries() -> None:
    assert verdict(50.0001) == "headline"
    assert verdict(50.0) == "mention"
    assert verdict(30.0) == "mention"
    assert verdict(29.999) == "tail_marker"
    assert verdict(None) is None


def test_quadrant_corners_and_middle() -> None:
    assert quadrant(95.0, 0.9) == STRONG
    assert quadrant(95.0, 0.3) == MYSTERIOUS
    assert quadrant(9.3, 0.85) == WEAK
    assert quadrant(5.0, 0.1) == SKIP
    assert quadrant(50.0, 0.9) == "in between"
    assert quadrant(80.0, 0.9) == "in between"  # the docs say > 80
    assert quadrant(None, 0.9) is None and quadrant(90.0, None) is None


def _region_counts(**counts: int) -> np.ndarray:
    return np.array([counts.get(name, 0) for name in R.REGION_NAMES], dtype=np.int64)


def test_tail_marker_rule() -> None:
    # token 0: 40% of the zone, rare overall, 10% of core -> tail marker
    # token 1: 40% of the zone but 40% of core -> not; token 2: 1 zone example -> below floor
    region_counts = _region_counts(core=100, below_core=100, flanderization=10)
    counts = np.zeros((len(R.REGIONS), 3), dtype=np.int64)
    counts[R.FLANDERIZATION] = [4, 4, 1]
    counts[R.CORE] = [10, 40, 0]
    flags = F.tail_markers(counts, region_counts, ["a", "b", "c"])
    assert [flag["subject"] for flag in flags] == ["a"]
    n = region_counts.sum()
    assert flags[0]["enrichment"] == pytest.approx(0.4 / (14 / n))
    assert flags[0]["core_coverage"] == pytest.approx(10.0)


def test_super_stimulus_flanderized_and_general_rules() -> None:
    region_counts = _region_counts(low=50, below_core=50, core=100, high=20, flanderization=20)
    values = ["hydra", "bloblobber", None]
    counts = np.zeros((len(R.REGIONS), 3), dtype=np.int64)
    counts[:, 0] = [0, 20, 20, 40, 8, 2]  # hydra everywhere (floor is empty)
    counts[:, 1] = [0, 0, 1, 5, 2, 16]  # bloblobber concentrated at 90%+
    counts[:, 2] = [0, 1, 1, 1, 1, 2]
    supers = F.super_stimuli("weapon", values, counts, region_counts)
    assert [s["subject"] for s in supers] == ["weapon=bloblobber"]
    assert supers[0]["zone_share"] == pytest.approx(0.8)
    top_codes = np.array([1] * 60 + [0] * 40, dtype=np.int32)
    fl = F.flanderized("weapon", values, top_codes, counts, region_counts)
    assert [(f["subject"], f["top_share"]) for f in fl] == [("weapon=bloblobber", 0.6)]
    general = F.general_values(
        "metadata", ["weapon=hydra", "weapon=bloblobber", "x"], counts[:, :2], region_counts
    )
    assert [g["subject"] for g in general] == ["weapon=hydra"]
    assert general[0]["core_coverage"] == pytest.approx(40.0)
    assert math.isclose(F.TAIL_MIN_ENRICHMENT, 5.0)
