"""Label-store benchmark: label save latency with 24,576 labels in the store, split
into parse, serialize and write+fsync, plus the wall time of whole CLI processes on the demo.

    python benchmarks/bench_stores.py [--workdir benchmarks/_work/stores] [--repeats 40]

Targets (issue 13, at 131,072 labels: ``--labels 131072``): label save p95 <= 150 ms;
`labeler status --json` and `labeler label ...` <= 0.6 s whole process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.stores.jsonfile import dumps, parse, write_bytes_atomic
from labeler_tui.core.workspace import Workspace
from labeler_tui.demo import write_demo

NOTES = (
    "Survival through positioning, not stealth/trading. Decoder promotes: SSU, BRU (all levels), "
    "ISS, IA, IRU. Suppresses: BPU, RSU, QR, SS. Weapons: Midrange with NO/BAD NS fit."
)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q))


def fill_store(service: LabelingService, n: int) -> None:
    """Write n complete records straight into the consolidated and dashboard files."""
    records, dashboard = {}, {}
    for f in range(n):
        records[str(f)] = {
            "feature_id": f,
            "model_type": service.model,
            "dashboard_name": f"Label {f}",
            "dashboard_category": "tactical",
            "dashboard_notes": NOTES,
            "display_name": f"Label {f}",
            "last_updated": "2025-12-14T01:30:00.000000",
            "source": "claude code",
            "hypothesis_confidence": 0.85,
            "importance_percentile": 9.3,
            "interpretability_confidence": 0.85,
            "stability_score": None,
            "research_label": None,
            "research_state_path": None,
        }
        dashboard[str(f)] = {
            "name": f"Label {f}",
            "category": "tactical",
            "notes": NOTES,
            "timestamp": "2025-12-14T01:30:00",
        }
    service.labels_path.parent.mkdir(parents=True, exist_ok=True)
    service.labels_path.write_bytes(dumps(records))
    service.dashboard_path.parent.mkdir(parents=True, exist_ok=True)
    service.dashboard_path.write_bytes(dumps(dashboard))


def timed(fn, repeats: int) -> list[float]:
    out = []
    for i in range(repeats):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


_BESIDE = Path(sys.executable).with_name("labeler")
LABELER = str(_BESIDE) if _BESIDE.exists() else shutil.which("labeler") or "labeler"


def cli_wall(args: list[str], env: dict[str, str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(
            [LABELER, *args],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/_work/stores"))
    parser.add_argument("--labels", type=int, default=24_576)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()

    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    config = write_demo(args.workdir / "demo")
    workspace = Workspace.open(config)
    service = LabelingService(workspace, "ultra", source="bench")
    workspace.data("ultra")  # build the index outside the timings
    fill_store(service, args.labels)
    size_mb = service.labels_path.stat().st_size / 1e6
    raw = service.labels_path.read_bytes()

    parse_t = timed(lambda i: parse(raw, service.labels_path), args.repeats)
    obj = parse(raw, service.labels_path)
    ser_t = timed(lambda i: dumps(obj), args.repeats)
    blob = dumps(obj)
    write_t = timed(lambda i: write_bytes_atomic(service.labels_path, blob), args.repeats)
    save_t = timed(
        lambda i: service.set_label(
            i * 97 % args.labels, LabelEdit(f"bench {i}", "mechanical", "notes")
        ),
        args.repeats,
    )

    # the app's work per keypress: naming 12 similar features from the stores as they are
    pairs = [((i * 7919) % 24_576, 0.5) for i in range(12)]
    service.describe_neighbours(pairs)
    neighbours_t = timed(lambda i: service.describe_neighbours(pairs), args.repeats)

    env = dict(os.environ, LABELER_WORKSPACE=str(config.parent))
    status_t = cli_wall(["status", "--json", "--model", "ultra"], env, 10)
    label_t = cli_wall(
        [
            "label",
            "--feature-id",
            "18712",
            "--name",
            "SCU Detector",
            "--category",
            "tactical",
            "--source",
            "claude code",
            "--model",
            "ultra",
            "--json",
        ],
        env,
        10,
    )

    print(f"store: {args.labels} labels, {size_mb:.1f} MB; {args.repeats} repeats")
    print("| step | p50 ms | p95 ms | target |")
    print("|---|---|---|---|")
    for name, values, target in (
        ("parse", parse_t, ""),
        ("serialize", ser_t, ""),
        ("write+fsync+rename", write_t, ""),
        ("label save (LabelingService.set_label, end to end)", save_t, "p95 <= 150"),
        ("name 12 similar features (the app, per keypress)", neighbours_t, ""),
        ("`labeler status --json` process", status_t, "<= 600"),
        ("`labeler label ...` process", label_t, "<= 600"),
    ):
        print(f"| {name} | {pct(values, 50):.1f} | {pct(values, 95):.1f} | {target} |")


if __name__ == "__main__":
    main()
