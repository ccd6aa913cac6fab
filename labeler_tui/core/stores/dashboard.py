"""The dashboard label file: ``dashboard/feature_labels_{model}.json``.

SplatNLP's dashboard reads and writes ``{"<id>": {"name", "category", "notes", "timestamp"}}``;
``label`` keeps it in step with the consolidated store so the dashboard shows the same names.
Unknown fields of an entry are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labeler_tui.core.records import LabelRecord
from labeler_tui.core.stores.checks import check_dashboard
from labeler_tui.core.stores.jsonfile import JsonCache
from labeler_tui.core.stores.keyed import read_keyed


def read_dashboard(cache: JsonCache, path: Path) -> Mapping[str, dict[str, Any]]:
    """The dashboard labels (empty when the file does not exist); shared, do not mutate."""
    view = read_keyed(cache, path, check_dashboard)
    return {} if view is None else view


def dashboard_entry(
    existing: dict[str, Any] | None, record: LabelRecord, timestamp: str
) -> dict[str, Any]:
    """The dashboard entry mirroring a saved label record."""
    entry = dict(existing or {})
    entry.update(
        name=record.dashboard_name or "",
        category=record.dashboard_category or "none",
        notes=record.dashboard_notes or "",
        timestamp=timestamp,
    )
    return entry
