"""Results of the analysis commands: ``overview``, ``coverage`` and ``similar``."""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict

from labeler_tui.core.results.evidence import EffectJson, MetadataValue, Region, Verdict
from labeler_tui.core.results.labels import LabelRecordJson

Quadrant = Literal[
    "strong, well understood",
    "important but mysterious",
    "understood but weak",
    "skip",
    "in between",
]


QueueStatus = Literal["pending", "claimed", "completed", "skipped"]


class HistogramJson(TypedDict, closed=True):
    """40 bins of activation / effective max over [0, max(1, max f)]: 41 edges, 40 counts."""

    edges: list[float]
    counts: list[int]


class TopTokenJson(TypedDict, closed=True):
    token: str
    share: float
    enrichment: float | None


class TopFamilyJson(TypedDict, closed=True):
    family: str
    share: float
    enrichment: float | None


class TopValueJson(TypedDict, closed=True):
    value: MetadataValue
    share: float
    enrichment: float | None


class RegionJson(TypedDict, closed=True):
    """One activation region (``hi`` null = infinity) with its top tokens, families and
    metadata values: share of the region's examples and enrichment over all nonzero ones."""

    name: Region
    lo: float
    hi: float | None
    count: int
    share: float
    top_tokens: list[TopTokenJson]
    top_families: list[TopFamilyJson]
    metadata: dict[str, list[TopValueJson]]


class SupportJson(TypedDict, closed=True):
    """The examples behind a sequence model's flag, and how many sequences they come from."""

    examples: int
    sequences: int


class TailMarkerJson(TypedDict, closed=True):
    """A token enriched >= 5x at 90%+ of the effective max but in < 20% of the core."""

    kind: Literal["tail_marker"]
    subject: str
    enrichment: float
    zone_share: float
    core_coverage: float | None
    support: NotRequired[SupportJson]
    """Sequence models only."""


class FlanderizedJson(TypedDict, closed=True):
    """A metadata value in > 40% of the top 100 examples but < 15% of the core."""

    kind: Literal["flanderized"]
    subject: str
    column: str
    value: MetadataValue
    top_share: float
    core_coverage: float | None
    support: NotRequired[SupportJson]
    """Sequence models only."""


class SuperStimulusJson(TypedDict, closed=True):
    """A metadata value concentrated in the flanderization zone, rare in the core."""

    kind: Literal["super_stimulus"]
    subject: str
    column: str
    value: MetadataValue
    zone_share: float
    core_coverage: float | None
    support: NotRequired[SupportJson]
    """Sequence models only."""


class FirstTokenJson(TypedDict, closed=True):
    """Sequence models: the feature fires at position 0 (>= 50% of the top 100 or of all)."""

    kind: Literal["first_token"]
    subject: str
    top_share: float
    nonzero_share: float
    support: SupportJson


class SingleTokenJson(TypedDict, closed=True):
    """Sequence models: one ``token:`` word covers >= 90% of the core."""

    kind: Literal["single_token"]
    subject: str
    core_coverage: float
    support: SupportJson


class DenseJson(TypedDict, closed=True):
    """Sequence models: active on more than 10% of the corpus's positions."""

    kind: Literal["dense"]
    subject: str
    density: float


class SingleDocumentJson(TypedDict, closed=True):
    """Sequence models: the top examples come from <= 3 sequences (their ids)."""

    kind: Literal["single_document"]
    subject: str
    sequences: list[int]
    top_n: int


FlagJson = (
    TailMarkerJson
    | FlanderizedJson
    | SuperStimulusJson
    | FirstTokenJson
    | SingleTokenJson
    | DenseJson
    | SingleDocumentJson
)


class GeneralValueJson(TypedDict, closed=True):
    """A token family or metadata value present in every non-empty region."""

    kind: Literal["family", "metadata"]
    subject: str
    core_coverage: float | None


class EffectsSummaryJson(TypedDict, closed=True):
    """The 10 outputs the feature promotes most and the 10 it suppresses most."""

    promoted: list[EffectJson]
    suppressed: list[EffectJson]


class OverviewJson(TypedDict, closed=True):
    """Everything to read before naming a feature (docs/analysis.md, "Overview JSON"). Shares
    are fractions 0..1, ``core_coverage`` percents; a dead feature has ``n_nonzero`` 0, null
    statistics and empty lists."""

    feature_id: int
    model: str
    n_nonzero: int
    effective_max: float | None
    max: float | None
    mean: float | None
    importance_percentile: float | None
    importance_note: str | None
    """Why the importance is null when the decoder norms are flat (null otherwise)."""
    stability_score: float | None
    quadrant: Quadrant | None
    histogram: HistogramJson
    regions: list[RegionJson]
    flags: list[FlagJson]
    general: list[GeneralValueJson]
    effects: EffectsSummaryJson | None
    label: LabelRecordJson | None


class CoverageJson(TypedDict, closed=True):
    """Core coverage of a token, family or ``column=value``: a percent of the core's examples
    and its verdict (both null when the core is empty)."""

    feature_id: int
    subject: str
    core_count: int
    core_with: int
    core_coverage: float | None
    verdict: Verdict | None


class NeighbourJson(TypedDict, closed=True):
    """A similar feature: its label, or when unlabeled its 3 most common core families, and its
    queue state (``pending``, ``claimed``, ``completed``, ``skipped`` or null)."""

    feature_id: int
    similarity: float
    label: str | None
    core_families: list[str] | None
    queue: QueueStatus | None
    claimed_by: str | None
    claim_expires: str | None
