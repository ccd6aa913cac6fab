"""Output effects: the decoder row times the output matrix, in both layouts and formats,
against numpy on the input files; the overview's `effects`; clear errors."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from safetensors.numpy import save_file

from labeler_tui.core.analysis.overview import feature_overview
from labeler_tui.core.errors import DataError, ValidationError
from labeler_tui.core.evidence.effects import output_effects
from labeler_tui.core.workspace import Workspace

D = 8  # the tiny workspace's decoder width


def configure(ws: Path, **keys: str) -> None:
    path = ws / "labeler.toml"
    config = tomllib.loads(path.read_text())
    config["models"]["tiny"].update(keys)
    path.write_bytes(tomli_w.dumps(config).encode())


def vocab(ws: Path) -> list[str]:
    return json.loads((ws / "data" / "vocab.json").read_text())


def expected(ws: Path, feature: int, matrix: np.ndarray, names: list[str], k: int):
    """(promoted, suppressed) [(name, value)] from numpy: highest / lowest, ties by id."""
    decoder = np.load(ws / "data" / "decoder.npy").astype(np.float64)
    values = decoder[feature] @ matrix.astype(np.float64)
    ids = np.arange(len(values))
    up = ids[np.lexsort((ids, -values))][:k]
    down = ids[np.lexsort((ids, values))][:k]
    return [(names[i], values[i]) for i in up], [(names[i], values[i]) for i in down]


def check(ws: Path, feature: int, matrix: np.ndarray, names: list[str], k: int = 4) -> None:
    result = output_effects(Workspace.open(ws).data(), feature, k)
    promoted, suppressed = expected(ws, feature, matrix, names, k)
    assert [e.name for e in result.promoted] == [n for n, _ in promoted]
    assert [e.name for e in result.suppressed] == [n for n, _ in suppressed]
    assert [e.value for e in result.promoted] == pytest.approx([v for _, v in promoted], rel=1e-5)
    assert [e.value for e in result.suppressed] == pytest.approx(
        [v for _, v in suppressed], rel=1e-5
    )


@pytest.mark.parametrize("layout", ["d_by_out", "out_by_d"])
def test_npy_output_in_either_layout(make_tiny_workspace: Callable[..., Path], layout: str) -> None:
    ws = make_tiny_workspace()
    names = vocab(ws)
    matrix = np.random.default_rng(1).normal(size=(D, len(names))).astype(np.float32)
    np.save(ws / "data" / "out.npy", matrix if layout == "d_by_out" else matrix.T.copy())
    configure(ws, output="data/out.npy")
    for feature in (0, 3, 11):  # 11 is dead: its decoder row still has effects
        check(ws, feature, matrix, names)


@pytest.mark.parametrize("key", ["W_U", "lm_head.weight", "anything"])
def test_safetensors_output(make_tiny_workspace: Callable[..., Path], key: str) -> None:
    ws = make_tiny_workspace()
    names = vocab(ws)
    matrix = np.random.default_rng(2).normal(size=(D, len(names))).astype(np.float32)
    stored = matrix if key == "W_U" else np.ascontiguousarray(matrix.T)
    save_file({key: stored}, str(ws / "data" / "out.safetensors"))
    configure(ws, output="data/out.safetensors")
    check(ws, 2, matrix, names)


def test_output_vocab_names_the_outputs_and_a_square_matrix_is_d_by_out(
    make_tiny_workspace: Callable[..., Path],
) -> None:
    ws = make_tiny_workspace()
    names = [f"out_{i}" for i in range(D)]
    (ws / "data" / "out_vocab.json").write_text(json.dumps({n: i for i, n in enumerate(names)}))
    matrix = np.random.default_rng(3).normal(size=(D, D)).astype(np.float32)
    np.save(ws / "data" / "square.npy", matrix)
    configure(ws, output="data/square.npy", output_vocab="data/out_vocab.json")
    check(ws, 5, matrix, names, k=3)


def test_the_overview_carries_the_effects_or_null(make_tiny_workspace: Callable[..., Path]) -> None:
    ws = make_tiny_workspace()
    data = Workspace.open(ws).data()
    assert feature_overview(data, 1)["effects"] is None
    with pytest.raises(ValidationError, match=r"model 'tiny' has no output matrix \(set `output`"):
        output_effects(data, 1)
    names = vocab(ws)
    matrix = np.random.default_rng(4).normal(size=(D, len(names))).astype(np.float32)
    np.save(ws / "data" / "out.npy", matrix)
    configure(ws, output="data/out.npy")
    data = Workspace.open(ws).data()
    effects = feature_overview(data, 1)["effects"]
    assert effects == {
        "promoted": [e.to_json() for e in output_effects(data, 1).promoted],
        "suppressed": [e.to_json() for e in output_effects(data, 1).suppressed],
    }
    assert len(effects["promoted"]) == 10 and json.loads(json.dumps(effects)) == effects


@pytest.mark.parametrize(
    ("shape", "vocab_names", "message"),
    [
        (
            (5, 7),
            None,
            r"output shape \[5, 7\] has no dimension equal to the decoder's width d = 8",
        ),
        ((D, 5), None, r"has 5 outputs but the model's vocab names 28; set output_vocab"),
        ((D, 5), ["a", "b"], r"has 5 outputs but output_vocab .* names 2"),
        ((D,), None, r"output must be 2-D"),
    ],
)
def test_bad_output_files_are_data_errors_naming_the_file(
    make_tiny_workspace: Callable[..., Path],
    shape: tuple[int, ...],
    vocab_names: list[str] | None,
    message: str,
) -> None:
    ws = make_tiny_workspace()
    np.save(ws / "data" / "out.npy", np.ones(shape, dtype=np.float32))
    keys = {"output": "data/out.npy"}
    if vocab_names is not None:
        (ws / "data" / "ov.json").write_text(json.dumps(vocab_names))
        keys["output_vocab"] = "data/ov.json"
    configure(ws, **keys)
    with pytest.raises(DataError, match=message) as err:
        output_effects(Workspace.open(ws).data(), 0)
    assert str(err.value).startswith(str(ws / "data" / "out.npy"))


def test_k_and_feature_are_checked(make_tiny_workspace: Callable[..., Path]) -> None:
    ws = make_tiny_workspace()
    names = vocab(ws)
    np.save(ws / "data" / "out.npy", np.zeros((D, len(names)), dtype=np.float32))
    configure(ws, output="data/out.npy")
    data = Workspace.open(ws).data()
    with pytest.raises(ValidationError, match="k: must be an integer >= 1"):
        output_effects(data, 0, 0)
    with pytest.raises(ValidationError, match="out of range"):
        output_effects(data, 12)
    everything = output_effects(data, 0, 1000)
    assert len(everything.promoted) == len(names)
    assert [e.name for e in everything.promoted] == names  # all 0: ties by output id
    assert [e.name for e in everything.suppressed] == names
