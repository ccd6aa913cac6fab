"""The one door from the app to the core for one model: the labeling service, the lease of the
feature on screen, the data and the analysis.

The workbench's jobs call only this, from worker threads: every method is safe to call from
several threads at once, and the UI holds no store or analysis logic.
"""

from __future__ import annotations

from typing import Any

from labeler_tui.core.analysis.similarity import similar_features, similarity_method
from labeler_tui.core.data import ModelData, ProgressCallback
from labeler_tui.core.evidence.lint import coverage_subjects, mentioned_subject
from labeler_tui.core.lease import Lease
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.registry import SIMILARITY_METHODS, capabilities
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace


class Backend:
    """The service, the lease, the data and the analysis of one model of one workspace."""

    def __init__(self, workspace: Workspace, model: str) -> None:
        cfg = workspace.config
        self.workspace = workspace
        self.model = model
        self.owner = cfg.labeler.owner
        self.source = cfg.labeler.source
        self.categories = tuple(cfg.labeler.categories)
        self.claim_ttl = float(cfg.app.claim_ttl_seconds)
        self.poll_interval = float(cfg.app.poll_interval_seconds)
        self.service = LabelingService(workspace, model, source=self.source, owner=self.owner)
        self.lease = Lease(self.service)

    def open_data(self, progress: ProgressCallback | None = None) -> ModelData:
        """Open the model's data, building its index first if needed (reports ``progress``)."""
        return self.workspace.data(self.model, progress=progress)

    @property
    def data(self) -> ModelData:
        """The model's data; the first call may build the index (run it in a worker)."""
        return self.workspace.data(self.model)

    # --- reads -----------------------------------------------------------------------------------
    def overview(self, feature_id: int) -> tuple[dict[str, Any], LabelRecord | None]:
        """The feature's overview (regions, histogram, flags; ``labeler overview --json``) and
        its label record."""
        from labeler_tui.core.analysis.overview import feature_overview

        record = self.service.label(feature_id)
        return feature_overview(self.data, feature_id, record), record

    def similar_methods(self) -> tuple[str, ...]:
        """The similarity methods this model can use, its default first."""
        return tuple(m.name for m in SIMILARITY_METHODS.usable(capabilities(self.data)))

    def similar_ready(self, method: str) -> bool:
        """Whether :meth:`similar` answers at once (no one-time table to build first)."""
        return similarity_method(self.data, method).is_ready(self.data)

    def build_similar_table(self, method: str, progress: ProgressCallback | None) -> None:
        """Build the method's one-time table (minutes at full scale; run it in one worker)."""
        entry = similarity_method(self.data, method)
        if entry.prepare is not None:
            entry.prepare(self.data, progress)

    def similar(
        self, feature_id: int, method: str, top_k: int
    ) -> list[tuple[int, float, str | None]]:
        """Neighbours as (feature id, similarity, label name or None)."""
        labels = self.service.labels()
        return [
            (int(fid), float(sim), labels.name(int(fid)))
            for fid, sim in similar_features(self.data, feature_id, method, top_k)
        ]

    def coverage(self, feature_id: int, name: str) -> tuple[str, dict[str, Any] | None]:
        """The token, family or metadata value a label name mentions and its core coverage
        (``("", None)`` when the name mentions none)."""
        from labeler_tui.core.analysis.coverage import core_coverage

        subject = mentioned_subject(name, self.coverage_subjects())
        if subject is None:
            return "", None
        return subject, core_coverage(self.data, feature_id, subject)

    def coverage_subjects(self) -> list[tuple[str, str]]:
        """(text to look for in a label name, coverage subject): families, tokens and
        metadata values (``hydra`` -> ``weapon=hydra``); computed once per model (core:
        ``evidence.lint.coverage_subjects``, which the label lint shares)."""
        return coverage_subjects(self.data)
