"""The one queue claim a session holds: the app's feature on screen, an MCP client's feature.

A :class:`Lease` is shared by a front end's event loop and its worker threads. The front end says
which feature it wants held (:meth:`Lease.want`, instant, no I/O); a worker then makes the stores
match (:meth:`Lease.sync`: release what is held, claim what is wanted). Every store change runs
under the lease's lock and reads the latest wish, so however the workers interleave, the last
one leaves the wish fulfilled: moving quickly never leaves a stale claim behind.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass

from labeler_tui.core.errors import LabelerError
from labeler_tui.core.service import LabelingService, QueueEntry


@dataclass(frozen=True)
class LeaseState:
    """What a sync left: the feature held (None: none), and a wanted feature another owner
    holds (``refused``, held by ``holder``; None when the wish was met or was nothing)."""

    held: int | None
    refused: int | None = None
    holder: str | None = None


class Lease:
    """One claim at a time for ``service.owner``; safe to use from several threads."""

    def __init__(self, service: LabelingService) -> None:
        self.service = service
        self._lock = threading.Lock()
        self._wanted: int | None = None
        self._held: int | None = None

    @property
    def held(self) -> int | None:
        """The feature this lease holds a claim on, as far as this process knows."""
        return self._held

    @property
    def wanted(self) -> int | None:
        return self._wanted

    def want(self, feature_id: int | None) -> None:
        """Wish for ``feature_id`` to be held (None: nothing); :meth:`sync` makes it so."""
        self._wanted = feature_id

    def sync(self) -> LeaseState:
        """Release the held feature if it is no longer wanted and claim the wanted one (a
        feature that is not pending, or claimed by another live owner, stays unheld). Store
        errors are left to the lease's expiry: the state says what is held."""
        with self._lock:
            wanted = self._wanted
            if self._held is not None and self._held != wanted:
                self._release_held()
            if wanted is None or self._held == wanted:
                return LeaseState(self._held)
            try:
                claimed = self.service.claim(wanted)
            except LabelerError:  # not pending (labeled, skipped) or unwritable
                return LeaseState(self._held)
            if claimed:
                self._held = wanted
                return LeaseState(wanted)
            return LeaseState(self._held, refused=wanted, holder=self._holder(wanted))

    def renew(self) -> None:
        """Extend the held claim (it is kept alive while its feature is on screen)."""
        with self._lock:
            if self._held is not None and self._held == self._wanted:
                try:
                    if not self.service.claim(self._held):
                        self._held = None  # taken over after it expired
                except LabelerError:
                    self._held = None  # no longer pending (labeled or skipped elsewhere)

    def take_next(self, *, build: bool = True, ttl: float | None = None) -> QueueEntry | None:
        """Release what is held and claim the next entry of the queue for ``ttl`` seconds
        (default: the service's claim TTL); an empty queue is built first unless ``build`` is
        false. The entry is then both wanted and held."""
        with self._lock:
            self._release_held()
            entry = self.service.next(build=build, claim=True, ttl=ttl)
            self._held = self._wanted = entry.feature_id if entry else None
            return entry

    def dropped(self, feature_id: int) -> None:
        """The feature left the queue (labeled or skipped): its claim went with its entry."""
        with self._lock:
            if self._held == feature_id:
                self._held = None
            if self._wanted == feature_id:
                self._wanted = None

    def release(self) -> None:
        """Give the claim back now (quitting, switching model); failures leave it to expire."""
        self.want(None)
        with self._lock:
            self._release_held()

    def _holder(self, feature_id: int) -> str | None:
        with contextlib.suppress(LabelerError):
            entry = self.service.queue().entry(feature_id)
            return entry.claimed_by if entry else None
        return None

    def _release_held(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            with contextlib.suppress(LabelerError):  # else the lease runs out on its own
                self.service.release(held)
