"""QA regressions found by running `labeler` as a user: one test per bug fixed."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from labeler_tui.cli.analysis_commands import _regions_table
from labeler_tui.cli.main import build_parser, main
from labeler_tui.core.records import RECORD_FIELDS


@pytest.fixture
def ws(tiny_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABELER_WORKSPACE", str(tiny_workspace))
    return tiny_workspace


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def store_bytes(ws: Path) -> dict[str, bytes]:
    """Every store file except the lock file (which only records the last holder)."""
    return {
        str(p.relative_to(ws)): p.read_bytes()
        for folder in ("labels", "dashboard", "state")
        if (ws / folder).exists()
        for p in sorted((ws / folder).rglob("*"))
        if p.is_file() and p.name != ".labeler.lock"
    }


def test_export_file_is_readable_by_others_like_the_stores(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mkstemp made exports 0600, so a shared export could not be read by a colleague."""
    assert run(capsys, "label", "--feature-id", "1", "--name", "One")[0] == 0
    out = ws / "out" / "labels.csv"
    code, _, err = run(capsys, "export", "--output", str(out))
    assert code == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert out.read_text().splitlines()[1].startswith("1,")


def test_clear_of_an_out_of_range_feature_is_a_user_error(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = store_bytes(ws)
    code, out, err = run(capsys, "clear", "--feature-id", "999")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "999" in err and "out of range" in err
    assert store_bytes(ws) == before
    # an unlabeled feature in range stays a harmless no-op
    code, out, _ = run(capsys, "clear", "--feature-id", "3", "--json")
    assert code == 0 and json.loads(out) == {"feature_id": 3, "removed": None}


def test_coverage_names_a_bad_feature_id_before_the_subject(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "coverage", "--feature-id", "999", "--token", "nosuch")
    assert code == 1 and out == ""
    assert "999" in err and "out of range" in err and "nosuch" not in err


def _help(capsys: pytest.CaptureFixture[str], command: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_help_texts_have_no_format_escapes_and_explain_every_argument(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for command, parser in sub.choices.items():
        text = _help(capsys, command)
        assert "%%" not in text, command
        for action in parser._actions:
            if action.dest in ("help",):
                continue
            assert action.help, f"labeler {command}: {action.dest} has no help text"
    assert "25-75 percent" in _help(capsys, "coverage")
    assert "default: activation_count" in _help(capsys, "build-queue")
    assert "18712,18890,19042" in _help(capsys, "add")


def test_overview_table_never_cuts_off_token_names() -> None:
    """Token names end in the AP level (special_charge_up_57): an ellipsis hid the level."""
    long_token = "special_charge_up_57"
    item = {"token": long_token, "share": 0.5, "enrichment": 2.0}
    family = {"family": "special_charge_up", "share": 0.5, "enrichment": 1.0}
    meta = {"value": "splattershot_pro", "share": 0.2, "enrichment": 1.0}
    regions = [
        {
            "name": name,
            "lo": 0.0,
            "hi": None,
            "count": 10,
            "share": 0.1,
            "top_tokens": [item, item, item],
            "top_families": [family],
            "metadata": {"weapon": [meta], "mode": [meta], "season": [meta]},
        }
        for name in ("core", "flanderization")
    ]
    overview: dict[str, Any] = {"regions": regions, "flags": []}
    for width in (120, 100):
        console = Console(width=width, record=True, force_terminal=False)
        console.print(_regions_table(overview))
        text = console.export_text()
        assert "…" not in text, width
        assert long_token in text, width


def test_splatnlp_queue_loads_and_is_upgraded_without_loss(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SplatNLP's queue: naive timestamps, id lists, an unknown key; nothing of it is lost."""
    path = ws / "labels" / "queue_tiny.json"
    path.parent.mkdir(parents=True)
    entry = {"model_type": "tiny", "priority": 0.9, "reason": "r", "note": "kept"}
    raw = {
        "model_type": "tiny",
        "entries": [
            {**entry, "feature_id": 4, "added_at": "2025-12-01T10:00:00"},
            {**entry, "feature_id": 5, "added_at": "2025-12-01T09:00:00"},
        ],
        "completed": [1],
        "skipped": [2],
        "created_by": "splatnlp",
    }
    path.write_text(json.dumps(raw))
    code, out, err = run(capsys, "next", "--no-build", "--json")
    assert code == 0, err
    assert json.loads(out)["feature_id"] == 5  # a tie in priority: the older entry first
    assert run(capsys, "add", "6", "--priority", "0.2")[0] == 0
    upgraded = json.loads(path.read_text())
    assert upgraded["created_by"] == "splatnlp"
    assert upgraded["completed"] == [1] and upgraded["skipped"] == [2]
    assert [e["feature_id"] for e in upgraded["entries"]] == [5, 4, 6]
    assert upgraded["entries"][1] == {k: v for k, v in raw["entries"][0].items() if k != "note"}
    assert upgraded["entry_extras"] == {"4": {"note": "kept"}, "5": {"note": "kept"}}


def test_sync_upgrades_an_older_record_with_the_newer_fields(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SplatNLP record changed by sync gains every documented record field, losing nothing."""
    labels = ws / "labels"
    labels.mkdir()
    old = {
        "feature_id": 2,
        "model_type": "tiny",
        "dashboard_name": "Old",
        "dashboard_category": "none",
        "dashboard_notes": "",
        "display_name": "Old",
        "last_updated": "2025-12-10T01:30:00",
        "source": "claude code (full investigation)",
        "legacy": {"kept": True},
    }
    (labels / "consolidated_tiny.json").write_text(json.dumps({"2": old}))
    (ws / "dashboard").mkdir()
    newer = {"name": "Old", "category": "tactical", "notes": "n", "timestamp": "2025-12-20T00:00"}
    dashboard = {"2": newer}  # same name, newer category: the agent's provenance stays
    (ws / "dashboard" / "feature_labels_tiny.json").write_text(json.dumps(dashboard))
    code, _, err = run(capsys, "sync")
    assert code == 0, err
    record = json.loads((labels / "consolidated_tiny.json").read_text())["2"]
    assert set(RECORD_FIELDS) <= set(record)
    assert record["legacy"] == {"kept": True}
    assert record["dashboard_name"] == "Old" and record["dashboard_category"] == "tactical"
    assert record["source"] == "claude code (full investigation)"
    assert 0 <= record["importance_percentile"] <= 100


def test_python_api_rejects_notes_that_are_not_text(ws: Path) -> None:
    from labeler_tui.core.errors import ValidationError
    from labeler_tui.labeling import LabelConsolidator

    consolidator = LabelConsolidator(workspace=ws)
    before = store_bytes(ws)
    with pytest.raises(ValidationError, match="notes: expected text"):
        consolidator.set_label(feature_id=1, name="One", notes=5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="research_label: expected text"):
        consolidator.set_label(feature_id=1, name="One", research_label=["x"])  # type: ignore[arg-type]
    assert store_bytes(ws) == before
    assert consolidator.set_label(feature_id=1, name="One", notes="why")["dashboard_notes"] == "why"


def test_export_fills_the_importance_an_older_record_lacks(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SplatNLP record has no importance_percentile; the export computes it from the decoder
    (100 x the fraction of decoder rows with a strictly smaller norm) without touching the store."""
    import numpy as np

    labels = ws / "labels"
    labels.mkdir()
    old = {"feature_id": 3, "model_type": "tiny", "dashboard_name": "Old", "source": "manual"}
    (labels / "consolidated_tiny.json").write_text(json.dumps({"3": old}))
    before = store_bytes(ws)
    out = ws / "labels.jsonl"
    assert run(capsys, "export", "--output", str(out))[0] == 0
    norms = np.linalg.norm(np.load(ws / "data" / "decoder.npy").astype(np.float64), axis=1)
    expected = round(100 * float(np.mean(norms < norms[3])), 2)
    row = json.loads(out.read_text())
    assert row["importance_percentile"] == pytest.approx(expected)
    assert row["dashboard_name"] == "Old" and row["source"] == "manual"
    assert store_bytes(ws) == before


def test_similar_piped_prints_the_original_plain_lines_with_labels(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Piped output is plain text (no table borders), like SplatNLP's `- 19042 (sim=0.82)`; a
    record named only by its research label still shows a name."""
    code, out, _ = run(capsys, "similar", "--feature-id", "0", "--top-k", "3", "--json")
    neighbours = json.loads(out)
    first = neighbours[0]["feature_id"]
    labels = ws / "labels"
    labels.mkdir()
    record = {"feature_id": first, "research_label": "Research name", "source": "research"}
    (labels / "consolidated_tiny.json").write_text(json.dumps({str(first): record}))
    code, out, err = run(capsys, "similar", "--feature-id", "0", "--top-k", "3")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Features similar to 0 (decoder):"
    expected = [f"- {n['feature_id']} (sim={n['similarity']:.2f})" for n in neighbours]
    assert lines[1] == expected[0] + "  Research name"
    assert lines[2:] == expected[1:]
    assert not any(ch in out for ch in "│┃━")


def test_none_stays_accepted_with_custom_categories(
    make_tiny_workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A label saved without a category is stored as "none"; with custom categories that did not
    list it, the same value given explicitly was refused."""
    ws = make_tiny_workspace(extra_config={"labeler": {"categories": ["syntax", "semantic"]}})
    monkeypatch.setenv("LABELER_WORKSPACE", str(ws))
    code, out, err = run(capsys, "label", "-f", "1", "-n", "A", "--json")
    assert code == 0, err
    assert json.loads(out)["dashboard_category"] == "none"
    code, out, err = run(capsys, "label", "-f", "1", "-n", "A", "-c", "semantic", "--json")
    assert code == 0 and json.loads(out)["dashboard_category"] == "semantic"
    code, out, err = run(capsys, "label", "-f", "1", "-n", "A", "-c", "none", "--json")
    assert code == 0 and json.loads(out)["dashboard_category"] == "none"
    before = store_bytes(ws)
    code, out, err = run(capsys, "label", "-f", "1", "-n", "A", "-c", "tactical")
    assert code == 1 and out == ""
    assert "(syntax, semantic; or none)" in err
    assert store_bytes(ws) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["overview", "-f", "2"],
        ["coverage", "-f", "2", "--token", "swim_speed_up"],
        ["similar", "-f", "2", "--top-k", "2"],
        ["activations", "-f", "2", "--top", "2"],
    ],
)
def test_every_feature_id_flag_has_the_short_form(
    ws: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """label/skip/history/clear took -f; overview/coverage/similar/activations refused it."""
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    doc = json.loads(out)
    if isinstance(doc, dict):
        assert doc["feature_id"] == 2
    else:
        assert len(doc) == 2 and all(row["feature_id"] != 2 for row in doc)


def test_records_with_a_string_or_missing_feature_id_read_as_int(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hand-edited store ({"3": {"feature_id": "3"}}, {"4": {}}) exported 4 before 3 and
    served the string id to overview and the Python API."""
    labels = ws / "labels"
    labels.mkdir()
    records = {
        "4": {"dashboard_name": "No id", "source": "codex"},
        "3": {"feature_id": "3", "dashboard_name": "String id", "source": "manual"},
    }
    (labels / "consolidated_tiny.json").write_text(json.dumps(records))
    out = ws / "labels.jsonl"
    assert run(capsys, "export", "--output", str(out))[0] == 0
    assert [json.loads(line)["feature_id"] for line in out.read_text().splitlines()] == [3, 4]
    code, text, err = run(capsys, "overview", "--feature-id", "3", "--json")
    assert code == 0, err
    assert json.loads(text)["label"]["feature_id"] == 3


def test_history_on_screen_shows_the_newest_screenful(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The log grows with every change: on screen, the newest 20 and a note; --json, all."""
    ids = ",".join(str(i) for i in range(11))
    assert run(capsys, "add", ids)[0] == 0  # 11 events
    assert run(capsys, "add", ids, "--priority", "0.9")[0] == 0  # 11 more
    code, out, _ = run(capsys, "history")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("(the newest 20 events")
    assert len(lines) == 21
    assert lines[-1].split()[3] == "10"  # the newest event: the last id re-prioritised
    code, out, _ = run(capsys, "history", "--json")
    assert len(json.loads(out)) == 22
    code, out, _ = run(capsys, "history", "--limit", "22")
    assert len(out.splitlines()) == 22


def test_similar_defaults_to_tokens_without_a_decoder(
    make_tiny_workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`labeler similar -f N` failed on a model without a decoder (the default method)."""
    ws = make_tiny_workspace(with_decoder=False)
    monkeypatch.setenv("LABELER_WORKSPACE", str(ws))
    code, out, err = run(capsys, "similar", "-f", "0", "--top-k", "3", "--json")
    assert code == 0, err
    code, tokens, _ = run(
        capsys, "similar", "-f", "0", "--top-k", "3", "--method", "tokens", "--json"
    )
    assert json.loads(out) == json.loads(tokens) and len(json.loads(out)) == 3
    code, _, err = run(capsys, "similar", "-f", "0", "--method", "decoder")
    assert code == 1 and "no decoder" in err


def test_similar_finder_default_method_follows_the_decoder(make_tiny_workspace) -> None:
    from labeler_tui.labeling import SimilarFinder

    plain = SimilarFinder(workspace=make_tiny_workspace("plain", with_decoder=False))
    assert plain.find(0, top_k=3) == plain.find_by_top_tokens(0, top_k=3)
    with_decoder = SimilarFinder(workspace=make_tiny_workspace("dec"))
    assert with_decoder.find(0, top_k=3) == with_decoder.find_by_decoder(0, top_k=3)
    assert with_decoder.find(0, top_k=3) != with_decoder.find_by_top_tokens(0, top_k=3)


def test_demo_is_written_once_when_first_uses_race(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three agents started together on a fresh machine each wrote the demo; the later writers
    swapped its data files under the first one's index build ("input files changed")."""
    import threading
    import time

    import labeler_tui.demo.writer as demo_module
    from labeler_tui.core.workspace import CONFIG_NAME, find_config
    from labeler_tui.demo import demo_config, demo_workspace_dir

    calls: list[int] = []

    def slow_write_demo(root: Path, progress: Any = None) -> Path:
        calls.append(threading.get_ident())
        time.sleep(0.2)  # long enough for the other threads to find no labeler.toml yet
        root.mkdir(parents=True, exist_ok=True)
        (root / CONFIG_NAME).write_text("# demo\n")
        return root / CONFIG_NAME

    monkeypatch.setattr(demo_module, "write_demo", slow_write_demo)
    found: list[Path] = []
    threads = [
        threading.Thread(target=lambda: found.append(find_config(fallback=demo_config)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert found == [demo_workspace_dir() / CONFIG_NAME] * 3
