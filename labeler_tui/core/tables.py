"""Every table the analysis builds on first use, built ahead of time (``labeler index --all``).

Each is built once per index (kept in its ``analysis-v1`` folder) and reports its progress; a
table already there costs a file check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from labeler_tui.core.data import ModelData, ProgressCallback
from labeler_tui.core.registry import SIMILARITY_METHODS, capabilities


@dataclass(frozen=True)
class Table:
    name: str
    build: Callable[[ModelData, ProgressCallback | None], object]


def _example_sets(data: ModelData, progress: ProgressCallback | None) -> object:
    from labeler_tui.core.analysis.example_sets import example_sets

    return example_sets(data)


def _packed_sets(data: ModelData, progress: ProgressCallback | None) -> object:
    from labeler_tui.core.analysis.packed_sets import packed_sets

    return packed_sets(data)


def _postings(data: ModelData, progress: ProgressCallback | None) -> object:
    from labeler_tui.core.evidence.masks import token_postings

    return token_postings(data)


def tables(data: ModelData) -> list[Table]:
    """The tables of this model: the token sets behind the overview and the hypotheses, then
    each similarity method's table (those the model can use)."""
    out = [
        Table("token sets", _example_sets),
        Table("packed token sets", _packed_sets),
        Table("token postings", _postings),
    ]
    have = capabilities(data)
    for method in SIMILARITY_METHODS.entries():
        if method.prepare is not None and set(method.needs) <= have:
            out.append(Table(f"{method.name} similarity", method.prepare))
    return out


def build_tables(data: ModelData, progress: ProgressCallback | None = None) -> list[str]:
    """Build every table of :func:`tables` that is missing; returns their names, in order.
    A table without progress of its own shows as one step."""
    built = []
    for table in tables(data):
        stage = f"{data.name}: {table.name}"
        if progress is not None:
            progress(stage, 0, 1)
        table.build(data, progress)
        if progress is not None:
            progress(stage, 1, 1)
        built.append(table.name)
    return built
