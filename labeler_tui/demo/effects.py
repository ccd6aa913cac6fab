"""Output matrices for the demo models, with planted output effects.

A feature's output effects are its decoder row times the output matrix. The demo plants, for
every feature truth.json vouches for, which outputs (tokens of the vocab) it promotes and
suppresses: the planted features' decoder rows ``D`` (m x d, m << d) get exact target values
``T`` (m x n_out) by solving ``D @ W = T`` with the least-norm solution, plus noise in the
null space of ``D`` for everyone else. Promoted targets lie in [1.5, 2], suppressed in [-2,
-1.5], every other planted value in [-1, 1], so a planted feature's top outputs are exactly its
promoted list, in order. Cluster members share their targets (their decoder rows are
near-duplicates).

What is planted: a family's high levels (29, 38, 51, 57) for general, super-stimulus and
cluster features (both families), the marker token first for a tail marker; suppressed, the
high levels of a seeded other family. 9971 (special_charge_up super-stimulus) has a hand-made
entry: a special-focused build spends its slots on special charge and special power at the
expense of sub-weapon abilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labeler_tui.demo.catalog import FAMILIES

HIGH_LEVELS = (29, 38, 51, 57)
SUPPRESSED_LEVELS = (29, 38, 51)
NOISE = 0.25
HAND_MADE: dict[int, tuple[list[str], list[str]]] = {
    9971: (
        [
            "special_charge_up_57",
            "special_charge_up_51",
            "special_charge_up_38",
            "special_charge_up_29",
            "special_power_up_29",
            "special_power_up_21",
        ],
        ["sub_power_up_38", "sub_power_up_29", "ink_saver_sub_29", "sub_power_up_21"],
    )
}
"""feature id -> (promoted, suppressed), in order, for the features the docs quote."""


def _levels(family: str, levels: tuple[int, ...]) -> list[str]:
    return [f"{family}_{level}" for level in sorted(levels, reverse=True)]


def _planned(
    rng: np.random.Generator, truth: dict[str, Any]
) -> list[tuple[list[int], list[str], list[str]]]:
    """(feature ids sharing the targets, promoted, suppressed) for each planted entry."""

    def rival(taken: set[str]) -> str:
        choices = [f for f in FAMILIES if f not in taken]
        return choices[int(rng.integers(len(choices)))]

    plans = []
    for entry in truth["general"] + truth["super_stimulus"]:
        family = entry["family"]
        plans.append(
            (
                [entry["feature_id"]],
                _levels(family, HIGH_LEVELS),
                _levels(rival({family}), SUPPRESSED_LEVELS),
            )
        )
    for entry in truth["tail_marker"]:
        family = entry["family"]
        promoted = [entry["token"], *_levels(family, HIGH_LEVELS)]
        plans.append(([entry["feature_id"]], promoted, _levels(rival({family}), SUPPRESSED_LEVELS)))
    for members, value in zip(truth["clusters"], _cluster_families(truth), strict=True):
        first, second = value
        promoted = _levels(first, (57, 51, 38)) + _levels(second, (57, 51, 38))
        plans.append((list(members), promoted, _levels(rival({first, second}), SUPPRESSED_LEVELS)))
    for ids, promoted, suppressed in plans:
        for f in ids:
            if f in HAND_MADE:
                promoted[:], suppressed[:] = HAND_MADE[f]
    return plans


def _cluster_families(truth: dict[str, Any]) -> list[tuple[str, str]]:
    by_feature = {c["feature_id"]: c["value"] for c in truth["concepts"] if c["kind"] == "cluster"}
    out = []
    for members in truth["clusters"]:
        first, second = by_feature[members[0]].split("+")
        out.append((first, second))
    return out


def output_matrix(
    rng: np.random.Generator, decoder: np.ndarray, truth: dict[str, Any], vocab: list[str]
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """(float32 [d, n_out] output matrix over the vocab, truth.json's ``effects`` entries)."""
    plans = _planned(rng, truth)
    index = {name: i for i, name in enumerate(vocab)}
    rows: list[int] = []
    targets: list[np.ndarray] = []
    entries: list[dict[str, Any]] = []
    for ids, promoted, suppressed in plans:
        target = np.clip(rng.normal(0.0, NOISE, size=len(vocab)), -1.0, 1.0)
        target[[index[n] for n in promoted]] = np.linspace(2.0, 1.5, len(promoted))
        target[[index[n] for n in suppressed]] = np.linspace(-2.0, -1.5, len(suppressed))
        for f in ids:
            rows.append(f)
            targets.append(target)
            entries.append({"feature_id": f, "promoted": promoted, "suppressed": suppressed})
    planted = decoder[rows].astype(np.float64)
    solve = np.linalg.pinv(planted)  # [d, m]
    exact = solve @ np.stack(targets)  # least-norm W with planted @ W = targets
    noise = rng.normal(0.0, NOISE, size=(decoder.shape[1], len(vocab)))
    noise -= solve @ (planted @ noise)  # keep only the part the planted rows do not see
    entries.sort(key=lambda e: int(e["feature_id"]))
    return (exact + noise).astype(np.float32), entries
