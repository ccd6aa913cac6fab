"""Synthetic activation dumps of any size, written block by block in bounded memory.

An SAE run over a dataset writes its activations batch by batch: each block of examples holds
every feature active on them. This writes ``BLOCK_EXAMPLES`` examples a file: per feature f a
binomial count of its examples in the block (skewed, lognormal per-feature rates, 2% dead
features, the densest active on nearly every example), distinct examples within a feature, gamma
activations with ~5% zero rows, rows shuffled within the file. Memory: one block (~5M rows at
1 billion rows) at a time, whatever the total size.

Workspaces of several sizes share the files: a workspace of N blocks is a folder of symlinks to
the first N files (``link_workspace``), so 10M / 100M / 500M / 1B-row workspaces cost the disk of
the largest one only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import tomli_w

BLOCK_EXAMPLES = 4096
N_VOCAB = 200


def feature_rates(n_features: int, rows_per_example: float, seed: int) -> np.ndarray:
    """Per-feature probability of being active on an example, lognormal, <= 1, summing (in
    expectation) to ``rows_per_example``."""
    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0.0, 1.2, size=n_features)
    weights[rng.choice(n_features, size=n_features // 50, replace=False)] = 0.0
    scale = rows_per_example / weights.sum()
    for _ in range(50):  # the clip at 1 takes mass away: rescale until the sum is right
        rates = np.minimum(weights * scale, 1.0)
        scale *= rows_per_example / max(rates.sum(), 1e-12)
    return np.minimum(weights * scale, 1.0)


def write_examples(data: Path, n_examples: int, seed: int) -> None:
    rng = np.random.default_rng(seed + 1)
    (data / "vocab.json").write_text(json.dumps([f"tok{i // 10}_{i % 10}" for i in range(N_VOCAB)]))
    lengths = rng.integers(4, 13, size=n_examples)
    flat = rng.integers(1, N_VOCAB, size=int(lengths.sum()), dtype=np.int32)
    groups = np.repeat(np.arange(n_examples), lengths)
    tokens = (
        pl.DataFrame({"t": flat, "g": groups}).group_by("g", maintain_order=True).agg("t")["t"]
    ).alias("tokens")
    pl.DataFrame(
        {
            "example_id": np.arange(n_examples, dtype=np.int64),
            "tokens": tokens,
            "weapon": rng.choice([f"weapon_{i}" for i in range(40)], size=n_examples),
        }
    ).write_parquet(data / "examples.parquet")


def write_block(path: Path, block: int, rates: np.ndarray, seed: int) -> int:
    """One file: the rows of examples ``block * BLOCK_EXAMPLES ...``; returns its row count."""
    rng = np.random.default_rng([seed, block])
    n_features = len(rates)
    counts = rng.binomial(BLOCK_EXAMPLES, rates).astype(np.int64)
    total = int(counts.sum())
    feature_ids = np.repeat(np.arange(n_features, dtype=np.int32), counts)
    starts = np.cumsum(counts) - counts
    k = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
    a = rng.integers(0, BLOCK_EXAMPLES, size=n_features)
    b = 2 * rng.integers(0, BLOCK_EXAMPLES // 2, size=n_features) + 1
    rows = (np.repeat(a, counts) + k * np.repeat(b, counts)) & (BLOCK_EXAMPLES - 1)
    activations = rng.gamma(2.0, 1.0, size=total).astype(np.float32)
    activations[rng.random(total) < 0.05] = 0.0
    perm = rng.permutation(total)
    pl.DataFrame(
        {
            "feature_id": feature_ids[perm],
            "example_id": rows[perm] + block * BLOCK_EXAMPLES,
            "activation": activations[perm],
        }
    ).write_parquet(path, row_group_size=1 << 20)
    return total


def generate(root: Path, n_features: int, rows: int, blocks: int, d: int, seed: int) -> None:
    """Write ``blocks`` files of about ``rows / blocks`` rows each under ``root/data``."""
    data = root / "data"
    parts = data / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    n_examples = blocks * BLOCK_EXAMPLES
    write_examples(data, n_examples, seed)
    rng = np.random.default_rng(seed + 2)
    decoder = np.lib.format.open_memmap(
        data / "decoder.npy", mode="w+", dtype=np.float32, shape=(n_features, d)
    )
    for start in range(0, n_features, 4096):  # in chunks: 131,072 x 2,304 is 1.2 GB
        stop = min(n_features, start + 4096)
        decoder[start:stop] = rng.normal(size=(stop - start, d))
    decoder.flush()
    del decoder
    rates = feature_rates(n_features, rows / n_examples, seed)
    written = 0
    for block in range(blocks):
        path = parts / f"part-{block:05d}.parquet"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            write_block(tmp, block, rates, seed)
            os.replace(tmp, path)
        written += pl.scan_parquet(path).select(pl.len()).collect().item()
        print(f"\r{block + 1}/{blocks} files, {written:,} rows", end="", flush=True)
    print()
    (data / "meta.json").write_text(json.dumps({"n_features": n_features, "blocks": blocks}))


def link_workspace(root: Path, name: str, blocks: int) -> Path:
    """A workspace ``root/name`` reading the first ``blocks`` files of ``root/data/parts``."""
    ws = root / name
    folder = ws / "activations"
    folder.mkdir(parents=True, exist_ok=True)
    for block in range(blocks):
        link = folder / f"part-{block:05d}.parquet"
        if not link.exists():
            link.symlink_to((root / "data" / "parts" / link.name).resolve())
    data = (root / "data").resolve()
    model = {
        "activations": "activations",
        "examples": str(data / "examples.parquet"),
        "vocab": str(data / "vocab.json"),
        "decoder": str(data / "decoder.npy"),
    }
    config = {"labeler": {"default_model": "bench"}, "models": {"bench": model}}
    (ws / "labeler.toml").write_bytes(tomli_w.dumps(config).encode())
    return ws
