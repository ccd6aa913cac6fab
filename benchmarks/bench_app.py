"""Benchmark the app on the 24,576-feature demo model, driven headless through Pilot.

Targets: start to the first interactive frame <= 1.5 s; a keypress to the next
feature's detail fully drawn, p95 <= 150 ms; the queue pane with 24,576 entries, first paint
<= 200 ms.

    python benchmarks/bench_app.py [--workspace DIR] [--presses 60] [--starts 5] [--json]

Without ``--workspace`` the demo is written once to ``benchmarks/_work/demo`` (seed 0) and its
index built before any timing (the index build is benchmarked by bench_index.py). The ultra
model's queue is filled with every one of its features, so the queue pane holds 24,576 entries.

What is timed (wall clock, ``time.perf_counter``):

- start: from constructing ``LabelerApp`` (workspace already open in this process, modules
  imported) until the workbench has its data open, the full queue in the pane and that frame
  composited; the first feature's detail drawn is reported beside it.
- keypress: a ``j`` key event sent to the app (as the terminal driver would) until the detail pane
  holds the newly highlighted feature and the screen has been composited (layout and every dirty
  widget rendered, the plotext histogram included). ``n`` (take the next entry: claim, write the
  queue file, load) is timed the same way. Each press starts from an idle app.
- queue paint: ``QueueList.set_rows`` with every row plus the composite of that frame (the rows
  themselves are built by ``build_rows`` from the queue snapshot, timed separately).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import events  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.worker import WorkerCancelled  # noqa: E402

from labeler_tui.app.app import LabelerApp  # noqa: E402
from labeler_tui.app.screens.workbench.queue_rows import build_rows  # noqa: E402
from labeler_tui.app.widgets.queue_list import QueueList  # noqa: E402
from labeler_tui.core.service import LabelingService  # noqa: E402
from labeler_tui.core.workspace import Workspace  # noqa: E402

MODEL = "ultra"
SIZE = (120, 40)
WORK = Path(__file__).resolve().parent / "_work"
TARGETS_MS = {"start": 1500.0, "keypress_p95": 150.0, "queue_paint": 200.0}


def prepare(workspace_dir: Path | None) -> Workspace:
    """The demo (written once), its index built, and a queue holding every feature."""
    if workspace_dir is None:
        workspace_dir = WORK / "demo"
        if not (workspace_dir / "labeler.toml").is_file():
            from labeler_tui.demo import write_demo

            print(f"writing the demo workspace to {workspace_dir} ...", file=sys.stderr)
            write_demo(workspace_dir, seed=0)
    workspace = Workspace.open(workspace_dir)
    data = workspace.data(MODEL)
    service = LabelingService(workspace, MODEL)
    queue = service.queue()
    queued = {e.feature_id for e in queue.entries}
    if len(queued) < data.n_features:
        service.add(
            [f for f in range(data.n_features) if f not in queued], 0.5, "benchmark: all features"
        )
    for entry in service.queue().active_claims():  # leftovers of an interrupted run
        service.release(entry.feature_id, entry.claimed_by, force=True)
    return workspace


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "max_ms": round(max(values), 1),
    }


async def composite(pilot: Pilot[None]) -> None:
    """Process pending messages (mounts, updates), then lay out and render the screen now."""
    await pilot._wait_for_screen()
    pilot.app.screen._on_timer_update()


async def until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not reached in time")
        await asyncio.sleep(0.0005)


async def idle(pilot: Pilot[None]) -> None:
    for _ in range(3):
        with contextlib.suppress(WorkerCancelled):  # a newer load replaced a stale one
            await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.02)


def shown_feature(app: LabelerApp) -> int | None:
    overview = app.workbench.query_one("#detail").overview
    return None if overview is None else int(overview["feature_id"])


async def bench_start(workspace: Workspace, n_entries: int) -> dict[str, float]:
    """Construct the app and wait for the full queue on screen, then for the first detail."""
    started = time.perf_counter()
    app = LabelerApp(workspace, MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await until(
            lambda: (
                app.workbench.data_ready
                and app.workbench.query_one(QueueList).row_count == n_entries
            )
        )
        await composite(pilot)
        interactive = time.perf_counter()
        await until(lambda: shown_feature(app) is not None)
        await composite(pilot)
        detail = time.perf_counter()
        await idle(pilot)
        await pilot.press("escape", "q")
    return {
        "interactive_ms": (interactive - started) * 1000,
        "first_detail_ms": (detail - started) * 1000,
    }


async def press_and_wait(pilot: Pilot[None], key: str, expect: Any) -> tuple[float, float]:
    """Send one key event; ms until the expected feature's overview reached the detail pane, and
    ms until it is drawn."""
    app = pilot.app
    started = time.perf_counter()
    app._driver.send_message(events.Key(key, key if len(key) == 1 else None))
    await until(lambda: (fid := expect()) is not None and shown_feature(app) == fid)
    loaded = time.perf_counter()
    await composite(pilot)
    return (loaded - started) * 1000, (time.perf_counter() - started) * 1000


async def bench_session(workspace: Workspace, presses: int) -> dict[str, Any]:
    app = LabelerApp(workspace, MODEL)
    async with app.run_test(size=SIZE) as pilot:
        workbench = app.workbench
        queue_list = workbench.query_one(QueueList)
        await until(lambda: workbench.data_ready and shown_feature(app) is not None)
        await idle(pilot)
        queue_list.focus()
        await idle(pilot)

        def moved_to(target: int) -> int | None:
            row = queue_list.highlighted
            return row.feature_id if queue_list.cursor == target and row is not None else None

        def next_after(before: int | None) -> int | None:
            current = workbench.current
            return current if current not in (None, before) else None

        moves = []
        for _ in range(presses):
            target = queue_list.cursor + 1
            moves.append(await press_and_wait(pilot, "j", lambda t=target: moved_to(t)))
            await idle(pilot)

        nexts = []
        for _ in range(max(5, presses // 4)):
            queue_list.focus()  # taking a feature puts the focus in its form
            await idle(pilot)
            before = workbench.current
            nexts.append(await press_and_wait(pilot, "n", lambda b=before: next_after(b)))
            await idle(pilot)

        snapshot = workbench.snapshot
        assert snapshot is not None
        built = time.perf_counter()
        rows = build_rows("pending", snapshot, app.backend.owner)
        build_ms = (time.perf_counter() - built) * 1000
        paints = []
        for _ in range(5):
            queue_list.set_rows([])
            await composite(pilot)
            started = time.perf_counter()
            queue_list.set_rows(rows)
            await composite(pilot)
            paints.append((time.perf_counter() - started) * 1000)
        await idle(pilot)
        await pilot.press("escape", "q")
    return {
        "keypress_j": summary([drawn for _, drawn in moves]),
        "keypress_j_overview_in": summary([loaded for loaded, _ in moves]),
        "keypress_n": summary([drawn for _, drawn in nexts]),
        "keypress_n_overview_in": summary([loaded for loaded, _ in nexts]),
        "queue_rows": len(rows),
        "queue_build_rows_ms": round(build_ms, 1),
        "queue_paint": summary(paints),
    }


async def run(workspace: Workspace, starts: int, presses: int) -> dict[str, Any]:
    n_entries = len(LabelingService(workspace, MODEL).queue().entries)
    start_runs = [await bench_start(workspace, n_entries) for _ in range(starts)]
    session = await bench_session(workspace, presses)
    interactive = [r["interactive_ms"] for r in start_runs]
    return {
        "model": MODEL,
        "n_features": workspace.data(MODEL).n_features,
        "queue_entries": n_entries,
        "terminal": f"{SIZE[0]}x{SIZE[1]}",
        "start_interactive": {"first_ms": round(interactive[0], 1), **summary(interactive)},
        "start_first_detail": summary([r["first_detail_ms"] for r in start_runs]),
        **session,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="workspace (default: the demo)")
    parser.add_argument("--presses", type=int, default=60, help="j presses to time")
    parser.add_argument("--starts", type=int, default=5, help="app starts to time")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    workspace = prepare(args.workspace)
    result = asyncio.run(run(workspace, args.starts, args.presses))
    checks = {
        "start": result["start_interactive"]["max_ms"] <= TARGETS_MS["start"],
        "keypress_p95": result["keypress_j"]["p95_ms"] <= TARGETS_MS["keypress_p95"],
        "queue_paint": result["queue_paint"]["max_ms"] <= TARGETS_MS["queue_paint"],
    }
    result["targets_ms"] = TARGETS_MS
    result["meets_targets"] = checks
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
