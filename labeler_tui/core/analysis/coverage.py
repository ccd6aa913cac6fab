"""Core coverage: does a proposed label driver cover the feature's core, or only its tail?

The labeling guide's rule (docs/analysis.md, "Core coverage"): the percent of core-region examples
(0.25 < activation / effective max <= 0.75) containing a token, a token family or a metadata
value. Verdict: > 50 ``headline``, 30..50 ``mention``, < 30 ``tail_marker``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.feature_view import FeatureView
from labeler_tui.core.data import ModelData
from labeler_tui.core.errors import ValidationError

HEADLINE_ABOVE = 50.0
TAIL_BELOW = 30.0


def verdict(core_coverage_percent: float | None) -> str | None:
    """``headline`` (> 50), ``mention`` (30..50) or ``tail_marker`` (< 30); None without a core."""
    if core_coverage_percent is None:
        return None
    if core_coverage_percent > HEADLINE_ABOVE:
        return "headline"
    if core_coverage_percent >= TAIL_BELOW:
        return "mention"
    return "tail_marker"


@dataclass(frozen=True)
class Subject:
    """What a coverage question is about: a token, a family or ``column=value``."""

    kind: str  # "token" | "family" | "metadata"
    text: str
    index: int  # token id, family id or metadata code
    column: str | None = None


def resolve_subject(data: ModelData, subject: str) -> Subject:
    """A token name, then a family name, then ``column=value`` (ValidationError if none)."""
    text = subject.strip()
    if text in data.token_ids:
        return Subject("token", text, data.token_ids[text])
    if text in data.family_names:
        return Subject("family", text, data.family_names.index(text))
    column, sep, value = text.partition("=")
    if sep:
        column, value = column.strip(), value.strip()
        if column not in data.metadata_columns:
            known = ", ".join(data.metadata_columns) or "none"
            raise ValidationError(
                f"--token {subject!r}: unknown metadata column {column!r} (columns: {known})"
            )
        values = data.metadata_values(column)
        for code, candidate in enumerate(values):
            if candidate is not None and str(candidate) == value:
                return Subject("metadata", f"{column}={value}", code, column)
        raise ValidationError(
            f"--token {subject!r}: no example of model {data.name!r} has {column} = {value!r}"
        )
    raise ValidationError(
        f"--token {subject!r}: not a token, a token family or column=value of model {data.name!r}"
    )


def core_coverage_of(view: FeatureView, subject: Subject) -> dict[str, Any]:
    core = view.region_slice(R.CORE)
    core_count = core.stop - core.start
    if core_count == 0:
        with_subject, percent = 0, None
    else:
        with_subject = int(_core_hits(view, subject, core))
        percent = 100.0 * with_subject / core_count
    return {
        "feature_id": view.feature_id,
        "subject": subject.text,
        "core_count": core_count,
        "core_with": with_subject,
        "core_coverage": percent,
        "verdict": verdict(percent),
    }


def _core_hits(view: FeatureView, subject: Subject, core: slice) -> int:
    if subject.kind == "metadata":
        assert subject.column is not None
        return int(np.count_nonzero(view.metadata_codes(subject.column)[core] == subject.index))
    table = view.table
    wanted = (
        table.token_id(subject.index) if subject.kind == "token" else table.family_id(subject.index)
    )
    return int(np.count_nonzero(view.region_sets(R.CORE) == wanted))


def core_coverage(data: ModelData, feature_id: int, subject: str) -> dict[str, Any]:
    """``{"feature_id", "subject", "core_count", "core_with", "core_coverage", "verdict"}``.

    ``core_coverage`` is a percent (None, with verdict None, when the core region is empty).
    """
    resolved = resolve_subject(data, subject)
    return core_coverage_of(FeatureView(data, feature_id), resolved)
