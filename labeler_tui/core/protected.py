"""Stores are never an output: where a command may write a path the user names.

``export --output PATH``, ``demo DIR`` and ``init DIR`` write where they are told. None of them
may land on a workspace's stores or caches (the labels, dashboard and state folders, the cache
folder, every store file wherever its symlink points), its ``labeler.toml`` or its input files:
replacing one would lose labels or break every later command. The workspace checked is the one
the command works on, and the one the path itself lies in.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from pathlib import Path

from labeler_tui.core.config import CONFIG_NAME, WorkspaceConfig, load_config
from labeler_tui.core.errors import LabelerError, ValidationError

STORE_FOLDERS = {"labels": "labels", "dashboard": "dashboard", "state": "state"}
DEFAULT_CACHE = ".labeler-cache"
_STORE_FILES = (
    "consolidated_{}.json",
    "queue_{}.json",
    "history_{}.jsonl",
    "suggestions_{}.jsonl",
)


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _workspace_paths(config: WorkspaceConfig) -> list[tuple[Path, str]]:
    """(path, what it is) of everything of a workspace that no output may replace."""
    paths = config.paths
    found = [
        (paths.labels, f"the workspace's {paths.labels.name}/ folder (labels, queue, history)"),
        (paths.dashboard, f"the workspace's {paths.dashboard.name}/ folder (the dashboard file)"),
        (paths.state, f"the workspace's {paths.state.name}/ folder (research states)"),
        (paths.cache, f"the workspace's cache folder {paths.cache.name}/"),
        (config.path, "the workspace's labeler.toml"),
    ]
    for name, model in config.models.items():
        for pattern in _STORE_FILES:  # a store symlinked elsewhere: its target is a store too
            found.append((paths.labels / pattern.format(name), "a store of the workspace"))
        found.append((paths.dashboard / f"feature_labels_{name}.json", "a store of the workspace"))
        inputs = [*model.input_files, model.output, model.output_vocab]
        found += [(p, f"an input file of model {name}") for p in inputs if p is not None]
    return found


def _enclosing_paths(path: Path) -> list[tuple[Path, str]]:
    """The protected paths of the workspace whose folder holds ``path`` (none when there is no
    labeler.toml above it). A config that does not load still names its store folders."""
    for folder in _resolved(path).parents:
        config_file = folder / CONFIG_NAME
        if not config_file.is_file():
            continue
        try:
            return _workspace_paths(load_config(config_file))
        except LabelerError:
            try:
                table = tomllib.loads(config_file.read_text(encoding="utf-8")).get("paths", {})
            except (OSError, ValueError, RecursionError):
                table = {}
            names = {**STORE_FOLDERS, "cache": DEFAULT_CACHE}
            if isinstance(table, dict):
                names.update({k: v for k, v in table.items() if isinstance(v, str) and k in names})
            return [
                (folder / names[key], f"the {names[key]}/ folder of {config_file}") for key in names
            ]
    return []


def _protected(path: Path, config: WorkspaceConfig | None) -> Iterable[tuple[Path, str]]:
    if config is not None:
        yield from _workspace_paths(config)
    yield from _enclosing_paths(path)


def check_output(path: Path, config: WorkspaceConfig | None, *, force: bool) -> None:
    """``path`` may be written: not a store, cache, config or input of a workspace (the one the
    command works on, ``config``, or the one ``path`` lies in), not a folder, and not an
    existing file unless ``force``."""
    target = _resolved(path)
    for protected, what in _protected(path, config):
        place = _resolved(protected)
        if target == place or target.is_relative_to(place):
            raise ValidationError(
                f"{path}: that is {what}, never an output; write somewhere else"
                if target == place
                else f"{path}: inside {what}, never an output; write somewhere else"
            )
    if path.is_dir():
        raise ValidationError(f"{path}: is a directory; give a file name for the export")
    if path.exists() and not force:
        raise ValidationError(f"{path}: already exists; use --force to overwrite it")


def check_new_workspace(folder: Path) -> None:
    """``demo DIR`` / ``init DIR``: ``DIR`` may not lie in another workspace's stores or caches
    (nor be one of its files)."""
    target = _resolved(folder)
    for protected, what in _enclosing_paths(folder / CONFIG_NAME):
        place = _resolved(protected)
        if target == place or target.is_relative_to(place):
            raise ValidationError(f"{folder}: inside {what}; choose a folder outside it")
