"""The planted kinds of feature, each with the structure its truth.json entry promises.

- general: a family in most core examples and in every region, on all kinds of weapons.
- super-stimulus: a broad family in the core across many weapons; the 90%+ zone is almost
  only 2-3 niche weapons (rare in the core).
- tail marker: a main-only ability at ~12% of the core but ~90% of the zone; the family it
  travels with is the core's headline.
- cluster: three features over nearly the same examples of a two-family combination.
- concept: a large feature driven by one token, family, weapon or mode (not in the truth
  guarantees; gives the queue and the app something to show).
"""

from __future__ import annotations

import numpy as np

from labeler_tui.demo.builds import WEAPON_NAMES, Builds
from labeler_tui.demo.regions import BOUNDS, REGIONS, Picker, PlantedRows, plant

HIGH_AP = 21
ZONE_AP = 29


def general(
    rng: np.random.Generator, builds: Builds, n: int, scale: float, family: str
) -> PlantedRows:
    fam, fam_hi = builds.has_family(family), builds.has_family(family, HIGH_AP)
    share = {
        "floor": 0.55,
        "low": 0.6,
        "below_core": 0.65,
        "core": 0.8,
        "high": 0.9,
        "flanderization": 0.95,
    }
    parts = {}
    for region in REGIONS:
        pool = fam_hi if region in ("high", "flanderization") else fam
        parts[region] = [(pool, share[region]), (~fam, 1 - share[region])]
    fallbacks = dict.fromkeys(REGIONS, [fam])
    score = builds.ap_share(family)
    return plant(rng, Picker(rng, builds.n), n, scale, parts, fallbacks, score=score)


def super_stimulus(
    rng: np.random.Generator,
    builds: Builds,
    n: int,
    scale: float,
    family: str,
    weapons: list[str],
) -> PlantedRows:
    fam, fam_zone = builds.has_family(family), builds.has_family(family, ZONE_AP)
    niche = builds.on_weapons(weapons)
    weights = np.linspace(1.4, 0.6, len(weapons))
    weights /= weights.sum()
    zone = [
        (fam_zone & builds.on_weapons([w]), 0.94 * s) for w, s in zip(weapons, weights, strict=True)
    ]
    zone.append((fam_zone & ~niche, 0.06))
    lower = [(fam & ~niche, 0.5), (~niche, 0.47), (niche, 0.03)]
    parts = {
        "floor": lower,
        "low": lower,
        "below_core": lower,
        "core": [(fam & ~niche, 0.72), (~fam & ~niche, 0.25), (niche, 0.03)],
        "high": [(fam_zone & niche, 0.4), (fam & ~niche, 0.6)],
        "flanderization": zone,
    }
    fallbacks = {"flanderization": [fam & niche, niche], "core": [fam & ~niche, ~niche]}
    score = builds.ap_share(family)
    return plant(rng, Picker(rng, builds.n), n, scale, parts, fallbacks, score=score)


def tail_marker(
    rng: np.random.Generator,
    builds: Builds,
    n: int,
    scale: float,
    token: str,
    family: str,
) -> PlantedRows:
    marker, fam = builds.has_ability(token), builds.has_family(family)
    lower = [(marker, 0.03), (fam & ~marker, 0.5), (~marker, 0.47)]
    parts = {
        "floor": lower,
        "low": lower,
        "below_core": lower,
        "core": [(marker & fam, 0.12), (fam & ~marker, 0.64), (~fam & ~marker, 0.24)],
        "high": [(marker & fam, 0.08), (fam & ~marker, 0.6), (~marker, 0.32)],
        "flanderization": [(marker & fam, 0.9), (fam & ~marker, 0.1)],
    }
    fallbacks = {
        "flanderization": [marker],
        "core": [fam & ~marker, ~marker],
        "high": [~marker],
    }
    for region in ("floor", "low", "below_core"):
        fallbacks[region] = [~marker]
    score = builds.ap_share(family) + 0.5 * marker
    return plant(rng, Picker(rng, builds.n), n, scale, parts, fallbacks, score=score)


def cluster(
    rng: np.random.Generator,
    builds: Builds,
    n: int,
    scale: float,
    families: tuple[str, str],
    size: int = 3,
    swap: float = 0.1,
) -> list[PlantedRows]:
    """``size`` features over one base set of examples holding both families: each member
    drops a ``swap`` share of the base and takes as many new examples of the same combination,
    and scales the base activations by a little noise."""
    combo = builds.has_family(families[0]) & builds.has_family(families[1])
    combo_hi = combo & builds.has_family(families[0], HIGH_AP)
    parts = {
        region: [(combo_hi if region in ("high", "flanderization") else combo, 1.0)]
        for region in REGIONS
    }
    score = builds.ap_share(families[0]) + builds.ap_share(families[1])
    fallbacks = dict.fromkeys(REGIONS, [combo])
    base = plant(rng, Picker(rng, builds.n), n, scale, parts, fallbacks, score=score)
    members = []
    for _ in range(size):
        keep = rng.random(len(base.rows)) >= swap
        picker = Picker(rng, builds.n)
        picker.used[base.rows] = True
        new_rows = picker.take(combo, int(len(base.rows) - keep.sum()))
        noise = rng.lognormal(0.0, 0.04, size=int(keep.sum()))
        new_acts = rng.uniform(*BOUNDS["core"], size=len(new_rows)) * scale
        members.append(
            PlantedRows(
                np.concatenate([base.rows[keep], new_rows]),
                np.concatenate([base.activations[keep] * noise, new_acts]).astype(np.float32),
            )
        )
    return members


def concept(
    rng: np.random.Generator, builds: Builds, n: int, scale: float, driver: np.ndarray
) -> PlantedRows:
    """A large feature whose examples hold ``driver`` more and more often towards the top."""
    share = {
        "floor": 0.3,
        "low": 0.4,
        "below_core": 0.55,
        "core": 0.75,
        "high": 0.85,
        "flanderization": 0.9,
    }
    parts = {region: [(driver, share[region]), (~driver, 1 - share[region])] for region in REGIONS}
    score = driver.astype(np.float64)
    return plant(rng, Picker(rng, builds.n), n, scale, parts, {}, score=score)


def weapon_mask(builds: Builds, weapon: str) -> np.ndarray:
    return builds.weapon == WEAPON_NAMES.index(weapon)
