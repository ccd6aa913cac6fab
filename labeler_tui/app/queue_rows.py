"""The rows of the queue pane for each view, built from one queue snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

from labeler_tui.app.messages import QueueSnapshot
from labeler_tui.app.widgets.queue_list import QueueRow

QUEUE_VIEWS = ("pending", "completed", "skipped")


def build_rows(
    view: str, snapshot: QueueSnapshot, owner: str, now: datetime | None = None
) -> list[QueueRow]:
    """The rows of one queue view (pending entries, completed or skipped features)."""
    moment = now or datetime.now(UTC)
    if view == "pending":
        rows = []
        for e in snapshot.entries:
            live = e.claim_live(moment) if hasattr(e, "claim_live") else bool(e.claimed_by)
            claimed = e.claimed_by if live else None
            rows.append(
                QueueRow(e.feature_id, e.priority, e.reason, claimed, mine=claimed == owner)
            )
        return rows
    if view == "completed":
        return [
            QueueRow(fid, None, snapshot.labels.name(fid)) for fid in reversed(snapshot.completed)
        ]
    return [
        QueueRow(s.feature_id, None, s.reason or "(no reason)") for s in reversed(snapshot.skipped)
    ]
