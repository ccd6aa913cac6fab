"""Suggested labels: explanations other tools wrote (Delphi, Neuronpedia), kept apart from labels.

``labels/suggestions_{model}.jsonl`` holds one suggestion a line (docs/formats.md,
"Suggestions"): ``feature_id``, ``text``, ``source`` (the tool: ``delphi``, ``neuronpedia``),
``explainer`` (the model that wrote it), ``method``, ``scores`` (name -> number, e.g. Delphi's
``detection`` and ``fuzz`` balanced accuracies), ``origin`` (the file it came from) and
``imported_at``. Unknown keys are kept. A suggestion never labels a feature, never changes
the queue or progress; a label saved from one records ``derived_from``.

Importing takes the workspace lock, re-reads the file, replaces a suggestion that has the same
feature, source, explainer, method and text, and rewrites the file atomically (sorted by
feature, so it diffs well). A line that is not a suggestion is a StoreError naming the line,
and the file is never overwritten then.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labeler_tui.core.errors import StoreError
from labeler_tui.core.stores.jsonfile import dumps_line, parse, read_bytes, write_bytes_atomic
from labeler_tui.core.stores.lock import DEFAULT_TIMEOUT, workspace_lock

FIELDS = ("feature_id", "text", "source", "explainer", "method", "scores", "origin", "imported_at")


@dataclass(frozen=True)
class Suggestion:
    """One suggested label of one feature."""

    feature_id: int
    text: str
    source: str
    explainer: str | None = None
    method: str | None = None
    scores: Mapping[str, float] = field(default_factory=dict)
    origin: str | None = None
    imported_at: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float | None:
        """The mean of its scores (None without any): what ranks suggestions."""
        values = [float(v) for v in self.scores.values()]
        return sum(values) / len(values) if values else None

    @property
    def key(self) -> tuple[int, str, str, str, str]:
        """What makes two suggestions the same (a re-import replaces it)."""
        return (self.feature_id, self.source, self.explainer or "", self.method or "", self.text)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extras)
        out.update(
            feature_id=self.feature_id,
            text=self.text,
            source=self.source,
            explainer=self.explainer,
            method=self.method,
            scores=dict(self.scores),
            origin=self.origin,
            imported_at=self.imported_at,
        )
        return out

    @classmethod
    def from_json(cls, raw: Any, where: str) -> Suggestion:
        """A suggestion from its JSON object; StoreError naming ``where`` when malformed."""
        if not isinstance(raw, dict):
            raise StoreError(f"{where}: expected a JSON object, got {type(raw).__name__}")
        feature_id = raw.get("feature_id")
        if isinstance(feature_id, bool) or not isinstance(feature_id, int) or feature_id < 0:
            raise StoreError(f"{where}: feature_id must be an integer >= 0, got {feature_id!r}")
        for key in ("text", "source"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise StoreError(f"{where}: {key} must be a non-empty string")
        for key in ("explainer", "method", "origin", "imported_at"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise StoreError(f"{where}: {key} must be a string or null")
        scores = raw.get("scores") or {}
        if not isinstance(scores, dict) or not all(
            isinstance(k, str)
            and isinstance(v, int | float)
            and not isinstance(v, bool)
            and math.isfinite(v)
            for k, v in scores.items()
        ):
            raise StoreError(f"{where}: scores must be an object of finite numbers")
        return cls(
            feature_id=feature_id,
            text=raw["text"],
            source=raw["source"],
            explainer=raw.get("explainer"),
            method=raw.get("method"),
            scores={k: float(v) for k, v in scores.items()},
            origin=raw.get("origin"),
            imported_at=raw.get("imported_at"),
            extras={k: v for k, v in raw.items() if k not in FIELDS},
        )


def _rank(s: Suggestion) -> tuple[Any, ...]:
    score = s.score
    return (score is None, -(score or 0.0), s.source, s.explainer or "", s.method or "", s.text)


class SuggestionBook(Mapping[int, tuple[Suggestion, ...]]):
    """Every suggestion by feature, each feature's best scored first (the order ``labeler
    suggestions`` lists and ``--from-suggestion I`` counts)."""

    def __init__(self, suggestions: Iterable[Suggestion]) -> None:
        by_feature: dict[int, list[Suggestion]] = {}
        for s in suggestions:
            by_feature.setdefault(s.feature_id, []).append(s)
        self._by_feature = {f: tuple(sorted(items, key=_rank)) for f, items in by_feature.items()}

    def __getitem__(self, feature_id: int) -> tuple[Suggestion, ...]:
        return self._by_feature[feature_id]

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._by_feature))

    def __len__(self) -> int:
        return len(self._by_feature)

    def of(self, feature_id: int) -> tuple[Suggestion, ...]:
        return self._by_feature.get(feature_id, ())

    def best_scores(self) -> dict[int, Suggestion]:
        """Each feature's best scored suggestion (features without a scored one left out)."""
        return {f: items[0] for f, items in self._by_feature.items() if items[0].score is not None}

    def all(self) -> list[Suggestion]:
        return [s for f in sorted(self._by_feature) for s in self._by_feature[f]]


def read_suggestions(path: Path) -> SuggestionBook:
    """The suggestions file (an empty book when it does not exist)."""
    raw = read_bytes(path)
    if raw is None:
        return SuggestionBook(())
    items = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        value = parse(line, path, line_offset=number - 1)
        items.append(Suggestion.from_json(value, f"{path}: line {number}"))
    return SuggestionBook(items)


@dataclass(frozen=True)
class SuggestionsAdded:
    added: int
    replaced: int
    total: int

    def to_json(self) -> dict[str, int]:
        return {"added": self.added, "replaced": self.replaced, "total": self.total}


def add_suggestions(
    path: Path, lock_path: Path, new: Iterable[Suggestion], timeout: float = DEFAULT_TIMEOUT
) -> SuggestionsAdded:
    """Merge ``new`` into the file under the workspace lock (a suggestion with the same key is
    replaced) and rewrite it atomically, sorted by feature."""
    with workspace_lock(lock_path, timeout):
        current = {s.key: s for s in read_suggestions(path).all()}
        added = replaced = 0
        for s in new:
            if s.key in current:
                replaced += 1
            else:
                added += 1
            current[s.key] = s
        ordered = sorted(current.values(), key=lambda s: (s.feature_id, _rank(s)))
        write_bytes_atomic(path, b"".join(dumps_line(s.to_json()) for s in ordered))
    return SuggestionsAdded(added, replaced, len(current))
