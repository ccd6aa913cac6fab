"""`labeler import` on files written in each tool's layout (tests/lm_formats.py), `labeler
contexts` against a Delphi cache's raw values, and suggestions that never label anything."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from lm_formats import (
    token_matrix,
    write_delphi,
    write_neuronpedia,
    write_saelens,
    write_sparsify,
    write_tokenizer,
)

from labeler_tui.cli.main import main
from labeler_tui.core.data.tokenizer import read_tokenizer
from labeler_tui.core.evidence.contexts import feature_contexts, sequence_activations
from labeler_tui.core.workspace import Workspace


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def delphi(tmp_path: Path):
    tokenizer = write_tokenizer(tmp_path / "hf" / "tokenizer.json")
    tokens = token_matrix(tokenizer, n_seq=12, ctx_len=32)
    run = write_delphi(
        tmp_path / "results",
        tokens,
        explanations={0: "commas in lists", 1: "years after Copyright", 2: "  "},
        scores={
            0: [
                {"activating": True, "prediction": True},
                {"activating": False, "prediction": True},
            ],
            1: [
                {"activating": True, "prediction": True},
                {"activating": False, "prediction": False},
            ],
        },
    )
    return run, tmp_path / "hf" / "tokenizer.json"


def _config(workspace: Path) -> dict:
    return tomllib.loads((workspace / "labeler.toml").read_text())


# --- delphi ---------------------------------------------------------------------------------
def test_delphi_into_a_folder_without_labeler_toml(delphi, tmp_path: Path, capsys) -> None:
    run_, tokenizer = delphi
    ws = tmp_path / "ws"
    ws.mkdir()
    result = run_json(
        capsys,
        "import",
        "delphi",
        str(run_.root),
        "--tokenizer",
        str(tokenizer),
        "--workspace",
        str(ws),
    )
    (model,) = result["models"]
    assert model["name"] == "layers.3" and model["created"]
    assert model["n_features"] == run_.width
    assert model["n_nonzero"] == len(run_.activations)
    assert model["n_examples"] == run_.tokens.size
    table = _config(ws)["models"]["layers.3"]
    assert table["kind"] == "sequence"
    assert Path(table["activations"]) == (run_.root / "latents" / "layers.3").resolve()
    # referenced in place: nothing copied into the workspace but labeler.toml and stores
    assert not list(ws.rglob("*.safetensors"))
    # explanations are suggestions (the blank one is skipped), scored by balanced accuracy
    assert result["suggestions"]["layers.3"]["added"] == 2
    got = run_json(capsys, "suggestions", "-f", "1", "--workspace", str(ws), "--model", "layers.3")
    (s,) = got["suggestions"]
    assert (s["text"], s["source"], s["explainer"]) == (
        "years after Copyright",
        "delphi",
        "hugging-quants/Meta-Llama-3.1-70B",
    )
    assert s["scores"] == {"detection": 1.0}
    zero = run_json(capsys, "suggestions", "-f", "0", "--workspace", str(ws), "--model", "layers.3")
    assert zero["suggestions"][0]["scores"] == {"detection": 0.5}
    # nothing is labeled
    status = run_json(capsys, "status", "--workspace", str(ws), "--model", "layers.3")
    assert status["labels"]["total"] == 0 and status["queue"]["completed"] == 0


def test_contexts_json_agrees_with_the_caches_raw_values(delphi, tmp_path: Path, capsys) -> None:
    run_, tokenizer = delphi
    ws = tmp_path / "ws"
    ws.mkdir()
    run_json(
        capsys,
        "import",
        "delphi",
        str(run_.root),
        "--tokenizer",
        str(tokenizer),
        "--workspace",
        str(ws),
    )
    pieces = read_tokenizer(tokenizer).pieces
    before, after = 5, 3
    for latent in (0, 17):  # one latent in each split file
        got = run_json(
            capsys,
            "contexts",
            "-f",
            str(latent),
            "-k",
            "8",
            "--window",
            f"{before},{after}",
            "--workspace",
            str(ws),
            "--model",
            "layers.3",
        )
        contexts = got["contexts"]
        assert len(contexts) == 8
        mine = run_.locations[:, 2] == latent
        raw_top = np.sort(run_.activations[mine].astype(np.float64))[::-1][:8]
        assert [c["activation"] for c in contexts] == pytest.approx(raw_top.tolist())
        for c in contexts:
            seq, pos, center = c["seq"], c["pos"], c["center"]
            assert set(c) >= {"seq", "pos", "activation", "tokens", "activations", "center"}
            assert c["activation"] == pytest.approx(run_.raw(seq, pos, latent))
            lo, hi = max(0, pos - before), min(run_.tokens.shape[1], pos + after + 1)
            assert center == pos - lo
            assert c["tokens"] == [pieces[t] for t in run_.tokens[seq, lo:hi]]
            assert c["activations"] == pytest.approx(
                [run_.raw(seq, p, latent) for p in range(lo, hi)]
            )
            assert c["activations"][center] == pytest.approx(c["activation"])
    # a whole sequence
    data = Workspace.open(ws).data("layers.3")
    seq = contexts[0]["seq"]
    whole = sequence_activations(data, 17, seq)
    assert whole.token_ids == tuple(int(t) for t in run_.tokens[seq])
    assert whole.activations == pytest.approx(
        [run_.raw(seq, p, 17) for p in range(run_.tokens.shape[1])]
    )


def test_contexts_regions_windows_and_errors(delphi, tmp_path: Path, capsys) -> None:
    run_, tokenizer = delphi
    ws = tmp_path / "ws"
    ws.mkdir()
    run_json(
        capsys,
        "import",
        "delphi",
        str(run_.root),
        "--tokenizer",
        str(tokenizer),
        "--workspace",
        str(ws),
    )
    data = Workspace.open(ws).data("layers.3")
    core = feature_contexts(data, 3, "core", 5)
    assert core.sample and core.seed == 0 and core.window == (24, 4)
    assert all(c.region == "core" for c in core.contexts)
    assert feature_contexts(data, 3, "core", 5) == core  # seeded: the same sample
    dead = feature_contexts(data, run_.width - 1)
    assert dead.contexts == () and dead.effective_max is None
    for argv, message in (
        (("-f", "3", "--region", "middle"), "region"),
        (("-f", "999"), "999"),
        (("-f", "3", "--window", "600,1"), "window"),
    ):
        code, out, err = run(
            capsys, "contexts", *argv, "--workspace", str(ws), "--model", "layers.3"
        )
        assert code == 1 and message in err and out == ""
    with pytest.raises(SystemExit) as usage:
        main(["contexts", "-f", "3", "--window", "5", "--workspace", str(ws)])
    assert usage.value.code == 2 and "BEFORE,AFTER" in capsys.readouterr().err


def test_delphi_without_a_tokenizer_is_refused_with_nothing_written(
    delphi, tmp_path: Path, capsys
) -> None:
    run_, _ = delphi
    ws = tmp_path / "ws"
    ws.mkdir()
    code, out, err = run(capsys, "import", "delphi", str(run_.root), "--workspace", str(ws))
    assert code == 1 and "--tokenizer" in err and "pythia-70m" in err
    assert list(ws.iterdir()) == []


# --- saelens / sparsify ---------------------------------------------------------------------
def test_saelens_folder_gives_decoder_similarity(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "sae" / "blocks.3.hook_resid_post"
    w_dec = write_saelens(folder)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "labeler.toml").write_text('[labeler]\nsource = "me"\n')
    result = run_json(capsys, "import", "saelens", str(folder), "--workspace", str(ws))
    (model,) = result["models"]
    assert model["name"] == "blocks.3.hook_resid_post" and model["has_decoder"]
    assert model["n_features"] == w_dec.shape[0]
    config = _config(ws)
    assert config["labeler"]["source"] == "me"  # the rest of the file is kept
    table = config["models"]["blocks.3.hook_resid_post"]
    assert Path(table["decoder"]) == folder.resolve()
    similar = run_json(
        capsys,
        "similar",
        "-f",
        "1",
        "-k",
        "1",
        "--method",
        "decoder",
        "--workspace",
        str(ws),
        "--model",
        "blocks.3.hook_resid_post",
    )
    top = similar[0]
    expected = w_dec[1] @ w_dec[2] / np.linalg.norm(w_dec[1]) / np.linalg.norm(w_dec[2])
    assert top["feature_id"] == 2 and top["similarity"] == pytest.approx(expected, abs=1e-5)


def test_saelens_cfg_that_disagrees_with_the_weights_changes_nothing(
    tmp_path: Path, capsys
) -> None:
    folder = tmp_path / "sae"
    write_saelens(folder)
    cfg = json.loads((folder / "cfg.json").read_text())
    (folder / "cfg.json").write_text(json.dumps({**cfg, "d_sae": 10}))
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "labeler.toml").write_text("[labeler]\n")
    code, out, err = run(capsys, "import", "saelens", str(folder), "--workspace", str(ws))
    assert code == 1 and "d_sae is 10" in err and err.count("\n") == 1
    assert (ws / "labeler.toml").read_text() == "[labeler]\n"
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "import", "saelens", str(tmp_path / "empty"), "--workspace", str(ws))
    assert code == 1 and "not a SAELens folder" in err


def test_sparsify_one_model_per_hookpoint_and_flat_importance(tmp_path: Path, capsys) -> None:
    decs = write_sparsify(tmp_path / "ckpt", ["layers.0", "layers.1"])
    ws = tmp_path / "ws"
    ws.mkdir()
    result = run_json(capsys, "import", "sparsify", str(tmp_path / "ckpt"), "--workspace", str(ws))
    assert [m["name"] for m in result["models"]] == ["layers.0", "layers.1"]
    assert set(_config(ws)["models"]) == {"layers.0", "layers.1"}
    for hook in decs:
        similar = run_json(
            capsys, "similar", "-f", "4", "-k", "1", "--workspace", str(ws), "--model", hook
        )
        assert similar[0]["feature_id"] == 5
        overview = run_json(capsys, "overview", "-f", "4", "--workspace", str(ws), "--model", hook)
        assert overview["importance_percentile"] is None and "flat" in overview["importance_note"]
    # --model with several hookpoints is ambiguous
    code, _, err = run(
        capsys, "import", "sparsify", str(tmp_path / "ckpt"), "--model", "x", "--workspace", str(ws)
    )
    assert code == 1 and "layers.0" in err


# --- neuronpedia and suggestions ------------------------------------------------------------
def test_neuronpedia_brings_suggestions_and_effects_without_labeling(
    delphi, tmp_path: Path, capsys
) -> None:
    run_, tokenizer = delphi
    ws = tmp_path / "ws"
    ws.mkdir()
    run_json(
        capsys,
        "import",
        "delphi",
        str(run_.root),
        "--tokenizer",
        str(tokenizer),
        "--workspace",
        str(ws),
    )
    common = ("--workspace", str(ws), "--model", "layers.3")
    run_json(capsys, "build-queue", "--method", "activation_count", "--top-k", "5", *common)
    before = run_json(capsys, "status", *common)
    queue = (ws / "labels" / "queue_layers.3.json").read_text()
    source = tmp_path / "export" / "3-res-jb"
    write_neuronpedia(source, n_features=run_.width)
    result = run_json(capsys, "import", "neuronpedia", str(source), *common)
    assert result["suggestions"]["layers.3"]["added"] == 2
    assert run_json(capsys, "status", *common) == before
    assert (ws / "labels" / "queue_layers.3.json").read_text() == queue
    assert not (ws / "labels" / "consolidated_layers.3.json").exists()
    # output effects from pos_str / neg_str, white space shown visibly
    effects = run_json(capsys, "effects", "-f", "2", *common)
    assert [e["name"] for e in effects["promoted"]] == ["↵", " the", " w2"]
    assert effects["suppressed"] == [{"name": " a", "value": -0.7}]
    # a label from a suggestion records it, keeps its author's source; markup stays text
    got = run_json(capsys, "suggestions", "-f", "7", *common)["suggestions"]
    assert got[0]["text"] == "[bold]closing[/bold] brackets in code"
    code, out, err = run(capsys, "suggestions", "-f", "7", *common)
    assert code == 0 and "[bold]closing[/bold]" in out
    label = run_json(
        capsys, "label", "-f", "7", "--from-suggestion", "1", "--source", "alice", *common
    )
    assert label["dashboard_name"] == "[bold]closing[/bold] brackets in code"
    assert label["source"] == "alice"
    assert label["derived_from"] == {
        "source": "neuronpedia",
        "text": "[bold]closing[/bold] brackets in code",
    }
    code, out, err = run(capsys, "label", "-f", "7", "--from-suggestion", "3", *common)
    assert code == 1 and "1..1" in err
    with pytest.raises(SystemExit) as usage:
        main(["label", "-f", "3", *common])
    assert usage.value.code == 2 and "--from-suggestion" in capsys.readouterr().err


def test_weak_suggestions_queue_builder_puts_the_lowest_scored_first(
    delphi, tmp_path, capsys
) -> None:
    run_, tokenizer = delphi
    ws = tmp_path / "ws"
    ws.mkdir()
    common = ("--workspace", str(ws), "--model", "layers.3")
    run_json(capsys, "import", "delphi", str(run_.root), "--tokenizer", str(tokenizer), *common[:2])
    run_json(capsys, "build-queue", "--method", "weak_suggestions", *common)
    queue = json.loads((ws / "labels" / "queue_layers.3.json").read_text())
    entries = sorted(queue["entries"], key=lambda e: -e["priority"])
    assert [e["feature_id"] for e in entries] == [0, 1]  # 0 scored 0.5, 1 scored 1.0


def test_saelens_then_delphi_attach_to_one_model(delphi, tmp_path: Path, capsys) -> None:
    run_, tokenizer = delphi
    ws = tmp_path / "ws"
    ws.mkdir()
    common = ("--workspace", str(ws), "--model", "layers.3")
    w_dec = write_saelens(tmp_path / "sae", d_sae=run_.width)
    run_json(capsys, "import", "saelens", str(tmp_path / "sae"), *common)
    both = run_json(
        capsys, "import", "delphi", str(run_.root), "--tokenizer", str(tokenizer), *common
    )
    (model,) = both["models"]
    assert not model["created"] and model["has_decoder"]
    assert model["n_nonzero"] == len(run_.activations)
    table = _config(ws)["models"]["layers.3"]
    assert set(table) >= {"kind", "decoder", "activations", "tokenizer"}
    top = run_json(capsys, "similar", "-f", "1", "-k", "1", "--method", "decoder", *common)[0]
    assert top["feature_id"] == 2
    overview = run_json(capsys, "overview", "-f", "1", *common)
    norms = np.linalg.norm(w_dec, axis=1)
    assert overview["importance_percentile"] == pytest.approx(100 * np.mean(norms < norms[1]))
    # a decoder of another width than the cache is refused, and nothing changes
    before = (ws / "labeler.toml").read_text()
    write_saelens(tmp_path / "small", d_sae=8)
    code, _, err = run(capsys, "import", "saelens", str(tmp_path / "small"), *common)
    assert code == 1 and (ws / "labeler.toml").read_text() == before


def test_an_import_in_a_folder_without_a_workspace_writes_labeler_toml_there(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    decs = write_sparsify(tmp_path / "ckpt", ["layers.0"])
    here = tmp_path / "fresh"
    here.mkdir()
    monkeypatch.chdir(here)
    result = run_json(capsys, "import", "sparsify", str(tmp_path / "ckpt"))
    assert result["workspace"] == str((here / "labeler.toml").resolve())
    config = _config(here)
    assert Path(config["models"]["layers.0"]["decoder"]) == (tmp_path / "ckpt" / "layers.0")
    info = run_json(capsys, "info")  # found from the current folder, the imported model in it
    assert info["models"]["layers.0"]["n_features"] == len(decs["layers.0"])


def test_a_delphi_cache_built_in_shards_serves_what_a_whole_build_does(
    delphi, tmp_path: Path, capsys
) -> None:
    run_, tokenizer = delphi
    ws = tmp_path / "ws"
    ws.mkdir()
    common = ("--workspace", str(ws), "--model", "layers.3")
    run_json(capsys, "import", "delphi", str(run_.root), "--tokenizer", str(tokenizer), *common)
    whole = run_json(capsys, "contexts", "-f", "20", "-k", "5", *common)
    import shutil

    shutil.rmtree(ws / ".labeler-cache")
    for shard in ("1/2", "2/2"):
        run_json(capsys, "index", "--shard", shard, *common)
    assert len(list((ws / ".labeler-cache" / "layers.3").glob("*/shards/*"))) == 2
    data = Workspace.open(ws).data("layers.3")
    assert data.n_features == run_.width and data.n_nonzero == len(run_.activations)
    assert run_json(capsys, "contexts", "-f", "20", "-k", "5", *common) == whole
