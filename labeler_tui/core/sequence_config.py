"""The ``[models.NAME]`` table of a sequence model (``kind = "sequence"``), validated.

Keys (docs/formats.md, "Sequence models"): ``activations`` (parquet ``feature_id, seq_id, pos,
activation``, or a Delphi latent cache folder read in place), ``tokens`` (the token matrix:
``.npy`` [n_seq, ctx_len] or parquet ``seq_id, tokens``; a Delphi cache brings its own),
``tokenizer`` (a ``tokenizer.json`` or a vocab file), ``metadata`` (per-sequence parquet),
``window`` ([before, after], default [24, 4]), ``decoder``, ``output``, ``output_vocab``,
``effects`` and ``n_features``. A model may have no corpus at all (a decoder imported before its
activations): every feature is then dead, and decoder similarity and importance still work.
"""

from __future__ import annotations

from pathlib import Path

from labeler_tui.core.config import (
    _SEQUENCE_KEYS,
    DEFAULT_WINDOW,
    MAX_WINDOW,
    SEQUENCE,
    ModelConfig,
    SequenceConfig,
    _activation_files,
    _decoder,
    _effects,
    _existing_file,
    _output,
    _Reader,
    _resolve,
)
from labeler_tui.core.data.delphi_cache import is_delphi_cache, split_files


def _window(r: _Reader) -> tuple[int, int]:
    value = r.data.get("window", list(DEFAULT_WINDOW))
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or not all(0 <= v <= MAX_WINDOW for v in value)
    ):
        raise r.error(
            "window",
            f"expected [before, after], two integers 0..{MAX_WINDOW} (tokens before and after "
            f"the activating one), got {value!r}",
        )
    return int(value[0]), int(value[1])


def _file(r: _Reader, root: Path, key: str, suffixes: tuple[str, ...]) -> Path | None:
    spec = r.string(key)
    if spec is None:
        return None
    path = _existing_file(r, root, key, spec)
    if path.suffix not in suffixes:
        raise r.error(key, f"expected a {' or '.join(suffixes)} file, got {spec}")
    return path


def _n_features(r: _Reader) -> int | None:
    value = r.data.get("n_features")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise r.error("n_features", f"expected an integer >= 1, got {value!r}")
    return int(value)


def sequence_model(r: _Reader, file: Path, name: str) -> ModelConfig:
    """A sequence model's config; every problem names the file, the table and the key."""
    r.check_keys(_SEQUENCE_KEYS)
    root = file.parent
    act_spec = r.string("activations")
    delphi: Path | None = None
    activations: tuple[Path, ...] = ()
    if act_spec is not None:
        path = _resolve(root, act_spec)
        if is_delphi_cache(path):
            delphi = path
            activations = tuple(p for _start, _end, p in split_files(path))
        else:
            activations = _activation_files(r, root, act_spec)
    tokens = _file(r, root, "tokens", (".npy", ".parquet"))
    tokenizer = _file(r, root, "tokenizer", (".json", ".txt"))
    metadata = _file(r, root, "metadata", (".parquet",))
    decoder = _decoder(r, root)
    n_features = _n_features(r)
    if act_spec is not None and tokens is None and delphi is None:
        raise r.error(
            "tokens", "missing: parquet activations need the token matrix of their sequences"
        )
    if tokens is not None and act_spec is None:
        raise r.error("activations", "missing: the token matrix needs its activations")
    if act_spec is not None and tokenizer is None:
        raise r.error(
            "tokenizer", "missing: give a tokenizer.json or a vocab file to show the tokens"
        )
    if metadata is not None and act_spec is None:
        raise r.error("metadata", "sequence metadata needs the model's activations")
    if act_spec is None and decoder is None and n_features is None:
        raise r.error(
            "activations",
            "missing: a sequence model needs its activations (with tokens and a tokenizer), "
            "or at least a decoder or n_features",
        )
    output, output_vocab = _output(r, root, decoder)
    return ModelConfig(
        name=name,
        activations=activations,
        activations_spec=act_spec or "",
        examples=None,
        vocab=None,
        decoder=decoder,
        output=output,
        output_vocab=output_vocab,
        kind=SEQUENCE,
        sequence=SequenceConfig(
            tokens=tokens,
            tokenizer=tokenizer,
            metadata=metadata,
            window=_window(r),
            delphi=delphi,
            n_features=n_features,
        ),
        effects=_effects(r, root),
        n_features=n_features,
    )
