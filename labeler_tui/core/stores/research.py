"""Research states (SplatNLP ``ResearchState``), in the two layouts its tools use:
``state/feature_{id}_{model}.json`` (written by its ``ResearchStateManager``) and
``state/{model}/feature_{id}_{model}.json`` (globbed by its consolidator). Both are read; when a
feature has both, the newer (``updated_at``, else the file time) is its state.

These files belong to the investigation tooling: ``label`` only updates the ``feature_label``
(and ``updated_at``) of the states that already exist, and never creates one; ``sync`` reads
them all. See docs/formats.md, "Research states".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from labeler_tui.core.stores.checks import check_state
from labeler_tui.core.stores.jsonfile import JsonCache
from labeler_tui.core.timestamps import parse_time


def state_paths(root: Path, model: str, feature_id: int) -> tuple[Path, Path]:
    """The feature's state file in each layout: (``state/{model}/...``, ``state/...``)."""
    name = f"feature_{feature_id}_{model}.json"
    return root / model / name, root / name


def read_state(cache: JsonCache, path: Path) -> dict[str, Any] | None:
    """The research state at ``path`` (None when there is none); shared, do not mutate."""
    raw = cache.read(path, check_state)
    return None if raw is None else raw


def existing_states(cache: JsonCache, paths: Iterable[Path]) -> dict[Path, dict[str, Any]]:
    """The states that exist among ``paths``, by path."""
    found = {}
    for path in paths:
        state = read_state(cache, path)
        if state is not None:
            found[path] = state
    return found


def _age(path: Path, state: dict[str, Any]) -> datetime:
    stamped = parse_time(state.get("updated_at"))
    if stamped is not None:
        return stamped
    return datetime.fromtimestamp(path.stat().st_mtime).astimezone()


def newest(states: dict[Path, dict[str, Any]]) -> tuple[Path, dict[str, Any]] | None:
    """The newer of a feature's states (None when it has none)."""
    if not states:
        return None
    path = max(states, key=lambda p: _age(p, states[p]))
    return path, states[path]


def state_files(root: Path, model: str) -> dict[int, list[Path]]:
    """Every research-state file of the model in both layouts, by feature id."""
    pattern = re.compile(rf"^feature_(\d+)_{re.escape(model)}\.json$")
    found: dict[int, list[Path]] = {}
    for folder in (root / model, root):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            match = pattern.match(path.name)
            if match and path.is_file():
                found.setdefault(int(match.group(1)), []).append(path)
    return found


def with_feature_label(state: dict[str, Any], label: str | None, timestamp: str) -> dict[str, Any]:
    """A copy of ``state`` with a new ``feature_label`` and ``updated_at``."""
    updated = dict(state)
    updated["feature_label"] = label
    updated["updated_at"] = timestamp
    return updated
