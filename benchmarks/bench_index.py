"""Benchmark the activation index: build throughput and one-feature fetch latency vs naive polars.

Builds a synthetic workspace of the given size (vectorised numpy + polars, seconds), builds the
index (timed), then fetches features of several sizes (the smallest nonzero, the median and the
largest) through ``ModelData.feature`` and the naive way, ``pl.scan_parquet(...).filter(
pl.col("feature_id") == f).collect()``, on the same files in the same run.

    python benchmarks/bench_index.py --features 24576 --nonzeros 10_000_000 --examples 840_000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthetic import write_activation_parts, write_bench_config

from labeler_tui.core.config import load_config  # noqa: E402
from labeler_tui.core.data import ModelData  # noqa: E402


def make_workspace(
    root: Path, n_features: int, n_rows: int, n_examples: int, files: int, seed: int
) -> Path:
    """A synthetic workspace with skewed per-feature counts, shuffled rows and sparse ids."""
    rng = np.random.default_rng(seed)
    data = root / "data"
    acts_dir = data / "activations"
    acts_dir.mkdir(parents=True, exist_ok=True)

    n_vocab = 200
    (data / "vocab.json").write_text(json.dumps([f"tok{i // 10}_{i % 10}" for i in range(n_vocab)]))
    lengths = rng.integers(4, 13, size=n_examples)
    flat = rng.integers(1, n_vocab, size=int(lengths.sum()), dtype=np.int32)
    example_ids = 10 + 3 * np.arange(n_examples, dtype=np.int64)  # not contiguous
    examples = pl.DataFrame(
        {
            "example_id": example_ids,
            "tokens": _split(flat, lengths),
            "weapon": rng.choice([f"weapon_{i}" for i in range(40)], size=n_examples),
        }
    )
    examples.write_parquet(data / "examples.parquet")

    # skewed counts (lognormal), summing to about n_rows, each <= n_examples
    weights = rng.lognormal(0.0, 1.2, size=n_features)
    weights[rng.choice(n_features, size=n_features // 50, replace=False)] = 0  # dead features
    counts = np.minimum(np.floor(weights / weights.sum() * n_rows), n_examples).astype(np.int64)
    total = int(counts.sum())
    feature_ids = np.repeat(np.arange(n_features, dtype=np.int32), counts)
    # distinct examples within a feature: row = (a + k * b) mod 2^m with b odd, k < count
    m = int(n_examples - 1).bit_length()
    size = 1 << m
    starts = np.cumsum(counts) - counts
    k = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
    a = rng.integers(0, size, size=n_features)[feature_ids]
    b = (2 * rng.integers(0, size // 2, size=n_features) + 1)[feature_ids]
    rows = (a + k * b) & (size - 1)
    rows = rows % n_examples  # folds a few duplicates when n_examples is not a power of two
    keep = np.ones(total, dtype=bool)
    if size != n_examples:
        order = np.lexsort((rows, feature_ids))
        dup = (np.diff(feature_ids[order]) == 0) & (np.diff(rows[order]) == 0)
        keep[order[1:][dup]] = False
    feature_ids, rows = feature_ids[keep], rows[keep]
    activations = rng.gamma(2.0, 1.0, size=len(rows)).astype(np.float32)
    activations[rng.random(len(rows)) < 0.05] = 0.0  # some zero rows, as in real dumps
    perm = rng.permutation(len(rows))
    table = pl.DataFrame(
        {
            "feature_id": feature_ids[perm],
            "example_id": example_ids[rows[perm]],
            "activation": activations[perm],
        }
    )
    write_activation_parts(table, acts_dir, files)
    decoder = rng.normal(size=(n_features, 64)).astype(np.float32)
    np.save(data / "decoder.npy", decoder)
    write_bench_config(root, output=False)
    return root / "labeler.toml"


def _split(flat: np.ndarray, lengths: np.ndarray) -> pl.Series:
    """A list column from flat values and per-row lengths (every length > 0)."""
    groups = np.repeat(np.arange(len(lengths)), lengths)
    frame = pl.DataFrame({"t": flat, "g": groups})
    return frame.group_by("g", maintain_order=True).agg("t")["t"].alias("tokens")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", type=int, default=24_576)
    parser.add_argument("--nonzeros", type=int, default=10_000_000, help="activation rows")
    parser.add_argument("--examples", type=int, default=840_000)
    parser.add_argument("--files", type=int, default=4, help="activation parquet files")
    parser.add_argument("--repeats", type=int, default=300, help="index fetches per feature")
    parser.add_argument("--naive-repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/_work"))
    parser.add_argument("--keep", action="store_true", help="reuse the workspace if present")
    args = parser.parse_args()

    root = args.workdir / f"ws-{args.features}-{args.nonzeros}-{args.examples}"
    if root.exists() and not args.keep:
        shutil.rmtree(root)
    if not (root / "labeler.toml").exists():
        t0 = time.perf_counter()
        make_workspace(root, args.features, args.nonzeros, args.examples, args.files, args.seed)
        print(f"workspace: {root} written in {time.perf_counter() - t0:.1f} s")
    config = load_config(root / "labeler.toml")
    model = config.model()

    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    data = ModelData.open(model, config.paths.cache, rebuild=True)
    build = time.perf_counter() - t0
    rows = int(data.manifest["n_activation_rows"])
    print(
        f"build: {rows:,} activation rows ({data.n_nonzero:,} nonzero, {data.n_features:,} "
        f"features, {data.n_examples:,} examples) in {build:.2f} s = {rows / build / 1e6:.2f} M rows/s"
    )

    cpu = sum(data.manifest["stage_cpu_seconds"].values())
    print(f"build stages, wall s: {data.manifest['stage_seconds']}")
    print(f"build stages, CPU s:  {data.manifest['stage_cpu_seconds']}")
    print(
        f"build CPU time {cpu:.2f} s (all threads) = {rows / cpu / 1e6:.2f} M rows per CPU-second"
    )
    counts = data.nonzero_counts
    alive = np.nonzero(counts)[0]
    by_count = alive[np.argsort(counts[alive], kind="stable")]
    picks = {
        "small": int(by_count[0]),
        "median": int(by_count[len(by_count) // 2]),
        "largest": int(by_count[-1]),
    }
    glob = str(root / "data/activations/*.parquet")
    print(
        f"{'feature':>9} {'size':>8} {'count':>8} {'index p50':>10} {'index p95':>10} "
        f"{'naive p50':>10} {'ratio p50':>10} {'ratio p95':>10}"
    )
    results = {}
    for label, f in picks.items():
        timings = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            fa = data.feature(f)
            # what the naive query returns too: the activations and the example ids
            float(fa.activations[-1]) if len(fa) else 0.0
            fa.example_ids  # noqa: B018
            timings.append(time.perf_counter() - t)
        naive = []
        for _ in range(args.naive_repeats):
            t = time.perf_counter()
            frame = pl.scan_parquet(glob).filter(pl.col("feature_id") == f).collect()
            naive.append(time.perf_counter() - t)
        assert frame.filter(pl.col("activation") > 0).height == len(fa)
        p50, p95 = percentile(timings, 50), percentile(timings, 95)
        n50 = percentile(naive, 50)
        results[label] = (p50, p95, n50)
        print(
            f"{f:>9} {label:>8} {len(fa):>8,} {p50 * 1e3:>8.3f}ms {p95 * 1e3:>8.3f}ms "
            f"{n50 * 1e3:>8.1f}ms {n50 / p50:>9.0f}x {n50 / p95:>9.0f}x"
        )
    print(
        f"cores: {os.cpu_count()}, shared with other processes: load average {load:.2f} before "
        f"the build, {os.getloadavg()[0]:.2f} at the end"
    )


if __name__ == "__main__":
    main()
