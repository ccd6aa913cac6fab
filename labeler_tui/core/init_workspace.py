"""``labeler init DIR``: a commented ``labeler.toml`` skeleton for the user's own data.

Each table is written with tomli-w (so values are always valid TOML) and each key gets a comment
saying what it means; once the user puts their files at the listed paths (or edits them),
:func:`labeler_tui.core.config.load_config` reads it as is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomli_w

from labeler_tui.core.config import (
    CONFIG_NAME,
    DEFAULT_CATEGORIES,
    DEFAULT_SKIP_REASONS,
    DEFAULT_TOKEN_FAMILY,
)
from labeler_tui.core.errors import ValidationError

DEFAULT_MODEL_NAME = "main"

_HEADER = """\
# labeler.toml: a labeler-tui workspace (written by `labeler init`).
# Paths are relative to this file. Put your data at the paths below (or change them), then run
# `labeler index` to build the activation index and `labeler-tui` to start labeling.
# See config.example.toml in the labeler-tui repository for every key.
"""

_COMMENTS: dict[str, dict[str, str]] = {
    "labeler": {
        "default_model": "the model used when --model is not given",
        "source": "provenance written for labels saved in the TUI",
        "categories": "allowed label categories",
    },
    "paths": {
        "cache": "the derived activation index (safe to delete; rebuilt on use)",
        "labels": "consolidated_{model}.json, queue_{model}.json, history_{model}.jsonl",
        "dashboard": "feature_labels_{model}.json",
        "state": "{model}/feature_{id}_{model}.json research states",
    },
    "app": {
        "similar_method": "similar-features default (decoder when there is one, else tokens)",
        "claim_ttl_seconds": "how long the app's claim on the feature on screen lasts",
        "poll_interval_seconds": "how often the app looks for changes by other processes",
        "next_after_save": "open the next feature of the queue after a save",
        "skip_reasons": "preset skip reasons on the keys 1..9",
    },
    "model": {
        "activations": "parquet file, directory of them, or glob: feature_id, example_id, activation",
        "examples": "parquet: example_id (unique), tokens (list of token ids), metadata columns",
        "vocab": 'JSON: {"token_name": id} or a list of names (index = id)',
        "token_family": "regex whose group 1 names a token's family",
    },
}

_OWNER_LINE = '# owner = "alice"   # who holds queue claims (default: your login name)'

_TABLE_NOTES = {
    "labeler": "# General settings.",
    "paths": "# Where derived data and the label stores live.",
    "app": "# The interactive app.",
    "model": "# One [models.NAME] table per SAE model.",
}


def skeleton(model_name: str = DEFAULT_MODEL_NAME) -> str:
    """The text of a commented labeler.toml for one model called ``model_name``."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", model_name):
        raise ValidationError(
            f"--model: model name {model_name!r} may use only letters, digits, '_' and '-'"
        )
    tables: list[tuple[str, dict[str, Any], Any]] = [
        (
            "labeler",
            _COMMENTS["labeler"],
            {
                "labeler": {
                    "default_model": model_name,
                    "source": "dashboard",
                    "categories": list(DEFAULT_CATEGORIES),
                }
            },
        ),
        (
            "paths",
            _COMMENTS["paths"],
            {
                "paths": {
                    "cache": ".labeler-cache",
                    "labels": "labels",
                    "dashboard": "dashboard",
                    "state": "state",
                }
            },
        ),
        (
            "app",
            _COMMENTS["app"],
            {
                "app": {
                    "similar_method": "decoder",
                    "claim_ttl_seconds": 1800,
                    "poll_interval_seconds": 1.0,
                    "next_after_save": False,
                    "skip_reasons": list(DEFAULT_SKIP_REASONS),
                }
            },
        ),
        (
            "model",
            _COMMENTS["model"],
            {
                "models": {
                    model_name: {
                        "activations": f"data/{model_name}/activations",
                        "examples": f"data/{model_name}/examples.parquet",
                        "vocab": f"data/{model_name}/vocab.json",
                        "token_family": DEFAULT_TOKEN_FAMILY,
                    }
                }
            },
        ),
    ]
    parts = [_HEADER]
    for key, comments, table in tables:
        parts.append(_TABLE_NOTES[key])
        text = _commented(tomli_w.dumps(table), comments).rstrip("\n")
        if key == "labeler":
            text = text.replace("[labeler]\n", f"[labeler]\n{_OWNER_LINE}\n", 1)
        parts.append(text)
        if key == "model":
            parts.append(
                f'# decoder = "data/{model_name}/decoder.npy"   # optional: .npy [n_features, d] '
                "or .safetensors (W_dec / decoder.weight)"
            )
            parts.append(
                f'# output = "data/{model_name}/output.npy"   # optional, with a decoder: output '
                "matrix [d, n_out] or [n_out, d], for output effects"
            )
            parts.append(
                f'# output_vocab = "data/{model_name}/output_vocab.json"   # optional: output '
                "names (default: the vocab)"
            )
        parts.append("")
    parts.append("[aliases]   # optional: abbreviations for hypothesis expressions, e.g.")
    parts.append('# SCU = "special_charge_up"')
    parts.append("")
    parts.append("[keymap]   # optional: remap an action by its id, e.g.")
    parts.append('# next_feature = "n"')
    return "\n".join(parts) + "\n"


def _commented(text: str, comments: dict[str, str]) -> str:
    """Append ``# comment`` to each ``key = value`` line that has one."""
    lines = []
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip() if "=" in line and not line.startswith("[") else ""
        comment = comments.get(key)
        lines.append(f"{line}   # {comment}" if comment else line)
    return "\n".join(lines) + "\n"


def init_workspace(root: Path, model_name: str = DEFAULT_MODEL_NAME) -> Path:
    """Write ``root/labeler.toml`` (and the data folder); never overwrites an existing one."""
    target = Path(root) / CONFIG_NAME
    if target.exists():
        raise ValidationError(f"{target}: already exists; not overwriting it")
    text = skeleton(model_name)
    try:
        (Path(root) / "data" / model_name).mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise ValidationError(f"{target}: already exists; not overwriting it") from None
    except OSError as exc:
        raise ValidationError(f"{target}: cannot write: {exc.strerror}") from None
    return target
