"""Adding and changing ``[models.NAME]`` tables of a labeler.toml, keeping what the user wrote.

An importer changes a few keys of one model's table or adds a table. The file is edited as
text, so its comments, order and formatting stay: a new table is appended, a key of an existing
``[models.NAME]`` table is replaced on its line or added under the table's header. The result
is parsed again and compared with the expected data; when the text cannot be edited safely (a
model written as an inline table, a multi-line value to replace) the file is written whole
from its data instead: every key kept, its comments lost (the import says so).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from labeler_tui.core.config import CONFIG_NAME
from labeler_tui.core.errors import ConfigError
from labeler_tui.core.workspace import ENV_WORKSPACE

MODEL_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass
class ModelChange:
    """Keys to set in one ``[models.NAME]`` table (``create``: the table is new)."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    create: bool = False


def model_name(text: str) -> str:
    """A model name from a hookpoint or folder name (letters, digits, ``_ . -``)."""
    name = MODEL_NAME.sub("_", text.strip()).strip("_.")
    return name or "model"


def target_config(workspace: str | None, cwd: Path) -> Path:
    """The labeler.toml an import writes: ``--workspace`` (a folder or the file), else
    ``$LABELER_WORKSPACE``, else one in the current folder or a parent, else a new one in the
    current folder (an import may start a workspace)."""
    given = workspace or os.environ.get(ENV_WORKSPACE)
    if given:
        path = Path(os.path.expanduser(given))
        if path.is_dir() or not path.suffix:
            return (path / CONFIG_NAME).resolve()
        return path.resolve()
    here = cwd.resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    return here / CONFIG_NAME


def read_config_file(path: Path) -> tuple[str, dict[str, Any]]:
    """(text, parsed data) of a labeler.toml; ("", {}) when it does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "", {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def models_of(data: dict[str, Any]) -> dict[str, Any]:
    models = data.get("models", {})
    return models if isinstance(models, dict) else {}


def config_value(root: Path, path: Path) -> str:
    """A path as labeler.toml holds it: relative to the workspace when inside it."""
    path = path.resolve()
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return str(path)


def expected_data(data: dict[str, Any], changes: list[ModelChange]) -> dict[str, Any]:
    out = {key: (dict(value) if isinstance(value, dict) else value) for key, value in data.items()}
    models = {name: dict(table) for name, table in models_of(data).items()}
    for change in changes:
        models.setdefault(change.name, {}).update(change.values)
    out["models"] = models
    return out


def _header(name: str) -> re.Pattern[str]:
    quoted = re.escape(name)
    return re.compile(
        rf"""^[ \t]*\[[ \t]*models[ \t]*\.[ \t]*(?:{quoted}|"{quoted}"|'{quoted}')[ \t]*\][ \t]*(?:#.*)?$"""
    )


def _line(key: str, value: Any) -> str:
    return tomli_w.dumps({key: value}).strip()


def _set_key(lines: list[str], name: str, key: str, value: Any) -> bool:
    """Set ``key`` in the ``[models.name]`` table of ``lines`` (in place); False when the table
    or the key's line cannot be edited as text."""
    header = _header(name)
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return False
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    pattern = re.compile(rf"""^[ \t]*(?:{re.escape(key)}|"{re.escape(key)}")[ \t]*=""")
    for i in range(start + 1, end):
        if pattern.match(lines[i]):
            try:
                tomllib.loads(lines[i])
            except tomllib.TOMLDecodeError:
                return False  # a value spanning lines
            lines[i] = _line(key, value)
            return True
    last = start
    for i in range(start + 1, end):
        if lines[i].strip():
            last = i
    lines.insert(last + 1, _line(key, value))
    return True


def apply_changes(
    text: str, data: dict[str, Any], changes: list[ModelChange]
) -> tuple[str, list[str]]:
    """(the new text of the file, notes): the changes made to ``text``, keeping its comments when
    the edit can be made as text (verified by parsing it back), else the whole file rewritten."""
    expected = expected_data(data, changes)
    lines = text.splitlines()
    editable = True
    appended: list[str] = []
    for change in changes:
        if change.name in models_of(data):
            for key, value in change.values.items():
                editable = editable and _set_key(lines, change.name, key, value)
        else:
            table = tomli_w.dumps({"models": {change.name: change.values}}).strip()
            appended.append(table)
    new_text = "\n".join(lines).rstrip("\n")
    for table in appended:
        new_text = (new_text + "\n\n" if new_text else "") + table
    new_text += "\n"
    if editable:
        try:
            if tomllib.loads(new_text) == expected:
                return new_text, []
        except tomllib.TOMLDecodeError:
            pass
    return tomli_w.dumps(expected), [
        "labeler.toml was written whole from its data (every key kept, its comments not)"
    ]
