"""Writing the demo workspace: input files, labeler.toml and truth.json, all or nothing.

Everything is written into a temporary folder beside the target and moved into place at the
end, so a killed run leaves no half-written demo (at worst a hidden ``.NAME.*.tmp`` folder).
Output is a pure function of (seed, scale): same bytes every time.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import tomli_w

from labeler_tui.core.config import CONFIG_NAME, DEFAULT_CATEGORIES, DEFAULT_TOKEN_FAMILY
from labeler_tui.core.data import ProgressCallback
from labeler_tui.core.errors import ValidationError
from labeler_tui.demo.builds import Builds, generate_builds
from labeler_tui.demo.catalog import vocab_names
from labeler_tui.demo.decoder import decoder_matrix
from labeler_tui.demo.effects import output_matrix
from labeler_tui.demo.model import FULL, ULTRA, ModelRows, ModelSpec, build_model
from labeler_tui.demo.text_model import config_table as text_config_table
from labeler_tui.demo.text_model import write_text_model

N_EXAMPLES = 32_000
MIN_SCALE = 0.05
"""Smallest ``scale`` at which every truth.json guarantee still holds (pools get too small)."""
TRUTH_NAME = "truth.json"
MODELS: tuple[ModelSpec, ...] = (ULTRA, FULL)
TEXT_MODEL = "text"

_HEADER = """\
# labeler-tui demo workspace, written by `labeler demo` (seed {seed}).
# Splatoon-3-like gear builds: ability tokens with AP levels, main-only abilities and the
# weapon and mode of each build. Two models, `ultra` (24,576 features) and `full` (2,048).
# truth.json lists the structure planted in the data: general features, super-stimuli,
# tail markers, clusters of near-duplicate features, dead and weak features.
# A third model, `text`, is a language-model-like sequence model (kind = "sequence"):
# generated documents, a word-level tokenizer.json, features planted on token contexts.
# Paths are relative to this file. See config.example.toml in the repository for every key.

"""


def _config(seed: int) -> str:
    models = {
        spec.name: {
            "activations": f"data/{spec.name}/activations",
            "examples": "data/examples.parquet",
            "vocab": "data/vocab.json",
            "decoder": f"data/{spec.name}/decoder.npy",
            "token_family": DEFAULT_TOKEN_FAMILY,
            "output": f"data/{spec.name}/output.npy",
        }
        for spec in MODELS
    }
    models[TEXT_MODEL] = text_config_table(f"data/{TEXT_MODEL}")
    config = {
        "labeler": {
            "default_model": ULTRA.name,
            "source": "dashboard",
            "categories": list(DEFAULT_CATEGORIES),
        },
        "models": models,
    }
    return _HEADER.format(seed=seed) + tomli_w.dumps(config)


def _write_activations(folder: Path, model: ModelRows, builds: Builds, n_files: int) -> None:
    """Rows ordered by example then feature (as a dump written batch by batch), split by
    example range over ``n_files`` parquet files."""
    folder.mkdir(parents=True)
    order = np.lexsort((model.feature_ids, model.rows))
    frame = pl.DataFrame(
        {
            "feature_id": model.feature_ids[order],
            "example_id": builds.example_ids[model.rows[order]],
            "activation": model.activations[order],
        },
        schema={"feature_id": pl.Int32, "example_id": pl.Int64, "activation": pl.Float32},
    )
    bounds = np.linspace(0, frame.height, n_files + 1).astype(np.int64)
    for i in range(n_files):
        part = frame.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i]))
        part.write_parquet(folder / f"part-{i:03d}.parquet", compression="zstd")


def _write_all(tmp: Path, seed: int, scale: float, progress: ProgressCallback) -> None:
    steps = 3 + 3 * len(MODELS)
    step = 0

    def done(stage: str) -> None:
        nonlocal step
        step += 1
        progress(f"demo: {stage}", step, steps)

    builds_seq, *model_seqs = np.random.SeedSequence(seed).spawn(1 + 2 * len(MODELS))
    effects_seqs = np.random.SeedSequence([seed, 1]).spawn(len(MODELS))
    data = tmp / "data"
    data.mkdir()
    vocab = vocab_names()
    (data / "vocab.json").write_text(
        json.dumps({name: i for i, name in enumerate(vocab)}, indent=1) + "\n"
    )
    builds = generate_builds(np.random.default_rng(builds_seq), int(N_EXAMPLES * scale))
    builds.frame().write_parquet(data / "examples.parquet", compression="zstd")
    done("examples")

    truth: dict[str, Any] = {"seed": seed, "models": {}}
    for i, spec in enumerate(MODELS):
        rows_rng = np.random.default_rng(model_seqs[2 * i])
        decoder_rng = np.random.default_rng(model_seqs[2 * i + 1])
        model = build_model(rows_rng, spec, builds, len(vocab), scale)
        done(f"{spec.name} features")
        _write_activations(data / spec.name / "activations", model, builds, spec.activation_files)
        done(f"{spec.name} activations")
        decoder = decoder_matrix(
            decoder_rng, spec.n_features, spec.d_model, model.clusters, spec.norm_quantiles
        )
        np.save(data / spec.name / "decoder.npy", decoder)
        output, effects = output_matrix(
            np.random.default_rng(effects_seqs[i]), decoder, model.truth, vocab
        )
        # one model stores [d, n_out] (W_U), the other [n_out, d] (a torch Linear's weight)
        np.save(
            data / spec.name / "output.npy",
            output if spec.output_rows_are_d else np.ascontiguousarray(output.T),
        )
        done(f"{spec.name} decoder")
        truth["models"][spec.name] = {**model.truth, "effects": effects}

    text_rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    truth["models"][TEXT_MODEL] = write_text_model(data / TEXT_MODEL, text_rng, scale)
    done(f"{TEXT_MODEL} documents")

    (tmp / TRUTH_NAME).write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    (tmp / CONFIG_NAME).write_text(_config(seed))
    done("config")


def _move_into_place(tmp: Path, root: Path) -> None:
    """Rename the finished folder to ``root``; into an existing non-empty folder, replace only
    the demo's own entries, labeler.toml last (so a kill in between leaves no config)."""
    if not root.exists() or (root.is_dir() and not any(root.iterdir())):
        if root.exists():
            root.rmdir()
        os.rename(tmp, root)
        return
    (root / CONFIG_NAME).unlink(missing_ok=True)
    for name in ("data", TRUTH_NAME):
        target = root / name
        if target.is_dir():
            os.rename(target, tmp / f".old-{name}")
        elif target.exists():
            target.unlink()
        os.rename(tmp / name, target)
    os.replace(tmp / CONFIG_NAME, root / CONFIG_NAME)
    shutil.rmtree(tmp)


def write_demo(
    root: Path,
    progress: ProgressCallback | None = None,
    seed: int = 0,
    scale: float = 1.0,
) -> Path:
    """Write the demo workspace into ``root`` and return its labeler.toml.

    ``scale`` (MIN_SCALE..1) shrinks the example count and per-feature nonzero counts (not the
    feature counts) for quick tests; every truth.json guarantee holds at any scale in range. The
    default is the embedded demo.
    """
    root = Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise ValidationError(f"{root}: exists and is not a directory")
    if not MIN_SCALE <= scale <= 1:
        raise ValidationError(f"demo scale must be in [{MIN_SCALE}, 1], got {scale}")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))
    try:
        _write_all(tmp, seed, scale, progress or (lambda stage, done, total: None))
        _move_into_place(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root / CONFIG_NAME
