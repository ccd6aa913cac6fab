"""One MCP client's session: its owner, the source its labels get, the one feature it claims.

A session begins when a client connects and ends when it disconnects; the claim it holds is then
given back. Its owner is the server's owner (``--owner``, else the workspace's ``owner``) with the
client's name and a short session id (``alice/claude-code#3f2a1b``), so two sessions, even of the
same user and client, never share a claim, and ``undo`` reverts only this session's changes. The
label source defaults to the server's ``--source``, else the client's name from the handshake.

Every operation returns the JSON of the matching CLI command (``labeler_tui/core/results``);
a :class:`~labeler_tui.core.errors.LabelerError` carries the CLI's one-line message. Operations
run on worker threads; the service and the lease are safe to share between them.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from typing import Any, cast

from labeler_tui.core.config import DEFAULT_WINDOW
from labeler_tui.core.errors import LabelerError, ValidationError
from labeler_tui.core.lease import Lease
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.results.analysis import NeighbourJson
from labeler_tui.core.results.evidence import (
    ContextsJson,
    EffectsJson,
    ExamplesJson,
    HypothesisJson,
    SequenceActivationsJson,
)
from labeler_tui.core.results.history import EventJson, UndoJson, events_result, undo_result
from labeler_tui.core.results.labels import (
    LabelSavedJson,
    SuggestionsJson,
    label_result,
    suggestions_result,
)
from labeler_tui.core.results.queue import AddJson, NextJson, SkippedJson, next_result, skip_result
from labeler_tui.core.service import LabelingService, unchanged_since
from labeler_tui.core.workspace import Workspace

ANONYMOUS_CLIENT = "mcp-client"
"""The client's name when its handshake gave none."""
EDIT_PARAMETERS = {"hypothesis_expression": "hypothesis"}
"""LabelEdit fields the ``label`` tool names otherwise (as the CLI's flag does)."""


def session_owner(base: str, client: str, session_id: str) -> str:
    """``alice/claude-code#3f2a1b``: who this session's claims and changes belong to."""
    return f"{base}/{client}#{session_id}"


class AgentSession:
    """The state of one connection. The service (and so the owner) is made at the first call,
    when the client's name is known."""

    def __init__(
        self,
        workspace: Workspace,
        model: str | None = None,
        *,
        owner: str | None = None,
        source: str | None = None,
        session_id: str | None = None,
    ) -> None:
        self.workspace = workspace
        self.model = workspace.model_name(model)
        self.base_owner = owner or workspace.config.labeler.owner
        self.fixed_source = source
        self.session_id = session_id or secrets.token_hex(3)
        self.client: str | None = None
        self._service: LabelingService | None = None
        self._lease: Lease | None = None
        self._lock = threading.Lock()

    # --- identity ---------------------------------------------------------------------------------
    def service_for(self, client: str | None) -> LabelingService:
        """The session's service; the first call names the client (later names are ignored)."""
        with self._lock:
            if self._service is None:
                self.client = (client or "").strip() or ANONYMOUS_CLIENT
                self._service = LabelingService(
                    self.workspace,
                    self.model,
                    owner=session_owner(self.base_owner, self.client, self.session_id),
                    source=self.fixed_source or self.client,
                )
                self._lease = Lease(self._service)
            return self._service

    @property
    def service(self) -> LabelingService:
        return self.service_for(None)

    @property
    def lease(self) -> Lease:
        self.service_for(None)
        assert self._lease is not None
        return self._lease

    @property
    def owner(self) -> str:
        return self.service.owner

    def close(self) -> None:
        """The session ended: give back every claim its owner holds (the lease's, and one an
        ``undo`` of a label brought back); a failure leaves a claim to expire."""
        if self._lease is None:
            return  # no call was made: nothing was claimed
        self._lease.release()
        service = self._lease.service
        with contextlib.suppress(LabelerError):
            for entry in service.queue().active_claims():
                if entry.claimed_by == service.owner:
                    service.release(entry.feature_id)

    # --- the queue --------------------------------------------------------------------------------
    def next(self, *, claim: bool = True, build: bool = True, ttl: float | None = None) -> NextJson:
        """The next feature; with ``claim`` it is leased to this session (the previous claim is
        given back)."""
        if claim:
            entry = self.lease.take_next(build=build, ttl=ttl)
        else:
            entry = self.service.next(build=build)
        return next_result(entry)

    def skip(
        self, feature_id: int | None = None, reason: str | None = None, *, force: bool = False
    ) -> SkippedJson:
        """Skip a feature: by default the one this session holds, else the next one."""
        if feature_id is None:
            feature_id = self.lease.held
        skipped = self.service.skip(feature_id, reason, force=force)
        self.lease.dropped(skipped)
        return skip_result(skipped, reason)

    def add(self, feature_ids: list[int], priority: float, reason: str | None) -> AddJson:
        if not feature_ids:
            raise ValidationError("feature_ids: give at least one feature id")
        return self.service.add(feature_ids, priority=priority, reason=reason).to_json()

    # --- labels -----------------------------------------------------------------------------------
    def label(
        self,
        feature_id: int,
        values: dict[str, Any],
        *,
        force: bool = False,
        if_unchanged_since: str | None = None,
    ) -> LabelSavedJson:
        """Save a label from the ``label`` tool's values (named as :class:`LabelEdit`'s fields)
        and return the record with the lint's warnings; the feature's claim ends."""
        service = self.service
        try:
            record = service.set_label(
                feature_id,
                LabelEdit(**values),
                force=force,
                if_unchanged_since=unchanged_since(if_unchanged_since),
            )
        except ValidationError as exc:
            if exc.field in EDIT_PARAMETERS:
                raise exc.renamed(EDIT_PARAMETERS[exc.field]) from None
            raise
        self.lease.dropped(feature_id)
        return label_result(record, service.lint(record))

    def undo(self) -> UndoJson | None:
        """Revert this session's newest change."""
        events = self.service.undo()
        return undo_result(events)

    def history(self, feature_id: int | None, limit: int | None) -> list[EventJson]:
        return events_result(self.service.history(feature_id=feature_id, limit=limit))

    def status(self) -> dict[str, Any]:
        return self.service.status()

    # --- reading a feature ------------------------------------------------------------------------
    def overview(self, feature_id: int) -> dict[str, Any]:
        return self.service.overview(feature_id)

    def coverage(self, feature_id: int, token: str) -> dict[str, Any]:
        return self.service.coverage(feature_id, token)

    def examples(
        self, feature_id: int, region: str, k: int, sample: bool, seed: int, where: str | None
    ) -> ExamplesJson:
        return self.service.examples(
            feature_id, region, k, sample=sample, seed=seed, where=where
        ).to_json()

    def test(self, feature_id: int, expression: str) -> HypothesisJson:
        return self.service.score_hypothesis(feature_id, expression).to_json()

    def contexts(
        self,
        feature_id: int,
        region: str,
        k: int,
        before: int | None,
        after: int | None,
        seed: int,
        where: str | None,
    ) -> ContextsJson:
        """``before`` or ``after`` None: the model's own."""
        window = None
        if before is not None or after is not None:
            sequence = self.service.workspace.config.model(self.service.model).sequence
            default = sequence.window if sequence is not None else DEFAULT_WINDOW
            window = (
                default[0] if before is None else before,
                default[1] if after is None else after,
            )
        result = self.service.contexts(feature_id, region, k, seed=seed, window=window, where=where)
        return cast(ContextsJson, result.to_json())

    def sequence(self, feature_id: int, seq: int) -> SequenceActivationsJson:
        return cast(SequenceActivationsJson, self.service.sequence(feature_id, seq).to_json())

    def suggestions(self, feature_id: int) -> SuggestionsJson:
        found = self.service.suggestions(feature_id)
        return suggestions_result(feature_id, self.service.model, found)

    def effects(self, feature_id: int, k: int) -> EffectsJson:
        return self.service.effects(feature_id, k).to_json()

    def similar(self, feature_id: int, method: str | None, top_k: int) -> list[NeighbourJson]:
        return [n.to_json() for n in self.service.similar(feature_id, method, top_k)]
