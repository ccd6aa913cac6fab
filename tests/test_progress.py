"""Progress figures: quadrants, importance-weighted coverage, labels over time."""

from __future__ import annotations

import numpy as np
import pytest

from labeler_tui.core.progress import (
    QUADRANTS,
    DayProgress,
    labels_over_time,
    quadrant,
    quadrant_counts,
    weighted_coverage,
)


@pytest.mark.parametrize(
    ("importance", "interpretability", "expected"),
    [
        (95.0, 0.9, "strong"),
        (95.0, 0.3, "mysterious"),
        (5.0, 0.85, "weak"),
        (5.0, 0.1, "skip"),
        (50.0, 0.9, "middle"),
        (95.0, 0.6, "middle"),
        (80.0, 0.9, "middle"),  # thresholds are strict: 80 is not "high"
        (20.0, 0.2, "middle"),
        (95.0, 0.8, "middle"),
        (5.0, 0.5, "middle"),
        (None, 0.9, "unknown"),
        (95.0, None, "unknown"),
        (float("nan"), 0.9, "unknown"),
    ],
)
def test_quadrant_thresholds(
    importance: float | None, interpretability: float | None, expected: str
) -> None:
    assert quadrant(importance, interpretability) == expected


def test_quadrant_counts_use_decoder_importance_over_stored_field() -> None:
    importance = np.array([90.0, 10.0, 85.0, 50.0, 15.0])
    labels = {
        0: {"interpretability_confidence": 0.9, "importance_percentile": 1.0},  # decoder wins
        1: {"interpretability_confidence": 0.2},
        2: {"interpretability_confidence": 0.1},
        3: {"interpretability_confidence": 0.95},
        4: {"interpretability_confidence": None},
    }
    counts = quadrant_counts(labels, importance)
    assert list(counts) == [key for key, _ in QUADRANTS]
    assert counts == {
        "strong": 1,
        "mysterious": 1,
        "weak": 0,
        "skip": 1,
        "middle": 1,
        "unknown": 1,
    }


def test_quadrant_counts_fall_back_to_stored_importance_without_decoder() -> None:
    labels = {
        7: {"interpretability_confidence": 0.85, "importance_percentile": 9.3},
        8: {"interpretability_confidence": 0.85},
        9: {"interpretability_confidence": True, "importance_percentile": 99.0},  # not a number
    }
    counts = quadrant_counts(labels, None)
    assert counts["weak"] == 1
    assert counts["unknown"] == 2
    assert sum(counts.values()) == 3


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
