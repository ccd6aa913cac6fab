"""The Python API: the original docs' snippets run (import line adapted) on an "ultra" workspace,
and the classes share the stores and rules of the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import tomli_w

from labeler_tui.cli.main import main
from labeler_tui.core.errors import ValidationError

N_FEATURES = 19_100  # the decoder's row count: ids of the docs (18712, 18890, 19042) are valid
ACTIVE = [*range(20), 18712, 18890, 19042]
FAMILIES = ["special_charge_up", "swim_speed_up", "ink_saver_main", "quick_respawn"]
LEVELS = [3, 6, 12, 29, 57]
VOCAB = ["<PAD>", *[f"{f}_{lv}" for f in FAMILIES for lv in LEVELS], "respawn_punisher"]
WEAPONS = ["splattershot", "hydra", "bloblobber", "sploosh"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Input data of an "ultra" model, written once for the module (the index is shared too)."""
    root = tmp_path_factory.mktemp("ultra_data")
    rng = np.random.default_rng(7)
    n_examples = 300
    example_ids = 5000 + 3 * np.arange(n_examples)
    tokens = [
        sorted(
            rng.choice(np.arange(1, len(VOCAB)), size=rng.integers(1, 6), replace=False).tolist()
        )
        for _ in range(n_examples)
    ]
    (root / "vocab.json").write_text(json.dumps({name: i for i, name in enumerate(VOCAB)}))
    pl.DataFrame(
        {"example_id": example_ids, "tokens": tokens, "weapon": rng.choice(WEAPONS, n_examples)},
        schema={"example_id": pl.Int64, "tokens": pl.List(pl.Int32), "weapon": pl.Utf8},
    ).write_parquet(root / "examples.parquet")
    feats, exs, acts = [], [], []
    for f in ACTIVE:
        k = int(rng.integers(30, 200))
        feats.append(np.full(k, f))
        exs.append(rng.choice(example_ids, size=k, replace=False))
        values = rng.gamma(2.0, 1.0, size=k)
        values[:3] = 0.0  # rows that are not "nonzero"
        acts.append(values)
    pl.DataFrame(
        {
            "feature_id": np.concatenate(feats).astype(np.int32),
            "example_id": np.concatenate(exs).astype(np.int64),
            "activation": np.concatenate(acts).astype(np.float32),
        }
    ).write_parquet(root / "activations.parquet")
    np.save(root / "decoder.npy", rng.normal(size=(N_FEATURES, 8)).astype(np.float32))
    return root


@pytest.fixture
def ultra_ws(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace (own stores) over the shared data; found by $LABELER_WORKSPACE."""
    ws = tmp_path / "ultra_ws"
    ws.mkdir()
    config = {
        "labeler": {"default_model": "ultra", "source": "dashboard", "owner": "tester"},
        "paths": {"cache": str(data_dir / "cache")},
        "models": {
            "ultra": {
                "activations": str(data_dir / "activations.parquet"),
                "examples": str(data_dir / "examples.parquet"),
                "vocab": str(data_dir / "vocab.json"),
                "decoder": str(data_dir / "decoder.npy"),
            }
        },
    }
    (ws / "labeler.toml").write_bytes(tomli_w.dumps(config).encode())
    monkeypatch.setenv("LABELER_WORKSPACE", str(ws))
    return ws


def labels_file(ws: Path) -> dict[str, Any]:
    path = ws / "labels" / "consolidated_ultra.json"
    return json.loads(path.read_text()) if path.exists() else {}


def queue_file(ws: Path) -> dict[str, Any]:
    return json.loads((ws / "labels" / "queue_ultra.json").read_text())


# The snippets of the original tool's documentation, verbatim but for the import line.
PROGRAMMATIC_USAGE = """
from labeler_tui.labeling import (
    LabelConsolidator,
    LabelingQueue,
    QueueBuilder,
    SimilarFinder,
)

# Queue management
queue = LabelingQueue.load("ultra")
entry = queue.get_next()
queue.mark_complete(entry.feature_id, "My Label")

# Set labels
consolidator = LabelConsolidator("ultra")
consolidator.set_label(
    feature_id=18712,
    name="SCU Detector",
    category="tactical",
    notes="Responds to SCU presence",
)

# Find similar
finder = SimilarFinder("ultra")
similar = finder.find_by_top_tokens(18712, top_k=5)

# Build queue
builder = QueueBuilder("ultra")
queue = builder.build_by_activation_count(top_k=50)
"""

CORE_COVERAGE = """
from labeler_tui import load_context
import polars as pl
import numpy as np

ctx = load_context('ultra')
df = ctx.db.get_all_feature_activations_for_pagerank(FEATURE_ID)

# Define core region
acts = df['activation'].to_numpy()
nonzero_acts = acts[acts > 0]
effective_max = np.percentile(nonzero_acts, 99.5)
core_df = df.filter(
    (pl.col('activation') > 0.25 * effective_max) &
    (pl.col('activation') <= 0.75 * effective_max)
)

# Check coverage of proposed label driver
driver_id = ctx.vocab['YOUR_TOKEN_HERE']  # e.g., 'respawn_punisher'
core_with_driver = core_df.filter(
    pl.col('ability_input_tokens').list.contains(driver_id)
)
coverage = len(core_with_driver) / len(core_df) * 100
print(f"Core coverage: {coverage:.1f}%")
"""


def test_programmatic_usage_snippet_runs(ultra_ws: Path) -> None:
    pytest.importorskip("labeler_tui.core.analysis.queue_builders")
    pytest.importorskip("labeler_tui.core.analysis.similarity")
    namespace: dict[str, Any] = {}
    exec(compile(PROGRAMMATIC_USAGE, "original-docs", "exec"), namespace)

    entry = namespace["entry"]
    assert entry.feature_id in ACTIVE  # the empty queue was built by activation count
    record = labels_file(ultra_ws)["18712"]
    assert (record["display_name"], record["dashboard_category"]) == ("SCU Detector", "tactical")
    assert record["dashboard_notes"] == "Responds to SCU presence"
    similar = namespace["similar"]
    assert 0 < len(similar) <= 5
    for fid, sim in similar:  # unpacks like the original's tuples
        assert fid != 18712 and -1.0 <= sim <= 1.0
    assert [s.similarity for s in similar] == sorted((s.similarity for s in similar), reverse=True)
    queue = namespace["queue"]
    state = queue_file(ultra_ws)
    assert entry.feature_id in state["completed"]
    assert 18712 in state["completed"]
    pending = [e["feature_id"] for e in state["entries"]]
    assert entry.feature_id not in pending and 18712 not in pending
    assert len(queue) == len(pending)


def test_core_coverage_snippet_matches_the_raw_data(ultra_ws: Path, data_dir: Path, capsys) -> None:
    feature, token = 18712, "special_charge_up_29"
    namespace: dict[str, Any] = {"FEATURE_ID": feature}
    code = CORE_COVERAGE.replace("YOUR_TOKEN_HERE", token)
    exec(compile(code, "original-docs", "exec"), namespace)
    printed = capsys.readouterr().out

    # The same computation straight from the input parquet files.
    acts = pl.read_parquet(data_dir / "activations.parquet").filter(
        (pl.col("feature_id") == feature) & (pl.col("activation") > 0)
    )
    examples = pl.read_parquet(data_dir / "examples.parquet")
    joined = acts.join(examples, on="example_id")
    eff = np.percentile(joined["activation"].to_numpy(), 99.5)
    core = joined.filter((pl.col("activation") > 0.25 * eff) & (pl.col("activation") <= 0.75 * eff))
    token_id = VOCAB.index(token)
    expected = core.filter(pl.col("tokens").list.contains(token_id)).height / core.height * 100
    assert namespace["coverage"] == pytest.approx(expected)
    assert printed.strip() == f"Core coverage: {expected:.1f}%"


def test_db_frame_has_every_nonzero_row_with_tokens_and_metadata(
    ultra_ws: Path, data_dir: Path
) -> None:
    from labeler_tui import load_context

    ctx = load_context("ultra")
    df = ctx.db.get_all_feature_activations_for_pagerank(5)
    assert df.columns[:3] == ["activation", "example_id", "ability_input_tokens"]
    assert "weapon" in df.columns
    acts = df["activation"].to_numpy()
    assert (acts > 0).all() and (np.diff(acts) <= 0).all()  # nonzero, highest first

    raw = (
        pl.read_parquet(data_dir / "activations.parquet")
        .filter((pl.col("feature_id") == 5) & (pl.col("activation") > 0))
        .join(pl.read_parquet(data_dir / "examples.parquet"), on="example_id")
    )
    got = {row["example_id"]: row for row in df.iter_rows(named=True)}
    assert set(got) == set(raw["example_id"].to_list())
    for row in raw.iter_rows(named=True):
        mine = got[row["example_id"]]
        assert mine["ability_input_tokens"] == row["tokens"]
        assert mine["weapon"] == row["weapon"]
        assert mine["activation"] == pytest.approx(row["activation"])
    top = ctx.db.get_feature_activations(5, limit=4)
    assert top["example_id"].to_list() == df["example_id"].to_list()[:4]


def test_context_vocab_and_ids(ultra_ws: Path) -> None:
    from labeler_tui import load_context

    ctx = load_context(workspace=ultra_ws)
    assert ctx.model_type == "ultra"
    assert ctx.vocab["respawn_punisher"] == VOCAB.index("respawn_punisher")
    assert ctx.inv_vocab[ctx.vocab["swim_speed_up_3"]] == "swim_speed_up_3"
    assert ctx.token_to_id("nope") is None
    assert len(ctx.get_feature_ids()) == N_FEATURES
    assert set(ctx.db.get_active_feature_ids()) == set(ACTIVE)
    with pytest.raises(ValidationError, match="out of range"):
        ctx.db.get_all_feature_activations_for_pagerank(N_FEATURES)


def test_consolidator_follows_the_cli_rules(ultra_ws: Path, capsys) -> None:
    from labeler_tui.labeling import LabelConsolidator

    consolidator = LabelConsolidator("ultra", source="codex")
    saved = consolidator.set_label(
        feature_id=18890, name="Swim Sustain", category="strategic", interpretability_confidence=0.9
    )
    assert saved.display_name == "Swim Sustain" and saved["source"] == "codex"
    assert saved.importance_percentile is not None  # filled from the decoder
    before = (ultra_ws / "labels" / "consolidated_ultra.json").read_bytes()
    with pytest.raises(ValidationError, match="category"):
        consolidator.set_label(feature_id=3, name="Bad", category="bogus")
    with pytest.raises(ValidationError, match="out of range"):
        consolidator.set_label(feature_id=N_FEATURES, name="Too far")
    assert (ultra_ws / "labels" / "consolidated_ultra.json").read_bytes() == before

    assert main(["status", "--json"]) == 0  # the CLI sees the API's label
    status = json.loads(capsys.readouterr().out)
    assert status["labels"]["by_source"] == {"codex": 1}
    stats = consolidator.get_statistics()
    assert stats["total_labeled"] == 1 and stats["by_category"] == {"strategic": 1}
    assert [r.feature_id for r in consolidator.search("swim")] == [18890]
    assert consolidator.get_by_category("strategic")[0]["feature_id"] == 18890
    assert consolidator.get_labeled_features() == [18890]
    assert consolidator.get_unlabeled_features([1, 18890, 2]) == [1, 2]
    out = ultra_ws / "labels.csv"
    assert consolidator.export_csv(out) == 1
    assert "Swim Sustain" in out.read_text()
    removed = consolidator.clear_label(18890)
    assert removed is not None and removed.display_name == "Swim Sustain"
    assert consolidator.get_label(18890) is None


def test_queue_api_round_trip(ultra_ws: Path) -> None:
    from labeler_tui.labeling import LabelingQueue

    queue = LabelingQueue.load("ultra")
    entry = queue.add(4, priority=0.3)
    assert entry is not None and entry.reason == "manual add"
    assert queue.add_batch([18712, 18890, 19042], priority=0.8, reason="SCU-related cluster") == 3
    assert len(queue) == 4
    assert [e.feature_id for e in queue.peek(2)] == [18712, 18890]
    assert queue.update_priority(4, 0.95) is True
    assert queue.get_next(build=False).feature_id == 4
    assert queue.update_priority(7, 0.5) is False

    assert queue.mark_complete(4, "My Label") is True
    assert queue.mark_complete(4) is False  # no longer pending
    assert 4 in queue.completed
    assert labels_file(ultra_ws) == {}  # completing is not labeling
    assert queue.mark_skipped(18890, "too noisy") is True
    assert queue.skipped == [18890]
    stats = queue.get_statistics()
    assert (stats["pending"], stats["completed"], stats["skipped"]) == (2, 1, 1)
    assert stats["total_processed"] == 2

    other = LabelingQueue.load("ultra", owner="agent-b")
    assert queue.claim(18712, owner="agent-a", ttl=300) is True
    assert other.claim(18712, owner="agent-b") is False
    assert other.get_next(build=False, claim=True).feature_id == 19042

    history = [json.loads(line) for line in (ultra_ws / "labels" / "history_ultra.jsonl").open()]
    complete = [e for e in history if e["action"] == "complete"]
    assert len(complete) == 1 and complete[0]["feature_id"] == 4


def test_similar_finder_methods(ultra_ws: Path, data_dir: Path) -> None:
    pytest.importorskip("labeler_tui.core.analysis.similarity")
    from labeler_tui.labeling import SimilarFinder

    finder = SimilarFinder("ultra", workspace=ultra_ws)
    by_decoder = finder.find_by_decoder(18712, top_k=3)
    decoder = np.load(data_dir / "decoder.npy").astype(np.float64)
    unit = decoder / np.linalg.norm(decoder, axis=1, keepdims=True)
    cosine = unit @ unit[18712]
    cosine[18712] = -np.inf
    expected = np.argsort(-cosine)[:3].tolist()
    assert [s.feature_id for s in by_decoder] == expected
    assert [s.similarity for s in by_decoder] == pytest.approx(cosine[expected].tolist(), abs=1e-4)
    assert all(isinstance(s.feature_id, int) for s in finder.find_by_coactivation(18712, top_k=2))
    with pytest.raises(ValidationError):
        finder.find(18712, top_k=0)
