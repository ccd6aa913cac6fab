"""Importers: a model's files written by other tools, added to a workspace in place.

``labeler import KIND PATH [--model NAME] [--tokenizer T]`` (docs/formats.md, "Importers"). Each
importer (one module each, registered once in :data:`IMPORTERS`) reads what the tool wrote and
plans changes: ``[models.NAME]`` keys referencing the files where they are (nothing large is
copied) and suggested labels. :func:`run_import` then checks the resulting config, opens (builds)
each changed model's index, so bad input fails before anything is written, and only then writes
labeler.toml (keeping its comments, see ``workspace_file``) and the suggestions store. It works
in a workspace without a model, or without a labeler.toml: the import writes one.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labeler_tui.core.config import parse_config
from labeler_tui.core.data import ProgressCallback
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.registry import Registry
from labeler_tui.core.stores.jsonfile import write_bytes_atomic
from labeler_tui.core.stores.lock import workspace_lock
from labeler_tui.core.stores.suggestions import Suggestion, add_suggestions
from labeler_tui.core.timestamps import iso
from labeler_tui.core.workspace import Workspace
from labeler_tui.importers.workspace_file import (
    ModelChange,
    apply_changes,
    config_value,
    models_of,
    read_config_file,
    target_config,
)


@dataclass(frozen=True)
class ImportRequest:
    """What an importer gets: the files, the workspace's labeler.toml as it is, the options."""

    path: Path
    config_path: Path
    data: dict[str, Any]
    model: str | None
    tokenizer: Path | None
    now: str

    @property
    def root(self) -> Path:
        return self.config_path.parent

    def models(self) -> dict[str, Any]:
        return models_of(self.data)

    def value(self, path: Path) -> str:
        """``path`` as labeler.toml holds it (relative to the workspace when inside it)."""
        return config_value(self.root, path)


@dataclass
class ImportPlan:
    changes: list[ModelChange] = field(default_factory=list)
    suggestions: dict[str, list[Suggestion]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Importer:
    """``plan(request)``: the changes an import of ``name`` makes."""

    name: str
    help: str
    plan: Callable[[ImportRequest], ImportPlan]
    needs: tuple[str, ...] = ()


IMPORTERS: Registry[Importer] = Registry(
    "importer",
    (
        "labeler_tui.importers.saelens",
        "labeler_tui.importers.sparsify",
        "labeler_tui.importers.delphi",
        "labeler_tui.importers.neuronpedia",
    ),
)


@dataclass(frozen=True)
class ImportResult:
    """What an import did; ``to_json()`` is ``labeler import --json``."""

    kind: str
    source: Path
    config_path: Path
    models: list[dict[str, Any]]
    suggestions: dict[str, dict[str, int]]
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": str(self.source),
            "workspace": str(self.config_path),
            "models": self.models,
            "suggestions": self.suggestions,
            "notes": self.notes,
        }


def existing_table(request: ImportRequest, name: str) -> dict[str, Any] | None:
    table = request.models().get(name)
    return table if isinstance(table, dict) else None


def decoder_change(request: ImportRequest, name: str, folder: Path) -> ModelChange:
    """Model ``name``'s ``decoder`` set to an SAE folder: the model is created (a sequence
    model with only a decoder) when the workspace has none of that name, else attached to."""
    table = existing_table(request, name)
    values: dict[str, object] = {"decoder": request.value(folder)}
    if table is None:
        values = {"kind": "sequence", **values}
    return ModelChange(name, values, create=table is None)


def require_single(request: ImportRequest, found: list[str], what: str) -> None:
    """``--model`` names one model: an import of several hookpoints/sources cannot use it."""
    if request.model is not None and len(found) > 1:
        raise ValidationError(
            f"{request.path}: holds {len(found)} {what} ({', '.join(found)}); --model names one "
            "model: import one of them (its folder)"
        )


def run_import(
    kind: str,
    path: str | Path,
    *,
    workspace: str | None = None,
    model: str | None = None,
    tokenizer: str | None = None,
    progress: ProgressCallback | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Import ``path`` with the importer ``kind`` into the workspace (see the module
    docstring). A user error (ValidationError, ConfigError, DataError) leaves every file as it
    was."""
    importer = IMPORTERS.get(kind)
    source = Path(path).expanduser()
    if not source.exists():
        raise ValidationError(f"{source}: not found")
    config_path = target_config(workspace, cwd or Path.cwd())
    text, data = read_config_file(config_path)
    token_path = None
    if tokenizer is not None:
        token_path = Path(tokenizer).expanduser().resolve()
        if not token_path.is_file():
            raise ValidationError(f"--tokenizer {tokenizer}: file not found")
    request = ImportRequest(
        path=source.resolve(),
        config_path=config_path,
        data=data,
        model=model,
        tokenizer=token_path,
        now=iso(now or datetime.now(UTC)),
    )
    plan = importer.plan(request)
    new_text, notes = apply_changes(text, data, plan.changes)
    config = parse_config(config_path, tomllib.loads(new_text))
    ws = Workspace(config)
    models = []
    for change in plan.changes:
        model_data = ws.data(change.name, progress=progress)
        models.append(
            {
                "name": change.name,
                "created": change.create,
                "set": change.values,
                "n_features": model_data.n_features,
                "n_examples": model_data.n_examples,
                "n_nonzero": model_data.n_nonzero,
                "has_decoder": model_data.has_decoder,
            }
        )
    for name, items in plan.suggestions.items():
        n_features = ws.data(name, progress=progress).n_features
        beyond = [s.feature_id for s in items if s.feature_id >= n_features]
        if beyond:
            raise ValidationError(
                f"{request.path}: a suggestion for feature {max(beyond)}, but model {name!r} has "
                f"{n_features} features"
            )
    with workspace_lock(ws.lock_path):
        if new_text != text:
            write_bytes_atomic(config_path, new_text.encode("utf-8"))
        added = {
            name: add_suggestions(ws.suggestions_path(name), ws.lock_path, items).to_json()
            for name, items in plan.suggestions.items()
        }
    return ImportResult(kind, request.path, config_path, models, added, plan.notes + notes)
