"""The importance x interpretability quadrant of the labeling guide (docs/analysis.md, "Quadrants").

Importance is the decoder-norm percentile (objective), interpretability the labeler's
confidence (subjective). The docs name four corners; everything between them is "in between".
"""

from __future__ import annotations

STRONG = "strong, well understood"
MYSTERIOUS = "important but mysterious"
WEAK = "understood but weak"
SKIP = "skip"
IN_BETWEEN = "in between"
QUADRANTS = (STRONG, MYSTERIOUS, WEAK, SKIP, IN_BETWEEN)

HIGH_IMPORTANCE = 80.0  # percentile, strictly above
LOW_IMPORTANCE = 20.0  # strictly below
HIGH_INTERPRETABILITY = 0.8  # strictly above
LOW_INTERPRETABILITY = 0.5  # strictly below


def quadrant(
    importance_percentile: float | None, interpretability_confidence: float | None
) -> str | None:
    """One of QUADRANTS; None when either input is unknown (no decoder, or not labeled)."""
    if importance_percentile is None or interpretability_confidence is None:
        return None
    high = importance_percentile > HIGH_IMPORTANCE
    low = importance_percentile < LOW_IMPORTANCE
    understood = interpretability_confidence > HIGH_INTERPRETABILITY
    obscure = interpretability_confidence < LOW_INTERPRETABILITY
    if high and understood:
        return STRONG
    if high and obscure:
        return MYSTERIOUS
    if low and understood:
        return WEAK
    if low and obscure:
        return SKIP
    return IN_BETWEEN
