"""Output effects: what a feature writes to the model's output (docs/analysis.md, "Output
effects").

A feature's effect on output j is its decoder row times column j of the output matrix
(``decoder[f] @ W_out``, W_out as [d, n_out]): the outputs it promotes are the highest, the ones
it suppresses the lowest ("Decoder promotes: SSU, BRU; suppresses: BPU" in a label's notes).
One mat-vec of d x n_out per feature; the matrix is opened once per model, memory-mapped.
A model without an output matrix may have effects imported from a Neuronpedia export
(``[models.NAME] effects``, ``imported_effects.py``): its listed tokens and values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeler_tui.core.analysis.derived import memoized
from labeler_tui.core.data import ModelData
from labeler_tui.core.data.output_matrix import OutputMatrix, open_output
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.results.evidence import EffectJson, EffectsJson

DEFAULT_K = 10


@dataclass(frozen=True)
class Effect:
    name: str
    value: float

    def to_json(self) -> EffectJson:
        return {"name": self.name, "value": self.value}


@dataclass(frozen=True)
class OutputEffects:
    """The top ``k`` promoted (highest first) and suppressed (lowest first) outputs."""

    feature_id: int
    promoted: tuple[Effect, ...]
    suppressed: tuple[Effect, ...]

    def to_json(self) -> EffectsJson:
        """``labeler effects --json``: ``feature_id``, ``promoted`` and ``suppressed``."""
        return {
            "feature_id": self.feature_id,
            "promoted": [e.to_json() for e in self.promoted],
            "suppressed": [e.to_json() for e in self.suppressed],
        }


def has_output(data: ModelData) -> bool:
    """Whether the model has output effects: an output matrix (``[models.NAME] output``) or
    effects imported from a Neuronpedia export (``effects``)."""
    return data.config.output is not None or data.config.effects is not None


def output_matrix(data: ModelData) -> OutputMatrix:
    """The model's output matrix, opened once (ValidationError when none is configured,
    DataError for a bad file)."""
    if data.config.output is None or data.decoder is None:
        raise ValidationError(
            f"model {data.name!r} has no output matrix (set `output` in its "
            f"[models.{data.name}] table to see output effects)"
        )
    path, vocab = data.config.output, data.config.output_vocab
    decoder = data.decoder
    return memoized(
        data,
        "output_matrix",
        lambda: open_output(path, int(decoder.shape[1]), vocab, data.output_names),
    )


def output_effects(data: ModelData, feature_id: int, k: int = DEFAULT_K) -> OutputEffects:
    """The ``k`` outputs feature ``feature_id`` promotes most and suppresses most, with their
    values (ties: lower output id first)."""
    activations = data.feature(feature_id)  # validates the id
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValidationError(f"k: must be an integer >= 1, got {k!r}", "k")
    if data.config.output is None and data.config.effects is not None:
        from labeler_tui.core.evidence.imported_effects import imported_effects

        promoted_pairs, suppressed_pairs = imported_effects(data, activations.feature_id)
        return OutputEffects(
            activations.feature_id,
            tuple(Effect(name, value) for name, value in promoted_pairs[: int(k)]),
            tuple(Effect(name, value) for name, value in suppressed_pairs[: int(k)]),
        )
    matrix = output_matrix(data)
    decoder = data.decoder
    assert decoder is not None
    values = matrix.effects(np.asarray(decoder[activations.feature_id], dtype=np.float64))
    ids = np.arange(len(values))
    k = min(int(k), len(values))
    promoted = _ranked(values, ids, -values, k)
    suppressed = _ranked(values, ids, values, k)
    names = matrix.names
    return OutputEffects(
        activations.feature_id,
        tuple(Effect(names[i], float(values[i])) for i in promoted),
        tuple(Effect(names[i], float(values[i])) for i in suppressed),
    )


def _ranked(values: np.ndarray, ids: np.ndarray, key: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` ids of smallest ``key`` (ties by id), in that order; a partition first, so the
    sort is of k values, not of every output."""
    if k < len(values):
        cut = np.partition(key, k - 1)[k - 1]
        candidates = ids[key <= cut]
    else:
        candidates = ids
    order = np.lexsort((candidates, key[candidates]))
    return candidates[order][:k]
