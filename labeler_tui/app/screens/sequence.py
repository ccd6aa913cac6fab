"""The whole sequence of a context (sequence models): every token shaded by the feature's
activation on it, the context's own token in reverse video. ``w`` on a context opens it;
escape, ``q`` or ``w`` close it; j/k and the page keys scroll."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from labeler_tui.app.widgets.context_text import sequence_heading, sequence_text
from labeler_tui.core.data.tokenizer import visible_piece
from labeler_tui.core.errors import LabelerError

if TYPE_CHECKING:
    from labeler_tui.app.backend import Backend
    from labeler_tui.core.evidence.contexts import SequenceActivations


class SequenceScreen(ModalScreen[None]):
    """One sequence of one feature, read in a worker."""

    DEFAULT_CSS = """
    SequenceScreen { align: center middle; background: $background 60%; }
    SequenceScreen > #sequence-dialog {
        width: 100%; height: 100%; max-width: 120;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    SequenceScreen #sequence-heading { height: 1; text-style: bold; }
    SequenceScreen #sequence-body { height: 1fr; }
    SequenceScreen #sequence-keys { height: 1; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,w", "close", "Close"),
        Binding("j,down", "scroll(1)", "Down", show=False),
        Binding("k,up", "scroll(-1)", "Up", show=False),
    ]

    def __init__(self, backend: Backend, feature_id: int, seq: int, pos: int | None) -> None:
        super().__init__()
        self.backend = backend
        self.feature_id = feature_id
        self.seq = seq
        self.pos = pos
        self.sequence: SequenceActivations | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="sequence-dialog"):
            yield Static(
                Text(f"feature {self.feature_id} · sequence {self.seq} · loading…"),
                id="sequence-heading",
            )
            with VerticalScroll(id="sequence-body"):
                yield Static("", id="sequence-text")
            yield Static(
                "shaded by the activation on each token · reversed: the context's token · "
                "j/k scroll · escape closes",
                id="sequence-keys",
            )

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="sequence")
    def load(self) -> None:
        try:
            sequence = self.backend.sequence(self.feature_id, self.seq)
        except LabelerError as exc:
            message = visible_piece(str(exc))
            self.app.call_from_thread(self._failed, message)
            return
        self.app.call_from_thread(self._show, sequence)

    def _show(self, sequence: SequenceActivations) -> None:
        self.sequence = sequence
        self.query_one("#sequence-heading", Static).update(sequence_heading(sequence, self.pos))
        self.query_one("#sequence-text", Static).update(sequence_text(sequence, self.pos))
        if self.pos is not None:  # the context's token in view (about: lines wrap at words)
            body = self.query_one("#sequence-body", VerticalScroll)
            before = sequence_text(sequence, None).plain
            shown = sum(
                len((sequence.separator if i else "") + visible_piece(t))
                for i, t in enumerate(sequence.tokens[: self.pos])
            )
            line = min(shown, len(before)) // max(1, body.size.width)
            body.scroll_to(y=max(0, line - 2), animate=False)

    def _failed(self, message: str) -> None:
        self.query_one("#sequence-heading", Static).update(Text(message, style="bold red"))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, step: int) -> None:
        body = self.query_one("#sequence-body", VerticalScroll)
        (body.scroll_down if step > 0 else body.scroll_up)(animate=False)
