"""Decoders: .npy and .safetensors (W_dec [n, d] and decoder.weight [d, n]), float32/16/bf16."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from labeler_tui.core.config import load_config
from labeler_tui.core.data import ModelData
from labeler_tui.core.data.decoder import open_decoder
from labeler_tui.core.errors import DataError


def use_decoder(ws: Path, name: str) -> None:
    config = ws / "labeler.toml"
    config.write_text(config.read_text().replace("data/decoder.npy", f"data/{name}"))


def open_model(ws: Path) -> ModelData:
    config = load_config(ws / "labeler.toml")
    return ModelData.open(config.model(), config.paths.cache)


def reference(ws: Path) -> np.ndarray:
    return np.load(ws / "data/decoder.npy")


@pytest.mark.parametrize("key", ["W_dec", "decoder.weight"])
def test_safetensors_float32_both_layouts(
    make_tiny_workspace: Callable[..., Path], key: str
) -> None:
    ws = make_tiny_workspace()
    weights = reference(ws)
    stored = weights if key == "W_dec" else np.ascontiguousarray(weights.T)
    save_file({key: stored, "b_dec": np.zeros(8, np.float32)}, str(ws / "data/sae.safetensors"))
    use_decoder(ws, "sae.safetensors")
    data = open_model(ws)
    assert data.has_decoder and data.n_features == 12
    decoder = data.decoder
    assert decoder is not None and decoder.shape == (12, 8) and decoder.dtype == np.float32
    np.testing.assert_array_equal(decoder, weights)
    np.testing.assert_allclose(data.decoder_norms, np.linalg.norm(weights, axis=1), rtol=1e-6)


def test_float32_w_dec_is_memory_mapped_from_the_input(
    make_tiny_workspace: Callable[..., Path],
) -> None:
    ws = make_tiny_workspace()
    save_file({"W_dec": reference(ws)}, str(ws / "data/sae.safetensors"))
    use_decoder(ws, "sae.safetensors")
    data = open_model(ws)
    assert isinstance(data.decoder, np.memmap)
    assert not (data.cache_dir / "decoder.npy").exists()  # no copy needed


def test_npy_decoder_is_memory_mapped(tiny_workspace: Path) -> None:
    data = open_model(tiny_workspace)
    assert isinstance(data.decoder, np.memmap)
    np.testing.assert_array_equal(data.decoder, reference(tiny_workspace))


def test_float16_decoder_weight(make_tiny_workspace: Callable[..., Path]) -> None:
    ws = make_tiny_workspace()
    weights = reference(ws).astype(np.float16)
    save_file({"decoder.weight": np.ascontiguousarray(weights.T)}, str(ws / "data/d.safetensors"))
    use_decoder(ws, "d.safetensors")
    data = open_model(ws)
    assert data.decoder is not None and data.decoder.dtype == np.float32
    np.testing.assert_array_equal(data.decoder, weights.astype(np.float32))


def write_bf16_safetensors(path: Path, key: str, values: np.ndarray) -> np.ndarray:
    """bf16 by hand (numpy has no bfloat16): the top 16 bits of float32; returns the exact values."""
    bits = (values.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    header = json.dumps(
        {key: {"dtype": "BF16", "shape": list(values.shape), "data_offsets": [0, bits.nbytes]}}
    ).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bits.tobytes())
    return (bits.astype(np.uint32) << 16).view(np.float32)


def test_bfloat16_w_dec(make_tiny_workspace: Callable[..., Path]) -> None:
    ws = make_tiny_workspace()
    exact = write_bf16_safetensors(ws / "data/bf.safetensors", "W_dec", reference(ws))
    use_decoder(ws, "bf.safetensors")
    data = open_model(ws)
    np.testing.assert_array_equal(data.decoder, exact)
    np.testing.assert_allclose(data.decoder, reference(ws), rtol=1e-2)


def test_bad_safetensors_files_are_data_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{nope")
    with pytest.raises(DataError, match="garbage.safetensors: not a safetensors file"):
        open_decoder(garbage)
    other = tmp_path / "other.safetensors"
    save_file({"W_enc": np.zeros((2, 3), np.float32)}, str(other))
    with pytest.raises(DataError, match="no W_dec or decoder.weight tensor \\(tensors: W_enc\\)"):
        open_decoder(other)
    truncated = tmp_path / "trunc.safetensors"
    save_file({"W_dec": np.ones((4, 3), np.float32)}, str(truncated))
    truncated.write_bytes(truncated.read_bytes()[:-8])
    with pytest.raises(DataError, match="trunc.safetensors: W_dec data does not match"):
        open_decoder(truncated)
    one_d = tmp_path / "oned.npy"
    np.save(one_d, np.zeros(5, np.float32))
    with pytest.raises(DataError, match="oned.npy: decoder must be 2-D"):
        open_decoder(one_d)
