"""The labeling app: one workbench screen over one model of a workspace."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from textual.app import App, InvalidThemeError

from labeler_tui.app.actions import action_spec, unknown_keymap_ids
from labeler_tui.app.backend import Backend
from labeler_tui.app.commands import LabelerCommands
from labeler_tui.app.screens.workbench import WorkbenchScreen
from labeler_tui.app.screens.workbench.messages import ModelChosen
from labeler_tui.core.sanitize import visible
from labeler_tui.core.workspace import Workspace

CONFIG_WARNING_SECONDS = 20.0
"""How long a warning about labeler.toml stays on screen (a path and a key take time to read)."""


class LabelerApp(App[None]):
    """``LabelerApp(workspace, model)``; tests run it with ``app.run_test(size=(120, 40))``.

    The app owns the model's :class:`Backend` (service, lease, data); the workbench screen is
    given it, and a new one when the user switches model."""

    TITLE = "labeler-tui"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {LabelerCommands}

    def __init__(self, workspace: Workspace, model: str | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.backend = Backend(workspace, workspace.model_name(model))
        self._left: list[Backend] = []
        """Backends of models left this session (their claims are given back on quit)."""

    @property
    def model_name(self) -> str:
        return self.backend.model

    def on_mount(self) -> None:
        config = self.workspace.config
        try:
            self.theme = config.app.theme
        except InvalidThemeError:
            self.notify(
                visible(f"{config.path}: [app] theme: unknown theme {config.app.theme!r}"),
                severity="warning",
                markup=False,
                timeout=CONFIG_WARNING_SECONDS,
            )
        if config.keymap:
            self.set_keymap(config.keymap)
            unknown = unknown_keymap_ids(config.keymap)
            if unknown:
                self.notify(
                    visible(f"{config.path}: [keymap]: unknown action id(s): {', '.join(unknown)}"),
                    severity="warning",
                    markup=False,
                    timeout=CONFIG_WARNING_SECONDS,
                )
        self.push_screen(WorkbenchScreen(self.backend, config.app.similar_method))
        self._exit_on_hangup()

    def _exit_on_hangup(self) -> None:
        """A closed SSH session (SIGHUP) or a plain ``kill`` (SIGTERM) quits as ``q`` does, so
        the claimed feature is given back now instead of when its lease runs out."""
        loop = asyncio.get_running_loop()
        for signum in (getattr(signal, "SIGHUP", None), signal.SIGTERM):
            if signum is not None:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(signum, self._quit_on_signal, signum)

    def _quit_on_signal(self, signum: int) -> None:
        self.release_claim()
        self.exit(return_code=128 + signum)

    @property
    def workbench(self) -> WorkbenchScreen:
        for screen in self.screen_stack:
            if isinstance(screen, WorkbenchScreen):
                return screen
        raise LookupError("the workbench screen is not open")

    async def perform(self, action_id: str) -> None:
        """Run an action of :data:`~labeler_tui.app.actions.ACTIONS` by its id (the palette
        and the help screen use this, so they do exactly what the key does)."""
        spec = action_spec(action_id)
        if spec.action.startswith("app."):
            await self.run_action(spec.action.removeprefix("app."))
        else:
            await self.workbench.run_action(spec.action)

    def on_model_chosen(self, message: ModelChosen) -> None:
        self.switch_model(message.model)

    def switch_model(self, name: str) -> None:
        """Open another model of the workspace (the workbench gives the old claim back)."""
        self._left.append(self.backend)
        self.backend = Backend(self.workspace, self.workspace.model_name(name))
        self.workbench.open_model(self.backend)
        self.notify(visible(f"Model {self.backend.model}"), timeout=2, markup=False)

    def release_claim(self) -> None:
        """Give back the feature this app holds a claim on, if any (safe to call twice, and
        after the app has ended); also a claim of a model left just before quitting, whose
        release job may not have run yet."""
        for backend in (*self._left, self.backend):
            backend.lease.release()

    async def action_quit(self) -> None:
        self.release_claim()
        self.exit()
