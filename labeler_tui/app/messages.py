"""Messages that workers post to the workbench with their results (handled on the UI thread)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class QueueSnapshot:
    """Everything the queue pane and the status line show, read in one go."""

    entries: list[Any]
    completed: list[int]
    skipped: list[Any]
    labels: dict[int, dict[str, Any]]
    status: dict[str, Any]
    signature: tuple[Any, ...]
    n_features: int | None
    pending_rows: list[Any] | None = None
    """The queue pane's rows for the pending view, built by the worker."""


class DataReady(Message):
    """The model's data (index) is open; feature loads can start."""

    def __init__(self, model: str, n_features: int, has_decoder: bool = True) -> None:
        super().__init__()
        self.model = model
        self.n_features = n_features
        self.has_decoder = has_decoder


class QueueLoaded(Message):
    def __init__(self, snapshot: QueueSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class FeatureLoaded(Message):
    def __init__(
        self,
        feature_id: int,
        overview: dict[str, Any],
        claimed: bool | None,
        claim_pending: bool = False,
        histogram: Any = None,
        similar: tuple[str, list[tuple[int, float, str | None]]] | None = None,
        similar_error: str | None = None,
    ) -> None:
        super().__init__()
        self.feature_id = feature_id
        self.overview = overview
        self.claimed = claimed
        """True if claimed for us, False if another owner holds it, None if not tried."""
        self.claim_pending = claim_pending
        """The worker is writing the claim now (its result follows separately)."""
        self.histogram = histogram
        """The histogram plot built by the worker (None: the UI thread builds it)."""
        self.similar = similar
        """(method, neighbours) computed with the overview, or None."""
        self.similar_error = similar_error


class SimilarLoaded(Message):
    def __init__(
        self, feature_id: int, method: str, rows: list[tuple[int, float, str | None]]
    ) -> None:
        super().__init__()
        self.feature_id = feature_id
        self.method = method
        self.rows = rows


class CoverageLoaded(Message):
    def __init__(self, feature_id: int, subject: str, coverage: dict[str, Any] | None) -> None:
        super().__init__()
        self.feature_id = feature_id
        self.subject = subject
        self.coverage = coverage


class OperationDone(Message):
    """A write finished (save, skip, undo, add, build): say so and reload."""

    def __init__(
        self, text: str, next_feature: bool = False, severity: str = "information"
    ) -> None:
        super().__init__()
        self.text = text
        self.next_feature = next_feature
        self.severity = severity


class OperationFailed(Message):
    """A worker raised a LabelerError: one line for the user, nothing written."""

    def __init__(self, what: str, error: str, feature_id: int | None = None) -> None:
        super().__init__()
        self.what = what
        self.error = error
        self.feature_id = feature_id
