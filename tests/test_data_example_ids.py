"""A feature's example ids are right whether they are computed (affine ids) or gathered."""

from __future__ import annotations

import numpy as np
import polars as pl

from labeler_tui.core.data.model_data import _affine
from labeler_tui.core.workspace import Workspace


def test_affine_detection() -> None:
    assert _affine(np.array([1000, 1007, 1014, 1021], dtype=np.int64)) == (1000, 7)
    assert _affine(np.arange(5, dtype=np.int64)) == (0, 1)
    assert _affine(np.array([0, 1, 3, 4], dtype=np.int64)) is None  # ends match, middle differs
    assert _affine(np.array([0, 2, 3, 6], dtype=np.int64)) is None
    assert _affine(np.array([5], dtype=np.int64)) is None


def _expected(ws_dir, feature_id: int) -> list[int]:
    frame = pl.read_parquet(ws_dir / "data" / "activations" / "*.parquet")
    rows = frame.filter((pl.col("feature_id") == feature_id) & (pl.col("activation") > 0))
    rows = rows.sort(["activation", "example_id"], descending=[True, False])
    return rows["example_id"].to_list()


def test_example_ids_match_the_raw_files_with_affine_and_irregular_ids(make_tiny_workspace) -> None:
    affine = make_tiny_workspace("affine", example_id_offset=1000, example_id_step=7)
    data = Workspace.open(affine).data()
    assert data._id_affine == (1000, 7)
    for f in range(5):
        assert data.feature(f).example_ids.tolist() == _expected(affine, f)

    # make the ids irregular: rewrite examples and activations with a gap after row 10
    irregular = make_tiny_workspace("irregular", example_id_offset=0, example_id_step=1)
    shift = {"examples": "example_id", "activations/part-000": "example_id"}
    for name, column in shift.items():
        path = irregular / "data" / f"{name}.parquet"
        frame = pl.read_parquet(path)
        frame = frame.with_columns(
            pl.when(pl.col(column) > 10).then(pl.col(column) + 500).otherwise(pl.col(column))
        )
        frame.write_parquet(path)
    data = Workspace.open(irregular).data()
    assert data._id_affine is None
    for f in range(5):
        assert data.feature(f).example_ids.tolist() == _expected(irregular, f)
