"""The atomic JSON file layer and the history log, on real files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from labeler_tui.core.errors import StoreError
from labeler_tui.core.stores.commit import FileWrite, commit
from labeler_tui.core.stores.history import HistoryLog
from labeler_tui.core.stores.jsonfile import JsonCache, dumps, dumps_line, write_json_atomic
from labeler_tui.core.stores.lock import workspace_lock


def test_output_is_deterministic_sorted_and_newline_terminated(tmp_path: Path) -> None:
    a = {"b": 1, "a": {"z": [1, 2], "y": "é"}}
    b = {"a": {"y": "é", "z": [1, 2]}, "b": 1}
    assert dumps(a) == dumps(b)
    text = dumps(a).decode()
    assert text.endswith("}\n")
    assert text.index('"a"') < text.index('"b"')
    assert '\n  "a": {\n    "y": "é",' in text
    write_json_atomic(tmp_path / "f.json", a)
    assert json.loads((tmp_path / "f.json").read_text()) == a


def test_atomic_write_leaves_no_temp_file_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "store.json"
    write_json_atomic(path, {"x": 1})
    os.chmod(path, 0o600)
    write_json_atomic(path, {"x": 2})
    assert json.loads(path.read_text()) == {"x": 2}
    assert sorted(p.name for p in path.parent.iterdir()) == ["store.json"]
    assert path.stat().st_mode & 0o777 == 0o600


def test_corrupt_file_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "consolidated_x.json"
    path.write_text('{\n  "1": {"a": 1},\n  "2": {"a": }\n}\n')
    with pytest.raises(StoreError) as err:
        JsonCache().read(path)
    message = str(err.value)
    assert str(path) in message
    assert "line 3" in message and "column 14" in message  # the "}" where a value belongs
    assert "\n" not in message


def test_cache_reuses_parse_until_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    cache = JsonCache()
    assert cache.read(path) is None
    write_json_atomic(path, {"v": 1})
    first = cache.read(path)
    assert cache.read(path) is first  # unchanged file: no re-parse
    write_json_atomic(path, {"v": 22})  # another writer
    assert cache.read(path) == {"v": 22}
    value = {"v": 3}
    commit(tmp_path / ".labeler.journal", [FileWrite(path, dumps(value))])
    cache.remember(path, value)
    assert cache.read(path) is value  # what a commit wrote is not parsed again
    assert json.loads(path.read_text()) == {"v": 3}


def _append(path: Path, events: list[dict]) -> None:
    lines = b"".join(dumps_line(event) for event in events)
    commit(path.parent / ".labeler.journal", [], path, lines)


def test_history_reads_incrementally_and_ignores_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    log = HistoryLog(path)
    assert log.read() == []
    _append(path, [{"id": "a", "n": 1}, {"id": "b", "n": 2}])
    assert [e["id"] for e in log.read()] == ["a", "b"]
    with open(path, "ab") as handle:  # a crash cut this append short
        handle.write(b'{"id": "torn", "n"')
    assert [e["id"] for e in HistoryLog(path).read()] == ["a", "b"]
    _append(path, [{"id": "c", "n": 3}])
    assert [e["id"] for e in log.read()] == ["a", "b", "c"]
    assert [e["id"] for e in HistoryLog(path).read()] == ["a", "b", "c"]
    assert b"torn" not in path.read_bytes()


def test_history_corrupt_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(StoreError, match=r"history\.jsonl: corrupt JSON at line 2"):
        HistoryLog(path).read()


def test_lock_is_reentrant_in_a_thread_and_times_out_across_descriptions(tmp_path: Path) -> None:
    import fcntl

    lock = tmp_path / "labels" / ".labeler.lock"
    with workspace_lock(lock), workspace_lock(lock):
        assert lock.read_text().strip() == str(os.getpid())
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with (
            pytest.raises(StoreError, match=r"\.labeler\.lock: the workspace is locked"),
            workspace_lock(lock, timeout=0.05),
        ):
            pass
    finally:
        os.close(fd)
    with workspace_lock(lock, timeout=0.05):
        pass


def test_history_backward_reads_match_forward_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import labeler_tui.core.stores.history as history

    monkeypatch.setattr(history, "_BLOCK", 64)  # many block boundaries, lines longer than a block
    path = tmp_path / "history.jsonl"
    log = HistoryLog(path)
    events = [
        {"id": str(i), "feature_id": i % 7 * 11, "pad": "x" * (i * 13 % 150)} for i in range(120)
    ]
    _append(path, events)
    with open(path, "ab") as handle:
        handle.write(b'{"id": "torn"')
    assert list(log.reverse()) == events[::-1]
    assert log.tail(5) == events[-5:]
    assert log.tail(1000) == events
    assert log.for_feature(11) == [e for e in events if e["feature_id"] == 11]
    assert log.for_feature(1) == []  # "feature_id":11 contains the bytes of 1: pre-filter only
    assert log.for_feature(22, limit=2) == [e for e in events if e["feature_id"] == 22][-2:]


def test_history_backward_read_names_the_corrupt_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text('{"id": "a"}\n[1, 2]\n{"id": "b"}\n')
    log = HistoryLog(path)
    assert log.tail(1) == [{"id": "b"}]
    with pytest.raises(StoreError, match=r"history\.jsonl: line 2: expected a JSON object"):
        log.tail(2)
