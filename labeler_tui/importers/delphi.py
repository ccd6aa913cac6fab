"""``labeler import delphi RESULTS_DIR --tokenizer T``: a Delphi run, its latent cache read in place.

Delphi (EleutherAI/delphi) writes ``results/{run}/``: ``latents/{hookpoint}/{start}_{end}.safetensors``
and ``config.json`` (the latent cache, see ``core.data.delphi_cache``), ``explanations/{hookpoint}
_latent{i}.txt`` (a JSON string), ``scores/{scorer}/{hookpoint}_latent{i}.txt`` (a JSON list of
the scorer's verdicts on examples) and ``run_config.json`` (``explainer_model``, ...).

Each hookpoint becomes a sequence model (``--model NAME`` for a single one, else the hookpoint's
name; an existing model keeps its decoder and other keys): ``activations`` = its cache folder
(the index builder reads the splits and the token matrix there), ``tokenizer`` = T (the
model's ``tokenizer.json``; an existing model's is kept when T is not given). Explanations
become suggestions (``source`` delphi, ``explainer`` the run's explainer model), with a score
per scorer: the balanced accuracy of the scorer's verdicts (``prediction`` against
``activating``), as Delphi reports it. Nothing is labeled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labeler_tui.core.data.delphi_cache import is_delphi_cache
from labeler_tui.core.errors import DataError, ValidationError
from labeler_tui.core.stores.suggestions import Suggestion
from labeler_tui.importers import (
    IMPORTERS,
    Importer,
    ImportPlan,
    ImportRequest,
    existing_table,
    require_single,
)
from labeler_tui.importers.workspace_file import ModelChange, model_name

LATENT_MARK = "_latent"


def cache_folders(path: Path) -> tuple[Path, list[Path]]:
    """(the run's results folder, its hookpoints' cache folders) from a results folder, its
    ``latents`` folder or one hookpoint's folder."""
    if is_delphi_cache(path):
        root = path.parent.parent if path.parent.name == "latents" else path.parent
        return root, [path]
    latents = path / "latents" if (path / "latents").is_dir() else path
    root = path if latents != path else (path.parent if path.name == "latents" else path)
    if not latents.is_dir():
        return root, []
    return root, sorted(child for child in latents.iterdir() if is_delphi_cache(child))


def balanced_accuracy(verdicts: Any) -> float | None:
    """Balanced accuracy of a classifier scorer's verdicts (Delphi's ``accuracy``): each a
    ``{"activating", "prediction"}``; verdicts without a prediction are left out."""
    if not isinstance(verdicts, list):
        return None
    tp = tn = pos = neg = 0
    for v in verdicts:
        if not isinstance(v, dict) or v.get("prediction") is None or "activating" not in v:
            continue
        prediction = v["prediction"]
        predicted = prediction >= 0.5 if isinstance(prediction, int | float) else bool(prediction)
        if v["activating"]:
            pos += 1
            tp += predicted
        else:
            neg += 1
            tn += not predicted
    if not pos and not neg:
        return None
    return ((tp / pos if pos else 0.0) + (tn / neg if neg else 0.0)) / 2


def _latent_files(folder: Path) -> dict[str, dict[int, Path]]:
    """hookpoint -> latent -> file, from ``{hookpoint}_latent{i}.txt`` names."""
    out: dict[str, dict[int, Path]] = {}
    if not folder.is_dir():
        return out
    for path in folder.iterdir():
        if path.suffix != ".txt" or LATENT_MARK not in path.stem:
            continue
        module, _, index = path.stem.rpartition(LATENT_MARK)
        if index.isdigit():
            out.setdefault(module.replace("--", "/"), {})[int(index)] = path
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError:
        return None


def _explanation(path: Path) -> str | None:
    value = _read_json(path)
    if isinstance(value, str):
        text = value
    elif value is None:  # an older run wrote the text itself
        text = path.read_text(encoding="utf-8", errors="replace")
    else:
        return None
    text = text.strip()
    return text or None


def _suggestions(
    root: Path, hookpoint: str, explainer: str | None, method: str | None, now: str
) -> tuple[list[Suggestion], list[str]]:
    explanations = _latent_files(root / "explanations").get(hookpoint, {})
    scores: dict[str, dict[int, Path]] = {}
    scores_root = root / "scores"
    if scores_root.is_dir():
        for scorer_dir in sorted(p for p in scores_root.iterdir() if p.is_dir()):
            scored = _latent_files(scorer_dir).get(hookpoint)
            if scored:
                scores[scorer_dir.name] = scored
    out, unscored = [], 0
    for latent in sorted(explanations):
        text = _explanation(explanations[latent])
        if text is None:
            continue
        values: dict[str, float] = {}
        for scorer, files in scores.items():
            if latent in files:
                value = balanced_accuracy(_read_json(files[latent]))
                if value is not None:
                    values[scorer] = value
        unscored += not values
        out.append(
            Suggestion(
                feature_id=latent,
                text=text,
                source="delphi",
                explainer=explainer,
                method=method,
                scores=values,
                origin=str(explanations[latent]),
                imported_at=now,
            )
        )
    notes = []
    if out:
        notes.append(
            f"{len(out)} explanations of {hookpoint} as suggestions"
            + (f" ({unscored} without a score)" if unscored else "")
            + (f"; scorers: {', '.join(scores)}" if scores else "")
        )
    return out, notes


def _run_config(root: Path) -> dict[str, Any]:
    path = root / "run_config.json"
    value = _read_json(path) if path.is_file() else None
    return value if isinstance(value, dict) else {}


def plan(request: ImportRequest) -> ImportPlan:
    root, folders = cache_folders(request.path)
    if not folders:
        raise ValidationError(
            f"{request.path}: no Delphi latent cache (latents/{{hookpoint}}/{{start}}_{{end}}"
            ".safetensors)"
        )
    require_single(request, [f.name for f in folders], "hookpoints")
    run = _run_config(root)
    explainer = run.get("explainer_model") if isinstance(run.get("explainer_model"), str) else None
    method = run.get("explainer") if isinstance(run.get("explainer"), str) else "default"
    out = ImportPlan()
    for folder in folders:
        name = request.model or model_name(folder.name)
        table = existing_table(request, name)
        if table is not None and table.get("kind", "bag") != "sequence":
            raise ValidationError(
                f"model {name!r} is a bag-of-tokens model; a Delphi cache is a sequence model: "
                "give --model a new name"
            )
        values: dict[str, Any] = {}
        if table is None:
            values["kind"] = "sequence"
        values["activations"] = request.value(folder)
        tokenizer = request.tokenizer
        if tokenizer is None and (table is None or "tokenizer" not in table):
            found = root / "tokenizer.json"
            if not found.is_file():
                lm = (
                    _read_json(folder / "config.json")
                    if (folder / "config.json").is_file()
                    else None
                )
                model_id = lm.get("model_name") if isinstance(lm, dict) else None
                raise ValidationError(
                    f"{folder}: give the tokenizer of the model the cache was made with: "
                    "--tokenizer PATH (its tokenizer.json"
                    + (f", e.g. from the Hugging Face folder of {model_id}" if model_id else "")
                    + ")"
                )
            tokenizer = found
        if tokenizer is not None:
            values["tokenizer"] = request.value(tokenizer)
        out.changes.append(ModelChange(name, values, create=table is None))
        items, notes = _suggestions(root, folder.name, explainer, method, request.now)
        if items:
            out.suggestions[name] = items
        out.notes += [f"{name}: Delphi cache {folder}"] + notes
    return out


IMPORTERS.add(
    Importer(
        "delphi",
        "a Delphi run (latents/, explanations/, scores/): a sequence model per hookpoint, its "
        "explanations as suggestions",
        plan,
    )
)
