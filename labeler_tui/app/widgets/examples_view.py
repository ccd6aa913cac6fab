"""The examples view: a feature's examples per region, and a hypothesis box that tests an
expression as you type and filters the examples to those that match (or do not).

The view runs its own jobs (:class:`~labeler_tui.app.jobs.Jobs`): one evaluation at a time, a
newer one (typing, another region) cancelling the stale one; a job returns
:class:`EvidenceLoaded` and only the handler here touches the widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import Worker

from labeler_tui.app.jobs import Job, Jobs
from labeler_tui.app.widgets.context_text import contexts_heading, contexts_text
from labeler_tui.app.widgets.evidence_text import (
    REGION_ORDER,
    SAMPLED_BY_DEFAULT,
    examples_heading,
    examples_text,
    expression_error_text,
    hypothesis_text,
    region_tabs,
)
from labeler_tui.core.evidence.contexts import Context, ContextsResult
from labeler_tui.core.evidence.examples import ExamplesResult
from labeler_tui.core.evidence.hypothesis import HypothesisResult
from labeler_tui.core.evidence.syntax import ExpressionError
from labeler_tui.core.sanitize import visible

if TYPE_CHECKING:
    from labeler_tui.app.backend import Backend

EXAMPLES_K = 30
"""Examples shown per region (the list scrolls)."""
TYPING_PAUSE = 0.04
"""Seconds of quiet typing before an expression is evaluated."""
KEYS_HINT = "[ ] region · o top/sample · h hypothesis · ctrl+t (not) matching · x overview"
SEQUENCE_PLACEHOLDER = "hypothesis: e.g. context:Copyright AND NOT token:,"
CONTEXT_KEYS_HINT = (
    "j/k context · w whole sequence · [ ] region · o top/sample · h hypothesis · x overview"
)


@dataclass(frozen=True)
class EvidenceRequest:
    """What the view wants shown: a feature's region, in an order, filtered by an expression."""

    feature_id: int
    region: str
    sample: bool
    expression: str
    match: bool


class EvidenceLoaded(Message, bubble=False):
    """A request evaluated: the expression's figures (or why it failed) and the examples
    (None: keep the ones shown, the expression did not compile)."""

    def __init__(
        self,
        request: EvidenceRequest,
        hypothesis: HypothesisResult | None,
        error: ExpressionError | None,
        examples: ExamplesResult | ContextsResult | None,
    ) -> None:
        super().__init__()
        self.request = request
        self.hypothesis = hypothesis
        self.error = error
        self.examples = examples


def load_evidence(backend: Backend, request: EvidenceRequest) -> EvidenceLoaded:
    """Job: test the expression (when there is one) and read the region's examples filtered
    by it; a bad expression leaves the examples as they are."""
    hypothesis = error = None
    expression = request.expression.strip()
    if expression:
        try:
            hypothesis = backend.hypothesis(request.feature_id, expression)
        except ExpressionError as exc:
            return EvidenceLoaded(request, None, exc, None)
    read = backend.contexts if backend.is_sequence else backend.examples
    examples = read(
        request.feature_id,
        request.region,
        EXAMPLES_K,
        sample=request.sample,
        where=expression or None,
        match=request.match,
    )
    return EvidenceLoaded(request, hypothesis, error, examples)


class ExampleLines(VerticalScroll, can_focus=True):
    """The examples, one per line; scrolls with j/k (the workbench moves it) and the arrows."""

    DEFAULT_CSS = """
    ExampleLines { height: 1fr; }
    ExampleLines:focus { background: $boost; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="examples-lines")

    def show(self, text: Text) -> None:
        self.query_one("#examples-lines", Static).update(text)


class ExamplesView(Vertical):
    """Examples of the feature on screen, a region at a time, with the hypothesis box."""

    class Tested(Message):
        """The box's expression was tested on a feature (``result`` None: no expression, or
        it failed); the workbench shows it in the label form."""

        def __init__(self, feature_id: int, result: HypothesisResult | None) -> None:
            super().__init__()
            self.feature_id = feature_id
            self.result = result

    DEFAULT_CSS = """
    ExamplesView { height: 1fr; padding: 0 1; }
    ExamplesView Static { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    ExamplesView #examples-tabs { color: $text-muted; }
    ExamplesView #hypothesis { margin: 0; }
    ExamplesView #hypothesis-result { min-height: 1; }
    ExamplesView #examples-keys { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.jobs = Jobs(self)
        self.backend: Backend | None = None
        self.feature_id: int | None = None
        self.zone = "core"
        """The region whose examples are shown (``top`` or a region name)."""
        self.sample: bool | None = None
        """Top k or a seeded sample (None: the region's default)."""
        self.match = True
        self.hypothesis: HypothesisResult | None = None
        """The box's expression as last tested on the feature (None: none, or it failed)."""
        self.examples: ExamplesResult | ContextsResult | None = None
        self.cursor = 0
        """The context under the cursor (sequence models: j/k move it, w opens its sequence)."""
        self.drawn_for: str | None = None
        """The expression whose figures (or error) are on screen now."""
        self._pending: Timer | None = None
        self._loading: Worker[None] | None = None

    def compose(self) -> ComposeResult:
        yield Static(region_tabs(self.zone), id="examples-tabs")
        yield Input(
            placeholder="hypothesis: e.g. respawn_punisher AND NOT weapon=bloblobber",
            id="hypothesis",
            compact=True,
        )
        yield Static("", id="hypothesis-result")
        yield Static("", id="examples-heading")
        yield ExampleLines(id="examples-list")
        yield Static(Text(KEYS_HINT, no_wrap=True, overflow="ellipsis"), id="examples-keys")

    # --- what is shown ---------------------------------------------------------------------------
    @property
    def expression(self) -> str:
        return self.query_one("#hypothesis", Input).value.strip()

    @property
    def sampled(self) -> bool:
        return self.zone in SAMPLED_BY_DEFAULT if self.sample is None else self.sample

    def attach(self, backend: Backend) -> None:
        """The model whose features are shown (a new model: nothing shown yet)."""
        self.backend = backend
        self.feature_id = None
        self.hypothesis = self.examples = None

    def show_feature(self, feature_id: int, expression: str | None) -> None:
        """Another feature: its stored hypothesis (if any) goes into the box; loaded when the
        view is on screen."""
        if feature_id == self.feature_id:
            return
        self.feature_id = feature_id
        self.hypothesis = self.examples = None
        self.query_one("#hypothesis", Input).value = expression or ""
        self.query_one("#hypothesis-result", Static).update("")
        self.query_one("#examples-heading", Static).update("")
        self.query_one(ExampleLines).show(Text("loading…", style="dim"))
        self.query_one(ExampleLines).scroll_home(animate=False)
        self.load()

    def load(self) -> None:
        """Evaluate what the view wants shown now (only while it is on screen)."""
        if self._pending is not None:
            self._pending.stop()
            self._pending = None
        if self.backend is None or self.feature_id is None or not self.is_on_screen:
            return
        request = EvidenceRequest(
            self.feature_id, self.zone, self.sampled, self.expression, self.match
        )
        what = f"Examples of feature {self.feature_id}"
        job = Job(what, self.feature_id, "examples")
        self._loading = self.jobs.start(partial(load_evidence, self.backend, request), job, "ev")

    @property
    def is_on_screen(self) -> bool:
        return self.display and self.parent is not None and self.parent.display

    # --- changes asked for by keys ---------------------------------------------------------------
    def step_region(self, step: int) -> None:
        i = REGION_ORDER.index(self.zone) if self.zone in REGION_ORDER else 0
        self.zone = REGION_ORDER[(i + step) % len(REGION_ORDER)]
        self.sample = None
        self.query_one("#examples-tabs", Static).update(region_tabs(self.zone))
        self.load()

    def toggle_order(self) -> None:
        self.sample = not self.sampled
        self.load()

    def toggle_match(self) -> None:
        self.match = not self.match
        self.load()

    def focus_box(self) -> None:
        self.query_one("#hypothesis", Input).focus()

    def focus_list(self) -> None:
        self.query_one(ExampleLines).focus()

    def hypothesis_for_save(self, stored: str | None) -> str | None:
        """The ``hypothesis_expression`` a save should send: the box's expression when it
        differs from the stored one (``""`` clears it), else None (keep the stored one)."""
        expression = self.expression
        return None if expression == (stored or "").strip() else expression

    # --- events ----------------------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._pending is not None:
            self._pending.stop()
        self._pending = self.set_timer(TYPING_PAUSE, self.load)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.load()
        self.focus_list()

    def on_evidence_loaded(self, message: EvidenceLoaded) -> None:
        request = message.request
        if request.feature_id != self.feature_id or request.expression != self.expression:
            return  # typed on meanwhile: a newer evaluation follows
        result = self.query_one("#hypothesis-result", Static)
        if message.error is not None:
            self.hypothesis = None
            result.update(expression_error_text(message.error))
        else:
            self.hypothesis = message.hypothesis
            result.update(hypothesis_text(message.hypothesis) if message.hypothesis else "")
        if message.examples is not None:
            self.examples = message.examples
            self.cursor = 0
            self.query_one(ExampleLines).scroll_home(animate=False)
            self._draw_examples()
        self.drawn_for = request.expression
        self.post_message(self.Tested(request.feature_id, self.hypothesis))

    def _draw_examples(self) -> None:
        examples = self.examples
        if examples is None:
            return
        keys = self.query_one("#examples-keys", Static)
        if isinstance(examples, ContextsResult):
            self.query_one("#hypothesis", Input).placeholder = SEQUENCE_PLACEHOLDER
            lines = self.query_one(ExampleLines)
            width = max(40, lines.size.width - 3)  # the scrollbar
            self.query_one("#examples-heading", Static).update(contexts_heading(examples))
            lines.show(contexts_text(examples, width, self.cursor))
            keys.update(Text(CONTEXT_KEYS_HINT, no_wrap=True, overflow="ellipsis"))
        else:
            self.query_one("#examples-heading", Static).update(examples_heading(examples))
            self.query_one(ExampleLines).show(examples_text(examples))
            keys.update(Text(KEYS_HINT, no_wrap=True, overflow="ellipsis"))

    @property
    def has_contexts(self) -> bool:
        return isinstance(self.examples, ContextsResult) and bool(self.examples.contexts)

    def move_cursor(self, step: int) -> None:
        """The next (previous) context, scrolled into view."""
        if not isinstance(self.examples, ContextsResult) or not self.examples.contexts:
            return
        self.cursor = max(0, min(len(self.examples.contexts) - 1, self.cursor + step))
        self._draw_examples()
        lines = self.query_one(ExampleLines)
        height = max(1, lines.size.height)
        if self.cursor < lines.scroll_y:
            lines.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= lines.scroll_y + height:
            lines.scroll_to(y=self.cursor - height + 1, animate=False)

    @property
    def current_context(self) -> Context | None:
        if not isinstance(self.examples, ContextsResult) or not self.examples.contexts:
            return None
        return self.examples.contexts[min(self.cursor, len(self.examples.contexts) - 1)]

    def on_resize(self) -> None:
        if isinstance(self.examples, ContextsResult):
            self._draw_examples()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = self.jobs.failure(event)
        if failure is not None and failure.job.feature_id == self.feature_id:
            self.query_one("#hypothesis-result", Static).update(
                Text(visible(failure.message), style="bold red")
            )
