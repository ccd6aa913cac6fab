"""Similar features with what a labeler needs to judge them at a glance.

For each neighbour: its similarity, its label name, or when unlabeled the three token families
most common in its core (its examples at 25-75% of its effective max; all its nonzero examples
when its core is empty), and its queue state: ``pending``, ``claimed`` (pending under a live
lease, with the owner), ``completed``, ``skipped``, or None when it is not in the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

import numpy as np

from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.derived import memoized
from labeler_tui.core.analysis.example_sets import example_sets
from labeler_tui.core.data import ModelData
from labeler_tui.core.results.analysis import NeighbourJson, QueueStatus
from labeler_tui.core.stores.labels import LabelBook
from labeler_tui.core.stores.queue import QueueState

CORE_FAMILIES = 3


@dataclass(frozen=True)
class Neighbour:
    """One similar feature; ``to_json()`` is an item of ``labeler similar --json``."""

    feature_id: int
    similarity: float
    label: str | None
    core_families: tuple[str, ...] | None
    """Its most common core families, for an unlabeled neighbour (None when labeled)."""
    queue: str | None
    """``pending``, ``claimed``, ``completed``, ``skipped`` or None (not in the queue)."""
    claimed_by: str | None = None
    claim_expires: str | None = None

    def to_json(self) -> NeighbourJson:
        return {
            "feature_id": self.feature_id,
            "similarity": self.similarity,
            "label": self.label,
            "core_families": None if self.core_families is None else list(self.core_families),
            "queue": cast(QueueStatus | None, self.queue),
            "claimed_by": self.claimed_by,
            "claim_expires": self.claim_expires,
        }


def core_families(data: ModelData, feature_id: int, n: int = CORE_FAMILIES) -> tuple[str, ...]:
    """The ``n`` families held by most of the feature's core examples (ties: lower family id);
    all its nonzero examples when its core is empty; () for a dead feature. Cost: the core,
    once per feature and process (the sidebar asks again on every refresh)."""
    known: dict[tuple[int, int], tuple[str, ...]] = memoized(data, "core_families", dict)
    key = (int(feature_id), int(n))
    if key not in known:
        known[key] = _core_families(data, feature_id, n)
    return known[key]


def _core_families(data: ModelData, feature_id: int, n: int) -> tuple[str, ...]:
    activations = data.feature(feature_id)
    eff = R.effective_max(activations.activations)
    if eff is None:
        return ()
    start, stop = R.bounds_from(R.above_counter(activations.activations, eff))[R.CORE]
    rows = activations.rows_between(int(start), int(stop))
    if not len(rows):
        rows = activations.rows
    table = example_sets(data)
    families = table.gather(rows)[:, table.token_width :].astype(np.int64) - table.family_offset
    counts = np.bincount(families.reshape(-1), minlength=table.n_families + 1)[: table.n_families]
    held = np.flatnonzero(counts)
    order = held[np.lexsort((held, -counts[held]))][:n]
    return tuple(data.family_names[i] for i in order)


def describe_neighbours(
    data: ModelData,
    neighbours: list[tuple[int, float]],
    labels: LabelBook,
    queue: QueueState,
    now: datetime,
) -> list[Neighbour]:
    """The neighbours (feature id, similarity), best first, with their label or core families
    and their queue state at ``now``. A label is read by name only, so one malformed record
    (reported where it is opened) never hides the neighbours."""
    pending = {entry.feature_id: entry for entry in queue.entries}
    completed = set(queue.completed)
    skipped = {record.feature_id for record in queue.skipped}
    out = []
    for feature_id, similarity in neighbours:
        name = labels.name(feature_id)
        entry = pending.get(feature_id)
        claimed = entry is not None and entry.claim_live(now)
        if claimed:
            state: str | None = "claimed"
        elif entry is not None:
            state = "pending"
        elif feature_id in completed:
            state = "completed"
        elif feature_id in skipped:
            state = "skipped"
        else:
            state = None
        out.append(
            Neighbour(
                feature_id=int(feature_id),
                similarity=float(similarity),
                label=name,
                core_families=None if name else core_families(data, feature_id),
                queue=state,
                claimed_by=entry.claimed_by if claimed and entry is not None else None,
                claim_expires=entry.claim_expires if claimed and entry is not None else None,
            )
        )
    return out
