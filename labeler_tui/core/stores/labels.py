"""The consolidated label store: ``labels/consolidated_{model}.json``.

An object keyed by the feature id as a string; each value is a label record with the fields of
DESIGN.md. Records written by SplatNLP may lack the newer fields: they load as they are, and the
missing fields are added (null) the next time that record is saved. Unknown fields are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labeler_tui.core.errors import StoreError
from labeler_tui.core.stores.jsonfile import JsonCache

RECORD_FIELDS = (
    "feature_id",
    "model_type",
    "dashboard_name",
    "dashboard_category",
    "dashboard_notes",
    "display_name",
    "last_updated",
    "source",
    "hypothesis_confidence",
    "importance_percentile",
    "interpretability_confidence",
    "stability_score",
    "research_label",
    "research_state_path",
)
"""Every field of a label record, in DESIGN.md order (exports use this order)."""


def check_labels(path: Path, raw: Any) -> None:
    """The shape of a freshly parsed label store: ``{"<id>": {...}}``."""
    if not isinstance(raw, dict):
        raise StoreError(
            f"{path}: expected a JSON object keyed by feature id, got {type(raw).__name__}; "
            "the file was left unchanged"
        )
    for key, record in raw.items():
        if not key.isdigit():
            raise StoreError(
                f"{path}: key {key!r} is not a feature id; the file was left unchanged"
            )
        if not isinstance(record, dict):
            raise StoreError(
                f"{path}: record {key!r} is {type(record).__name__}, expected an object; "
                "the file was left unchanged"
            )


def read_labels(cache: JsonCache, path: Path) -> dict[str, dict[str, Any]]:
    """The store as ``{"<id>": record}`` (empty when the file does not exist yet).

    The returned mapping and records are shared with the cache: copy before changing them."""
    raw = cache.read(path, check_labels)
    return {} if raw is None else raw


def record_feature_id(key: str, record: dict[str, Any]) -> int:
    value = record.get("feature_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(key)


def label_name(record: dict[str, Any] | None) -> str | None:
    """The record's display name (dashboard_name, then display_name, then research_label)."""
    if not record:
        return None
    for key in ("dashboard_name", "display_name", "research_label"):
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def build_record(
    existing: dict[str, Any] | None,
    *,
    feature_id: int,
    model: str,
    name: str,
    category: str | None,
    notes: str | None,
    source: str,
    timestamp: str,
    importance_percentile: float | None,
    interpretability_confidence: float | None,
    hypothesis_confidence: float | None,
    stability_score: float | None,
    research_label: str | None,
    research_state_path: str | None,
) -> dict[str, Any]:
    """A new record for a saved label: given values win, then the existing record's, then
    defaults (category "none", empty notes, null scores). Unknown fields are carried over."""
    record = dict(existing or {})
    for key in RECORD_FIELDS:
        record.setdefault(key, None)

    def pick(key: str, given: Any, default: Any = None) -> Any:
        if given is not None:
            return given
        current = record.get(key)
        return default if current is None else current

    record.update(
        feature_id=feature_id,
        model_type=model,
        dashboard_name=name,
        display_name=name,
        dashboard_category=pick("dashboard_category", category, "none"),
        dashboard_notes=pick("dashboard_notes", notes, ""),
        last_updated=timestamp,
        source=source,
        interpretability_confidence=pick(
            "interpretability_confidence", interpretability_confidence
        ),
        hypothesis_confidence=pick("hypothesis_confidence", hypothesis_confidence),
        stability_score=pick("stability_score", stability_score),
        research_label=pick("research_label", research_label),
        research_state_path=pick("research_state_path", research_state_path),
    )
    if importance_percentile is not None:
        record["importance_percentile"] = importance_percentile
    return record
