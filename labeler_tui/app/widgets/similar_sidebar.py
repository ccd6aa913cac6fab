"""Similar features of the one on screen: similarity, label, and the method in use."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from labeler_tui.core.config import SIMILAR_METHODS


class SimilarSidebar(Vertical):
    """A short list (top k); enter opens a neighbour, ``a``/``A`` queue it/them."""

    DEFAULT_CSS = """
    SimilarSidebar { height: 1fr; }
    SimilarSidebar #similar-title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    SimilarSidebar OptionList { height: 1fr; border: none; padding: 0; }
    """

    def __init__(self, method: str = "decoder", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.method = method if method in SIMILAR_METHODS else SIMILAR_METHODS[0]
        self.feature_id: int | None = None
        self.rows: list[tuple[int, float, str | None]] = []

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="similar-title")
        yield OptionList(id="similar-list")

    def _title(self, note: str = "") -> Text:
        text = Text("Similar · ")
        text.append(self.method, style="bold")
        if note:
            text.append(f" {note}", style="dim")
        return text

    def next_method(self) -> str:
        i = SIMILAR_METHODS.index(self.method)
        self.method = SIMILAR_METHODS[(i + 1) % len(SIMILAR_METHODS)]
        self.query_one("#similar-title", Static).update(self._title("…"))
        return self.method

    def show_loading(self, feature_id: int) -> None:
        self.feature_id = feature_id
        self.query_one("#similar-title", Static).update(self._title("…"))

    def clear(self) -> None:
        """Nothing on screen (another model, no feature yet)."""
        self.feature_id, self.rows = None, []
        self.query_one("#similar-title", Static).update(self._title())
        self.query_one(OptionList).clear_options()

    def show_error(self, message: str) -> None:
        self.rows = []
        self.query_one("#similar-title", Static).update(self._title())
        option_list = self.query_one(OptionList)
        option_list.clear_options()
        option_list.add_option(Option(Text(message, style="red"), disabled=True))

    def show(self, feature_id: int, method: str, rows: list[tuple[int, float, str | None]]) -> None:
        self.feature_id, self.method, self.rows = feature_id, method, rows
        self.query_one("#similar-title", Static).update(self._title(f"of {feature_id}"))
        option_list = self.query_one(OptionList)
        option_list.clear_options()
        for fid, sim, name in rows:
            text = Text(f"{fid:>6} ")
            text.append(f"{sim:5.2f} ", style="bold")
            text.append(name or "·", style="cyan" if name else "dim")
            option_list.add_option(Option(text, id=str(fid)))
        if rows:
            option_list.highlighted = 0

    @property
    def highlighted_feature(self) -> int | None:
        option_list = self.query_one(OptionList)
        index = option_list.highlighted
        if index is None or not self.rows or index >= len(self.rows):
            return None
        return self.rows[index][0]

    @property
    def shown_features(self) -> list[int]:
        return [fid for fid, _, _ in self.rows]
