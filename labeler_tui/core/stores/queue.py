"""The labeling queue: ``labels/queue_{model}.json`` (docs/formats.md, "Queue file").

SplatNLP's shape, which its own loader still reads: ``{"model_type", "entries": [{feature_id,
model_type, priority, reason, added_at}], "completed": [ids], "skipped": [ids]}``. Its loader
builds each entry with ``QueueEntry(**entry)``, so an entry holds exactly those five keys; what we
add lives at the top level, which it ignores: ``claims`` ({id: {owner, expires}}; expired ones
are dropped on the next write), ``skip_details`` ({id: {reason, skipped_at}}) and
``entry_extras`` (an entry's other keys, kept for it). An older file of ours with
``claimed_by``/``claim_expires`` inside its entries reads as claims. Unknown top-level keys are
kept.

A feature is in at most one of three states: pending (an entry), completed, skipped. Entries are
kept in serving order: priority descending, then oldest ``added_at``, then insertion order.
Timestamps without a zone (SplatNLP writes ``datetime.now()``) are local time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labeler_tui.core.errors import StoreError
from labeler_tui.core.stores import checks
from labeler_tui.core.timestamps import parse_time

ENTRY_KEYS = ("feature_id", "model_type", "priority", "reason", "added_at")
"""The keys of a queue entry, exactly (SplatNLP's loader takes no other)."""
_LEGACY_CLAIM_KEYS = ("claimed_by", "claim_expires")
_OLDEST = datetime.min.replace(tzinfo=UTC)


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

    def after(self, feature_id: int | None, owner: str, now: datetime) -> QueueEntry | None:
        """The next entry ``owner`` may take after ``feature_id`` in serving order, wrapping
        at the end (the first one when the feature is not pending); never the feature itself."""
        ids = [entry.feature_id for entry in self.entries]
        start = ids.index(feature_id) + 1 if feature_id in ids else 0
        ring = self.entries[start:] + self.entries[:start]
        return next((e for e in unclaimed(ring, owner, now) if e.feature_id != feature_id), None)

    def active_claims(self, now: str | None = None) -> list[QueueEntry]:
        """Entries under a live lease at ``now`` (ISO 8601; default: the current time)."""
        moment = parse_time(now) if now else datetime.now(UTC)
        assert moment is not None
        return [entry for entry in self.entries if entry.claim_live(moment)]

    def entry(self, feature_id: int) -> QueueEntry | None:
        return next((e for e in self.entries if e.feature_id == feature_id), None)


def _as_id(value: Any, path: Path, where: str) -> int:
    if isinstance(value, dict):  # some older files list {"feature_id": N}
        return checks.feature_id(value.get("feature_id"), path, f"{where}.feature_id")
    return checks.feature_id(value, path, where)


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _priority(entry: dict[str, Any]) -> float:
    value = entry.get("priority")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _object(
    raw: dict[str, Any], key: str, path: Path, check: Callable[[Path, str, Any], None] | None
) -> dict[str, dict[str, Any]]:
    """A top-level ``{"<feature id>": {...}}`` map, each value checked by ``check``."""
    found = checks.id_map(raw.pop(key, None), path, key)
    if check is not None:
        for fid, value in found.items():
            check(path, f"{key}[{fid!r}]", value)
    return {fid: dict(value) for fid, value in found.items()}


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
        for name, value in (("entries", entries), ("completed", completed), ("skipped", skipped)):
            if not isinstance(value, list):
                raise StoreError(f'{path}: "{name}" must be a list; the file was left unchanged')
        checks.text(self.model_type, path, "model_type", required=True)
        self.skip_details = _object(raw, "skip_details", path, checks.check_skip)
        self.claims = _object(raw, "claims", path, checks.check_claim)
        self.entry_extras = _object(raw, "entry_extras", path, None)
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
            fid = checks.check_queue_entry(path, f"entries[{i}]", entry)
            if entry.get("claimed_by") is not None:
                checks.check_claim(
                    path, f"entries[{i}]", {"owner": entry["claimed_by"], "expires": None}
                )
                checks.stamp(entry.get("claim_expires"), path, f"entries[{i}].claim_expires")
            if fid in self._entries or fid in self._completed or fid in self._skipped:
                continue
            self._entries[fid] = self._five_keys(fid, entry)
        self._order: list[dict[str, Any]] | None = None

    def _five_keys(self, fid: int, entry: dict[str, Any]) -> dict[str, Any]:
        """The entry as SplatNLP's loader takes it; its claim and other keys go to the top."""
        key = str(fid)
        if entry.get("claimed_by") and key not in self.claims:
            self.claims[key] = {"owner": entry["claimed_by"], "expires": entry.get("claim_expires")}
        others = {
            k: v for k, v in entry.items() if k not in ENTRY_KEYS and k not in _LEGACY_CLAIM_KEYS
        }
        if others:
            self.entry_extras[key] = {**self.entry_extras.get(key, {}), **others}
        return {
            "feature_id": fid,
            "model_type": entry.get("model_type") or self.model_type,
            "priority": entry.get("priority"),
            "reason": entry.get("reason"),
            "added_at": entry.get("added_at"),
        }

    # --- reading -------------------------------------------------------------------------------
    @property
    def entries(self) -> list[dict[str, Any]]:
        """Pending entries in serving order: priority desc, then added_at, then insertion."""
        if self._order is None:
            self._order = sorted(
                self._entries.values(),
                key=lambda e: (-_priority(e), parse_time(e.get("added_at")) or _OLDEST),
            )
        return self._order

    @property
    def completed(self) -> list[int]:
        return list(self._completed)

    @property
    def skipped(self) -> list[int]:
        return list(self._skipped)

    def to_raw(self, now: datetime) -> dict[str, Any]:
        """The file's JSON; claims that expired before ``now`` (or whose feature is no longer
        pending) are dropped."""
        claims = {}
        for key, claim in self.claims.items():
            expires = parse_time(claim.get("expires"))
            if int(key) in self._entries and expires is not None and expires > now:
                claims[key] = claim
        raw = dict(self.extra)
        raw.update(
            model_type=self.model_type,
            entries=self.entries,
            completed=self.completed,
            skipped=self.skipped,
            skip_details=self.skip_details,
            claims=claims,
        )
        extras = {k: v for k, v in self.entry_extras.items() if int(k) in self._entries}
        if extras:
            raw["entry_extras"] = extras
        return raw

    def entry(self, feature_id: int) -> dict[str, Any] | None:
        return self._entries.get(feature_id)

    def queue_entry(self, entry: dict[str, Any]) -> QueueEntry:
        reason = entry.get("reason")
        fid = entry["feature_id"]
        claim = self.claims.get(str(fid), {})
        return QueueEntry(
            feature_id=fid,
            priority=_priority(entry),
            reason=reason if isinstance(reason, str) else None,
            added_at=str(entry.get("added_at") or ""),
            model_type=str(entry.get("model_type") or self.model_type),
            claimed_by=claim.get("owner") or None,
            claim_expires=claim.get("expires") or None,
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

    def status(self, feature_id: int) -> str | None:
        """``pending``, ``completed``, ``skipped`` or None (the queue does not know it)."""
        if feature_id in self._entries:
            return "pending"
        if feature_id in self._skipped:
            return "skipped"
        return "completed" if feature_id in self._completed else None

    # --- per-feature snapshots (history before/after and undo) ---------------------------------
    def feature_state(self, feature_id: int) -> dict[str, Any] | None:
        """The feature's place in the queue as a JSON value, or None when the queue lacks it."""
        entry = self._entries.get(feature_id)
        if entry is not None:
            state: dict[str, Any] = {"status": "pending", "entry": dict(entry)}
            claim = self.claims.get(str(feature_id))
            if claim:
                state["claim"] = dict(claim)
            return state
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
        """Put the feature back into a state captured by :meth:`feature_state` (a pending
        state of an older file, with the claim inside its entry, too)."""
        self._remove(feature_id)
        if state is None:
            return
        status = state.get("status")
        if status == "pending":
            self._entries[feature_id] = self._five_keys(feature_id, dict(state["entry"]))
            if state.get("claim"):
                self.claims[str(feature_id)] = dict(state["claim"])
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
        self.claims.pop(str(feature_id), None)

    # --- operations ----------------------------------------------------------------------------
    def add(self, feature_id: int, priority: float, reason: str | None, now: str) -> None:
        """Queue a feature: a pending one gets the new priority and reason (keeping its age and
        any claim); a completed or skipped one is queued again."""
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
        """Mark labeled: leaves the pending entries (and its claim), joins ``completed``."""
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

    def claim_of(self, feature_id: int) -> QueueEntry | None:
        """The feature's entry with its claim (None when it is not pending)."""
        entry = self._entries.get(feature_id)
        return None if entry is None else self.queue_entry(entry)

    def set_claim(self, feature_id: int, owner: str | None, expires: str | None) -> None:
        if owner is None:
            self.claims.pop(str(feature_id), None)
        else:
            self.claims[str(feature_id)] = {"owner": owner, "expires": expires}
