"""``from labeler_tui.labeling import ...``: the Python API (see :mod:`labeler_tui.api.labeling`)."""

from labeler_tui.api.labeling import (
    LabelConsolidator,
    LabelingQueue,
    LabelRecord,
    QueueBuilder,
    QueueEntry,
    SimilarFeature,
    SimilarFinder,
)

__all__ = [
    "LabelConsolidator",
    "LabelRecord",
    "LabelingQueue",
    "QueueBuilder",
    "QueueEntry",
    "SimilarFeature",
    "SimilarFinder",
]
