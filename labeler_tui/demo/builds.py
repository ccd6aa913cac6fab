"""The demo's examples: random but plausible gear builds, one per example.

A build has 3 main slots (10 AP each) and 9 sub slots (3 AP each). A main slot may hold a
main-only ability instead. A family's AP total becomes its level token (largest AP level <= the
total). Weapons favour a few families, so pools like "special_charge_up on bloblobber" are big
enough for the planted features to draw from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from labeler_tui.demo.catalog import (
    AP_LEVELS,
    FAMILIES,
    FIRST_LEVEL_TOKEN,
    FIRST_MAIN_ONLY_TOKEN,
    MAIN_ONLY,
    MODES,
    WEAPONS,
)

WEAPON_NAMES: tuple[str, ...] = tuple(WEAPONS)
MAIN_ONLY_SLOT_CHANCE = 0.15
MODE_WEIGHTS = (0.3, 0.2, 0.2, 0.15, 0.15)


@dataclass(frozen=True)
class Builds:
    """Every example's build as arrays (row i = example i, in example-id order)."""

    example_ids: np.ndarray  # int64[n], increasing, not contiguous
    weapon: np.ndarray  # int64[n]: index into WEAPON_NAMES
    mode: np.ndarray  # int64[n]: index into MODES
    ap: np.ndarray  # int16[n, len(FAMILIES)]: AP per family
    main_only: np.ndarray  # bool[n, len(MAIN_ONLY)]
    token_offsets: np.ndarray  # int64[n + 1]: CSR offsets into token_ids
    token_ids: np.ndarray  # int32[total]: each example's token ids, ascending

    @property
    def n(self) -> int:
        return len(self.example_ids)

    def has_family(self, family: str, min_ap: int = 1) -> np.ndarray:
        """Mask of examples with at least ``min_ap`` AP in ``family``."""
        return self.ap[:, FAMILIES.index(family)] >= min_ap

    def ap_share(self, family: str) -> np.ndarray:
        """A family's AP as a share of a full build (0..1), the driver of AP-level features."""
        return self.ap[:, FAMILIES.index(family)] / 57.0

    def has_ability(self, name: str) -> np.ndarray:
        """Mask of examples holding the main-only ability ``name``."""
        return self.main_only[:, MAIN_ONLY.index(name)]

    def on_weapons(self, names: list[str] | tuple[str, ...]) -> np.ndarray:
        return np.isin(self.weapon, [WEAPON_NAMES.index(w) for w in names])

    def in_mode(self, mode: str) -> np.ndarray:
        return self.mode == MODES.index(mode)

    def token_pools(self, n_tokens: int) -> tuple[np.ndarray, np.ndarray]:
        """Inverted index: (offsets[n_tokens + 1], example rows) of the examples holding each token."""
        rows = np.repeat(np.arange(self.n), np.diff(self.token_offsets))
        order = np.argsort(self.token_ids, kind="stable")
        counts = np.bincount(self.token_ids, minlength=n_tokens)
        offsets = np.zeros(n_tokens + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return offsets, rows[order]

    def frame(self) -> pl.DataFrame:
        """The examples parquet's content: example_id, tokens, weapon, mode."""
        rows = np.repeat(np.arange(self.n), np.diff(self.token_offsets))
        tokens = (
            pl.DataFrame({"row": rows, "tok": self.token_ids})
            .group_by("row", maintain_order=True)
            .agg(pl.col("tok"))
        )
        return pl.DataFrame(
            {
                "example_id": self.example_ids,
                "tokens": tokens["tok"],
                "weapon": np.asarray(WEAPON_NAMES)[self.weapon],
                "mode": np.asarray(MODES)[self.mode],
            },
            schema={
                "example_id": pl.Int64,
                "tokens": pl.List(pl.Int32),
                "weapon": pl.String,
                "mode": pl.String,
            },
        )


def _inverse_cdf(rng: np.random.Generator, probs: np.ndarray, draws: int) -> np.ndarray:
    """``draws`` categorical samples per row of ``probs`` [n, k] -> int64[n, draws]."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random((probs.shape[0], draws)) * cum[:, -1:]
    return np.minimum((u[:, :, None] >= cum[:, None, :]).sum(axis=2), probs.shape[1] - 1)


def generate_builds(rng: np.random.Generator, n: int) -> Builds:
    """``n`` builds; deterministic for a given generator state."""
    n_fam, n_mo = len(FAMILIES), len(MAIN_ONLY)
    popularity = np.array([WEAPONS[w][0] for w in WEAPON_NAMES])
    weapon = rng.choice(len(WEAPON_NAMES), size=n, p=popularity / popularity.sum())
    mode = rng.choice(len(MODES), size=n, p=np.asarray(MODE_WEIGHTS))
    example_ids = 100_000 + np.cumsum(rng.integers(1, 6, size=n)).astype(np.int64)

    family_alpha = np.full((len(WEAPON_NAMES), n_fam), 0.3)
    main_only_weight = np.ones((len(WEAPON_NAMES), n_mo))
    for w, (_, families, abilities) in enumerate(WEAPONS.values()):
        for family in families:
            family_alpha[w, FAMILIES.index(family)] += 2.0
        for ability in abilities:
            main_only_weight[w, MAIN_ONLY.index(ability)] += 3.0
    weights = rng.gamma(family_alpha[weapon])

    is_main_only = rng.random((n, 3)) < MAIN_ONLY_SLOT_CHANCE
    choice = _inverse_cdf(rng, main_only_weight[weapon], 3)
    is_main_only[:, 1] &= ~(is_main_only[:, 0] & (choice[:, 1] == choice[:, 0]))
    is_main_only[:, 2] &= ~(is_main_only[:, 0] & (choice[:, 2] == choice[:, 0]))
    is_main_only[:, 2] &= ~(is_main_only[:, 1] & (choice[:, 2] == choice[:, 1]))
    main_only = np.zeros((n, n_mo), dtype=bool)
    for slot in range(3):
        picked = np.flatnonzero(is_main_only[:, slot])
        main_only[picked, choice[picked, slot]] = True

    slot_family = _inverse_cdf(rng, weights, 12)
    slot_ap = np.array([10, 10, 10] + [3] * 9)[None, :].repeat(n, axis=0)
    slot_ap[:, :3][is_main_only] = 0
    flat = (np.arange(n)[:, None] * n_fam + slot_family).ravel()
    ap = np.bincount(flat, weights=slot_ap.ravel(), minlength=n * n_fam).reshape(n, n_fam)
    ap = ap.astype(np.int16)

    rows_f, fams = np.nonzero(ap > 0)
    levels = np.searchsorted(np.asarray(AP_LEVELS), ap[rows_f, fams], side="right") - 1
    rows_m, main_ids = np.nonzero(main_only)
    rows = np.concatenate([rows_f, rows_m])
    tokens = np.concatenate(
        [FIRST_LEVEL_TOKEN + fams * len(AP_LEVELS) + levels, FIRST_MAIN_ONLY_TOKEN + main_ids]
    ).astype(np.int32)
    order = np.lexsort((tokens, rows))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    return Builds(
        example_ids=example_ids,
        weapon=weapon.astype(np.int64),
        mode=mode.astype(np.int64),
        ap=ap,
        main_only=main_only,
        token_offsets=offsets,
        token_ids=tokens[order],
    )
