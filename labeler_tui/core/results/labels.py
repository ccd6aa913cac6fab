"""Results of the label commands: ``label``, ``clear``, ``status``, ``sync`` and ``export``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from typing_extensions import TypedDict

if TYPE_CHECKING:
    from labeler_tui.core.evidence.lint import LintWarning
    from labeler_tui.core.records import LabelRecord
    from labeler_tui.core.stores.suggestions import Suggestion


class LabelRecordJson(TypedDict):
    """A feature's label record as stored (docs/formats.md, "Label records"): every documented
    field, null when unset, then any unknown fields as they came (so the object is open)."""

    feature_id: int
    model_type: str | None
    dashboard_name: str | None
    dashboard_category: str | None
    dashboard_notes: str | None
    display_name: str | None
    last_updated: str | None
    source: str | None
    hypothesis_confidence: float | None
    importance_percentile: float | None
    interpretability_confidence: float | None
    stability_score: float | None
    research_label: str | None
    research_state_path: str | None
    hypothesis_expression: str | None
    hypothesis_score: float | None
    derived_from: dict[str, Any] | None


class LintWarningJson(TypedDict, closed=True):
    """One warning of the label lint (docs/analysis.md, "Label lint"); never blocking."""

    code: str
    message: str


class LabelSavedJson(LabelRecordJson):
    """The saved label record plus the label lint's warnings (not stored)."""

    warnings: list[LintWarningJson]


class ClearedJson(TypedDict, closed=True):
    """The feature and its removed label record (null when it had none)."""

    feature_id: int
    removed: LabelRecordJson | None


class LabelCountsJson(TypedDict, closed=True):
    total: int
    by_source: dict[str, int]
    by_category: dict[str, int]


class QueueCountsJson(TypedDict, closed=True):
    pending: int
    completed: int
    skipped: int
    claimed: int
    """Live leases."""


class StatusJson(TypedDict, closed=True):
    """Labels by source and category (a record without a source counts as ``unknown``, one
    without a category as ``none``), then the queue counts."""

    model: str
    labels: LabelCountsJson
    queue: QueueCountsJson


SyncChangeJson = TypedDict(
    "SyncChangeJson",
    {"feature_id": int, "field": str, "before": Any, "after": Any, "from": str | None},
    closed=True,
)
"""One field a sync changed (``field`` ``record``: a label created or removed whole, its
``before``/``after`` the record); ``from`` names where the value came from."""


class SyncNoteJson(TypedDict, closed=True):
    """A record sync left alone that a reader may want to know about."""

    feature_id: int
    note: str


class SyncJson(TypedDict, closed=True):
    """What a sync changed (an empty list: the store was up to date) and its notes."""

    changes: list[SyncChangeJson]
    notes: list[SyncNoteJson]


class ExportJson(TypedDict, closed=True):
    """The file written (an absolute path) and how many records it holds."""

    output: str
    count: int


def record_json(record: LabelRecord) -> LabelRecordJson:
    """A record's stored JSON, typed."""
    return cast(LabelRecordJson, record.to_json())


def label_result(record: LabelRecord, warnings: Iterable[LintWarning]) -> LabelSavedJson:
    """``labeler label --json``: the saved record and the lint's warnings."""
    return cast(
        LabelSavedJson,
        {**record.to_json(), "warnings": [warning.to_json() for warning in warnings]},
    )


def clear_result(feature_id: int, removed: LabelRecord | None) -> ClearedJson:
    """``labeler clear --json``."""
    return ClearedJson(
        feature_id=feature_id, removed=None if removed is None else record_json(removed)
    )


class SuggestionJson(TypedDict, closed=True):
    """A suggested label imported from another tool (not a label); ``index`` counts from 1,
    the number ``label --from-suggestion`` takes."""

    index: int
    text: str
    source: str
    explainer: str | None
    method: str | None
    scores: dict[str, float]
    origin: str | None
    imported_at: str | None


class SuggestionsJson(TypedDict, closed=True):
    """A feature's suggestions, best scored first."""

    feature_id: int
    model: str
    suggestions: list[SuggestionJson]


def suggestions_result(feature_id: int, model: str, found: Iterable[Suggestion]) -> SuggestionsJson:
    """``labeler suggestions --json`` from a feature's suggestions (best scored first)."""
    return {
        "feature_id": feature_id,
        "model": model,
        "suggestions": [
            {
                "index": i,
                "text": s.text,
                "source": s.source,
                "explainer": s.explainer,
                "method": s.method,
                "scores": dict(s.scores),
                "origin": s.origin,
                "imported_at": s.imported_at,
            }
            for i, s in enumerate(found, start=1)
        ],
    }
