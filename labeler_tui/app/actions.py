"""Every user action of the app, declared once.

The footer (via :func:`bindings`), the command palette, the help screen and the user keymap
(``[keymap]`` in labeler.toml: binding id -> keys, applied with ``App.set_keymap``) are all
generated from :data:`ACTIONS`, so no key is documented in more than one place.

An action string without a namespace names an ``action_*`` method of the workbench screen;
``app.`` actions run on the app. Run one from anywhere with ``LabelerApp.perform(action_id)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

from labeler_tui.core.registry import SIMILARITY_METHODS


@dataclass(frozen=True)
class ActionSpec:
    """One user action: its binding id, default keys, action string and the words shown."""

    id: str
    key: str
    """Default keys, comma separated, in Textual key names (``j,down``, ``ctrl+s``, ``slash``)."""
    action: str
    title: str
    help: str
    group: str = "General"
    show: bool = True
    priority: bool = False
    """Priority bindings run before the focused widget sees the key. ``ctrl+s`` is NOT one: it
    must queue behind the characters typed before it (a priority save could read the form
    before the last keystrokes land); the form's widgets do not bind it, so it still arrives."""
    palette: bool = True
    """Listed in the command palette (plain cursor movement is not)."""


ACTIONS: tuple[ActionSpec, ...] = (
    # --- queue -----------------------------------------------------------------------------------
    ActionSpec(
        "next",
        "n",
        "next_feature",
        "Next",
        "Open the next unclaimed feature of the queue and claim it",
        "Queue",
    ),
    ActionSpec(
        "open",
        "enter",
        "open_entry",
        "Open",
        "Open the highlighted queue entry or similar feature",
        "Queue",
        show=False,
    ),
    ActionSpec(
        "cursor_down",
        "j,down",
        "cursor_down",
        "Down",
        "Move the highlight down",
        "Queue",
        show=False,
        palette=False,
    ),
    ActionSpec(
        "cursor_up",
        "k,up",
        "cursor_up",
        "Up",
        "Move the highlight up",
        "Queue",
        show=False,
        palette=False,
    ),
    ActionSpec(
        "filter",
        "slash",
        "filter_queue",
        "Filter",
        "Filter the queue by feature id, reason or claim",
        "Queue",
        show=False,
    ),
    ActionSpec(
        "queue_view",
        "v",
        "cycle_queue_view",
        "View",
        "Show pending, completed or skipped features",
        "Queue",
        show=False,
    ),
    ActionSpec("goto", "g", "go_to_feature", "Go to", "Open a feature by its id", "Queue"),
    ActionSpec(
        "build",
        "b",
        "build_queue",
        "Build",
        "Build the queue with a method (activation count, cluster, ...)",
        "Queue",
        show=False,
    ),
    # --- label -----------------------------------------------------------------------------------
    ActionSpec("edit", "e", "edit_label", "Edit", "Move into the label form", "Label", show=False),
    ActionSpec(
        "use_suggestion",
        "ctrl+g",
        "use_suggestion",
        "Suggestion",
        "Copy the next imported suggestion into the name",
        "Label",
        show=False,
    ),
    ActionSpec(
        "save",
        "ctrl+s",
        "save_label",
        "Save",
        "Save the label of the feature on screen",
        "Label",
    ),
    ActionSpec(
        "skip",
        "s",
        "skip_feature",
        "Skip",
        "Skip the feature on screen (asks for a reason)",
        "Label",
    ),
    *(
        ActionSpec(
            f"skip_{n}",
            str(n),
            f"skip_preset({n})",
            f"Skip: reason {n}",
            f"Skip the feature on screen with preset reason {n} ([app] skip_reasons)",
            "Label",
            show=False,
            palette=False,
        )
        for n in range(1, 10)
    ),
    ActionSpec(
        "undo", "u", "undo", "Undo", "Undo your newest change to the labels or the queue", "Label"
    ),
    ActionSpec(
        "undo_any",
        "U",
        "undo_any",
        "Undo anyone's",
        "Undo the newest change of anyone (an agent's, a colleague's)",
        "Label",
        show=False,
    ),
    ActionSpec(
        "recent",
        "R",
        "recent_decisions",
        "Recent",
        "Your last 10 saves and skips; enter reopens one",
        "Label",
        show=False,
    ),
    ActionSpec(
        "next_after_save",
        "N",
        "toggle_next_after_save",
        "Next after save",
        "After a save, open the next feature: on or off",
        "Label",
        show=False,
    ),
    ActionSpec(
        "leave_form",
        "escape",
        "leave_form",
        "Leave form",
        "Leave the label form (back to the queue)",
        "Label",
        show=False,
        palette=False,
    ),
    # --- evidence --------------------------------------------------------------------------------
    ActionSpec(
        "examples",
        "x",
        "toggle_examples",
        "Examples",
        "Show the examples of a region (again: back to the overview)",
        "Evidence",
    ),
    ActionSpec(
        "hypothesis",
        "h",
        "hypothesis",
        "Hypothesis",
        "Test an expression as you type; filter the examples by it",
        "Evidence",
        show=False,
    ),
    ActionSpec(
        "whole_sequence",
        "w",
        "whole_sequence",
        "Sequence",
        "The whole sequence of the context under the cursor (sequence models)",
        "Evidence",
        show=False,
    ),
    ActionSpec(
        "region_next",
        "right_square_bracket",
        "step_region(1)",
        "Next region",
        "Examples of the next region",
        "Evidence",
        show=False,
    ),
    ActionSpec(
        "region_previous",
        "left_square_bracket",
        "step_region(-1)",
        "Previous region",
        "Examples of the previous region",
        "Evidence",
        show=False,
    ),
    ActionSpec(
        "examples_order",
        "o",
        "examples_order",
        "Top / sample",
        "The region's top examples, or a seeded sample",
        "Evidence",
        show=False,
    ),
    ActionSpec(
        "toggle_match",
        "ctrl+t",
        "toggle_match",
        "(Not) matching",
        "Examples matching the hypothesis, or those that do not",
        "Evidence",
        show=False,
    ),
    # --- similar ---------------------------------------------------------------------------------
    ActionSpec(
        "add_similar",
        "a",
        "add_similar",
        "Add",
        "Add the highlighted similar feature to the queue",
        "Similar",
        show=False,
    ),
    ActionSpec(
        "add_all_similar",
        "A",
        "add_all_similar",
        "Add all",
        "Add every similar feature shown to the queue",
        "Similar",
        show=False,
    ),
    ActionSpec(
        "similar_method",
        "c",
        "cycle_similar_method",
        "Method",
        f"Switch similarity: {', '.join(SIMILARITY_METHODS.names())}",
        "Similar",
        show=False,
    ),
    # --- view ------------------------------------------------------------------------------------
    ActionSpec(
        "next_pane",
        "tab",
        "next_pane",
        "Pane",
        "Move to the next pane",
        "View",
        show=False,
        palette=False,
    ),
    ActionSpec(
        "previous_pane",
        "shift+tab",
        "previous_pane",
        "Back pane",
        "Move to the previous pane",
        "View",
        show=False,
        palette=False,
    ),
    ActionSpec(
        "model",
        "m",
        "switch_model",
        "Model",
        "Switch to another model of the workspace",
        "View",
        show=False,
    ),
    ActionSpec(
        "progress",
        "p",
        "show_progress",
        "Progress",
        "Labels over time, counts and coverage",
        "View",
    ),
    ActionSpec(
        "theme", "t", "app.change_theme", "Theme", "Pick a colour theme", "View", show=False
    ),
    ActionSpec(
        "reload",
        "r",
        "reload",
        "Reload",
        "Re-read the label and queue files now",
        "View",
        show=False,
    ),
    ActionSpec("help", "f1,question_mark", "help", "Help", "Every key and what it does", "View"),
    ActionSpec(
        "palette",
        "ctrl+p",
        "app.command_palette",
        "Palette",
        "Search every action by name",
        "View",
        show=False,
        palette=False,
    ),
    ActionSpec("quit", "q", "app.quit", "Quit", "Release the claim and quit", "View"),
)

_BY_ID = {spec.id: spec for spec in ACTIONS}


def action_spec(action_id: str) -> ActionSpec:
    """The spec with this binding id (KeyError for an unknown id)."""
    return _BY_ID[action_id]


def bindings() -> list[BindingType]:
    """Textual bindings for :data:`ACTIONS` (each with its id, so the keymap can remap it)."""
    return [
        Binding(
            spec.key, spec.action, spec.title, show=spec.show, priority=spec.priority, id=spec.id
        )
        for spec in ACTIONS
    ]


def keys_for(action_id: str, keymap: dict[str, str] | None = None) -> str:
    """The keys bound to an action after the user keymap, for help and palette text."""
    spec = _BY_ID[action_id]
    return (keymap or {}).get(action_id, spec.key)


def unknown_keymap_ids(keymap: dict[str, str]) -> list[str]:
    """Keymap entries that name no action (shown as a warning instead of silently ignored)."""
    return sorted(k for k in keymap if k not in _BY_ID)
