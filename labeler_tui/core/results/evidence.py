"""Results of the evidence commands: ``examples``, ``test``, ``effects`` and ``contexts``."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict

Region = Literal["floor", "low", "below_core", "core", "high", "flanderization"]
Verdict = Literal["headline", "mention", "tail_marker"]
MetadataValue = str | int | float | bool | None


class TokenGroupJson(TypedDict, closed=True):
    """An example's tokens of one family, highest level first."""

    family: str
    tokens: list[str]


class ExampleJson(TypedDict, closed=True):
    """One example: its activation, fraction of the effective max, region, tokens grouped by
    family, metadata values and the tokens enriched >= 2x in its region."""

    example_id: int
    activation: float
    fraction: float
    region: Region
    tokens: list[TokenGroupJson]
    metadata: dict[str, MetadataValue]
    enriched: list[str]


class ExamplesJson(TypedDict, closed=True):
    """The top k (or a seeded sample of k) of a region's examples, optionally only those
    matching ``where``; ``count`` is the region's size, ``matching`` how many ``where`` keeps
    (null without one), ``seed`` null without a sample."""

    feature_id: int
    model: str
    region: Literal["top"] | Region
    k: int
    sample: bool
    seed: int | None
    where: str | None
    match: bool
    effective_max: float | None
    count: int
    matching: int | None
    examples: list[ExampleJson]


class TallyJson(TypedDict, closed=True):
    """How many examples a group holds and how many of them match."""

    count: int
    matches: int


class HypothesisJson(TypedDict, closed=True):
    """A hypothesis expression tested on a feature (docs/analysis.md, "Hypotheses"):
    ``coverage`` and ``off_rate`` are percents, ``score``, ``tpr`` and ``tnr`` fractions."""

    feature_id: int
    expression: str
    coverage: dict[str, float | None]
    verdict: Verdict | None
    off_rate: float | None
    lift: float | None
    score: float | None
    tpr: float | None
    tnr: float | None
    effective_max: float | None
    n_examples: int
    counts: dict[str, TallyJson]
    positive: TallyJson
    zero: TallyJson


class EffectJson(TypedDict, closed=True):
    """One output and the feature's effect on it (decoder row x output matrix)."""

    name: str
    value: float


class EffectsJson(TypedDict, closed=True):
    """The outputs a feature promotes (highest first) and suppresses (lowest first)."""

    feature_id: int
    promoted: list[EffectJson]
    suppressed: list[EffectJson]


class ContextJson(TypedDict, closed=True):
    """One activating position of a sequence model and its window: the tokens (raw text),
    their ids, this feature's activation at each (0.0 where it is not active) and ``center``,
    the index of the activating token in ``tokens``."""

    seq: int
    pos: int
    example_id: int
    activation: float
    fraction: float
    region: Region
    tokens: list[str]
    token_ids: list[int]
    activations: list[float]
    center: int


class ContextsJson(TypedDict, closed=True):
    """Contexts of a region (``labeler contexts``): the top k, or a seeded sample of k."""

    feature_id: int
    model: str
    region: Region | Literal["top"]
    k: int
    sample: bool
    seed: int | None
    window: list[int]
    separator: str
    where: str | None
    match: bool
    effective_max: float | None
    count: int
    matching: int | None
    contexts: list[ContextJson]


class SequenceActivationsJson(TypedDict, closed=True):
    """A whole sequence with one feature's activation at each token (``contexts --seq``)."""

    feature_id: int
    model: str
    seq: int
    tokens: list[str]
    token_ids: list[int]
    activations: list[float]
    separator: str
    effective_max: float | None
