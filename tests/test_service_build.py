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


def test_activation_count_skips_known_features(service: LabelingService) -> None:
    counts = np.asarray(service.workspace.data().nonzero_counts)
    ranked = [int(f) for f in np.argsort(-counts, kind="stable") if counts[f] > 0]
    labeled, skipped, pending, low = ranked[0], ranked[1], ranked[2], ranked[3]
    service.set_label(labeled, LabelEdit("known"))
    service.skip(skipped)
    service.add([pending], priority=0.1)
    service.add([low], priority=1.0)
    added = service.build_queue("activation_count", top_k=4)
    # labeled and skipped features are never proposed; a pending one is re-prioritised upwards
    # (0.1 -> its activation-count priority), one already above its new priority is left alone
    top4 = [f for f in ranked if f not in (labeled, skipped)][:4]
    assert added == [f for f in top4 if f != low]
    assert pending in added and low not in added
    entries = {e.feature_id: e for e in service.queue().entries}
    top = counts.max()
    for fid in added:
        assert entries[fid].priority == pytest.approx(counts[fid] / top)
    assert entries[low].priority == 1.0  # never demoted
    # building again changes nothing: the same candidates are already queued at their priority
    assert service.build_queue("activation_count", top_k=4) == []
    assert {e.feature_id: e.priority for e in service.queue().entries} == {
        fid: e.priority for fid, e in entries.items()
    }


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
    assert service.build_queue("mysterious") == [most]
    state = service.queue()
    assert [e.feature_id for e in state.entries] == [most]
    assert sorted(state.completed) == sorted([second, low])


def test_cluster_needs_a_valid_seed(service: LabelingService) -> None:
    with pytest.raises(ValidationError, match="out of range"):
        service.build_queue("cluster", seed=99)
    added = service.build_queue("cluster", seed=0, top_k=3)
    assert 0 not in added and 1 <= len(added) <= 3
    priorities = [e.priority for e in service.queue().entries]
    assert priorities == sorted(priorities, reverse=True) and all(0 < p <= 1 for p in priorities)
