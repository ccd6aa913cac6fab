"""The label form: name, category, notes, two confidences, the source, a core-coverage hint,
the label lint's warnings and the hypothesis that will be saved with the label."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.validation import Number
from textual.widgets import Input, Label, Select, Static, TextArea

from labeler_tui.core.data.tokenizer import visible_piece
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.evidence.lint import LintWarning
from labeler_tui.core.records import LabelEdit, LabelRecord
from labeler_tui.core.sanitize import visible
from labeler_tui.core.service import NO_LABEL
from labeler_tui.core.stores.suggestions import Suggestion


def _number(raw: str, field: str) -> float | None:
    """A typed confidence (empty: none); its range is checked with the rest of the edit."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValidationError(
            f"{field}: expected a number from 0 to 1, got {raw!r}", field
        ) from None


class LabelForm(Vertical):
    """Edits one feature's label; the workbench reads :meth:`values` on save."""

    DEFAULT_CSS = """
    LabelForm { height: auto; padding: 0 1; }
    LabelForm Horizontal { height: auto; }
    LabelForm Label { padding: 0 1 0 0; color: $text-muted; }
    LabelForm #form-name { width: 1fr; }
    LabelForm #form-category { width: 22; }
    LabelForm .confidence { width: 8; }
    LabelForm #form-notes { height: 3; }
    LabelForm #form-source { width: 1fr; color: $text-muted; padding: 0 0 0 2; }
    LabelForm #form-hint { height: auto; color: $text-muted; }
    LabelForm #form-lint { height: auto; max-height: 2; color: $warning; }
    LabelForm #form-hypothesis { height: auto; color: $text-muted; }
    LabelForm #form-suggestions { height: auto; max-height: 4; }
    LabelForm #form-suggestions, LabelForm #form-hint, LabelForm #form-lint,
    LabelForm #form-hypothesis {
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    LabelForm Input.-invalid { color: $error; }
    """

    class NameChanged(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class Edited(Message):
        """A field changed, by typing or by filling (the workbench lints the label as it is
        now)."""

    def __init__(
        self, categories: tuple[str, ...], source: str, owner: str, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.categories = categories
        self.source = source
        self.owner = owner
        self.feature_id: int | None = None
        self._filled: dict[str, str] = {}
        self._record: LabelRecord | None = None
        self.suggestions: tuple[Suggestion, ...] = ()
        """The feature's imported suggestions, best first (ctrl+g copies the next one)."""
        self._suggested: Suggestion | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("Name")
            yield Input(placeholder="what the feature means", id="form-name", compact=True)
            yield Select(
                [(Text(visible(c)), c) for c in self.categories],
                prompt="category",
                id="form-category",
                compact=True,
            )
        with Horizontal():
            yield Label("Interp.")
            yield Input(
                placeholder="0..1",
                id="form-interp",
                classes="confidence",
                validators=[Number(minimum=0, maximum=1)],
                compact=True,
            )
            yield Label(" Hyp.")
            yield Input(
                placeholder="0..1",
                id="form-hyp",
                classes="confidence",
                validators=[Number(minimum=0, maximum=1)],
                compact=True,
            )
            yield Static(Text(visible(f"as {self.source}")), id="form-source")
        yield TextArea(
            id="form-notes",
            compact=True,
            soft_wrap=True,
            show_line_numbers=False,
            placeholder="notes (escape leaves the form, ctrl+s saves)",
        )
        yield Static("", id="form-suggestions")
        yield Static("", id="form-hint")
        yield Static("", id="form-lint")
        yield Static("", id="form-hypothesis")

    def on_mount(self) -> None:
        for selector in ("#form-suggestions", "#form-hint", "#form-lint", "#form-hypothesis"):
            self._set(selector, "")

    # --- filling and reading ---------------------------------------------------------------------
    def fill(self, feature_id: int | None, record: LabelRecord | None) -> None:
        """Show a feature's current label (empty fields when it has none)."""
        if feature_id == self.feature_id and record == self._record and not self.dirty:
            return  # already showing exactly this
        self._record = record
        self.feature_id = feature_id
        name = record.dashboard_name or "" if record else ""
        self.query_one("#form-name", Input).value = visible(name)  # shown, never obeyed
        category = record.dashboard_category if record else None
        select = self.query_one("#form-category", Select)
        if category in self.categories:
            select.value = category
        else:
            select.clear()
        for wid, value in (
            ("#form-interp", record.interpretability_confidence if record else None),
            ("#form-hyp", record.hypothesis_confidence if record else None),
        ):
            self.query_one(wid, Input).value = _shown(value)
        notes = record.dashboard_notes if record else None
        self.query_one("#form-notes", TextArea).text = visible(notes or "")
        source = record.source if record else None
        where = f"was {source}, " if source else ""
        self.query_one("#form-source", Static).update(
            Text(visible(f"{where}saves as {self.source}"))
        )
        self.set_hint("")
        self.set_warnings([])
        self._filled = self.raw()

    # --- suggestions -----------------------------------------------------------------------------
    def set_suggestions(self, feature_id: int, suggestions: tuple[Suggestion, ...]) -> None:
        """List a feature's suggestions (the first three, one line each) under the fields."""
        if feature_id != self.feature_id:
            return
        self.suggestions = suggestions
        self._suggested = None
        self._set("#form-suggestions", suggestions_text(suggestions))

    def use_next_suggestion(self) -> Suggestion | None:
        """Copy the suggestion after the one copied last (the first one at first) into the
        name; None when the feature has none."""
        if not self.suggestions:
            return None
        i = self.suggestions.index(self._suggested) + 1 if self._suggested else 0
        chosen = self.suggestions[i % len(self.suggestions)]
        self.query_one("#form-name", Input).value = chosen.text
        self._suggested = chosen
        self._set("#form-suggestions", suggestions_text(self.suggestions, chosen))
        return chosen

    @property
    def derived_from(self) -> Suggestion | None:
        """The suggestion the name was copied from, while the name is still its text."""
        chosen = self._suggested
        name = self.query_one("#form-name", Input).value.strip()
        return chosen if chosen is not None and name == chosen.text.strip() else None

    def values(self) -> LabelEdit:
        """The label the form holds, checked; a bad field raises ValidationError naming it."""
        select = self.query_one("#form-category", Select)
        edit = LabelEdit(
            name=self.query_one("#form-name", Input).value,
            category=None if select.is_blank() else str(select.value),
            notes=self.query_one("#form-notes", TextArea).text.strip() or None,
            interpretability_confidence=_number(
                self.query_one("#form-interp", Input).value, "interpretability confidence"
            ),
            hypothesis_confidence=_number(
                self.query_one("#form-hyp", Input).value, "hypothesis confidence"
            ),
        )
        try:
            return edit.checked(self.categories)
        except ValidationError as exc:  # named as the form names it
            field = exc.field or ""
            raise exc.renamed(field.replace("_", " ")) from None

    def set_hint(self, hint: str | Text) -> None:
        self._set("#form-hint", hint)

    def _set(self, selector: str, text: str | Text) -> None:
        """Update a line under the fields; an empty one takes no room."""
        line = self.query_one(selector, Static)
        line.update(text)
        line.display = bool(text.plain if isinstance(text, Text) else text)

    def set_warnings(self, warnings: list[LintWarning]) -> None:
        """The label lint's warnings for the label as typed (they never block a save)."""
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, warning in enumerate(warnings):
            text.append("\n" if i else "")
            text.append(f"⚠ {warning.message}")
        self._set("#form-lint", text)
        full = "\n".join(f"⚠ {warning.message}" for warning in warnings)
        self.query_one("#form-lint", Static).tooltip = full or None

    @property
    def warnings_shown(self) -> str:
        return str(self.query_one("#form-lint", Static).render())

    def set_hypothesis(self, expression: str, score: float | None, stored: bool) -> None:
        """The hypothesis a save stores with the label (from the examples view's box);
        ``stored``: it is the label's own already."""
        text = Text(no_wrap=True, overflow="ellipsis")
        if expression:
            text.append("hypothesis ", style="bold")
            text.append(expression)
            if score is not None:
                text.append(f" · score {score:.3f}")
            text.append(" (stored)" if stored else " (saved with the label)", style="italic")
        self._set("#form-hypothesis", text)

    def focus_name(self) -> None:
        self.query_one("#form-name", Input).focus()

    # --- change tracking -------------------------------------------------------------------------
    def raw(self) -> dict[str, str]:
        """Every field as typed (drafts are kept in this form)."""
        select = self.query_one("#form-category", Select)
        return {
            "#form-name": self.query_one("#form-name", Input).value,
            "#form-category": "" if select.is_blank() else str(select.value),
            "#form-interp": self.query_one("#form-interp", Input).value,
            "#form-hyp": self.query_one("#form-hyp", Input).value,
            "#form-notes": self.query_one("#form-notes", TextArea).text,
        }

    @property
    def read_since(self) -> str:
        """The ``if_unchanged_since`` of a save from this form: the ``last_updated`` of the
        label it was filled from (NO_LABEL when there was none). A draft keeps its own."""
        if self._record is None:
            return NO_LABEL
        return self._record.last_updated or ""

    @property
    def base(self) -> LabelRecord | None:
        """The stored label the form was filled from."""
        return self._record

    def restore(self, raw: dict[str, str], base: LabelRecord | None = None) -> None:
        """Put a draft back (it stays dirty: it differs from the saved label); ``base`` is the
        label it was written against (a save then checks that it is still the stored one)."""
        self._record = base
        for wid, value in raw.items():
            widget = self.query_one(wid)
            if isinstance(widget, TextArea):
                widget.text = value
            elif isinstance(widget, Input):
                widget.value = value
            elif isinstance(widget, Select):
                if value in self.categories:
                    widget.value = value
                else:
                    widget.clear()

    @property
    def dirty(self) -> bool:
        """True when a field differs from the label last filled in (unsaved edits)."""
        return self.feature_id is not None and self.raw() != self._filled

    def mark_saved(self) -> dict[str, str]:
        """The fields as typed now count as saved; returns what counted before (see
        :meth:`unmark`)."""
        before, self._filled = self._filled, self.raw()
        return before

    def unmark(self, before: dict[str, str]) -> None:
        """Undo :meth:`mark_saved` (the save failed: the edits are unsaved again)."""
        self._filled = before

    def show_edit(self, edit: LabelEdit) -> None:
        """Put a label into the fields (a merge of two versions; left unsaved)."""
        self.restore(
            {
                "#form-name": edit.name,
                "#form-category": edit.category or "",
                "#form-interp": _shown(edit.interpretability_confidence),
                "#form-hyp": _shown(edit.hypothesis_confidence),
                "#form-notes": edit.notes or "",
            },
            self._record,
        )

    def on_key(self, event: events.Key) -> None:
        """Printable keys never reach the workbench's hotkeys from inside the form: Input and
        TextArea consume them, and here they stop for the category Select too (``q`` on a
        focused Select must not quit)."""
        if event.is_printable:
            event.stop()
            event.prevent_default()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "form-name" and event.value != self._filled.get("#form-name"):
            self.post_message(self.NameChanged(event.value))
        self._edited()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._edited()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._edited()

    def _edited(self) -> None:
        if self.feature_id is not None:
            self.post_message(self.Edited())


def suggestions_text(
    suggestions: tuple[Suggestion, ...], chosen: Suggestion | None = None, shown: int = 3
) -> Text:
    """``suggested (ctrl+g): 1 text · source · 0.83`` lines; the one copied is marked."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if not suggestions:
        return text
    text.append(f"{len(suggestions)} suggested (ctrl+g copies)", style="dim")
    for i, s in enumerate(suggestions[:shown], 1):
        text.append("\n")
        text.append("▶ " if s == chosen else "  ", style="bold")
        text.append(f"{i} ", style="dim")
        text.append(visible_piece(s.text), style="italic")
        score = f" · {s.score:.2f}" if s.score is not None else ""
        text.append(f" · {visible_piece(s.source)}{score}", style="dim")
    return text


def _shown(value: float | None) -> str:
    return "" if value is None else f"{float(value):g}"


def coverage_hint(coverage: dict[str, Any]) -> Text:
    """``"swim_speed_up" is in 72% of core examples: headline``, coloured by verdict."""
    verdict = str(coverage.get("verdict", ""))
    colour = {"headline": "green", "mention": "yellow", "tail_marker": "red"}.get(verdict, "")
    text = Text("core coverage: ")
    text.append(f"{visible(str(coverage.get('subject')))} ", style="bold")
    pct = coverage.get("core_coverage")
    text.append(f"in {float(pct or 0):.0f}% of core examples " if pct is not None else "")
    text.append(f"({coverage.get('core_with', '?')}/{coverage.get('core_count', '?')}) ")
    text.append(verdict, style=f"bold {colour}".strip())
    return text
