"""The feature-detail pane: summary figures, current label, red flags, output effects, the
histogram and the region table.

Everything shown comes from one overview (``labeler overview --json``) and the label record."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from labeler_tui.app.widgets.histogram import Canvas, RegionHistogram, Rendered
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.sanitize import visible
from labeler_tui.core.timestamps import shown


def _fmt(value: Any, spec: str = ".2f", missing: str = "-") -> str:
    if value is None:
        return missing
    try:
        return format(float(value), spec)
    except (TypeError, ValueError):
        return str(value)


def summary_text(overview: dict[str, Any]) -> Text:
    """Id, nonzero count, effective max, importance percentile, stability, quadrant."""
    text = Text()
    text.append(f"Feature {overview.get('feature_id')}", style="bold")
    text.append(f" · {int(overview.get('n_nonzero') or 0):,} nonzero")
    text.append(f" · eff. max {_fmt(overview.get('effective_max'), '.3g')}")
    text.append(f" · importance {_fmt(overview.get('importance_percentile'), '.1f')} pct")
    text.append(f" · stability {_fmt(overview.get('stability_score'))}")
    quadrant = overview.get("quadrant")
    if quadrant:
        text.append(" · ")
        text.append(str(quadrant), style="italic")
    return text


ROW_INDENT = 11
"""Columns before a region row's values (``  tokens   ``)."""
MIN_ITEMS, MAX_ITEMS = 3, 12


def _items(items: list[dict[str, Any]] | None, key: str, width: int = 0) -> str:
    """``name share% xenrichment`` items, as many as fit in ``width`` columns (at least
    three, the rest cut with an ellipsis; width 0: three)."""
    out: list[str] = []
    used = 0
    for item in (items or [])[:MAX_ITEMS]:
        share = item.get("share")
        enr = item.get("enrichment")
        piece = visible(f"{item.get(key)}")
        if share is not None:
            piece += f" {100 * float(share):.0f}%"
        if enr is not None:
            piece += f" x{float(enr):.1f}"
        more = len(piece) + (2 if out else 0)
        if len(out) >= MIN_ITEMS and (not width or used + more > width):
            break
        out.append(piece)
        used += more
    return ", ".join(out)


def regions_text(overview: dict[str, Any], width: int = 0) -> Text:
    """One block per region: count and share, then its top tokens, families and metadata
    values (share of the region, enrichment over all nonzero examples), as many as ``width``
    columns hold. Plain lines, cheap to lay out: a rich Table re-measured on every feature
    cost more than the analysis."""
    regions = overview.get("regions") or []
    if not regions:
        return Text("No nonzero activations: no regions.", style="dim")
    text = Text(no_wrap=True, overflow="ellipsis")
    header = f"{'region':<15}{'(lo, hi]':<12}{'n':>7} {'%':>5}  top: share, enrichment\n"
    text.append(header, style="bold")
    for region in regions:
        name = str(region.get("name"))
        style = "bold" if name == "core" else ("magenta" if name == "flanderization" else "")
        lo, hi = region.get("lo"), region.get("hi")
        span = f"({_fmt(lo, 'g')}, {_fmt(hi, 'g')}]" if lo is not None else ""
        text.append(f"{name:<15}", style=style)
        count = int(region.get("count") or 0)
        share = 100 * float(region.get("share") or 0)
        text.append(f"{span:<12}", style="dim")
        text.append(f"{count:>7,} {share:>4.0f}%\n")
        room = max(0, width - ROW_INDENT)
        rows = [("tokens", _items(region.get("top_tokens"), "token", room))]
        rows.append(("family", _items(region.get("top_families"), "family", room)))
        for column, values in (region.get("metadata") or {}).items():
            rows.append((visible(column), _items(values, "value", room)))
        for label, items in rows:
            if items:
                text.append(f"  {label:<8} ", style="dim")
                text.append(items + "\n")
    text.rstrip()
    return text


_FLAG_FIGURES = (
    ("enrichment", lambda v: f"x{v:.1f} enriched"),
    ("top_share", lambda v: f"top-100 {100 * v:.0f}%"),
    ("zone_share", lambda v: f"90%+ zone {100 * v:.0f}%"),
    ("core_coverage", lambda v: f"core {v:.1f}%"),
)


def flags_text(overview: dict[str, Any]) -> Text:
    """Red flags highlighted, one line per subject (its kinds, then the figures behind them);
    general (every-region) values after them."""
    text = Text()
    by_subject: dict[str, tuple[list[str], dict[str, Any]]] = {}
    for flag in overview.get("flags") or []:
        kinds, figures = by_subject.setdefault(visible(str(flag.get("subject"))), ([], {}))
        kinds.append(str(flag.get("kind", "flag")).replace("_", "-"))
        figures.update({k: v for k, v in flag.items() if isinstance(v, int | float)})
    for subject, (kinds, figures) in by_subject.items():
        shown = [fmt(figures[k]) for k, fmt in _FLAG_FIGURES if figures.get(k) is not None]
        text.append("⚠ ", style="bold red")
        text.append(subject, style="bold red")
        text.append(f" {' + '.join(kinds)}", style="red")
        if shown:
            text.append(f"  {' · '.join(shown)}", style="red dim")
        text.append("\n")
    general = overview.get("general") or []
    if general:
        names = [
            visible(str(g.get("subject", g)) if isinstance(g, dict) else str(g)) for g in general
        ]
        text.append("general (every region): ", style="bold")
        text.append(", ".join(names[:4]))
        if len(names) > 4:
            text.append(f" +{len(names) - 4} more", style="dim")
        text.append("\n")
    if not text.plain:
        text.append("no red flags", style="green")
    text.rstrip()
    return text


EFFECTS_SHOWN = 6


def effects_text(overview: dict[str, Any]) -> Text:
    """What the feature writes to the model's output: the six outputs its decoder row promotes
    and suppresses most, with values (wrapped to the pane; empty without an output matrix)."""
    effects = overview.get("effects") or {}
    text = Text()
    for title, key, style in (
        ("promotes", "promoted", "green"),
        ("suppresses", "suppressed", "red"),
    ):
        items = effects.get(key) or []
        if not items:
            continue
        text.append("\n" if text.plain else "")
        text.append(f"{title} ", style=f"bold {style}")
        pieces = [f"{i.get('name')} {float(i.get('value') or 0):+.2f}" for i in items]
        text.append(", ".join(pieces[:EFFECTS_SHOWN]))
    return text


def label_text(record: LabelRecord | None) -> Text:
    """The feature's current label: name, category, source, confidences, time, notes."""
    if record is None:
        return Text("Not labeled yet.", style="dim")
    text = Text()
    text.append("Label: ", style="bold")
    text.append(visible(record.name or ""), style="bold cyan")
    if record.dashboard_category:
        text.append(f"  [{visible(record.dashboard_category)}]")
    text.append(f"  source {visible(record.source or '-')}")
    text.append(
        f"  interp {_fmt(record.interpretability_confidence)}"
        f"  hyp {_fmt(record.hypothesis_confidence)}"
    )
    if record.last_updated:
        text.append(f"  {shown(record.last_updated)}", style="dim")
    if record.dashboard_notes:
        text.append(f"\n{visible(record.dashboard_notes)}", style="italic")
    return text


class FeatureDetail(VerticalScroll, can_focus=True):
    """Everything known about the feature on screen, from one overview dict."""

    DEFAULT_CSS = """
    FeatureDetail { height: 1fr; padding: 0 1; }
    FeatureDetail > Static { height: auto; }
    FeatureDetail #detail-flags { margin: 0 0 1 0; }
    FeatureDetail #detail-effects { margin: 0 0 1 0; }
    FeatureDetail #detail-regions { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.overview: dict[str, Any] | None = None
        self.record: LabelRecord | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            "Press n for the next feature, or enter on a queue entry.", id="detail-summary"
        )
        yield Static("", id="detail-label")
        yield Static("", id="detail-flags")
        yield Static("", id="detail-effects")
        yield RegionHistogram(id="detail-histogram")
        yield Static("", id="detail-regions")

    def show_message(self, message: str) -> None:
        """A neutral line in place of a feature (opening the model, empty queue)."""
        self.show_error(message)
        self.query_one("#detail-summary", Static).update(Text(visible(message)))

    def show_error(self, message: str) -> None:
        self.overview = None
        self.record = None
        self.query_one("#detail-summary", Static).update(Text(visible(message), style="bold red"))
        for wid in ("#detail-label", "#detail-flags", "#detail-effects", "#detail-regions"):
            self.query_one(wid, Static).update("")
        histogram = self.query_one(RegionHistogram)
        histogram.clear()
        histogram.display = False

    def histogram_canvas(self) -> Canvas | None:
        """Where the histogram is drawn now (a job renders the next one ahead for it)."""
        return self.query_one(RegionHistogram).canvas()

    def show(
        self,
        overview: dict[str, Any],
        record: LabelRecord | None,
        plot: tuple[list[float], list[int], Rendered] | None = None,
    ) -> None:
        """Show a feature; ``plot`` is its histogram binned for the plot's width and drawn
        ahead by a job (None: the overview's own bins are drawn here)."""
        if overview.get("feature_id") != (self.overview or {}).get("feature_id"):
            self.scroll_home(animate=False)  # each feature opens at its top
        self.overview = overview
        self.record = record
        self.query_one("#detail-summary", Static).update(summary_text(overview))
        self.query_one("#detail-label", Static).update(label_text(record))
        self.query_one("#detail-flags", Static).update(flags_text(overview))
        self._show_regions()
        hist = overview.get("histogram") or {}
        edges, counts = hist.get("edges") or [], hist.get("counts") or []
        histogram = self.query_one(RegionHistogram)
        histogram.display = True
        if plot is not None:
            histogram.show(plot[0], plot[1], prerendered=plot[2])
        elif counts:
            histogram.show(edges, counts)
        else:
            histogram.clear("no nonzero activations")

    def _show_regions(self) -> None:
        if self.overview is not None:
            width = self.scrollable_content_region.width
            self.query_one("#detail-regions", Static).update(regions_text(self.overview, width))
            effects = effects_text(self.overview)
            self.query_one("#detail-effects", Static).update(effects)
            self.query_one("#detail-effects", Static).display = bool(effects.plain)

    def on_resize(self) -> None:
        self._show_regions()

    def show_label(self, record: LabelRecord | None) -> None:
        """Refresh only the label line (another process changed it)."""
        self.record = record
        self.query_one("#detail-label", Static).update(label_text(record))
