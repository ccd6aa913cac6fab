"""The label record: one type for a feature's label, and the edit that saves one.

A record is what ``labels/consolidated_{model}.json`` holds per feature (docs/formats.md, "Label
records"): every documented field as a typed attribute, unknown fields kept in ``extras``, and
the label-name rule (:attr:`LabelRecord.name`). It also reads as a mapping of its JSON form
(``record["display_name"]``, ``dict(record)``), so it compares equal to the JSON it came from.

:class:`LabelEdit` is what a labeler sets when saving (the CLI's ``label`` flags, the app's form,
the Python API's keywords): each editable field is declared once here, with its CLI flag and
help text, and checked here. Adding a record field means: a field below (and, if users set it,
a :class:`LabelEdit` field with its flag), then the app's form.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from labeler_tui.core.errors import ValidationError
from labeler_tui.core.validation import check_number, check_text, check_unit_interval

Kind = Literal["text", "unit", "percent", "object", "name", "category", "source", "expression"]

UNCATEGORIZED = "none"
"""What a label saved without a category gets; always accepted, configured or not."""


def _field(kind: Kind) -> Any:
    return field(default=None, metadata={"kind": kind})


@dataclass(frozen=True, slots=True, eq=False)
class LabelRecord(Mapping[str, Any]):
    """One feature's label, as stored. Immutable: saving makes a new record."""

    feature_id: int
    model_type: str | None = _field("text")
    dashboard_name: str | None = _field("text")
    dashboard_category: str | None = _field("text")
    dashboard_notes: str | None = _field("text")
    display_name: str | None = _field("text")
    last_updated: str | None = _field("text")
    """ISO 8601 (docs/formats.md, "Timestamps")."""
    source: str | None = _field("text")
    """Provenance: "dashboard", "claude code", "manual", "merged", ..."""
    hypothesis_confidence: float | None = _field("unit")
    importance_percentile: float | None = _field("percent")
    """Computed: 100 x the share of features whose decoder row norm is strictly less."""
    interpretability_confidence: float | None = _field("unit")
    stability_score: float | None = _field("unit")
    research_label: str | None = _field("text")
    research_state_path: str | None = _field("text")
    hypothesis_expression: str | None = _field("text")
    """The hypothesis expression tested before saving (docs/analysis.md, "Hypotheses")."""
    hypothesis_score: float | None = _field("unit")
    """Its score (balanced accuracy as a detector of the feature)."""
    derived_from: Mapping[str, Any] | None = _field("object")
    """``{source, text}`` of the suggestion the label came from."""
    extras: Mapping[str, Any] = field(default_factory=dict)
    """Fields this version does not know (kept on rewrite)."""

    # --- the label-name rule ---------------------------------------------------------------------
    @property
    def name(self) -> str | None:
        """The name a label shows: ``dashboard_name``, else ``display_name``, else
        ``research_label`` (the first that is not blank)."""
        return label_name(self)

    # --- JSON ------------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, data: Mapping[str, Any], feature_id: int | None = None) -> LabelRecord:
        """A record from its stored JSON object; ``feature_id`` (the store's key) wins over the
        object's own field. Wrong types and out-of-range values raise :class:`ValidationError`
        naming the field."""
        if not isinstance(data, Mapping):
            raise ValidationError(f"expected a JSON object, got {type(data).__name__}")
        if feature_id is None:
            feature_id = data.get("feature_id")
            if isinstance(feature_id, bool) or not isinstance(feature_id, int):
                raise ValidationError(f"feature_id: expected an integer, got {feature_id!r}")
        values: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        for key, value in data.items():  # one pass: this runs for every record read
            kind = _KINDS.get(key)
            if kind is None:
                if key != "feature_id":
                    extras[key] = value
            elif value is not None:
                text = kind == "text" and type(value) is str
                values[key] = value if text else _check(kind, key, value)
        return cls(feature_id, **values, extras=extras)

    def to_json(self) -> dict[str, Any]:
        """The stored JSON object: every documented field (null when unset), then the unknown
        fields as they came."""
        out: dict[str, Any] = {"feature_id": self.feature_id}
        for spec in _STORED:
            value = getattr(self, spec.name)
            out[spec.name] = dict(value) if isinstance(value, Mapping) else value
        for key, value in self.extras.items():
            out.setdefault(key, value)
        return out

    to_dict = to_json  # the original's name (``ConsolidatedLabel.to_dict``)

    # --- read-only mapping of the JSON form ------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        if key in _KNOWN:
            return getattr(self, key)
        return self.extras[key]

    def __iter__(self) -> Iterator[str]:
        yield from RECORD_FIELDS
        yield from (key for key in self.extras if key not in _KNOWN)

    def __len__(self) -> int:
        return len(RECORD_FIELDS) + sum(key not in _KNOWN for key in self.extras)

    def __repr__(self) -> str:
        return f"LabelRecord({self.to_json()!r})"


_STORED = tuple(f for f in fields(LabelRecord) if f.name not in ("feature_id", "extras"))
_KINDS: dict[str, str] = {f.name: f.metadata["kind"] for f in _STORED}
_KNOWN = frozenset(["feature_id", *_KINDS])

RECORD_FIELDS: tuple[str, ...] = ("feature_id", *(f.name for f in _STORED))
"""Every documented field of a record, in the documented order (exports lead with these)."""


def label_name(record: Mapping[str, Any] | None) -> str | None:
    """The label-name rule for a record or its JSON: ``dashboard_name``, then ``display_name``,
    then ``research_label``, the first that is a non-blank string."""
    if not record or not isinstance(record, Mapping):  # a malformed history value: no name
        return None
    for key in ("dashboard_name", "display_name", "research_label"):
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


# --- checks ---------------------------------------------------------------------------------
def _check(kind: str, name: str, value: Any) -> Any:
    """A stored field's value, checked against its kind (see the fields of LabelRecord)."""
    if kind == "unit":
        return check_number(name, value, 1.0)
    if kind == "percent":
        return check_number(name, value, 100.0)
    if kind == "object":
        if value is not None and not isinstance(value, Mapping):
            raise ValidationError(f"{name}: expected an object, got {type(value).__name__}", name)
        return value
    return check_text(name, value)


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name: must not be empty", "name")
    return name.strip()


def check_source(source: Any) -> str:
    if not isinstance(source, str) or not source.strip():
        raise ValidationError("source: must not be empty", "source")
    return source.strip()


def check_category(category: str | None, categories: Iterable[str]) -> str | None:
    """One of the configured categories, or ``none`` (uncategorized); None passes through."""
    category = check_text("category", category)
    if category is None or category == UNCATEGORIZED:
        return category
    allowed = tuple(categories)
    if category not in allowed:
        listed = ", ".join(allowed) + ("" if UNCATEGORIZED in allowed else "; or none")
        raise ValidationError(
            f"category: {category!r} is not one of the configured categories ({listed})",
            "category",
        )
    return category


# --- the edit ---------------------------------------------------------------------------------
def _option(
    flag: str,
    kind: Kind,
    help: str,
    short: str | None = None,
    sets: tuple[str, ...] | None = None,
    default: Any = None,
) -> Any:
    """An edit field: its CLI flag and help, and the record fields it sets (default: the one of
    the same name) with the value a new record gets when it is left unset."""
    meta = {"flag": flag, "short": short, "kind": kind, "help": help, "default": default}
    if sets is not None:
        meta["sets"] = sets
    return field(default=None, metadata=meta)


@dataclass(frozen=True)
class LabelEdit:
    """What saving a label sets. ``None`` keeps the stored value (or the default: category
    ``none``, empty notes, the service's source). A field named like a record field sets that
    field; nothing else is needed to add one (see :func:`saved_record`)."""

    name: str = field(
        metadata={
            "flag": "--name",
            "short": "-n",
            "kind": "name",
            "help": "label name",
            "sets": ("dashboard_name", "display_name"),
        }
    )
    category: str | None = _option(
        "--category",
        "category",
        "one of the configured categories; none = uncategorized (a new label's default)",
        "-c",
        sets=("dashboard_category",),
        default=UNCATEGORIZED,
    )
    notes: str | None = _option(
        "--notes", "text", "investigation notes", sets=("dashboard_notes",), default=""
    )
    source: str | None = _option(
        "--source",
        "source",
        'provenance, e.g. "claude code", "manual" (default: [labeler] source)',
        "-s",
        sets=(),  # resolved by the service (its default source)
    )
    interpretability_confidence: float | None = _option(
        "--interpretability-confidence", "unit", "how well the label explains the feature, 0..1"
    )
    hypothesis_confidence: float | None = _option(
        "--hypothesis-confidence", "unit", "confidence in the hypothesis behind it, 0..1"
    )
    stability_score: float | None = _option(
        "--stability-score", "unit", "split-half stability of the core, 0..1"
    )
    research_label: str | None = _option(
        "--research-label", "text", "alternative label for research context"
    )
    hypothesis_expression: str | None = _option(
        "--hypothesis",
        "expression",
        "a hypothesis expression (docs/hypotheses.md), tested on the feature when saving: "
        'the label keeps it and its score; "" clears them',
    )

    def checked(self, categories: Iterable[str]) -> LabelEdit:
        """This edit with every value checked (names and sources stripped); the first bad
        value raises :class:`ValidationError` naming its field."""
        values: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            kind = spec.metadata["kind"]
            if kind == "name":
                value = check_name(value)
            elif kind == "category":
                value = check_category(value, categories)
            elif kind == "source":
                value = None if value is None else check_source(value)
            elif kind == "unit":
                value = check_unit_interval(spec.name, value)
            elif kind == "expression":
                value = check_text(spec.name, value)
                value = None if value is None else value.strip()
            else:
                value = _check(kind, spec.name, value)
            values[spec.name] = value
        return LabelEdit(**values)


@dataclass(frozen=True)
class EditOption:
    """One :class:`LabelEdit` field as a command-line option."""

    name: str
    flags: tuple[str, ...]
    kind: str
    help: str
    required: bool


def edit_options() -> tuple[EditOption, ...]:
    """The ``label`` command's options, one per :class:`LabelEdit` field, in declaration order."""
    options = []
    for spec in fields(LabelEdit):
        meta = spec.metadata
        flags = (meta["flag"],) + ((meta["short"],) if meta.get("short") else ())
        options.append(
            EditOption(spec.name, flags, meta["kind"], meta["help"], meta["kind"] == "name")
        )
    return tuple(options)


def saved_record(
    before: LabelRecord | None,
    edit: LabelEdit,
    *,
    feature_id: int,
    model: str,
    source: str,
    timestamp: str,
    importance_percentile: float | None,
    research_state_path: str | None,
) -> LabelRecord:
    """The record a save leaves: the edit's values win, then ``before``'s, then the defaults
    (category ``none``, empty notes, null scores). Unknown fields of ``before`` are kept; a
    computed importance replaces the stored one."""
    base = before or LabelRecord(feature_id=feature_id)

    def pick(given: Any, current: Any, default: Any = None) -> Any:
        if given is not None:
            return given
        return default if current is None else current

    changes: dict[str, Any] = {}
    for spec in fields(LabelEdit):
        value = getattr(edit, spec.name)
        for target in spec.metadata.get("sets", (spec.name,)):
            changes[target] = pick(value, getattr(base, target), spec.metadata.get("default"))
    return replace(
        base,
        **changes,
        feature_id=feature_id,
        model_type=model,
        last_updated=timestamp,
        source=source,
        research_state_path=pick(research_state_path, base.research_state_path),
        importance_percentile=pick(importance_percentile, base.importance_percentile),
    )
