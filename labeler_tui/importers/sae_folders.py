"""The folders SAELens and sparsify save an SAE in, and the decoder inside.

- SAELens (``SAE.save_model``): ``cfg.json`` (``d_in``, ``d_sae``, ``architecture``, and the
  ``metadata`` of v6 (``model_name``, ``hook_name``, ...) or the same keys at the top level in
  older versions) beside ``sae_weights.safetensors`` (``W_dec`` [d_sae, d_in], ``W_enc``, ...);
- sparsify (``SparseCoder.save_to_disk``): ``cfg.json`` (``d_in``, ``num_latents`` (0: ``d_in x
  expansion_factor``), ``k``, ``normalize_decoder``, ...) beside ``sae.safetensors``
  (``encoder.weight``, ``W_dec`` [num_latents, d_in], ``b_dec``); a checkpoint holds one such
  folder per hookpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labeler_tui.core.data.decoder import open_decoder
from labeler_tui.core.errors import DataError

SAELENS_WEIGHTS = "sae_weights.safetensors"
SPARSIFY_WEIGHTS = "sae.safetensors"
CFG = "cfg.json"


@dataclass(frozen=True)
class SaeFolder:
    folder: Path
    weights: Path
    cfg: dict[str, Any]
    n_latents: int
    d_in: int


def read_cfg(folder: Path) -> dict[str, Any]:
    path = folder / CFG
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{folder}: no {CFG}") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data


def is_sae_folder(folder: Path, weights: str) -> bool:
    return (folder / CFG).is_file() and (folder / weights).is_file()


def sae_folders(path: Path, weights: str) -> list[Path]:
    """``path`` itself when it is an SAE folder, else its sub-folders that are (by name)."""
    if is_sae_folder(path, weights):
        return [path]
    if not path.is_dir():
        return []
    return sorted(
        child for child in path.iterdir() if child.is_dir() and is_sae_folder(child, weights)
    )


def _int(cfg: dict[str, Any], key: str, path: Path) -> int | None:
    value = cfg.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(f"{path}: {key} must be a non-negative integer, got {value!r}")
    return value


def open_sae_folder(folder: Path, weights: str, latents_key: str) -> SaeFolder:
    """Check the folder's decoder against its cfg.json (``latents_key``: ``d_sae`` for
    SAELens, ``num_latents`` for sparsify)."""
    cfg = read_cfg(folder)
    cfg_path = folder / CFG
    decoder = open_decoder(folder / weights)
    d_in = _int(cfg, "d_in", cfg_path)
    n_latents = _int(cfg, latents_key, cfg_path)
    if latents_key == "num_latents" and not n_latents and d_in:
        factor = _int(cfg, "expansion_factor", cfg_path)
        n_latents = d_in * factor if factor else None
    if n_latents is not None and n_latents != decoder.n_features:
        raise DataError(
            f"{cfg_path}: {latents_key} is {n_latents} but {weights} has {decoder.n_features} "
            "decoder rows"
        )
    if d_in is not None and d_in != decoder.width:
        raise DataError(
            f"{cfg_path}: d_in is {d_in} but the decoder rows of {weights} have {decoder.width}"
        )
    return SaeFolder(folder, folder / weights, cfg, decoder.n_features, decoder.width)
