"""Progress figures of one model: labels over time, the importance x interpretability quadrants
and importance-weighted coverage.

Pure functions over label records, history events and decoder norms, so the progress screen only
renders and the numbers are tested without a terminal. The quadrants are the analysis engine's
(:mod:`labeler_tui.core.analysis.quadrant`, docs/analysis.md, "Quadrants"), so the progress screen and the
feature detail name them alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from labeler_tui.core.analysis.importance import importance_percentiles
from labeler_tui.core.analysis.quadrant import QUADRANTS, quadrant

UNKNOWN = "unknown"
"""Labeled features without an importance (no decoder) or an interpretability confidence."""

QUADRANT_KEYS: tuple[str, ...] = (*QUADRANTS, UNKNOWN)
"""The quadrants of :mod:`labeler_tui.core.analysis.quadrant` (the names the detail pane shows),
then ``unknown``, in display order."""

LABEL_CHANGING_ACTIONS = frozenset({"label", "clear", "sync"})
"""History actions whose before/after are label records (None = no label)."""


def _number(value: Any) -> float | None:
    """A finite number from a record field, else None (missing, null, text, bool, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def quadrant_counts(
    labels: Mapping[int, Mapping[str, Any]], importance: np.ndarray | None
) -> dict[str, int]:
    """How many labeled features fall in each quadrant (every key of QUADRANT_KEYS, zeros
    included).

    Importance comes from ``importance`` (percentile per feature id, computed from the decoder)
    when given, else from the record's stored ``importance_percentile``; interpretability is the
    record's ``interpretability_confidence``.
    """
    counts = dict.fromkeys(QUADRANT_KEYS, 0)
    for feature_id, record in labels.items():
        imp: float | None
        if importance is not None and 0 <= feature_id < len(importance):
            imp = _number(float(importance[feature_id]))
        else:
            imp = _number(record.get("importance_percentile"))
        name = quadrant(imp, _number(record.get("interpretability_confidence")))
        counts[name or UNKNOWN] += 1
    return counts


def weighted_coverage(labeled_ids: Iterable[int], decoder_norms: np.ndarray | None) -> float | None:
    """Share (0..1) of the total decoder-norm mass held by labeled features; None without a decoder.

    Labeling the few features that carry most of the decoder mass counts for more than labeling
    many tiny ones, which the plain labeled/total ratio hides.
    """
    if decoder_norms is None:
        return None
    norms = np.asarray(decoder_norms, dtype=np.float64)
    total = float(norms.sum())
    if total <= 0.0:
        return 0.0
    ids = np.fromiter((i for i in set(labeled_ids) if 0 <= i < len(norms)), dtype=np.int64)
    return float(norms[ids].sum()) / total


@dataclass(frozen=True)
class DayProgress:
    """One calendar day (UTC, ``YYYY-MM-DD``) of the history."""

    day: str
    labeled: int
    """Labels saved that day (new labels and relabels)."""
    total: int
    """Features labeled at the end of that day."""


def labels_over_time(events: Iterable[Mapping[str, Any]]) -> list[DayProgress]:
    """Per day with label activity: labels saved and the labeled-feature total at day's end.

    Replays the history: ``label`` and ``sync`` events with a record ``after`` label a feature,
    ``clear`` unlabels it, and an ``undo`` restores the ``before`` of the event it reverts (only
    for those label-changing actions; undoing a skip or an add leaves labels as they were).
    """
    by_id: dict[str, Mapping[str, Any]] = {}
    labeled: set[int] = set()
    days: dict[str, list[int]] = {}
    for event in events:
        event_id = event.get("id")
        if isinstance(event_id, str):
            by_id[event_id] = event
        action = event.get("action")
        feature_id = event.get("feature_id")
        ts = event.get("ts")
        if not isinstance(feature_id, int) or not isinstance(ts, str) or len(ts) < 10:
            continue
        saved = 0
        if action in LABEL_CHANGING_ACTIONS:
            is_labeled = event.get("after") is not None
            saved = int(action == "label" and is_labeled)
        elif action == "undo":
            undone = by_id.get(str(event.get("undoes")))
            if undone is None or undone.get("action") not in LABEL_CHANGING_ACTIONS:
                continue
            is_labeled = undone.get("before") is not None
        else:
            continue
        if is_labeled:
            labeled.add(feature_id)
        else:
            labeled.discard(feature_id)
        day = days.setdefault(ts[:10], [0, 0])
        day[0] += saved
        day[1] = len(labeled)
    return [DayProgress(day, saved, total) for day, (saved, total) in sorted(days.items())]


@dataclass(frozen=True)
class ProgressReport:
    """Everything the progress screen shows, computed off the UI thread."""

    n_features: int
    labeled: int
    by_category: dict[str, int]
    by_source: dict[str, int]
    queue: dict[str, int]
    quadrants: dict[str, int]
    weighted_coverage: float | None
    days: list[DayProgress]

    @property
    def labeled_share(self) -> float:
        """Plain coverage: labeled features / all features (0..1)."""
        return self.labeled / self.n_features if self.n_features else 0.0


def progress_report(
    status: Mapping[str, Any],
    labels: Mapping[int, Mapping[str, Any]],
    events: Iterable[Mapping[str, Any]],
    decoder_norms: np.ndarray | None,
    n_features: int,
) -> ProgressReport:
    """Combine the service's ``status()``, ``labels()`` and ``history()`` with the decoder norms."""
    label_counts = status.get("labels", {})
    return ProgressReport(
        n_features=n_features,
        labeled=len(labels),
        by_category=dict(label_counts.get("by_category", {})),
        by_source=dict(label_counts.get("by_source", {})),
        queue=dict(status.get("queue", {})),
        quadrants=quadrant_counts(labels, importance_percentiles(decoder_norms)),
        weighted_coverage=weighted_coverage(labels.keys(), decoder_norms),
        days=labels_over_time(events),
    )
