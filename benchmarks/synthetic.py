"""Shared pieces of the benchmarks' synthetic workspaces (input files in the documented format)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import tomli_w


def write_activation_parts(table: pl.DataFrame, folder: Path, files: int) -> None:
    """Split the activation rows into ``files`` parquet files, as real dumps come."""
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, table.height, files + 1).astype(int)
    for i in range(files):
        table.slice(bounds[i], bounds[i + 1] - bounds[i]).write_parquet(
            folder / f"part-{i:03d}.parquet"
        )


def write_output_matrix(root: Path, d: int, n_out: int, seed: int = 0) -> Path:
    """An output (unembedding) matrix [d, n_out] at ``root/data/output.npy``, float32."""
    path = root / "data" / "output.npy"
    rng = np.random.default_rng(seed)
    np.save(path, rng.normal(0.0, 1.0 / np.sqrt(d), size=(d, n_out)).astype(np.float32))
    return path


def write_bench_config(root: Path, output: bool = True) -> Path:
    """labeler.toml of a one-model ("bench") workspace laid out under ``root/data`` (with
    ``data/output.npy`` as its output matrix when ``output``)."""
    model = {
        "activations": "data/activations",
        "examples": "data/examples.parquet",
        "vocab": "data/vocab.json",
        "decoder": "data/decoder.npy",
    }
    if output:
        model["output"] = "data/output.npy"
    config = {"labeler": {"default_model": "bench"}, "models": {"bench": model}}
    (root / "labeler.toml").write_bytes(tomli_w.dumps(config).encode())
    return root / "labeler.toml"
