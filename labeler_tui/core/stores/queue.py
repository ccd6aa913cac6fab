"""The labeling queue: ``labels/queue_{model}.json``.

SplatNLP's shape stays readable and is kept: ``{"model_type", "entries": [{feature_id,
model_type, priority, reason, added_at, ...}], "completed": [ids], "skipped": [ids]}``. What we
add lives in extra places that SplatNLP ignores: ``skip_details`` ({id: {reason, skipped_at}}) and
the ``claimed_by`` / ``claim_expires`` fields of a leased entry. Unknown keys are kept.

A feature is in at most one of three states: pending (an entry), completed, skipped. Entries are
kept in serving order: priority descending, then oldest ``added_at``, then insertion order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labeler_tui.core.errors import StoreError


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (naive ones are taken as UTC)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class QueueEntry:
    feature_id: int
    priority: float
    reason: str | None
    added_at: str  # ISO 8601
    model_type: str
    claimed_by: str | None = None
    claim_expires: str | None = None  # ISO 8601; a lease past this time is free again

    def claim_live(self, now: datetime) -> bool:
        """True while a lease is held (an expired or unreadable expiry counts as free)."""
        if not self.claimed_by:
            return False
        expires = parse_time(self.claim_expires)
        return expires is not None and expires > now

    def held_by_other(self, owner: str, now: datetime) -> bool:
        return self.claim_live(now) and self.claimed_by != owner


def unclaimed(entries: Iterable[QueueEntry], owner: str, now: datetime) -> Iterator[QueueEntry]:
    """The entries ``owner`` may take, in the order given: every one not held by a live claim
    of another owner (an expired claim holds nothing). The one rule behind ``next``, the
    CLI's "Upcoming" list and the app's ``n``."""
    return (entry for entry in entries if not entry.held_by_other(owner, now))


@dataclass
class SkipRecord:
    feature_id: int
    reason: str | None
    skipped_at: str | None


@dataclass
class QueueState:
    """The queue file as read: pending entries in serving order (priority desc, then age)."""

    entries: list[QueueEntry]
    completed: list[int]
    skipped: list[SkipRecord]

    def available(self, owner: str, now: datetime) -> list[QueueEntry]:
        """Pending entries ``owner`` may take at ``now``, in serving order (see
        :func:`unclaimed`)."""
        return list(unclaimed(self.entries, owner, now))

    def active_claims(self, now: str | None = None) -> list[QueueEntry]:
        """Entries under a live lease at ``now`` (ISO 8601; default: the current time)."""
        moment = parse_time(now) if now else datetime.now(UTC)
        assert moment is not None
        return [entry for entry in self.entries if entry.claim_live(moment)]


def _as_id(value: Any, path: Path, where: str) -> int:
    if isinstance(value, dict):
        value = value.get("feature_id")
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        raise StoreError(f"{path}: {where}: expected a feature id, got {value!r}; left unchanged")
    return value


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _priority(entry: dict[str, Any]) -> float:
    value = entry.get("priority")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class QueueDoc:
    """A mutable copy of the queue file with the queue's operations.

    Pending entries are kept by id in insertion order and sorted lazily, so adding many
    features to a long queue stays linear. A feature listed both as an entry and as completed
    or skipped by an older writer (SplatNLP never removed entries) counts as completed/skipped.
    """

    def __init__(self, model: str, path: Path, raw: dict[str, Any] | None) -> None:
        self.path = path
        raw = dict(raw or {})
        self.model_type: str = raw.pop("model_type", None) or model
        entries = _or(raw.pop("entries", None), [])
        completed = _or(raw.pop("completed", None), [])
        skipped = _or(raw.pop("skipped", None), [])
        details = _or(raw.pop("skip_details", None), {})
        for name, value in (("entries", entries), ("completed", completed), ("skipped", skipped)):
            if not isinstance(value, list):
                raise StoreError(f'{path}: "{name}" must be a list; the file was left unchanged')
        if not isinstance(details, dict):
            raise StoreError(f'{path}: "skip_details" must be an object; left unchanged')
        self.extra = raw
        self._completed: dict[int, None] = dict.fromkeys(
            _as_id(v, path, f"completed[{i}]") for i, v in enumerate(completed)
        )
        self._skipped: dict[int, None] = dict.fromkeys(
            fid
            for fid in (_as_id(v, path, f"skipped[{i}]") for i, v in enumerate(skipped))
            if fid not in self._completed
        )
        self._entries: dict[int, dict[str, Any]] = {}
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise StoreError(
                    f"{path}: entries[{i}] is not an object (expected "
                    f'{{"feature_id": N, "priority": P, ...}}; `labeler add IDS` writes them); '
                    "left unchanged"
                )
            fid = _as_id(entry.get("feature_id"), path, f"entries[{i}].feature_id")
            if fid in self._entries or fid in self._completed or fid in self._skipped:
                continue
            self._entries[fid] = {**entry, "feature_id": fid}
        self.skip_details: dict[str, dict[str, Any]] = {
            str(k): dict(v) for k, v in details.items() if isinstance(v, dict)
        }
        self._order: list[dict[str, Any]] | None = None

    # --- reading -------------------------------------------------------------------------------
    @property
    def entries(self) -> list[dict[str, Any]]:
        """Pending entries in serving order: priority desc, then added_at, then insertion."""
        if self._order is None:
            self._order = sorted(
                self._entries.values(),
                key=lambda e: (-_priority(e), str(e.get("added_at") or "")),
            )
        return self._order

    @property
    def completed(self) -> list[int]:
        return list(self._completed)

    @property
    def skipped(self) -> list[int]:
        return list(self._skipped)

    def to_raw(self) -> dict[str, Any]:
        raw = dict(self.extra)
        raw.update(
            model_type=self.model_type,
            entries=self.entries,
            completed=self.completed,
            skipped=self.skipped,
            skip_details=self.skip_details,
        )
        return raw

    def entry(self, feature_id: int) -> dict[str, Any] | None:
        return self._entries.get(feature_id)

    def queue_entry(self, entry: dict[str, Any]) -> QueueEntry:
        reason = entry.get("reason")
        return QueueEntry(
            feature_id=entry["feature_id"],
            priority=_priority(entry),
            reason=reason if isinstance(reason, str) else None,
            added_at=str(entry.get("added_at") or ""),
            model_type=str(entry.get("model_type") or self.model_type),
            claimed_by=entry.get("claimed_by") or None,
            claim_expires=entry.get("claim_expires") or None,
        )

    def state(self) -> QueueState:
        skipped = []
        for fid in self._skipped:
            info = self.skip_details.get(str(fid), {})
            skipped.append(SkipRecord(fid, info.get("reason"), info.get("skipped_at")))
        return QueueState(
            entries=[self.queue_entry(e) for e in self.entries],
            completed=self.completed,
            skipped=skipped,
        )

    def ids(self) -> set[int]:
        """Every feature the queue knows (pending, completed or skipped)."""
        return set(self._entries) | set(self._completed) | set(self._skipped)

    # --- per-feature snapshots (history before/after and undo) ---------------------------------
    def feature_state(self, feature_id: int) -> dict[str, Any] | None:
        """The feature's place in the queue as a JSON value, or None when the queue lacks it."""
        entry = self._entries.get(feature_id)
        if entry is not None:
            return {"status": "pending", "entry": dict(entry)}
        if feature_id in self._skipped:
            info = self.skip_details.get(str(feature_id), {})
            return {
                "status": "skipped",
                "reason": info.get("reason"),
                "skipped_at": info.get("skipped_at"),
            }
        if feature_id in self._completed:
            return {"status": "completed"}
        return None

    def set_feature_state(self, feature_id: int, state: dict[str, Any] | None) -> None:
        """Put the feature back into a state captured by :meth:`feature_state`."""
        self._remove(feature_id)
        if state is None:
            return
        status = state.get("status")
        if status == "pending":
            self._entries[feature_id] = {**state["entry"], "feature_id": feature_id}
            self._order = None
        elif status == "completed":
            self._completed[feature_id] = None
        elif status == "skipped":
            self._skipped[feature_id] = None
            self.skip_details[str(feature_id)] = {
                "reason": state.get("reason"),
                "skipped_at": state.get("skipped_at"),
            }

    def _remove(self, feature_id: int) -> None:
        if self._entries.pop(feature_id, None) is not None:
            self._order = None
        self._completed.pop(feature_id, None)
        self._skipped.pop(feature_id, None)
        self.skip_details.pop(str(feature_id), None)

    # --- operations ----------------------------------------------------------------------------
    def add(self, feature_id: int, priority: float, reason: str | None, now: str) -> None:
        """Queue a feature: a pending one gets the new priority/reason (keeping its age and any
        lease); a completed or skipped one is re-queued."""
        entry = self._entries.get(feature_id)
        if entry is not None:
            entry.update(priority=priority, reason=reason)
        else:
            self._remove(feature_id)
            self._entries[feature_id] = {
                "feature_id": feature_id,
                "model_type": self.model_type,
                "priority": priority,
                "reason": reason,
                "added_at": now,
            }
        self._order = None

    def complete(self, feature_id: int) -> None:
        """Mark labeled: leaves the pending entries (and its lease), joins ``completed``."""
        self._remove(feature_id)
        self._completed[feature_id] = None

    def skip(self, feature_id: int, reason: str | None, now: str) -> None:
        self._remove(feature_id)
        self._skipped[feature_id] = None
        self.skip_details[str(feature_id)] = {"reason": reason, "skipped_at": now}

    def top(self, owner: str, now: datetime) -> dict[str, Any] | None:
        """The first pending entry ``owner`` may take (see :func:`unclaimed`)."""
        entries = (self.queue_entry(entry) for entry in self.entries)
        first = next(unclaimed(entries, owner, now), None)
        return None if first is None else self._entries[first.feature_id]

    def set_claim(self, entry: dict[str, Any], owner: str | None, expires: str | None) -> None:
        if owner is None:
            entry.pop("claimed_by", None)
            entry.pop("claim_expires", None)
        else:
            entry["claimed_by"] = owner
            entry["claim_expires"] = expires
