"""Render the real app on the demo workspace into ``screenshots/*.svg`` (and one PNG).

    python scripts/screenshots.py [--out screenshots] [--png]

A fresh demo workspace (``labeler_tui.demo.write_demo``, seed 0) is written to a temporary folder
and given a short labeling history (labels over five days, a skip, the documentation's example
features queued first), so every run produces the same pictures apart from the dates. Then the app
runs headless through Pilot, exactly as a user drives it, and each view is saved with
``App.save_screenshot``:

- ``workbench.svg``       120x40: queue, feature detail with the region histogram, similar features
- ``label-form.svg``      120x40: the label form in use, with the core-coverage hint
- ``contexts.svg``        120x40: the text model's feature 77, its core contexts (sequence model)
- ``examples.svg``        120x40: 13934's core examples with the hypothesis box testing
                          ``respawn_punisher`` (a tail marker: 12% of the core, 90% of 90%+)
- ``help.svg``            120x40: every key and the labeling guide
- ``progress.svg``        120x40: labels over time, counts, quadrants, weighted coverage
- ``workbench-80x24.svg`` 80x24:  the small-terminal layout

``--png`` also converts ``workbench.svg`` with ``rsvg-convert`` (apt package librsvg2-bin).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from labeler_tui.app.app import LabelerApp
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace
from labeler_tui.demo import write_demo

MODEL = "ultra"
OWNER = "alice"
FIRST_DAY = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
DOC_FEATURES = (9971, 13934, 10938, 18712)
"""Features the labeling guide discusses: a super-stimulus, a tail marker, a general concept, a
cluster (docs/analysis.md, "Reading a feature")."""

# (name, category, interpretability, hypothesis, source) for the history written before the shots.
HISTORY_LABELS = (
    ("Swim Utility Sustain", "tactical", 0.85, 0.8, "dashboard"),
    ("Ink Efficiency Kit", "mechanical", 0.9, 0.85, "dashboard"),
    ("Positional Survival - Midrange", "strategic", 0.85, 0.8, "claude code"),
    ("Special Pressure Build", "tactical", 0.6, 0.6, "claude code"),
    ("Quick Respawn Stacker", "mechanical", 0.95, 0.9, "dashboard"),
    ("Backline Anchor Kit", "strategic", 0.4, 0.5, "manual"),
    ("Run Speed Threshold 29+", "mechanical", 0.9, 0.9, "dashboard"),
    ("Zombie Slayer Dualies", "tactical", 0.7, 0.65, "claude code"),
    ("Utility Axis (Multi-Modal)", "strategic", 0.3, 0.4, "claude code"),
    ("Stealth Approach", "tactical", 0.8, 0.75, "dashboard"),
    ("Sub Power Synergy", "mechanical", 0.85, 0.8, "dashboard"),
    ("Offensive Intensity (Death-Averse)", "strategic", 0.75, 0.7, "claude code"),
)


def prepare_workspace(root: Path) -> Workspace:
    """Write the demo and a short, fixed labeling history into it."""
    write_demo(root / "demo", seed=0)
    workspace = Workspace.open(root / "demo")
    workspace.data(MODEL)  # build the index now, not inside the first screenshot
    day = {"now": FIRST_DAY}
    service = LabelingService(workspace, MODEL, owner=OWNER, clock=lambda: day["now"])
    candidates = service.build_queue("activation_count", top_k=200).changed
    labeled = [f for f in candidates if f not in DOC_FEATURES][: len(HISTORY_LABELS)]
    for i, (feature_id, spec) in enumerate(zip(labeled, HISTORY_LABELS, strict=True)):
        name, category, interp, hyp, source = spec
        day["now"] = FIRST_DAY + timedelta(days=i * 5 // len(HISTORY_LABELS), hours=i)
        service.set_label(
            feature_id,
            LabelEdit(
                name,
                category,
                notes="Core region: see the region table.",
                source=source,
                interpretability_confidence=interp,
                hypothesis_confidence=hyp,
            ),
        )
    day["now"] = FIRST_DAY + timedelta(days=4, hours=6)
    service.skip(candidates[len(HISTORY_LABELS) + 5], reason="ReLU floor too high")
    service.add(list(DOC_FEATURES[1:]), priority=0.9, reason="examples from the docs")
    service.add([DOC_FEATURES[0]], priority=1.0, reason="super-stimulus example")
    return workspace


async def settle(pilot: Pilot[None], rounds: int = 4) -> None:
    """Let workers finish and the screen repaint (feature loads chain a similarity load)."""
    for _ in range(rounds):
        with contextlib.suppress(WorkerCancelled):  # a newer load replaced a stale one
            await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)


async def wait_for_feature(pilot: Pilot[None], timeout: float = 30.0) -> None:
    """Until the workbench shows the feature it is on (data opened, that overview drawn)."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await settle(pilot, 1)
        workbench = app.workbench  # type: ignore[attr-defined]
        overview = getattr(workbench.query_one("#detail"), "overview", None)
        if (
            workbench.data_ready
            and overview is not None
            and overview.get("feature_id") == workbench.current
        ):
            await settle(pilot)
            return
    raise TimeoutError("the workbench did not show a feature in time")


async def wait_for_data(pilot: Pilot[None], timeout: float = 60.0) -> None:
    """Until the model's data is open (a model without a queue opens no feature)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await settle(pilot, 1)
        if pilot.app.workbench.data_ready:  # type: ignore[attr-defined]
            return
    raise TimeoutError("the model's data did not open in time")


Steps = Callable[[Pilot[None]], Awaitable[None]]


async def shot(
    workspace: Workspace,
    out: Path,
    name: str,
    size: tuple[int, int],
    steps: Steps,
    model: str = MODEL,
) -> Path:
    app = LabelerApp(workspace, model)
    async with app.run_test(size=size) as pilot:
        if model == MODEL:  # its queue was built: the top entry opens at start
            await wait_for_feature(pilot)
        else:
            await wait_for_data(pilot)
        await steps(pilot)
        await settle(pilot)
        app.save_screenshot(filename=f"{name}.svg", path=str(out))
        await pilot.press("escape", "q")
    return out / f"{name}.svg"


async def open_top(pilot: Pilot[None]) -> None:
    """Open (and claim) the top queue entry: the super-stimulus example, 9971."""
    await pilot.press("enter")
    await settle(pilot)
    await wait_for_feature(pilot)


async def label_form(pilot: Pilot[None]) -> None:
    await open_top(pilot)
    focused = pilot.app.focused
    if focused is None or focused.id != "form-name":
        await pilot.press("e")
    await pilot.press(*"Special Charge Up Stacker")
    await settle(pilot)
    await pilot.press("tab", "enter", "down", "down", "enter")  # category: tactical
    await pilot.press("tab", *"0.6", "tab", *"0.7", "tab")
    await pilot.press(*"Core is diverse; flanderization zone only bloblobber/glooga.")
    await settle(pilot)


async def hypothesis(pilot: Pilot[None]) -> None:
    """13934 opened by id, its examples, and a hypothesis typed into the box."""
    await pilot.press("g", *"13934", "enter")
    await settle(pilot)
    await wait_for_feature(pilot)
    await pilot.press("h", *"respawn_punisher")
    await pilot.pause(0.3)
    await settle(pilot)
    await pilot.press("escape")  # the box left for the examples: the cursor is not drawn
    await settle(pilot)


async def contexts(pilot: Pilot[None]) -> None:
    """The text model's feature 77 (planted on all-caps licence text): its core contexts."""
    await pilot.press("g", *"77", "enter")
    await settle(pilot)
    await wait_for_feature(pilot)
    await pilot.press("x")
    await pilot.pause(0.3)
    await settle(pilot)


async def show_help(pilot: Pilot[None]) -> None:
    await pilot.press("f1")
    await settle(pilot)


async def show_progress(pilot: Pilot[None]) -> None:
    await pilot.press("p")
    await settle(pilot)


SHOTS: tuple[tuple[str, tuple[int, int], Steps, str], ...] = (
    ("workbench", (120, 40), open_top, MODEL),
    ("label-form", (120, 40), label_form, MODEL),
    ("examples", (120, 40), hypothesis, MODEL),
    ("contexts", (120, 40), contexts, "text"),
    ("help", (120, 40), show_help, MODEL),
    ("progress", (120, 40), show_progress, MODEL),
    ("workbench-80x24", (80, 24), open_top, MODEL),
)


async def render_all(workspace: Workspace, out: Path) -> list[Path]:
    return [
        await shot(workspace, out, name, size, steps, model) for name, size, steps, model in SHOTS
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "screenshots")
    parser.add_argument("--png", action="store_true", help="also write workbench.png")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ["USER"] = os.environ["LOGNAME"] = OWNER  # the claim owner shown on screen
    with tempfile.TemporaryDirectory(prefix="labeler-shots-") as tmp:
        started = time.perf_counter()
        workspace = prepare_workspace(Path(tmp))
        print(f"demo workspace ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for path in asyncio.run(render_all(workspace, args.out)):
            print(path)
    if args.png:
        if shutil.which("rsvg-convert") is None:
            print("rsvg-convert not found (apt-get install librsvg2-bin)", file=sys.stderr)
            return 1
        svg = args.out / "workbench.svg"
        subprocess.run(["rsvg-convert", str(svg), "-o", str(svg.with_suffix(".png"))], check=True)
        print(svg.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
