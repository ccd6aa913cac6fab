"""Stores are never an output: export, demo and init refuse the stores, caches, config and
inputs of a workspace (the one worked on and the one the path lies in), symlinks included."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeler_tui.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], ws: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--workspace", str(ws), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_export_onto_any_store_is_refused_and_the_store_is_intact(
    tiny_workspace: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = tiny_workspace
    main(["--workspace", str(ws), "label", "-f", "1", "-n", "One"])
    capsys.readouterr()
    shared = tmp_path / "shared-labels.json"
    store = ws / "labels" / "consolidated_tiny.json"
    shared.write_bytes(store.read_bytes())
    store.unlink()
    store.symlink_to(shared)  # the store lives elsewhere: its target is a store too
    link_in = tmp_path / "innocent.json"
    link_in.symlink_to(ws / "labels" / "history_tiny.jsonl")
    protected = {
        shared: "a store of the workspace",
        ws / "labels" / "history_tiny.jsonl": "labels/ folder",
        link_in: "labels/ folder",
        ws / "labeler.toml": "labeler.toml",
        ws / "data" / "vocab.json": "an input file of model tiny",
        ws / ".labeler-cache" / "x.csv": "cache folder",
    }
    before = {
        p: p.read_bytes() for p in (shared, ws / "labels/history_tiny.jsonl", ws / "labeler.toml")
    }
    for target, what in protected.items():
        code, _, err = _run(capsys, ws, "export", "-o", str(target), "--force")
        assert code == 1 and what in err and "never an output" in err, err
    assert {p: p.read_bytes() for p in before} == before
    # from another workspace too: the path's own workspace is checked
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "labeler.toml").write_text('[models.m]\nactivations = "a"\n')
    (other / "labels").mkdir()
    code, _, err = _run(capsys, ws, "export", "-o", str(other / "labels" / "x.json"))
    assert code == 1 and "never an output" in err


def test_demo_and_init_never_write_into_a_workspaces_stores(
    tiny_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["demo", str(tiny_workspace / "labels" / "demo")],
        ["init", str(tiny_workspace / ".labeler-cache" / "w")],
    ):
        code, _, err = _run(capsys, tiny_workspace, *argv)
        assert code == 1 and "choose a folder outside it" in err
    assert not (tiny_workspace / "labels" / "demo").exists()
    code, _, err = _run(capsys, tiny_workspace, "demo", str(tiny_workspace), "--force")
    assert code == 1 and "not a demo" in err
    assert (tiny_workspace / "data" / "vocab.json").exists()
