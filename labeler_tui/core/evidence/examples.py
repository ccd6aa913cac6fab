"""Reading a feature's examples: the top k of a region, or a seeded sample of it.

``region`` is ``top`` (every nonzero example, highest activation first, so its top k are the
feature's highest activations) or one of the six regions (docs/analysis.md, "Regions"). A
feature's activations come highest first from the index, so a region is a contiguous slice of
that order (two binary searches) and its top k are the slice's first k. A *sample* is the k
examples of the region with the smallest :func:`stability.seeded_hash` of their example id
under ``seed``: the same seed gives the same examples, in any process, on any machine. A
``where`` expression keeps the region's examples that match it (or, with ``match=False``, those
that do not) before choosing. Cost: the chosen k plus the region's size (a sample hashes the
region's ids, ``where`` evaluates the region's rows), never the dataset; the per-region token
counts behind the ``enriched`` marks are counted once per feature (``region_counts.py``).

Each example carries its tokens by name grouped by family (the family with most of the
example's tokens first, then the one with the highest level, then by family id), its metadata
values and the tokens that are enriched >= 2x in its region over all the feature's nonzero
examples: P(t | region) / P(t | nonzero) >= 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np

from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.stability import seeded_hash
from labeler_tui.core.data import FeatureActivations, ModelData
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.evidence.expressions import Expression, compile_expression, model_names
from labeler_tui.core.evidence.region_counts import region_token_counts
from labeler_tui.core.results.evidence import ExampleJson, ExamplesJson, Region, TokenGroupJson

TOP = "top"
REGION_CHOICES: tuple[str, ...] = (TOP, *R.REGION_NAMES)
"""What ``region`` may be: ``top`` or one of the six regions."""
ENRICHED_AT = 2.0
DEFAULT_K = 10
MAX_SEED = 2**63 - 1
SAMPLE_CHUNK = 32_768


@dataclass(frozen=True)
class TokenGroup:
    """An example's tokens of one family, highest level first."""

    family: str
    tokens: tuple[str, ...]

    def to_json(self) -> TokenGroupJson:
        return {"family": self.family, "tokens": list(self.tokens)}


@dataclass(frozen=True)
class Example:
    """One example of a feature, as shown to a labeler."""

    example_id: int
    row: int
    """Its row in the model's example table (for further queries; not in the JSON)."""
    activation: float
    fraction: float
    """activation / effective max."""
    region: str
    tokens: tuple[TokenGroup, ...]
    metadata: dict[str, Any]
    enriched: tuple[str, ...]
    """Its tokens enriched >= 2x in its region over all the feature's nonzero examples."""

    @property
    def token_names(self) -> tuple[str, ...]:
        """Every token of the example, in display order."""
        return tuple(t for group in self.tokens for t in group.tokens)

    def to_json(self) -> ExampleJson:
        return {
            "example_id": self.example_id,
            "activation": self.activation,
            "fraction": self.fraction,
            "region": cast(Region, self.region),
            "tokens": [group.to_json() for group in self.tokens],
            "metadata": dict(self.metadata),
            "enriched": list(self.enriched),
        }


@dataclass(frozen=True)
class ExamplesResult:
    """Examples of one feature's region; ``to_json()`` is ``labeler examples --json``."""

    feature_id: int
    model: str
    region: str
    k: int
    sample: bool
    seed: int | None
    where: str | None
    match: bool
    effective_max: float | None
    count: int
    """Examples in the region."""
    matching: int | None
    """Of them, those the ``where`` expression keeps (None without one)."""
    examples: tuple[Example, ...] = field(default_factory=tuple)

    def to_json(self) -> ExamplesJson:
        return {
            "feature_id": self.feature_id,
            "model": self.model,
            "region": cast(Region, self.region),
            "k": self.k,
            "sample": self.sample,
            "seed": self.seed,
            "where": self.where,
            "match": self.match,
            "effective_max": self.effective_max,
            "count": self.count,
            "matching": self.matching,
            "examples": [example.to_json() for example in self.examples],
        }


def check_region(region: str) -> str:
    """``region`` itself when it is ``top`` or a region name (ValidationError otherwise)."""
    if region not in REGION_CHOICES:
        raise ValidationError(
            f"region: unknown region {region!r} (choose from {', '.join(REGION_CHOICES)})",
            "region",
        )
    return region


def _check_count(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValidationError(f"{name}: must be an integer >= {minimum}, got {value!r}", name)
    if maximum is not None and value > maximum:
        raise ValidationError(f"{name}: must be at most {maximum}, got {value!r}", name)
    return int(value)


def checked_request(
    data: ModelData,
    feature_id: int,
    region: str,
    k: int,
    seed: int,
    where: str | Expression | None,
    aliases: Mapping[str, str] | None,
) -> tuple[FeatureActivations, str, int, int, Expression | None]:
    """A request for a region's examples (or contexts), checked: the feature's activations
    (the id is checked first), the region, k, the seed and the compiled ``where``."""
    activations = data.feature(feature_id)
    region = check_region(region)
    k = _check_count("k", k, 1)
    seed = _check_count("seed", seed, 0, MAX_SEED)
    expression = (
        where
        if isinstance(where, Expression) or where is None
        else compile_expression(data, where, aliases)
    )
    return activations, region, k, seed, expression


def feature_examples(
    data: ModelData,
    feature_id: int,
    region: str = TOP,
    k: int = DEFAULT_K,
    *,
    sample: bool = False,
    seed: int = 0,
    where: str | Expression | None = None,
    match: bool = True,
    aliases: Mapping[str, str] | None = None,
) -> ExamplesResult:
    """Up to ``k`` examples of ``region`` of a feature, highest activation first (see the module
    docstring). ValidationError for a bad feature id, region, k or seed; ExpressionError for a
    bad ``where``."""
    activations, region, k, seed, expression = checked_request(
        data, feature_id, region, k, seed, where, aliases
    )
    descending = activations.activations
    eff = R.effective_max(descending)
    result = ExamplesResult(
        feature_id=activations.feature_id,
        model=data.name,
        region=region,
        k=k,
        sample=sample,
        seed=seed if sample else None,
        where=None if expression is None else expression.text,
        match=match,
        effective_max=eff,
        count=0,
        matching=None if expression is None else 0,
    )
    if eff is None:
        return result
    bounds = R.bounds_from(R.above_counter(descending, eff))
    start, stop = (0, len(descending)) if region == TOP else bounds[R.REGION_NAMES.index(region)]
    start, stop = int(start), int(stop)
    positions: np.ndarray | None = None  # candidate positions; None = the whole slice
    matching = None
    if expression is not None:
        kept = expression.matches(data, activations.rows_between(start, stop))
        positions = start + np.flatnonzero(kept if match else ~kept)
        matching = len(positions)
    chosen = _choose(data, activations, start, stop, positions, k, seed if sample else None)
    examples = _examples(data, activations, chosen, eff, bounds)
    return replace(result, count=stop - start, matching=matching, examples=examples)


def _choose(
    data: ModelData,
    activations: FeatureActivations,
    start: int,
    stop: int,
    positions: np.ndarray | None,
    k: int,
    seed: int | None,
) -> np.ndarray:
    """Positions (highest-first order) of the chosen examples, ascending."""
    if seed is None:
        if positions is None:
            return np.arange(start, min(stop, start + k), dtype=np.int64)
        return positions[:k]
    if positions is None:
        if stop - start <= k:
            return np.arange(start, stop, dtype=np.int64)
        return start + _smallest_keys(data, activations.rows_between(start, stop), seed, k)
    if len(positions) <= k:
        return positions
    return positions[_smallest_keys(data, activations.rows_at(positions), seed, k)]


def _smallest_keys(data: ModelData, rows: np.ndarray, seed: int, k: int) -> np.ndarray:
    """Indices (ascending) of the ``k`` rows (k < len(rows)) with the smallest sample keys
    (:func:`stability.seeded_hash` of their example ids). The keys are uniform over 2**64, so
    only those under a bound a few times k / n of the range are kept, chunk by chunk (each
    chunk's hashing stays in cache); the partition then sorts about 4k keys."""
    n = len(rows)
    bound = np.uint64(min(2**64 - 1, int(2**64 * (4 * k + 32) / n)))
    kept, kept_keys = [], []
    for first in range(0, n, SAMPLE_CHUNK):
        keys = seeded_hash(data.example_ids_of(rows[first : first + SAMPLE_CHUNK]), seed)
        below = np.flatnonzero(keys < bound)
        kept.append(below + first)
        kept_keys.append(keys[below])
    candidates, keys = np.concatenate(kept), np.concatenate(kept_keys)
    if len(candidates) < k:  # unlikely: fall back to every key
        candidates = np.arange(n)
        keys = seeded_hash(data.example_ids_of(rows), seed)
    return np.sort(candidates[np.argpartition(keys, k - 1)[:k]])


def _examples(
    data: ModelData,
    activations: FeatureActivations,
    positions: np.ndarray,
    eff: float,
    bounds: np.ndarray,
) -> tuple[Example, ...]:
    if not len(positions):
        return ()
    names = model_names(data)
    rows = activations.rows_at(positions)
    ids = data.example_ids[rows]
    acts = np.asarray(activations.activations[positions], dtype=np.float64)
    region_of = np.searchsorted(bounds[:, 0][::-1], positions, side="right")
    region_index = len(R.REGIONS) - region_of  # bounds are in region order, highest last
    counts = region_token_counts(data, activations, bounds)
    region_sizes = bounds[:, 1] - bounds[:, 0]
    totals = counts.sum(axis=0)
    n = len(activations)
    offsets, tokens = data.tokens(rows)
    metadata = {
        column: (data.metadata_values(column), data.metadata_codes(column, rows))
        for column in data.metadata_columns
    }
    out = []
    for i, row in enumerate(rows):
        r = int(region_index[i])
        held = np.unique(tokens[offsets[i] : offsets[i + 1]])
        share = counts[r, held] / max(int(region_sizes[r]), 1)
        overall = totals[held] / n
        enriched = held[share >= ENRICHED_AT * overall]
        out.append(
            Example(
                example_id=int(ids[i]),
                row=int(row),
                activation=float(acts[i]),
                fraction=float(acts[i] / eff),
                region=R.REGION_NAMES[r],
                tokens=_groups(data, names.levels, held),
                metadata={c: _plain(values[codes[i]]) for c, (values, codes) in metadata.items()},
                enriched=tuple(
                    data.token_names[t] for t in _display_order(data, names.levels, enriched)
                ),
            )
        )
    return tuple(out)


def _display_order(data: ModelData, levels: np.ndarray, tokens: np.ndarray) -> list[int]:
    return [int(t) for group in _grouped(data, levels, tokens) for t in group[1]]


def _grouped(
    data: ModelData, levels: np.ndarray, tokens: np.ndarray
) -> list[tuple[int, list[int]]]:
    by_family: dict[int, list[int]] = {}
    for t in tokens.tolist():
        by_family.setdefault(int(data.token_family[t]), []).append(t)
    groups = [
        (family, sorted(members, key=lambda t: (-int(levels[t]), t)))
        for family, members in by_family.items()
    ]
    groups.sort(key=lambda g: (-len(g[1]), -max(int(levels[t]) for t in g[1]), g[0]))
    return groups


def _groups(data: ModelData, levels: np.ndarray, tokens: np.ndarray) -> tuple[TokenGroup, ...]:
    return tuple(
        TokenGroup(data.family_names[family], tuple(data.token_names[t] for t in members))
        for family, members in _grouped(data, levels, tokens)
    )


def _plain(value: Any) -> Any:
    """A metadata value as JSON holds it (numpy scalars as Python ones)."""
    return value.item() if isinstance(value, np.generic) else value
