"""Merge the dashboard file and research states into the consolidated labels (pure, no I/O).

SplatNLP's consolidator let the first writer win and stamped "merged" over every provenance.
Here each field is taken from whichever store holds the newest timestamp for it, and a label's
``source`` is only recomputed when it was itself produced by a sync ("dashboard", "research",
"merged" or missing), so a "claude code" or "manual" label keeps its provenance.

Rules, per feature:
- dashboard fields (``dashboard_name``/``_category``/``_notes`` and ``display_name``) come from the
  dashboard entry when its ``timestamp`` is newer than the record's ``last_updated``; a field the
  record lacks is filled whatever the timestamps.
- research fields (``research_label`` from ``feature_label``, ``hypothesis_confidence`` from the
  best live hypothesis) come from the research state when its ``updated_at`` (for a hypothesis:
  its own ``updated_at`` if present) is newer; ``research_state_path`` always points at the file.
- ``source`` becomes "merged" only when both a dashboard name and a research label exist and the
  record holds exactly those values, and the record's source was sync-made.
- a label cleared in the dashboard (its entry kept with the name emptied, no earlier than the
  record) is cleared in the record when the record came from the dashboard ("dashboard" or
  "merged"); a name emptied in the dashboard after the record's last update clears a label of
  any source (e.g. "claude code", whose `label` also wrote the dashboard); a record left without
  any name is removed. An absent dashboard entry clears nothing (the original dashboard's lost
  updates leave such records): such records are listed as notes.
- timestamps without a zone are local time; missing or unreadable ones count as oldest; on a tie
  the consolidated record wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from labeler_tui.core.records import LabelRecord
from labeler_tui.core.results.labels import SyncJson
from labeler_tui.core.timestamps import parse_time

SYNC_SOURCES = frozenset({"dashboard", "research", "merged", "none", ""})
"""Provenance values written by sync itself; any other source (a CLI/agent/human) is kept."""

DASHBOARD_FIELDS = (
    ("dashboard_name", "name"),
    ("dashboard_category", "category"),
    ("dashboard_notes", "notes"),
)
_DEAD_HYPOTHESIS = frozenset({"refuted", "superseded"})


def _text(value: Any) -> str | None:
    """A non-empty stripped string, else None (names that are blank count as absent)."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _newer(candidate: datetime | None, reference: datetime | None) -> bool:
    return candidate is not None and (reference is None or candidate > reference)


def top_hypothesis(state: dict[str, Any]) -> tuple[float | None, datetime | None]:
    """Confidence (and timestamp) of the most confident hypothesis not refuted or superseded."""
    best: dict[str, Any] | None = None
    for hyp in state.get("hypotheses") or []:
        if not isinstance(hyp, dict) or str(hyp.get("status", "")).lower() in _DEAD_HYPOTHESIS:
            continue
        conf = hyp.get("confidence")
        if isinstance(conf, bool) or not isinstance(conf, int | float):
            continue
        if best is None or conf > best["confidence"]:
            best = hyp
    if best is None:
        return None, None
    when = parse_time(best.get("updated_at")) or parse_time(state.get("updated_at"))
    return float(best["confidence"]), when


class _Merge:
    """The merge of one feature: the record being built and the changes it records."""

    def __init__(self, feature_id: int, record: dict[str, Any]) -> None:
        self.feature_id = feature_id
        self.record = record
        self.changes: list[dict[str, Any]] = []
        self.stamps: list[tuple[datetime, str]] = []
        self.note: str | None = None

    def set(self, field: str, value: Any, origin: str) -> bool:
        before = self.record.get(field)
        if before == value:
            return False
        self.record[field] = value
        self.changes.append(
            {
                "feature_id": self.feature_id,
                "field": field,
                "before": before,
                "after": value,
                "from": origin,
            }
        )
        return True

    def stamp(self, when: datetime | None, raw: Any) -> None:
        if when is not None:
            self.stamps.append((when, raw if isinstance(raw, str) else when.isoformat()))


def _has_name(record: Mapping[str, Any]) -> bool:
    return _text(record.get("dashboard_name")) is not None or (
        _text(record.get("research_label")) is not None
    )


def _live_state(state: dict[str, Any] | None, model: str) -> dict[str, Any] | None:
    if not isinstance(state, dict):
        return None
    other = state.get("model_type")
    return None if other not in (None, model) else state


def _new_record(
    feature_id: int,
    model: str,
    dash: dict[str, Any] | None,
    state: dict[str, Any] | None,
    now: str | None,
) -> LabelRecord | None:
    dash_name = _text(dash.get("name")) if dash else None
    res_label = _text(state.get("feature_label")) if state else None
    if dash_name is None and res_label is None:
        return None
    conf, _ = top_hypothesis(state) if state else (None, None)
    stamps = []
    if dash and dash_name is not None:
        stamps.append((parse_time(dash.get("timestamp")), dash.get("timestamp")))
    if state and res_label is not None:
        stamps.append((parse_time(state.get("updated_at")), state.get("updated_at")))
    dated = [(when, raw) for when, raw in stamps if when is not None]
    if dated:
        when, raw = max(dated, key=lambda pair: pair[0])
        last_updated = raw if isinstance(raw, str) else when.isoformat()
    else:
        last_updated = now or datetime.now(UTC).isoformat()
    source = "merged" if dash_name and res_label else ("dashboard" if dash_name else "research")
    return LabelRecord(
        feature_id=feature_id,
        model_type=model,
        dashboard_name=dash_name,
        dashboard_category=_plain(dash.get("category")) if dash and dash_name else None,
        dashboard_notes=_plain(dash.get("notes")) if dash and dash_name else None,
        display_name=dash_name or res_label,
        last_updated=last_updated,
        source=source,
        hypothesis_confidence=conf,
        research_label=res_label,
        research_state_path=str(state["_path"]) if state and state.get("_path") else None,
    )


def _plain(value: Any) -> str | None:
    """A text value as it is (blank included), anything else as absent."""
    return value if isinstance(value, str) else None


def _merge_existing(
    feature_id: int,
    stored: LabelRecord,
    dash: dict[str, Any] | None,
    state: dict[str, Any] | None,
    dashboard_known: bool,
) -> _Merge:
    record = stored.to_json()
    merge = _Merge(feature_id, dict(record))  # fields are replaced, never mutated in place
    rec = merge.record
    rec_ts = parse_time(record.get("last_updated"))
    old_source = record.get("source")
    sync_made = old_source is None or old_source in SYNC_SOURCES
    dash_name = _text(dash.get("name")) if dash else None
    dash_ts = parse_time(dash.get("timestamp")) if dash else None

    # --- dashboard -------------------------------------------------------------------------
    has_name = _text(record.get("dashboard_name")) is not None
    if dashboard_known and has_name and dash is None and old_source in ("dashboard", "merged"):
        # the original dashboard's own lost updates leave such records: never a clear
        merge.note = "no dashboard entry; kept as it is (`labeler clear` removes a label)"
    cleared_in_dashboard = (
        has_name
        and old_source in ("dashboard", "merged")
        and dash is not None
        and dash_name is None
        and (rec_ts is None or not _newer(rec_ts, dash_ts))
    ) or (
        # an explicit clear (the entry kept, its name emptied) newer than the label clears a
        # label of any source; its provenance stays as it was
        has_name
        and dash is not None
        and dash_name is None
        and rec_ts is not None
        and _newer(dash_ts, rec_ts)
    )
    dashboard_renamed = False
    if cleared_in_dashboard:
        for field, _ in DASHBOARD_FIELDS:
            merge.set(field, None, "dashboard")
        merge.stamp(dash_ts, dash.get("timestamp") if dash else None)
    elif dash_name is not None:
        assert dash is not None
        if _newer(dash_ts, rec_ts):
            for field, key in DASHBOARD_FIELDS:
                value = dash_name if key == "name" else dash.get(key)
                if merge.set(field, value, "dashboard") and field == "dashboard_name":
                    dashboard_renamed = True
            merge.set("display_name", dash_name, "dashboard")
            if merge.changes:
                merge.stamp(dash_ts, dash.get("timestamp"))
        else:
            for field, key in DASHBOARD_FIELDS:
                value = dash_name if key == "name" else dash.get(key)
                if rec.get(field) in (None, "") and value not in (None, ""):
                    merge.set(field, value, "dashboard")
            if _text(rec.get("display_name")) is None:
                merge.set("display_name", dash_name, "dashboard")

    # --- research --------------------------------------------------------------------------
    res_label = _text(state.get("feature_label")) if state else None
    if state is not None:
        res_ts = parse_time(state.get("updated_at"))
        if res_label is not None and (
            _newer(res_ts, rec_ts) or _text(rec.get("research_label")) is None
        ):
            if merge.set("research_label", res_label, "research"):
                merge.stamp(res_ts, state.get("updated_at"))
        elif (
            res_label is None
            and old_source == "research"
            and _newer(res_ts, rec_ts)
            and rec.get("research_label") is not None
        ):
            merge.set("research_label", None, "research")
            merge.stamp(res_ts, state.get("updated_at"))
        path = state.get("_path")
        if path and rec.get("research_state_path") != str(path):
            merge.set("research_state_path", str(path), "research")
        conf, conf_ts = top_hypothesis(state)
        conf_wins = conf is not None and (
            _newer(conf_ts, rec_ts) or rec.get("hypothesis_confidence") is None
        )
        if conf_wins and merge.set("hypothesis_confidence", conf, "research"):
            merge.stamp(conf_ts, None)

    # --- name and provenance ---------------------------------------------------------------
    name = _text(rec.get("dashboard_name"))
    research_name = _text(rec.get("research_label"))
    renamable = sync_made or cleared_in_dashboard
    if name is None and renamable and (research_name or _text(rec.get("display_name"))):
        merge.set("display_name", research_name, "research" if research_name else "dashboard")

    has_dash = dash_name is not None and name == dash_name
    has_res = res_label is not None and research_name == res_label
    if sync_made:
        new_source: str | None
        if has_dash and has_res:
            new_source = "merged"
        elif has_dash and (research_name is None or old_source == "dashboard"):
            new_source = "dashboard"
        elif research_name is not None and name is None:
            new_source = "research"
        else:
            new_source = old_source
        if new_source != old_source:
            merge.set("source", new_source, "sync")
    elif dashboard_renamed:
        merge.set("source", "dashboard", "dashboard")

    if merge.changes and merge.stamps:
        when, raw = max(merge.stamps, key=lambda pair: pair[0])
        if _newer(when, rec_ts):
            rec["last_updated"] = raw
    return merge


@dataclass
class SyncResult:
    records: dict[int, LabelRecord]
    """Every record after the merge, by feature id."""
    changes: list[dict[str, Any]]
    notes: list[dict[str, Any]]

    def to_json(self) -> SyncJson:
        """``labeler sync --json``: the changes and the notes."""
        return cast(SyncJson, {"changes": self.changes, "notes": self.notes})


def merge_sources(
    consolidated: Mapping[int, LabelRecord],
    dashboard: Mapping[str, dict[str, Any]],
    research: Mapping[int, dict[str, Any]],
    model: str,
    *,
    now: str | None = None,
) -> SyncResult:
    """Merge dashboard entries and research states into a copy of the consolidated records.

    ``research`` maps feature id -> research-state JSON with ``"_path"`` set to its file.
    Returns the new records by feature id, the changes, each ``{"feature_id", "field",
    "before", "after", "from"}`` where ``from`` is "dashboard", "research" or "sync" (a label
    created or removed as a whole is one change with field ``"record"``; before/after: the
    record's JSON), and notes ``{"feature_id", "note"}`` on records left alone that a reader
    might expect changed. ``now`` stamps new records whose sources carry no timestamp. The
    inputs are not modified.
    """
    result = dict(consolidated)
    dash_by_id: dict[int, dict[str, Any]] = {}
    for key, value in dashboard.items():
        try:
            dash_by_id[int(key)] = value if isinstance(value, dict) else {}
        except (TypeError, ValueError):
            continue
    states = {int(key): value for key, value in research.items()}
    dashboard_known = bool(dash_by_id)
    changes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []

    for feature_id in sorted(set(result) | set(dash_by_id) | set(states)):
        dash = dash_by_id.get(feature_id)
        state = _live_state(states.get(feature_id), model)
        stored = result.get(feature_id)
        if stored is None:
            record = _new_record(feature_id, model, dash, state, now)
            if record is not None:
                result[feature_id] = record
                changes.append(
                    {
                        "feature_id": feature_id,
                        "field": "record",
                        "before": None,
                        "after": record.to_json(),
                        "from": record.source,
                    }
                )
            continue
        merge = _merge_existing(feature_id, stored, dash, state, dashboard_known)
        if merge.note:
            notes.append({"feature_id": feature_id, "note": merge.note})
        if not merge.changes:
            continue
        if _has_name(stored) and not _has_name(merge.record):
            del result[feature_id]
            changes.append(
                {
                    "feature_id": feature_id,
                    "field": "record",
                    "before": stored.to_json(),
                    "after": None,
                    "from": merge.changes[0]["from"],
                }
            )
            continue
        result[feature_id] = LabelRecord.from_json(merge.record, feature_id)
        changes.extend(merge.changes)
    return SyncResult(result, changes, notes)
