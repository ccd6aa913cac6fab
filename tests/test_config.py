"""labeler.toml: validated once, every problem names the file and the key; discovery order."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import tomli_w

from labeler_tui.core.config import DEFAULT_CATEGORIES, load_config, parse_config
from labeler_tui.core.errors import ConfigError, ValidationError
from labeler_tui.core.init_workspace import init_workspace
from labeler_tui.core.workspace import ENV_WORKSPACE, find_config


def test_tiny_workspace_config_resolves_paths(tiny_workspace: Path) -> None:
    config = load_config(tiny_workspace / "labeler.toml")
    model = config.model()
    assert config.labeler.default_model == "tiny" and config.labeler.owner == "tester"
    assert config.labeler.categories == DEFAULT_CATEGORIES
    assert model.activations == tuple(
        sorted((tiny_workspace / "data/activations").glob("*.parquet"))
    )
    assert model.examples == tiny_workspace / "data/examples.parquet"
    assert model.decoder == tiny_workspace / "data/decoder.npy"
    assert config.paths.cache == tiny_workspace / ".labeler-cache"
    assert config.paths.labels == tiny_workspace / "labels"
    assert model.input_files[-1] == model.decoder


def test_unknown_model_names_the_file(tiny_workspace: Path) -> None:
    config = load_config(tiny_workspace / "labeler.toml")
    with pytest.raises(
        ConfigError, match=r"labeler\.toml: unknown model 'ultra' \(configured models: tiny\)"
    ):
        config.model("ultra")


MODEL = {
    "activations": "data/activations",
    "examples": "data/examples.parquet",
    "vocab": "data/vocab.json",
}

BAD_CONFIGS: dict[str, tuple[dict, str]] = {
    "unknown top-level key": ({"modles": {}}, r"modles: unknown key"),
    "no models": ({"labeler": {}}, r"\[models\]: at least one"),
    "unknown model key": (
        {"models": {"m": {**MODEL, "activation": "x"}}},
        r"\[models\.m\] activation: unknown key",
    ),
    "missing vocab": (
        {"models": {"m": {k: v for k, v in MODEL.items() if k != "vocab"}}},
        r"\[models\.m\] vocab: missing required key",
    ),
    "examples not found": (
        {"models": {"m": {**MODEL, "examples": "nope.parquet"}}},
        r"\[models\.m\] examples: file not found: nope\.parquet",
    ),
    "glob matches nothing": (
        {"models": {"m": {**MODEL, "activations": "data/*.nothing"}}},
        r"\[models\.m\] activations: no file matches data/\*\.nothing",
    ),
    "directory without parquet": (
        {"models": {"m": {**MODEL, "activations": "labels"}}},
        r"\[models\.m\] activations: no \.parquet file in directory labels",
    ),
    "decoder of an unknown kind": (
        {"models": {"m": {**MODEL, "decoder": "data/vocab.json"}}},
        r"\[models\.m\] decoder: expected a \.npy or \.safetensors file",
    ),
    "invalid regex": (
        {"models": {"m": {**MODEL, "token_family": "(unclosed"}}},
        r"\[models\.m\] token_family: not a valid regular expression",
    ),
    "regex without a group": (
        {"models": {"m": {**MODEL, "token_family": "^x$"}}},
        r"\[models\.m\] token_family: the regular expression needs a group",
    ),
    "default model unknown": (
        {"labeler": {"default_model": "ultra"}, "models": {"m": MODEL}},
        r"\[labeler\] default_model: unknown model 'ultra'",
    ),
    "categories not a list": (
        {"labeler": {"categories": "tactical"}, "models": {"m": MODEL}},
        r"\[labeler\] categories: expected a non-empty list of strings",
    ),
    "empty source": (
        {"labeler": {"source": " "}, "models": {"m": MODEL}},
        r"\[labeler\] source: expected a non-empty string",
    ),
    "bad similar method": (
        {"app": {"similar_method": "vibes"}, "models": {"m": MODEL}},
        r"\[app\] similar_method: expected one of decoder, tokens, coactivation",
    ),
    "negative ttl": (
        {"app": {"claim_ttl_seconds": -5}, "models": {"m": MODEL}},
        r"\[app\] claim_ttl_seconds: expected a number from 1 to 604800, got -5",
    ),
    "ttl overflowing a date": (
        {"app": {"claim_ttl_seconds": 1e30}, "models": {"m": MODEL}},
        r"\[app\] claim_ttl_seconds: expected a number from 1 to 604800, got 1e\+30",
    ),
    "nan poll interval": (
        {"app": {"poll_interval_seconds": float("nan")}, "models": {"m": MODEL}},
        r"\[app\] poll_interval_seconds: expected a number from 0.1 to 3600, got nan",
    ),
    "poll interval spinning the CPU": (
        {"app": {"poll_interval_seconds": 1e-9}, "models": {"m": MODEL}},
        r"\[app\] poll_interval_seconds: expected a number from 0.1 to 3600",
    ),
    "n_features not an integer": (
        {"models": {"m": {**MODEL, "n_features": 2.5}}},
        r"\[models.m\] n_features: expected an integer from 1 to 2,147,483,648, got 2.5",
    ),
    "keymap value not a string": (
        {"keymap": {"next_feature": 3}, "models": {"m": MODEL}},
        r"\[keymap\] next_feature: expected a non-empty string",
    ),
    "output without a decoder": (
        {"models": {"m": {**MODEL, "output": "data/decoder.npy"}}},
        r"\[models\.m\] output: needs a decoder",
    ),
    "output of an unknown kind": (
        {"models": {"m": {**MODEL, "decoder": "data/decoder.npy", "output": "data/vocab.json"}}},
        r"\[models\.m\] output: expected a \.npy or \.safetensors file",
    ),
    "output not found": (
        {"models": {"m": {**MODEL, "decoder": "data/decoder.npy", "output": "data/out.npy"}}},
        r"\[models\.m\] output: file not found: data/out\.npy",
    ),
    "output_vocab without output": (
        {"models": {"m": {**MODEL, "output_vocab": "data/vocab.json"}}},
        r"\[models\.m\] output_vocab: names the outputs of `output`, which is not set",
    ),
    "alias value not a string": (
        {"aliases": {"SCU": 3}, "models": {"m": MODEL}},
        r"\[aliases\] SCU: expected a non-empty string, got 3",
    ),
    "empty alias": (
        {"aliases": {"SCU": " "}, "models": {"m": MODEL}},
        r"\[aliases\] SCU: expected a non-empty string",
    ),
    "alias of two words": (
        {"aliases": {"special charge": "special_charge_up"}, "models": {"m": MODEL}},
        r"\[aliases\] 'special charge': an alias must be one word",
    ),
    "alias named like an operator": (
        {"aliases": {"NOT": "comeback"}, "models": {"m": MODEL}},
        r"\[aliases\] 'NOT': an alias must be one word",
    ),
    "alias that is not an expression": (
        {"aliases": {"X": "comeback AND"}, "models": {"m": MODEL}},
        r"\[aliases\] X: not an expression: the expression ends where a name was expected",
    ),
    "next_after_save not a boolean": (
        {"app": {"next_after_save": "yes"}, "models": {"m": MODEL}},
        r"\[app\] next_after_save: expected true or false, got 'yes'",
    ),
    "skip_reasons with an empty reason": (
        {"app": {"skip_reasons": ["noisy", " "]}, "models": {"m": MODEL}},
        r"\[app\] skip_reasons: expected a non-empty list of strings",
    ),
    "ten skip_reasons": (
        {"app": {"skip_reasons": [f"r{i}" for i in range(10)]}, "models": {"m": MODEL}},
        r"\[app\] skip_reasons: expected at most 9 strings, got 10",
    ),
    "aliases not a table": (
        {"aliases": ["SCU"], "models": {"m": MODEL}},
        r"\[aliases\]: expected a table",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_names_file_and_key(tiny_workspace: Path, case: str) -> None:
    data, message = BAD_CONFIGS[case]
    (tiny_workspace / "labels").mkdir(exist_ok=True)
    path = tiny_workspace / "labeler.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    with pytest.raises(ConfigError, match=message) as err:
        load_config(path)
    assert str(err.value).startswith(str(path.resolve()) + ":")
    assert "\n" not in str(err.value)


def test_unreadable_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="labeler.toml: file not found"):
        load_config(tmp_path / "labeler.toml")
    broken = tmp_path / "labeler.toml"
    broken.write_text("[labeler\n")
    with pytest.raises(ConfigError, match=r"labeler\.toml: invalid TOML: .*line 1"):
        load_config(broken)


def test_parse_config_accepts_absolute_paths(tiny_workspace: Path, tmp_path: Path) -> None:
    data = {"models": {"m": {k: str(tiny_workspace / v) for k, v in MODEL.items()}}}
    config = parse_config(tmp_path / "elsewhere" / "labeler.toml", data)
    assert config.model("m").vocab == tiny_workspace / "data/vocab.json"
    assert config.labeler.default_model == "m"


def test_discovery_order(
    make_tiny_workspace: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = make_tiny_workspace("explicit")
    env = make_tiny_workspace("env")
    cwd_ws = make_tiny_workspace("cwd")
    nested = cwd_ws / "deep" / "er"
    nested.mkdir(parents=True)
    assert find_config(cwd=nested) == cwd_ws.resolve() / "labeler.toml"
    monkeypatch.setenv(ENV_WORKSPACE, str(env))
    assert find_config(cwd=nested) == env.resolve() / "labeler.toml"
    assert find_config(explicit, cwd=nested) == explicit.resolve() / "labeler.toml"
    assert find_config(explicit / "labeler.toml") == explicit.resolve() / "labeler.toml"
    with pytest.raises(ConfigError, match="workspace not found \\(from --workspace\\)"):
        find_config(explicit / "missing")
    shutil.rmtree(env / "data")
    (env / "labeler.toml").unlink()
    with pytest.raises(
        ConfigError, match=r"no labeler\.toml in this workspace \(from \$LABELER_WORKSPACE\)"
    ):
        find_config(cwd=nested)


def test_init_skeleton_loads_once_the_data_is_in_place(
    make_tiny_workspace: Callable[..., Path], tmp_path: Path
) -> None:
    root = tmp_path / "mine"
    path = init_workspace(root, "sae")
    text = path.read_text()
    assert "# owner =" in text and "# decoder =" in text and "# the model used" in text
    with pytest.raises(ConfigError, match=r"\[models\.sae\] examples: file not found"):
        load_config(path)
    source = make_tiny_workspace("source")
    shutil.copytree(source / "data/activations", root / "data/sae/activations")
    for name in ("examples.parquet", "vocab.json"):
        shutil.copy(source / "data" / name, root / "data/sae" / name)
    config = load_config(path)
    assert list(config.models) == ["sae"] and config.labeler.default_model == "sae"
    assert config.paths.cache == root.resolve() / ".labeler-cache"
    assert config.model().token_family == r"^(.*?)_\d+$"
    with pytest.raises(ValidationError, match="already exists; not overwriting"):
        init_workspace(root, "sae")
    assert path.read_text() == text


def test_aliases_and_output_keys_are_read(tiny_workspace: Path) -> None:
    path = tiny_workspace / "labeler.toml"
    data = tomllib.loads(path.read_text())
    data["aliases"] = {"SSU": "swim_speed_up", "ZOMBIE": "quick_respawn AND comeback"}
    data["models"]["tiny"]["output"] = "data/decoder.npy"
    data["models"]["tiny"]["output_vocab"] = "data/vocab.json"
    path.write_bytes(tomli_w.dumps(data).encode())
    config = load_config(path)
    assert config.aliases == {"SSU": "swim_speed_up", "ZOMBIE": "quick_respawn AND comeback"}
    assert config.model().output == tiny_workspace / "data/decoder.npy"
    assert config.model().output_vocab == tiny_workspace / "data/vocab.json"
    assert load_config(tiny_workspace / "labeler.toml").model().decoder is not None


def test_app_pace_keys_are_read(tiny_workspace: Path) -> None:
    path = tiny_workspace / "labeler.toml"
    config = tomllib.loads(path.read_text())
    config["app"] = {"next_after_save": True, "skip_reasons": ["dead", "noisy"]}
    path.write_bytes(tomli_w.dumps(config).encode())
    app = load_config(path).app
    assert app.next_after_save is True and app.skip_reasons == ("dead", "noisy")
    assert load_config(tiny_workspace / "labeler.toml").app.skip_reasons[0] == "dead"
