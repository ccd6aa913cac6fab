"""The Python API's values, shaped like the original tool's: timestamps are datetimes, each
value has ``to_dict()``; the core's own value stays reachable (``.record``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from labeler_tui.core.records import LabelRecord
from labeler_tui.core.stores import queue as core_queue
from labeler_tui.core.timestamps import parse_time


@dataclass(frozen=True)
class QueueEntry:
    """One pending feature, as the original's ``QueueEntry`` (``added_at`` a datetime; a
    timestamp without a zone is local time), plus who claims it."""

    feature_id: int
    model_type: str
    priority: float
    reason: str | None
    added_at: datetime | None
    claimed_by: str | None = None
    claim_expires: datetime | None = None

    @classmethod
    def of(cls, entry: core_queue.QueueEntry) -> QueueEntry:
        return cls(
            feature_id=entry.feature_id,
            model_type=entry.model_type,
            priority=entry.priority,
            reason=entry.reason,
            added_at=parse_time(entry.added_at),
            claimed_by=entry.claimed_by,
            claim_expires=parse_time(entry.claim_expires),
        )

    def to_dict(self) -> dict[str, Any]:
        """The original's five keys (``added_at`` as ISO 8601)."""
        return {
            "feature_id": self.feature_id,
            "model_type": self.model_type,
            "priority": self.priority,
            "reason": self.reason,
            "added_at": self.added_at.isoformat() if self.added_at else None,
        }


class ConsolidatedLabel(Mapping[str, Any]):
    """A label record as the original's ``ConsolidatedLabel``: every field as an attribute,
    ``last_updated`` a datetime, ``to_dict()`` the stored JSON. It also reads as that JSON
    (``label["source"]``); ``.record`` is the core's :class:`LabelRecord`."""

    __slots__ = ("record",)

    def __init__(self, record: LabelRecord) -> None:
        self.record = record

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.record, name)

    @property
    def last_updated(self) -> datetime | None:
        return parse_time(self.record.last_updated)

    def to_dict(self) -> dict[str, Any]:
        return self.record.to_json()

    def __getitem__(self, key: str) -> Any:
        return self.record[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.record)

    def __len__(self) -> int:
        return len(self.record)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ConsolidatedLabel):
            return self.record == other.record
        return self.record == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ConsolidatedLabel({self.record.to_json()!r})"


def label_of(record: LabelRecord | None) -> ConsolidatedLabel | None:
    return None if record is None else ConsolidatedLabel(record)


class SimilarFeature(NamedTuple):
    """One similar feature; unpacks like the original's ``(feature_id, similarity)`` tuple."""

    feature_id: int
    similarity: float


__all__ = ["ConsolidatedLabel", "QueueEntry", "SimilarFeature", "label_of"]
