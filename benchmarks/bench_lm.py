"""Benchmark a language-model SAE: a Delphi latent cache imported in place, then contexts.

Writes a Delphi-format cache (``latents/{hookpoint}/{start}_{end}.safetensors``: ``locations``
uint16 [N, 3] as (seq, pos, latent - start) in batch order, ``activations`` float16,
``tokens`` [n_seq, ctx_len] in every file; ``config.json``) of ``--sequences x --ctx-len``
tokens, ``--latents`` latents and ``--active`` distinct latents per token (skewed popularity),
and a word-level ``tokenizer.json`` of a GPT-2-sized vocabulary. Then, each step in its own
process so its peak memory (max RSS) is its own:

1. ``import``: ``labeler import delphi`` into a new workspace (no labeler.toml), which builds
   the index from the cache in place: wall time, CPU time, peak RSS;
2. ``contexts``: ``feature_contexts`` (k = 10, window 24,4) of every region of 60 features
   spread over the popularity range, top and seeded samples, after one warm-up call per
   feature; p50 / p95 over the calls;
3. ``tokens``: the sparse token profiles (``tokens`` similarity) built: time, peak RSS, size
   on disk, and one query.

    python benchmarks/bench_lm.py                          # 1,048,576 tokens x 16,384 x 50
    python benchmarks/bench_lm.py --sequences 512 --quick  # smoke run
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HOOK = "layers.6"


def write_cache(root: Path, n_seq: int, ctx_len: int, n_latents: int, active: int) -> dict:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    vocab = 50_257
    words = [f"w{i}" for i in range(vocab)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "tokenizer.json").write_text(
        json.dumps(
            {
                "version": "1.0",
                "truncation": None,
                "padding": None,
                "added_tokens": [],
                "normalizer": None,
                "pre_tokenizer": {"type": "WhitespaceSplit"},
                "post_processor": None,
                "decoder": None,
                "model": {
                    "type": "WordLevel",
                    "vocab": {w: i for i, w in enumerate(words)},
                    "unk_token": "w0",
                },
            }
        )
    )
    zipf = rng.zipf(1.2, size=n_seq * ctx_len) % vocab
    tokens = zipf.reshape(n_seq, ctx_len).astype(np.int64)
    # `active` distinct latents per token: a skewed start h, an odd step (coprime with a power
    # of two), scattered by a fixed permutation
    perm = rng.permutation(n_latents)
    n_splits = 8
    per_split = n_latents // n_splits
    parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(n_splits)]
    chunk = 1 << 14
    n_tok = n_seq * ctx_len
    for start in range(0, n_tok, chunk):
        stop = min(start + chunk, n_tok)
        m = stop - start
        # the first latent of a token: half the time one dense latent (active on half of all
        # tokens, as real SAEs have), a fifth of the time one of 16 hot ones, else long-tailed
        u = rng.random(m)
        h = (rng.lognormal(0.0, 1.5, size=m) * 500).astype(np.int64) % n_latents
        h = np.where(u < 0.5, 0, np.where(u < 0.7, rng.integers(1, 17, size=m), h))
        step = rng.integers(0, n_latents // 2, size=m) * 2 + 1
        lat = perm[(h[:, None] + np.arange(active)[None, :] * step[:, None]) % n_latents]
        flat = np.repeat(np.arange(start, stop), active)
        lat = lat.reshape(-1)
        seq, pos = np.divmod(flat, ctx_len)
        act = rng.gamma(2.0, 1.5, size=len(lat)).astype(np.float16) + np.float16(0.01)
        split = lat // per_split
        for s in range(n_splits):
            keep = split == s
            parts[s].append((seq[keep], pos[keep], lat[keep] - s * per_split, act[keep]))
    folder = root / "latents" / HOOK
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for s in range(n_splits):
        seq = np.concatenate([p[0] for p in parts[s]])
        pos = np.concatenate([p[1] for p in parts[s]])
        lat = np.concatenate([p[2] for p in parts[s]])
        act = np.concatenate([p[3] for p in parts[s]])
        parts[s] = []
        dtype = np.uint16 if max(n_seq, ctx_len, per_split) <= 65_536 else np.uint32
        locations = np.stack([seq, pos, lat], axis=1).astype(dtype)
        save_file(
            {"locations": locations, "activations": act, "tokens": tokens},
            str(folder / f"{s * per_split}_{(s + 1) * per_split - 1}.safetensors"),
        )
        total += len(act)
    (folder / "config.json").write_text(
        json.dumps(
            {
                "cache_ctx_len": ctx_len,
                "n_tokens": n_tok,
                "n_splits": n_splits,
                "dataset_repo": "synthetic",
                "model_name": "synthetic",
            }
        )
    )
    size = sum(p.stat().st_size for p in folder.iterdir())
    return {"tokens": n_tok, "latents": n_latents, "nonzeros": total, "cache_bytes": size}


def step_import(root: Path) -> dict:
    from labeler_tui.importers import run_import

    ws = root / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir()
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_import("delphi", root, workspace=str(ws), tokenizer=str(root / "tokenizer.json"))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    (model,) = result.models
    return {"wall_s": wall, "cpu_s": cpu, "n_nonzero": model["n_nonzero"], **_rss()}


def _data(root: Path):
    from labeler_tui.core.workspace import Workspace

    return Workspace.open(root / "ws").data(HOOK)


def step_contexts(root: Path, quick: bool) -> dict:
    from labeler_tui.core.analysis.regions import REGION_NAMES
    from labeler_tui.core.evidence.contexts import feature_contexts

    data = _data(root)
    counts = np.array([data.feature(f).activations.shape[0] for f in range(data.n_features)])
    order = np.argsort(counts)
    live = order[counts[order] > 0]
    picks = live[np.linspace(0, len(live) - 1, 12 if quick else 60).round().astype(int)]
    times: dict[str, list[float]] = {"top": [], "sample": []}
    for f in picks:
        f = int(f)
        feature_contexts(data, f, "top", 10)  # warm-up: the feature's position index
        for region in ("top", *REGION_NAMES):
            for sample in (False, True):
                t0 = time.perf_counter()
                feature_contexts(data, f, region, 10, sample=sample)
                times["sample" if sample else "top"].append(time.perf_counter() - t0)
    out: dict = {"features": len(picks), "largest_nonzero": int(counts.max())}
    every = times["top"] + times["sample"]
    for name, values in (*times.items(), ("all", every)):
        ms = 1000 * np.asarray(values)
        out[name] = {
            "calls": len(ms),
            "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)),
            "max_ms": float(ms.max()),
        }
    # the largest feature alone, cold (its position index made in the call)
    big = int(order[-1])
    t0 = time.perf_counter()
    feature_contexts(data, big, "core", 10)
    out["largest_cold_ms"] = 1000 * (time.perf_counter() - t0)
    return {**out, **_rss()}


def step_tokens(root: Path) -> dict:
    from labeler_tui.core.analysis.similarity import similar_features

    data = _data(root)
    t0 = time.perf_counter()
    similar_features(data, 1, "tokens", top_k=10)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    similar_features(data, 2, "tokens", top_k=10)
    query = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in (root / "ws").rglob("token_profiles_v4_*"))
    return {"build_s": build, "query_ms": 1000 * query, "profiles_bytes": size, **_rss()}


def _rss() -> dict:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the
    parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return {"peak_rss_mb": int(line.split()[1]) / 1024}
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", type=Path, default=Path(__file__).resolve().parent / "_work" / "lm"
    )
    parser.add_argument("--sequences", type=int, default=4096)
    parser.add_argument("--ctx-len", type=int, default=256)
    parser.add_argument("--latents", type=int, default=16_384)
    parser.add_argument("--active", type=int, default=50)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--step", choices=("import", "contexts", "tokens"), help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="reuse a cache already written")
    args = parser.parse_args()
    if args.step:
        result = {
            "import": lambda: step_import(args.root),
            "contexts": lambda: step_contexts(args.root, args.quick),
            "tokens": lambda: step_tokens(args.root),
        }[args.step]()
        print(json.dumps(result))
        return
    if not (args.keep and (args.root / "latents").is_dir()):
        shutil.rmtree(args.root, ignore_errors=True)
        t0 = time.perf_counter()
        info = write_cache(args.root, args.sequences, args.ctx_len, args.latents, args.active)
        info["write_s"] = time.perf_counter() - t0
        print("cache", json.dumps(info), flush=True)
    for step in ("import", "contexts", "tokens"):
        argv = [sys.executable, __file__, "--root", str(args.root), "--step", step]
        if args.quick:
            argv.append("--quick")
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        print(step, out.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
