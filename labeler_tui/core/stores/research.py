"""Research states: ``state/{model}/feature_{id}_{model}.json`` (SplatNLP ``ResearchState``).

These files belong to the investigation tooling. ``label`` only updates the ``feature_label``
(and ``updated_at``) of a state that already exists, and never creates one; ``sync`` reads them
all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from labeler_tui.core.errors import StoreError
from labeler_tui.core.stores.jsonfile import JsonCache


def read_state(cache: JsonCache, path: Path) -> dict[str, Any] | None:
    """The research state at ``path`` (None when there is none); shared, do not mutate."""
    raw = cache.read(path)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise StoreError(f"{path}: expected a JSON object (a research state); left unchanged")
    return raw


def state_files(folder: Path, model: str) -> dict[int, Path]:
    """Every research-state file of the model in ``folder``, by feature id."""
    pattern = re.compile(rf"^feature_(\d+)_{re.escape(model)}\.json$")
    found: dict[int, Path] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        match = pattern.match(path.name)
        if match and path.is_file():
            found[int(match.group(1))] = path
    return found


def with_feature_label(state: dict[str, Any], label: str | None, timestamp: str) -> dict[str, Any]:
    """A copy of ``state`` with a new ``feature_label`` and ``updated_at``."""
    updated = dict(state)
    updated["feature_label"] = label
    updated["updated_at"] = timestamp
    return updated
