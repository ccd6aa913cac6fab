"""The vocab file (token name <-> id) and token families from the config regex."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from labeler_tui.core.errors import DataError


def read_vocab(path: Path) -> list[str]:
    """Token names indexed by token id, from ``{"name": id}`` or a list (index = id).

    Ids missing from a dict vocab get a placeholder name ``<unused:ID>`` so that every id below
    the largest one has a name.
    """
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: vocab file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read vocab: {exc}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: vocab is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if isinstance(data, list):
        for i, name in enumerate(data):
            if not isinstance(name, str):
                raise DataError(
                    f"{path}: vocab entry {i} is {name!r}, expected a token name string"
                )
        names = list(data)
    elif isinstance(data, dict):
        names_by_id: dict[int, str] = {}
        for name, token_id in data.items():
            if isinstance(token_id, bool) or not isinstance(token_id, int) or token_id < 0:
                raise DataError(
                    f"{path}: vocab id of {name!r} is {token_id!r}, expected an integer >= 0"
                )
            if token_id in names_by_id:
                raise DataError(
                    f"{path}: vocab id {token_id} is used twice ({names_by_id[token_id]!r}, {name!r})"
                )
            names_by_id[token_id] = name
        size = max(names_by_id, default=-1) + 1
        names = [names_by_id.get(i, f"<unused:{i}>") for i in range(size)]
    else:
        raise DataError(
            f"{path}: vocab must be a JSON object {{name: id}} or a list of names, "
            f"got {type(data).__name__}"
        )
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise DataError(
                f"{path}: vocab token name {name!r} appears twice (ids {seen[name]}, {i})"
            )
        seen[name] = i
    if not names:
        raise DataError(f"{path}: vocab is empty")
    return names


def token_families(token_names: list[str], pattern: str) -> tuple[list[str], np.ndarray]:
    """(family names, int32 family id per token id); group 1 of ``pattern`` names the family.

    A token the regex does not match (or whose group 1 is empty) is a family of its own.
    Families are numbered in order of their first token id, so the numbering is stable.
    """
    regex = re.compile(pattern)
    family_ids: dict[str, int] = {}
    token_family = np.empty(len(token_names), dtype=np.int32)
    for token_id, name in enumerate(token_names):
        match = regex.search(name)
        family = match.group(1) if match and match.group(1) else name
        token_family[token_id] = family_ids.setdefault(family, len(family_ids))
    return list(family_ids), token_family
