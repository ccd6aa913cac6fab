"""The help screen: every action with its current key, then a short labeling guide.

Both come from :data:`labeler_tui.app.actions.ACTIONS` (after the ``[keymap]`` overrides), so a
remapped key shows up here as it is, and no key is written down anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Markdown, Static

from labeler_tui.app.actions import ACTIONS, ActionSpec, action_spec, keys_for
from labeler_tui.core.analysis.quadrant import (
    HIGH_IMPORTANCE,
    HIGH_INTERPRETABILITY,
    LOW_IMPORTANCE,
    LOW_INTERPRETABILITY,
)
from labeler_tui.core.registry import QUEUE_METHODS, SIMILARITY_METHODS
from labeler_tui.core.sanitize import visible


def app_keymap(app: App[object]) -> dict[str, str]:
    """The user's ``[keymap]`` (binding id -> keys) of the app's workspace, if it has one."""
    workspace = getattr(app, "workspace", None)
    config = getattr(workspace, "config", None)
    return dict(getattr(config, "keymap", None) or {})


PRESET_SKIP = "skip_"
"""The binding ids ``skip_1`` .. ``skip_9`` (one help row for the nine)."""


def skip_reasons(app: App[object]) -> tuple[str, ...]:
    """The ``[app] skip_reasons`` of the app's workspace."""
    workspace = getattr(app, "workspace", None)
    settings = getattr(getattr(workspace, "config", None), "app", None)
    return tuple(getattr(settings, "skip_reasons", None) or ())


def key_display(app: App[object], keys: str) -> str:
    """``"j,down"`` -> ``"j / ↓"``, in the app's own key notation (as the footer shows keys)."""
    shown = []
    for key in keys.split(","):
        key = key.strip()
        if key:
            shown.append(app.get_key_display(Binding(key, "noop")))
    return " / ".join(shown)


def action_keys(app: App[object], spec: ActionSpec, keymap: Mapping[str, str]) -> str:
    """The keys of one action as shown to the user, after the keymap."""
    return key_display(app, keys_for(spec.id, dict(keymap)))


GUIDE = f"""\
## Workflow

1. **{{next}}** opens the next unclaimed feature of the queue and claims it for you;
   **{{goto}}** opens any id.
2. Read the **core** region first: it shows the feature's true concept. The highest
   activations are often a *flanderized* super-stimulus of it. **{{examples}}** shows the
   examples themselves (**{{region_previous}}** / **{{region_next}}** change the region).
3. Test what you think drives it: **{{hypothesis}}** and type an expression
   (`respawn_punisher`, `NOT weapon=bloblobber`, `special_charge_up>=29 AND ...`): its
   coverage per region, off rate, lift and score show as you type, and the examples are
   filtered to those that match (**{{toggle_match}}**: those that do not).
4. Write the label (**{{edit}}** enters the form, **{{save}}** saves, **{{leave_form}}** leaves it);
   the form warns of tail markers and other lint, and saves the tested hypothesis with it.
   Or skip with a reason (**{{skip}}**, or a preset with the digit keys). **{{undo}}** reverts
   your newest change; **{{recent}}** reopens one of your last decisions.
5. Queue similar features (**{{add_similar}}** one, **{{add_all_similar}}** all shown) and go on.

## Activation regions (fraction of the effective max, the 99.5th percentile)

| region | range |
|---|---|
| floor | up to 1% |
| low | 1-10% |
| below core | 10-25% |
| **core** | **25-75%: the true concept** |
| high | 75-90% |
| flanderization | 90% and above: super-stimuli |

## Core coverage verdicts (% of core examples containing it)

| coverage | verdict | guidance |
|---|---|---|
| > 50% | headline | safe to headline this token or family |
| 30-50% | mention | mention it in the notes, not in the name |
| < 30% | tail marker | wrong label: this is the tail, not the concept |

## Red flags

- a token >= 5x enriched in the flanderization zone but in < 20% of the core: **tail marker**
- a metadata value (e.g. a weapon) > 40% of the top-100 examples but < 15% of the core:
  **flanderized**
- values present in every region encode a **general concept**; values only at 90%+ are
  **super-stimuli**

## Importance x interpretability

Importance is the decoder-norm percentile (objective); interpretability confidence is how well
you understand the feature (subjective). Don't conflate them.

| importance | interpretability | meaning |
|---|---|---|
| high (> {HIGH_IMPORTANCE:g}) | high (> {HIGH_INTERPRETABILITY:g}) | strong, well-understood feature |
| high (> {HIGH_IMPORTANCE:g}) | low (< {LOW_INTERPRETABILITY:g}) | important but mysterious: investigate more |
| low (< {LOW_IMPORTANCE:g}) | high (> {HIGH_INTERPRETABILITY:g}) | understood but weak: noise or redundant |
| low (< {LOW_IMPORTANCE:g}) | low (< {LOW_INTERPRETABILITY:g}) | skip: not worth investigating |

## Categories

- **mechanical**: low-level patterns (token presence, combinations); terse names
- **tactical**: mid-level patterns (build strategies, weapon synergies); name the combo
- **strategic**: high-level patterns (playstyle, meta concepts); concept + role qualifier
- **none**: uncategorized
"""


def methods_markdown() -> str:
    """The registered similarity methods and queue builders, with their help."""
    lines = ["## Similar features (`{similar_method}` switches)", "", "| method | similarity |"]
    lines.append("|---|---|")
    lines += [f"| {m.name} | {m.help} |" for m in SIMILARITY_METHODS.entries()]
    lines += ["", "## Queue builders (`{build}`)", "", "| method | picks |", "|---|---|"]
    lines += [f"| {m.name} | {m.help} |" for m in QUEUE_METHODS.entries()]
    return "\n".join(lines) + "\n"


def guide_markdown(app: App[object], keymap: Mapping[str, str]) -> str:
    """The guide with each ``{action_id}`` replaced by that action's current keys."""
    keys = {spec.id: f"`{action_keys(app, spec, keymap)}`" for spec in ACTIONS}
    return (GUIDE + "\n" + methods_markdown()).format(**keys)


class HelpScreen(Screen[None]):
    """Every key and what it does, grouped, then the labeling guide. Any help key closes it."""

    DEFAULT_CSS = """
    HelpScreen #help-body {
        padding: 0 1;
    }
    HelpScreen #help-columns {
        layout: vertical;
        height: auto;
    }
    HelpScreen.-wide #help-columns {
        layout: horizontal;
    }
    HelpScreen #keys {
        height: auto;
        margin-bottom: 1;
    }
    HelpScreen.-wide #keys {
        width: 55%;
        margin-right: 2;
    }
    HelpScreen #guide {
        height: auto;
        width: 1fr;
        margin: 0;
        padding: 0;
    }
    """

    WIDE = 110
    """From this terminal width on, the keys and the guide sit side by side."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "close", "Close"),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
    ]

    def __init__(self, keymap: Mapping[str, str] | None = None) -> None:
        """``keymap`` defaults to the ``[keymap]`` of the app's workspace."""
        super().__init__()
        self._user_keymap = keymap

    @property
    def keymap(self) -> dict[str, str]:
        return dict(self._user_keymap) if self._user_keymap is not None else app_keymap(self.app)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"), Container(id="help-columns"):
            yield Static(self.keys_table(), id="keys")
            yield Markdown(guide_markdown(self.app, self.keymap), id="guide")
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(self.app.size.width >= self.WIDE, "-wide")
        self.query_one("#help-body").focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width >= self.WIDE, "-wide")

    def on_key(self, event: events.Key) -> None:
        """The user's own help key (``[keymap] help``) closes the screen it opened."""
        help_keys = {key.strip() for key in keys_for("help", self.keymap).split(",")}
        if event.key in help_keys:
            event.stop()
            self.dismiss(None)

    def keys_table(self) -> Table:
        """Every action of ACTIONS, by group, with its keys after the keymap."""
        table = Table(
            title="Keys",
            title_justify="left",
            title_style="bold",
            expand=True,
            box=None,
            padding=(0, 1),
            show_edge=False,
        )
        table.add_column("Key", style="bold", no_wrap=True, min_width=8)
        table.add_column("Action", no_wrap=True)
        table.add_column("What it does", ratio=1)
        keymap = self.keymap
        group = None
        for spec in ACTIONS:
            if spec.group != group:
                if group is not None:
                    table.add_row("", "", "")
                group = spec.group
                table.add_row(f"[b u]{group}[/]", "", "")
            if spec.id.startswith(PRESET_SKIP):
                if spec.id == f"{PRESET_SKIP}1":
                    table.add_row(*self._preset_skips(keymap))
                continue
            table.add_row(Text(visible(action_keys(self.app, spec, keymap))), spec.title, spec.help)
        return table

    def _preset_skips(self, keymap: Mapping[str, str]) -> tuple[Text, str, Text]:
        """One row for the nine preset-skip keys, with the reasons configured."""
        reasons = skip_reasons(self.app)
        keys = [action_keys(self.app, action_spec(f"{PRESET_SKIP}{n}"), keymap) for n in (1, 9)]
        what = Text("Skip the feature on screen with a preset reason ([app] skip_reasons): ")
        what.append(
            visible("; ".join(f"{n} {r}" for n, r in enumerate(reasons, 1))), style="italic"
        )
        return Text(" … ".join(keys)), "Skip: preset", what

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        if direction == "down":
            body.scroll_down(animate=False)
        else:
            body.scroll_up(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
