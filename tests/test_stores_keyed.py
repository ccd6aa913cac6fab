"""Keyed store files changed by entry (core/stores/keyed): the spliced file is byte for byte
what a whole rewrite gives, the index and sidecar follow it, and a fresh process reads neither
the whole file nor every record when the sidecar is of the file's version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeler_tui.core.errors import StoreError
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.stores import keyed
from labeler_tui.core.stores.jsonfile import JsonCache, dumps, fingerprint
from labeler_tui.core.stores.keyed import Changes, index_of, read_keyed, remember_written, splice
from labeler_tui.core.workspace import Workspace

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
VALUES = st.fixed_dictionaries(
    {"name": TEXT, "source": st.one_of(st.none(), TEXT)},
    optional={
        "notes": TEXT,
        "n": st.integers(-5, 5),
        "x": st.floats(allow_nan=False, allow_infinity=False),
        "deep": st.lists(st.dictionaries(TEXT, TEXT, max_size=2), max_size=3),
    },
)
KEYS = st.integers(0, 400).map(str)


def _write(path: Path, value: dict[str, Any]) -> None:
    path.write_bytes(dumps(value))


@settings(max_examples=60, deadline=None)
@given(
    start=st.dictionaries(KEYS, VALUES, min_size=1, max_size=25),
    changes=st.dictionaries(KEYS, st.one_of(st.none(), VALUES), min_size=1, max_size=8),
)
def test_a_splice_writes_what_a_whole_rewrite_writes(
    tmp_path_factory: pytest.TempPathFactory, start: dict[str, Any], changes: dict[str, Any]
) -> None:
    path = tmp_path_factory.mktemp("keyed") / "store.json"
    _write(path, start)
    cache = JsonCache(sidecars=path.parent / "sidecars")
    view = read_keyed(cache, path, columns=("source",))
    assert view is not None and view.index is not None
    tx = Changes(view)
    expected = dict(start)
    for key, value in changes.items():
        if value is None:
            tx.pop(key, None)
            expected.pop(key, None)
        else:
            tx[key] = value
            expected[key] = value
    assert dict(tx) == expected
    done = splice(tx, ("source",))
    if not expected:
        assert done is None
        return
    assert done is not None
    new = b"".join(bytes(p) for p in done.pieces)
    assert new == dumps(expected)
    path.write_bytes(new)
    fp = fingerprint(path)
    assert fp is not None
    fresh = index_of(new, json.loads(new), fp, ("source",))
    assert fresh is not None
    got = done.written(fp)
    assert got.keys == fresh.keys
    assert got.starts.tolist() == fresh.starts.tolist()
    assert got.ends.tolist() == fresh.ends.tolist()
    assert got.columns == fresh.columns
    # a second process: the sidecar of the new version answers without a parse
    remember_written(cache, path, done)
    other = read_keyed(JsonCache(sidecars=path.parent / "sidecars"), path, columns=("source",))
    assert other is not None and other._parsed is None
    assert {k: other[k] for k in other} == expected


@pytest.fixture
def service(tiny_workspace: Path) -> LabelingService:
    return LabelingService(Workspace.open(tiny_workspace), owner="me", source="bench")


def test_a_fresh_process_reads_status_and_a_label_from_the_sidecar(
    service: LabelingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    for fid, category in ((1, "tactical"), (2, "mechanical"), (3, "tactical")):
        service.set_label(fid, LabelEdit(f"label {fid}", category, "notes"))
    text_before = service.labels_path.read_bytes()

    def no_parse(*args: Any) -> Any:
        raise AssertionError("the whole file was parsed")

    monkeypatch.setattr(keyed, "parse_layout", no_parse)
    fresh = LabelingService(service.workspace, owner="other", source="cli")
    status = fresh.status()
    assert status["labels"]["total"] == 3
    assert status["labels"]["by_category"] == {"mechanical": 1, "tactical": 2}
    assert status["labels"]["by_source"] == {"bench": 3}
    label = fresh.label(2)
    assert label is not None and label.display_name == "label 2"
    fresh.set_label(4, LabelEdit("four", "tactical", ""))
    monkeypatch.undo()
    stored = json.loads(service.labels_path.read_bytes())
    assert sorted(stored, key=int) == ["1", "2", "3", "4"]
    assert service.labels_path.read_bytes() == dumps(stored)
    assert service.labels_path.read_bytes() != text_before
    assert LabelingService(service.workspace).status()["labels"]["by_source"] == {
        "bench": 3,
        "cli": 1,
    }


def test_a_store_another_tool_rewrote_is_read_whole_and_saved_in_our_layout(
    service: LabelingService,
) -> None:
    service.set_label(1, LabelEdit("one", "tactical", ""))
    stored = json.loads(service.labels_path.read_bytes())
    stored["7"] = {**stored["1"], "feature_id": 7, "display_name": "seven", "source": "splat"}
    service.labels_path.write_text(json.dumps(stored))  # compact, as another script writes
    fresh = LabelingService(service.workspace)
    assert fresh.status()["labels"]["by_source"] == {"bench": 1, "splat": 1}
    fresh.set_label(2, LabelEdit("two", "tactical", ""))
    raw = service.labels_path.read_bytes()
    assert raw == dumps(json.loads(raw))
    assert sorted(json.loads(raw), key=int) == ["1", "2", "7"]


def test_a_store_replaced_during_a_change_is_not_overwritten(
    service: LabelingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.set_label(1, LabelEdit("one", "tactical", ""))
    theirs = json.loads(service.labels_path.read_bytes())
    theirs["1"] = {**theirs["1"], "display_name": "theirs"}
    real_check = keyed.check_unchanged

    def replaced_meanwhile(changes: Changes) -> None:
        service.labels_path.write_bytes(dumps(theirs))  # a script that takes no lock
        real_check(changes)

    monkeypatch.setattr("labeler_tui.core.stores.transaction.check_unchanged", replaced_meanwhile)
    with pytest.raises(StoreError, match="changed by another program"):
        service.set_label(2, LabelEdit("two", "tactical", ""))
    assert json.loads(service.labels_path.read_bytes()) == theirs
