"""Benchmark the evidence: examples of a region, hypothesis expressions, output effects.

Uses bench_analysis.py's synthetic workspace (24,576 features, ~10.8M nonzeros, planted features
of 1k, 10k, 100k and 1M nonzeros, 1.1M examples, a 512-d decoder and a 512 x 142 output matrix
over the vocab); writes it first if missing (same arguments, same folder). Times, in this
process, wall and CPU:

- the one-time tables: token postings (per workspace, cached on disk) and one feature's
  per-region token counts (per feature; cached in memory and, for >= 50k nonzeros, on disk);
- ``feature_examples`` of each region of the planted features: top 10 and a seeded sample of
  10, warm (counts cached), and of the 1M feature's core with a ``where`` expression;
- ``score_hypothesis`` of expressions over the 1M-nonzero feature: *new* (the expression's
  whole-dataset mask computed in the call, as when a user types it) and *cached* (the mask
  kept, as for the next feature with the same expression);
- ``output_effects`` (top 10 promoted and suppressed) of random features, with the vocab-sized
  output matrix and with a 50,257-output one (a language model's vocabulary, for scale).

    python benchmarks/bench_evidence.py            # full size (uses or writes the workspace)
    python benchmarks/bench_evidence.py --quick    # small smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_analysis import is_prime, make_workspace, ms, timed  # noqa: E402
from synthetic import write_output_matrix  # noqa: E402

from labeler_tui.core.analysis.derived import cache_folder  # noqa: E402
from labeler_tui.core.analysis.example_sets import example_sets  # noqa: E402
from labeler_tui.core.analysis.packed_sets import packed_sets  # noqa: E402
from labeler_tui.core.config import load_config  # noqa: E402
from labeler_tui.core.data import ModelData  # noqa: E402
from labeler_tui.core.evidence import region_counts  # noqa: E402
from labeler_tui.core.evidence.effects import output_effects, output_matrix  # noqa: E402
from labeler_tui.core.evidence.examples import REGION_CHOICES, feature_examples  # noqa: E402
from labeler_tui.core.evidence.expressions import compile_expression  # noqa: E402
from labeler_tui.core.evidence.hypothesis import score_hypothesis  # noqa: E402
from labeler_tui.core.evidence.masks import (  # noqa: E402
    POSTINGS_NAMES,
    mask_cache,
    token_postings,
)

EXPRESSIONS = (
    "respawn_punisher",
    "special_charge_up>=29",
    "special_charge_up>=29 AND NOT weapon=weapon_07",
    "(swim_speed_up OR ink_saver_main) AND NOT (comeback OR mode=turf_war)",
)


def line(label: str, wall: list[float], cpu: list[float]) -> str:
    return (
        f"  {label:<58} p50 {ms(wall, 50):7.2f}  p95 {ms(wall, 95):7.2f}  "
        f"cpu p50 {ms(cpu, 50):7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", type=int, default=24_576)
    parser.add_argument("--nonzeros", type=int, default=10_000_000)
    parser.add_argument("--examples", type=int, default=1_100_009)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/_work"))
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.features, args.nonzeros, args.examples, args.repeats = 2048, 500_000, 1_000_003, 10
    while not is_prime(args.examples):
        args.examples += 1

    root = args.workdir / f"analysis-{args.features}-{args.nonzeros}-{args.examples}"
    if not (root / "labeler.toml").exists():
        if root.exists():
            shutil.rmtree(root)
        t0 = time.perf_counter()
        make_workspace(root, args.features, args.nonzeros, args.examples, args.seed)
        print(f"workspace written in {time.perf_counter() - t0:.1f} s: {root}")
    if not (root / "data" / "output.npy").exists():  # a workspace of an older bench_analysis
        write_output_matrix(root, 512, 142, args.seed)
    config = load_config(root / "labeler.toml")
    t0 = time.perf_counter()
    data = ModelData.open(config.model(), config.paths.cache)
    print(f"index ready in {time.perf_counter() - t0:.1f} s: {data}")
    planted = {int(k): v for k, v in json.loads((root / "planted.json").read_text()).items()}
    big = planted[max(planted)]
    counts = np.asarray(data.nonzero_counts)

    print("\none-time tables:")
    for name in POSTINGS_NAMES:  # time the build, not a read of an earlier run's files
        (cache_folder(data) / f"{name}.npy").unlink(missing_ok=True)
    example_sets(data)
    packed_sets(data)  # the per-workspace tables the overview builds too, untimed
    t = time.perf_counter()
    token_postings(data)
    print(f"  token postings (per workspace, then cached)    {time.perf_counter() - t:7.2f} s")
    for f in sorted(planted.values(), key=lambda f: counts[f]):
        region_counts.forget(data, f)
        t = time.perf_counter()
        feature_examples(data, f, "core", 10)
        print(
            f"  first examples of feature {f} ({counts[f]:,} nonzeros): "
            f"{1e3 * (time.perf_counter() - t):7.2f} ms (counts its regions' tokens once)"
        )

    print(f"\nexamples, k = 10, {args.repeats} repeats, warm (region counts kept):")
    for f in sorted(planted.values(), key=lambda f: counts[f]):
        for region in REGION_CHOICES:
            size = feature_examples(data, f, region, 1).count
            wall, cpu = timed(lambda f=f, r=region: feature_examples(data, f, r, 10), args.repeats)
            print(line(f"{f} ({counts[f]:,}) {region} ({size:,}) top", wall, cpu))
            wall, cpu = timed(
                lambda f=f, r=region: feature_examples(data, f, r, 10, sample=True, seed=3),
                args.repeats,
            )
            print(line(f"{f} ({counts[f]:,}) {region} ({size:,}) sample", wall, cpu))
    for text in EXPRESSIONS[1:3]:
        wall, cpu = timed(
            lambda t=text: feature_examples(data, big, "core", 10, where=t),
            args.repeats,
            setup=lambda: mask_cache(data).clear(),
        )
        print(line(f"{big} core where {text!r}", wall, cpu))

    print(
        f"\nhypothesis over feature {big} ({counts[big]:,} nonzeros; off rate over "
        f"{data.n_examples - counts[big]:,} zero examples), {args.repeats} repeats:"
    )
    for text in EXPRESSIONS:
        compiled = compile_expression(data, text)
        wall, cpu = timed(
            lambda t=text: score_hypothesis(data, big, t),
            args.repeats,
            setup=lambda: mask_cache(data).clear(),
        )
        print(line(f"new   {text!r}", wall, cpu))
        wall, cpu = timed(lambda c=compiled: score_hypothesis(data, big, c), args.repeats)
        print(line(f"kept  {text!r}", wall, cpu))
    result = score_hypothesis(data, big, EXPRESSIONS[2])
    print(
        f"  (e.g. {EXPRESSIONS[2]!r}: core {result.coverage['core']:.1f}%, off rate "
        f"{result.off_rate:.1f}%, score {result.score:.3f})"
    )

    rng = np.random.default_rng(1)
    sample = rng.choice(data.n_features, size=200, replace=False)
    matrix = output_matrix(data)
    print(f"\noutput effects, top 10 each, 200 random features (d = {matrix.width}):")
    for label in (f"{matrix.n_outputs} outputs (the vocab)", "50,257 outputs"):
        if label.startswith("50,257"):
            out = root / "data" / "output_50k.npy"
            if not out.exists():
                np.save(out, np.random.default_rng(2).normal(size=(512, 50_257)).astype(np.float32))
            vocab = root / "data" / "output_50k_vocab.json"
            vocab.write_text(json.dumps([f"out_{i}" for i in range(50_257)]))
            model = replace(config.model(), output=out, output_vocab=vocab)
            data = ModelData.open(model, config.paths.cache)  # the same index, another output
        output_effects(data, int(sample[0]))
        wall, cpu = [], []
        for f in sample:
            t, c = time.perf_counter(), time.process_time()
            output_effects(data, int(f))
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        print(line(label, wall, cpu))

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\ncores: {os.cpu_count()}, load average {load} (shared with other processes)")


if __name__ == "__main__":
    main()
