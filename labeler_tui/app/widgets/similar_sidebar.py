"""Similar features of the one on screen: similarity, label, and the method in use."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from labeler_tui.app.widgets.queue_list import QueueList, QueueRow
from labeler_tui.core.registry import SIMILARITY_METHODS


class SimilarSidebar(Vertical):
    """A short list (top k); enter opens a neighbour, ``a``/``A`` queue it/them.

    The list is a :class:`QueueList` (the Line API list of the queue pane): the similarity sits
    in the priority column and the neighbour's label in the reason column. It repaints in a
    fraction of the time an OptionList takes on every feature change."""

    DEFAULT_CSS = """
    SimilarSidebar { height: 1fr; }
    SimilarSidebar #similar-title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    """

    def __init__(self, method: str | None = None, *, id: str | None = None) -> None:
        """``method``: the one to show first (None: the model's default, once it is known)."""
        super().__init__(id=id)
        self.methods: tuple[str, ...] = SIMILARITY_METHODS.names()
        self.method: str | None = method if method in self.methods else None
        self.feature_id: int | None = None
        self.rows: list[tuple[int, float, str | None]] = []

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

    def show(self, feature_id: int, method: str, rows: list[tuple[int, float, str | None]]) -> None:
        self.feature_id, self.method, self.rows = feature_id, method, rows
        self.query_one("#similar-title", Static).update(self._title(f"of {feature_id}"))
        similar_list = self.query_one(QueueList)
        similar_list.empty_text = "no similar feature"
        similar_list.set_rows(
            [QueueRow(fid, sim, name or "·") for fid, sim, name in rows], keep_feature=-1
        )

    def rename(self, name_of: Callable[[int], str | None]) -> None:
        """Show the neighbours' labels as stored now (another process labeled one)."""
        rows = [(fid, sim, name_of(fid)) for fid, sim, _ in self.rows]
        if rows != self.rows and self.feature_id is not None:
            self.show(self.feature_id, self.method or "", rows)

    @property
    def highlighted_feature(self) -> int | None:
        row = self.query_one(QueueList).highlighted
        return row.feature_id if row is not None else None

    @property
    def shown_features(self) -> list[int]:
        return [fid for fid, _, _ in self.rows]
