"""Overview, core coverage, flags and stability on a hand-made workspace, checked against the
The definitions of docs/analysis.md computed here independently from the parquet files (polars + Python sets).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from conftest import write_tiny_workspace

from labeler_tui.core.analysis.coverage import core_coverage
from labeler_tui.core.analysis.overview import feature_overview
from labeler_tui.core.analysis.quadrant import quadrant
from labeler_tui.core.analysis.stability import in_first_half, stability_score
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.workspace import Workspace

NAMES = ["floor", "low", "below_core", "core", "high", "flanderization"]
BOUNDS = [(0.0, 0.01), (0.01, 0.10), (0.10, 0.25), (0.25, 0.75), (0.75, 0.90), (0.90, np.inf)]
FAMILY_RE = re.compile(r"^(.*?)_\d+$")


def _region(f: float) -> str:
    return next(name for name, (lo, hi) in zip(NAMES, BOUNDS, strict=True) if lo < f <= hi)


def _family(token: str) -> str:
    match = FAMILY_RE.match(token)
    return match.group(1) if match else token


class Reference:
    """Straightforward per-example computation of the definitions from the input files."""

    def __init__(self, root: Path) -> None:
        self.vocab: list[str] = json.loads((root / "data" / "vocab.json").read_text())
        examples = pl.read_parquet(root / "data" / "examples.parquet")
        self.tokens = {
            e: {self.vocab[t] for t in toks}
            for e, toks in zip(examples["example_id"], examples["tokens"], strict=True)
        }
        self.weapon = dict(zip(examples["example_id"], examples["weapon"], strict=True))
        acts = pl.read_parquet(root / "data" / "activations" / "*.parquet").filter(
            pl.col("activation") > 0
        )
        self.acts = acts.sort(["activation", "example_id"], descending=[True, False])
        self.decoder = np.load(root / "data" / "decoder.npy")

    def feature(self, f: int) -> dict[str, Any]:
        df = self.acts.filter(pl.col("feature_id") == f)
        acts = df["activation"].to_numpy().astype(np.float64)
        ids = df["example_id"].to_list()
        out: dict[str, Any] = {"n": len(acts), "ids": ids, "acts": acts}
        if not len(acts):
            return out
        eff = float(np.percentile(acts, 99.5))
        out["effective_max"] = eff
        out["region"] = {name: [] for name in NAMES}
        for e, a in zip(ids, acts, strict=True):
            out["region"][_region(a / eff)].append(e)
        return out

    def subjects(self, e: int) -> dict[str, set[str]]:
        toks = self.tokens[e]
        return {
            "token": toks,
            "family": {_family(t) for t in toks},
            "value": {self.weapon[e]},
        }

    def share(self, examples: list[int], kind: str, subject: str) -> float:
        return sum(subject in self.subjects(e)[kind] for e in examples) / len(examples)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("analysis") / "ws"
    write_tiny_workspace(root, n_features=12, n_examples=600, seed=5)
    # repeat a token in every third example: shares must count examples, not occurrences
    path = root / "data" / "examples.parquet"
    frame = pl.read_parquet(path)
    tokens = [t + [t[0]] if i % 3 == 0 else t for i, t in enumerate(frame["tokens"].to_list())]
    frame.with_columns(pl.Series("tokens", tokens, dtype=pl.List(pl.Int32))).write_parquet(path)
    return root


@pytest.fixture(scope="module")
def data(workspace: Path):
    return Workspace.open(workspace).data()


@pytest.fixture(scope="module")
def ref(workspace: Path) -> Reference:
    return Reference(workspace)


LIVE = list(range(11))  # feature 11 is dead


@pytest.mark.parametrize("f", LIVE)
def test_overview_matches_definitions(data, ref: Reference, f: int) -> None:
    o = feature_overview(data, f)
    r = ref.feature(f)
    assert o["feature_id"] == f and o["model"] == "tiny" and o["n_nonzero"] == r["n"]
    assert o["effective_max"] == pytest.approx(r["effective_max"], rel=1e-9)
    assert o["max"] == pytest.approx(r["acts"][0], rel=1e-6)
    assert o["mean"] == pytest.approx(r["acts"].mean(), rel=1e-6)
    assert [region["name"] for region in o["regions"]] == NAMES
    assert sum(o["histogram"]["counts"]) == r["n"]
    n = r["n"]
    for region in o["regions"]:
        members = r["region"][region["name"]]
        assert region["count"] == len(members)
        assert region["share"] == pytest.approx(len(members) / n)
        for key, items in (
            ("token", region["top_tokens"]),
            ("family", region["top_families"]),
            ("value", region["metadata"]["weapon"]),
        ):
            _check_top(ref, r, members, key, items)


def _check_top(
    ref: Reference, r: dict[str, Any], members: list[int], key: str, items: list
) -> None:
    counts: dict[str, int] = {}
    for e in members:
        for s in ref.subjects(e)[key]:
            counts[s] = counts.get(s, 0) + 1
    assert len(items) == min(10, len(counts))
    listed = {item[key] for item in items}
    for item in items:
        share = counts[item[key]] / len(members)
        assert item["share"] == pytest.approx(share)
        assert item["enrichment"] == pytest.approx(share / ref.share(r["ids"], key, item[key]))
    shares = [item["share"] for item in items]
    assert shares == sorted(shares, reverse=True)
    unlisted = [c for s, c in counts.items() if s not in listed]
    if unlisted:
        assert min(counts[s] for s in listed) >= max(unlisted)


@pytest.mark.parametrize("f", [0, 3, 6, 9])
def test_core_coverage_of_tokens_families_and_values(data, ref: Reference, f: int) -> None:
    core = ref.feature(f)["region"]["core"]
    for subject, kind in (
        ("swim_speed_up_12", "token"),
        ("comeback", "token"),
        ("ink_saver_main", "family"),
        ("quick_respawn", "family"),
        ("weapon=hydra", "value"),
    ):
        result = core_coverage(data, f, subject)
        plain = subject.split("=")[-1]
        with_subject = sum(plain in ref.subjects(e)[kind] for e in core)
        percent = 100.0 * with_subject / len(core)
        verdict = "headline" if percent > 50 else "mention" if percent >= 30 else "tail_marker"
        assert result == {
            "feature_id": f,
            "subject": subject,
            "core_count": len(core),
            "core_with": with_subject,
            "core_coverage": pytest.approx(percent),
            "verdict": verdict,
        }


def test_coverage_rejects_unknown_subjects_and_features(data) -> None:
    with pytest.raises(ValidationError, match="not a token, a token family"):
        core_coverage(data, 0, "no_such_token")
    with pytest.raises(ValidationError, match="unknown metadata column 'mode'"):
        core_coverage(data, 0, "mode=turf")
    with pytest.raises(ValidationError, match="weapon = 'trident'"):
        core_coverage(data, 0, "weapon=trident")
    with pytest.raises(ValidationError, match="out of range"):
        core_coverage(data, 12, "comeback")
    with pytest.raises(ValidationError, match="out of range"):
        feature_overview(data, -1)


def test_dead_feature_gives_a_valid_empty_overview(data) -> None:
    o = feature_overview(data, 11)
    assert o["n_nonzero"] == 0 and o["regions"] == [] and o["flags"] == []
    assert o["histogram"] == {"edges": [], "counts": []}
    assert o["effective_max"] is None and o["stability_score"] is None
    assert o["importance_percentile"] is not None
    assert json.loads(json.dumps(o)) == o
    assert core_coverage(data, 11, "comeback")["verdict"] is None


@pytest.mark.parametrize("f", LIVE)
def test_flags_follow_the_definitions(data, ref: Reference, f: int) -> None:
    o = feature_overview(data, f)
    r = ref.feature(f)
    core, zone = r["region"]["core"], r["region"]["flanderization"]
    top100 = r["ids"][:100]
    expected = set()
    for token in ref.vocab:
        in_zone = sum(token in ref.subjects(e)["token"] for e in zone)
        if not zone or in_zone < 2:
            continue
        enrichment = (in_zone / len(zone)) / ref.share(r["ids"], "token", token)
        core_pct = 100 * ref.share(core, "token", token) if core else 0.0
        if enrichment >= 5 and core_pct < 20 and in_zone / len(zone) >= 0.05:
            expected.add(("tail_marker", token))
    zone_weapons = sorted(
        (sum(ref.weapon[e] == w for e in zone), w) for w in set(ref.weapon.values())
    )
    concentrated = zone and sum(c for c, _ in zone_weapons[-4:]) >= 0.9 * len(zone)
    for weapon in set(ref.weapon.values()):
        core_share = ref.share(core, "value", weapon) if core else 0.0
        in_top = sum(ref.weapon[e] == weapon for e in top100)
        if 100 * in_top / len(top100) > 40 and 100 * core_share < 15 and in_top >= 2:
            expected.add(("flanderized", f"weapon={weapon}"))
        in_zone = sum(ref.weapon[e] == weapon for e in zone)
        if concentrated and in_zone >= 2 and (in_zone, weapon) in zone_weapons[-4:]:
            zone_share = in_zone / len(zone)
            if zone_share > 0.1 and 100 * core_share < 15 and zone_share >= 2 * core_share:
                expected.add(("super_stimulus", f"weapon={weapon}"))
    assert {(flag["kind"], flag["subject"]) for flag in o["flags"]} == expected

    nonempty = [members for members in r["region"].values() if members]
    general = {(g["kind"], g["subject"]) for g in o["general"]}
    for weapon in set(ref.weapon.values()):
        everywhere = all(any(ref.weapon[e] == weapon for e in m) for m in nonempty)
        is_super = ("super_stimulus", f"weapon={weapon}") in expected
        assert (("metadata", f"weapon={weapon}") in general) == (
            everywhere and len(nonempty) >= 2 and not is_super
        )


def test_some_features_of_the_fixture_are_flagged(data) -> None:
    kinds = {flag["kind"] for f in LIVE for flag in feature_overview(data, f)["flags"]}
    assert kinds  # so the rule checks above compare non-empty sets somewhere


def _in_first_half(example_id: int, seed: int) -> bool:
    """The documented split, in plain Python: splitmix64's finalizer of id + (seed+1)*golden."""
    mask = (1 << 64) - 1
    z = (example_id + (seed + 1) * 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return (z ^ (z >> 31)) < 1 << 63


def test_stability_is_seeded_split_half_cosine(data, ref: Reference) -> None:
    for f, seed in ((2, 7), (2, 0), (5, 3)):
        core = ref.feature(f)["region"]["core"]
        halves = [[e for e in core if _in_first_half(e, seed) == side] for side in (True, False)]
        assert all(halves)  # both halves hold examples, so the score is defined
        profiles = [np.array([ref.share(half, "token", t) for t in ref.vocab]) for half in halves]
        norms = np.linalg.norm(profiles[0]) * np.linalg.norm(profiles[1])
        expected = profiles[0] @ profiles[1] / norms
        assert stability_score(data, f, seed=seed) == pytest.approx(expected)
        if seed == 0:
            assert feature_overview(data, f)["stability_score"] == pytest.approx(expected)
    assert stability_score(data, 2, seed=7) != stability_score(data, 2, seed=0)
    assert 0.0 <= stability_score(data, 2) <= 1.0
    assert stability_score(data, 11) is None


def test_split_puts_each_example_on_one_side_for_every_feature() -> None:
    ids = np.array([-5, 0, 1, 2, 17, 10**12, 2**62], dtype=np.int64)
    for seed in (0, 1, 99):
        expected = [_in_first_half(int(e), seed) for e in ids]
        assert in_first_half(ids, seed).tolist() == expected
    halves = in_first_half(np.arange(100_000), 0)
    assert 0.49 < halves.mean() < 0.51  # halves of about equal size


def test_importance_and_quadrant_come_from_decoder_and_label(data, ref: Reference) -> None:
    norms = np.linalg.norm(ref.decoder.astype(np.float64), axis=1)
    for f in (0, 5, 10):
        label = LabelRecord(f, dashboard_name="x", interpretability_confidence=0.9)
        o = feature_overview(data, f, label)
        expected = 100.0 * np.sum(norms < norms[f]) / len(norms)
        assert o["importance_percentile"] == pytest.approx(expected)
        assert o["quadrant"] == quadrant(expected, 0.9)
        assert o["label"] == label.to_json() and o["label"]["dashboard_name"] == "x"
    assert feature_overview(data, 0)["quadrant"] is None


def test_workspace_without_metadata_or_decoder(make_tiny_workspace) -> None:
    root = make_tiny_workspace("bare", with_decoder=False)
    path = root / "data" / "examples.parquet"
    pl.read_parquet(path).drop("weapon").write_parquet(path)
    data = Workspace.open(root).data()
    o = feature_overview(data, 2, LabelRecord(2, interpretability_confidence=0.9))
    assert o["importance_percentile"] is None and o["quadrant"] is None
    assert o["n_nonzero"] > 0 and all(region["metadata"] == {} for region in o["regions"])
    assert all(flag["kind"] == "tail_marker" for flag in o["flags"])
    assert json.loads(json.dumps(o)) == o
    with pytest.raises(ValidationError, match=r"columns: none"):
        core_coverage(data, 2, "weapon=hydra")
