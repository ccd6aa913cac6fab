"""Real processes against one workspace: parallel writers lose nothing, a writer killed with
SIGKILL leaves valid files, a held lock times out with a clear error."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from labeler_tui.core.errors import StoreError
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.stores.history import HistoryLog
from labeler_tui.core.stores.lock import workspace_lock
from labeler_tui.core.workspace import Workspace

SPAWN = multiprocessing.get_context("spawn")
N_WORKERS = 4
PER_WORKER = 10


def _worker(root: str, index: int, start: multiprocessing.Event) -> None:
    service = LabelingService(Workspace.open(root), source=f"worker {index}", owner=f"w{index}")
    start.wait(30)
    base = index * PER_WORKER
    for i in range(PER_WORKER):
        fid = base + i
        if i % 3 == 0:
            service.skip(fid, reason=f"skip by {index}")
        elif i % 3 == 1:
            service.add([fid], priority=0.1 * (i % 10), reason=f"add by {index}")
        else:
            service.set_label(
                fid, LabelEdit(f"label {fid}", "tactical", notes=f"by worker {index}")
            )


def test_parallel_processes_lose_nothing(make_tiny_workspace) -> None:
    root = make_tiny_workspace("par", n_features=N_WORKERS * PER_WORKER)
    Workspace.open(root).data()  # build the index once, before the workers read it
    start = SPAWN.Event()
    procs = [SPAWN.Process(target=_worker, args=(str(root), i, start)) for i in range(N_WORKERS)]
    for proc in procs:
        proc.start()
    start.set()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0] * N_WORKERS

    service = LabelingService(Workspace.open(root))
    ids = range(N_WORKERS * PER_WORKER)
    labeled = {f for f in ids if f % PER_WORKER % 3 == 2}
    added = {f for f in ids if f % PER_WORKER % 3 == 1}
    skipped = {f for f in ids if f % PER_WORKER % 3 == 0}
    labels = service.labels()
    assert set(labels) == labeled
    assert all(labels[f]["dashboard_name"] == f"label {f}" for f in labeled)
    assert all(labels[f]["source"] == f"worker {f // PER_WORKER}" for f in labeled)
    assert set(json.loads(service.dashboard_path.read_text())) == {str(f) for f in labeled}
    state = service.queue()
    assert {e.feature_id for e in state.entries} == added
    assert set(state.completed) == labeled
    assert {s.feature_id: s.reason for s in state.skipped} == {
        f: f"skip by {f // PER_WORKER}" for f in skipped
    }
    events = service.history()
    assert len(events) == N_WORKERS * PER_WORKER
    assert {e["feature_id"] for e in events} == set(ids)


def _writer_loop(root: str, ready: multiprocessing.Event) -> None:
    service = LabelingService(Workspace.open(root))
    notes = "x" * 400_000  # ~5 MB files: each write takes long enough to be interrupted
    i = 0
    while True:
        service.set_label(i % 12, LabelEdit(f"name {i}", notes=notes))
        service.add([(i + 5) % 12], priority=0.5, reason=str(i))
        i += 1
        if i == 3:
            ready.set()


def test_sigkill_mid_write_leaves_valid_files(tiny_workspace: Path) -> None:
    root = str(tiny_workspace)
    Workspace.open(root).data()
    service = LabelingService(Workspace.open(root))
    for round_ in range(3):
        ready = SPAWN.Event()
        proc = SPAWN.Process(target=_writer_loop, args=(root, ready))
        proc.start()
        assert ready.wait(60)
        time.sleep(0.05 + 0.037 * round_)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        assert proc.exitcode == -signal.SIGKILL
        for path in (service.labels_path, service.dashboard_path, service.queue_path):
            json.loads(path.read_text())  # complete and valid, whatever the moment of the kill
        # the next reader finishes (rolls back) a change the kill left half-made, then reads
        labels = service.labels()
        events = HistoryLog(service.history_path).read()
        assert len(events) >= 6
        assert not (service.lock_path.parent / ".labeler.journal").exists()
        # the store holds exactly the label of the newest recorded label event
        last = next(e for e in reversed(events) if e["action"] == "label")
        stored = labels[last["feature_id"]]["dashboard_name"]
        assert stored == last["after"]["dashboard_name"]
        # the lock died with the process: the next write goes through and cleans temp files
        service.set_label(11, LabelEdit(f"after kill {round_}"))
        assert service.label(11)["dashboard_name"] == f"after kill {round_}"
        assert not list(service.labels_path.parent.glob(".consolidated_*.tmp"))


def _hold_lock(lock: str, held: multiprocessing.Event, release: multiprocessing.Event) -> None:
    with workspace_lock(Path(lock)):
        held.set()
        release.wait(30)


def test_lock_held_by_another_process_times_out_clearly(tiny_workspace: Path) -> None:
    service = LabelingService(Workspace.open(tiny_workspace), lock_timeout=0.2)
    service.set_label(1, LabelEdit("before"))
    before = service.labels_path.read_bytes()
    held, release = SPAWN.Event(), SPAWN.Event()
    proc = SPAWN.Process(target=_hold_lock, args=(str(service.lock_path), held, release))
    proc.start()
    try:
        assert held.wait(30)
        with pytest.raises(StoreError) as err:
            service.set_label(2, LabelEdit("blocked"))
        assert str(service.lock_path) in str(err.value)
        assert f"process {proc.pid}" in str(err.value)
        assert service.labels_path.read_bytes() == before
    finally:
        release.set()
        proc.join(10)
    service.set_label(2, LabelEdit("now"))
    assert service.label(2)["dashboard_name"] == "now"


def test_threads_sharing_one_service_lose_nothing(make_tiny_workspace) -> None:
    import threading

    root = make_tiny_workspace("threads", n_features=40)
    shared = LabelingService(Workspace.open(root))
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for fid in range(index * 10, index * 10 + 10):
                if fid % 2:
                    shared.set_label(fid, LabelEdit(f"t{index}"))
                else:
                    shared.add([fid], priority=0.5)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    fresh = LabelingService(Workspace.open(root))
    assert set(fresh.labels()) == {f for f in range(40) if f % 2}
    assert {e.feature_id for e in fresh.queue().entries} == {f for f in range(40) if f % 2 == 0}
    assert len(fresh.history()) == 40


def _writer_stalled_before_rename(root: str, stalled: multiprocessing.Event) -> None:
    """Label once, with os.replace stalled: the temp file is written and fsynced, not renamed."""
    import labeler_tui.core.stores.jsonfile as jsonfile

    def stall(src: str, dst: str) -> None:
        stalled.set()
        time.sleep(60)

    jsonfile.os.replace = stall  # this child only
    LabelingService(Workspace.open(root)).set_label(4, LabelEdit("never lands"))


def test_sigkill_between_temp_write_and_rename(tiny_workspace: Path) -> None:
    root = str(tiny_workspace)
    service = LabelingService(Workspace.open(root))
    service.set_label(4, LabelEdit("kept"))
    before = service.labels_path.read_bytes()
    stalled = SPAWN.Event()
    proc = SPAWN.Process(target=_writer_stalled_before_rename, args=(root, stalled))
    proc.start()
    assert stalled.wait(60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    temps = list(service.labels_path.parent.glob(".consolidated_tiny.json.*.tmp"))
    assert len(temps) == 1 and b"never lands" in temps[0].read_bytes()
    assert service.labels_path.read_bytes() == before
    assert [e["action"] for e in service.history()] == ["label"]
    service.set_label(5, LabelEdit("next writer"))  # gets the lock the dead process held
    assert not temps[0].exists()
    assert service.label(4)["dashboard_name"] == "kept"
