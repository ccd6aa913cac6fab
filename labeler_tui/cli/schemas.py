"""The JSON Schema of every command's ``--json`` output, generated from its result type.

Each command maps to the type its ``--json`` document has (``labeler_tui/core/results/``); the
schemas published in ``docs/schemas/COMMAND.json`` are :func:`command_schema` of it, written by
``python scripts/write_schemas.py``. A test fails when the files are out of date, and another
validates every command's real output against its schema. The MCP server's tools return the
same types, so their output schemas are these too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from labeler_tui.core.results.analysis import CoverageJson, NeighbourJson, OverviewJson
from labeler_tui.core.results.data import (
    ActivationsJson,
    DemoJson,
    ImportJson,
    IndexJson,
    InfoJson,
    InitJson,
    SkillJson,
)
from labeler_tui.core.results.evidence import (
    ContextsJson,
    EffectsJson,
    ExamplesJson,
    HypothesisJson,
    SequenceActivationsJson,
)
from labeler_tui.core.results.history import EventJson, UndoJson
from labeler_tui.core.results.labels import (
    ClearedJson,
    ExportJson,
    LabelSavedJson,
    StatusJson,
    SuggestionsJson,
    SyncJson,
)
from labeler_tui.core.results.queue import AddJson, NextJson, SkippedJson

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

COMMAND_RESULTS: dict[str, Any] = {
    "activations": ActivationsJson,
    "add": AddJson,
    "build-queue": AddJson,
    "clear": ClearedJson,
    "contexts": ContextsJson | SequenceActivationsJson,
    "coverage": CoverageJson,
    "demo": DemoJson,
    "effects": EffectsJson,
    "examples": ExamplesJson,
    "export": ExportJson,
    "history": list[EventJson],
    "import": ImportJson,
    "index": IndexJson,
    "info": InfoJson,
    "init": InitJson,
    "label": LabelSavedJson,
    "next": NextJson,
    "overview": OverviewJson,
    "similar": list[NeighbourJson],
    "skill": SkillJson,
    "skip": SkippedJson,
    "status": StatusJson,
    "suggestions": SuggestionsJson,
    "sync": SyncJson,
    "test": HypothesisJson,
    "undo": UndoJson | None,
}
"""Command -> the type of its ``--json`` document. Every command has one but ``mcp`` (a server
speaking the Model Context Protocol, not a command printing a result)."""


def command_schema(command: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``labeler COMMAND --json``."""
    generated = TypeAdapter(COMMAND_RESULTS[command]).json_schema()
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": f"labeler {command} --json",
    }
    schema.update((key, value) for key, value in generated.items() if key != "title")
    return schema


def schema_text(command: str) -> str:
    """The schema file's text (stable key order, a newline at the end)."""
    return json.dumps(command_schema(command), indent=2) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write ``COMMAND.json`` for every command into ``folder`` and remove the schema of a
    command that no longer exists; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for command in sorted(COMMAND_RESULTS):
        path = folder / f"{command}.json"
        path.write_text(schema_text(command), encoding="utf-8")
        written.append(path)
    for stale in sorted(set(folder.glob("*.json")) - set(written)):
        stale.unlink()
    return written
