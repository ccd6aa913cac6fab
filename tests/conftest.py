"""Shared fixtures. Tests never see the developer's machine: no $LABELER_WORKSPACE, the demo
goes to a temporary data dir, and the working directory holds no labeler.toml."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import tomli_w


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.delenv("LABELER_WORKSPACE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))  # the app's error log
    monkeypatch.chdir(home)


TINY_FAMILIES = ["swim_speed_up", "ink_saver_main", "run_speed_up", "quick_respawn"]
TINY_LEVELS = [3, 6, 12, 21, 29, 57]
TINY_MAIN_ONLY = ["comeback", "stealth_jump", "ninja_squid"]
TINY_WEAPONS = ["splattershot", "hydra", "bloblobber", "dualies"]


def tiny_vocab() -> list[str]:
    names = ["<pad>"]
    names += [f"{fam}_{lvl}" for fam in TINY_FAMILIES for lvl in TINY_LEVELS]
    names += TINY_MAIN_ONLY
    return names


def write_tiny_workspace(
    root: Path,
    n_features: int = 12,
    n_examples: int = 400,
    seed: int = 0,
    example_id_offset: int = 1000,
    example_id_step: int = 7,
    activation_files: int = 1,
    with_decoder: bool = True,
    extra_config: dict[str, Any] | None = None,
) -> Path:
    """A small hand-made workspace in the documented input format; returns labeler.toml's path.

    Non-contiguous example ids (offset + step*i), shuffled activation rows (some <= 0), a
    `weapon` metadata column, a list vocab and a [n_features, 8] decoder.
    """
    rng = np.random.default_rng(seed)
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    vocab = tiny_vocab()
    (data / "vocab.json").write_text(json.dumps(vocab))
    example_ids = example_id_offset + example_id_step * np.arange(n_examples)
    tokens = [
        sorted(
            rng.choice(np.arange(1, len(vocab)), size=rng.integers(2, 7), replace=False).tolist()
        )
        for _ in range(n_examples)
    ]
    weapons = rng.choice(TINY_WEAPONS, size=n_examples).tolist()
    pl.DataFrame(
        {"example_id": example_ids, "tokens": tokens, "weapon": weapons},
        schema={"example_id": pl.Int64, "tokens": pl.List(pl.Int32), "weapon": pl.Utf8},
    ).write_parquet(data / "examples.parquet")

    feats, exs, acts = [], [], []
    for f in range(n_features - 1):  # the last feature is dead
        k = int(rng.integers(5, n_examples // 2))
        chosen = rng.choice(example_ids, size=k, replace=False)
        values = rng.gamma(2.0, 1.0, size=k).astype(np.float32)
        values[: max(1, k // 10)] = -np.abs(values[: max(1, k // 10)])  # some non-positive rows
        values[0] = 0.0
        feats.append(np.full(k, f))
        exs.append(chosen)
        acts.append(values)
    frame = pl.DataFrame(
        {
            "feature_id": np.concatenate(feats).astype(np.int32),
            "example_id": np.concatenate(exs).astype(np.int64),
            "activation": np.concatenate(acts).astype(np.float32),
        }
    ).sample(fraction=1.0, shuffle=True, seed=seed)
    act_dir = data / "activations"
    act_dir.mkdir(exist_ok=True)
    bounds = np.linspace(0, frame.height, activation_files + 1).astype(int)
    for i in range(activation_files):
        frame.slice(bounds[i], bounds[i + 1] - bounds[i]).write_parquet(
            act_dir / f"part-{i:03d}.parquet"
        )

    model: dict[str, Any] = {
        "activations": "data/activations",
        "examples": "data/examples.parquet",
        "vocab": "data/vocab.json",
    }
    if with_decoder:
        np.save(data / "decoder.npy", rng.normal(size=(n_features, 8)).astype(np.float32))
        model["decoder"] = "data/decoder.npy"
    config: dict[str, Any] = {
        "labeler": {"default_model": "tiny", "source": "dashboard", "owner": "tester"},
        "models": {"tiny": model},
    }
    for key, value in (extra_config or {}).items():
        config.setdefault(key, {}).update(value)
    path = root / "labeler.toml"
    path.write_bytes(tomli_w.dumps(config).encode())
    return path


@pytest.fixture
def tiny_workspace(tmp_path: Path) -> Path:
    """Path of a fresh tiny workspace folder (see write_tiny_workspace)."""
    write_tiny_workspace(tmp_path / "ws")
    return tmp_path / "ws"


@pytest.fixture
def make_tiny_workspace(tmp_path: Path) -> Callable[..., Path]:
    """Factory: make_tiny_workspace(name="ws", **options) -> workspace folder."""

    def make(name: str = "ws", **options: Any) -> Path:
        write_tiny_workspace(tmp_path / name, **options)
        return tmp_path / name

    return make
