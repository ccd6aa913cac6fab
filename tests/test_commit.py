"""Crash-consistent changes: a writer killed at each step of a commit, an I/O error in each phase,
read-only and symlinked stores. Kills are simulated in-process: the commit's step hook raises an
exception no cleanup code catches, so the files are left exactly as a SIGKILL there leaves them
(the lock is released, as the kernel releases a dead process's flock)."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import labeler_tui.core.stores.commit as commit_module
from labeler_tui.core.errors import StoreError
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace

STEPS = ["staged", "journal", "history", "renamed 0", "renamed 1", "renamed 2", "renamed 3"]
STEPS += ["applied", "committed"]


class Killed(BaseException):
    """A simulated SIGKILL: derives from BaseException so no rollback code catches it."""


@pytest.fixture
def ws(tiny_workspace: Path) -> Path:
    """A workspace with a label (feature 1), a pending feature (2) with a research state."""
    service = LabelingService(Workspace.open(tiny_workspace))
    service.set_label(1, LabelEdit("first", "tactical", "n1"))
    service.add([2, 3], priority=0.7, reason="cluster")
    state = tiny_workspace / "state" / "tiny" / "feature_2_tiny.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"feature_label": "old", "hypotheses": []}))
    return tiny_workspace


def _files(root: Path) -> dict[str, bytes]:
    """Every file of the stores (temps, backups and the journal included)."""
    out = {}
    for folder in ("labels", "dashboard", "state"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.name != ".labeler.lock":
                out[str(path.relative_to(root))] = path.read_bytes()
    return out


@pytest.fixture
def kill_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Set ``kill_at[0] = step`` to die at that step of the next commit."""
    wanted: list[str] = []

    def step(name: str) -> None:
        if wanted and name == wanted[0]:
            wanted.clear()
            raise Killed(name)

    monkeypatch.setattr(commit_module, "_step", step)
    yield wanted


def _label_2(root: Path) -> None:
    LabelingService(Workspace.open(root)).set_label(2, LabelEdit("second", "mechanical", "n2"))


def _assert_whole_label(root: Path) -> None:
    """Feature 2's label in every store, with its history event."""
    labels = json.loads((root / "labels/consolidated_tiny.json").read_text())
    dashboard = json.loads((root / "dashboard/feature_labels_tiny.json").read_text())
    queue = json.loads((root / "labels/queue_tiny.json").read_text())
    state = json.loads((root / "state/tiny/feature_2_tiny.json").read_text())
    events = [json.loads(line) for line in (root / "labels/history_tiny.jsonl").open()]
    assert labels["2"]["dashboard_name"] == dashboard["2"]["name"] == "second"
    assert 2 in queue["completed"] and state["feature_label"] == "second"
    assert events[-1]["action"] == "label" and events[-1]["after"] == labels["2"]


@pytest.mark.parametrize("step", STEPS)
def test_a_writer_killed_at_any_step_leaves_all_or_nothing(
    ws: Path, kill_at: list[str], step: str
) -> None:
    before = _files(ws)
    kill_at.append(step)
    with pytest.raises(Killed):
        _label_2(ws)
    # the next process reads: it rolls an unfinished change back before reading
    reader = LabelingService(Workspace.open(ws))
    labels = reader.labels()
    if step == "committed":  # killed after the commit mark: the change is whole
        _assert_whole_label(ws)
        assert reader.history()[-1]["action"] == "label"
    else:
        assert 2 not in labels
        after = {k: v for k, v in _files(ws).items() if not k.endswith((".tmp", ".bak"))}
        assert after == before  # byte for byte, history included
    assert not (ws / "labels/.labeler.journal").exists()
    # the next change works and leaves no temp or backup behind
    LabelingService(Workspace.open(ws)).set_label(3, LabelEdit("third"))
    assert not [k for k in _files(ws) if k.endswith((".tmp", ".bak", ".journal"))]


def test_a_killed_writers_change_is_rolled_back_by_the_next_writer(
    ws: Path, kill_at: list[str]
) -> None:
    kill_at.append("renamed 1")
    with pytest.raises(Killed):
        _label_2(ws)
    assert (ws / "labels/.labeler.journal").exists()
    _label_2(ws)  # the same change again, whole this time
    _assert_whole_label(ws)
    events = LabelingService(Workspace.open(ws)).history(feature_id=2)
    assert [e["action"] for e in events] == ["add", "label"]


@pytest.mark.parametrize("phase", ["stage", "journal", "append", "rename"])
def test_an_io_error_in_any_phase_changes_nothing(
    ws: Path, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    before = _files(ws)
    real_write, real_replace = os.write, os.replace
    journal = str(ws / "labels/.labeler.journal")
    calls = {"replace": 0}

    def write(fd: int, data: bytes) -> int:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if (
            (phase == "stage" and name.endswith(".tmp") and "feature_labels" in name)
            or (phase == "journal" and name == journal)
            or (phase == "append" and name.endswith("history_tiny.jsonl"))
        ):
            real_write(fd, bytes(data)[:7])  # a partial write, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    def replace(src: str, dst: str) -> None:
        calls["replace"] += 1
        if phase == "rename" and calls["replace"] == 3:
            raise OSError(errno.EIO, os.strerror(errno.EIO), dst)
        real_replace(src, dst)

    monkeypatch.setattr(commit_module.os, "write", write)
    monkeypatch.setattr(commit_module.os, "replace", replace)
    with pytest.raises(StoreError) as err:
        _label_2(ws)
    monkeypatch.undo()
    message = str(err.value)
    assert "nothing was changed" in message and "\n" not in message
    assert ("No space left" in message) == (phase != "rename")
    named = {
        "stage": "feature_labels_tiny.json",
        "journal": ".labeler.journal",
        "append": "history_tiny.jsonl",
        "rename": "_tiny.json",
    }
    assert message.split(":")[0].endswith(named[phase])  # the file it failed to write
    assert _files(ws) == before  # no temp, backup or journal left either


@pytest.mark.parametrize("store", ["dashboard", "history", "queue", "labels-folder", "dash-folder"])
def test_read_only_stores_and_folders_are_refused_before_anything_is_written(
    ws: Path, store: str
) -> None:
    paths = {
        "dashboard": ws / "dashboard/feature_labels_tiny.json",
        "history": ws / "labels/history_tiny.jsonl",
        "queue": ws / "labels/queue_tiny.json",
        "labels-folder": ws / "labels",
        "dash-folder": ws / "dashboard",
    }
    path = paths[store]
    mode = path.stat().st_mode
    path.chmod(0o555 if path.is_dir() else 0o444)
    before = _files(ws)
    try:
        with pytest.raises(StoreError) as err:
            _label_2(ws)
        assert _files(ws) == before
    finally:
        path.chmod(mode)
    message = str(err.value)
    assert str(path) in message and "read-only" in message and "nothing was written" in message


def test_symlinked_stores_are_written_through_to_their_targets(ws: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir()
    for name in ("consolidated_tiny.json", "history_tiny.jsonl"):
        link = ws / "labels" / name
        (elsewhere / name).write_bytes(link.read_bytes())
        link.unlink()
        link.symlink_to(elsewhere / name)
    _label_2(ws)
    for name in ("consolidated_tiny.json", "history_tiny.jsonl"):
        assert (ws / "labels" / name).is_symlink()
    labels = json.loads((elsewhere / "consolidated_tiny.json").read_text())
    assert labels["2"]["dashboard_name"] == "second"
    assert json.loads((elsewhere / "history_tiny.jsonl").read_text().splitlines()[-1])[
        "action"
    ] == ("label")
    assert not list(elsewhere.glob(".*"))  # temps and backups beside the target went


def test_two_store_paths_on_one_file_are_refused(ws: Path) -> None:
    dashboard = ws / "dashboard/feature_labels_tiny.json"
    dashboard.unlink()
    dashboard.symlink_to(ws / "labels/consolidated_tiny.json")
    before = _files(ws)
    with pytest.raises(StoreError, match="the same file under two store names"):
        _label_2(ws)
    assert _files(ws) == before


def test_a_torn_journal_means_nothing_was_applied(ws: Path) -> None:
    before = _files(ws)
    (ws / "labels/.labeler.journal").write_text('{"version": 1, "files": [{"tar')
    assert 2 not in LabelingService(Workspace.open(ws)).labels()
    assert _files(ws) == before


def test_next_claim_builds_and_claims_in_one_change(tiny_workspace: Path) -> None:
    """An empty queue built by `next --claim` and the claim are one commit: a failure cannot
    leave the build without the claim (the command would exit 1 having changed the queue)."""
    service = LabelingService(Workspace.open(tiny_workspace), owner="agent")
    entry = service.next(claim=True, ttl=60)
    assert entry is not None and entry.claimed_by == "agent"
    events = service.history()
    assert {e["action"] for e in events} == {"add", "claim"}
    assert len({e["batch"] for e in events}) == 1  # written together
