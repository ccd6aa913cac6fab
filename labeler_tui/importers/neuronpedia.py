"""``labeler import neuronpedia EXPORT_DIR``: a source exported from Neuronpedia.

EXPORT_DIR is one source's folder (``features/`` and ``explanations/`` batches, see
``core.data.neuronpedia_export``), or a folder holding exactly one. Explanations become
suggestions (``source`` neuronpedia, ``explainer`` the explanation model, ``method`` its type);
the features' ``pos_str``/``neg_str`` logit tokens become the model's output effects
(``effects`` = the source folder, read in place, used when the model has no output matrix).
The model is ``--model NAME`` or the source's name; when it does not exist it is created with
``n_features`` from the export (every feature dead until activations are imported). Nothing is
labeled: the queue and progress do not change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labeler_tui.core.data.neuronpedia_export import (
    batch_files,
    feature_index,
    is_source_folder,
    read_rows,
)
from labeler_tui.core.errors import ValidationError
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


def source_folders(path: Path) -> list[Path]:
    if is_source_folder(path):
        return [path]
    if not path.is_dir():
        return []
    return sorted(child for child in path.iterdir() if is_source_folder(child))


def _text(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _scores(row: dict[str, Any]) -> dict[str, float]:
    raw = row.get("scores")
    if not isinstance(raw, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in raw.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def plan(request: ImportRequest) -> ImportPlan:
    sources = source_folders(request.path)
    if not sources:
        raise ValidationError(
            f"{request.path}: not a Neuronpedia export (no features/ or explanations/ batches)"
        )
    if len(sources) > 1:
        raise ValidationError(
            f"{request.path}: holds {len(sources)} sources ({', '.join(s.name for s in sources)});"
            " import one of them (its folder)"
        )
    require_single(request, [s.name for s in sources], "sources")
    source = sources[0]
    name = request.model or model_name(source.name)
    suggestions = []
    top = -1
    for path in batch_files(source, "explanations"):
        for number, row in read_rows(path):
            index = feature_index(row, path, number)
            text = _text(row, "description")
            if text is None:
                continue
            top = max(top, index)
            suggestions.append(
                Suggestion(
                    feature_id=index,
                    text=text,
                    source="neuronpedia",
                    explainer=_text(row, "explanationModelName"),
                    method=_text(row, "typeName"),
                    scores=_scores(row),
                    origin=str(path),
                    imported_at=request.now,
                )
            )
    features = batch_files(source, "features")
    for path in features:
        for number, row in read_rows(path):
            top = max(top, feature_index(row, path, number))
    table = existing_table(request, name)
    values: dict[str, Any] = {}
    if table is None:
        if top < 0:
            raise ValidationError(f"{source}: the export lists no feature")
        values = {"kind": "sequence", "n_features": top + 1}
    if features:
        values["effects"] = request.value(source)
    out = ImportPlan()
    if values:
        out.changes.append(ModelChange(name, values, create=table is None))
    if suggestions:
        out.suggestions[name] = suggestions
    out.notes.append(
        f"{name}: {len(suggestions)} Neuronpedia explanations as suggestions"
        + (", output effects from its features" if features else "")
    )
    return out


IMPORTERS.add(
    Importer(
        "neuronpedia",
        "a Neuronpedia export (features/, explanations/): explanations as suggestions, logit "
        "tokens as output effects",
        plan,
    )
)
