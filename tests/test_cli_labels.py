"""The label commands of `labeler`, run in-process through main() and a few real processes."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labeler_tui.cli.main import main


@pytest.fixture
def ws(tiny_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABELER_WORKSPACE", str(tiny_workspace))
    return tiny_workspace


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def consolidated(ws: Path) -> dict[str, Any]:
    return json.loads((ws / "labels" / "consolidated_tiny.json").read_text())


def store_bytes(ws: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(ws)): p.read_bytes()
        for folder in ("labels", "dashboard", "state")
        if (ws / folder).exists()
        for p in sorted((ws / folder).rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


# --- label ------------------------------------------------------------------------------------
def test_label_with_the_documented_flags_writes_both_stores(ws: Path, capsys) -> None:
    record = run_json(
        capsys,
        "label",
        "--feature-id",
        "7",
        "--name",
        "SCU Detector",
        "--category",
        "tactical",
        "--notes",
        "Responds to Special Charge Up presence, stronger at high AP",
        "--source",
        "claude code",
        "--interpretability-confidence",
        "0.8",
        "--stability-score",
        "0.4",
        "--model",
        "tiny",
    )
    assert record["feature_id"] == 7
    assert (record["display_name"], record["source"]) == ("SCU Detector", "claude code")
    assert record["interpretability_confidence"] == 0.8 and record["stability_score"] == 0.4
    assert record.pop("warnings") == []  # the lint's warnings come with the saved record
    assert consolidated(ws)["7"] == record
    dashboard = json.loads((ws / "dashboard" / "feature_labels_tiny.json").read_text())
    assert dashboard["7"]["name"] == "SCU Detector"
    assert dashboard["7"]["category"] == "tactical"


def test_label_short_flags_of_the_original(ws: Path, capsys) -> None:
    code, out, _ = run(
        capsys, "label", "-f", "3", "-n", "Short", "-c", "mechanical", "-s", "manual"
    )
    assert code == 0
    assert "Short" in out and "manual" in out
    assert consolidated(ws)["3"]["dashboard_category"] == "mechanical"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--feature-id", "999", "--name", "x"], "out of range"),
        (["--feature-id", "1", "--name", "   "], "name"),
        (["--feature-id", "1", "--name", "x", "--category", "nonsense"], "category"),
        (["--feature-id", "1", "--name", "x", "--interpretability-confidence", "1.5"], "--interp"),
        (["--feature-id", "1", "--name", "x", "--hypothesis-confidence", "nan"], "--hypothesis"),
        (["--feature-id", "1", "--name", "x", "--model", "nope"], "nope"),
    ],
)
def test_bad_label_values_exit_1_with_one_line_and_write_nothing(
    ws: Path, capsys, argv: list[str], needle: str
) -> None:
    run(capsys, "label", "--feature-id", "2", "--name", "Existing")
    before = store_bytes(ws)
    code, out, err = run(capsys, "label", *argv)
    assert code == 1
    assert out == ""
    assert err.startswith("labeler: error:") and needle in err
    assert len(err.strip().splitlines()) == 1
    assert store_bytes(ws) == before


def test_usage_errors_exit_2(ws: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["label", "--feature-id", "abc", "--name", "x"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["label", "--feature-id", "1", "--name", "x", "--stability-score", "high"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["build-queue", "--method", "random"])
    assert exc.value.code == 2


# --- add / next / skip ------------------------------------------------------------------------
def test_add_comma_list_then_next_serves_highest_priority(ws: Path, capsys) -> None:
    low = run_json(capsys, "add", "4", "--priority", "0.2")
    assert (low["added"], low["queued"], low["summary"]) == ([4], [4], "1 queued")
    high = run_json(capsys, "add", "1,5,9", "--priority", "0.8", "--reason", "SCU-related cluster")
    assert high["added"] == [1, 5, 9]
    nxt = run_json(capsys, "next", "--no-build")
    assert nxt["feature_id"] == 1
    assert (nxt["priority"], nxt["reason"]) == (0.8, "SCU-related cluster")
    assert nxt["claimed_by"] is None
    queue = json.loads((ws / "labels" / "queue_tiny.json").read_text())
    assert [e["feature_id"] for e in queue["entries"]] == [1, 5, 9, 4]


@pytest.mark.parametrize("ids", ["1,,2", "1,x", ",", "1;2", "-3"])
def test_malformed_id_list_is_a_usage_error(ws: Path, capsys, ids: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["add", ids])
    assert exc.value.code == 2
    assert not (ws / "labels" / "queue_tiny.json").exists()


def test_add_out_of_range_id_is_exit_1_and_adds_nothing(ws: Path, capsys) -> None:
    code, _, err = run(capsys, "add", "1,2,500")
    assert code == 1 and "500" in err
    status = run_json(capsys, "status")
    assert status["queue"]["pending"] == 0


def test_add_priority_out_of_range_is_exit_1(ws: Path, capsys) -> None:
    code, _, err = run(capsys, "add", "1", "--priority", "1.5")
    assert code == 1 and "--priority" in err


def test_next_on_empty_queue_without_build(ws: Path, capsys) -> None:
    result = run_json(capsys, "next", "--no-build")
    assert result["feature_id"] is None
    code, out, _ = run(capsys, "next", "--no-build")
    assert code == 0 and "empty" in out.lower()


def test_claims_keep_two_agents_apart(ws: Path, capsys) -> None:
    run(capsys, "add", "2,3", "--priority", "0.9")
    first = run_json(capsys, "next", "--no-build", "--claim", "--owner", "agent-a", "--ttl", "600")
    second = run_json(capsys, "next", "--no-build", "--claim", "--owner", "agent-b")
    assert first["feature_id"] != second["feature_id"]
    assert {first["claimed_by"], second["claimed_by"]} == {"agent-a", "agent-b"}
    assert first["claim_expires"]
    again = run_json(capsys, "next", "--no-build", "--claim", "--owner", "agent-c")
    assert again["feature_id"] is None
    assert run_json(capsys, "status")["queue"]["claimed"] == 2


def test_next_lists_upcoming_entries_an_expired_claim_no_longer_holds(ws: Path, capsys) -> None:
    """The CLI, the service and the app share one rule: a live claim of another owner keeps
    an entry out; an expired one does not."""
    from datetime import UTC, datetime, timedelta

    from labeler_tui.core.service import LabelingService
    from labeler_tui.core.workspace import Workspace

    run(capsys, "add", "1", "--priority", "0.9")
    run(capsys, "add", "2", "--priority", "0.8")
    run(capsys, "add", "3", "--priority", "0.7")
    run(capsys, "add", "4", "--priority", "0.6")
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    LabelingService(Workspace.open(ws), owner="bob", clock=lambda: hour_ago).claim(2, ttl=60)
    LabelingService(Workspace.open(ws), owner="carol").claim(3, ttl=600)
    code, out, _ = run(capsys, "next", "--no-build")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "## Next Feature: 1"
    upcoming = lines[lines.index("Upcoming:") + 1 :]
    assert upcoming == ["  2. Feature 2 (priority=0.800)", "  3. Feature 4 (priority=0.600)"]


def test_bad_ttl_is_exit_1(ws: Path, capsys) -> None:
    code, _, err = run(capsys, "next", "--no-build", "--claim", "--ttl", "0")
    assert code == 1 and "--ttl" in err


def test_skip_next_and_specific_feature_keep_reasons(ws: Path, capsys) -> None:
    run(capsys, "add", "6,8", "--priority", "0.7")
    first = run_json(capsys, "skip")
    assert first == {"feature_id": 6, "reason": None}
    second = run_json(
        capsys, "skip", "--feature-id", "8", "--reason", "ReLU floor too high, hard to interpret"
    )
    assert second["feature_id"] == 8
    queue = json.loads((ws / "labels" / "queue_tiny.json").read_text())
    assert sorted(queue["skipped"]) == [6, 8]
    assert queue["skip_details"]["8"]["reason"] == "ReLU floor too high, hard to interpret"


def test_skip_with_empty_queue_is_exit_1(ws: Path, capsys) -> None:
    code, _, err = run(capsys, "skip")
    assert code == 1 and "queue" in err


# --- status -----------------------------------------------------------------------------------
def test_status_json_shape_and_counts(ws: Path, capsys) -> None:
    run(capsys, "add", "1,2,3")
    run(capsys, "label", "-f", "1", "-n", "A", "-c", "tactical", "-s", "claude code")
    run(capsys, "label", "-f", "4", "-n", "B", "-c", "tactical")
    run(capsys, "skip", "-f", "2")
    status = run_json(capsys, "status")
    assert status["model"] == "tiny"
    assert status["labels"] == {
        "total": 2,
        "by_source": {"claude code": 1, "dashboard": 1},
        "by_category": {"tactical": 2},
    }
    assert status["queue"] == {"pending": 1, "completed": 2, "skipped": 1, "claimed": 0}


def test_status_plain_layout_follows_the_original(ws: Path, capsys) -> None:
    run(capsys, "label", "-f", "1", "-n", "A", "-c", "strategic", "-s", "manual")
    run(capsys, "add", "2")
    code, out, _ = run(capsys, "status")
    assert code == 0
    lines = out.splitlines()
    order = [lines.index(h) for h in ("### Labels", "### Categories", "### Queue")]
    assert order == sorted(order)
    assert "## Labeling Status (tiny)" in lines
    assert "- Total labeled: 1" in lines and "- From manual: 1" in lines
    assert "- strategic: 1" in lines and "- Pending: 1" in lines
    assert "\x1b[" not in out  # piped: no colour codes


def test_status_on_a_terminal_uses_colour(ws: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    code, out, _ = run(capsys, "label", "-f", "1", "-n", "[SCU] Stacker", "-c", "strategic")
    assert code == 0 and "[SCU] Stacker" in out  # user text is not read as markup
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert "\x1b[" in out and "Labels" in out and "Queue" in out
    code, out, _ = run(capsys, "history")
    assert code == 0 and "[SCU] Stacker" in out


# --- history / undo / clear -------------------------------------------------------------------
def test_history_and_undo_restore_the_previous_label(ws: Path, capsys) -> None:
    run(capsys, "label", "-f", "5", "-n", "First", "-s", "manual")
    run(capsys, "label", "-f", "5", "-n", "Second", "-s", "manual")
    events = run_json(capsys, "history", "--feature-id", "5")
    assert [e["action"] for e in events] == ["label", "label"]
    assert events[-1]["before"]["display_name"] == "First"
    assert events[-1]["after"]["display_name"] == "Second"
    assert {"ts", "action", "feature_id", "source", "owner", "before", "after"} <= set(events[0])

    event = run_json(capsys, "undo")
    assert event["action"] == "undo" and event["feature_id"] == 5
    assert consolidated(ws)["5"]["display_name"] == "First"
    assert len(run_json(capsys, "history", "--limit", "1")) == 1


def test_undo_of_a_batch_names_every_feature_it_reverted(ws: Path, capsys) -> None:
    run(capsys, "add", "7,3,9", "--priority", "0.4")
    code, out, _ = run(capsys, "undo")
    assert code == 0 and "Undid tester's add of features 3, 7, 9: pending -> -" in out
    run(capsys, "add", "8,4", "--priority", "0.4")
    event = run_json(capsys, "undo")
    assert event["action"] == "undo" and event["undone_feature_ids"] == [4, 8]
    queue = json.loads((ws / "labels" / "queue_tiny.json").read_text())
    assert not {3, 4, 7, 8, 9} & {e["feature_id"] for e in queue["entries"]}


def test_undo_with_nothing_to_undo_prints_null(ws: Path, capsys) -> None:
    assert run_json(capsys, "undo") is None
    code, out, _ = run(capsys, "undo")
    assert code == 0 and "Nothing to undo" in out


def test_clear_removes_the_label(ws: Path, capsys) -> None:
    run(capsys, "label", "-f", "2", "-n", "Doomed")
    result = run_json(capsys, "clear", "--feature-id", "2")
    assert result["feature_id"] == 2 and result["removed"]["display_name"] == "Doomed"
    assert "2" not in consolidated(ws)
    assert run_json(capsys, "clear", "--feature-id", "2") == {"feature_id": 2, "removed": None}


def test_history_negative_limit_is_exit_1(ws: Path, capsys) -> None:
    code, _, err = run(capsys, "history", "--limit", "-1")
    assert code == 1 and "--limit" in err


# --- sync / export ----------------------------------------------------------------------------
def test_sync_brings_dashboard_labels_in_and_keeps_cli_provenance(ws: Path, capsys) -> None:
    run(capsys, "label", "-f", "1", "-n", "Agent label", "-s", "claude code")
    dash_path = ws / "dashboard" / "feature_labels_tiny.json"
    dashboard = json.loads(dash_path.read_text())
    dashboard["3"] = {
        "name": "From the web dashboard",
        "category": "mechanical",
        "notes": "",
        "timestamp": "2030-01-01T00:00:00",
    }
    dash_path.write_text(json.dumps(dashboard))
    state_dir = ws / "state" / "tiny"
    state_dir.mkdir(parents=True)
    (state_dir / "feature_1_tiny.json").write_text(
        json.dumps(
            {
                "feature_id": 1,
                "model_type": "tiny",
                "feature_label": "Research view",
                "updated_at": "2030-01-01T00:00:00",
                "hypotheses": [{"statement": "s", "status": "supported", "confidence": 0.7}],
            }
        )
    )
    result = run_json(capsys, "sync")
    changed = {(c["feature_id"], c["field"]) for c in result["changes"]}
    assert (3, "record") in changed and (1, "research_label") in changed
    labels = consolidated(ws)
    assert labels["3"]["display_name"] == "From the web dashboard"
    assert labels["3"]["source"] == "dashboard"
    assert labels["1"]["source"] == "claude code"
    assert labels["1"]["research_label"] == "Research view"
    assert run_json(capsys, "sync") == {"changes": [], "notes": []}


def test_sync_keeps_labels_missing_from_the_dashboard_and_undo_reverts_it_whole(
    ws: Path, capsys
) -> None:
    """An absent dashboard entry is no clear (the original dashboard loses entries): the
    labels stay and are listed as notes; an emptied name newer than the label clears it."""
    run(capsys, "label", "-f", "2", "-n", "Dashboard made")  # source: the workspace's "dashboard"
    run(capsys, "label", "-f", "3", "-n", "Emptied later")
    run(capsys, "label", "-f", "5", "-n", "Agent made", "-s", "claude code")
    dash_path = ws / "dashboard" / "feature_labels_tiny.json"
    dashboard = json.loads(dash_path.read_text())
    del dashboard["2"], dashboard["5"]
    dashboard["3"] = {**dashboard["3"], "name": "", "timestamp": "2099-01-01T00:00:00+00:00"}
    dashboard["7"] = {"name": "Other", "category": "none", "notes": "", "timestamp": ""}
    dash_path.write_text(json.dumps(dashboard))

    result = run_json(capsys, "sync")
    removed = [c for c in result["changes"] if c["field"] == "record" and c["after"] is None]
    assert [c["feature_id"] for c in removed] == [3]
    assert [n["feature_id"] for n in result["notes"]] == [2]
    labels = consolidated(ws)
    assert labels["2"]["display_name"] == "Dashboard made"
    assert labels["5"]["display_name"] == "Agent made"
    assert labels["7"]["source"] == "dashboard" and "3" not in labels
    code, out, _ = run(capsys, "sync")
    assert "Note: feature 2: no dashboard entry" in out
    assert run_json(capsys, "history", "--limit", "1")[0]["action"] == "sync"

    run_json(capsys, "undo")  # one sync is undone whole
    labels = consolidated(ws)
    assert labels["3"]["display_name"] == "Emptied later" and "7" not in labels


def test_sync_plain_output_lists_changes(ws: Path, capsys) -> None:
    dash_path = ws / "dashboard" / "feature_labels_tiny.json"
    dash_path.parent.mkdir(parents=True)
    dash_path.write_text(json.dumps({"4": {"name": "Dash", "timestamp": "2030-01-01T00:00:00"}}))
    code, out, _ = run(capsys, "sync")
    assert code == 0 and "feature 4" in out and "Dash" in out


def test_export_csv_and_jsonl(ws: Path, capsys, tmp_path: Path) -> None:
    run(capsys, "label", "-f", "1", "-n", "One", "-c", "tactical", "--notes", "a, b")
    run(capsys, "label", "-f", "2", "-n", "Two")
    out_csv = tmp_path / "out" / "export.csv"
    result = run_json(capsys, "export", "--model", "tiny", "--output", str(out_csv))
    assert result == {"output": str(out_csv.resolve()), "count": 2}
    with out_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["display_name"] for r in rows] == ["One", "Two"]
    assert list(rows[0])[:6] == [
        "feature_id",
        "display_name",
        "category",
        "confidence",
        "source",
        "notes",
    ]
    assert (rows[0]["notes"], rows[0]["category"]) == ("a, b", "tactical")
    out_jsonl = tmp_path / "export.jsonl"
    run_json(capsys, "export", "-o", str(out_jsonl))
    lines = [json.loads(line) for line in out_jsonl.read_text().splitlines()]
    assert [r["feature_id"] for r in lines] == [1, 2]


def test_export_unknown_extension_is_exit_1(ws: Path, capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "export", "--output", str(tmp_path / "x.xlsx"))
    assert code == 1 and "x.xlsx" in err
    assert not (tmp_path / "x.xlsx").exists()


# --- build-queue ------------------------------------------------------------------------------
def test_build_queue_cluster_needs_a_seed(ws: Path, capsys) -> None:
    code, _, err = run(capsys, "build-queue", "--method", "cluster")
    assert code == 1 and "--seed" in err


def test_build_queue_by_activation_count(ws: Path, capsys) -> None:
    pytest.importorskip("labeler_tui.core.analysis.queue_builders")
    run(capsys, "label", "-f", "0", "-n", "Done already")
    result = run_json(capsys, "build-queue", "--method", "activation_count", "--top-k", "3")
    assert len(result["added"]) == 3 and 0 not in result["added"]
    queue = json.loads((ws / "labels" / "queue_tiny.json").read_text())
    assert [e["feature_id"] for e in queue["entries"]] == result["added"]
    nxt = run_json(capsys, "next")
    assert nxt["feature_id"] == result["added"][0]


# --- real processes ---------------------------------------------------------------------------
def _labeler(ws: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LABELER_WORKSPACE": str(ws)}
    script = shutil.which("labeler")
    command = (
        [script]
        if script
        else [sys.executable, "-c", "from labeler_tui.cli.main import run; run()"]
    )
    return subprocess.run(
        [*command, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_real_processes_exit_codes(ws: Path) -> None:
    ok = _labeler(
        ws,
        "label",
        "--feature-id",
        "3",
        "--name",
        "SCU Detector",
        "--category",
        "tactical",
        "--source",
        "claude code",
    )
    assert ok.returncode == 0, ok.stderr
    assert "SCU Detector" in ok.stdout
    bad = _labeler(ws, "label", "--feature-id", "3", "--name", "x", "--category", "bogus")
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and "category" in bad.stderr
    usage = _labeler(ws, "add", "1,,2")
    assert usage.returncode == 2
    status = _labeler(ws, "status", "--json")
    assert status.returncode == 0
    assert json.loads(status.stdout)["labels"]["by_source"] == {"claude code": 1}


# --- the original documentation's command lines, on the demo workspace -------------------------
DOC_COMMANDS = """
next --model ultra
next --model ultra --no-build
label --feature-id 18712 --name "Special Charge Stacker" --model ultra --source "claude code"
label --feature-id 18712 --name "SCU Detector" --category tactical --notes "Responds to Special Charge Up presence, stronger at high AP" --source "claude code"
label --feature-id 18712 --name "My Label" --source "manual"
skip --model ultra
skip --feature-id 18712 --reason "ReLU floor too high, hard to interpret"
add 18712 --model ultra
add 18712,18890,19042 --priority 0.8 --reason "SCU-related cluster"
similar --feature-id 18712 --top-k 5 --model ultra
status --model ultra
sync --model ultra
export --model ultra --output {out}/labels/export.csv
build-queue --model ultra --method activation_count --top-k 50
build-queue --model ultra --method cluster --seed 18712 --top-k 10
label --feature-id 18712 --name "SCU Detector" --category tactical --notes "Responds to Special Charge Up presence, stronger at high AP" --source "claude code" --model ultra
"""


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from labeler_tui.demo import write_demo

    root = tmp_path_factory.mktemp("demo")
    write_demo(root, scale=0.05)
    return root


def test_documented_command_lines_run_on_the_demo(
    small_demo: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shlex

    ws = tmp_path / "demo"
    shutil.copytree(small_demo, ws)
    monkeypatch.setenv("LABELER_WORKSPACE", str(ws))
    outputs = []
    for line in DOC_COMMANDS.strip().splitlines():
        code, out, err = run(capsys, *shlex.split(line.format(out=tmp_path)))
        assert code == 0, f"{line}: {err}"
        outputs.append(out)

    labels = json.loads((ws / "labels" / "consolidated_ultra.json").read_text())
    assert list(labels) == ["18712"]
    scu = labels["18712"]
    assert (scu["display_name"], scu["source"], scu["dashboard_category"]) == (
        "SCU Detector",
        "claude code",
        "tactical",
    )
    assert scu["dashboard_notes"].startswith("Responds to Special Charge Up")
    first_next = int(outputs[0].splitlines()[0].rsplit(" ", 1)[1])
    queue = json.loads((ws / "labels" / "queue_ultra.json").read_text())
    assert first_next in queue["skipped"]  # `skip --model ultra` skipped the served feature
    assert 18712 in queue["completed"]  # the last label completed it again
    pending = {e["feature_id"]: e for e in queue["entries"]}
    # `add ... --priority 0.8` queued the cluster; `build-queue --method cluster --seed 18712`
    # queued new neighbours and left the pending ones, their priority and reason, alone
    assert (pending[18890]["priority"], pending[18890]["reason"]) == (0.8, "SCU-related cluster")
    assert pending[19042]["priority"] == 0.8
    assert "- Total labeled: 1" in outputs[10]
    with (tmp_path / "labels" / "export.csv").open(newline="") as handle:
        assert [row["feature_id"] for row in csv.DictReader(handle)] == ["18712"]
    assert "18890" in outputs[9]  # similar: the planted cluster neighbour


# --- who writes, claims, exports --------------------------------------------------------------
def test_every_writing_command_records_its_owner_and_undo_is_yours(ws: Path, capsys) -> None:
    assert run(capsys, "add", "1,2,3", "--owner", "alice")[0] == 0
    assert run(capsys, "label", "-f", "1", "-n", "Alice's", "--owner", "alice")[0] == 0
    assert run(capsys, "skip", "-f", "2", "--owner", "bot")[0] == 0
    assert run(capsys, "clear", "-f", "1", "--owner", "bot", "--force")[0] == 0
    assert run(capsys, "sync", "--owner", "bot")[0] == 0
    events = run_json(capsys, "history")
    assert [(e["action"], e["owner"]) for e in events if e["action"] != "sync"][-4:] == [
        ("add", "alice"),
        ("label", "alice"),
        ("skip", "bot"),
        ("clear", "bot"),
    ]
    code, out, _ = run(capsys, "undo", "--owner", "alice")  # not bot's newer clear
    assert code == 0 and out.startswith("Undid alice's label of feature 1")
    code, out, _ = run(capsys, "undo", "--owner", "carol")
    assert code == 0 and "Nothing to undo." in out
    undone = run_json(capsys, "undo", "--owner", "carol", "--any")
    assert (undone["undone_action"], undone["undone_owner"]) == ("clear", "bot")


def test_label_refuses_a_feature_claimed_by_another_owner(ws: Path, capsys) -> None:
    run(capsys, "add", "4")
    run_json(capsys, "next", "--claim", "--owner", "agent-1", "--ttl", "600")
    before = store_bytes(ws)
    code, _, err = run(capsys, "label", "-f", "4", "-n", "x", "--owner", "alice")
    assert code == 1 and "feature 4 is claimed by agent-1 until" in err and "--force" in err
    assert store_bytes(ws) == before
    assert run(capsys, "label", "-f", "4", "-n", "x", "--owner", "alice", "--force")[0] == 0


def test_if_unchanged_since_guards_a_relabel(ws: Path, capsys) -> None:
    code, _, err = run(capsys, "label", "-f", "5", "-n", "v1", "--if-unchanged-since", "none")
    assert code == 0, err
    seen = consolidated(ws)["5"]["last_updated"]
    run(capsys, "label", "-f", "5", "-n", "v2")
    code, _, err = run(capsys, "label", "-f", "5", "-n", "v3", "--if-unchanged-since", seen)
    assert code == 1 and "'v2'" in err and consolidated(ws)["5"]["display_name"] == "v2"
    code, _, err = run(capsys, "label", "-f", "5", "-n", "v4", "--if-unchanged-since", "none")
    assert code == 1 and "since no label" in err


def test_add_says_what_changed_never_added_for_nothing(ws: Path, capsys) -> None:
    run(capsys, "add", "1,2,3", "--priority", "0.9")
    run(capsys, "label", "-f", "1", "-n", "done")
    run(capsys, "skip", "-f", "2")
    code, out, _ = run(capsys, "add", "1,2,3,4", "--priority", "0.5")
    assert code == 0
    assert out.splitlines()[0] == (
        "1 queued, 1 skipped queued again, 1 labeled queued again for relabeling, "
        "1 already pending."
    )
    code, out, _ = run(capsys, "add", "3", "--priority", "0.1")
    assert out.strip() == "1 already pending." and "Added" not in out


def test_export_never_overwrites_nor_writes_into_the_stores(
    ws: Path, capsys, tmp_path: Path
) -> None:
    run(capsys, "label", "-f", "1", "-n", "One")
    store = ws / "labels" / "consolidated_tiny.json"
    good = store.read_bytes()
    for target in (store, ws / "labels" / "history_tiny.jsonl", ws / "labels" / "x.json"):
        code, _, err = run(capsys, "export", "-o", str(target), "--force")
        assert code == 1 and "labels/ folder" in err
    assert store.read_bytes() == good
    out = tmp_path / "labels.csv"
    out.write_text("precious")
    code, _, err = run(capsys, "export", "-o", str(out))
    assert code == 1 and "already exists" in err and out.read_text() == "precious"
    assert run(capsys, "export", "-o", str(out), "--force")[0] == 0
    assert out.read_text().startswith("feature_id,display_name,category,confidence,source,notes")
