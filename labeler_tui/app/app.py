"""The labeling app: one workbench screen over one model of a workspace."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from textual.app import App

from labeler_tui.app.actions import action_spec, unknown_keymap_ids
from labeler_tui.app.backend import Backend
from labeler_tui.app.screens.workbench import WorkbenchScreen
from labeler_tui.core.workspace import Workspace


class LabelerApp(App[None]):
    """``LabelerApp(workspace, model)``; tests run it with ``app.run_test(size=(120, 40))``."""

    TITLE = "labeler-tui"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, workspace: Workspace, model: str | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.model_name = workspace.model_name(model)
        self.backend = Backend(workspace, self.model_name)
        self.similar_method = workspace.config.app.similar_method
        self._workbench: WorkbenchScreen | None = None
        self._install_commands()

    def _install_commands(self) -> None:
        try:
            from labeler_tui.app.commands import LabelerCommands
        except ImportError:
            return
        self.COMMANDS = self.COMMANDS | {LabelerCommands}

    def on_mount(self) -> None:
        config = self.workspace.config
        try:
            self.theme = config.app.theme
        except Exception:
            self.notify(
                f"{config.path}: [app] theme: unknown theme {config.app.theme!r}",
                severity="warning",
            )
        if config.keymap:
            self.set_keymap(config.keymap)
            unknown = unknown_keymap_ids(config.keymap)
            if unknown:
                self.notify(
                    f"{config.path}: [keymap]: unknown action id(s): {', '.join(unknown)}",
                    severity="warning",
                )
        self._workbench = WorkbenchScreen()
        self.push_screen(self._workbench)
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

    def switch_model(self, name: str) -> None:
        """Leave the current model (releasing its claim) and open another of the workspace."""
        workbench = self.workbench
        workbench.release_claim_now()
        self.model_name = self.workspace.model_name(name)
        self.backend = Backend(self.workspace, self.model_name)
        workbench.start()
        self.notify(f"Model {self.model_name}", timeout=2)

    def release_claim(self) -> None:
        """Give back the feature this app holds a lease on, if any (safe to call twice, and
        after the app has ended)."""
        if self._workbench is not None:
            self._workbench.release_claim_now(self.backend)

    async def action_quit(self) -> None:
        self.release_claim()
        self.exit()
