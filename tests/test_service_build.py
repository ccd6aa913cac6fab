"""build_queue and next(build=True) with the real queue builders on the tiny workspace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labeler_tui.core.errors import ValidationError
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


@pytest.fixture
def service(tiny_workspace: Path) -> LabelingService:
    return LabelingService(Workspace.open(tiny_workspace))


def test_build_queue_adds_k_new_features_and_leaves_the_rest(service: LabelingService) -> None:
    """The original's rule: --top-k K queues K new features; pending ones keep their priority
    and reason and do not count; labeled and skipped ones are never proposed."""
    counts = np.asarray(service.workspace.data().nonzero_counts)
    ranked = [int(f) for f in np.argsort(-counts, kind="stable") if counts[f] > 0]
    labeled, skipped, pending = ranked[0], ranked[1], ranked[2]
    service.set_label(labeled, LabelEdit("known"))
    service.skip(skipped)
    service.add([pending], priority=0.1, reason="mine")
    result = service.build_queue("activation_count", top_k=4)
    new = [f for f in ranked if f not in (labeled, skipped, pending)][:4]
    assert result.queued == new and result.changed == new
    entries = {e.feature_id: e for e in service.queue().entries}
    assert (entries[pending].priority, entries[pending].reason) == (0.1, "mine")
    top = counts.max()
    for fid in new:
        assert entries[fid].priority == pytest.approx(counts[fid] / top)
    # building again queues the next four, never the same ones twice
    again = service.build_queue("activation_count", top_k=4)
    assert again.queued == [f for f in ranked if f not in (labeled, skipped, pending)][4:8]


def test_include_labeled_requeues_labeled_features(service: LabelingService) -> None:
    counts = np.asarray(service.workspace.data().nonzero_counts)
    top = int(np.argmax(counts))
    service.set_label(top, LabelEdit("known"))
    assert top not in service.build_queue("activation_count", top_k=2).changed
    result = service.build_queue("activation_count", top_k=1, include_labeled=True)
    assert result.relabel == [top]


def test_next_builds_by_activation_count_when_empty(service: LabelingService) -> None:
    counts = np.asarray(service.workspace.data().nonzero_counts)
    assert service.next(build=False) is None
    entry = service.next()
    assert entry.feature_id == int(np.argmax(counts))
    assert entry.priority == pytest.approx(1.0)
    live = int(np.sum(counts > 0))
    assert len(service.queue().entries) == min(50, live)
    assert 11 not in {e.feature_id for e in service.queue().entries}  # the dead feature


def test_mysterious_requeues_important_labeled_features(service: LabelingService) -> None:
    norms = np.linalg.norm(np.load(service.workspace.root / "data/decoder.npy"), axis=1)
    order = [int(f) for f in np.argsort(norms)]
    most, second, low = order[-1], order[-2], order[0]
    service.set_label(most, LabelEdit("unclear", interpretability_confidence=0.2))
    service.set_label(second, LabelEdit("clear", interpretability_confidence=0.9))
    service.set_label(low, LabelEdit("weak and unclear", interpretability_confidence=0.1))
    assert service.build_queue("mysterious").relabel == [most]
    state = service.queue()
    assert [e.feature_id for e in state.entries] == [most]
    assert sorted(state.completed) == sorted([second, low])


def test_cluster_needs_a_valid_seed(service: LabelingService) -> None:
    with pytest.raises(ValidationError, match="out of range"):
        service.build_queue("cluster", seed=99)
    added = service.build_queue("cluster", seed=0, top_k=3).changed
    assert 0 not in added and 1 <= len(added) <= 3
    priorities = [e.priority for e in service.queue().entries]
    assert priorities == sorted(priorities, reverse=True) and all(0 < p <= 1 for p in priorities)
