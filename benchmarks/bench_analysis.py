"""Benchmark the analysis engine: overview, similar (3 methods), build-queue candidates.

Writes a synthetic workspace in the input format (vectorised numpy + polars): 24,576 features
with lognormal nonzero counts (~10M nonzeros) plus four planted features of exactly 1k, 10k,
100k and 1M nonzeros, 1.1M examples of 6-12 SplatNLP-like tokens (26 families x 5 AP levels +
11 main-only), `weapon` and `mode` metadata, a 24,576 x 512 float32 decoder and a 512 x 142
output matrix (over the vocab; for bench_evidence.py). Builds the index
(engineer A's ModelData), then times, warm, in this process:

- the one-time per-workspace precomputes (token/family sets, token profiles, MinHash);
- overview of the planted features (the cost table) and of the largest lognormal feature,
  cold (first view: no cached file) and warm (cached file) separately;
- similar features by decoder / tokens / coactivation for random live features;
- build_candidates("activation_count").

    python benchmarks/bench_analysis.py            # full size (a few minutes, ~2 GB disk)
    python benchmarks/bench_analysis.py --quick    # small smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthetic import write_activation_parts, write_bench_config, write_output_matrix

from labeler_tui.core.analysis.example_sets import example_sets  # noqa: E402
from labeler_tui.core.analysis.overview import feature_overview  # noqa: E402
from labeler_tui.core.analysis.overview_cache import MIN_NONZEROS, overview_path  # noqa: E402
from labeler_tui.core.analysis.packed_sets import packed_sets  # noqa: E402
from labeler_tui.core.analysis.queue_builders import build_candidates  # noqa: E402
from labeler_tui.core.analysis.similarity import similar_features  # noqa: E402
from labeler_tui.core.analysis.similarity_index import (  # noqa: E402
    minhash_signatures,
    token_profiles,
)
from labeler_tui.core.config import load_config  # noqa: E402
from labeler_tui.core.data import ModelData  # noqa: E402

FAMILIES = [
    "ink_saver_main", "ink_saver_sub", "ink_recovery_up", "run_speed_up", "swim_speed_up",
    "special_charge_up", "special_saver", "special_power_up", "quick_respawn",
    "quick_super_jump", "sub_power_up", "ink_resistance_up", "sub_resistance_up",
    "intensify_action", "bomb_defense", "main_power_up", "opening_boost", "closing_boost",
    "ink_armor", "tracking_up", "respawn_boost", "object_boost", "drift_up", "jump_boost",
    "splash_up", "ink_regen",
]  # fmt: skip
LEVELS = [3, 12, 29, 38, 57]
MAIN_ONLY = [
    "comeback", "stealth_jump", "ninja_squid", "respawn_punisher", "last_ditch_effort",
    "opening_gambit", "haunt", "tenacity", "thermal_ink", "drop_roller", "object_shredder",
]  # fmt: skip
PLANTED = (1_000, 10_000, 100_000, 1_000_000)


def make_workspace(
    root: Path, n_features: int, n_nonzeros: int, n_examples: int, seed: int
) -> Path:
    """The synthetic workspace; returns its labeler.toml. ``n_examples`` should be prime."""
    rng = np.random.default_rng(seed)
    data = root / "data"
    (data / "activations").mkdir(parents=True, exist_ok=True)
    vocab = ["<pad>"] + [f"{f}_{lv}" for f in FAMILIES for lv in LEVELS] + MAIN_ONLY
    (data / "vocab.json").write_text(json.dumps(vocab))

    lengths = rng.integers(6, 13, size=n_examples)
    flat = rng.integers(1, len(vocab), size=int(lengths.sum()), dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    tokens = pl.Series("tokens", flat).to_frame()
    tokens_list = (
        tokens.with_columns(pl.Series("g", np.repeat(np.arange(n_examples), lengths)))
        .group_by("g", maintain_order=True)
        .agg("tokens")["tokens"]
    )
    assert int(offsets[-1]) == len(flat)
    example_ids = 100 + 7 * np.arange(n_examples, dtype=np.int64)
    pl.DataFrame(
        {
            "example_id": example_ids,
            "tokens": tokens_list,
            "weapon": rng.choice([f"weapon_{i:02d}" for i in range(40)], size=n_examples),
            "mode": rng.choice(
                ["turf_war", "splat_zones", "tower", "rainmaker", "clams"], size=n_examples
            ),
        }
    ).write_parquet(data / "examples.parquet")

    n_planted = len(PLANTED)
    weights = rng.lognormal(0.0, 1.2, size=n_features - n_planted)
    weights[rng.choice(len(weights), size=len(weights) // 50, replace=False)] = 0  # dead
    counts = np.floor(weights / weights.sum() * n_nonzeros).astype(np.int64)
    counts = np.minimum(np.concatenate([counts, PLANTED]), n_examples)
    planted_ids = list(range(n_features - n_planted, n_features))
    # distinct rows per feature: k -> (a + k*b) mod p is injective for k < p (p prime)
    total = int(counts.sum())
    feature_ids = np.repeat(np.arange(n_features, dtype=np.int32), counts)
    starts = np.cumsum(counts) - counts
    k = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
    a = rng.integers(0, n_examples, size=n_features)[feature_ids]
    b = rng.integers(1, n_examples, size=n_features)[feature_ids]
    rows = (a + k * b) % n_examples
    activations = rng.gamma(2.0, 1.0, size=total).astype(np.float32)
    activations[rng.random(total) < 0.03] = 0.0  # zero rows, as in real dumps
    perm = rng.permutation(total)
    table = pl.DataFrame(
        {
            "feature_id": feature_ids[perm],
            "example_id": example_ids[rows[perm]],
            "activation": activations[perm],
        }
    )
    files = 4
    write_activation_parts(table, data / "activations", files)
    scale = rng.lognormal(0.0, 0.5, size=(n_features, 1)).astype(np.float32)
    decoder = rng.normal(size=(n_features, 512)).astype(np.float32) * scale
    np.save(data / "decoder.npy", decoder)
    write_output_matrix(root, decoder.shape[1], len(vocab), seed)
    write_bench_config(root)
    (root / "planted.json").write_text(
        json.dumps(dict(zip(map(str, PLANTED), planted_ids, strict=True)))
    )
    return root / "labeler.toml"


def timed(
    call: Callable[[], object], repeats: int, setup: Callable[[], object] | None = None
) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds of this process) per call, after one warm-up call;
    ``setup()`` runs before each call, untimed.

    The machine is shared: wall time includes waiting for a core, CPU time does not.
    """
    call()  # warm (page cache, memo)
    wall, cpu = [], []
    for _ in range(repeats):
        if setup is not None:
            setup()
        t, c = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu


def ms(values: list[float], q: float) -> float:
    return 1e3 * float(np.percentile(np.array(values), q))


def is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", type=int, default=24_576)
    parser.add_argument(
        "--nonzeros", type=int, default=10_000_000, help="lognormal features' nonzeros"
    )
    parser.add_argument("--examples", type=int, default=1_100_009, help="rounded up to a prime")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--queries", type=int, default=50, help="random features per method")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/_work"))
    parser.add_argument("--keep", action="store_true", help="reuse the workspace if present")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.features, args.nonzeros, args.examples, args.repeats = 2048, 500_000, 1_000_003, 10
    while not is_prime(args.examples):
        args.examples += 1

    root = args.workdir / f"analysis-{args.features}-{args.nonzeros}-{args.examples}"
    if root.exists() and not args.keep:
        shutil.rmtree(root)
    if not (root / "labeler.toml").exists():
        t0 = time.perf_counter()
        make_workspace(root, args.features, args.nonzeros, args.examples, args.seed)
        print(f"workspace written in {time.perf_counter() - t0:.1f} s: {root}")
    config = load_config(root / "labeler.toml")
    t0 = time.perf_counter()
    data = ModelData.open(config.model(), config.paths.cache)
    print(f"index ready in {time.perf_counter() - t0:.1f} s: {data}")
    planted = {int(k): v for k, v in json.loads((root / "planted.json").read_text()).items()}

    print("\none-time precomputes (per workspace, cached on disk):")
    for name, build in (
        ("token/family sets", lambda: example_sets(data)),
        ("packed code table", lambda: packed_sets(data)),
        ("all-example codes", lambda: packed_sets(data).every_row_histogram()),
        ("token profiles", lambda: token_profiles(data)),
        ("minhash signatures", lambda: minhash_signatures(data)),
    ):
        t = time.perf_counter()
        build()
        print(f"  {name:<20} {time.perf_counter() - t:7.2f} s")

    counts = np.asarray(data.nonzero_counts)
    lognormal = counts.copy()
    lognormal[list(planted.values())] = 0
    largest_lognormal = int(np.argmax(lognormal))

    print(
        f"\noverview, {args.repeats} repeats, in ms. cold: the feature's first view (no cached "
        f"file; computed, then saved); warm: its file is cached (features of >= "
        f"{MIN_NONZEROS:,} nonzeros only; smaller ones are always computed)"
    )
    print(
        f"  {'feature':>8} {'nonzeros':>10} {'cold p50':>9} {'p95':>7} {'cpu p50':>8}"
        f" {'warm p50':>9} {'p95':>7} {'cpu p50':>8}"
    )
    rows = [(f, int(counts[f])) for f in planted.values()] + [
        (largest_lognormal, int(counts[largest_lognormal]))
    ]
    for f, n in rows:
        path = overview_path(data, f)
        wall, cpu = timed(
            lambda f=f: feature_overview(data, f),
            args.repeats,
            setup=lambda path=path: path.unlink(missing_ok=True),
        )
        line = f"  {f:>8} {n:>10,} {ms(wall, 50):9.2f} {ms(wall, 95):7.2f} {ms(cpu, 50):8.2f}"
        if n >= MIN_NONZEROS:
            wall, cpu = timed(lambda f=f: feature_overview(data, f), args.repeats)
            line += f" {ms(wall, 50):9.2f} {ms(wall, 95):7.2f} {ms(cpu, 50):8.2f}"
        else:
            line += f" {'(not cached)':>26}"
        print(line)

    rng = np.random.default_rng(1)
    alive = np.flatnonzero(counts)
    queries = rng.choice(alive, size=min(args.queries, len(alive)), replace=False)
    print(f"\nsimilar features, top 10 ({len(queries)} random live features, warm):")
    for method in ("decoder", "tokens", "coactivation"):
        similar_features(data, int(queries[0]), method)  # warm caches
        wall, cpu = [], []
        for f in queries:
            t, c = time.perf_counter(), time.process_time()
            similar_features(data, int(f), method, top_k=10)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        print(
            f"  {method:<13} p50 {ms(wall, 50):7.2f} ms   p95 {ms(wall, 95):7.2f} ms   "
            f"cpu p50 {ms(cpu, 50):7.2f} ms"
        )
    most = 0.0
    for f in planted.values():
        t = time.perf_counter()
        similar_features(data, f, "coactivation", top_k=10)
        most = max(most, time.perf_counter() - t)
    print(f"  coactivation of the planted 1k..1M features: max {1e3 * most:.1f} ms")

    print()
    for label, top_k in (("top 50", 50), ("all", None)):
        wall, cpu = timed(
            lambda top_k=top_k: build_candidates(
                data, "activation_count", labels={}, excluded=set(), top_k=top_k
            ),
            args.repeats,
        )
        print(
            f"build_candidates(activation_count, {label:>6}): p50 {ms(wall, 50):.2f} ms, "
            f"p95 {ms(wall, 95):.2f} ms, cpu p50 {ms(cpu, 50):.2f} ms"
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\ncores: {os.cpu_count()}, load average {load} (shared with other processes)")


if __name__ == "__main__":
    main()
