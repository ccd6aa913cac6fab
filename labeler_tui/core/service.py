"""The labeling service: one API over the stores, used by the CLI, the app and the Python API.
(INTERFACE - being implemented; signatures and docstrings are the contract between parts.)

Every write follows the store rules of DESIGN.md: take the workspace lock, re-read the file,
apply, write a temp file, fsync, rename, append the history event, release. A corrupt store raises
StoreError (file name and line/column) and is never overwritten. Bad values raise
ValidationError and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labeler_tui.core.workspace import Workspace


@dataclass
class QueueEntry:
    feature_id: int
    priority: float
    reason: str | None
    added_at: str  # ISO 8601
    model_type: str
    claimed_by: str | None = None
    claim_expires: str | None = None  # ISO 8601; a lease past this time is free again
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept on rewrite


@dataclass
class SkipRecord:
    feature_id: int
    reason: str | None
    skipped_at: str | None


@dataclass
class QueueState:
    """The queue file as read: pending entries in serving order (priority desc, then age)."""

    entries: list[QueueEntry]
    completed: list[int]
    skipped: list[SkipRecord]

    def active_claims(self, now: str | None = None) -> list[QueueEntry]:
        raise NotImplementedError


class LabelingService:
    """Stores of one model in one workspace.

    ``source`` (provenance for labels) defaults to the workspace's ``[labeler] source``;
    ``owner`` (queue claims) to ``[labeler] owner``.
    """

    def __init__(
        self,
        workspace: Workspace,
        model: str | None = None,
        *,
        source: str | None = None,
        owner: str | None = None,
    ) -> None:
        raise NotImplementedError

    # --- reads ---------------------------------------------------------------------------------
    def labels(self) -> dict[int, dict[str, Any]]:
        """Consolidated records by feature id."""
        raise NotImplementedError

    def label(self, feature_id: int) -> dict[str, Any] | None:
        raise NotImplementedError

    def queue(self) -> QueueState:
        raise NotImplementedError

    def status(self) -> dict[str, Any]:
        """``{"model", "labels": {"total", "by_source", "by_category"}, "queue": {"pending",
        "completed", "skipped", "claimed"}}``."""
        raise NotImplementedError

    def history(self, feature_id: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Events, oldest first (the newest ``limit`` of them)."""
        raise NotImplementedError

    def stores_signature(self) -> tuple[Any, ...]:
        """Cheap fingerprint (mtime_ns, size of each store file); changes when any store does.

        The app polls it to show changes made by other processes."""
        raise NotImplementedError

    # --- writes --------------------------------------------------------------------------------
    def set_label(
        self,
        feature_id: int,
        name: str,
        category: str | None = None,
        notes: str | None = None,
        *,
        source: str | None = None,
        interpretability_confidence: float | None = None,
        hypothesis_confidence: float | None = None,
        stability_score: float | None = None,
        research_label: str | None = None,
    ) -> dict[str, Any]:
        """Save a label (consolidated + dashboard + existing research state), mark the feature
        completed in the queue, release its claim; returns the saved record."""
        raise NotImplementedError

    def clear_label(self, feature_id: int) -> dict[str, Any] | None:
        """Remove a label; returns the removed record (None if there was none)."""
        raise NotImplementedError

    def skip(self, feature_id: int | None = None, reason: str | None = None) -> int:
        """Skip a feature (default: the next one in the queue); returns its id."""
        raise NotImplementedError

    def add(self, feature_ids: list[int], priority: float = 0.5, reason: str | None = None) -> list[int]:
        """Queue features (re-queues completed/skipped ones for relabeling); returns the ids added."""
        raise NotImplementedError

    def next(
        self,
        *,
        build: bool = True,
        claim: bool = False,
        owner: str | None = None,
        ttl: float | None = None,
    ) -> QueueEntry | None:
        """The top pending entry not claimed by someone else (an empty queue is first built by
        activation count unless build=False); with claim=True it is leased to ``owner``."""
        raise NotImplementedError

    def claim(self, feature_id: int, owner: str | None = None, ttl: float | None = None) -> bool:
        """Lease a feature to ``owner``; False when another owner holds a live lease."""
        raise NotImplementedError

    def release(self, feature_id: int, owner: str | None = None) -> None:
        raise NotImplementedError

    def undo(self) -> dict[str, Any] | None:
        """Revert the newest not-yet-undone change; returns the compensating event (None if
        there is nothing to undo)."""
        raise NotImplementedError

    def sync(self) -> list[dict[str, Any]]:
        """Merge the dashboard file and research states into the consolidated store; returns
        the changes ``[{"feature_id", "field", "before", "after", "from"}]``."""
        raise NotImplementedError

    def export(self, path: Path) -> int:
        """Write every record to CSV or JSONL (by extension); returns the record count."""
        raise NotImplementedError

    def build_queue(self, method: str, seed: int | None = None, top_k: int | None = None) -> list[int]:
        """Add the builder's candidates to the queue; returns the ids added."""
        raise NotImplementedError
