"""The one door from the app to the core for one model: the labeling service plus the analysis.

The workbench calls only this (from worker threads), so the UI holds no store or analysis logic
and tests can hand the app a fake with the same methods.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from labeler_tui.core.data import ModelData, ProgressCallback
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


class Backend:
    """The service, the data and the analysis of one model of one workspace."""

    def __init__(self, workspace: Workspace, model: str) -> None:
        cfg = workspace.config
        self.workspace = workspace
        self.model = model
        self.owner = cfg.labeler.owner
        self.source = cfg.labeler.source
        self.categories = tuple(cfg.labeler.categories)
        self.service = LabelingService(workspace, model, source=self.source, owner=self.owner)
        self._data_lock = threading.Lock()

    def open_data(self, progress: ProgressCallback | None = None) -> ModelData:
        """Open the model's data, building its index first if needed (reports ``progress``)."""
        with self._data_lock:
            return self.workspace.data(self.model, progress=progress)

    @property
    def data(self) -> ModelData:
        """The model's data; the first call may build the index (run it in a worker).

        Serialised: Workspace.data is not thread-safe and two workers must not build twice."""
        with self._data_lock:
            return self.workspace.data(self.model)

    # --- reads -----------------------------------------------------------------------------------
    def overview(self, feature_id: int) -> dict[str, Any]:
        """The overview JSON of issue 4 (regions, histogram, flags, label)."""
        from labeler_tui.core.analysis.overview import feature_overview

        return feature_overview(self.data, feature_id, self.service.label(feature_id))

    def similar(
        self,
        feature_id: int,
        method: str,
        top_k: int,
        progress: ProgressCallback | None = None,
    ) -> list[tuple[int, float, str | None]]:
        """Neighbours as (feature id, similarity, label name or None); ``progress`` reports
        the method's one-time table build, if it still has to be built."""
        from labeler_tui.core.analysis.similarity import similar_features

        labels = self.service.labels()
        rows: list[tuple[int, float, str | None]] = []
        for fid, sim in similar_features(self.data, feature_id, method, top_k, progress):
            rows.append((int(fid), float(sim), labels.name(int(fid))))
        return rows

    def similar_ready(self, method: str) -> bool:
        """Whether :meth:`similar` answers at once (no one-time table to build first)."""
        from labeler_tui.core.analysis.similarity import similarity_method

        return similarity_method(self.data, method).is_ready(self.data)

    def coverage(self, feature_id: int, subject: str) -> dict[str, Any]:
        from labeler_tui.core.analysis.coverage import core_coverage

        return core_coverage(self.data, feature_id, subject)

    def coverage_subjects(self) -> list[tuple[str, str]]:
        """(text to look for in a label name, coverage subject): families, tokens and
        metadata values (``hydra`` -> ``weapon=hydra``)."""
        data = self.data
        subjects = [(name, name) for name in data.family_names]
        subjects += [(name, name) for name in data.token_names]
        for column in data.metadata_columns:
            values = data.metadata_values(column)
            if len(values) <= 500:
                subjects += [(str(v), f"{column}={v}") for v in values if v is not None]
        return subjects


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def mentioned_subject(name: str, subjects: list[tuple[str, str]]) -> str | None:
    """The coverage subject whose text the label name mentions, longest first (spaces and
    underscores alike: ``Swim speed up`` mentions the family ``swim_speed_up``)."""
    words = f"_{_words(name)}_"
    if len(words) < 5:
        return None
    best: tuple[int, str] | None = None
    for text, subject in subjects:
        key = _words(text)
        if len(key) >= 3 and f"_{key}_" in words and (best is None or len(key) > best[0]):
            best = (len(key), subject)
    return best[1] if best else None
