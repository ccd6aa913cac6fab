"""The published JSON Schemas (docs/schemas/) are the generated ones, and every command's real
``--json`` output validates against its schema, so a change of shape fails here."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import tomli_w
from test_docs_cli import SUBCOMMANDS
from typing_extensions import get_type_hints

from labeler_tui.cli.main import main
from labeler_tui.cli.schemas import COMMAND_RESULTS, command_schema, schema_text, write_schemas
from labeler_tui.core.records import RECORD_FIELDS
from labeler_tui.core.results.labels import LabelRecordJson

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"
NOT_JSON = {"mcp"}
"""Commands that print no JSON document (the MCP server speaks the protocol on stdout)."""


def test_every_command_has_a_result_type() -> None:
    assert set(COMMAND_RESULTS) == set(SUBCOMMANDS) - NOT_JSON


@pytest.mark.parametrize("command", sorted(COMMAND_RESULTS))
def test_the_committed_schema_is_the_generated_one(command: str) -> None:
    path = SCHEMAS / f"{command}.json"
    assert path.exists(), f"{path} is missing: run python scripts/write_schemas.py"
    assert path.read_text(encoding="utf-8") == schema_text(command), (
        f"{path} is out of date: run python scripts/write_schemas.py"
    )


def test_no_schema_of_a_command_that_does_not_exist() -> None:
    assert {p.stem for p in SCHEMAS.glob("*.json")} == set(COMMAND_RESULTS)


def test_the_writer_writes_what_the_test_compares(tmp_path: Path) -> None:
    (tmp_path / "gone.json").write_text("{}")
    written = write_schemas(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    assert json.loads((tmp_path / "next.json").read_text()) == command_schema("next")


def test_schemas_are_valid_draft_2020_12() -> None:
    for command in COMMAND_RESULTS:
        jsonschema.Draft202012Validator.check_schema(command_schema(command))


def test_the_label_record_type_has_every_record_field() -> None:
    assert tuple(get_type_hints(LabelRecordJson)) == RECORD_FIELDS


def test_closed_objects_refuse_an_unknown_key_and_records_keep_theirs() -> None:
    status = {
        "model": "m",
        "labels": {"total": 0, "by_source": {}, "by_category": {}},
        "queue": {"pending": 0, "completed": 0, "skipped": 0, "claimed": 0},
    }
    validate("status", status)
    with pytest.raises(jsonschema.ValidationError):
        validate("status", {**status, "surprise": 1})
    with pytest.raises(jsonschema.ValidationError):
        validate("status", {key: value for key, value in status.items() if key != "queue"})
    record = {field: None for field in RECORD_FIELDS} | {"feature_id": 3, "custom_field": [1]}
    validate("clear", {"feature_id": 3, "removed": record})  # unknown fields are kept


# --- every command's real output ---------------------------------------------------------------
def validate(command: str, document: Any) -> None:
    jsonschema.validate(document, command_schema(command), cls=jsonschema.Draft202012Validator)


def published(command: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{command}.json").read_text(encoding="utf-8"))


class Runner:
    """Runs ``labeler ... --json`` in-process on one workspace and checks each document."""

    def __init__(self, ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.ws = ws
        self.capsys = capsys
        self.seen: set[str] = set()

    def __call__(self, command: str, *argv: str) -> Any:
        code = main([command, *argv, "--workspace", str(self.ws), "--json"])
        out, err = self.capsys.readouterr()
        assert code == 0, err
        document = json.loads(out)
        jsonschema.validate(document, published(command), cls=jsonschema.Draft202012Validator)
        self.seen.add(command)
        return document


@pytest.fixture
def runner(tiny_workspace: Path, capsys: pytest.CaptureFixture[str]) -> Runner:
    add_output_matrix(tiny_workspace)
    return Runner(tiny_workspace, capsys)


def add_output_matrix(ws: Path) -> None:
    """Give the tiny model an output matrix (for ``effects`` and the overview's effects)."""
    names = json.loads((ws / "data" / "vocab.json").read_text())
    matrix = np.random.default_rng(0).normal(size=(8, len(names))).astype(np.float32)
    np.save(ws / "data" / "out.npy", matrix)
    config = tomllib.loads((ws / "labeler.toml").read_text())
    config["models"]["tiny"]["output"] = "data/out.npy"
    (ws / "labeler.toml").write_bytes(tomli_w.dumps(config).encode())


def test_every_commands_output_validates_against_its_schema(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = runner.ws
    runner("info")
    runner("index")
    runner("activations", "-f", "4", "--top", "5")
    runner("init", str(tmp_path / "new"))
    from labeler_tui import demo

    def small_demo(root: Path, progress: Any = None) -> Path:  # the real demo takes seconds
        root.mkdir(parents=True, exist_ok=True)
        (root / "labeler.toml").write_text("# demo\n")
        return root / "labeler.toml"

    monkeypatch.setattr(demo, "write_demo", small_demo)
    runner("demo", str(tmp_path / "demo"))

    assert runner("next", "--no-build")["feature_id"] is None  # empty: every value null
    runner("undo")  # nothing to undo: null
    entry = runner("next", "--claim", "--owner", "agent-1")
    fid = str(entry["feature_id"])
    runner("add", "1,2,3", "--priority", "0.9", "--reason", "schema test")
    runner("build-queue", "--method", "importance", "--top-k", "2")
    for command, args in [
        ("overview", ["-f", fid]),
        ("overview", ["-f", "11"]),  # the dead feature: nulls and empty lists
        ("coverage", ["--token", "swim_speed_up", "-f", fid]),
        ("coverage", ["--token", "weapon=hydra", "-f", "11"]),
        ("examples", ["-f", fid, "--region", "core", "-k", "3", "--sample", "--seed", "2"]),
        ("examples", ["-f", fid, "--where", "NOT swim_speed_up"]),
        ("test", ["-f", fid, "swim_speed_up>=21 AND NOT weapon=hydra"]),
        ("test", ["-f", "11", "comeback"]),
        ("effects", ["-f", fid, "-k", "3"]),
        ("similar", ["-f", fid, "-k", "3"]),
        ("similar", ["-f", fid, "--method", "tokens"]),
    ]:
        runner(command, *args)
    record = runner(
        "label",
        "-f",
        fid,
        "-n",
        "Swim Speed Up Kit",
        "-c",
        "tactical",
        "--notes",
        "schema test",
        "--source",
        "claude code",
        "--interpretability-confidence",
        "0.7",
        "--hypothesis",
        "swim_speed_up",
        "--owner",
        "agent-1",
    )
    assert record["warnings"]  # the lint has something to say: the warnings' shape is checked
    runner("label", "-f", "5", "-n", "Second", "--if-unchanged-since", "none")
    runner("skip", "-f", "2", "--reason", "no core")
    runner("clear", "-f", "5")
    runner("clear", "-f", "5")  # no label: removed is null
    (ws / "dashboard" / "feature_labels_tiny.json").write_text(
        json.dumps({"7": {"name": "From the dashboard", "category": "none", "notes": ""}})
    )
    assert runner("sync")["changes"]
    runner("undo", "--owner", "agent-1")
    runner("undo", "--any")
    runner("status")
    events = runner("history")
    assert {e["action"] for e in events} >= {"label", "clear", "sync", "add", "skip", "claim"}
    assert any(e["action"] == "undo" for e in events)
    runner("history", "-f", fid, "--limit", "2")
    runner("export", "--output", str(tmp_path / "labels.jsonl"))
    runner("skill")
    # a sequence model: a Delphi cache imported into the same workspace
    from lm_formats import token_matrix, write_delphi, write_tokenizer

    tokenizer = write_tokenizer(tmp_path / "hf" / "tokenizer.json")
    cache = write_delphi(
        tmp_path / "delphi", token_matrix(tokenizer, 8, 16), explanations={1: "commas"}
    )
    imported = runner(
        "import", "delphi", str(cache.root), "--tokenizer", str(tmp_path / "hf" / "tokenizer.json")
    )
    lm = ("--model", imported["models"][0]["name"])
    seq = runner("contexts", "-f", "1", "-k", "3", *lm)["contexts"][0]["seq"]
    runner("contexts", "-f", "1", "--region", "core", "--window", "2,1", *lm)
    runner("contexts", "-f", "1", "--seq", str(seq), *lm)
    runner("overview", "-f", "1", *lm)
    assert runner("suggestions", "-f", "1", *lm)["suggestions"][0]["text"] == "commas"
    runner("suggestions", "-f", "2", *lm)  # none: an empty list
    assert runner.seen == set(COMMAND_RESULTS), "a command's output was not validated"
