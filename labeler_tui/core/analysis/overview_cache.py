"""Per-feature cache of the label-independent part of a large feature's overview.

Everything in an overview but the label and the quadrant depends only on the workspace's input
files, so a large feature's part is computed on its first view and saved as JSON in
``data.cache_dir/analysis-v1/<FOLDER>/`` (dropped with the index when an input changes); a
later view, in this or another process, is a file read. JSON keeps the values exact (floats
round-trip through ``repr``). Features under ``MIN_NONZEROS`` are not cached: computing their
overview costs about as much as reading a file. A missing, unreadable or stale file is
recomputed; an unwritable cache folder only skips saving.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labeler_tui.core.analysis.derived import cache_folder
from labeler_tui.core.data import ModelData

MIN_NONZEROS = 50_000
FOLDER = "overviews-v3"  # bump when the overview's definition or layout changes


def overview_path(data: ModelData, feature_id: int) -> Path:
    return cache_folder(data) / FOLDER / f"{feature_id}.json"


def cached_part(
    data: ModelData,
    feature_id: int,
    n_nonzero: int,
    keys: tuple[str, ...],
    compute: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """``compute()`` (the label-independent part of the overview, a dict with ``keys``), read
    from the cache when a file is there; computed and saved for features of ``MIN_NONZEROS``
    or more."""
    if n_nonzero < MIN_NONZEROS:
        return compute()
    path = overview_path(data, feature_id)
    try:
        part = json.loads(path.read_text(encoding="utf-8"))
        if (
            isinstance(part, dict)
            and part.get("feature_id") == feature_id
            and part.get("n_nonzero") == n_nonzero
            and all(key in part for key in keys)
        ):
            return part
    except (OSError, ValueError):
        pass
    part = compute()
    _save(path, part)
    return part


def _save(path: Path, part: dict[str, Any]) -> None:
    """Write through a temp file and an atomic rename (no fsync: a torn file is recomputed)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(part), encoding="utf-8")
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        pass  # unwritable cache or a value JSON cannot hold: the next view recomputes
    finally:
        tmp.unlink(missing_ok=True)
