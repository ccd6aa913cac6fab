"""The rows of the queue pane for each view, built from one queue snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

from labeler_tui.app.screens.workbench.messages import QueueSnapshot
from labeler_tui.app.widgets.queue_list import QueueRow

QUEUE_VIEWS = ("pending", "completed", "skipped")


def build_rows(
    view: str, snapshot: QueueSnapshot, owner: str, now: datetime | None = None
) -> list[QueueRow]:
    """The rows of one queue view (pending entries, completed or skipped features)."""
    queue = snapshot.queue
    if view == "pending":
        moment = now or datetime.now(UTC)
        rows = []
        for e in queue.entries:
            claimed = e.claimed_by if e.claim_live(moment) else None
            rows.append(
                QueueRow(e.feature_id, e.priority, e.reason, claimed, mine=claimed == owner)
            )
        return rows
    if view == "completed":
        return [QueueRow(fid, None, snapshot.labels.name(fid)) for fid in reversed(queue.completed)]
    return [
        QueueRow(s.feature_id, None, s.reason or "(no reason)") for s in reversed(queue.skipped)
    ]
