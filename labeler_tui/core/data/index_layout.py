"""The on-disk layout of a model's derived index: file names, the manifests and the fingerprint.

``<cache>/<model>/<fingerprint>/`` holds one index::

    manifest.json                 written last: the index is complete (lists the shards)
    base/                         the examples, vocab and decoder tables, and base.json
    shards/SSSSS-of-NNNNN/        features [lo, hi): offsets, rows, acts, max, mean, shard.json
    analysis-v1/                  tables the analysis builds on first use

Every piece (``base``, each shard) is built in a temporary folder and renamed into place only
when complete, and ``manifest.json`` is written only when the base and every shard are there, so
a folder with a manifest is always whole and a folder without one is never read. The
fingerprint covers every input file's path, size and mtime plus the token-family regex, so
changing any input selects (and builds) a new folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from labeler_tui.core.config import ModelConfig
from labeler_tui.core.errors import DataError

INDEX_VERSION = 2  # 2: base and feature-range shards (1: one flat folder)
MANIFEST = "manifest.json"
BASE = "base"
BASE_MANIFEST = "base.json"
SHARDS = "shards"
SHARD_MANIFEST = "shard.json"
FINGERPRINT_LENGTH = 20

# in a shard of features [lo, hi)
OFFSETS = "offsets.npy"  # int64[hi - lo + 1]: feature lo + i's rows are [offsets[i], offsets[i+1])
ROWS = "rows.npy"  # int32[shard nonzeros]: example rows, per feature by activation descending
ACTS = "acts.npy"  # float32[shard nonzeros]
MAX_ACTS = "max_activations.npy"  # float32[hi - lo]
MEAN_ACTS = "mean_activations.npy"  # float32[hi - lo]
# in the base
EXAMPLE_IDS = "example_ids.npy"  # int64[n_examples], ascending
TOKEN_OFFSETS = "token_offsets.npy"  # int64[n_examples + 1]
TOKEN_IDS = "token_ids.npy"  # int32[total tokens]
TOKEN_FAMILY = "token_family.npy"  # int32[n_vocab]
DECODER = "decoder.npy"  # float32[n_features, d], only when the input needed converting
DECODER_NORMS = "decoder_norms.npy"  # float32[n_features]
VOCAB = "vocab.json"  # {"token_names": [...], "family_names": [...]}


def metadata_codes_file(index: int) -> str:
    return f"metadata_{index}.npy"


def shard_name(shard: int, n_shards: int) -> str:
    """``00002-of-00008``: the folder of shard 2 (counted from 0) of 8."""
    return f"{shard:05d}-of-{n_shards:05d}"


def parse_shard_name(name: str) -> tuple[int, int] | None:
    """(shard, n_shards) of a shard folder name, or None for anything else."""
    parts = name.split("-of-")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 5 for p in parts):
        return None
    shard, n_shards = int(parts[0]), int(parts[1])
    return (shard, n_shards) if 0 <= shard < n_shards else None


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def fingerprint(config: ModelConfig) -> str:
    """A short hash of the inputs' paths, sizes and mtimes and the token-family regex."""
    entries: list[Any] = [INDEX_VERSION, config.token_family]
    if config.n_features is not None:
        entries.append(["n_features", config.n_features])
    if config.sequence is not None:  # the window shapes the analysis tables kept in the index
        entries.append([config.kind, list(config.sequence.window), config.sequence.n_features])
    for role, path in config.input_roles():
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise DataError(f"{path}: {role} file not found") from None
        except OSError as exc:
            raise DataError(f"{path}: cannot read {role} file: {exc.strerror}") from None
        entries.append([role, str(Path(path).resolve()), st.st_size, st.st_mtime_ns])
    digest = hashlib.sha256(json.dumps(entries).encode()).hexdigest()
    return digest[:FINGERPRINT_LENGTH]


def is_fingerprint(name: str) -> bool:
    """Whether a folder name is an index fingerprint (so the folder is an index of ours)."""
    return len(name) == FINGERPRINT_LENGTH and all(c in "0123456789abcdef" for c in name)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete index folder, or None if absent/unreadable/old version."""
    manifest = read_json(folder / MANIFEST)
    if manifest is None or manifest.get("version") != INDEX_VERSION:
        return None
    return manifest


def write_json(path: Path, data: Any) -> None:
    """Write JSON and fsync it (index files are renamed into place right after)."""
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())


def replace_json(path: Path, data: Any) -> None:
    """Write JSON through a temp file and an atomic rename (readers see the old or the new)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        write_json(tmp, data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
