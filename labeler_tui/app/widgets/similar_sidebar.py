"""Similar features of the one on screen: similarity, label, and the method in use."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from labeler_tui.app.widgets.queue_list import QueueList, QueueRow
from labeler_tui.core.evidence.neighbours import Neighbour
from labeler_tui.core.registry import SIMILARITY_METHODS

STATE_MARKS = {"pending": "•", "claimed": "●", "completed": "✓", "skipped": "×"}
"""A neighbour's queue state, before its label (none: not in the queue)."""


def neighbour_row(neighbour: Neighbour, owner: str) -> QueueRow:
    """A neighbour as a list row: similarity, state mark, its label or (dim) its core
    families, and who holds it."""
    if neighbour.label is not None:
        text, dim = neighbour.label, False
    else:
        families = ", ".join(neighbour.core_families or ()) or "no activations"
        text, dim = f"~ {families}", True
    holder = neighbour.claimed_by if neighbour.queue == "claimed" else None
    mine = holder is not None and holder == owner
    mark = "◆" if mine else STATE_MARKS.get(neighbour.queue or "", " ")
    return QueueRow(
        neighbour.feature_id, neighbour.similarity, text, holder, mine, mark=mark, dim=dim
    )


class SimilarSidebar(Vertical):
    """A short list (top k); enter opens a neighbour, ``a``/``A`` queue it/them.

    The list is a :class:`QueueList` (the Line API list of the queue pane): the similarity sits
    in the priority column, the queue state in the mark (• pending, ● claimed, ◆ yours,
    ✓ completed, × skipped) and the neighbour's label, or its core families (dim), in the reason
    column. It repaints in a fraction of the time an OptionList takes on every feature change."""

    DEFAULT_CSS = """
    SimilarSidebar { height: 1fr; }
    SimilarSidebar #similar-title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    """

    def __init__(
        self, method: str | None = None, owner: str = "", *, id: str | None = None
    ) -> None:
        """``method``: the one to show first (None: the model's default, once it is known);
        ``owner``: whose claims are "yours"."""
        super().__init__(id=id)
        self.methods: tuple[str, ...] = SIMILARITY_METHODS.names()
        self.method: str | None = method if method in self.methods else None
        self.owner = owner
        self.feature_id: int | None = None
        self.rows: list[Neighbour] = []

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="similar-title")
        yield QueueList(id="similar-list")

    def on_mount(self) -> None:
        self.query_one(QueueList).empty_text = ""

    def _title(self, note: str = "") -> Text:
        text = Text("Similar · ", no_wrap=True, overflow="ellipsis")
        text.append(self.method or "…", style="bold")
        if note:
            text.append(f" {note}", style="dim")
        return text

    def set_methods(self, methods: tuple[str, ...]) -> None:
        """The methods the model can use, its default first; the method shown stays when the
        model can use it."""
        self.methods = methods
        if self.method not in methods:
            self.method = methods[0]
        self.query_one("#similar-title", Static).update(self._title())

    def next_method(self) -> str:
        i = self.methods.index(self.method) if self.method in self.methods else -1
        self.method = self.methods[(i + 1) % len(self.methods)]
        self.query_one("#similar-title", Static).update(self._title("…"))
        return self.method

    def show_loading(self, feature_id: int) -> None:
        self.feature_id = feature_id
        self.query_one("#similar-title", Static).update(self._title("…"))

    def show_progress(self, note: str) -> None:
        """The one-time table build of the method, e.g. ``building 35%``."""
        self.query_one("#similar-title", Static).update(self._title(note))

    def clear(self) -> None:
        """Nothing on screen (another model, no feature yet)."""
        self.feature_id, self.rows = None, []
        self.query_one("#similar-title", Static).update(self._title())
        similar_list = self.query_one(QueueList)
        similar_list.empty_text = ""
        similar_list.set_rows([])

    def show_error(self, message: str) -> None:
        self.rows = []
        self.query_one("#similar-title", Static).update(self._title())
        similar_list = self.query_one(QueueList)
        similar_list.empty_text = message
        similar_list.set_rows([])

    def show(self, feature_id: int, method: str, rows: list[Neighbour]) -> None:
        self.feature_id, self.method, self.rows = feature_id, method, rows
        self.query_one("#similar-title", Static).update(self._title(f"of {feature_id}"))
        similar_list = self.query_one(QueueList)
        similar_list.empty_text = "no similar feature"
        similar_list.set_rows([neighbour_row(n, self.owner) for n in rows], keep_feature=-1)

    def refresh_rows(self, feature_id: int, method: str, rows: list[Neighbour]) -> None:
        """The same neighbours with labels and queue states as stored now (another process
        labeled or queued one); the highlight stays where it was."""
        if feature_id != self.feature_id or method != self.method or rows == self.rows:
            return
        self.rows = rows
        self.query_one(QueueList).set_rows([neighbour_row(n, self.owner) for n in rows])

    @property
    def pairs(self) -> list[tuple[int, float]]:
        """(feature id, similarity) of the neighbours shown."""
        return [(n.feature_id, n.similarity) for n in self.rows]

    @property
    def highlighted_feature(self) -> int | None:
        row = self.query_one(QueueList).highlighted
        return row.feature_id if row is not None else None

    @property
    def shown_features(self) -> list[int]:
        return [n.feature_id for n in self.rows]
