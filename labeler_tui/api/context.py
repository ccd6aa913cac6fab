"""``load_context``: the data of one model for agents' analysis scripts.

It keeps the names of SplatNLP's ``skill_helpers.load_context`` so the original snippets run
with only the import line changed (``from labeler_tui import load_context``)::

    ctx = load_context("ultra")
    df = ctx.db.get_all_feature_activations_for_pagerank(18712)   # polars DataFrame
    driver_id = ctx.vocab["special_charge_up_57"]

Everything is read through :class:`~labeler_tui.core.data.ModelData` (the memory-mapped index),
so one feature costs time proportional to its own nonzero count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from labeler_tui.core.workspace import Workspace

if TYPE_CHECKING:
    from labeler_tui.core.data import ModelData, ProgressCallback

TOKENS_COLUMN = "ability_input_tokens"
"""SplatNLP's name for an example's token id list, kept for the original snippets."""


def open_workspace(workspace: str | Path | Workspace | None = None) -> Workspace:
    """A Workspace as given, or found by the usual discovery (``$LABELER_WORKSPACE``, a
    labeler.toml here or above, then the demo)."""
    if isinstance(workspace, Workspace):
        return workspace
    from labeler_tui.demo import demo_config

    return Workspace.open(workspace, fallback=demo_config)


class ActivationDatabase:
    """SplatNLP's ``ctx.db``: one feature's activations as a polars DataFrame."""

    def __init__(self, data: ModelData) -> None:
        self.data = data

    def get_all_feature_activations_for_pagerank(self, feature_id: int) -> pl.DataFrame:
        """Every nonzero activation of a feature, highest first: columns ``activation``,
        ``example_id``, ``ability_input_tokens`` (the example's token ids) and one column per
        metadata field of the examples (e.g. ``weapon``)."""
        return self.get_feature_activations(feature_id)

    def get_feature_activations(self, feature_id: int, limit: int | None = None) -> pl.DataFrame:
        """Like :meth:`get_all_feature_activations_for_pagerank`, the top ``limit`` rows only."""
        feature = self.data.feature(feature_id)
        stop = len(feature) if limit is None else max(0, min(int(limit), len(feature)))
        rows = feature.rows[:stop]
        columns: dict[str, pl.Series] = {
            "activation": pl.Series(
                "activation", np.asarray(feature.activations[:stop], dtype=np.float32)
            ),
            "example_id": pl.Series("example_id", np.asarray(feature.example_ids[:stop])),
            TOKENS_COLUMN: self._token_lists(rows),
        }
        for column in self.data.metadata_columns:
            if column in columns:
                continue
            codes = self.data.metadata_codes(column, rows)
            values = pl.Series(column, self.data.metadata_values(column))
            columns[column] = values.gather(codes) if len(codes) else values.clear()
        return pl.DataFrame(list(columns.values()))

    def _token_lists(self, rows: np.ndarray) -> pl.Series:
        """The rows' token ids as a List(Int32) column, built without a Python loop."""
        offsets, token_ids = self.data.tokens(rows)
        n = len(rows)
        owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
        grouped = (
            pl.DataFrame({"row": owner, "token": token_ids.astype(np.int32)})
            .group_by("row", maintain_order=True)
            .agg(pl.col("token"))
        )
        full = pl.DataFrame({"row": np.arange(n, dtype=np.int64)}).join(
            grouped, on="row", how="left", maintain_order="left"
        )
        empty = pl.lit([], dtype=pl.List(pl.Int32))
        return full.select(
            pl.col("token").cast(pl.List(pl.Int32)).fill_null(empty).alias(TOKENS_COLUMN)
        ).to_series()

    def get_all_feature_ids(self) -> list[int]:
        """Every feature id of the model (0..n_features-1)."""
        return list(range(self.data.n_features))

    def get_active_feature_ids(self) -> list[int]:
        """Features with at least one nonzero activation."""
        return np.flatnonzero(self.data.nonzero_counts > 0).tolist()


@dataclass
class LabelerContext:
    """What an analysis script needs: the model's data, its db view and the vocab."""

    model_type: str
    workspace: Workspace
    data: ModelData
    db: ActivationDatabase
    vocab: dict[str, int]
    inv_vocab: dict[int, str] = field(repr=False)

    def token_to_id(self, token: str) -> int | None:
        return self.vocab.get(token)

    def id_to_token(self, token_id: int) -> str | None:
        return self.inv_vocab.get(int(token_id))

    def get_feature_ids(self) -> list[int]:
        return self.db.get_all_feature_ids()


def load_context(
    model_type: str | None = None,
    workspace: str | Path | Workspace | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> LabelerContext:
    """Open one model of a workspace (default: its ``default_model``; workspace by the usual
    discovery unless given). Builds the index on first use (``progress`` reports it)."""
    ws = open_workspace(workspace)
    data = ws.data(model_type, progress=progress)
    vocab = dict(data.token_ids)
    return LabelerContext(
        model_type=data.name,
        workspace=ws,
        data=data,
        db=ActivationDatabase(data),
        vocab=vocab,
        inv_vocab={i: name for name, i in vocab.items()},
    )
