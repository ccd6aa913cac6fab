"""The one door from the app to the core for one model: the labeling service, the lease of the
feature on screen, the data and the analysis.

The workbench's jobs call only this, from worker threads: every method is safe to call from
several threads at once, and the UI holds no store or analysis logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labeler_tui.core.analysis.similarity import similarity_method
from labeler_tui.core.data import ModelData, ProgressCallback
from labeler_tui.core.evidence.examples import ExamplesResult, feature_examples
from labeler_tui.core.evidence.hypothesis import HypothesisResult
from labeler_tui.core.evidence.lint import LintWarning, coverage_subjects, mentioned_subject
from labeler_tui.core.evidence.neighbours import Neighbour
from labeler_tui.core.lease import Lease
from labeler_tui.core.records import LabelEdit, LabelRecord
from labeler_tui.core.registry import SIMILARITY_METHODS, capabilities
from labeler_tui.core.service import LabelingService
from labeler_tui.core.stores.labels import LabelBook
from labeler_tui.core.stores.queue import QueueState
from labeler_tui.core.workspace import Workspace

if TYPE_CHECKING:
    from labeler_tui.core.evidence.contexts import ContextsResult, SequenceActivations
    from labeler_tui.core.stores.suggestions import Suggestion

Stores = tuple[LabelBook, QueueState]
"""The labels and the queue as one snapshot read them."""


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
        self.next_after_save = bool(cfg.app.next_after_save)
        self.skip_reasons = tuple(cfg.app.skip_reasons)
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
        self, feature_id: int, method: str, top_k: int, stores: Stores | None = None
    ) -> list[Neighbour]:
        """Neighbours, best first, each with its label (or core families) and queue state."""
        from labeler_tui.core.analysis.similarity import similar_features

        found = similar_features(self.data, feature_id, method, top_k)
        return self.describe_neighbours(found, stores)

    def describe_neighbours(
        self, pairs: list[tuple[int, float]], stores: Stores | None = None
    ) -> list[Neighbour]:
        """Neighbours with their labels and queue states from ``stores`` (the labels and queue
        the app last read: re-reading a 24,576-entry queue costs ~150 ms), else as stored now."""
        from labeler_tui.core.evidence.neighbours import describe_neighbours

        labels, queue = (
            stores if stores is not None else (self.service.labels(), self.service.queue())
        )
        return describe_neighbours(self.data, pairs, labels, queue, self.service.now())

    def histogram(self, feature_id: int, n_bins: int) -> tuple[list[float], list[int]]:
        """The activation histogram in ``n_bins`` bins (as many as the plot has columns)."""
        from labeler_tui.core.analysis.overview import fraction_histogram

        return fraction_histogram(self.data, feature_id, n_bins)

    # --- evidence --------------------------------------------------------------------------------
    def examples(
        self,
        feature_id: int,
        region: str,
        k: int,
        *,
        sample: bool,
        where: str | None,
        match: bool,
    ) -> ExamplesResult:
        """The region's top ``k`` or a seeded sample (seed 0), filtered by ``where``."""
        return feature_examples(
            self.data,
            feature_id,
            region,
            k,
            sample=sample,
            seed=0,
            where=where,
            match=match,
            aliases=self.service.aliases,
        )

    @property
    def is_sequence(self) -> bool:
        """A sequence model (its examples are token contexts); opens the data."""
        from labeler_tui.core.data.sequence_data import SequenceModelData

        return isinstance(self.data, SequenceModelData)

    def contexts(
        self,
        feature_id: int,
        region: str,
        k: int,
        *,
        sample: bool,
        where: str | None,
        match: bool,
    ) -> ContextsResult:
        """A sequence model's contexts of a region: its top ``k`` or a seeded sample (seed 0),
        filtered by ``where`` (``labeler contexts``)."""
        from labeler_tui.core.evidence.contexts import feature_contexts

        return feature_contexts(
            self.data,
            feature_id,
            region,
            k,
            sample=sample,
            seed=0,
            where=where,
            match=match,
            aliases=self.service.aliases,
        )

    def sequence(self, feature_id: int, seq: int) -> SequenceActivations:
        """A whole sequence with the feature's activation at each token."""
        from labeler_tui.core.evidence.contexts import sequence_activations

        return sequence_activations(self.data, feature_id, seq)

    def suggestions(self, feature_id: int) -> tuple[Suggestion, ...]:
        """The feature's imported suggestions, best scored first (none when there is no
        suggestions store)."""
        return self.service.suggestions(feature_id)

    def hypothesis(self, feature_id: int, expression: str) -> HypothesisResult:
        """The expression tested on the feature (ExpressionError for a bad one)."""
        return self.service.score_hypothesis(feature_id, expression)

    def lint(self, feature_id: int, edit: LabelEdit) -> list[LintWarning]:
        """The label lint's warnings for a label about to be saved (never blocking)."""
        from labeler_tui.core.evidence.lint import lint_label

        return lint_label(
            self.data,
            feature_id,
            name=edit.name,
            category=edit.category,
            notes=edit.notes,
            interpretability_confidence=edit.interpretability_confidence,
            aliases=self.service.aliases,
        )

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
