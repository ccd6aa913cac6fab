"""How well a hypothesis expression explains one feature (docs/analysis.md, "Hypotheses").

For feature f and expression E, over the model's examples:

- ``coverage[r]``: % of region r's examples that match E, for each of the six regions;
- ``verdict``: the core-coverage verdict (``coverage.verdict``: > 50 headline, 30..50 mention,
  < 30 tail_marker);
- ``off_rate``: % of the examples where f is zero (not in its nonzero set) that match E;
- ``lift``: P(match | core) / P(match | f zero), null when the off rate is 0;
- ``score``: balanced accuracy of "E matches" as a detector of "activation > 0.25 x effective
  max" against "f is zero": (TPR + TNR) / 2, TPR = share of the examples above 0.25 x
  effective max that match, TNR = share of the zero examples that do not match.

E's whole-dataset mask is computed once (postings, cached per expression), then one gather of
the feature's rows; no loop over examples, so the app can re-evaluate on every keystroke.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np

from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.coverage import verdict as coverage_verdict
from labeler_tui.core.data import ModelData
from labeler_tui.core.evidence.expressions import Expression, compile_expression
from labeler_tui.core.results.evidence import HypothesisJson, TallyJson, Verdict

POSITIVE_ABOVE = 0.25
"""A feature "fires" for the score when activation > this x effective max (the core and up)."""


@dataclass(frozen=True)
class Tally:
    """How many examples a group holds and how many of them match."""

    count: int
    matches: int

    @property
    def share(self) -> float | None:
        """matches / count (None for an empty group)."""
        return self.matches / self.count if self.count else None

    def to_json(self) -> TallyJson:
        return {"count": self.count, "matches": self.matches}


def _percent(share: float | None) -> float | None:
    return None if share is None else 100.0 * share


@dataclass(frozen=True)
class HypothesisResult:
    """An expression tested on one feature; ``to_json()`` is ``labeler test --json``."""

    feature_id: int
    expression: str
    regions: dict[str, Tally]
    """The six regions, floor first: their examples and matches."""
    positive: Tally
    """Examples with activation > 0.25 x effective max (TPR's population)."""
    zero: Tally
    """Examples where the feature is zero (off rate's and TNR's population)."""
    n_examples: int
    effective_max: float | None

    @property
    def coverage(self) -> dict[str, float | None]:
        """Region -> percent of its examples that match (None when the region is empty)."""
        return {name: _percent(t.share) for name, t in self.regions.items()}

    @property
    def core_coverage(self) -> float | None:
        return self.coverage["core"]

    @property
    def verdict(self) -> str | None:
        return coverage_verdict(self.core_coverage)

    @property
    def off_rate(self) -> float | None:
        """Percent of the zero examples that match (None when the feature is never zero)."""
        return _percent(self.zero.share)

    @property
    def lift(self) -> float | None:
        """P(match | core) / P(match | zero); None when either is undefined or the off rate is 0."""
        core, off = self.regions["core"].share, self.zero.share
        if core is None or not off:
            return None
        return core / off

    @property
    def tpr(self) -> float | None:
        return self.positive.share

    @property
    def tnr(self) -> float | None:
        off = self.zero.share
        return None if off is None else 1.0 - off

    @property
    def score(self) -> float | None:
        """(TPR + TNR) / 2 in 0..1 (0.5 = no better than chance); None when either is undefined."""
        tpr, tnr = self.tpr, self.tnr
        return None if tpr is None or tnr is None else (tpr + tnr) / 2.0

    def to_json(self) -> HypothesisJson:
        return {
            "feature_id": self.feature_id,
            "expression": self.expression,
            "coverage": self.coverage,
            "verdict": cast(Verdict | None, self.verdict),
            "off_rate": self.off_rate,
            "lift": self.lift,
            "score": self.score,
            "tpr": self.tpr,
            "tnr": self.tnr,
            "effective_max": self.effective_max,
            "n_examples": self.n_examples,
            "counts": {name: t.to_json() for name, t in self.regions.items()},
            "positive": self.positive.to_json(),
            "zero": self.zero.to_json(),
        }


def score_hypothesis(
    data: ModelData,
    feature_id: int,
    expression: str | Expression,
    aliases: Mapping[str, str] | None = None,
) -> HypothesisResult:
    """Test ``expression`` (text, compiled with ``aliases``, or an :class:`Expression`) on one
    feature. ValidationError for a bad feature id; ExpressionError for a bad expression."""
    activations = data.feature(feature_id)  # validates the id first
    compiled = (
        expression
        if isinstance(expression, Expression)
        else compile_expression(data, expression, aliases)
    )
    mask, total = compiled.mask(data)
    descending = activations.activations
    n = len(descending)
    eff = R.effective_max(descending)
    regions: dict[str, Tally] = {}
    positive = Tally(0, 0)
    matched_nonzero = 0
    if eff is not None:
        matched = mask[activations.rows]
        count_above = R.above_counter(descending, eff)
        bounds = R.bounds_from(count_above)
        for region, (start, stop) in zip(R.REGIONS, bounds, strict=True):
            hits = int(np.count_nonzero(matched[int(start) : int(stop)]))
            regions[region.name] = Tally(int(stop - start), hits)
        above = count_above(POSITIVE_ABOVE)
        positive = Tally(above, int(np.count_nonzero(matched[:above])))
        matched_nonzero = int(np.count_nonzero(matched))
    else:
        regions = {region.name: Tally(0, 0) for region in R.REGIONS}
    zero = Tally(data.n_examples - n, total - matched_nonzero)
    return HypothesisResult(
        feature_id=activations.feature_id,
        expression=compiled.text,
        regions=regions,
        positive=positive,
        zero=zero,
        n_examples=data.n_examples,
        effective_max=eff,
    )
