"""The on-disk layout of a model's derived index: file names, the manifest and the fingerprint.

``<cache>/<model>/<fingerprint>/`` holds one complete index; it is built in a temporary sibling
folder and renamed into place only when complete, so a folder with a manifest is always whole.
The fingerprint covers every input file's path, size and mtime plus the token-family regex, so
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

INDEX_VERSION = 1
MANIFEST = "manifest.json"
FINGERPRINT_LENGTH = 20

OFFSETS = "offsets.npy"  # int64[n_features + 1]: feature f's rows are [offsets[f], offsets[f+1])
ROWS = "rows.npy"  # int32[n_nonzero]: example rows, per feature by activation descending
ACTS = "acts.npy"  # float32[n_nonzero]
MAX_ACTS = "max_activations.npy"  # float32[n_features]
MEAN_ACTS = "mean_activations.npy"  # float32[n_features]
EXAMPLE_IDS = "example_ids.npy"  # int64[n_examples], ascending
TOKEN_OFFSETS = "token_offsets.npy"  # int64[n_examples + 1]
TOKEN_IDS = "token_ids.npy"  # int32[total tokens]
TOKEN_FAMILY = "token_family.npy"  # int32[n_vocab]
DECODER = "decoder.npy"  # float32[n_features, d], only when the input needed converting
DECODER_NORMS = "decoder_norms.npy"  # float32[n_features]
VOCAB = "vocab.json"  # {"token_names": [...], "family_names": [...]}


def metadata_codes_file(index: int) -> str:
    return f"metadata_{index}.npy"


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
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("version") != INDEX_VERSION:
        return None
    return manifest


def write_json(path: Path, data: Any) -> None:
    """Write JSON and fsync it (index files are renamed into place right after)."""
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
