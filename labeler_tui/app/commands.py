"""The command palette provider: every action of ACTIONS by its title and help, plus themes.

Add it to the app with ``COMMANDS = App.COMMANDS | {LabelerCommands}``. Actions run through
``LabelerApp.perform(action_id)``, so they reach the workbench from any screen.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from labeler_tui.app.actions import ACTIONS, ActionSpec
from labeler_tui.app.screens.help import action_keys, app_keymap

THEME_PREFIX = "Theme: "


class LabelerCommands(Provider):
    """Searches the user actions (title and help text) and the colour themes."""

    def _actions(self) -> list[tuple[ActionSpec, str]]:
        keymap = app_keymap(self.app)
        return [(spec, action_keys(self.app, spec, keymap)) for spec in ACTIONS if spec.palette]

    def _help(self, spec: ActionSpec, keys: str) -> str:
        return f"{spec.help}  ({keys})" if keys else spec.help

    async def _run(self, spec: ActionSpec) -> None:
        await self.app.perform(spec.id)  # type: ignore[attr-defined]

    def _set_theme(self, name: str) -> None:
        self.app.theme = name

    async def discover(self) -> Hits:
        for spec, keys in self._actions():
            yield DiscoveryHit(
                spec.title, partial(self._run, spec), text=spec.title, help=self._help(spec, keys)
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for spec, keys in self._actions():
            # Match the title first, the help text as a weaker second chance ("claim", "reason").
            score = matcher.match(spec.title)
            display = matcher.highlight(spec.title)
            if score <= 0:
                score = matcher.match(spec.help) * 0.5
                display = Content(spec.title)
            if score > 0:
                yield Hit(
                    score,
                    display,
                    partial(self._run, spec),
                    text=spec.title,
                    help=self._help(spec, keys),
                )
        for name in sorted(self.app.available_themes):
            title = f"{THEME_PREFIX}{name}"
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self._set_theme, name),
                    text=title,
                    help="Switch the colour theme",
                )
