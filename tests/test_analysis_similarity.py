"""Similar features by decoder, tokens and coactivation, checked against brute force computed
here from the input files; the per-workspace tables are cached and reused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import write_tiny_workspace

from labeler_tui.core.analysis import similarity_index
from labeler_tui.core.analysis.derived import cache_folder
from labeler_tui.core.analysis.similarity import minhash_estimates, similar_features
from labeler_tui.core.analysis.similarity_index import minhash_signatures
from labeler_tui.core.data import ModelData
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.registry import SIMILARITY_METHODS
from labeler_tui.core.workspace import Workspace

N_FEATURES = 16


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("similarity") / "ws"
    write_tiny_workspace(root, n_features=N_FEATURES, n_examples=500, seed=11)
    return root


@pytest.fixture(scope="module")
def data(workspace: Path):
    return Workspace.open(workspace).data()


@pytest.fixture(scope="module")
def active(workspace: Path) -> dict[int, dict[int, float]]:
    """feature -> {example_id: activation} of its nonzero rows."""
    acts = pl.read_parquet(workspace / "data" / "activations" / "*.parquet")
    out: dict[int, dict[int, float]] = {f: {} for f in range(N_FEATURES)}
    for f, e, a in acts.filter(pl.col("activation") > 0).iter_rows():
        out[f][e] = a
    return out


def _expected(sims: dict[int, float], f: int, k: int, positive_only: bool) -> list[int]:
    ranked = sorted(
        ((g, s) for g, s in sims.items() if g != f and (s > 0 or not positive_only)),
        key=lambda gs: (-gs[1], gs[0]),
    )
    return [g for g, _ in ranked[:k]]


@pytest.mark.parametrize("f", [0, 4, 9])
def test_decoder_cosine_is_exact(data, workspace: Path, f: int) -> None:
    decoder = np.load(workspace / "data" / "decoder.npy").astype(np.float64)
    unit = decoder / np.linalg.norm(decoder, axis=1, keepdims=True)
    cosines = {g: float(unit[g] @ unit[f]) for g in range(N_FEATURES)}
    result = similar_features(data, f, "decoder", top_k=5)
    assert [g for g, _ in result] == _expected(cosines, f, 5, positive_only=False)
    for g, s in result:
        assert s == pytest.approx(cosines[g], abs=1e-6)


def _ppmi_profiles(workspace: Path, active) -> np.ndarray:
    """Every feature's token profile, from the input files: one column per family and one per
    token of a family with several tokens; value max(0, ln(share / base)) with share the
    activation-weighted share of the feature's examples holding it, base its share of all
    examples (docs/analysis.md, "Similar features")."""
    vocab = json.loads((workspace / "data" / "vocab.json").read_text())
    examples = pl.read_parquet(workspace / "data" / "examples.parquet")
    fam_re = re.compile(r"^(.*?)_\d+$")

    def family(name: str) -> str:
        m = fam_re.match(name)
        return m.group(1) if m and m.group(1) else name

    members: dict[str, set[str]] = {}
    for name in vocab:
        members.setdefault(family(name), set()).add(name)
    held = {
        e: {family(vocab[t]) for t in toks}
        | {vocab[t] for t in toks if len(members[family(vocab[t])]) > 1}
        for e, toks in zip(examples["example_id"], examples["tokens"], strict=True)
    }
    columns = sorted({x for xs in held.values() for x in xs})
    base = {x: sum(x in xs for xs in held.values()) / len(held) for x in columns}
    profiles = np.zeros((N_FEATURES, len(columns)))
    for g, acts in active.items():
        total = sum(acts.values())
        for j, x in enumerate(columns):
            share = sum(a for e, a in acts.items() if x in held[e]) / total if total else 0.0
            if share > base[x]:
                profiles[g, j] = np.log(share / base[x])
    return profiles


@pytest.mark.parametrize("f", [1, 7])
def test_tokens_cosine_of_enrichment_weighted_profiles(
    data, workspace: Path, active, f: int
) -> None:
    profiles = _ppmi_profiles(workspace, active)
    norms = np.linalg.norm(profiles, axis=1)
    cosines = {
        g: float(profiles[g] @ profiles[f] / norms[g] / norms[f]) if norms[g] else 0.0
        for g in range(N_FEATURES)
    }
    result = similar_features(data, f, "tokens", top_k=6)
    assert [g for g, _ in result] == _expected(cosines, f, 6, positive_only=True)
    for g, s in result:
        assert s == pytest.approx(cosines[g], abs=1e-5)


@pytest.mark.parametrize("f", [2, 8, 14])
def test_coactivation_returns_exact_jaccard(data, active, f: int) -> None:
    mine = set(active[f])
    jaccard = {g: len(mine & set(s)) / len(mine | set(s)) for g, s in active.items() if s}
    result = similar_features(data, f, "coactivation", top_k=4)
    assert [g for g, _ in result] == _expected(jaccard, f, 4, positive_only=True)
    for g, s in result:
        assert s == pytest.approx(jaccard[g])


def test_minhash_estimate_tracks_jaccard(data, active) -> None:
    signatures = minhash_signatures(data)
    f = 5
    estimates = minhash_estimates(np.ascontiguousarray(signatures.T), f)
    assert estimates[f] == 1.0
    assert estimates[N_FEATURES - 1] == 0.0  # dead feature: empty signature
    mine = set(active[f])
    for g in range(N_FEATURES - 1):
        exact = len(mine & set(active[g])) / len(mine | set(active[g]))
        assert abs(estimates[g] - exact) < 0.2


def test_dead_feature_has_no_tokens_or_coactivation_neighbours(data) -> None:
    dead = N_FEATURES - 1
    assert similar_features(data, dead, "tokens") == []
    assert similar_features(data, dead, "coactivation") == []
    assert len(similar_features(data, dead, "decoder", top_k=3)) == 3


def test_bad_requests_are_validation_errors(data, make_tiny_workspace) -> None:
    with pytest.raises(ValidationError, match="unknown similarity method 'jaccard'"):
        similar_features(data, 0, "jaccard")
    with pytest.raises(ValidationError, match="--top-k"):
        similar_features(data, 0, "decoder", top_k=0)
    with pytest.raises(ValidationError, match="out of range"):
        similar_features(data, N_FEATURES, "tokens")
    no_decoder = Workspace.open(make_tiny_workspace("nodec", with_decoder=False)).data()
    with pytest.raises(ValidationError, match="no decoder"):
        similar_features(no_decoder, 0, "decoder")
    assert similar_features(no_decoder, 0, "tokens", top_k=2)


def test_tables_are_cached_once_per_workspace(data, workspace: Path, monkeypatch) -> None:
    similar_features(data, 0, "tokens")
    similar_features(data, 0, "coactivation")
    folder = cache_folder(data)
    profiles = folder / f"{similarity_index.PROFILES_NAME}.npy"
    assert profiles.is_file() and (folder / "minhash.npy").is_file()

    def fail(*_args):
        raise AssertionError("rebuilt a cached table")

    monkeypatch.setattr(similarity_index, "_build_profiles", fail)
    monkeypatch.setattr(similarity_index, "_build_minhash", fail)
    fresh = Workspace.open(workspace).data()  # a new process would see the same files
    assert similar_features(fresh, 3, "tokens") == similar_features(data, 3, "tokens")
    assert similar_features(fresh, 3, "coactivation") == similar_features(data, 3, "coactivation")


def test_corrupt_or_unwritable_cache_is_rebuilt_not_fatal(
    data, workspace: Path, monkeypatch
) -> None:
    expected = similar_features(data, 4, "tokens")
    path = cache_folder(data) / f"{similarity_index.PROFILES_NAME}.npy"
    path.write_bytes(b"not a numpy file")
    fresh = Workspace.open(workspace).data()
    assert similar_features(fresh, 4, "tokens") == expected
    assert np.load(path).shape[0] == N_FEATURES + 1  # rewritten whole (CSR row pointers)

    def refuse(*_args):
        raise PermissionError("read-only cache")

    path.unlink()
    monkeypatch.setattr("labeler_tui.core.analysis.derived.save_array", refuse)
    assert similar_features(Workspace.open(workspace).data(), 4, "tokens") == expected
    assert not path.exists()


def test_tokens_similarity_does_not_depend_on_the_activation_scale(
    tmp_path: Path, workspace: Path, data
) -> None:
    tiny = tmp_path / "tiny-scale"
    write_tiny_workspace(tiny, n_features=N_FEATURES, n_examples=500, seed=11)
    for path in (tiny / "data" / "activations").glob("*.parquet"):
        acts = pl.read_parquet(path)
        scaled = (pl.col("activation") * 1e-30).cast(acts.schema["activation"])
        acts.with_columns(scaled).write_parquet(path)
    tiny_data = Workspace.open(tiny).data()
    for f in (1, 7):
        plain = similar_features(data, f, "tokens", top_k=6)
        small = similar_features(tiny_data, f, "tokens", top_k=6)
        assert [g for g, _ in small] == [g for g, _ in plain]
        assert [s for _, s in small] == pytest.approx([s for _, s in plain], abs=1e-6)


def test_a_method_says_whether_it_must_build_its_table_first(tmp_path: Path) -> None:
    root = tmp_path / "ready"
    write_tiny_workspace(root, n_features=N_FEATURES, n_examples=300, seed=3)
    data = Workspace.open(root).data()

    def ready(d: ModelData) -> list[str]:
        return [m.name for m in SIMILARITY_METHODS.entries() if m.is_ready(d)]

    assert ready(data) == ["decoder"]
    similar_features(data, 1, "tokens")
    assert ready(data) == ["decoder", "tokens"]
    similar_features(data, 1, "coactivation")
    fresh = Workspace.open(root).data()  # another process: the files are there
    assert ready(fresh) == ["decoder", "tokens", "coactivation"]


def test_decoder_top_k_stays_exact_when_cosines_tie_in_float32(tmp_path: Path) -> None:
    """Rows whose cosines with the query differ by less than a float32 mat-vec resolves: the
    ranking and the values come from the float64 re-rank, not from the unit-decoder scan."""
    root = tmp_path / "ties"
    write_tiny_workspace(root, n_features=N_FEATURES, n_examples=200, seed=5)
    rng = np.random.default_rng(7)
    d = 384
    query = rng.normal(size=d)
    decoder = np.empty((N_FEATURES, d))
    decoder[0] = query
    for g in range(1, N_FEATURES):  # each a hair away from the query, by a different hair
        decoder[g] = query + 1e-4 * g**0.5 * rng.normal(size=d)
    decoder = decoder.astype(np.float32)
    np.save(root / "data" / "decoder.npy", decoder)
    data = Workspace.open(root).data()
    stored = decoder.astype(np.float64)  # what the index serves, in float64
    unit = stored / np.linalg.norm(stored, axis=1, keepdims=True)
    cosines = {g: float(unit[g] @ unit[0]) for g in range(N_FEATURES)}
    gaps = np.diff(sorted(cosines[g] for g in range(1, N_FEATURES)))
    assert gaps.min() < 1e-6  # below what float32 dot products resolve at d = 384
    result = similar_features(data, 0, "decoder", top_k=6)
    assert [g for g, _ in result] == _expected(cosines, 0, 6, positive_only=False)
    for g, s in result:
        assert s == pytest.approx(cosines[g], abs=1e-12)
    unit_file = cache_folder(data) / f"{similarity_index.UNIT_DECODER_NAME}.npy"
    np.testing.assert_allclose(np.load(unit_file), unit.astype(np.float32), rtol=0, atol=1e-6)
