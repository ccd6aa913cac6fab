"""The Textual app (placeholder until the workbench lands: shows the workspace summary)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

from labeler_tui.core.workspace import Workspace


class LabelerApp(App[None]):
    TITLE = "labeler-tui"
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, workspace: Workspace, model: str) -> None:
        super().__init__()
        self.workspace = workspace
        self.model_name = model

    def compose(self) -> ComposeResult:
        yield Header()
        cfg = self.workspace.config
        lines = [f"Workspace: {cfg.root}", f"Model: {self.model_name}", "Models:"]
        lines += [f"  {name}" for name in cfg.models]
        yield Static("\n".join(lines), id="summary")
        yield Footer()
