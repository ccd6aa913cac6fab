"""Similar features with content: label, or top core families when unlabeled; queue state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import write_tiny_workspace
from direct import family, read_workspace

from labeler_tui.core.analysis.similarity import similar_features
from labeler_tui.core.evidence.neighbours import core_families
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_tiny_workspace(tmp_path / "ws", n_features=14, n_examples=400, seed=4)
    return tmp_path / "ws"


def test_core_families_are_the_most_common_in_the_core(root: Path) -> None:
    direct = read_workspace(root)
    data = Workspace.open(root).data()
    order = {}
    for name in direct.vocab:
        order.setdefault(family(name), len(order))
    for feature in range(13):
        core = direct.regions(feature)["core"] or list(direct.acts[feature])
        counts: dict[str, int] = {}
        for e in core:
            for fam in direct.families_of(e):
                counts[fam] = counts.get(fam, 0) + 1
        expected = sorted(counts, key=lambda f: (-counts[f], order[f]))[:3]
        assert list(core_families(data, feature)) == expected
    assert core_families(data, 13) == ()  # dead


def test_neighbours_carry_label_families_and_queue_state(root: Path) -> None:
    ws = Workspace.open(root)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    service = LabelingService(ws, owner="me", clock=lambda: now)
    found = similar_features(ws.data(), 0, "decoder", top_k=6)
    ids = [f for f, _ in found]
    labeled, pending, claimed, skipped, completed, untouched = ids
    service.set_label(labeled, LabelEdit("Swim kit", "tactical"))  # also completes it
    service.add([pending, claimed, completed], priority=0.5)
    LabelingService(ws, owner="agent-7", clock=lambda: now).claim(claimed, ttl=600)
    service.skip(skipped, reason="unclear")
    service.complete(completed)
    result = service.similar(0, "decoder", top_k=6)
    assert [(n.feature_id, n.similarity) for n in result] == [
        (f, pytest.approx(s)) for f, s in found
    ]
    by_id = {n.feature_id: n for n in result}
    assert by_id[labeled].label == "Swim kit" and by_id[labeled].core_families is None
    assert by_id[labeled].queue == "completed"
    assert by_id[pending].queue == "pending" and by_id[pending].claimed_by is None
    assert (by_id[claimed].queue, by_id[claimed].claimed_by) == ("claimed", "agent-7")
    assert by_id[skipped].queue == "skipped" and by_id[completed].queue == "completed"
    assert by_id[untouched].queue is None
    data = ws.data()
    assert by_id[untouched].core_families == core_families(data, untouched)
    doc = by_id[claimed].to_json()
    assert set(doc) == {
        "feature_id", "similarity", "label", "core_families", "queue", "claimed_by",
        "claim_expires",
    }  # fmt: skip
    later = LabelingService(ws, owner="me", clock=lambda: now + timedelta(hours=1))
    assert {n.feature_id: n.queue for n in later.similar(0, "decoder", 6)}[claimed] == "pending"
