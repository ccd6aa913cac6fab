"""Slow work off the event loop: thread jobs that return messages, and one place for failures.

A job is a plain function run in a Textual thread worker. It gets everything it needs as
arguments (never reads or sets a screen attribute, never touches a widget) and returns a
message, which is posted to the screen unless the worker was cancelled meanwhile (an exclusive
group cancels the stale job when a new one starts). Progress goes the same way: the job posts
messages (``post_message`` is thread-safe).

A job that raises is reported by :meth:`Jobs.failure` from the screen's one
``on_worker_state_changed`` handler: a :class:`~labeler_tui.core.errors.LabelerError` is a
message for the user; any other exception is a bug, re-raised in development (``textual run
--dev``: the traceback shows) and otherwise logged to a file with a notice naming it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from platformdirs import user_log_dir
from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from labeler_tui.core.errors import LabelerError

JobResult = Message | None


@dataclass(frozen=True)
class Job:
    """What a job is doing, for the failure notice: ``"Loading feature 12"``."""

    what: str
    feature_id: int | None = None
    """The feature it was for: a user error about a feature no longer on screen is dropped."""
    shown_in: str = "notice"
    """Where the screen shows a user error (its own names, e.g. ``"notice"``, ``"detail"``)."""
    quiet: bool = False
    """Report a failure once, not again until a success (a poll fails every second)."""


@dataclass(frozen=True)
class Failure:
    job: Job
    message: str
    """One line for the user."""
    bug: bool
    """Not a user error: a programming error (its traceback is in the log)."""
    error: BaseException


def error_log_path() -> Path:
    """Where tracebacks of internal errors are written."""
    return Path(user_log_dir("labeler-tui", appauthor=False)) / "errors.log"


def log_internal_error(job: Job, error: BaseException) -> Path:
    """Append the traceback to the error log; returns its path."""
    path = error_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"--- {datetime.now().isoformat(timespec='seconds')} {job.what}\n")
            handle.write("".join(traceback.format_exception(error)))
    except OSError:
        pass  # the notice still names the error
    return path


class Jobs:
    """The thread jobs of one screen (or widget) and what each is doing."""

    def __init__(self, node: DOMNode) -> None:
        self._node = node
        self._running: dict[Worker[None], Job] = {}

    def start(
        self,
        function: Callable[[], JobResult],
        job: Job,
        group: str,
        exclusive: bool = True,
    ) -> Worker[None]:
        """Run ``function`` in a thread; its message is posted unless the worker was
        cancelled. ``exclusive`` cancels the running job of the same group."""
        node = self._node

        def body() -> None:
            result = function()
            if result is not None and not get_current_worker().is_cancelled:
                node.post_message(result)

        worker = node.run_worker(
            body, name=job.what, group=group, exclusive=exclusive, thread=True, exit_on_error=False
        )
        self._running[worker] = job
        return worker

    def failure(self, event: Worker.StateChanged) -> Failure | None:
        """For the screen's ``on_worker_state_changed``: the failure to report when a job
        ended with an error (None otherwise). A bug is re-raised in development."""
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return None
        job = self._running.pop(event.worker, None)
        error = event.worker.error
        if job is None or event.state != WorkerState.ERROR or error is None:
            return None
        if isinstance(error, LabelerError):
            return Failure(job, str(error), bug=False, error=error)
        if self._node.app.debug:
            raise error  # development: Textual shows the traceback and exits
        path = log_internal_error(job, error)
        text = f"internal error ({type(error).__name__}: {error}); details in {path}"
        return Failure(job, text, bug=True, error=error)
