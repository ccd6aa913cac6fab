"""What the workbench's jobs send back (handled on the UI thread, which alone touches widgets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from labeler_tui.core.evidence.lint import LintWarning
from labeler_tui.core.evidence.neighbours import Neighbour
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.stores.labels import LabelBook
from labeler_tui.core.stores.queue import QueueState
from labeler_tui.core.stores.suggestions import Suggestion

Neighbours = list[Neighbour]
"""Similar features, best first, with their labels (or core families) and queue states."""


@dataclass
class QueueSnapshot:
    """Everything the queue pane and the status line show, read in one go."""

    queue: QueueState
    labels: LabelBook
    status: dict[str, Any]
    signature: tuple[Any, ...]
    pending_rows: list[Any] = field(default_factory=list)
    """The queue pane's rows for the pending view, built off the UI thread."""

    def is_pending(self, feature_id: int) -> bool:
        return any(entry.feature_id == feature_id for entry in self.queue.entries)

    def claimed_by(self, feature_id: int) -> str | None:
        for entry in self.queue.entries:
            if entry.feature_id == feature_id:
                return entry.claimed_by
        return None


class DataReady(Message):
    """The model's data (index) is open; feature loads can start."""

    def __init__(self, model: str, n_features: int, similar_methods: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.n_features = n_features
        self.similar_methods = similar_methods
        """The similarity methods this model can use, the default first."""


class DataProgress(Message):
    """A step of opening the data (building the index on first use)."""

    def __init__(self, model: str, text: str) -> None:
        super().__init__()
        self.model = model
        self.text = text


class QueueLoaded(Message):
    def __init__(self, snapshot: QueueSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class FeatureLoaded(Message):
    """One feature's overview, label record, histogram plot and (when its method answers at
    once) similar features: one message, so the screen is laid out and painted once."""

    def __init__(
        self,
        feature_id: int,
        overview: dict[str, Any],
        record: LabelRecord | None,
        histogram: Any = None,
        similar: tuple[str, Neighbours] | None = None,
        suggestions: tuple[Suggestion, ...] = (),
    ) -> None:
        super().__init__()
        self.feature_id = feature_id
        self.suggestions = suggestions
        """The feature's imported suggestions, best first."""
        self.overview = overview
        self.record = record
        self.histogram = histogram
        """(edges, counts, plot): the histogram in as many bins as the plot has columns and
        its plot built by the job (None: the widget draws the overview's own)."""
        self.similar = similar
        """(method, neighbours), or None when the method has a table still to build."""


class SimilarLoaded(Message):
    def __init__(self, feature_id: int, method: str, rows: Neighbours) -> None:
        super().__init__()
        self.feature_id = feature_id
        self.method = method
        self.rows = rows


class NeighboursRefreshed(Message):
    """The similar features on screen with their labels and queue states as stored now."""

    def __init__(self, feature_id: int, method: str, rows: Neighbours) -> None:
        super().__init__()
        self.feature_id = feature_id
        self.method = method
        self.rows = rows


class LintLoaded(Message):
    """The label lint's warnings for the form's label as it was (``name``) when asked."""

    def __init__(self, feature_id: int, name: str, warnings: list[LintWarning]) -> None:
        super().__init__()
        self.feature_id = feature_id
        self.name = name
        self.warnings = warnings


class RecentLoaded(Message):
    """This owner's recent saves and skips (history events, newest first)."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        super().__init__()
        self.events = events


class TableProgress(Message):
    """The one-time table of a similarity method is being built (``percent`` done)."""

    def __init__(self, method: str, percent: int) -> None:
        super().__init__()
        self.method = method
        self.percent = percent


class TableReady(Message):
    """The table of a similarity method is built: its queries now answer at once."""

    def __init__(self, method: str) -> None:
        super().__init__()
        self.method = method


class CoverageLoaded(Message):
    def __init__(self, feature_id: int, subject: str, coverage: dict[str, Any] | None) -> None:
        super().__init__()
        self.feature_id = feature_id
        self.subject = subject
        self.coverage = coverage


class ClaimChanged(Message):
    """A lease job ran; ``refused`` is a wanted feature another owner (``holder``) holds."""

    def __init__(self, refused: int | None = None, holder: str | None = None) -> None:
        super().__init__()
        self.refused = refused
        self.holder = holder


class NextTaken(Message):
    """The service served (and claimed) the next feature; None: the queue is empty."""

    def __init__(self, feature_id: int | None) -> None:
        super().__init__()
        self.feature_id = feature_id


class ModelChosen(Message):
    """The user picked another model; the app opens it (the app owns the backends)."""

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model


class OperationDone(Message):
    """A write finished (save, skip, undo, add, build): say so and reload."""

    def __init__(self, text: str, next_feature: bool = False) -> None:
        super().__init__()
        self.text = text
        self.next_feature = next_feature
