"""The index at scale: build growth (10M .. >= 1B nonzeros) within a memory budget, and
per-feature reads against polars and DuckDB on the same files.

    python benchmarks/bench_scale.py generate --rows 1_100_000_000 --blocks 208
    python benchmarks/bench_scale.py build --blocks 2 --memory 6G      # ~10M rows
    python benchmarks/bench_scale.py fetch --blocks 208                 # latencies + ratios
    python benchmarks/bench_scale.py dask --blocks 19 --shards 4 --workers 2  # the Dask recipe
    LABELER_SCALE_ROOT=/data/lm python benchmarks/bench_scale.py generate --features 131072 \
        --d 2304 --rows 40_000_000 --blocks 64
    python benchmarks/bench_scale.py dask --blocks 19 --shards 4 --workers 2  # the Dask recipe
    LABELER_SCALE_ROOT=/data/lm python benchmarks/bench_scale.py similarity --blocks 64

``generate`` writes the shared activation files (``scale_data.py``: 4,096 examples a file,
rows in example-block order, shuffled within a block; 24,576 features). ``build`` links the
first ``--blocks`` files into a workspace and builds its index in this process (one build, so
the process's peak resident memory is the build's), sampling every 50 ms the resident memory
(anonymous + file-backed, /proc/self/status) and the bytes on disk of the model's cache folder;
prints wall and CPU seconds, rows per CPU-second, the peaks and the final index size, as JSON
too (``--json``). ``fetch`` times ``ModelData.feature`` of the smallest, median and largest
features against a polars scan and a DuckDB query of the parquet files. ``similarity`` times
decoder and coactivation queries (random features) at the language-model shape.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_data import generate, link_workspace  # noqa: E402

from labeler_tui.core.config import load_config  # noqa: E402
from labeler_tui.core.data import ModelData  # noqa: E402
from labeler_tui.core.data.memory import parse_size  # noqa: E402

# large data lives outside the repository: $LABELER_SCALE_ROOT, else benchmarks/_work/scale
ROOT = Path(
    os.environ.get("LABELER_SCALE_ROOT", Path(__file__).resolve().parent / "_work" / "scale")
)


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


def _disk(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # a temporary removed meanwhile
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


class Sampler:
    """Peak resident memory and peak disk of a folder, sampled on a thread."""

    def __init__(self, folder: Path, period: float = 0.05) -> None:
        self.folder, self.period = folder, period
        self.peak_rss = self.peak_anon = self.peak_file = self.peak_disk = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._last_disk = 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            status = _status()
            self.peak_rss = max(self.peak_rss, status.get("VmRSS", 0))
            self.peak_anon = max(self.peak_anon, status.get("RssAnon", 0))
            self.peak_file = max(self.peak_file, status.get("RssFile", 0))
            if time.monotonic() - self._last_disk > 0.5:
                self.peak_disk = max(self.peak_disk, _disk(self.folder))
                self._last_disk = time.monotonic()
            self._stop.wait(self.period)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_disk = max(self.peak_disk, _disk(self.folder))


def cmd_generate(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    generate(ROOT, args.features, args.rows, args.blocks, args.d, args.seed)
    print(f"written in {time.perf_counter() - started:.0f} s under {ROOT}")


def _workspace(blocks: int) -> Path:
    return link_workspace(ROOT, f"ws-{blocks}", blocks)


def cmd_build(args: argparse.Namespace) -> None:
    ws = _workspace(args.blocks)
    config = load_config(ws / "labeler.toml")
    cache = config.paths.cache
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    budget = parse_size(args.memory)
    load_before = os.getloadavg()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with Sampler(cache) as sampler:
        data = ModelData.open(config.model(), cache, memory=budget)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    index_bytes = _disk(cache)
    rows = int(data.manifest["n_activation_rows"])
    shards = [
        json.loads((data.cache_dir / "shards" / s["folder"] / "shard.json").read_text())
        for s in data.manifest["shards"]
    ]
    result = {
        "blocks": args.blocks,
        "rows": rows,
        "nonzeros": data.n_nonzero,
        "features": data.n_features,
        "examples": data.n_examples,
        "budget": budget,
        "ranges": sum(len(s["ranges"]) for s in shards),
        "threads": shards[0]["threads"],
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "rows_per_cpu_s": round(rows / cpu),
        "rows_per_s": round(rows / wall),
        "peak_rss": sampler.peak_rss,
        "peak_rss_anon": sampler.peak_anon,
        "peak_rss_file": sampler.peak_file,
        "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "peak_disk": sampler.peak_disk,
        "index_bytes": index_bytes,
        "peak_disk_ratio": round(sampler.peak_disk / max(index_bytes, 1), 3),
        "stage_seconds": data.manifest["stage_seconds"],
        "stage_cpu_seconds": data.manifest["stage_cpu_seconds"],
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
    }
    gib = 1 << 30
    print(
        f"{rows:,} rows ({data.n_nonzero:,} nonzero) in {wall:.1f} s wall, {cpu:.1f} CPU-s = "
        f"{rows / cpu / 1e6:.2f} M rows/CPU-s; {result['ranges']} ranges, {result['threads']} "
        f"threads; peak RSS {sampler.peak_rss / gib:.2f} GiB (anon {sampler.peak_anon / gib:.2f}"
        f", file {sampler.peak_file / gib:.2f}; ru_maxrss {result['ru_maxrss'] / gib:.2f}) "
        f"budget {budget / gib:.2f} GiB; disk peak {sampler.peak_disk / gib:.2f} GiB / index "
        f"{index_bytes / gib:.2f} GiB = {result['peak_disk_ratio']}x; load {load_before[0]:.1f}"
        f" -> {os.getloadavg()[0]:.1f}"
    )
    print(f"stages wall {result['stage_seconds']}\nstages CPU  {result['stage_cpu_seconds']}")
    if args.json:
        print(json.dumps(result))
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(json.dumps(result) + "\n")


def _timed(call, repeats: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        out.append(time.perf_counter() - t)
    return out


def cmd_fetch(args: argparse.Namespace) -> None:
    import duckdb
    import polars as pl

    ws = _workspace(args.blocks)
    config = load_config(ws / "labeler.toml")
    data = ModelData.open(config.model(), config.paths.cache)
    counts = data.nonzero_counts
    alive = np.flatnonzero(counts)
    by_count = alive[np.argsort(counts[alive], kind="stable")]
    picks = {
        "smallest": int(by_count[0]),
        "median": int(by_count[len(by_count) // 2]),
        "largest": int(by_count[-1]),
    }
    glob = str(ws / "activations" / "*.parquet")
    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count()}")
    load = os.getloadavg()[0]
    print(f"{data.n_nonzero:,} nonzeros, load {load:.1f}")
    for label, f in picks.items():
        cold_rows = data.feature(f)  # untimed warm-up: maps the pages
        float(cold_rows.activations[-1])

        def index_read(f: int = f) -> None:
            fa = data.feature(f)
            float(fa.activations[-1])
            fa.example_ids  # noqa: B018

        def polars_read(f: int = f) -> None:
            pl.scan_parquet(glob).filter(
                (pl.col("feature_id") == f) & (pl.col("activation") > 0)
            ).sort(["activation", "example_id"], descending=[True, False]).collect()

        def duckdb_read(f: int = f) -> None:
            con.execute(
                f"SELECT example_id, activation FROM read_parquet('{glob}') WHERE feature_id = "
                f"{f} AND activation > 0 ORDER BY activation DESC, example_id"
            ).fetchnumpy()

        ours = _timed(index_read, args.repeats)
        pol = _timed(polars_read, args.naive_repeats)
        duck = _timed(duckdb_read, args.naive_repeats)
        p50, p95 = np.percentile(ours, 50), np.percentile(ours, 95)
        pp, dp = np.median(pol), np.median(duck)
        print(
            f"{label:>9} f={f:<6} n={int(counts[f]):>9,}  index p50 {p50 * 1e3:.3f} ms p95 "
            f"{p95 * 1e3:.3f} ms | polars {pp * 1e3:,.0f} ms ({pp / p50:,.0f}x) | duckdb "
            f"{dp * 1e3:,.0f} ms ({dp / p50:,.0f}x)"
        )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def _digests(data: ModelData) -> dict[str, str]:
    """sha256 of each per-feature array joined over the shards in feature order."""
    import hashlib

    out = {}
    for name in ("rows.npy", "acts.npy", "max_activations.npy", "mean_activations.npy"):
        digest = hashlib.sha256()
        for entry in data.manifest["shards"]:
            array = np.load(data.cache_dir / "shards" / entry["folder"] / name, mmap_mode="r")
            for start in range(0, len(array), 1 << 26):
                digest.update(np.ascontiguousarray(array[start : start + (1 << 26)]).data)
        out[name] = digest.hexdigest()[:16]
    return out


def cmd_dask(args: argparse.Namespace) -> None:
    """The docs' recipe (docs/formats.md, "Building in shards"): one ``build_shard`` task per
    shard on a Dask LocalCluster of worker processes; the index compared with a one-process
    build of the same files (sha256 of every per-feature array)."""
    from functools import partial

    from distributed import Client, LocalCluster

    from labeler_tui.core.data.index_build import build_shard

    whole_config = load_config(_workspace(args.blocks) / "labeler.toml")
    shutil.rmtree(whole_config.paths.cache, ignore_errors=True)
    wall0 = time.perf_counter()
    whole = ModelData.open(whole_config.model(), whole_config.paths.cache, memory=args.memory_bytes)
    whole_s = time.perf_counter() - wall0
    ws = link_workspace(ROOT, f"ws-{args.blocks}-dask", args.blocks)
    config = load_config(ws / "labeler.toml")
    shutil.rmtree(config.paths.cache, ignore_errors=True)
    load = os.getloadavg()[0]
    wall0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        build = partial(
            build_shard,
            config.model(),
            config.paths.cache / config.model().name,
            n_shards=args.shards,
            memory=args.memory_bytes // args.workers,
        )
        results = client.gather(client.map(build, range(args.shards)))
    sharded_s = time.perf_counter() - wall0
    sharded = ModelData.open(config.model(), config.paths.cache)
    a, b = _digests(whole), _digests(sharded)
    print(
        f"{whole.n_nonzero:,} nonzeros: one process {whole_s:.1f} s; {args.shards} shards on "
        f"{args.workers} Dask worker processes {sharded_s:.1f} s (load {load:.1f} -> "
        f"{os.getloadavg()[0]:.1f}); complete {any(r.complete for r in results)}; "
        f"identical: {a == b} {b}"
    )
    shutil.rmtree(config.paths.cache, ignore_errors=True)
    shutil.rmtree(whole_config.paths.cache, ignore_errors=True)


def cmd_similarity(args: argparse.Namespace) -> None:
    """Decoder and coactivation queries at the language-model shape (131,072 latents, d 2,304):
    the one-time tables (timed, with the peak resident memory), then random queries."""
    from labeler_tui.core.analysis.similarity import similar_features
    from labeler_tui.core.analysis.similarity_index import minhash_by_bin, unit_decoder

    ws = _workspace(args.blocks)
    config = load_config(ws / "labeler.toml")
    data = ModelData.open(config.model(), config.paths.cache)
    print(
        f"{data.n_features:,} features x d {np.shape(data.decoder)[1]:,}, {data.n_examples:,} "
        f"examples, {data.n_nonzero:,} nonzeros; load {os.getloadavg()[0]:.1f}"
    )
    for name, build in (("unit decoder", unit_decoder), ("minhash by bin", minhash_by_bin)):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        build(data)
        print(
            f"table {name}: {time.perf_counter() - wall0:.1f} s wall, "
            f"{time.process_time() - cpu0:.1f} CPU-s; peak RSS so far "
            f"{_status()['VmHWM'] / (1 << 30):.2f} GiB"
        )
    rng = np.random.default_rng(args.seed)
    alive = np.flatnonzero(data.nonzero_counts)
    for method in ("decoder", "coactivation"):
        pool = alive if method == "coactivation" else np.arange(data.n_features)
        queries = rng.choice(pool, size=args.queries, replace=False)
        similar_features(data, int(queries[0]), method, top_k=args.top_k)  # warm-up
        load = os.getloadavg()[0]
        times, cpu = [], []
        for f in queries:
            t, c = time.perf_counter(), time.process_time()
            similar_features(data, int(f), method, top_k=args.top_k)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        p50, p95 = np.percentile(times, 50) * 1e3, np.percentile(times, 95) * 1e3
        c50, c95 = np.percentile(cpu, 50) * 1e3, np.percentile(cpu, 95) * 1e3
        print(
            f"{method:>12}: {args.queries} queries, top {args.top_k}: wall p50 {p50:.1f} ms, "
            f"p95 {p95:.1f} ms, max {max(times) * 1e3:.1f} ms (target p95 <= 100 ms); CPU p50 "
            f"{c50:.1f} ms, p95 {c95:.1f} ms (all threads); load {load:.1f} -> "
            f"{os.getloadavg()[0]:.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(required=True)
    p = sub.add_parser("generate")
    p.add_argument("--features", type=int, default=24_576)
    p.add_argument("--rows", type=int, default=1_100_000_000)
    p.add_argument("--blocks", type=int, default=208)
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cmd_generate)
    p = sub.add_parser("build")
    p.add_argument("--blocks", type=int, required=True)
    p.add_argument("--memory", default="6G")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", help="append the JSON result to this file")
    p.set_defaults(run=cmd_build)
    p = sub.add_parser("fetch")
    p.add_argument("--blocks", type=int, required=True)
    p.add_argument("--repeats", type=int, default=300)
    p.add_argument("--naive-repeats", type=int, default=3)
    p.set_defaults(run=cmd_fetch)
    p = sub.add_parser("dask")
    p.add_argument("--blocks", type=int, required=True)
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory", default="4G")
    p.set_defaults(run=cmd_dask)
    p = sub.add_parser("similarity")
    p.add_argument("--blocks", type=int, required=True)
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cmd_similarity)
    args = parser.parse_args()
    if hasattr(args, "memory"):
        args.memory_bytes = parse_size(args.memory)
    args.run(args)


if __name__ == "__main__":
    main()
