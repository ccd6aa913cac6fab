"""Contexts of a sequence model's feature: the tokens around each activating position.

A language-model feature is labeled from its contexts, not from one token. A *context* is the
window around an example (``before`` tokens, the activating token, ``after`` tokens, cut at
its sequence's ends) with this feature's activation at every token of it, so a view can shade
each token and mark the activating one (``tokens[center]``).

:func:`feature_contexts` chooses the examples as ``labeler examples`` does (``examples.py``):
the top k of a region by activation, or a seeded uniform sample of it, optionally only those
matching a hypothesis expression; by default the top for ``top``, ``flanderization`` and
``high``, a sample (seed 0) for the core and below. :func:`sequence_activations` gives a whole
sequence with the feature's activation at each token.

Cost: the shown contexts times their window, plus (once per feature and process, for its last
``MEMORY_SLOTS`` features) one sort of the feature's nonzero positions, so an activation at any
position is a binary search; a sample also hashes its region's ids, as in ``examples.py``.
Pieces are the tokenizer's text, raw (`` the``, ``\\n``); show them with
``core.data.tokenizer.visible_piece`` and join them with ``separator``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.derived import memoized
from labeler_tui.core.config import MAX_WINDOW
from labeler_tui.core.data import ModelData
from labeler_tui.core.data.sequence_data import SequenceModelData
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.evidence.examples import (
    DEFAULT_K,
    TOP,
    _choose,
    checked_request,
)
from labeler_tui.core.evidence.expressions import Expression

SAMPLED_BY_DEFAULT = ("core", "below_core", "low", "floor")
"""Regions whose contexts are a seeded sample unless asked otherwise (the top of a region is
its most extreme part, not what it is made of)."""
MEMORY_SLOTS = 32


@dataclass(frozen=True)
class Context:
    """One activating position and its window; ``to_json()`` is an item of ``labeler
    contexts --json``."""

    seq: int
    """The sequence's id (the token matrix's row, or its ``seq_id``)."""
    pos: int
    """The position in the sequence."""
    example_id: int
    activation: float
    fraction: float
    region: str
    tokens: tuple[str, ...]
    """The window's pieces (raw text)."""
    token_ids: tuple[int, ...]
    activations: tuple[float, ...]
    """This feature's activation at each token of the window (0.0 where it is not active)."""
    center: int
    """The index of the activating token in ``tokens``."""

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "pos": self.pos,
            "example_id": self.example_id,
            "activation": self.activation,
            "fraction": self.fraction,
            "region": self.region,
            "tokens": list(self.tokens),
            "token_ids": list(self.token_ids),
            "activations": list(self.activations),
            "center": self.center,
        }


@dataclass(frozen=True)
class ContextsResult:
    """Contexts of one feature's region; ``to_json()`` is ``labeler contexts --json``."""

    feature_id: int
    model: str
    region: str
    k: int
    sample: bool
    seed: int | None
    window: tuple[int, int]
    separator: str
    """What goes between two pieces when shown as text (" " for a word-level vocabulary)."""
    where: str | None
    match: bool
    effective_max: float | None
    count: int
    """Examples in the region."""
    matching: int | None
    contexts: tuple[Context, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "feature_id": self.feature_id,
            "model": self.model,
            "region": self.region,
            "k": self.k,
            "sample": self.sample,
            "seed": self.seed,
            "window": list(self.window),
            "separator": self.separator,
            "where": self.where,
            "match": self.match,
            "effective_max": self.effective_max,
            "count": self.count,
            "matching": self.matching,
            "contexts": [c.to_json() for c in self.contexts],
        }


@dataclass(frozen=True)
class SequenceActivations:
    """A whole sequence with one feature's activation at each token."""

    feature_id: int
    model: str
    seq: int
    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    activations: tuple[float, ...]
    separator: str
    effective_max: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "feature_id": self.feature_id,
            "model": self.model,
            "seq": self.seq,
            "tokens": list(self.tokens),
            "token_ids": list(self.token_ids),
            "activations": list(self.activations),
            "separator": self.separator,
            "effective_max": self.effective_max,
        }


def sequence_data(data: ModelData) -> SequenceModelData:
    """``data`` as a sequence model; ValidationError naming the model otherwise."""
    if not isinstance(data, SequenceModelData):
        raise ValidationError(
            f"model {data.name!r} is a bag-of-tokens model: contexts need a sequence model "
            '(kind = "sequence"); read its examples with `labeler examples`'
        )
    return data


def check_window(window: tuple[int, int]) -> tuple[int, int]:
    """(before, after), each an integer 0..MAX_WINDOW (ValidationError otherwise)."""
    if (
        not isinstance(window, tuple | list)
        or len(window) != 2
        or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in window)
        or not all(0 <= int(v) <= MAX_WINDOW for v in window)
    ):
        raise ValidationError(
            f"window: expected two integers 0..{MAX_WINDOW} (tokens before, after), got {window!r}",
            "window",
        )
    return int(window[0]), int(window[1])


# --- a feature's activation at any position ---------------------------------------------------
class _Memory:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()


def position_index(data: ModelData, feature_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(the feature's nonzero positions ascending, their activations): made once per feature
    (the last ``MEMORY_SLOTS`` of a process are kept)."""
    memory: _Memory = memoized(data, "context_positions", _Memory)
    with memory.lock:
        if feature_id in memory.index:
            memory.index.move_to_end(feature_id)
            return memory.index[feature_id]
    activations = data.feature(feature_id)
    order = np.argsort(activations.rows, kind="stable")
    entry = (activations.rows[order], np.asarray(activations.activations)[order])
    with memory.lock:
        memory.index[feature_id] = entry
        while len(memory.index) > MEMORY_SLOTS:
            memory.index.popitem(last=False)
    return entry


def activations_at(index: tuple[np.ndarray, np.ndarray], positions: np.ndarray) -> np.ndarray:
    """float64 activation at each position (0 where the feature is not active)."""
    sorted_positions, values = index
    positions = np.asarray(positions, dtype=np.int64)
    if not len(sorted_positions):
        return np.zeros(positions.shape, dtype=np.float64)
    found = np.searchsorted(sorted_positions, positions)
    np.minimum(found, len(sorted_positions) - 1, out=found)
    hit = sorted_positions[found] == positions
    return np.where(hit, values[found].astype(np.float64), 0.0)


# --- contexts of a region ---------------------------------------------------------------------
def feature_contexts(
    data: ModelData,
    feature_id: int,
    region: str = TOP,
    k: int = DEFAULT_K,
    *,
    sample: bool | None = None,
    seed: int = 0,
    window: tuple[int, int] | None = None,
    where: str | Expression | None = None,
    match: bool = True,
    aliases: Mapping[str, str] | None = None,
) -> ContextsResult:
    """Up to ``k`` contexts of ``region`` (``top`` or a region name) of a feature, highest
    activation first. ``sample`` None: a seeded sample for the core and below, the top
    otherwise. ``window`` (before, after) defaults to the model's ``window``. ValidationError
    for a bag model, a bad id, region, k, seed or window; ExpressionError for a bad ``where``."""
    seq = sequence_data(data)
    activations, region, k, seed, expression = checked_request(
        seq, feature_id, region, k, seed, where, aliases
    )
    before, after = check_window(window if window is not None else seq.sequences.window)
    use_sample = region in SAMPLED_BY_DEFAULT if sample is None else bool(sample)
    descending = activations.activations
    eff = R.effective_max(descending)
    result = ContextsResult(
        feature_id=activations.feature_id,
        model=seq.name,
        region=region,
        k=k,
        sample=use_sample,
        seed=seed if use_sample else None,
        window=(before, after),
        separator=seq.sequences.separator,
        where=None if expression is None else expression.text,
        match=match,
        effective_max=eff,
        count=0,
        matching=None if expression is None else 0,
    )
    if eff is None:
        return result
    bounds = R.bounds_from(R.above_counter(descending, eff))
    start, stop = (0, len(descending)) if region == TOP else bounds[R.REGION_NAMES.index(region)]
    start, stop = int(start), int(stop)
    positions: np.ndarray | None = None
    matching = None
    if expression is not None:
        kept = expression.matches(seq, activations.rows_between(start, stop))
        positions = start + np.flatnonzero(kept if match else ~kept)
        matching = len(positions)
    chosen = _choose(seq, activations, start, stop, positions, k, seed if use_sample else None)
    rows = activations.rows_at(chosen)
    acts = np.asarray(activations.activations[chosen], dtype=np.float64)
    region_of = len(R.REGIONS) - np.searchsorted(bounds[:, 0][::-1], chosen, side="right")
    contexts = _contexts(seq, activations.feature_id, rows, acts, eff, region_of, before, after)
    return replace(result, count=stop - start, matching=matching, contexts=contexts)


def _contexts(
    data: SequenceModelData,
    feature_id: int,
    rows: np.ndarray,
    acts: np.ndarray,
    eff: float,
    region_of: np.ndarray,
    before: int,
    after: int,
) -> tuple[Context, ...]:
    if not len(rows):
        return ()
    table = data.sequences
    grid, inside = table.window_positions(rows, before, after)
    values = activations_at(position_index(data, feature_id), np.where(inside, grid, -1))
    seq_rows, pos = table.locate(rows)
    out = []
    for i, row in enumerate(rows):
        keep = inside[i]
        token_ids = np.asarray(table.tokens[grid[i][keep]], dtype=np.int64)
        out.append(
            Context(
                seq=int(table.seq_ids[seq_rows[i]]),
                pos=int(pos[i]),
                example_id=int(row),
                activation=float(acts[i]),
                fraction=float(acts[i] / eff),
                region=R.REGION_NAMES[int(region_of[i])],
                tokens=tuple(table.pieces[int(t)] for t in token_ids),
                token_ids=tuple(int(t) for t in token_ids),
                activations=tuple(float(v) for v in values[i][keep]),
                center=int(np.count_nonzero(keep[:before])),
            )
        )
    return tuple(out)


# --- a whole sequence ---------------------------------------------------------------------------
def sequence_activations(data: ModelData, feature_id: int, seq: int) -> SequenceActivations:
    """The sequence ``seq`` (its id, as contexts give it) with the feature's activation at each
    token. ValidationError for a bag model, a bad feature id or an unknown sequence."""
    model = sequence_data(data)
    activations = model.feature(feature_id)
    table = model.sequences
    if isinstance(seq, bool) or not isinstance(seq, int | np.integer):
        raise ValidationError(f"seq: expected a sequence id, got {seq!r}", "seq")
    row = int(np.searchsorted(table.seq_ids, seq))
    if row >= table.n_sequences or int(table.seq_ids[row]) != int(seq):
        raise ValidationError(
            f"seq: no sequence {seq} in model {model.name!r} ({table.n_sequences} sequences)",
            "seq",
        )
    positions = np.arange(int(table.offsets[row]), int(table.offsets[row + 1]), dtype=np.int64)
    token_ids = np.asarray(table.tokens[positions], dtype=np.int64)
    values = activations_at(position_index(model, activations.feature_id), positions)
    return SequenceActivations(
        feature_id=activations.feature_id,
        model=model.name,
        seq=int(seq),
        tokens=tuple(table.pieces[int(t)] for t in token_ids),
        token_ids=tuple(int(t) for t in token_ids),
        activations=tuple(float(v) for v in values),
        separator=table.separator,
        effective_max=R.effective_max(activations.activations),
    )
