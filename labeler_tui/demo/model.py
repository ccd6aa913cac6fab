"""One demo model: which feature plays which planted role, its activation rows and truth.

The feature ids quoted in the original tool's docs keep their roles in ``ultra``: 9971 is a
super-stimulus (special_charge_up core, bloblobber/glooga_dualies at 90%+), 13934 a tail marker
(respawn_punisher at ~12% of an ink_saver_main core), 18712/18890/19042 a special-charge cluster
and 10938 a general swim_speed_up feature at the 9th importance percentile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labeler_tui.demo import roles
from labeler_tui.demo.builds import WEAPON_NAMES, Builds
from labeler_tui.demo.catalog import FAMILIES, MAIN_ONLY, MODES
from labeler_tui.demo.regions import PlantedRows


@dataclass(frozen=True)
class ModelSpec:
    """What to plant in one model; ``None`` ids are drawn at random (seeded)."""

    name: str
    n_features: int
    d_model: int
    activation_files: int
    general: list[tuple[int | None, str]]
    super_stimulus: list[tuple[int | None, str, list[str]]]
    tail_marker: list[tuple[int | None, str, str]]
    clusters: list[tuple[list[int] | None, tuple[str, str]]]
    n_dead: int
    n_weak: int
    n_concepts: int
    background_median: float
    """Median nonzero count of an unplanted feature (before ``scale``)."""
    norm_quantiles: dict[int, float] = field(default_factory=dict)
    output_rows_are_d: bool = True
    """Store the output matrix as [d, n_out] (else [n_out, d])."""


ULTRA = ModelSpec(
    name="ultra",
    n_features=24_576,
    d_model=128,
    activation_files=3,
    general=[
        (10938, "swim_speed_up"),
        (None, "ink_saver_main"),
        (None, "run_speed_up"),
        (None, "quick_respawn"),
        (None, "ink_recovery_up"),
        (None, "intensify_action"),
    ],
    super_stimulus=[
        (9971, "special_charge_up", ["bloblobber", "glooga_dualies"]),
        (None, "run_speed_up", ["heavy_splatling", "ballpoint_splatling"]),
        (None, "ink_recovery_up", ["e_liter_4k", "splat_charger"]),
        (None, "sub_power_up", ["tri_stringer", "squeezer", "explosher"]),
    ],
    tail_marker=[
        (13934, "respawn_punisher", "ink_saver_main"),
        (None, "stealth_jump", "quick_super_jump"),
        (None, "ninja_squid", "swim_speed_up"),
        (None, "comeback", "special_charge_up"),
    ],
    clusters=[
        ([18712, 18890, 19042], ("special_charge_up", "special_power_up")),
        (None, ("ink_saver_main", "ink_recovery_up")),
        (None, ("swim_speed_up", "quick_respawn")),
        (None, ("run_speed_up", "ink_resistance_up")),
        (None, ("sub_power_up", "ink_saver_sub")),
    ],
    n_dead=40,
    n_weak=30,
    n_concepts=300,
    background_median=55.0,
    norm_quantiles={10938: 0.093},
)

FULL = ModelSpec(
    name="full",
    n_features=2_048,
    d_model=128,
    activation_files=2,
    general=[
        (None, "swim_speed_up"),
        (None, "ink_saver_main"),
        (None, "quick_respawn"),
        (None, "special_saver"),
    ],
    super_stimulus=[
        (None, "special_charge_up", ["bloblobber", "glooga_dualies"]),
        (None, "run_speed_up", ["heavy_splatling", "ballpoint_splatling"]),
        (None, "ink_recovery_up", ["e_liter_4k", "splat_charger", "dynamo_roller"]),
    ],
    tail_marker=[
        (None, "respawn_punisher", "ink_saver_main"),
        (None, "comeback", "swim_speed_up"),
        (None, "stealth_jump", "quick_super_jump"),
    ],
    clusters=[
        (None, ("special_charge_up", "special_power_up")),
        (None, ("ink_saver_main", "ink_recovery_up")),
        (None, ("swim_speed_up", "quick_respawn")),
        (None, ("sub_power_up", "ink_saver_sub")),
    ],
    n_dead=12,
    n_weak=12,
    n_concepts=60,
    background_median=150.0,
    output_rows_are_d=False,
)

BACKGROUND_DRIVER_SHARE = 0.7
NONPOSITIVE_SHARE = 0.05


@dataclass
class ModelRows:
    """A model's activation rows (example rows, not ids) and its truth.json entry."""

    feature_ids: np.ndarray  # int32
    rows: np.ndarray  # int64 example rows
    activations: np.ndarray  # float32
    truth: dict[str, Any]
    clusters: list[list[int]]


class _Ids:
    """Hands out feature ids: the fixed ones, then a seeded shuffle of the rest."""

    def __init__(self, rng: np.random.Generator, spec: ModelSpec) -> None:
        fixed = [
            f for f, *_ in spec.general + spec.super_stimulus + spec.tail_marker if f is not None
        ]
        fixed += [f for ids, _ in spec.clusters if ids is not None for f in ids]
        self.taken = np.zeros(spec.n_features, dtype=bool)
        self.taken[fixed] = True
        self.free = list(rng.permutation(np.flatnonzero(~self.taken)))

    def get(self, fixed: int | None = None) -> int:
        if fixed is not None:
            return fixed
        feature_id = int(self.free.pop())
        self.taken[feature_id] = True
        return feature_id

    def rest(self) -> np.ndarray:
        return np.flatnonzero(~self.taken)


def _planted_count(rng: np.random.Generator, scale: float, lo: int = 2500, hi: int = 4500) -> int:
    return max(60, int(rng.integers(lo, hi) * scale))


def _concept_drivers(builds: Builds) -> list[tuple[str, str, np.ndarray]]:
    drivers: list[tuple[str, str, np.ndarray]] = []
    for family in FAMILIES:
        drivers.append(("family_high_ap", family, builds.has_family(family, roles.HIGH_AP)))
        drivers.append(("family", family, builds.has_family(family)))
    drivers += [("token", name, builds.has_ability(name)) for name in MAIN_ONLY]
    drivers += [("weapon", w, roles.weapon_mask(builds, w)) for w in WEAPON_NAMES]
    drivers += [("mode", m, builds.in_mode(m)) for m in MODES]
    return drivers


def _background(
    rng: np.random.Generator,
    builds: Builds,
    feature_ids: np.ndarray,
    median: float,
    n_tokens: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Small features (>= 10 nonzeros), each leaning on one random token, all at once."""
    sizes_f = np.clip(rng.lognormal(np.log(median), 0.9, size=len(feature_ids)), 10, 30 * median)
    counts = sizes_f.astype(np.int64)
    offsets, pool_rows = builds.token_pools(n_tokens)
    sizes = np.diff(offsets)
    usable = np.flatnonzero(sizes >= 20)
    driver = rng.choice(usable, size=len(feature_ids))
    feats = np.repeat(feature_ids, counts)
    tok = np.repeat(driver, counts)
    from_pool = pool_rows[offsets[tok] + (rng.random(len(tok)) * sizes[tok]).astype(np.int64)]
    anywhere = rng.integers(0, builds.n, size=len(tok))
    rows = np.where(rng.random(len(tok)) < BACKGROUND_DRIVER_SHARE, from_pool, anywhere)
    _, first = np.unique(feats.astype(np.int64) * builds.n + rows, return_index=True)
    feats, rows = feats[first], rows[first]
    have = np.bincount(feats, minlength=int(feature_ids.max()) + 1)[feature_ids]
    top_feats, top_rows = [], []
    for feature_id, n in zip(feature_ids[have < 10], have[have < 10], strict=True):
        taken = np.zeros(builds.n, dtype=bool)
        taken[rows[feats == feature_id]] = True
        extra = rng.choice(np.flatnonzero(~taken), size=10 - int(n), replace=False)
        top_feats.append(np.full(len(extra), feature_id))
        top_rows.append(extra)
    feats = np.concatenate([feats, *top_feats])
    rows = np.concatenate([rows, *top_rows])
    scales = rng.lognormal(0.0, 0.5, size=int(feature_ids.max()) + 1)
    acts = (rng.gamma(2.0, 1.0, size=len(feats)) * scales[feats] / 4).astype(np.float32)
    acts = np.maximum(acts, np.float32(1e-4))
    return feats.astype(np.int32), rows.astype(np.int64), acts


def _feature_scale(rng: np.random.Generator) -> float:
    return float(rng.lognormal(1.0, 0.4))


def _plant_truths(
    rng: np.random.Generator, spec: ModelSpec, builds: Builds, ids: _Ids, scale: float
) -> tuple[list[tuple[int, PlantedRows]], dict[str, Any], list[dict[str, Any]]]:
    """The features truth.json vouches for: (rows per feature, truth entries, cluster concepts)."""
    planted: list[tuple[int, PlantedRows]] = []
    truth: dict[str, Any] = {"general": [], "super_stimulus": [], "tail_marker": [], "clusters": []}
    concepts: list[dict[str, Any]] = []

    def count() -> int:
        return _planted_count(rng, scale)

    for fixed, family in spec.general:
        fid = ids.get(fixed)
        planted.append((fid, roles.general(rng, builds, count(), _feature_scale(rng), family)))
        truth["general"].append({"feature_id": fid, "family": family})
    for fixed, family, weapons in spec.super_stimulus:
        fid = ids.get(fixed)
        rows = roles.super_stimulus(rng, builds, count(), _feature_scale(rng), family, weapons)
        planted.append((fid, rows))
        entry = {"feature_id": fid, "family": family, "weapons": list(weapons)}
        truth["super_stimulus"].append(entry)
    for fixed, token, family in spec.tail_marker:
        fid = ids.get(fixed)
        rows = roles.tail_marker(rng, builds, count(), _feature_scale(rng), token, family)
        planted.append((fid, rows))
        truth["tail_marker"].append({"feature_id": fid, "token": token, "family": family})
    for fixed_ids, families in spec.clusters:
        members = list(fixed_ids or [ids.get() for _ in range(3)])
        n = _planted_count(rng, scale, 1800, 2600)
        member_rows = roles.cluster(rng, builds, n, _feature_scale(rng), families)
        planted += list(zip(members, member_rows, strict=True))
        truth["clusters"].append(members)
        value = "+".join(families)
        concepts += [{"feature_id": fid, "kind": "cluster", "value": value} for fid in members]
    return planted, truth, concepts


def _plant_concepts(
    rng: np.random.Generator, spec: ModelSpec, builds: Builds, ids: _Ids, scale: float
) -> tuple[list[tuple[int, PlantedRows]], list[dict[str, Any]]]:
    """Large features with one random driver each (token, family, weapon or mode)."""
    planted, concepts = [], []
    drivers = _concept_drivers(builds)
    for pick in rng.integers(0, len(drivers), size=spec.n_concepts):
        kind, value, mask = drivers[int(pick)]
        fid = ids.get()
        n = max(40, int(np.clip(rng.lognormal(np.log(2000), 0.5), 800, 6000) * scale))
        planted.append((fid, roles.concept(rng, builds, n, _feature_scale(rng), mask)))
        concepts.append({"feature_id": fid, "kind": kind, "value": value})
    return planted, concepts


def _weak(
    rng: np.random.Generator, builds: Builds, weak: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1..9 nonzeros for each weak feature."""
    counts = rng.integers(1, 10, size=len(weak))
    rows = np.concatenate([rng.choice(builds.n, size=k, replace=False) for k in counts])
    acts = rng.gamma(2.0, 0.5, size=len(rows)).astype(np.float32) + np.float32(0.01)
    return np.repeat(np.asarray(weak, dtype=np.int32), counts), rows, acts


def _nonpositive(
    rng: np.random.Generator, spec: ModelSpec, builds: Builds, n: int, dead: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows with activation <= 0, as real dumps have; half the dead features get some too."""
    feats = rng.integers(0, spec.n_features, size=n).astype(np.int32)
    with_rows = dead[: len(dead) // 2]
    feats[: 3 * len(with_rows)] = np.repeat(with_rows, 3)
    rows = rng.integers(0, builds.n, size=n)
    acts = -np.abs(rng.normal(0.0, 0.05, size=n)).astype(np.float32)
    acts[rng.random(n) < 0.3] = 0.0
    return feats, rows, acts


def build_model(
    rng: np.random.Generator, spec: ModelSpec, builds: Builds, n_tokens: int, scale: float
) -> ModelRows:
    """Plant every role of ``spec`` over ``builds``; returns rows with unique (feature, example)."""
    ids = _Ids(rng, spec)
    planted, truth, concepts = _plant_truths(rng, spec, builds, ids, scale)
    more, more_concepts = _plant_concepts(rng, spec, builds, ids, scale)
    planted += more
    dead = sorted(ids.get() for _ in range(spec.n_dead))
    weak = sorted(ids.get() for _ in range(spec.n_weak))
    truth.update(dead=dead, weak=weak, concepts=concepts + more_concepts)

    parts = [
        (np.full(len(p.rows), fid, dtype=np.int32), p.rows, p.activations) for fid, p in planted
    ]
    parts.append(_weak(rng, builds, weak))
    parts.append(_background(rng, builds, ids.rest(), spec.background_median * scale, n_tokens))
    n_positive = sum(len(f) for f, _, _ in parts)
    parts.append(_nonpositive(rng, spec, builds, int(n_positive * NONPOSITIVE_SHARE), dead))
    feats, rows, acts = (np.concatenate(column) for column in zip(*parts, strict=True))
    # one row per (feature, example): the first wins, and every positive row comes first
    _, first = np.unique(feats.astype(np.int64) * builds.n + rows, return_index=True)
    first.sort()
    return ModelRows(
        feats[first], rows[first].astype(np.int64), acts[first], truth, truth["clusters"]
    )
