"""Checks of user-given values; each failure is one ValidationError line and nothing is written.

The checks of label-record fields (names, categories, sources, scores) build on these in
:mod:`labeler_tui.core.records`.
"""

from __future__ import annotations

import math
from typing import Any

from labeler_tui.core.errors import ValidationError


def check_number(name: str, value: Any, top: float) -> Any:
    """``value`` itself when it is a number in [0, top] (None passes through); an int stays an
    int, so a record read and written back is unchanged. ``name`` is the flag/field to blame."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValidationError(f"{name}: expected a number in [0, {top:g}], got {value!r}", name)
    if not 0.0 <= value <= top:
        raise ValidationError(f"{name}: must be in [0, {top:g}], got {value:g}", name)
    return value


def check_unit_interval(name: str, value: float | None) -> float | None:
    """A score in [0, 1] as a float (None passes through)."""
    checked = check_number(name, value, 1.0)
    return None if checked is None else float(checked)


def check_text(name: str, value: Any) -> str | None:
    """Text (None passes through): a number or list from a script would otherwise be stored and
    break every reader that expects a string."""
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{name}: expected text, got {type(value).__name__} {value!r}", name)
    return value


def check_feature_id(feature_id: int, n_features: int, model: str) -> int:
    if isinstance(feature_id, bool) or not isinstance(feature_id, int):
        raise ValidationError(f"feature id: expected an integer, got {feature_id!r}")
    if not 0 <= feature_id < n_features:
        raise ValidationError(
            f"feature id {feature_id} is out of range for model {model!r} (0..{n_features - 1})"
        )
    return feature_id


MAX_FEATURE_ID = (1 << 31) - 1
"""Feature ids are below 2^31 (docs/formats.md, "Activations")."""
TTL_SECONDS = (1.0, 604_800.0)
"""A claim's lease: from one second to seven days."""
POLL_SECONDS = (0.1, 3600.0)
"""How often the app looks for other processes' changes."""


def check_range(name: str, value: Any, bounds: tuple[float, float]) -> float:
    """A number in ``bounds``, as a float (NaN and infinities are out of every range)."""
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValidationError(f"{name}: must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def check_ttl(ttl: Any, name: str = "ttl") -> float:
    """A lease length in seconds (:data:`TTL_SECONDS`)."""
    return check_range(name, ttl, TTL_SECONDS)
