"""Adding features to the queue: what an add may change (docs/formats.md, "Adding to the queue").

An explicit add of ids (``labeler add IDS``, ``a`` on one feature, the Python API) keeps the
original tool's rules: a skipped feature is queued again, and ours: a completed (or labeled)
one is queued again for relabeling. A bulk add (``A`` on a similar list, ``build-queue``) never
queues a skipped or completed feature again and never replaces a pending entry's reason; a
relabeling build (``mysterious``, ``--include-labeled``) may queue labeled features again, never
skipped ones. Whatever the kind, a pending entry changes only when the new priority is higher:
nobody's queue is demoted by accident.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from labeler_tui.core.results.queue import AddJson
from labeler_tui.core.stores.transaction import Transaction


class AddKind(enum.Enum):
    EXPLICIT = "explicit"
    BULK = "bulk"
    RELABEL = "relabel"


@dataclass
class AddResult:
    """What one add did, feature by feature (each id in one list)."""

    queued: list[int] = field(default_factory=list)
    """New pending entries."""
    raised: list[int] = field(default_factory=list)
    """Pending entries given a higher priority."""
    requeued: list[int] = field(default_factory=list)
    """Skipped features queued again."""
    relabel: list[int] = field(default_factory=list)
    """Completed or labeled features queued again for relabeling."""
    pending: list[int] = field(default_factory=list)
    """Already pending, left as they were (the new priority was not higher)."""
    left_skipped: list[int] = field(default_factory=list)
    """Skipped features a bulk add left as they are."""
    left_done: list[int] = field(default_factory=list)
    """Completed or labeled features a bulk add left as they are."""

    @property
    def changed(self) -> list[int]:
        """Every feature this add queued or moved up, in the order given."""
        moved = set(self.queued) | set(self.raised) | set(self.requeued) | set(self.relabel)
        return [fid for fid in self._order if fid in moved]

    _order: list[int] = field(default_factory=list, repr=False)

    def summary(self) -> str:
        """``3 queued, 9 already pending, 1 skipped left as is``: counts of what happened."""
        parts = [
            (self.queued, "queued"),
            (self.raised, "given a higher priority"),
            (self.requeued, "skipped queued again"),
            (self.relabel, "labeled queued again for relabeling"),
            (self.pending, "already pending"),
            (self.left_skipped, "skipped left as is"),
            (self.left_done, "labeled left as is"),
        ]
        said = [f"{len(ids)} {what}" for ids, what in parts if ids]
        return ", ".join(said) if said else "nothing to add"

    def to_json(self) -> AddJson:
        return {
            "added": self.changed,
            "queued": self.queued,
            "raised": self.raised,
            "requeued": self.requeued,
            "relabel": self.relabel,
            "already_pending": self.pending,
            "left_skipped": self.left_skipped,
            "left_labeled": self.left_done,
            "summary": self.summary(),
        }


def add_to_queue(
    tx: Transaction,
    ids: Iterable[int],
    priority_reason: Callable[[int], tuple[float, str | None]],
    kind: AddKind,
    source: str | None = None,
) -> AddResult:
    """Apply one add inside a transaction (one ``add`` history event per feature changed)."""
    result = AddResult()
    labeled = tx.labeled_ids()
    queue = tx.queue
    for fid in ids:
        result._order.append(fid)
        priority, reason = priority_reason(fid)
        status = queue.status(fid)
        done = status == "completed" or (status is None and fid in labeled)
        before = queue.feature_state(fid)
        if status == "pending":
            current = queue.claim_of(fid)
            assert current is not None
            if priority <= current.priority:
                result.pending.append(fid)
                continue
            keep_reason = kind is not AddKind.EXPLICIT  # a bulk add never rewrites a reason
            queue.add(fid, priority, current.reason if keep_reason else reason, tx.ts)
            result.raised.append(fid)
        elif status == "skipped":
            if kind is not AddKind.EXPLICIT:
                result.left_skipped.append(fid)
                continue
            queue.add(fid, priority, reason, tx.ts)
            result.requeued.append(fid)
        elif done:
            if kind is AddKind.BULK:
                result.left_done.append(fid)
                continue
            queue.add(fid, priority, reason, tx.ts)
            result.relabel.append(fid)
        else:
            queue.add(fid, priority, reason, tx.ts)
            result.queued.append(fid)
        tx.touch_queue()
        tx.event("add", fid, before, queue.feature_state(fid), source=source)
    return result
