"""Results of the queue commands: ``next``, ``skip``, ``add`` and ``build-queue``."""

from __future__ import annotations

from typing_extensions import TypedDict

from labeler_tui.core.stores.queue import QueueEntry


class NextJson(TypedDict, closed=True):
    """The next feature of the queue; every value is null when the queue has nothing to serve.
    ``claimed_by`` and ``claim_expires`` name the lease (after ``next --claim``)."""

    feature_id: int | None
    priority: float | None
    reason: str | None
    claimed_by: str | None
    claim_expires: str | None


class SkippedJson(TypedDict, closed=True):
    """The skipped feature and the reason kept with it."""

    feature_id: int
    reason: str | None


class AddJson(TypedDict, closed=True):
    """What one add (or build) did, feature by feature; ``added`` lists every feature queued or
    moved up, in the order given, and ``summary`` counts it in words."""

    added: list[int]
    queued: list[int]
    raised: list[int]
    requeued: list[int]
    relabel: list[int]
    already_pending: list[int]
    left_skipped: list[int]
    left_labeled: list[int]
    summary: str


def next_result(entry: QueueEntry | None) -> NextJson:
    """``labeler next --json``: the entry served (None: the queue had nothing to serve)."""
    if entry is None:
        return NextJson(
            feature_id=None, priority=None, reason=None, claimed_by=None, claim_expires=None
        )
    return NextJson(
        feature_id=entry.feature_id,
        priority=entry.priority,
        reason=entry.reason,
        claimed_by=entry.claimed_by,
        claim_expires=entry.claim_expires,
    )


def skip_result(feature_id: int, reason: str | None) -> SkippedJson:
    """``labeler skip --json``."""
    return SkippedJson(feature_id=feature_id, reason=reason)
