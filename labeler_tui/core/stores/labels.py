"""The consolidated label store: ``labels/consolidated_{model}.json``.

An object keyed by the feature id as a string; each value is a label record (docs/formats.md,
"Label records"). Records written by SplatNLP may lack the newer fields: they load as they are,
and the missing fields are added (null) the next time that record is saved. Unknown fields are
kept.

Reading a store of 100k labels must not cost 100k record conversions, so :class:`LabelBook`
converts (and checks) a record on first access and keeps it; the raw JSON is shared with the
:class:`~labeler_tui.core.stores.jsonfile.JsonCache` and never mutated. The file is read through
:mod:`~labeler_tui.core.stores.keyed`: a process that finds its index decodes only the records
it uses, and counts sources and categories from the index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from labeler_tui.core.records import LabelRecord, label_name
from labeler_tui.core.stores.checks import check_labels, check_record
from labeler_tui.core.stores.jsonfile import JsonCache
from labeler_tui.core.stores.keyed import KeyedView, read_keyed

RawLabels = Mapping[str, Mapping[str, Any]]
TALLIED = ("source", "dashboard_category")
"""Fields kept per record in the store's index, so ``labeler status`` counts them without
reading the records (``core/stores/keyed``)."""


class LabelBook(Mapping[int, LabelRecord]):
    """The label store as read: records by feature id, each converted on first access."""

    def __init__(self, path: Path, raw: RawLabels) -> None:
        self.path = path
        self.raw = raw
        """The parsed file (shared: never mutate it)."""
        self._key_map: dict[int, str] | None = None
        self._records: dict[int, LabelRecord] = {}

    @property
    def _keys(self) -> dict[int, str]:
        """Feature id -> key, made on first need (``status`` counts without it)."""
        if self._key_map is None:
            self._key_map = {int(key): key for key in self.raw}
        return self._key_map

    def __getitem__(self, feature_id: int) -> LabelRecord:
        record = self._records.get(feature_id)
        if record is None:
            key = self._keys[feature_id]
            record = check_record(self.path, key, self.raw[key])
            self._records[feature_id] = record
        return record

    def __iter__(self) -> Iterator[int]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self.raw)

    def __contains__(self, feature_id: object) -> bool:
        return feature_id in self._keys

    def tally(self, field: str, missing: str) -> Counter[str]:
        """How many records hold each value of ``field`` (``missing`` for null or empty), read
        without converting the records: ``labeler status`` counts 100k labels this way."""
        column = self.raw.column(field) if isinstance(self.raw, KeyedView) else None
        if column is None:
            column = [raw.get(field) for raw in self.raw.values()]
        out: Counter[str] = Counter()
        for value, count in Counter(column).items():  # counted in C, then named
            out[str(value or missing)] += count
        return out

    def name(self, feature_id: int) -> str | None:
        """The feature's label name (None when unlabeled), without converting its record."""
        key = self._keys.get(feature_id)
        return None if key is None else label_name(self.raw[key])


class LabelStore:
    """Reads one consolidated store through a shared cache; the book (and the records it has
    converted) is reused until the file changes."""

    def __init__(self, cache: JsonCache, path: Path) -> None:
        self.cache = cache
        self.path = path
        self._book = LabelBook(path, {})

    def read_raw(self) -> RawLabels:
        """The parsed file (empty when it does not exist yet); shared, do not mutate."""
        view = read_keyed(self.cache, self.path, check_labels, TALLIED)
        return {} if view is None else view

    def read(self) -> LabelBook:
        raw = self.read_raw()
        book = self._book
        if book.raw is not raw:
            book = LabelBook(self.path, raw)
            self._book = book
        return book
