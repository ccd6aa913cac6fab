"""Results of the history commands: ``history`` (events) and ``undo``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NotRequired, cast

from typing_extensions import TypedDict

from labeler_tui.core.results.labels import SyncChangeJson

Action = Literal["label", "clear", "sync", "add", "skip", "complete", "claim", "release", "undo"]


class _EventFields(TypedDict):
    """The keys of a history event (an event and an undo's result share them)."""

    id: str
    ts: str
    action: Action
    feature_id: int
    source: str | None
    owner: str | None
    before: Any
    after: Any
    batch: NotRequired[str]
    """Shared by the events one call wrote; undo reverts them together."""
    undoes: NotRequired[str | None]
    undone_action: NotRequired[str | None]
    undone_owner: NotRequired[str | None]
    queue_before: NotRequired[Any]
    queue_after: NotRequired[Any]
    dashboard_before: NotRequired[Any]
    dashboard_after: NotRequired[Any]
    research_before: NotRequired[str | None]
    research_after: NotRequired[str | None]
    changes: NotRequired[list[SyncChangeJson]]
    label: NotRequired[str | None]


class EventJson(_EventFields, closed=True):
    """One change of the history (docs/formats.md, "History"). ``before`` and ``after`` are the
    label record (``label``, ``clear``, ``sync``) or the feature's queue state (the other
    actions); the optional keys appear with the actions that write them."""


class UndoJson(_EventFields, closed=True):
    """The newest compensating event an undo wrote, and every feature it reverted."""

    undone_feature_ids: list[int]


def events_result(events: Sequence[dict[str, Any]]) -> list[EventJson]:
    """``labeler history --json``: the events as read."""
    return cast(list[EventJson], list(events))


def undo_result(events: Sequence[dict[str, Any]]) -> UndoJson | None:
    """``labeler undo --json``: the newest compensating event plus every feature the undo
    reverted, or None when there was nothing to undo."""
    if not events:
        return None
    undone = sorted(int(event["feature_id"]) for event in events)
    return cast(UndoJson, {**events[-1], "undone_feature_ids": undone})
