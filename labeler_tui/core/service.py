"""The labeling service: one API over the stores, used by the CLI, the app and the Python API.

Every write follows the store rules of docs/formats.md: take the workspace lock (rolling back a
change a killed writer left), re-read the file, apply, commit the changed files and the history
events as one unit (:mod:`labeler_tui.core.stores.commit`), release. A corrupt store raises
StoreError (file name and line/column) and is never overwritten. Bad values raise
ValidationError and nothing is written.

History events (``labels/history_{model}.jsonl``) carry ``before``/``after`` of what the action
is about: the consolidated record for ``label``, ``clear``, ``sync`` (and their undos); the
feature's queue state (``{"status": "pending", "entry": {...}}``, ``{"status": "completed"}``,
``{"status": "skipped", "reason", "skipped_at"}`` or null) for ``add``, ``skip``, ``complete``,
``claim`` and ``release``. Side effects on other stores are in ``queue_before``/``queue_after``,
``dashboard_before``/``dashboard_after`` and ``research_before``/``research_after``.

``undo`` reverts the newest change not yet undone by appending one ``undo`` event per reverted
feature (with ``"undoes"``: the reverted event's id). Claims and releases are leases, not content
changes, so undo walks past them; undo events are never undone by a later undo (it walks further
back). Events written by one call share a ``"batch"`` id (e.g. ``add 1,2,3`` or one ``sync``) and
are undone together.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labeler_tui.core.data import ModelData, ProgressCallback
from labeler_tui.core.errors import (
    ClaimedError,
    LabelerError,
    StaleLabelError,
    StoreError,
    ValidationError,
)
from labeler_tui.core.queueing import AddKind, AddResult, add_to_queue
from labeler_tui.core.records import LabelEdit, LabelRecord, check_source, saved_record
from labeler_tui.core.registry import QUEUE_METHODS
from labeler_tui.core.stores.checks import check_event
from labeler_tui.core.stores.commit import JOURNAL_NAME, recover
from labeler_tui.core.stores.dashboard import dashboard_entry
from labeler_tui.core.stores.history import QUEUE_ACTIONS, HistoryLog
from labeler_tui.core.stores.jsonfile import JsonCache
from labeler_tui.core.stores.labels import LabelBook, LabelStore
from labeler_tui.core.stores.lock import DEFAULT_TIMEOUT, workspace_lock
from labeler_tui.core.stores.queue import QueueDoc, QueueEntry, QueueState, SkipRecord
from labeler_tui.core.stores.research import (
    existing_states,
    newest,
    state_files,
    state_paths,
    with_feature_label,
)
from labeler_tui.core.stores.suggestions import Suggestion, SuggestionBook, read_suggestions
from labeler_tui.core.stores.transaction import StorePaths, Transaction, read_queue
from labeler_tui.core.sync import SyncResult, merge_sources
from labeler_tui.core.timestamps import iso
from labeler_tui.core.validation import check_feature_id, check_ttl, check_unit_interval
from labeler_tui.core.workspace import Workspace

if TYPE_CHECKING:
    from labeler_tui.core.evidence.contexts import ContextsResult, SequenceActivations
    from labeler_tui.core.evidence.effects import OutputEffects
    from labeler_tui.core.evidence.examples import ExamplesResult
    from labeler_tui.core.evidence.hypothesis import HypothesisResult
    from labeler_tui.core.evidence.lint import LintWarning
    from labeler_tui.core.evidence.neighbours import Neighbour

__all__ = ["LabelingService", "QueueEntry", "QueueState", "SkipRecord"]

DEFAULT_BUILD_TOP_K = 50
NO_LABEL = ""
"""``if_unchanged_since`` for "I read no label": the save is refused if one appeared since."""


def unchanged_since(text: str | None) -> str | None:
    """The ``if_unchanged_since`` of what a caller typed: ``none`` (any case) means "I read no
    label" (:data:`NO_LABEL`); None means no condition; anything else is a ``last_updated``."""
    if text is not None and text.strip().lower() == "none":
        return NO_LABEL
    return text


@dataclass(frozen=True)
class _BuildPlan:
    """A queue builder's proposal: features with their (priority, reason)."""

    method: str
    chosen: dict[int, tuple[float, str | None]]
    kind: AddKind


def _check_unchanged(feature_id: int, current: LabelRecord | None, expected: str) -> None:
    """StaleLabelError when the stored label is not the one the caller read."""
    seen = NO_LABEL if current is None else (current.last_updated or "")
    if seen == expected:
        return
    if current is None:
        what = "its label was cleared"
    else:
        by = f" by {current.source}" if current.source else ""
        what = f"it is now {current.name!r}{by} (last_updated {current.last_updated})"
    raise StaleLabelError(
        f"feature {feature_id}: the label changed since {expected or 'no label'}: {what}; "
        "read it again and retry",
        current,
    )


class LabelingService:
    """Stores of one model in one workspace.

    ``source`` (provenance for labels) defaults to the workspace's ``[labeler] source``;
    ``owner`` (queue claims) to ``[labeler] owner``. ``clock`` (returning an aware datetime)
    is injectable for tests of lease expiry; ``lock_timeout`` bounds the wait for the lock.
    """

    def __init__(
        self,
        workspace: Workspace,
        model: str | None = None,
        *,
        source: str | None = None,
        owner: str | None = None,
        clock: Callable[[], datetime] | None = None,
        lock_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.workspace = workspace
        self.model = workspace.model_name(model)
        settings = workspace.config.labeler
        self.source = check_source(source or settings.source)
        self.owner = owner or settings.owner
        self.categories: tuple[str, ...] = tuple(settings.categories)
        self.claim_ttl = float(workspace.config.app.claim_ttl_seconds)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock_timeout = lock_timeout
        self.labels_path = workspace.labels_path(self.model)
        self.queue_path = workspace.queue_path(self.model)
        self.history_path = workspace.history_path(self.model)
        self.dashboard_path = workspace.dashboard_path(self.model)
        self.suggestions_path = workspace.suggestions_path(self.model)
        self.lock_path = workspace.lock_path
        self._paths = StorePaths(
            self.model,
            self.labels_path,
            self.queue_path,
            self.history_path,
            self.dashboard_path,
            self.lock_path.with_name(JOURNAL_NAME),
        )
        self._cache = JsonCache(sidecars=workspace.cache_dir / "stores")
        self._labels = LabelStore(self._cache, self.labels_path)
        self._history = HistoryLog(self.history_path)
        self._n_features: int | None = None
        self._percentiles: Any = None
        self._facts_lock = threading.Lock()

    # --- helpers -------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The service's clock (an aware datetime)."""
        moment = self.clock()
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The workspace lock, with any change a killed writer left rolled back first."""
        with workspace_lock(self.lock_path, self.lock_timeout):
            recover(self._paths.journal)
            yield

    def _settled(self) -> None:
        """Before a read: a change a killed writer left unfinished is rolled back first (a
        journal beside the lock says so; a writer at work holds the lock meanwhile)."""
        if os.path.lexists(self._paths.journal):
            with self._locked():
                pass

    @contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        with self._locked():
            tx = Transaction(
                self._paths,
                self._cache,
                self._labels,
                self._history,
                self.now(),
                self.source,
                self.owner,
            )
            yield tx
            tx.commit()

    def _read_queue(self) -> QueueDoc:
        self._settled()
        return read_queue(self._cache, self.model, self.queue_path)

    def _load_model_facts(self) -> None:
        """n_features (for validation) and importance percentiles, from the data, once."""
        if self._n_features is not None:
            return
        from labeler_tui.core.analysis.importance import importance_percentiles

        with self._facts_lock:
            if self._n_features is not None:
                return
            data = self._data()
            self._percentiles = importance_percentiles(data.decoder_norms)
            self._n_features = int(data.n_features)

    def _data(self) -> ModelData:
        """The model's data (the workspace opens, and builds, it once for all threads)."""
        return self.workspace.data(self.model)

    def _check_feature(self, feature_id: int) -> int:
        self._load_model_facts()
        assert self._n_features is not None
        return check_feature_id(feature_id, self._n_features, self.model)

    def _importance(self, feature_id: int) -> float | None:
        self._load_model_facts()
        if self._percentiles is None or feature_id >= len(self._percentiles):
            return None
        return round(float(self._percentiles[feature_id]), 2)

    # --- reads ---------------------------------------------------------------------------------
    def labels(self) -> LabelBook:
        """Every label record by feature id, as stored now (records are immutable)."""
        self._settled()
        return self._labels.read()

    def label(self, feature_id: int) -> LabelRecord | None:
        return self.labels().get(feature_id)

    def queue(self) -> QueueState:
        return self._read_queue().state()

    def status(self) -> dict[str, Any]:
        """``{"model", "labels": {"total", "by_source", "by_category"}, "queue": {"pending",
        "completed", "skipped", "claimed"}}``."""
        labels = self.labels()
        by_source = labels.tally("source", "unknown")
        by_category = labels.tally("dashboard_category", "none")
        state = self.queue()
        return {
            "model": self.model,
            "labels": {
                "total": len(labels),
                "by_source": dict(sorted(by_source.items())),
                "by_category": dict(sorted(by_category.items())),
            },
            "queue": {
                "pending": len(state.entries),
                "completed": len(state.completed),
                "skipped": len(state.skipped),
                "claimed": len(state.active_claims(iso(self.now()))),
            },
        }

    def history(
        self, feature_id: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Events, oldest first (the newest ``limit`` of them)."""
        if limit is not None and limit < 0:
            raise ValidationError(f"limit: must be >= 0, got {limit}")
        self._settled()
        if feature_id is not None:
            return self._history.for_feature(feature_id, limit)
        if limit is not None:
            return self._history.tail(limit)
        return self._history.read()

    def suggestion_book(self) -> SuggestionBook:
        """Every imported suggestion of the model (never labels; see ``stores/suggestions``)."""
        return read_suggestions(self.suggestions_path)

    def suggestions(self, feature_id: int) -> tuple[Suggestion, ...]:
        """A feature's suggestions, best scored first (``--from-suggestion I`` counts from 1
        in this order)."""
        self._check_feature(feature_id)
        return self.suggestion_book().of(feature_id)

    def suggestion(self, feature_id: int, index: int) -> Suggestion:
        """The ``index``-th (1-based) suggestion of a feature; ValidationError naming the
        choices when there is none."""
        found = self.suggestions(feature_id)
        if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= len(found):
            choices = f"1..{len(found)}" if found else "none: import some first"
            raise ValidationError(
                f"--from-suggestion {index!r}: feature {feature_id} has {len(found)} "
                f"suggestion(s) ({choices}; see `labeler suggestions -f {feature_id}`)",
                "from_suggestion",
            )
        return found[index - 1]

    def recent_decisions(self, limit: int = 10) -> list[dict[str, Any]]:
        """This owner's newest saves and skips not undone, newest first, one per feature."""
        return self._history.recent_decisions(self.owner, limit)

    def stores_signature(self) -> tuple[Any, ...]:
        """Cheap fingerprint (mtime_ns, size of each store file); changes when any store does.

        The app polls it to show changes made by other processes."""
        paths = (
            self.labels_path,
            self.queue_path,
            self.history_path,
            self.dashboard_path,
            self.workspace.state_dir(self.model),
        )
        signature: list[tuple[int, int, int] | None] = []
        for path in paths:
            try:
                st = path.stat()
                signature.append((st.st_ino, st.st_mtime_ns, st.st_size))
            except OSError:
                signature.append(None)
        return tuple(signature)

    # --- writes --------------------------------------------------------------------------------
    def _check_claim(self, tx: Transaction, feature_id: int, force: bool) -> None:
        """A live claim of another owner binds writers to the feature (unless ``force``)."""
        entry = tx.queue.claim_of(feature_id)
        if entry is not None and entry.held_by_other(self.owner, tx.now) and not force:
            raise ClaimedError(feature_id, entry.claimed_by or "?", entry.claim_expires)

    def _state_paths(self, feature_id: int) -> tuple[Path, Path]:
        return state_paths(self.workspace.config.paths.state, self.model, feature_id)

    def set_label(
        self,
        feature_id: int,
        edit: LabelEdit,
        *,
        force: bool = False,
        if_unchanged_since: str | None = None,
        derived_from: Suggestion | None = None,
    ) -> LabelRecord:
        """Save a label (consolidated + dashboard + the existing research states), mark the
        feature completed in the queue, release its claim; returns the saved record.

        ``derived_from``: the suggestion the label came from; the record keeps its source and
        text as ``derived_from`` (its own ``source`` stays the author's). A later save that
        renames the label without one drops ``derived_from``.

        A feature claimed by another live owner is refused unless ``force``. With
        ``if_unchanged_since`` (the ``last_updated`` of the label the caller read, or
        :data:`NO_LABEL`) the save is refused with StaleLabelError when the stored label moved
        since: nobody's label is overwritten by a stale draft."""
        edit = edit.checked(self.categories)
        source = edit.source or self.source
        self._check_feature(feature_id)
        hypothesis = self._hypothesis(feature_id, edit.hypothesis_expression)
        importance = self._importance(feature_id)

        with self._transaction() as tx:
            raw_before = tx.raw_labels.get(str(feature_id))
            before = tx.label(feature_id)
            if if_unchanged_since is not None:
                _check_unchanged(feature_id, before, if_unchanged_since)
            self._check_claim(tx, feature_id, force)
            states = existing_states(self._cache, self._state_paths(feature_id))
            current_state = newest(states)
            record = saved_record(
                before,
                edit,
                feature_id=feature_id,
                model=self.model,
                source=source,
                timestamp=tx.ts,
                importance_percentile=importance,
                research_state_path=str(current_state[0]) if current_state else None,
            )
            if hypothesis is not None:
                record = replace(
                    record, hypothesis_expression=hypothesis[0], hypothesis_score=hypothesis[1]
                )
            if derived_from is not None:
                record = replace(
                    record, derived_from={"source": derived_from.source, "text": derived_from.text}
                )
            elif before is not None and record.dashboard_name != before.dashboard_name:
                record = replace(record, derived_from=None)
            tx.put_label(feature_id, record)
            dash_before = tx.dashboard.get(str(feature_id))
            dash_after = dashboard_entry(dash_before, record, tx.ts)
            tx.put_dashboard(feature_id, dash_after)
            extra: dict[str, Any] = {}
            if current_state is not None:
                research_label = edit.research_label or edit.name
                for path, state in states.items():
                    tx.research[path] = with_feature_label(state, research_label, tx.ts)
                extra.update(
                    research_before=current_state[1].get("feature_label"),
                    research_after=research_label,
                )
            queue_before = tx.queue.feature_state(feature_id)
            tx.queue.complete(feature_id)
            tx.touch_queue()
            tx.event(
                "label",
                feature_id,
                raw_before,
                record.to_json(),
                source=source,
                dashboard_before=dash_before,
                dashboard_after=dash_after,
                queue_before=queue_before,
                queue_after=tx.queue.feature_state(feature_id),
                **extra,
            )
        return record

    def _hypothesis(
        self, feature_id: int, expression: str | None
    ) -> tuple[str | None, float | None] | None:
        """(expression, score) to store for an edit's hypothesis expression: it is tested on
        the feature now; "" clears both; None (not given) keeps the stored ones. A bad
        expression is a ValidationError naming ``hypothesis_expression`` (nothing is written)."""
        if expression is None:
            return None
        if not expression:
            return (None, None)
        from labeler_tui.core.evidence.hypothesis import score_hypothesis
        from labeler_tui.core.evidence.syntax import ExpressionError

        try:
            result = score_hypothesis(self._data(), feature_id, expression, self.aliases)
        except ExpressionError as exc:
            raise ExpressionError(
                f"hypothesis_expression: {exc}",
                exc.position,
                exc.word,
                exc.suggestions,
                field="hypothesis_expression",
            ) from None
        score = None if result.score is None else round(result.score, 4)
        return (expression, score)

    @property
    def aliases(self) -> dict[str, str]:
        """The workspace's ``[aliases]`` for hypothesis expressions."""
        return dict(self.workspace.config.aliases)

    def score_hypothesis(self, feature_id: int, expression: str) -> HypothesisResult:
        """Test a hypothesis expression on a feature (``labeler test``), with the workspace's
        aliases."""
        from labeler_tui.core.evidence.hypothesis import score_hypothesis

        return score_hypothesis(self._data(), feature_id, expression, self.aliases)

    def overview(self, feature_id: int) -> dict[str, Any]:
        """Everything to read before naming a feature, with its label (``labeler overview``;
        the shape is :class:`~labeler_tui.core.results.analysis.OverviewJson`)."""
        from labeler_tui.core.analysis.overview import feature_overview

        data = self._data()
        data.feature(feature_id)  # a bad id fails before the label store is read
        return feature_overview(data, feature_id, self.label(feature_id))

    def coverage(self, feature_id: int, subject: str) -> dict[str, Any]:
        """Core coverage of a token, family or ``column=value`` and its verdict (``labeler
        coverage``; :class:`~labeler_tui.core.results.analysis.CoverageJson`)."""
        from labeler_tui.core.analysis.coverage import core_coverage

        data = self._data()
        data.feature(feature_id)  # a bad id is named before the subject is looked up
        return core_coverage(data, feature_id, subject)

    def examples(
        self,
        feature_id: int,
        region: str = "top",
        k: int = 10,
        *,
        sample: bool = False,
        seed: int = 0,
        where: str | None = None,
    ) -> ExamplesResult:
        """A region's top ``k`` examples, or a seeded sample, optionally only those matching a
        hypothesis expression (``labeler examples``), with the workspace's aliases."""
        from labeler_tui.core.evidence.examples import feature_examples

        return feature_examples(
            self._data(),
            feature_id,
            region,
            k,
            sample=sample,
            seed=seed,
            where=where,
            aliases=self.aliases,
        )

    def contexts(
        self,
        feature_id: int,
        region: str = "top",
        k: int = 10,
        *,
        sample: bool | None = None,
        seed: int = 0,
        window: tuple[int, int] | None = None,
        where: str | None = None,
    ) -> ContextsResult:
        """A sequence model's contexts of a region (``labeler contexts``; see
        ``evidence.contexts.feature_contexts``), with the workspace's aliases."""
        from labeler_tui.core.evidence.contexts import feature_contexts

        return feature_contexts(
            self._data(),
            feature_id,
            region,
            k,
            sample=sample,
            seed=seed,
            window=window,
            where=where,
            aliases=self.aliases,
        )

    def sequence(self, feature_id: int, seq: int) -> SequenceActivations:
        """A whole sequence with the feature's activation at each token (``contexts --seq``)."""
        from labeler_tui.core.evidence.contexts import sequence_activations

        return sequence_activations(self._data(), feature_id, seq)

    def effects(self, feature_id: int, k: int = 10) -> OutputEffects:
        """The outputs a feature promotes and suppresses most (``labeler effects``)."""
        from labeler_tui.core.evidence.effects import output_effects

        return output_effects(self._data(), feature_id, k)

    def lint(self, record: LabelRecord) -> list[LintWarning]:
        """The label lint's warnings for a record (never blocking; docs/analysis.md): a lint
        that cannot run is a warning too, since the label it reads is saved already."""
        from labeler_tui.core.evidence.lint import LintWarning, lint_record

        try:
            return lint_record(self._data(), record, self.aliases)
        except LabelerError as exc:
            return [LintWarning("lint_failed", f"the label lint could not run: {exc}")]

    def similar(
        self,
        feature_id: int,
        method: str | None = None,
        top_k: int = 10,
        progress: ProgressCallback | None = None,
    ) -> list[Neighbour]:
        """The features most similar to one feature, each with its label (or, unlabeled, its
        top core families) and its queue state."""
        from labeler_tui.core.analysis.similarity import similar_features

        found = similar_features(self._data(), feature_id, method, top_k, progress)
        return self.describe_neighbours(found)

    def describe_neighbours(self, found: list[tuple[int, float]]) -> list[Neighbour]:
        """(feature id, similarity) pairs with their label or core families and their queue
        state as stored now: cheap to call again when another process labels or queues one."""
        from labeler_tui.core.evidence.neighbours import describe_neighbours

        return describe_neighbours(self._data(), found, self.labels(), self.queue(), self.now())

    def clear_label(self, feature_id: int, *, force: bool = False) -> LabelRecord | None:
        """Remove a label (consolidated record and dashboard entry; the existing research
        states' ``feature_label`` becomes null so ``sync`` does not bring it back); returns the
        removed record (None if there was none). The queue is left as it is."""
        key = str(feature_id)
        with self._transaction() as tx:
            raw_before = tx.raw_labels.get(key)
            before = tx.label(feature_id)
            dash_before = tx.dashboard.get(key)
            if before is None and dash_before is None:
                self._check_feature(feature_id)  # an id out of range is an error, not a no-op
                return None
            self._check_claim(tx, feature_id, force)
            tx.put_label(feature_id, None)
            tx.put_dashboard(feature_id, None)
            extra: dict[str, Any] = {}
            states = existing_states(self._cache, self._state_paths(feature_id))
            labeled_states = {p: s for p, s in states.items() if s.get("feature_label")}
            current_state = newest(labeled_states)
            if current_state is not None:
                for path, state in labeled_states.items():
                    tx.research[path] = with_feature_label(state, None, tx.ts)
                extra.update(research_before=current_state[1].get("feature_label"))
                extra.update(research_after=None)
            tx.event(
                "clear",
                feature_id,
                raw_before,
                None,
                dashboard_before=dash_before,
                dashboard_after=None,
                **extra,
            )
        return before

    def skip(
        self, feature_id: int | None = None, reason: str | None = None, *, force: bool = False
    ) -> int:
        """Skip a feature (default: the next one in the queue); returns its id. A feature
        claimed by another live owner is refused unless ``force``."""
        if feature_id is not None:
            self._check_feature(feature_id)
        with self._transaction() as tx:
            if feature_id is None:
                top = tx.queue.top(self.owner, tx.now)
                if top is None:
                    raise ValidationError("nothing to skip: the queue has no pending feature")
                feature_id = int(top["feature_id"])
            self._check_claim(tx, feature_id, force)
            before = tx.queue.feature_state(feature_id)
            tx.queue.skip(feature_id, reason, tx.ts)
            tx.touch_queue()
            tx.event("skip", feature_id, before, tx.queue.feature_state(feature_id))
        return feature_id

    def complete(self, feature_id: int, label: str | None = None) -> bool:
        """Mark a pending feature completed without saving a label (SplatNLP's
        ``mark_complete``); False when it is not pending. ``label`` is kept in the event."""
        with self._transaction() as tx:
            before = tx.queue.feature_state(feature_id)
            if before is None or before.get("status") != "pending":
                return False
            tx.queue.complete(feature_id)
            tx.touch_queue()
            extra = {"label": label} if label is not None else {}
            tx.event("complete", feature_id, before, tx.queue.feature_state(feature_id), **extra)
        return True

    def add(
        self,
        feature_ids: list[int],
        priority: float = 0.5,
        reason: str | None = None,
        *,
        bulk: bool = False,
    ) -> AddResult:
        """Queue features (docs/formats.md, "Adding to the queue"). An explicit add queues a
        skipped or completed feature again; a ``bulk`` one (a list of similar features) leaves
        them as they are and never rewrites a pending entry's reason. A pending entry changes
        only when the new priority is higher."""
        checked = check_unit_interval("priority", priority)
        assert checked is not None
        ids = list(dict.fromkeys(feature_ids))
        for fid in ids:
            self._check_feature(fid)
        kind = AddKind.BULK if bulk else AddKind.EXPLICIT
        with self._transaction() as tx:
            return add_to_queue(tx, ids, lambda _fid: (checked, reason), kind)

    def set_priority(self, feature_id: int, priority: float) -> bool:
        """Give a pending feature a new priority, higher or lower, keeping its reason (an
        ``add`` event); False when it is not pending."""
        checked = check_unit_interval("priority", priority)
        assert checked is not None
        with self._transaction() as tx:
            entry = tx.queue.claim_of(feature_id)
            if entry is None:
                return False
            before = tx.queue.feature_state(feature_id)
            tx.queue.add(feature_id, checked, entry.reason, tx.ts)
            tx.touch_queue()
            tx.event("add", feature_id, before, tx.queue.feature_state(feature_id))
        return True

    def next(
        self,
        *,
        build: bool = True,
        claim: bool = False,
        owner: str | None = None,
        ttl: float | None = None,
    ) -> QueueEntry | None:
        """The top pending entry not claimed by someone else (an empty queue is first built by
        activation count unless build=False); with claim=True it is leased to ``owner`` for
        ``ttl`` seconds (default ``[app] claim_ttl_seconds``)."""
        owner = owner or self.owner
        if not claim:
            doc = self._read_queue()
            if not doc.entries and build:
                self.build_queue("activation_count")
                doc = self._read_queue()
            top = doc.top(owner, self.now())
            return self._served(doc.queue_entry(top)) if top is not None else None
        ttl = check_ttl(self.claim_ttl if ttl is None else ttl)
        with self._locked():
            plan = None
            if build and not self._read_queue().entries:
                plan = self._build_plan("activation_count")
            with self._transaction() as tx:  # the build and the claim: one change
                if plan is not None:
                    self._queue_plan(tx, plan)
                top = tx.queue.top(owner, tx.now)
                if top is None:
                    return None
                self._served(tx.queue.queue_entry(top))
                self._lease(tx, int(top["feature_id"]), owner, ttl)
                return tx.queue.queue_entry(top)

    def _served(self, entry: QueueEntry) -> QueueEntry:
        """The entry ``next`` serves, when its feature exists in the model (an agent given a
        feature it cannot label would loop on it)."""
        self._load_model_facts()
        assert self._n_features is not None
        if entry.feature_id >= self._n_features:
            raise StoreError(
                f"{self.queue_path}: the entry of feature {entry.feature_id}: out of range for "
                f"model {self.model!r} (0..{self._n_features - 1}); remove it from the file; "
                "the file was left unchanged"
            )
        return entry

    def _lease(self, tx: Transaction, feature_id: int, owner: str, ttl: float) -> None:
        before = tx.queue.feature_state(feature_id)
        tx.queue.set_claim(feature_id, owner, iso(tx.now + timedelta(seconds=ttl)))
        tx.touch_queue()
        tx.event("claim", feature_id, before, tx.queue.feature_state(feature_id), owner=owner)

    def claim(self, feature_id: int, owner: str | None = None, ttl: float | None = None) -> bool:
        """Lease a pending feature to ``owner`` (renewing its own lease); False when another
        owner holds a live lease. A feature that is not pending is a ValidationError."""
        owner = owner or self.owner
        ttl = check_ttl(self.claim_ttl if ttl is None else ttl)
        with self._transaction() as tx:
            entry = tx.queue.claim_of(feature_id)
            if entry is None:
                raise ValidationError(f"feature {feature_id} is not pending in the queue")
            if entry.held_by_other(owner, tx.now):
                return False
            self._lease(tx, feature_id, owner, ttl)
        return True

    def release(self, feature_id: int, owner: str | None = None, *, force: bool = False) -> None:
        """End ``owner``'s lease on a feature. A live lease of another owner is a
        ClaimedError unless ``force``; releasing nothing is a no-op."""
        owner = owner or self.owner
        with self._transaction() as tx:
            entry = tx.queue.claim_of(feature_id)
            if entry is None or not entry.claimed_by:
                return
            if entry.held_by_other(owner, tx.now) and not force:
                raise ClaimedError(feature_id, entry.claimed_by, entry.claim_expires)
            before = tx.queue.feature_state(feature_id)
            tx.queue.set_claim(feature_id, None, None)
            tx.touch_queue()
            tx.event("release", feature_id, before, tx.queue.feature_state(feature_id), owner=owner)

    def undo(self, *, any_owner: bool = False) -> list[dict[str, Any]]:
        """Revert the newest not-yet-undone change made by this service's owner (with
        ``any_owner``: by anyone); returns the compensating events written (one per feature,
        oldest first; each keeps the reverted event's ``undone_owner``); empty when there is
        nothing to undo. A change written as a batch (one ``add`` of several ids, one ``sync``)
        is undone whole."""
        with self._transaction() as tx:
            targets = self._history.undo_targets(None if any_owner else self.owner)
            for event in targets:  # every event is checked before anything is applied
                check_event(self.history_path, event)
            for event in targets:
                self._revert(tx, event)
        return [dict(event) for event in tx.events]

    def _revert(self, tx: Transaction, event: dict[str, Any]) -> None:
        fid = int(event["feature_id"])
        key = str(fid)
        action = event["action"]
        extra: dict[str, Any] = {
            "undoes": event.get("id"),
            "undone_action": action,
            "undone_owner": event.get("owner"),
        }
        if action in QUEUE_ACTIONS:
            before = tx.queue.feature_state(fid)
            tx.queue.set_feature_state(fid, event.get("before"))
            tx.touch_queue()
            tx.event("undo", fid, before, tx.queue.feature_state(fid), **extra)
            return
        current = tx.raw_labels.get(key)
        restored = event.get("before")
        tx.restore_label(fid, restored)
        if "dashboard_before" in event:
            extra["dashboard_before"] = tx.dashboard.get(key)
            tx.put_dashboard(fid, event["dashboard_before"])
            extra["dashboard_after"] = event["dashboard_before"]
        if "queue_before" in event:
            extra["queue_before"] = tx.queue.feature_state(fid)
            tx.queue.set_feature_state(fid, event["queue_before"])
            tx.touch_queue()
            extra["queue_after"] = tx.queue.feature_state(fid)
        if "research_before" in event:
            paths = self._state_paths(fid)
            states = {p: tx.research[p] for p in paths if p in tx.research}
            states.update(existing_states(self._cache, [p for p in paths if p not in states]))
            current_state = newest(states)
            if current_state is not None:
                extra["research_before"] = current_state[1].get("feature_label")
                extra["research_after"] = event["research_before"]
                for path, state in states.items():
                    tx.research[path] = with_feature_label(state, event["research_before"], tx.ts)
        tx.event("undo", fid, current, restored, **extra)

    def sync(self) -> SyncResult:
        """Merge the dashboard file and research states (both layouts; the newer of a
        feature's two) into the consolidated store (the rules are
        :func:`labeler_tui.core.sync.merge_sources`); returns the changes and the notes. One
        ``sync`` event per changed feature."""
        with self._transaction() as tx:
            research: dict[int, dict[str, Any]] = {}
            root = self.workspace.config.paths.state
            for fid, paths in state_files(root, self.model).items():
                current_state = newest(existing_states(self._cache, paths))
                if current_state is not None:
                    research[fid] = {**current_state[1], "_path": str(current_state[0])}
            old = LabelBook(self.labels_path, tx.raw_labels)
            result = merge_sources(old, dict(tx.dashboard), research, self.model)
            by_feature: dict[int, list[dict[str, Any]]] = {}
            for change in result.changes:
                by_feature.setdefault(int(change["feature_id"]), []).append(change)
            for fid in sorted(by_feature):
                before = tx.raw_labels.get(str(fid))
                after = result.records.get(fid)
                if after is not None and after.importance_percentile is None:
                    after = replace(after, importance_percentile=self._importance(fid))
                tx.put_label(fid, after)
                tx.event(
                    "sync",
                    fid,
                    before,
                    None if after is None else after.to_json(),
                    source="sync",
                    changes=by_feature[fid],
                )
        return result

    def export(self, path: Path, *, force: bool = False) -> int:
        """Write every record to the format of ``path``'s extension; returns the count. Never
        into the workspace's stores or caches; an existing file only with ``force``."""
        from labeler_tui.core.export import write_export
        from labeler_tui.core.protected import check_output

        check_output(Path(path), self.workspace.config, force=force)

        records = list(self.labels().values())
        if any(record.importance_percentile is None for record in records):
            # older (SplatNLP) records lack the computed importance: export it, as a save would
            try:
                self._load_model_facts()
                records = [
                    record
                    if record.importance_percentile is not None
                    else replace(record, importance_percentile=self._importance(record.feature_id))
                    for record in records
                ]
            except LabelerError:
                pass  # the labels still export when the model data cannot be opened
        return write_export(records, Path(path))

    def build_queue(
        self,
        method: str,
        seed: int | None = None,
        top_k: int | None = None,
        *,
        include_labeled: bool = False,
    ) -> AddResult:
        """Queue ``top_k`` (default 50) new features chosen by a builder. Pending features are
        not proposed (they keep their priority and reason and do not count toward ``top_k``),
        nor skipped ones; labeled or completed ones only by a builder that relabels
        (``mysterious``) or with ``include_labeled`` (then they are queued again for
        relabeling). The candidates are computed outside the lock; under it the add never
        changes what became pending or skipped meanwhile, so concurrent builders never queue a
        feature twice."""
        plan = self._build_plan(method, seed, top_k, include_labeled=include_labeled)
        with self._transaction() as tx:
            return self._queue_plan(tx, plan)

    def _build_plan(
        self,
        method: str,
        seed: int | None = None,
        top_k: int | None = None,
        *,
        include_labeled: bool = False,
    ) -> _BuildPlan:
        """The candidates a builder proposes (computed outside the lock: it can take a while)."""
        from labeler_tui.core.analysis.queue_builders import build_candidates

        builder = QUEUE_METHODS.get(method)
        if top_k is not None and (isinstance(top_k, bool) or top_k <= 0):
            raise ValidationError(f"top-k: must be a positive integer, got {top_k}")
        if seed is not None:
            self._check_feature(seed)
        data = self._data()
        labels = self.labels()
        doc = self._read_queue()
        relabel = builder.relabels or include_labeled
        excluded = {int(e["feature_id"]) for e in doc.entries} | set(doc.skipped)
        if not relabel:
            excluded |= set(labels) | set(doc.completed)
        candidates = build_candidates(
            data,
            method,
            labels=labels,
            excluded=excluded,
            seed=seed,
            top_k=DEFAULT_BUILD_TOP_K if top_k is None else top_k,
            include_labeled=include_labeled,
            suggestions=self.suggestion_book() if builder.uses_suggestions else None,
        )
        chosen: dict[int, tuple[float, str | None]] = {}
        for c in candidates:
            if c.feature_id not in chosen and c.feature_id not in excluded:
                chosen[c.feature_id] = (min(1.0, max(0.0, float(c.priority))), c.reason)
        return _BuildPlan(method, chosen, AddKind.RELABEL if relabel else AddKind.BULK)

    def _queue_plan(self, tx: Transaction, plan: _BuildPlan) -> AddResult:
        """Queue a builder's candidates; what became pending meanwhile is left alone."""
        pending_now = {int(e["feature_id"]) for e in tx.queue.entries}
        result = add_to_queue(
            tx,
            [fid for fid in plan.chosen if fid not in pending_now],
            plan.chosen.__getitem__,
            plan.kind,
            source=f"build-queue:{plan.method}",
        )
        result.pending.extend(fid for fid in plan.chosen if fid in pending_now)
        return result
