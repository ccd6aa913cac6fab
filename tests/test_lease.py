"""Lease: the one claim a session holds, made to match the latest wish from any thread."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

from labeler_tui.core.lease import Lease
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


def claims(ws: Path) -> dict[int, str]:
    """Who holds a live claim on which feature, read from the queue file."""
    queue = json.loads((ws / "labels" / "queue_tiny.json").read_text())
    return {int(k): claim["owner"] for k, claim in queue["claims"].items()}


def lease_of(ws: Path, owner: str) -> Lease:
    return Lease(LabelingService(Workspace.open(ws), owner=owner))


def test_sync_claims_the_wish_and_gives_back_the_rest(tiny_workspace: Path) -> None:
    lease = lease_of(tiny_workspace, "alice")
    lease.service.add([1, 2, 3], priority=0.5)
    lease.want(1)
    assert lease.sync().held == 1 and claims(tiny_workspace) == {1: "alice"}
    lease.want(2)
    assert lease.sync().held == 2 and claims(tiny_workspace) == {2: "alice"}
    lease.want(None)
    assert lease.sync().held is None and claims(tiny_workspace) == {}
    lease.want(7)  # not pending: nothing to hold, no error
    assert lease.sync().held is None


def test_a_feature_held_by_another_owner_is_refused(tiny_workspace: Path) -> None:
    alice, bob = lease_of(tiny_workspace, "alice"), lease_of(tiny_workspace, "bob")
    alice.service.add([4, 5], priority=0.5)
    bob.want(4)
    bob.sync()
    alice.want(4)
    state = alice.sync()
    assert (state.held, state.refused, state.holder) == (None, 4, "bob")
    assert claims(tiny_workspace) == {4: "bob"}


def test_interleaved_syncs_end_with_the_last_wish_held(tiny_workspace: Path) -> None:
    """However the workers run, the newest wish wins and nothing stale stays claimed."""
    lease = lease_of(tiny_workspace, "alice")
    lease.service.add(list(range(10)), priority=0.5)
    rng = random.Random(7)
    threads = []
    for _ in range(30):
        lease.want(rng.randrange(10))
        thread = threading.Thread(target=lease.sync)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    lease.sync()
    assert claims(tiny_workspace) == {lease.wanted: "alice"} and lease.held == lease.wanted


def test_take_next_dropped_and_release(tiny_workspace: Path) -> None:
    lease = lease_of(tiny_workspace, "alice")
    lease.service.add([6], priority=0.9)
    lease.service.add([8], priority=0.1)
    entry = lease.take_next()
    assert entry is not None and entry.feature_id == 6
    assert (lease.held, lease.wanted) == (6, 6) and claims(tiny_workspace) == {6: "alice"}
    lease.service.set_label(6, LabelEdit("six"))  # labeling completes it
    lease.dropped(6)
    assert lease.held is None and claims(tiny_workspace) == {}
    lease.want(8)
    lease.sync()
    lease.release()
    assert lease.held is None and claims(tiny_workspace) == {}
