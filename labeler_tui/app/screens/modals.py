"""Small modal prompts: skip reason, go to feature, build the queue, switch model.

Each returns its answer through ``dismiss`` (push it with ``push_screen(screen, callback)``);
``escape`` always cancels and returns ``None``, so a callback receiving ``None`` must change
nothing. Values are validated inside the prompt, with the problem shown in the dialog, so the
callback only ever sees a usable answer.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from labeler_tui.core.errors import ValidationError
from labeler_tui.core.records import LabelEdit, LabelRecord
from labeler_tui.core.registry import QUEUE_METHODS
from labeler_tui.core.sanitize import visible
from labeler_tui.core.timestamps import shown

ResultT = TypeVar("ResultT")


DEFAULT_TOP_K = 50


def _whole_number(text: str, what: str) -> int:
    """Digits and nothing else (``12.5``, ``1e3``, ``1_000`` and ``-3`` are refused)."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()):
        raise ValidationError(f"{what} must be a whole number, got {value!r}")
    return int(value)


def parse_feature_id(text: str, n_features: int | None, what: str = "feature id") -> int:
    """A feature id typed by the user, checked against the model's range."""
    feature_id = _whole_number(text, what)
    if feature_id < 0 or (n_features is not None and feature_id >= n_features):
        upper = f"{n_features - 1}" if n_features is not None else "..."
        raise ValidationError(f"{what} {feature_id} is out of range (features 0..{upper})")
    return feature_id


def parse_top_k(text: str) -> int | None:
    """How many features a builder adds; empty means the builder's own default."""
    if not text.strip():
        return None
    top_k = _whole_number(text, "top k")
    if top_k < 1:
        raise ValidationError(f"top k must be at least 1, got {top_k}")
    return top_k


class _Prompt(ModalScreen[ResultT], Generic[ResultT]):
    """A centred dialog with a title, a one-line error area and escape to cancel."""

    DEFAULT_CSS = """
    _Prompt {
        align: center middle;
        background: $background 60%;
    }
    _Prompt > #dialog {
        width: 66;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    _Prompt #title {
        text-style: bold;
        width: 1fr;
        margin-bottom: 1;
    }
    _Prompt .field-label {
        margin-top: 1;
        color: $text-muted;
    }
    _Prompt #error {
        color: $text-error;
        height: auto;
        min-height: 1;
    }
    _Prompt #hint {
        color: $text-muted;
    }
    _Prompt OptionList {
        height: auto;
        max-height: 8;
    }
    _Prompt Input.-textual-compact {
        background: $boost;
        padding: 0 1;
    }
    _Prompt Input.-textual-compact:focus {
        background-tint: $accent 25%;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    title_text = ""
    hint_text = "enter confirms · escape cancels"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(visible(self.title_text)), id="title")
            yield from self.compose_body()
            yield Static("", id="error")
            yield Static(self.hint_text, id="hint")

    def compose_body(self) -> ComposeResult:
        yield from ()

    def show_error(self, message: str) -> None:
        """Show a problem in the dialog (the prompt stays open)."""
        self.query_one("#error", Static).update(Text(visible(message)))

    @property
    def error_text(self) -> str:
        return str(self.query_one("#error", Static).content)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SkipReasonScreen(_Prompt[str]):
    """Ask why a feature is skipped.

    Returns the reason (stripped; ``""`` when the user confirms an empty field, meaning "skip
    without a reason") or ``None`` when cancelled with escape, meaning "do not skip".
    """

    hint_text = "enter skips (reason optional) · down: preset reasons · escape: do not skip"

    def __init__(self, feature_id: int | None = None, presets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.feature_id = feature_id
        self.presets = presets
        what = f"feature {feature_id}" if feature_id is not None else "the feature"
        self.title_text = f"Skip {what}"

    def compose_body(self) -> ComposeResult:
        yield Label("Reason", classes="field-label")
        yield Input(placeholder="e.g. ReLU floor too high, hard to interpret", id="reason")
        if self.presets:
            yield Label(
                "Preset reasons (keys 1-9 on the workbench skip at once)", classes="field-label"
            )
            yield OptionList(
                *(
                    Option(Text(f"{i} {visible(reason)}"), id=str(i))
                    for i, reason in enumerate(self.presets, 1)
                ),
                id="presets",
                compact=True,
            )

    def on_key(self, event: events.Key) -> None:
        if event.key == "down" and self.query_one("#reason", Input).has_focus and self.presets:
            event.stop()
            self.query_one("#presets", OptionList).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.presets[event.option_index])


class GoToFeatureScreen(_Prompt[int]):
    """Ask for a feature id in ``0..n_features-1``; returns it, or ``None`` when cancelled."""

    title_text = "Go to feature"

    def __init__(self, n_features: int | None = None) -> None:
        super().__init__()
        self.n_features = n_features

    def compose_body(self) -> ComposeResult:
        span = f"0..{self.n_features - 1}" if self.n_features else "a feature id"
        yield Label(f"Feature id ({span})", classes="field-label")
        yield Input(placeholder="feature id", id="feature-id")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            feature_id = parse_feature_id(event.value, self.n_features)
        except ValidationError as exc:
            self.show_error(str(exc))
            return
        self.dismiss(feature_id)


class BuildQueueScreen(_Prompt[dict[str, Any]]):
    """Pick a queue builder: returns ``{"method", "seed", "top_k"}`` or ``None`` when cancelled.

    ``seed`` is an int for a method that takes one (``cluster``) and ``None`` otherwise; ``top_k`` is
    ``None`` when left empty (the builder's default). Enter on the method list or in a field
    builds; tab moves between the fields.
    """

    title_text = "Build the queue"
    hint_text = "enter builds · tab next field · escape cancels"

    def __init__(
        self,
        n_features: int | None = None,
        seed: int | None = None,
        method: str = "activation_count",
        top_k: int | None = DEFAULT_TOP_K,
    ) -> None:
        super().__init__()
        self.n_features = n_features
        self.initial_seed = seed
        self.initial_method = method
        self.initial_top_k = top_k

    def compose_body(self) -> ComposeResult:
        yield Label("Method", classes="field-label")
        yield OptionList(
            *(
                Option(Text.assemble(f"{m.name:<17}", (m.help, "dim")), id=m.name)
                for m in QUEUE_METHODS.entries()
            ),
            id="method",
            compact=True,
        )
        seeded = ", ".join(m.name for m in QUEUE_METHODS.entries() if m.takes_seed)
        yield Label(f"Seed feature ({seeded} only)", classes="field-label")
        yield Input(
            "" if self.initial_seed is None else str(self.initial_seed),
            placeholder="seed feature id",
            id="seed",
            compact=True,
        )
        yield Label("Top k (empty: the builder's default)", classes="field-label")
        yield Input(
            "" if self.initial_top_k is None else str(self.initial_top_k),
            placeholder="how many features to add",
            id="top-k",
            compact=True,
        )

    def on_mount(self) -> None:
        methods = self.query_one("#method", OptionList)
        names = list(QUEUE_METHODS.names())
        methods.highlighted = (
            names.index(self.initial_method) if self.initial_method in names else 0
        )
        methods.focus()

    @property
    def method(self) -> str:
        """The highlighted method."""
        methods = self.query_one("#method", OptionList)
        index = methods.highlighted or 0
        return QUEUE_METHODS.names()[index]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def _submit(self) -> None:
        method = self.method
        seed_text = self.query_one("#seed", Input).value
        try:
            seed = None
            if QUEUE_METHODS.get(method).takes_seed:
                if not seed_text.strip():
                    self.query_one("#seed", Input).focus()
                    raise ValidationError(f"{method} needs a seed feature id")
                seed = parse_feature_id(seed_text, self.n_features, what="seed")
            top_k = parse_top_k(self.query_one("#top-k", Input).value)
        except ValidationError as exc:
            self.show_error(str(exc))
            return
        self.dismiss({"method": method, "seed": seed, "top_k": top_k})


class ModelPickerScreen(_Prompt[str]):
    """Pick one of the workspace's models; returns its name (possibly ``current``) or ``None``."""

    title_text = "Switch model"

    def __init__(self, models: list[str], current: str | None = None) -> None:
        super().__init__()
        self.models = list(models)
        self.current = current

    def compose_body(self) -> ComposeResult:
        yield OptionList(
            *(
                Option(
                    Text(visible(name)) + Text("  (current)", style="dim")
                    if name == self.current
                    else Text(visible(name)),
                    id=name,
                )
                for name in self.models
            ),
            id="models",
        )

    def on_mount(self) -> None:
        models = self.query_one("#models", OptionList)
        if self.current in self.models:
            models.highlighted = self.models.index(self.current)
        models.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.models[event.option_index])


class ConfirmScreen(_Prompt[bool]):
    """A question with one action and Cancel: returns True for the action, None otherwise."""

    def __init__(self, title: str, question: str, action: str) -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.action = action

    def compose_body(self) -> ComposeResult:
        yield Static(Text(visible(self.question)), id="question")
        yield OptionList(
            Option(self.action, id="yes"), Option("Cancel", id="no"), id="choice", compact=True
        )

    def on_mount(self) -> None:
        self.query_one("#choice", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(True if event.option.id == "yes" else None)


class ConflictScreen(_Prompt[str]):
    """The stored label moved since the form was filled (another process saved it): both
    versions side by side. Returns ``"mine"`` (save the form over it), ``"theirs"`` (take the
    stored one into the form) or ``"merge"`` (the form's label with both notes); None keeps the
    form as it is, unsaved."""

    hint_text = "enter picks · escape keeps editing (nothing saved)"

    def __init__(self, feature_id: int, mine: LabelEdit, theirs: LabelRecord | None) -> None:
        super().__init__()
        self.title_text = f"Feature {feature_id} was labeled meanwhile"
        self.mine = mine
        self.theirs = theirs

    def compose_body(self) -> ComposeResult:
        yield Label("Yours (the form)", classes="field-label")
        yield Static(_label_lines(self.mine.name, self.mine.category, self.mine.notes), id="mine")
        theirs = self.theirs
        who = f" ({theirs.source}, {shown(theirs.last_updated)})" if theirs is not None else ""
        yield Label(Text(visible(f"Stored now{who}")), classes="field-label")
        if theirs is None:
            yield Static(Text("no label (it was cleared)", style="italic"), id="theirs")
        else:
            yield Static(
                _label_lines(theirs.name or "", theirs.dashboard_category, theirs.dashboard_notes),
                id="theirs",
            )
        yield OptionList(
            Option("Keep mine: save the form over it", id="mine"),
            Option("Take theirs into the form", id="theirs"),
            Option("Merge: my label with both notes, in the form", id="merge"),
            id="choice",
            compact=True,
        )

    def on_mount(self) -> None:
        self.query_one("#choice", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


def _label_lines(name: str, category: str | None, notes: str | None) -> Text:
    """A label as text (user text, never markup)."""
    text = Text(visible(name or "(no name)"), style="bold")
    if category:
        text.append(f"  [{visible(category)}]")
    if notes:
        text.append("\n" + visible(notes), style="italic")
    return text


class RecentScreen(_Prompt[int]):
    """This owner's recent saves and skips, newest first; returns the feature to reopen."""

    title_text = "Recent decisions"
    hint_text = "enter reopens the feature · escape closes"

    def __init__(self, events: list[dict[str, Any]]) -> None:
        super().__init__()
        self.events = events

    def compose_body(self) -> ComposeResult:
        if not self.events:
            yield Static(Text("No save or skip of yours yet.", style="italic"), id="none")
            return
        yield OptionList(*(Option(decision_line(e)) for e in self.events), id="recent")

    def on_mount(self) -> None:
        if self.events:
            self.query_one("#recent", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(self.events[event.option_index]["feature_id"]))


def decision_line(event: dict[str, Any]) -> Text:
    """``13:41  label  9971  Special Charge Up Stacker`` (a skip shows its reason)."""
    after = event.get("after")
    after = after if isinstance(after, dict) else {}
    action = str(event.get("action"))
    what = after.get("display_name") if action == "label" else after.get("reason")
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{shown(event.get('ts'))[5:]}  ", style="dim")
    text.append(f"{action:<5} ", style="bold green" if action == "label" else "bold yellow")
    text.append(f"{event.get('feature_id')!s:>6}  ")
    text.append(visible(str(what or "")))
    return text
