"""Workspace configuration: ``labeler.toml``, read once and validated once.

The file format is a contract (docs/formats.md, "labeler.toml"). Every problem is a
:class:`ConfigError` that names the file and the key, e.g.
``labeler.toml: [models.ultra] activations: file not found: data/ultra/act.parquet``.
"""

from __future__ import annotations

import getpass
import glob
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labeler_tui.core.errors import ConfigError
from labeler_tui.core.validation import MAX_FEATURE_ID, POLL_SECONDS, TTL_SECONDS

CONFIG_NAME = "labeler.toml"
DEFAULT_CATEGORIES = ("mechanical", "tactical", "strategic", "none")
DEFAULT_SKIP_REASONS = (
    "too sparse to read",
    "polysemantic: no single pattern",
    "ReLU floor too high, hard to interpret",
    "duplicate of a labeled feature",
    "needs an experiment first",
)
DEFAULT_TOKEN_FAMILY = r"^(.*?)_\d+$"
BAG = "bag"
SEQUENCE = "sequence"
KINDS = (BAG, SEQUENCE)
DEFAULT_WINDOW = (24, 4)
MAX_WINDOW = 512
DECODER_FILES = ("sae_weights.safetensors", "sae.safetensors")
"""The weights file of a SAELens folder, then of a sparsify folder (``decoder`` may name one)."""


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return os.environ.get("USER", "labeler")


@dataclass(frozen=True)
class SequenceConfig:
    """The inputs of a sequence model (``kind = "sequence"``) beyond the bag model's."""

    tokens: Path | None = None
    """The token matrix (.npy [n_seq, ctx_len] or parquet ``seq_id, tokens``); None: the Delphi
    cache's own, or no corpus."""
    tokenizer: Path | None = None
    """A Hugging Face tokenizer.json or a vocab file (JSON object or list, or text)."""
    metadata: Path | None = None
    """Optional per-sequence metadata parquet: ``seq_id`` + any columns."""
    window: tuple[int, int] = DEFAULT_WINDOW
    """Tokens before and after the activating one in its context."""
    delphi: Path | None = None
    """The Delphi latent cache folder the activations are read from, in place."""
    n_features: int | None = None
    """The feature count when there is no decoder (default: the cache's width, else
    max(feature_id) + 1)."""

    @property
    def has_corpus(self) -> bool:
        return self.tokens is not None or self.delphi is not None


@dataclass(frozen=True)
class ModelConfig:
    """Where one model's input data lives (paths already resolved against the workspace)."""

    name: str
    activations: tuple[Path, ...]
    """The activation files (a file, every parquet in a directory, or a glob's matches; the
    split files of a Delphi cache)."""
    activations_spec: str
    examples: Path | None
    """The examples parquet (bag models)."""
    vocab: Path | None
    """The vocab JSON (bag models)."""
    decoder: Path | None = None
    token_family: str = DEFAULT_TOKEN_FAMILY
    output: Path | None = None
    """The output (unembedding) matrix, for output effects; read lazily, not by the index."""
    output_vocab: Path | None = None
    """Names of the outputs (default: the vocab)."""
    kind: str = BAG
    """``bag`` (examples of token sets, the default) or ``sequence`` (token positions)."""
    sequence: SequenceConfig | None = None
    """The sequence inputs, for ``kind = "sequence"``."""
    effects: Path | None = None
    """Output effects imported from a Neuronpedia export (its folder), read lazily."""

    @property
    def is_sequence(self) -> bool:
        return self.kind == SEQUENCE

    def input_roles(self) -> list[tuple[str, Path]]:
        """(role, path) of every input file; the derived index is rebuilt when one changes."""
        roles = [("activations", p) for p in self.activations]
        if self.examples is not None:
            roles.append(("examples", self.examples))
        if self.vocab is not None:
            roles.append(("vocab", self.vocab))
        if self.sequence is not None:
            for role in ("tokens", "tokenizer", "metadata"):
                path = getattr(self.sequence, role)
                if path is not None:
                    roles.append((role, path))
            delphi = self.sequence.delphi
            if delphi is not None and (delphi / "config.json").is_file():
                roles.append(("cache config", delphi / "config.json"))
        if self.decoder is not None:
            roles.append(("decoder", self.decoder))
        return roles

    n_features: int | None = None
    """The model's feature count when it has no decoder (default: max(feature_id) + 1; a
    Delphi cache's width)."""

    @property
    def input_files(self) -> tuple[Path, ...]:
        """Every input file; the derived index is rebuilt when any of them changes."""
        return tuple(path for _role, path in self.input_roles())


@dataclass(frozen=True)
class LabelerSettings:
    default_model: str
    source: str = "dashboard"
    owner: str = field(default_factory=_login_name)
    categories: tuple[str, ...] = DEFAULT_CATEGORIES


@dataclass(frozen=True)
class AppSettings:
    theme: str = "textual-dark"
    similar_method: str | None = None
    """The similar-features sidebar's method (None: the registry's default for the model)."""
    claim_ttl_seconds: float = 1800.0
    poll_interval_seconds: float = 1.0
    next_after_save: bool = False
    """Open the next feature of the queue after a save (a skip always does)."""
    skip_reasons: tuple[str, ...] = DEFAULT_SKIP_REASONS
    """Preset skip reasons, on the keys 1..9 in this order."""


@dataclass(frozen=True)
class IndexSettings:
    memory: int | None = None
    """The index build's memory budget in bytes (None: a quarter of the machine's memory)."""


@dataclass(frozen=True)
class PathSettings:
    """Store and cache folders, relative to the workspace root unless absolute."""

    cache: Path
    labels: Path
    dashboard: Path
    state: Path


@dataclass(frozen=True)
class WorkspaceConfig:
    path: Path
    """The labeler.toml file itself."""
    labeler: LabelerSettings
    models: dict[str, ModelConfig]
    paths: PathSettings
    app: AppSettings = field(default_factory=AppSettings)
    keymap: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    """``[aliases]``: abbreviation -> name or expression, for hypothesis expressions."""
    index: IndexSettings = field(default_factory=IndexSettings)

    @property
    def root(self) -> Path:
        return self.path.parent

    def model(self, name: str | None = None) -> ModelConfig:
        """The named model (default: ``default_model``); unknown names are a ConfigError."""
        name = name or self.labeler.default_model
        if name not in self.models:
            known = ", ".join(sorted(self.models)) or "none"
            raise ConfigError(f"{self.path}: unknown model {name!r} (configured models: {known})")
        return self.models[name]


_TOP_KEYS = {"labeler", "models", "paths", "app", "keymap", "aliases", "index"}
_INDEX_KEYS = {"memory"}
_LABELER_KEYS = {"default_model", "source", "owner", "categories"}
_MODEL_KEYS = {
    "kind",
    "activations",
    "examples",
    "vocab",
    "decoder",
    "token_family",
    "output",
    "output_vocab",
    "effects",
    "n_features",
}
_SEQUENCE_KEYS = {
    "kind",
    "activations",
    "tokens",
    "tokenizer",
    "metadata",
    "window",
    "decoder",
    "output",
    "output_vocab",
    "effects",
    "n_features",
}
_PATH_KEYS = {"cache", "labels", "dashboard", "state"}
_APP_KEYS = {
    "theme",
    "similar_method",
    "claim_ttl_seconds",
    "poll_interval_seconds",
    "next_after_save",
    "skip_reasons",
}
MAX_SKIP_REASONS = 9


class _Reader:
    """Typed access to a TOML table that reports errors as ``file: [table] key: problem``."""

    def __init__(self, file: Path, table: str, data: Any) -> None:
        self.file = file
        self.table = table
        if not isinstance(data, dict):
            raise self.error(None, f"expected a table, got {type(data).__name__}")
        self.data = data

    def error(self, key: str | None, problem: str) -> ConfigError:
        where = f"[{self.table}]" if self.table else ""
        if key is not None:
            where = f"{where} {key}".strip()
        return ConfigError(f"{self.file}: {where}: {problem}")

    def check_keys(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.error(key, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def string(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        if key not in self.data:
            if required:
                raise self.error(key, "missing required key")
            return default
        value = self.data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected a non-empty string, got {value!r}")
        return value

    def strings(
        self, key: str, default: tuple[str, ...], most: int | None = None
    ) -> tuple[str, ...]:
        """A non-empty list of non-empty strings (at most ``most``)."""
        value = self.data.get(key, list(default))
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise self.error(key, f"expected a non-empty list of strings, got {value!r}")
        if most is not None and len(value) > most:
            raise self.error(key, f"expected at most {most} strings, got {len(value)}")
        return tuple(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def number(self, key: str, default: float, bounds: tuple[float, float]) -> float:
        """A number in ``bounds`` (NaN and infinities are out of every range)."""
        value = self.data.get(key, default)
        low, high = bounds
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high  # false for NaN
        ):
            raise self.error(key, f"expected a number from {low:g} to {high:g}, got {value!r}")
        return float(value)

    def integer(self, key: str, bounds: tuple[int, int]) -> int | None:
        """An integer in ``bounds``, or None when the key is absent."""
        if key not in self.data:
            return None
        value = self.data[key]
        low, high = bounds
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(key, f"expected an integer from {low:,} to {high:,}, got {value!r}")
        return value


def _resolve(root: Path, value: str) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else root / path


def _activation_files(reader: _Reader, root: Path, spec: str) -> tuple[Path, ...]:
    path = _resolve(root, spec)
    if any(ch in spec for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not files:
            raise reader.error("activations", f"no file matches {spec}")
        return tuple(files)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if not files:
            raise reader.error("activations", f"no .parquet file in directory {spec}")
        return tuple(files)
    if not path.is_file():
        raise reader.error("activations", f"file not found: {spec}")
    return (path,)


def _existing_file(reader: _Reader, root: Path, key: str, spec: str) -> Path:
    path = _resolve(root, spec)
    if not path.is_file():
        raise reader.error(key, f"file not found: {spec}")
    return path


def _decoder(r: _Reader, root: Path) -> Path | None:
    """``decoder``: a .npy or .safetensors file, or a SAELens or sparsify folder (its
    ``sae_weights.safetensors`` or ``sae.safetensors``)."""
    spec = r.string("decoder")
    if spec is None:
        return None
    path = _resolve(root, spec)
    if path.is_dir():
        for name in DECODER_FILES:
            if (path / name).is_file():
                return path / name
        raise r.error(
            "decoder",
            f"folder {spec} holds no {' or '.join(DECODER_FILES)} (a SAELens or sparsify folder)",
        )
    decoder = _existing_file(r, root, "decoder", spec)
    if decoder.suffix not in (".npy", ".safetensors"):
        raise r.error("decoder", f"expected a .npy or .safetensors file or a folder, got {spec}")
    return decoder


def _effects(r: _Reader, root: Path) -> Path | None:
    spec = r.string("effects")
    if spec is None:
        return None
    path = _resolve(root, spec)
    if not path.exists():
        raise r.error("effects", f"not found: {spec}")
    return path


def _model(file: Path, name: str, data: Any) -> ModelConfig:
    r = _Reader(file, f"models.{name}", data)
    kind = r.string("kind", BAG) or BAG
    if kind not in KINDS:
        raise r.error("kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    if kind == SEQUENCE:
        from labeler_tui.core.sequence_config import sequence_model

        return sequence_model(r, file, name)
    r.check_keys(_MODEL_KEYS)
    root = file.parent
    act_spec = r.string("activations", required=True)
    assert act_spec is not None
    examples = _existing_file(r, root, "examples", r.string("examples", required=True) or "")
    vocab = _existing_file(r, root, "vocab", r.string("vocab", required=True) or "")
    decoder = _decoder(r, root)
    output, output_vocab = _output(r, root, decoder)
    family = r.string("token_family", DEFAULT_TOKEN_FAMILY) or DEFAULT_TOKEN_FAMILY
    try:
        compiled = re.compile(family)
    except re.error as exc:
        raise r.error("token_family", f"not a valid regular expression: {exc}") from None
    if compiled.groups < 1:
        raise r.error(
            "token_family", "the regular expression needs a group (group 1 names the family)"
        )
    return ModelConfig(
        name=name,
        activations=_activation_files(r, root, act_spec),
        activations_spec=act_spec,
        examples=examples,
        vocab=vocab,
        decoder=decoder,
        token_family=family,
        output=output,
        output_vocab=output_vocab,
        effects=_effects(r, root),
        n_features=r.integer("n_features", (1, MAX_FEATURE_ID + 1)),
    )


def _output(r: _Reader, root: Path, decoder: Path | None) -> tuple[Path | None, Path | None]:
    """``output`` (a .npy or .safetensors file; needs a decoder) and ``output_vocab`` (a JSON
    file; needs an output)."""
    spec = r.string("output")
    output = None
    if spec is not None:
        output = _existing_file(r, root, "output", spec)
        if output.suffix not in (".npy", ".safetensors"):
            raise r.error("output", f"expected a .npy or .safetensors file, got {spec}")
        if decoder is None:
            raise r.error(
                "output", "needs a decoder (effects are the decoder row times the output matrix)"
            )
    vocab_spec = r.string("output_vocab")
    vocab = None
    if vocab_spec is not None:
        if output is None:
            raise r.error("output_vocab", "names the outputs of `output`, which is not set")
        vocab = _existing_file(r, root, "output_vocab", vocab_spec)
    return output, vocab


def parse_config(file: Path, data: dict[str, Any]) -> WorkspaceConfig:
    """Validate parsed TOML into a WorkspaceConfig (every error names ``file`` and the key)."""
    top = _Reader(file, "", data)
    top.check_keys(_TOP_KEYS)

    models_raw = data.get("models", {})
    if not isinstance(models_raw, dict) or not models_raw:
        raise ConfigError(f"{file}: [models]: at least one [models.NAME] table is required")
    models = {name: _model(file, name, table) for name, table in models_raw.items()}

    lab = _Reader(file, "labeler", data.get("labeler", {}))
    lab.check_keys(_LABELER_KEYS)
    default_model = lab.string("default_model", next(iter(models)))
    assert default_model is not None
    if default_model not in models:
        raise lab.error(
            "default_model", f"unknown model {default_model!r} (no [models.{default_model}])"
        )
    categories = lab.strings("categories", DEFAULT_CATEGORIES)
    labeler = LabelerSettings(
        default_model=default_model,
        source=lab.string("source", "dashboard") or "dashboard",
        owner=lab.string("owner") or _login_name(),
        categories=categories,
    )

    paths_r = _Reader(file, "paths", data.get("paths", {}))
    paths_r.check_keys(_PATH_KEYS)
    root = file.parent
    paths = PathSettings(
        cache=_resolve(root, paths_r.string("cache", ".labeler-cache") or ""),
        labels=_resolve(root, paths_r.string("labels", "labels") or ""),
        dashboard=_resolve(root, paths_r.string("dashboard", "dashboard") or ""),
        state=_resolve(root, paths_r.string("state", "state") or ""),
    )

    app_r = _Reader(file, "app", data.get("app", {}))
    app_r.check_keys(_APP_KEYS)
    similar_method = app_r.string("similar_method")
    if similar_method is not None:
        from labeler_tui.core.registry import SIMILARITY_METHODS

        names = SIMILARITY_METHODS.names()
        if similar_method not in names:
            raise app_r.error(
                "similar_method", f"expected one of {', '.join(names)}, got {similar_method!r}"
            )
    app = AppSettings(
        theme=app_r.string("theme", "textual-dark") or "textual-dark",
        similar_method=similar_method,
        claim_ttl_seconds=app_r.number("claim_ttl_seconds", 1800.0, TTL_SECONDS),
        poll_interval_seconds=app_r.number("poll_interval_seconds", 1.0, POLL_SECONDS),
        next_after_save=app_r.boolean("next_after_save", False),
        skip_reasons=app_r.strings("skip_reasons", DEFAULT_SKIP_REASONS, MAX_SKIP_REASONS),
    )

    keymap_raw = data.get("keymap", {})
    km = _Reader(file, "keymap", keymap_raw)
    keymap: dict[str, str] = {}
    for key in km.data:
        keymap[key] = km.string(key) or ""

    return WorkspaceConfig(
        path=file,
        labeler=labeler,
        models=models,
        paths=paths,
        app=app,
        keymap=keymap,
        aliases=_aliases(_Reader(file, "aliases", data.get("aliases", {}))),
        index=_index(_Reader(file, "index", data.get("index", {}))),
    )


def _index(reader: _Reader) -> IndexSettings:
    """``[index] memory``: the build's budget, a size such as ``"6G"`` or ``"512M"`` (1 GiB .. 1
    TiB)."""
    from labeler_tui.core.data.memory import check_budget, parse_size

    reader.check_keys(_INDEX_KEYS)
    if "memory" not in reader.data:
        return IndexSettings()
    value = reader.data["memory"]
    try:
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ValueError(f'expected a size such as "6G", got {value!r}')
        return IndexSettings(memory=check_budget(parse_size(value), "memory"))
    except ValueError as exc:
        raise reader.error("memory", str(exc).removeprefix("memory: ")) from None


def _aliases(reader: _Reader) -> dict[str, str]:
    """``[aliases]``: each key one word of the expression language (no spaces, quotes,
    parentheses or = ! < >; not AND, OR, NOT), each value a non-empty string."""
    from labeler_tui.core.evidence.syntax import ExpressionError, is_plain_word, parse

    aliases: dict[str, str] = {}
    for key in reader.data:
        if not is_plain_word(key):
            raise reader.error(
                repr(key),
                "an alias must be one word: no spaces, quotes, parentheses or = ! < >, "
                "and not AND, OR or NOT",
            )
        value = reader.string(key) or ""
        try:
            parse(value)
        except ExpressionError as exc:
            raise reader.error(key, f"not an expression: {exc}") from None
        aliases[key] = value
    return aliases


def load_config(file: Path) -> WorkspaceConfig:
    """Read and validate ``labeler.toml``."""
    file = Path(file).resolve()
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{file}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{file}: nested too deeply (at most {MAX_DEPTH} levels)") from None
    _check_depth(file, data)
    return parse_config(file, data)


MAX_DEPTH = 8
"""How deeply tables and arrays may nest in labeler.toml (ours nest three levels)."""


def _check_depth(file: Path, value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise ConfigError(f"{file}: nested too deeply (at most {MAX_DEPTH} levels)")
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        _check_depth(file, child, depth + 1)
