"""`kind = "sequence"` in labeler.toml: validated once, errors name the file, table and key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labeler_tui.core.config import load_config
from labeler_tui.core.errors import ConfigError


def _write(root: Path, table: str) -> Path:
    (root / "labeler.toml").write_text(f"[models.lm]\n{table}\n")
    return root / "labeler.toml"


def test_sequence_model_keys_and_defaults(tmp_path: Path) -> None:
    np.save(tmp_path / "tokens.npy", np.zeros((2, 4), dtype=np.int64))
    (tmp_path / "acts.parquet").write_bytes(b"")
    (tmp_path / "vocab.txt").write_text("a\nb\n")
    sae = tmp_path / "sae"
    sae.mkdir()
    (sae / "sae.safetensors").write_bytes(b"")
    config = load_config(
        _write(
            tmp_path,
            'kind = "sequence"\nactivations = "acts.parquet"\ntokens = "tokens.npy"\n'
            'tokenizer = "vocab.txt"\ndecoder = "sae"',
        )
    )
    model = config.model("lm")
    assert model.is_sequence and model.sequence is not None
    assert model.sequence.window == (24, 4)
    assert model.decoder == sae / "sae.safetensors"  # a sparsify folder's weights file


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('kind = "video"', "kind: expected one of bag, sequence"),
        ('kind = "sequence"\nactivations = "acts.parquet"\ntokens = "tokens.npy"', "tokenizer"),
        ('kind = "sequence"\nn_features = 8\nwindow = [24]', "window"),
        ('kind = "sequence"\nn_features = 8\nexamples = "x.parquet"', "examples"),
        ('kind = "sequence"', "activations"),
    ],
)
def test_sequence_model_errors_name_the_key(tmp_path: Path, table: str, message: str) -> None:
    np.save(tmp_path / "tokens.npy", np.zeros((2, 4), dtype=np.int64))
    (tmp_path / "acts.parquet").write_bytes(b"")
    with pytest.raises(ConfigError) as exc:
        load_config(_write(tmp_path, table))
    text = str(exc.value)
    assert "labeler.toml" in text and "models.lm" in text and message in text
