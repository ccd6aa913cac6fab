"""Checks of user-given values; each failure is one ValidationError line and nothing is written."""

from __future__ import annotations

import math
from collections.abc import Iterable

from labeler_tui.core.errors import ValidationError


def check_unit_interval(name: str, value: float | None) -> float | None:
    """A score in [0, 1] (None passes through); ``name`` is the flag/field to blame."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValidationError(f"{name}: expected a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValidationError(f"{name}: must be in [0, 1], got {value:g}")
    return float(value)


def check_feature_id(feature_id: int, n_features: int, model: str) -> int:
    if isinstance(feature_id, bool) or not isinstance(feature_id, int):
        raise ValidationError(f"feature id: expected an integer, got {feature_id!r}")
    if not 0 <= feature_id < n_features:
        raise ValidationError(
            f"feature id {feature_id} is out of range for model {model!r} (0..{n_features - 1})"
        )
    return feature_id


def check_name(name: str | None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name: must not be empty")
    return name.strip()


def check_optional_text(name: str, value: str | None) -> str | None:
    """Notes and research labels are text (None passes through): a number or list from a
    script would otherwise be stored and break every reader that expects a string."""
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{name}: expected text, got {type(value).__name__} {value!r}")
    return value


UNCATEGORIZED = "none"
"""What a label saved without a category gets; always accepted, configured or not."""


def check_category(category: str | None, categories: Iterable[str]) -> str | None:
    if category is None or category == UNCATEGORIZED:
        return category
    allowed = tuple(categories)
    if category not in allowed:
        listed = ", ".join(allowed) + ("" if UNCATEGORIZED in allowed else "; or none")
        raise ValidationError(
            f"category: {category!r} is not one of the configured categories ({listed})"
        )
    return category


def check_source(source: str | None) -> str:
    if not isinstance(source, str) or not source.strip():
        raise ValidationError("source: must not be empty")
    return source.strip()


def check_ttl(ttl: float) -> float:
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl > 0 or math.isinf(ttl):
        raise ValidationError(f"ttl: expected a positive number of seconds, got {ttl!r}")
    return float(ttl)
