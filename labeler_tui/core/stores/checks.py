"""The one validator of the stores' contents, used by every reader (CLI, app, Python API).

Each check raises a :class:`~labeler_tui.core.errors.StoreError` of one line naming the file, the
record (a feature id, ``entries[3]``, a history event) and the field, e.g.
``labels/queue_ultra.json: entries[3].feature_id: expected a feature id (an integer >= 0), got
-3; the file was left unchanged``. Label records are checked by
:meth:`~labeler_tui.core.records.LabelRecord.from_json` (through :func:`check_record`), so a record
is judged the same way wherever it is read: in a store, in a history event, in an undo.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labeler_tui.core.errors import StoreError, ValidationError
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.validation import MAX_FEATURE_ID

LEFT = "the file was left unchanged"


def store_error(path: Path, where: str, problem: str, tail: str = LEFT) -> StoreError:
    """``{path}: {where}: {problem}; {tail}``."""
    return StoreError(f"{path}: {where}: {problem}; {tail}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_feature_key(key: str) -> bool:
    """``"123"``: ASCII digits only (``"²".isdigit()`` is true, but it is no feature id)."""
    return key.isascii() and key.isdigit() and int(key) <= MAX_FEATURE_ID


def feature_id(value: Any, path: Path, where: str) -> int:
    """A feature id: an integer (or a string of ASCII digits, as older files have) in
    0..2^31-1."""
    if isinstance(value, str) and is_feature_key(value.strip()):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FEATURE_ID:
        raise store_error(
            path, where, f"expected a feature id (an integer >= 0), got {_shown(value)}"
        )
    return value


def text(value: Any, path: Path, where: str, *, required: bool = False) -> str | None:
    """A string (or null unless ``required``)."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        wanted = "a non-empty string" if required else "a string or null"
        raise store_error(path, where, f"expected {wanted}, got {_shown(value)}")
    return value


def number(value: Any, path: Path, where: str, top: float = 1.0) -> float | None:
    """A number in [0, top] or null."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise store_error(path, where, f"expected a number in [0, {top:g}], got {_shown(value)}")
    if not 0 <= value <= top:
        raise store_error(path, where, f"must be in [0, {top:g}], got {value!r}")
    return float(value)


def stamp(value: Any, path: Path, where: str) -> None:
    """A timestamp: an ISO 8601 string, epoch seconds or null (an unreadable string is read as
    the oldest time, see docs/formats.md, "Timestamps")."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
        raise store_error(path, where, f"expected a timestamp, got {_shown(value)}")


def mapping(value: Any, path: Path, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise store_error(path, where, f"expected an object, got {_shown(value)}")
    return value


def id_map(value: Any, path: Path, where: str) -> dict[str, Mapping[str, Any]]:
    """``{"<feature id>": {...}}`` (null: empty)."""
    if value is None:
        return {}
    found = mapping(value, path, where)
    for key, item in found.items():
        if not is_feature_key(key):
            raise store_error(path, f"{where}[{key!r}]", "the key is not a feature id")
        mapping(item, path, f"{where}[{key!r}]")
    return dict(found)


# --- label records ------------------------------------------------------------------------------
def check_record(path: Path, key: str, raw: Any) -> LabelRecord:
    """The record stored under ``key``; a bad field names the file, the record and the field."""
    try:
        return LabelRecord.from_json(raw, int(key))
    except ValidationError as exc:
        raise StoreError(f"{path}: record {key}: {exc}; {LEFT}") from None


def check_labels(path: Path, raw: Any) -> None:
    """The shape of a freshly parsed label store: ``{"<id>": {...}}`` (each record's fields are
    checked when it is first used, by :func:`check_record`)."""
    if not isinstance(raw, dict):
        raise StoreError(
            f"{path}: expected a JSON object keyed by feature id, got {type(raw).__name__}; {LEFT}"
        )
    for key, record in raw.items():
        if not is_feature_key(key):
            raise StoreError(f"{path}: key {key!r} is not a feature id; {LEFT}")
        if not isinstance(record, dict):
            raise StoreError(
                f"{path}: record {key} is {type(record).__name__}, expected an object; {LEFT}"
            )


# --- dashboard ----------------------------------------------------------------------------------
_DASHBOARD_TEXT = ("name", "category", "notes")


def check_dashboard_entry(path: Path, where: str, entry: Any) -> None:
    found = mapping(entry, path, where)
    for key in _DASHBOARD_TEXT:
        value = found.get(key)
        if value is not None and type(value) is not str:
            text(value, path, f"{where}.{key}")
    stamp(found.get("timestamp"), path, f"{where}.timestamp")


def check_dashboard(path: Path, raw: Any) -> None:
    """``{"<id>": {"name", "category", "notes", "timestamp"}}``; other fields are kept."""
    if not isinstance(raw, dict):
        raise StoreError(
            f"{path}: expected an object of {{id: {{name, category, notes, timestamp}}}}; {LEFT}"
        )
    for key, entry in raw.items():
        if not is_feature_key(key):
            raise store_error(path, f"key {key!r}", "not a feature id")
        check_dashboard_entry(path, f"feature {key}", entry)


# --- research states ----------------------------------------------------------------------------
def check_state(path: Path, raw: Any) -> None:
    """A research state: ``feature_label`` text or null, ``hypotheses`` a list of objects whose
    ``confidence`` is 0..1 or null, ``updated_at`` a timestamp; anything else is kept."""
    if not isinstance(raw, dict):
        raise StoreError(f"{path}: expected a JSON object (a research state); {LEFT}")
    text(raw.get("feature_label"), path, "feature_label")
    stamp(raw.get("updated_at"), path, "updated_at")
    hypotheses = raw.get("hypotheses")
    if hypotheses is None:
        return
    if not isinstance(hypotheses, list):
        raise store_error(path, "hypotheses", f"expected a list, got {_shown(hypotheses)}")
    for i, hypothesis in enumerate(hypotheses):
        item = mapping(hypothesis, path, f"hypotheses[{i}]")
        number(item.get("confidence"), path, f"hypotheses[{i}].confidence")
        stamp(item.get("updated_at"), path, f"hypotheses[{i}].updated_at")
        if item.get("status") is not None:
            text(item.get("status"), path, f"hypotheses[{i}].status")


# --- queue --------------------------------------------------------------------------------------
def check_queue_entry(path: Path, where: str, entry: Any) -> int:
    """A queue entry's feature id, after checking its fields (priority a number in 0..1, reason
    text or null, added_at a timestamp)."""
    found = mapping(entry, path, where)
    fid = feature_id(found.get("feature_id"), path, f"{where}.feature_id")
    number(found.get("priority"), path, f"{where}.priority")
    text(found.get("reason"), path, f"{where}.reason")
    text(found.get("model_type"), path, f"{where}.model_type")
    stamp(found.get("added_at"), path, f"{where}.added_at")
    return fid


def check_claim(path: Path, where: str, claim: Mapping[str, Any]) -> None:
    text(claim.get("owner"), path, f"{where}.owner", required=True)
    stamp(claim.get("expires"), path, f"{where}.expires")


def check_skip(path: Path, where: str, skip: Mapping[str, Any]) -> None:
    text(skip.get("reason"), path, f"{where}.reason")
    stamp(skip.get("skipped_at"), path, f"{where}.skipped_at")


# --- history events -----------------------------------------------------------------------------
_QUEUE_STATUSES = ("pending", "completed", "skipped")
_RECORD_ACTIONS = ("label", "clear", "sync")


def _queue_state(path: Path, where: str, value: Any) -> None:
    if value is None:
        return
    state = mapping(value, path, where)
    status = state.get("status")
    if status not in _QUEUE_STATUSES:
        raise store_error(path, f"{where}.status", f"expected one of {', '.join(_QUEUE_STATUSES)}")
    if status == "pending":
        check_queue_entry(path, f"{where}.entry", state.get("entry"))
        if state.get("claim") is not None:
            check_claim(path, f"{where}.claim", mapping(state["claim"], path, f"{where}.claim"))
    elif status == "skipped":
        check_skip(path, where, state)


def _event_values(path: Path, event: Mapping[str, Any], where: str, fid: int) -> None:
    kind = event.get("undone_action") if event.get("action") == "undo" else event.get("action")
    for side in ("before", "after"):
        value = event.get(side)
        if kind not in _RECORD_ACTIONS:
            _queue_state(path, f"{where}.{side}", value)
        elif value is not None:
            try:
                LabelRecord.from_json(mapping(value, path, f"{where}.{side}"), fid)
            except ValidationError as exc:
                raise store_error(path, f"{where}.{side}", str(exc)) from None
        _queue_state(path, f"{where}.queue_{side}", event.get(f"queue_{side}"))
        dashboard = event.get(f"dashboard_{side}")
        if dashboard is not None:
            check_dashboard_entry(path, f"{where}.dashboard_{side}", dashboard)
        text(event.get(f"research_{side}"), path, f"{where}.research_{side}")


def check_event(path: Path, event: Any, tail: str = "nothing was undone") -> None:
    """An event an undo is about to apply: its action, its feature, and every before/after
    value it would write back (a record, a queue state, a dashboard entry, a research label)."""
    from labeler_tui.core.stores.history import ACTIONS

    try:
        found = mapping(event, path, "event")
        where = f"event {found.get('id')!s}"
        action = found.get("action")
        if action not in ACTIONS or (
            action == "undo" and found.get("undone_action") not in ACTIONS
        ):
            raise store_error(path, f"{where}.action", f"unknown action {_shown(action)}")
        fid = feature_id(found.get("feature_id"), path, f"{where}.feature_id")
        _event_values(path, found, f"{where} ({action} of feature {fid})", fid)
    except StoreError as exc:
        message = str(exc)
        raise StoreError(message.removesuffix(LEFT) + tail) from None
