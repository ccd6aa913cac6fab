"""The packed code table and the per-feature overview cache give exactly the plain results.

Counts from the packed table are checked against Python sets for every layout the packer can
choose (id tuples or bitmasks in one shared bin space, one id per code, separate bin spaces, a
metadata column too wide to pack), including the complement shortcut for groups covering most rows; the
overview is checked to be identical under tight code limits and when read back from the cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import write_tiny_workspace

from labeler_tui.core.analysis import counting, overview_cache, packed_sets
from labeler_tui.core.analysis.overview import feature_overview
from labeler_tui.core.analysis.packed_sets import PackedSets, make_layout, pack
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.workspace import Workspace

N_TOKENS, N_FAMILIES = 23, 7
FAMILY_OF = np.arange(N_TOKENS) % N_FAMILIES
META_SIZES = {"weapon": 9, "mode": 4}


def _padded(sets: list[set[int]], pad: int) -> np.ndarray:
    width = max(len(s) for s in sets)
    out = np.full((len(sets), width), pad, dtype=np.int64)
    for i, s in enumerate(sets):
        out[i, : len(s)] = sorted(s)
    return out


@pytest.fixture(scope="module")
def examples() -> dict:
    rng = np.random.default_rng(11)
    n = 400
    tokens = [set(rng.integers(0, N_TOKENS, size=rng.integers(0, 9)).tolist()) for _ in range(n)]
    families = [{int(FAMILY_OF[t]) for t in s} for s in tokens]
    meta = {c: rng.integers(0, size, size=n) for c, size in META_SIZES.items()}
    return {"n": n, "tokens": tokens, "families": families, "meta": meta}


def _table(examples: dict) -> PackedSets:
    tokens = _padded(examples["tokens"], N_TOKENS)
    families = _padded(examples["families"], N_FAMILIES)
    layout = make_layout(tokens.shape[1], families.shape[1], N_TOKENS, N_FAMILIES, META_SIZES)
    loose = {
        c: (examples["meta"][c].astype(np.int32), size)
        for c, size in META_SIZES.items()
        if c not in layout.meta_sizes
    }
    return PackedSets(layout, pack(layout, tokens, families, examples["meta"]), loose)


@pytest.mark.parametrize("limit", [1 << 16, 200, 30, 8])
@pytest.mark.parametrize("bitmasks", [True, False])
@pytest.mark.parametrize("disjoint", [False, True])
def test_packed_counts_equal_set_counts(
    examples: dict, monkeypatch, limit, bitmasks, disjoint
) -> None:
    monkeypatch.setattr(packed_sets, "CODE_LIMIT", limit)
    if not bitmasks:  # id tuples only
        monkeypatch.setattr(packed_sets, "MAX_BITS", 0)
    monkeypatch.setattr(counting, "COUNT_CHUNK_ROWS", 64)  # several chunks per group
    table = _table(examples)
    uses_bitmasks = any(kind.first_bit is not None for kind in table.layout.kinds)
    assert uses_bitmasks == bitmasks
    if not bitmasks and limit > 30:
        assert max(len(kind.fields) for kind in table.layout.kinds) >= 2  # ids share codes
    if limit == 8:  # weapon has 9 values: counted unpacked
        assert "weapon" not in table.layout.meta_sizes and "mode" in table.layout.meta_sizes
    order = np.random.default_rng(2).permutation(examples["n"])
    # disjoint groups covering all but 10 rows, the largest by far (the complement shortcut);
    # otherwise overlapping groups with repeated rows
    if disjoint:
        groups = [order[:5], order[5:300], order[300:330], order[330:330], order[330:390]]
    else:
        groups = [order[:50], order[20:80], np.concatenate([order[:7], order[:7]]), order[:0]]
    _assert_counts(table.count_groups(groups, disjoint=disjoint), examples, groups)


def _assert_counts(counts, examples: dict, groups: list[np.ndarray]) -> None:
    for g, rows in enumerate(groups):
        for t in range(N_TOKENS):
            assert counts.tokens[g, t] == sum(t in examples["tokens"][r] for r in rows)
        for fam in range(N_FAMILIES):
            assert counts.families[g, fam] == sum(fam in examples["families"][r] for r in rows)
        for column, size in META_SIZES.items():
            expected = np.bincount(examples["meta"][column][rows], minlength=size)
            assert counts.metadata[column][g].tolist() == expected.tolist()


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("order_fraction", [1, 10_000])  # no group / every group in row order
@pytest.mark.parametrize("limit", [1 << 16, 8])
def test_ordered_threaded_counts_equal_set_counts(
    examples: dict, monkeypatch, threads, order_fraction, limit
) -> None:
    monkeypatch.setattr(packed_sets, "CODE_LIMIT", limit)
    monkeypatch.setattr(counting, "COUNT_CHUNK_ROWS", 16)
    monkeypatch.setattr(counting, "PARALLEL_MIN_ROWS", 32)
    monkeypatch.setattr(counting, "MAX_THREADS", threads)
    monkeypatch.setattr(counting, "ORDER_FRACTION", order_fraction)
    table = _table(examples)
    order = np.random.default_rng(5).permutation(examples["n"])
    for groups in (  # the complement (395 of 400 rows in groups), then no complement
        [order[:40], order[40:330], order[330:360], order[360:395]],
        [order[:40], order[40:200], order[330:360]],
    ):
        _assert_counts(table.count_groups(groups, disjoint=True), examples, groups)


def test_layout_packs_small_vocabularies_into_one_uint16_space() -> None:
    # SplatNLP-like: 142 tokens and 38 families, 12 slots each, weapon x mode
    layout = make_layout(12, 12, 142, 38, {"weapon": 40, "mode": 5})
    assert layout.direct and layout.dtype is np.uint16
    # pairs of tokens, bitmasks of 13 families, one code for weapon x mode
    assert len(layout.column_kind) == 6 + 3 + 1
    assert [k.fields for k in layout.kinds if k.first_bit is not None] == [("families",)] * 3
    assert sum(k.radices[0] for k in layout.kinds if k.first_bit is not None) == 38
    # a dense token set (30 of 142 ids) is cheaper as bitmasks than as 15 pairs
    dense = make_layout(30, 12, 142, 38, {})
    assert dense.direct and len(dense.column_kind) < 15 + 3
    big = make_layout(12, 12, 200_000, 5_000, {"user": 1_000_000})
    assert not big.direct and big.dtype is np.uint32 and big.meta_sizes == {}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("packed") / "ws"
    write_tiny_workspace(root, n_features=8, n_examples=500, seed=9)
    return root


def _overviews(root: Path) -> list[dict]:
    data = Workspace.open(root).data()  # a new ModelData: its own in-memory tables
    return [feature_overview(data, f) for f in range(data.n_features)]


def test_overview_is_the_same_under_tight_code_limits(workspace: Path, monkeypatch) -> None:
    plain = _overviews(workspace)
    assert any(o["regions"] for o in plain) and any(o["flags"] or o["general"] for o in plain)
    for limit in (200, 30, 8):
        monkeypatch.setattr(packed_sets, "CODE_LIMIT", limit)
        assert _overviews(workspace) == plain


def test_overview_cache_gives_the_computed_part_and_a_fresh_label(
    workspace: Path, monkeypatch
) -> None:
    plain = _overviews(workspace)
    monkeypatch.setattr(overview_cache, "MIN_NONZEROS", 1)
    data = Workspace.open(workspace).data()
    cold = [feature_overview(data, f) for f in range(data.n_features)]
    assert cold == plain
    live = [f for f in range(data.n_features) if plain[f]["n_nonzero"]]
    paths = {f: overview_cache.overview_path(data, f) for f in range(data.n_features)}
    assert all(paths[f].exists() for f in live)
    assert not any(paths[f].exists() for f in range(data.n_features) if f not in live)

    f = live[0]
    label = LabelRecord(f, dashboard_name="x", interpretability_confidence=0.9)
    warm = feature_overview(data, f, label)
    assert warm["label"] == label.to_json() and warm["quadrant"] is not None
    assert {k: v for k, v in warm.items() if k not in ("label", "quadrant")} == {
        k: v for k, v in plain[f].items() if k not in ("label", "quadrant")
    }
    assert list(warm) == list(plain[f])  # same key order as computed

    # a warm view is the file's content: a planted value comes back
    part = json.loads(paths[f].read_text())
    part["mean"] = -1.0
    paths[f].write_text(json.dumps(part))
    assert feature_overview(data, f)["mean"] == -1.0
    # a file of other data (another nonzero count) or missing a key is recomputed
    for stale in ({**part, "n_nonzero": part["n_nonzero"] + 1}, {"feature_id": f}):
        paths[f].write_text(json.dumps(stale))
        assert feature_overview(data, f) == plain[f]
    # a torn file is recomputed and rewritten
    paths[f].write_text('{"feature_id": ')
    assert feature_overview(data, f) == plain[f]
    assert json.loads(paths[f].read_text())["mean"] == plain[f]["mean"]


def test_threaded_counting_works_in_a_forked_child(examples: dict, monkeypatch) -> None:
    """An agent's multiprocessing worker (fork) counts with its own threads, not the parent's
    (which a forked child does not have: waiting on them would hang)."""
    import multiprocessing

    monkeypatch.setattr(counting, "COUNT_CHUNK_ROWS", 16)
    monkeypatch.setattr(counting, "PARALLEL_MIN_ROWS", 32)
    monkeypatch.setattr(counting, "MAX_THREADS", 3)
    table = _table(examples)
    groups = [np.arange(0, 150), np.arange(150, 390)]
    expected = table.count_groups(groups, disjoint=True).tokens  # the parent's pool is started
    with multiprocessing.get_context("fork").Pool(1) as pool:
        result = pool.apply_async(_tokens_in_child, (table, groups))
        assert (result.get(timeout=30) == expected).all()


def _tokens_in_child(table: PackedSets, groups: list[np.ndarray]) -> np.ndarray:
    return table.count_groups(groups, disjoint=True).tokens
