"""A virtual list of queue rows: renders only the visible lines (Line API), like toolong's LogLines.

A DataTable measures every cell on first paint, which takes seconds for 24,576 rows; this list
costs the same for 20 rows or 200,000 because ``render_line`` only builds the lines on screen.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from labeler_tui.core.sanitize import visible


class QueueRow(NamedTuple):
    """One line of the list: a pending entry, or a completed/skipped feature.

    A tuple of plain values, so the garbage collector stops tracking it: 24,576 tracked row
    objects made every full collection (and the keypress it lands on) tens of ms slower."""

    feature_id: int
    priority: float | None = None
    reason: str | None = None
    claimed_by: str | None = None
    mine: bool = False
    """Claimed by this app's owner."""
    mark: str = ""
    """The state mark shown before the text (default: ◆ mine, ● claimed by another)."""
    dim: bool = False
    """The text is a description, not a name (an unlabeled neighbour's families)."""

    @property
    def search_text(self) -> str:
        return f"{self.feature_id} {self.reason or ''} {self.claimed_by or ''}".lower()


class QueueList(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows with a cursor; posts Highlighted when the cursor moves and Selected on open."""

    BINDINGS = [
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
    ]

    COMPONENT_CLASSES = {
        "queue-list--cursor",
        "queue-list--claimed",
        "queue-list--mine",
        "queue-list--dim",
    }

    DEFAULT_CSS = """
    QueueList {
        height: 1fr;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    QueueList > .queue-list--cursor { background: $accent 30%; text-style: bold; }
    QueueList:focus > .queue-list--cursor { background: $accent; color: $text; }
    QueueList > .queue-list--claimed { color: $warning; }
    QueueList > .queue-list--mine { color: $success; }
    QueueList > .queue-list--dim { color: $text-muted; }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        def __init__(self, queue_list: QueueList, feature_id: int | None) -> None:
            super().__init__()
            self.queue_list = queue_list
            self.feature_id = feature_id

        @property
        def control(self) -> QueueList:
            """The list that sent it (``@on(..., "#id")`` matches on it)."""
            return self.queue_list

    class Selected(Message):
        def __init__(self, queue_list: QueueList, feature_id: int) -> None:
            super().__init__()
            self.queue_list = queue_list
            self.feature_id = feature_id

        @property
        def control(self) -> QueueList:
            """The list that sent it (``@on(..., "#id")`` matches on it)."""
            return self.queue_list

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: list[QueueRow] = []
        self._visible: list[int] = []  # indices into _rows after the filter
        self._filter = ""
        self._cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self.empty_text = "(empty)"
        self._announced: int | None = None
        self._silent = False

    # --- data ------------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._visible)

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def highlighted(self) -> QueueRow | None:
        if 0 <= self.cursor < len(self._visible):
            return self._rows[self._visible[self.cursor]]
        return None

    def visible_rows(self) -> list[QueueRow]:
        """The rows after the filter (for tests and the palette)."""
        return [self._rows[i] for i in self._visible]

    def set_rows(self, rows: list[QueueRow], keep_feature: int | None = None) -> None:
        """Replace the rows, keeping the cursor on ``keep_feature`` (default: the highlighted one)."""
        current = self.highlighted
        if keep_feature is None and current is not None:
            keep_feature = current.feature_id
        self._rows = rows
        self._apply_filter(keep_feature)

    def set_filter(self, text: str) -> None:
        current = self.highlighted
        self._filter = text.strip().lower()
        self._apply_filter(current.feature_id if current else None)

    def _apply_filter(self, keep_feature: int | None) -> None:
        needle = self._filter
        if needle:
            self._visible = [i for i, row in enumerate(self._rows) if needle in row.search_text]
        else:
            self._visible = list(range(len(self._rows)))
        self._cache.clear()
        self.virtual_size = Size(self.size.width, len(self._visible))
        index = 0
        if keep_feature is not None:
            for pos, i in enumerate(self._visible):
                if self._rows[i].feature_id == keep_feature:
                    index = pos
                    break
        self._silent = True  # new rows or a filter move the cursor; only the user opens features
        try:
            self.cursor = min(index, max(0, len(self._visible) - 1))
        finally:
            self._silent = False
        self.refresh()

    # --- cursor ----------------------------------------------------------------------------------
    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, max(0, len(self._visible) - 1)))

    def watch_cursor(self, old: int, new: int) -> None:
        # the cache key holds "is the cursor row", so only the two changed lines repaint
        self.scroll_to_region_if_needed(new)
        self.refresh_lines(old)
        self.refresh_lines(new)
        row = self.highlighted
        feature_id = row.feature_id if row else None
        if feature_id != self._announced:
            self._announced = feature_id
            if not self._silent:
                self.post_message(self.Highlighted(self, feature_id))

    def scroll_to_region_if_needed(self, index: int) -> None:
        height = self.scrollable_content_region.height or 1
        top = int(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False)

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_page_down(self) -> None:
        self.cursor += max(1, self.scrollable_content_region.height - 1)

    def action_page_up(self) -> None:
        self.cursor -= max(1, self.scrollable_content_region.height - 1)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self._visible) - 1

    def action_select(self) -> None:
        row = self.highlighted
        if row is not None:
            self.post_message(self.Selected(self, row.feature_id))

    def select_feature(self, feature_id: int, announce: bool = True) -> bool:
        """Move the cursor to a feature if it is visible; True if found."""
        for pos, i in enumerate(self._visible):
            if self._rows[i].feature_id == feature_id:
                self._silent = not announce
                try:
                    self.cursor = pos
                finally:
                    self._silent = False
                return True
        return False

    async def _on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y
        if 0 <= index < len(self._visible):
            self.cursor = index
            self.action_select()

    # --- rendering -------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._restyle, init=False)

    def _restyle(self) -> None:
        """Another theme: the cached lines hold the old colours (the lists stayed dark)."""
        self._cache.clear()
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._visible))
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        index = int(self.scroll_y) + y
        key = (index, width, index == self.cursor, self.has_focus)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        base = self.rich_style
        if index >= len(self._visible):
            if index == 0 and not self._visible:
                dim = self.get_component_rich_style("queue-list--dim")
                text = visible(self.empty_text)[:width].ljust(width)
                return Strip([Segment(text, base + dim)], width)
            return Strip.blank(width, base)
        row = self._rows[self._visible[index]]
        strip = Strip(self._segments(row, width, base, index == self.cursor), width)
        self._cache[key] = strip
        return strip

    def _segments(self, row: QueueRow, width: int, base: Style, is_cursor: bool) -> list[Segment]:
        style = base
        if row.mine:
            style += self.get_component_rich_style("queue-list--mine")
        elif row.claimed_by:
            style += self.get_component_rich_style("queue-list--claimed")
        elif row.dim:
            style += self.get_component_rich_style("queue-list--dim")
        if is_cursor:
            style += self.get_component_rich_style("queue-list--cursor")
        prio = f"{row.priority:4.2f}" if row.priority is not None else "    "
        mark = row.mark or ("◆" if row.mine else ("●" if row.claimed_by else " "))
        text = f"{row.feature_id:>6} {prio} {mark} {row.reason or ''}"
        if row.claimed_by and not row.mine:
            text += f" [{row.claimed_by}]"
        text = visible(text)[:width].ljust(width)  # user text: control characters shown
        return [Segment(text, style)]
