"""Files written by the ecosystem's own code, read by `labeler import` (skipped unless the
library, and torch, are installed; CI has neither: tests/test_lm_importers.py covers the layouts
with files written here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from labeler_tui.cli.main import main


def _import(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code = main(["import", *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_a_sparsify_checkpoint_saved_by_sparsify(tmp_path: Path, capsys) -> None:
    sparsify = pytest.importorskip("sparsify")
    coder = getattr(sparsify, "SparseCoder", None) or sparsify.Sae
    config = getattr(sparsify, "SparseCoderConfig", None) or sparsify.SaeConfig
    sae = coder(16, config(num_latents=64, k=8), device="cpu")
    sae.save_to_disk(tmp_path / "ckpt" / "layers.0")
    ws = tmp_path / "ws"
    ws.mkdir()
    result = _import(capsys, "sparsify", str(tmp_path / "ckpt"), "--workspace", str(ws))
    (model,) = result["models"]
    assert model["name"] == "layers.0" and model["n_features"] == 64 and model["has_decoder"]
    from labeler_tui.core.workspace import Workspace

    data = Workspace.open(ws).data("layers.0")
    expected = sae.W_dec.detach().cpu().numpy()
    assert np.allclose(np.asarray(data.decoder), expected, atol=1e-6)


def test_a_saelens_sae_saved_by_saelens(tmp_path: Path, capsys) -> None:
    sae_lens = pytest.importorskip("sae_lens")
    if not hasattr(sae_lens, "StandardSAE"):
        pytest.skip("SAELens < 6")
    sae = sae_lens.StandardSAE(sae_lens.StandardSAEConfig(d_in=16, d_sae=64))
    sae.save_model(str(tmp_path / "sae"))
    ws = tmp_path / "ws"
    ws.mkdir()
    result = _import(
        capsys, "saelens", str(tmp_path / "sae"), "--model", "sae", "--workspace", str(ws)
    )
    (model,) = result["models"]
    assert model["n_features"] == 64 and model["has_decoder"]
