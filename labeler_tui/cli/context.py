"""What every command handler gets: parsed args, the workspace (opened lazily) and output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from labeler_tui.cli.output import console
from labeler_tui.core.data import ModelData
from labeler_tui.core.results.encoding import to_json_text
from labeler_tui.core.workspace import Workspace

if TYPE_CHECKING:
    from labeler_tui.core.service import LabelingService


class CliContext:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.json: bool = bool(getattr(args, "json", False))
        self.console = console()
        self.err = console(stderr=True)
        self._workspace: Workspace | None = None
        self._service: LabelingService | None = None

    # --- workspace -------------------------------------------------------------------------------
    @property
    def workspace(self) -> Workspace:
        """The workspace of --workspace, else found by discovery (the demo as the fallback)."""
        if self._workspace is None:
            from labeler_tui.demo import demo_config

            with self.progress() as progress:
                self._workspace = Workspace.open(
                    getattr(self.args, "workspace", None), progress=progress, fallback=demo_config
                )
        return self._workspace

    @property
    def model(self) -> str:
        """The model name chosen by --model or the workspace default (validated)."""
        return self.workspace.model_name(getattr(self.args, "model", None))

    def data(self, rebuild: bool = False) -> ModelData:
        """The model's data, built first if needed (with a progress bar)."""
        with self.progress() as progress:
            return self.workspace.data(self.model, progress=progress, rebuild=rebuild)

    def service(self) -> LabelingService:
        """The labeling service of the chosen model (one per command run), writing as
        ``--owner`` when the command has it."""
        if self._service is None:
            from labeler_tui.core.service import LabelingService

            owner = getattr(self.args, "owner", None)
            self._service = LabelingService(self.workspace, self.model, owner=owner)
        return self._service

    # --- output ----------------------------------------------------------------------------------
    @property
    def is_terminal(self) -> bool:
        return self.console.is_terminal

    def emit(self, data: Any, human: Callable[[Console], None] | None = None) -> None:
        """Print ``data`` as one JSON document with --json, else call ``human`` (or print JSON)."""
        if self.json or human is None:
            sys.stdout.write(to_json_text(data) + "\n")
            sys.stdout.flush()
        else:
            human(self.console)

    @contextmanager
    def progress(self) -> Iterator[Callable[[str, int, int], None]]:
        """A progress callback drawing a bar on stderr (only when stderr is a terminal): the
        stage, the bar, percent, done/total, the rate per second, elapsed and remaining time."""
        if not self.err.is_terminal:
            yield lambda stage, done, total: None
            return
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.err,
            transient=True,
        )
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        with bar:
            yield update


class RateColumn(ProgressColumn):
    """Items per second of a task (``12.3M/s``); blank until it has a rate."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("")
        for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
            if speed >= size:
                return Text(f"{speed / size:.1f}{unit}/s", style="progress.data.speed")
        return Text(f"{speed:.0f}/s", style="progress.data.speed")
