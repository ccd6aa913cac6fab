"""Working in a shared workspace: claims bind writers, stale drafts are refused, undo is
yours by default, research states in both layouts; several processes at once."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labeler_tui.core.errors import ClaimedError, StaleLabelError
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import NO_LABEL, LabelingService
from labeler_tui.core.workspace import Workspace


def as_owner(ws: Path, owner: str, **options: object) -> LabelingService:
    return LabelingService(Workspace.open(ws), owner=owner, **options)  # type: ignore[arg-type]


def stores(ws: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(ws)): p.read_bytes()
        for folder in ("labels", "dashboard", "state")
        if (ws / folder).exists()
        for p in sorted((ws / folder).rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


# --- claims bind writers ----------------------------------------------------------------------
def test_a_live_claim_of_another_owner_refuses_label_skip_and_clear(tiny_workspace: Path) -> None:
    alice, agent = as_owner(tiny_workspace, "alice"), as_owner(tiny_workspace, "agent-7")
    alice.add([3, 4])
    alice.set_label(4, LabelEdit("four"))
    alice.add([4])  # queued again for relabeling
    agent.claim(3, ttl=600)
    agent.claim(4, ttl=600)
    before = stores(tiny_workspace)
    for write in (
        lambda: alice.set_label(3, LabelEdit("mine")),
        lambda: alice.skip(3, "dull"),
        lambda: alice.clear_label(4),
    ):
        with pytest.raises(ClaimedError, match=r"claimed by agent-7 until 20\d\d-.*--force"):
            write()
    assert stores(tiny_workspace) == before  # nothing written
    assert agent.set_label(3, LabelEdit("the agent's")).name == "the agent's"  # its own claim
    alice.set_label(4, LabelEdit("forced"), force=True)
    assert alice.label(4).name == "forced"


def test_an_expired_claim_binds_nobody(tiny_workspace: Path) -> None:
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    as_owner(tiny_workspace, "alice").add([5])
    as_owner(tiny_workspace, "agent-7", clock=lambda: hour_ago).claim(5, ttl=60)
    assert as_owner(tiny_workspace, "alice").set_label(5, LabelEdit("fine")).name == "fine"


# --- stale drafts -----------------------------------------------------------------------------
def test_a_save_from_a_stale_read_is_refused_with_the_label_stored_now(
    tiny_workspace: Path,
) -> None:
    alice, agent = as_owner(tiny_workspace, "alice"), as_owner(tiny_workspace, "agent-7")
    first = alice.set_label(2, LabelEdit("First"))
    seen = first.last_updated
    assert seen is not None
    agent.set_label(2, LabelEdit("The agent's", source="claude code"))
    before = stores(tiny_workspace)
    with pytest.raises(StaleLabelError, match='now "The agent\'s" by claude code') as caught:
        alice.set_label(2, LabelEdit("Mine"), if_unchanged_since=seen)
    assert caught.value.current.name == "The agent's"  # type: ignore[attr-defined]
    assert stores(tiny_workspace) == before
    now = alice.label(2)
    assert now is not None and now.last_updated is not None
    assert alice.set_label(2, LabelEdit("Mine"), if_unchanged_since=now.last_updated).name == "Mine"


def test_no_label_yet_is_a_reading_too(tiny_workspace: Path) -> None:
    alice, agent = as_owner(tiny_workspace, "alice"), as_owner(tiny_workspace, "agent-7")
    assert alice.set_label(6, LabelEdit("new"), if_unchanged_since=NO_LABEL).name == "new"
    agent.set_label(7, LabelEdit("theirs"))
    with pytest.raises(StaleLabelError, match="feature 7: the label changed since no label"):
        alice.set_label(7, LabelEdit("mine"), if_unchanged_since=NO_LABEL)


# --- undo is yours ----------------------------------------------------------------------------
def test_undo_reverts_your_newest_change_not_a_newer_one_of_someone_else(
    tiny_workspace: Path,
) -> None:
    alice, agent = as_owner(tiny_workspace, "alice"), as_owner(tiny_workspace, "agent-7")
    alice.set_label(1, LabelEdit("alice's"))
    agent.set_label(2, LabelEdit("the agent's"))
    undone = alice.undo()
    assert [(e["feature_id"], e["undone_owner"], e["owner"]) for e in undone] == [
        (1, "alice", "alice")
    ]
    assert alice.label(1) is None and alice.label(2) is not None
    assert alice.undo() == []  # alice has nothing left to undo
    anyone = alice.undo(any_owner=True)
    assert [(e["feature_id"], e["undone_owner"]) for e in anyone] == [(2, "agent-7")]
    assert alice.label(2) is None


# --- research states in both layouts ----------------------------------------------------------
def _state(path: Path, label: str, updated_at: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"feature_label": label, "updated_at": updated_at, "x": 1}))


def test_research_states_in_either_layout_newer_wins_label_updates_both(
    tiny_workspace: Path,
) -> None:
    service = as_owner(tiny_workspace, "alice")
    root = tiny_workspace / "state"
    nested, flat = root / "tiny" / "feature_3_tiny.json", root / "feature_3_tiny.json"
    _state(flat, "from the manager", "2030-01-02T00:00:00")  # newer (naive: local time)
    _state(nested, "from the consolidator", "2030-01-01T00:00:00")
    _state(root / "feature_4_tiny.json", "flat only", "2030-01-01T00:00:00")
    result = service.sync()
    labels = service.labels()
    assert labels[3].research_label == "from the manager"
    assert labels[3].research_state_path == str(flat)
    assert labels[4].research_label == "flat only"
    assert {c["feature_id"] for c in result.changes} == {3, 4}
    record = service.set_label(3, LabelEdit("named"))
    for path in (nested, flat):
        state = json.loads(path.read_text())
        assert (state["feature_label"], state["x"]) == ("named", 1)
        assert state["updated_at"] == record.last_updated
    service.set_label(5, LabelEdit("none exists"))
    assert sorted(p.name for p in root.rglob("*.json")) == [
        "feature_3_tiny.json",
        "feature_3_tiny.json",
        "feature_4_tiny.json",
    ]  # never created


# --- several processes ------------------------------------------------------------------------
def _cli(ws: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from labeler_tui.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "--workspace", str(ws), *argv],
        capture_output=True,
        text=True,
        check=False,
    )


def test_processes_an_agent_claim_binds_a_writer_and_a_stale_agent_is_refused(
    tiny_workspace: Path,
) -> None:
    ws = tiny_workspace
    assert _cli(ws, "add", "3,4", "--owner", "alice").returncode == 0
    served = _cli(ws, "next", "--claim", "--owner", "agent-1", "--json")
    claimed = json.loads(served.stdout)["feature_id"]
    refused = _cli(ws, "label", "-f", str(claimed), "-n", "x", "--owner", "alice")
    assert refused.returncode == 1 and "claimed by agent-1" in refused.stderr
    assert refused.stderr.count("\n") == 1  # one line
    queue = json.loads((ws / "labels" / "queue_tiny.json").read_text())
    keys = {"feature_id", "model_type", "priority", "reason", "added_at"}
    assert all(set(e) == keys for e in queue["entries"])  # SplatNLP's loader takes exactly these
    assert queue["claims"][str(claimed)]["owner"] == "agent-1"

    read = json.loads(_cli(ws, "label", "-f", "6", "-n", "v1", "--json").stdout)
    assert _cli(ws, "label", "-f", "6", "-n", "v2 by someone").returncode == 0
    stale = _cli(ws, "label", "-f", "6", "-n", "v3", "--if-unchanged-since", read["last_updated"])
    assert stale.returncode == 1 and "v2 by someone" in stale.stderr
    labels = json.loads((ws / "labels" / "consolidated_tiny.json").read_text())
    assert labels["6"]["display_name"] == "v2 by someone"
