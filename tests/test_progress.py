"""Progress figures: quadrants, importance-weighted coverage, labels over time."""

from __future__ import annotations

import numpy as np
import pytest

from labeler_tui.core.analysis.quadrant import IN_BETWEEN, MYSTERIOUS, SKIP, STRONG, WEAK
from labeler_tui.core.progress import (
    QUADRANT_KEYS,
    UNKNOWN,
    DayProgress,
    labels_over_time,
    quadrant_counts,
    weighted_coverage,
)


def test_quadrant_counts_use_decoder_importance_over_stored_field() -> None:
    importance = np.array([90.0, 10.0, 85.0, 50.0, 15.0, 80.0, 95.0])
    labels = {
        0: {"interpretability_confidence": 0.9, "importance_percentile": 1.0},  # decoder wins
        1: {"interpretability_confidence": 0.2},
        2: {"interpretability_confidence": 0.1},
        3: {"interpretability_confidence": 0.95},
        4: {"interpretability_confidence": None},
        5: {"interpretability_confidence": 0.9},  # 80 is not "high": strict thresholds
        6: {"interpretability_confidence": float("nan")},
    }
    counts = quadrant_counts(labels, importance)
    assert list(counts) == list(QUADRANT_KEYS)
    assert counts == {
        STRONG: 1,
        MYSTERIOUS: 1,
        WEAK: 0,
        SKIP: 1,
        IN_BETWEEN: 2,
        UNKNOWN: 2,
    }


def test_quadrant_counts_fall_back_to_stored_importance_without_decoder() -> None:
    labels = {
        7: {"interpretability_confidence": 0.85, "importance_percentile": 9.3},
        8: {"interpretability_confidence": 0.85},
        9: {"interpretability_confidence": True, "importance_percentile": 99.0},  # not a number
        10: {"interpretability_confidence": 0.3, "importance_percentile": 99.0},
    }
    counts = quadrant_counts(labels, None)
    assert counts[WEAK] == 1
    assert counts[MYSTERIOUS] == 1
    assert counts[UNKNOWN] == 2
    assert sum(counts.values()) == 4


def test_weighted_coverage_is_the_labeled_share_of_decoder_mass() -> None:
    norms = np.array([4.0, 1.0, 3.0, 2.0])
    assert weighted_coverage([0, 2], norms) == pytest.approx(7.0 / 10.0)
    assert weighted_coverage([1, 1, 99, -1], norms) == pytest.approx(0.1)  # dupes/out of range
    assert weighted_coverage([], norms) == 0.0
    assert weighted_coverage([0], None) is None
    assert weighted_coverage([0], np.zeros(3)) == 0.0


def _event(
    eid: str, ts: str, action: str, fid: int, before=None, after=None, undoes: str | None = None
) -> dict:
    event = {"id": eid, "ts": ts, "action": action, "feature_id": fid}
    event["before"], event["after"] = before, after
    if undoes:
        event["undoes"] = undoes
    return event


def test_labels_over_time_replays_labels_clears_and_undos() -> None:
    rec = {"dashboard_name": "x"}
    events = [
        _event("e1", "2026-11-20T09:00:00+00:00", "label", 1, None, rec),
        _event("e2", "2026-11-20T10:00:00+00:00", "label", 2, None, rec),
        _event("e3", "2026-11-20T11:00:00+00:00", "label", 1, rec, rec),  # relabel
        _event("e4", "2026-11-20T11:30:00+00:00", "claim", 3),
        _event("e5", "2026-11-22T08:00:00+00:00", "skip", 3),
        _event("e6", "2026-11-22T09:00:00+00:00", "label", 3, None, rec),
        _event("e7", "2026-11-22T09:05:00+00:00", "undo", 3, rec, None, undoes="e6"),
        _event("e8", "2026-11-22T09:06:00+00:00", "undo", 3, undoes="e5"),  # skip undone
        _event("e9", "2026-11-23T12:00:00+00:00", "clear", 2, rec, None),
        _event("e10", "2026-11-23T12:30:00+00:00", "sync", 4, None, rec),
    ]
    assert labels_over_time(events) == [
        DayProgress("2026-11-20", labeled=3, total=2),
        DayProgress("2026-11-22", labeled=1, total=2),
        DayProgress("2026-11-23", labeled=0, total=2),
    ]


def test_labels_over_time_ignores_malformed_events() -> None:
    events = [
        {"action": "label", "feature_id": "5", "ts": "2026-11-20T09:00:00"},
        {"action": "label", "feature_id": 5},
        {"action": "label", "feature_id": 6, "ts": "2026-11-21T09:00:00", "after": {}},
    ]
    assert labels_over_time(events) == [DayProgress("2026-11-21", labeled=1, total=1)]
    assert labels_over_time([]) == []
