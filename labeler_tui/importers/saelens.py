"""``labeler import saelens DIR``: an SAE saved by SAELens (``cfg.json`` + its weights).

The model (``--model NAME``, else the SAE's hook name) gets ``decoder = DIR``: created as a
sequence model with only a decoder (decoder similarity and importance work; its activations
come with ``labeler import delphi``), or, when it exists, its decoder set.
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
from labeler_tui.importers.sae_folders import SAELENS_WEIGHTS, open_sae_folder, sae_folders
from labeler_tui.importers.workspace_file import model_name


def plan(request: ImportRequest) -> ImportPlan:
    folders = sae_folders(request.path, SAELENS_WEIGHTS)
    if not folders:
        raise ValidationError(
            f"{request.path}: not a SAELens folder (no cfg.json beside {SAELENS_WEIGHTS})"
        )
    require_single(request, [f.name for f in folders], "SAELens folders")
    out = ImportPlan()
    for folder in folders:
        sae = open_sae_folder(folder, SAELENS_WEIGHTS, "d_sae")
        found = sae.cfg.get("metadata")
        meta: dict[str, object] = found if isinstance(found, dict) else {}
        hook = meta.get("hook_name") or sae.cfg.get("hook_name")
        lm = meta.get("model_name") or sae.cfg.get("model_name")
        name = request.model or model_name(str(hook) if hook else folder.name)
        out.changes.append(decoder_change(request, name, folder))
        architecture = sae.cfg.get("architecture", "standard")
        out.notes.append(
            f"{name}: SAELens {architecture} SAE"
            + (f" of {lm}" if lm else "")
            + (f" at {hook}" if hook else "")
            + f", {sae.n_latents} latents x d_in {sae.d_in}"
        )
    return out


IMPORTERS.add(
    Importer(
        "saelens",
        "a SAELens SAE folder (cfg.json + sae_weights.safetensors): the model's decoder",
        plan,
    )
)
