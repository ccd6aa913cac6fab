"""The Python API for agents' scripts, with the names of SplatNLP's ``mechinterp.labeling``.

The original's "Programmatic Usage" snippet runs with only the import line changed::

    from labeler_tui.labeling import LabelConsolidator, LabelingQueue, QueueBuilder, SimilarFinder

    queue = LabelingQueue.load("ultra")
    entry = queue.get_next()
    queue.mark_complete(entry.feature_id, "My Label")
    LabelConsolidator("ultra").set_label(feature_id=18712, name="SCU Detector", category="tactical")
    similar = SimilarFinder("ultra").find_by_top_tokens(18712, top_k=5)
    queue = QueueBuilder("ultra").build_by_activation_count(top_k=50)

Unlike the original, nothing is held in memory between calls: every call goes through
:class:`~labeler_tui.core.service.LabelingService` (lock, re-read, atomic write, history event),
so scripts, the CLI and the app can work on the same workspace at once. Each class takes the
model name (default: the workspace's ``default_model``) and an optional ``workspace=`` (a folder,
a labeler.toml or a :class:`~labeler_tui.core.workspace.Workspace`; default: the usual discovery).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from labeler_tui.api.context import open_workspace
from labeler_tui.api.types import ConsolidatedLabel, QueueEntry, SimilarFeature, label_of
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.records import LabelEdit, LabelRecord
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace

__all__ = [
    "ConsolidatedLabel",
    "LabelConsolidator",
    "LabelRecord",
    "LabelingQueue",
    "QueueBuilder",
    "QueueEntry",
    "SimilarFeature",
    "SimilarFinder",
]

WorkspaceArg = str | Path | Workspace | None


def _service(model: str | None, workspace: WorkspaceArg, **options: Any) -> LabelingService:
    return LabelingService(open_workspace(workspace), model, **options)


# --- labels -----------------------------------------------------------------------------------
class LabelConsolidator:
    """Labels of one model: read, set, clear, sync from the dashboard/research stores, export.

    Labels are :class:`~labeler_tui.api.types.ConsolidatedLabel` objects, as in the original:
    fields as attributes (``label.display_name``; ``label.last_updated`` a datetime), the stored
    JSON by key (``label["display_name"]``) or whole (``label.to_dict()``)."""

    def __init__(
        self,
        model_type: str | None = None,
        *,
        workspace: WorkspaceArg = None,
        source: str | None = None,
    ) -> None:
        self.service = _service(model_type, workspace, source=source)
        self.model_type = self.service.model

    def load_consolidated(self) -> dict[int, ConsolidatedLabel]:
        """Every label by feature id (read fresh from the store)."""
        return {fid: ConsolidatedLabel(rec) for fid, rec in sorted(self.service.labels().items())}

    def get_label(self, feature_id: int) -> ConsolidatedLabel | None:
        return label_of(self.service.label(feature_id))

    def set_label(
        self,
        feature_id: int,
        name: str,
        category: str | None = None,
        notes: str | None = None,
        source: str | None = None,
        **fields: Any,
    ) -> ConsolidatedLabel:
        """Save a label exactly like ``labeler label`` (consolidated store, dashboard file, an
        existing research state; the feature is marked completed in the queue). ``fields`` are
        any other :class:`~labeler_tui.core.records.LabelEdit` field, e.g.
        ``interpretability_confidence=0.8``."""
        try:
            edit = LabelEdit(name, category=category, notes=notes, source=source, **fields)
        except TypeError as exc:  # an unknown keyword
            raise ValidationError(f"set_label: {exc}") from None
        return ConsolidatedLabel(self.service.set_label(feature_id, edit))

    def clear_label(self, feature_id: int) -> ConsolidatedLabel | None:
        """Remove a label; returns the removed record (None if there was none)."""
        return label_of(self.service.clear_label(feature_id))

    def sync(self) -> list[dict[str, Any]]:
        """Merge dashboard and research labels in; returns the changes (see ``labeler sync``)."""
        return self.service.sync().changes

    def sync_from_all_sources(self) -> int:
        """The original's name for :meth:`sync`; returns the number of features changed."""
        return len({change["feature_id"] for change in self.sync()})

    def get_labeled_features(self) -> list[int]:
        return sorted(self.service.labels())

    def get_unlabeled_features(self, all_features: Iterable[int]) -> list[int]:
        labeled = self.service.labels()
        return [fid for fid in all_features if fid not in labeled]

    def get_by_category(self, category: str) -> list[ConsolidatedLabel]:
        return [
            rec for rec in self.load_consolidated().values() if rec.dashboard_category == category
        ]

    def search(self, query: str) -> list[ConsolidatedLabel]:
        """Labels whose name, category, notes or research label contain ``query`` (any case)."""
        needle = query.lower()
        return [
            rec
            for rec in self.load_consolidated().values()
            if any(
                needle in value.lower()
                for value in (
                    rec.display_name,
                    rec.dashboard_name,
                    rec.dashboard_category,
                    rec.dashboard_notes,
                    rec.research_label,
                )
                if value
            )
        ]

    def export(self, path: str | Path, force: bool = True) -> int:
        """Write every label to CSV, JSON Lines or JSON (by extension); returns the count. As
        the original did, an existing file is replaced (``force=False`` refuses); the
        workspace's stores never are."""
        return self.service.export(Path(path), force=force)

    def export_csv(self, output_path: str | Path) -> int:
        """The original's name for :meth:`export` (the extension still picks the format)."""
        return self.export(output_path)

    def get_statistics(self) -> dict[str, Any]:
        """The original's counters plus ``by_source`` (every provenance, not just three)."""
        labels = self.service.status()["labels"]
        by_source = labels["by_source"]
        return {
            "total_labeled": labels["total"],
            "from_dashboard": by_source.get("dashboard", 0),
            "from_research": by_source.get("research", 0),
            "merged": by_source.get("merged", 0),
            "by_source": by_source,
            "by_category": labels["by_category"],
        }


# --- queue ------------------------------------------------------------------------------------
class LabelingQueue:
    """The labeling queue of one model. Every property and method reads the current file, so a
    queue object never goes stale; every change is saved at once (``save()`` is a no-op kept
    for old scripts)."""

    def __init__(
        self,
        model_type: str | None = None,
        *,
        workspace: WorkspaceArg = None,
        owner: str | None = None,
        service: LabelingService | None = None,
    ) -> None:
        self.service = service or _service(model_type, workspace, owner=owner)
        self.model_type = self.service.model
        self.added: list[int] = []
        """Ids added by the QueueBuilder call that returned this queue (empty otherwise)."""

    @classmethod
    def load(
        cls,
        model_type: str | None = None,
        *,
        workspace: WorkspaceArg = None,
        owner: str | None = None,
    ) -> LabelingQueue:
        return cls(model_type, workspace=workspace, owner=owner)

    # --- reading -------------------------------------------------------------------------------
    @property
    def entries(self) -> list[QueueEntry]:
        """Pending entries in serving order (priority descending, then oldest first)."""
        return [QueueEntry.of(entry) for entry in self.service.queue().entries]

    @property
    def completed(self) -> list[int]:
        return self.service.queue().completed

    @property
    def skipped(self) -> list[int]:
        return [record.feature_id for record in self.service.queue().skipped]

    def __len__(self) -> int:
        return len(self.entries)

    def get_next(
        self,
        *,
        build: bool = True,
        claim: bool = False,
        owner: str | None = None,
        ttl: float | None = None,
    ) -> QueueEntry | None:
        """The next feature to label, like ``labeler next``: an empty queue is first built by
        activation count unless ``build=False``; ``claim=True`` leases it to ``owner``."""
        entry = self.service.next(build=build, claim=claim, owner=owner, ttl=ttl)
        return None if entry is None else QueueEntry.of(entry)

    def peek(self, n: int = 5) -> list[QueueEntry]:
        return self.entries[: max(0, n)]

    def get_statistics(self) -> dict[str, int]:
        queue = self.service.status()["queue"]
        return {**queue, "total_processed": queue["completed"] + queue["skipped"]}

    # --- changes -------------------------------------------------------------------------------
    def add(
        self, feature_id: int, priority: float = 0.5, reason: str | None = "manual add"
    ) -> QueueEntry | None:
        """Queue one feature (re-queues a completed or skipped one); returns its entry."""
        self.service.add([feature_id], priority=priority, reason=reason)
        return self._entry(feature_id)

    def add_batch(
        self, feature_ids: Iterable[int], priority: float = 0.5, reason: str | None = "batch add"
    ) -> int:
        """Queue several features in one change; returns how many it queued or moved up."""
        result = self.service.add(list(feature_ids), priority=priority, reason=reason)
        return len(result.changed)

    def update_priority(self, feature_id: int, new_priority: float) -> bool:
        """Change a pending feature's priority, up or down (keeping its reason); False if not
        pending."""
        return self.service.set_priority(feature_id, new_priority)

    def mark_skipped(self, feature_id: int, reason: str | None = None) -> bool:
        """Skip a feature, keeping the reason; returns whether it was pending."""
        was_pending = self._entry(feature_id) is not None
        self.service.skip(feature_id, reason or None)
        return was_pending

    def mark_complete(self, feature_id: int, label: str | None = None) -> bool:
        """Move a pending feature to ``completed`` without saving a label (as the original
        did: ``label`` is only recorded in the history event). Save labels with
        :meth:`LabelConsolidator.set_label`, which also completes the feature. Returns whether
        the feature was pending."""
        return self.service.complete(feature_id, label=label)

    def claim(self, feature_id: int, owner: str | None = None, ttl: float | None = None) -> bool:
        """Lease a pending feature; False when another owner holds a live lease."""
        return self.service.claim(feature_id, owner=owner, ttl=ttl)

    def release(self, feature_id: int, owner: str | None = None) -> None:
        self.service.release(feature_id, owner=owner)

    def save(self) -> None:
        """Nothing to do: every change was already written atomically."""

    def _entry(self, feature_id: int) -> QueueEntry | None:
        return next((e for e in self.entries if e.feature_id == feature_id), None)


# --- queue builders ---------------------------------------------------------------------------
class QueueBuilder:
    """Fill the queue with candidates (labeled, queued, completed and skipped features are
    never proposed again). Each method returns the model's :class:`LabelingQueue`, whose
    ``added`` lists the ids this call queued."""

    def __init__(self, model_type: str | None = None, *, workspace: WorkspaceArg = None) -> None:
        self.service = _service(model_type, workspace)
        self.model_type = self.service.model

    def build(
        self, method: str, seed: int | None = None, top_k: int | None = None
    ) -> LabelingQueue:
        """Any builder of ``labeler build-queue --method``: activation_count, cluster,
        importance, mysterious."""
        return self._build(method, seed=seed, top_k=top_k)

    def _build(self, method: str, **options: Any) -> LabelingQueue:
        result = self.service.build_queue(method, **options)
        queue = LabelingQueue(service=self.service)
        queue.added = result.changed
        return queue

    def build_by_activation_count(
        self, top_k: int = 100, exclude_labeled: bool = True
    ) -> LabelingQueue:
        """Features with the most nonzero activations first (most evidence to read); the
        original's arguments (``exclude_labeled=False`` queues labeled ones again too)."""
        return self._build("activation_count", top_k=top_k, include_labeled=not exclude_labeled)

    def build_by_cluster(self, seed: int, top_k: int = 10) -> LabelingQueue:
        """Features most similar to ``seed``."""
        return self.build("cluster", seed=seed, top_k=top_k)

    def build_from_cluster(self, seed_feature: int, top_k: int = 10) -> LabelingQueue:
        """The original's name for :meth:`build_by_cluster`."""
        return self.build_by_cluster(seed_feature, top_k=top_k)

    def build_by_importance(self, top_k: int = 50) -> LabelingQueue:
        """Highest decoder-norm percentile first."""
        return self.build("importance", top_k=top_k)

    def build_mysterious(self, top_k: int = 50) -> LabelingQueue:
        """Important features whose label has a low interpretability confidence."""
        return self.build("mysterious", top_k=top_k)


# --- similar features -------------------------------------------------------------------------
class SimilarFinder:
    """Features similar to a given one, by the analysis engine's precomputed profiles."""

    def __init__(self, model_type: str | None = None, *, workspace: WorkspaceArg = None) -> None:
        self.workspace = open_workspace(workspace)
        self.model_type = self.workspace.model_name(model_type)

    def find(
        self, feature_id: int, method: str | None = None, top_k: int = 10
    ) -> list[SimilarFeature]:
        """The ``top_k`` most similar features by ``method`` (a registered similarity method;
        default: decoder, or tokens for a model without a decoder), most similar first; the
        feature itself is never included."""
        from labeler_tui.core.analysis.similarity import similar_features

        if top_k < 1:
            raise ValidationError(f"top_k: must be at least 1, got {top_k}")
        data = self.workspace.data(self.model_type)
        found = similar_features(data, feature_id, method=method, top_k=top_k)
        return [SimilarFeature(fid, similarity) for fid, similarity in found]

    def find_by_top_tokens(self, feature_id: int, top_k: int = 10) -> list[SimilarFeature]:
        """Cosine of activation-weighted token-family profiles."""
        return self.find(feature_id, "tokens", top_k)

    def find_by_family_overlap(self, feature_id: int, top_k: int = 10) -> list[SimilarFeature]:
        """The original's family-level comparison: the token profiles here are per family."""
        return self.find(feature_id, "tokens", top_k)

    def find_by_decoder(self, feature_id: int, top_k: int = 10) -> list[SimilarFeature]:
        """Cosine of decoder directions."""
        return self.find(feature_id, "decoder", top_k)

    def find_by_coactivation(self, feature_id: int, top_k: int = 10) -> list[SimilarFeature]:
        """Jaccard overlap of the sets of examples the features are active on."""
        return self.find(feature_id, "coactivation", top_k)

    def find_coactivating(self, feature_id: int, top_k: int = 10) -> list[SimilarFeature]:
        """The original's name for :meth:`find_by_coactivation`."""
        return self.find_by_coactivation(feature_id, top_k)
