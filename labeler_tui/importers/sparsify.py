"""``labeler import sparsify DIR``: SAEs saved by EleutherAI's sparsify.

DIR is a checkpoint (one folder per hookpoint, each ``cfg.json`` + ``sae.safetensors``) or one
hookpoint's folder. Each hookpoint is a model (``--model NAME`` for a single one, else the
hookpoint's name) whose ``decoder`` is its folder: created with only a decoder, or attached to
the existing model. sparsify keeps decoder rows at unit norm (``normalize_decoder``), so such a
model's importance is not ranked (its norms are flat).
"""

from __future__ import annotations

from labeler_tui.core.errors import ValidationError
from labeler_tui.importers import (
    IMPORTERS,
    Importer,
    ImportPlan,
    ImportRequest,
    decoder_change,
    require_single,
)
from labeler_tui.importers.sae_folders import SPARSIFY_WEIGHTS, open_sae_folder, sae_folders
from labeler_tui.importers.workspace_file import model_name


def plan(request: ImportRequest) -> ImportPlan:
    folders = sae_folders(request.path, SPARSIFY_WEIGHTS)
    if not folders:
        raise ValidationError(
            f"{request.path}: not a sparsify checkpoint (no hookpoint folder with cfg.json and "
            f"{SPARSIFY_WEIGHTS})"
        )
    require_single(request, [f.name for f in folders], "hookpoints")
    out = ImportPlan()
    for folder in folders:
        sae = open_sae_folder(folder, SPARSIFY_WEIGHTS, "num_latents")
        name = request.model or model_name(folder.name)
        out.changes.append(decoder_change(request, name, folder))
        k = sae.cfg.get("k")
        out.notes.append(
            f"{name}: sparsify SAE at hookpoint {folder.name}, {sae.n_latents} latents x d_in "
            f"{sae.d_in}" + (f", k = {k}" if k else "")
        )
    return out


IMPORTERS.add(
    Importer(
        "sparsify",
        "a sparsify checkpoint (one folder per hookpoint): each hookpoint's decoder",
        plan,
    )
)
