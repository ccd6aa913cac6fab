"""The read API over one model's data.

Everything the analysis, the stores, the CLI and the app need from the data goes through
:class:`ModelData`. It is backed by a derived index in the workspace cache (built once with a
progress bar, rebuilt when an input file changes) so that reading one feature costs time
proportional to that feature's own nonzero count, memory-mapped.

Terms: an example's *row* is its position in the index's example table (0..n_examples-1); its
*example id* is the user's ``example_id`` value (need not be contiguous). Token ids are the
vocab's ids. A token's *family* comes from the model's ``token_family`` regex (group 1); a token
the regex does not match is a family of its own (family name = token name).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from labeler_tui.core.config import ModelConfig
from labeler_tui.core.data import index_layout as L
from labeler_tui.core.errors import DataError, ValidationError

ProgressCallback = Callable[[str, int, int], None]
"""``progress(stage_description, done, total)``; total may be 0 when unknown."""


class FeatureActivations:
    """One feature's nonzero activations (activation > 0), highest activation first.

    Equal activations are ordered by example id. ``activations`` is a read-only view of the
    memory-mapped index (copy it before changing it). ``rows`` (int64) and ``example_ids``
    (int64, the user's ids) are computed on first access, so a caller that needs only the
    activations pays nothing for them.
    """

    __slots__ = (
        "_example_ids",
        "_example_table",
        "_id_affine",
        "_rows",
        "_stored_rows",
        "activations",
        "feature_id",
    )

    def __init__(
        self,
        feature_id: int,
        stored_rows: np.ndarray,
        activations: np.ndarray,
        example_table: np.ndarray,
        id_affine: tuple[int, int] | None = None,
    ) -> None:
        self.feature_id = feature_id
        self.activations = activations  # float32[n], descending
        self._stored_rows = stored_rows
        self._example_table = example_table
        self._id_affine = id_affine
        self._rows: np.ndarray | None = None
        self._example_ids: np.ndarray | None = None

    @property
    def rows(self) -> np.ndarray:
        """int64[n]: example rows (positions in the example table)."""
        if self._rows is None:
            self._rows = np.asarray(self._stored_rows, dtype=np.int64)
        return self._rows

    def rows_between(self, start: int, stop: int) -> np.ndarray:
        """int64 example rows of positions ``start:stop`` of the highest-first order, without
        converting the others (a region or the top k of a large feature)."""
        if self._rows is not None:
            return self._rows[start:stop]
        return np.asarray(self._stored_rows[start:stop], dtype=np.int64)

    def rows_at(self, positions: np.ndarray) -> np.ndarray:
        """int64 example rows of the given positions of the highest-first order."""
        if self._rows is not None:
            return self._rows[positions]
        return np.asarray(self._stored_rows[np.asarray(positions, dtype=np.int64)], dtype=np.int64)

    def example_ids_at(self, positions: np.ndarray) -> np.ndarray:
        """int64 example ids of the given positions of the highest-first order."""
        rows = self.rows_at(positions)
        if self._id_affine is not None:
            start, step = self._id_affine
            return rows * step + start
        return self._example_table[rows]

    @property
    def example_ids(self) -> np.ndarray:
        """int64[n]: the user's example ids."""
        if self._example_ids is None:
            if self._id_affine is not None:  # ids = start + step * row: arithmetic, no gather
                start, step = self._id_affine
                ids = self.rows * step if step != 1 else self.rows.copy()
                ids += start
                self._example_ids = ids
            else:
                self._example_ids = self._example_table[self._stored_rows]
        return self._example_ids

    def __len__(self) -> int:
        return len(self.activations)

    def __repr__(self) -> str:
        return f"FeatureActivations(feature_id={self.feature_id}, n={len(self)})"


class ModelData:
    """One model's activations, examples, vocab and decoder, read through the index.

    Attributes (all available right after :meth:`open`):
      name, config
      n_features: int        decoder rows if a decoder is configured, else max(feature_id) + 1
      n_examples: int
      n_nonzero: int         total rows with activation > 0
      n_shards: int          feature-range shards the index is stored in (read transparently)
      has_decoder: bool
      token_names: list[str]           index = token id
      token_ids: dict[str, int]        name -> id
      family_names: list[str]          index = family id
      token_family: np.ndarray         int32[n_tokens]: family id of each token id
      metadata_columns: list[str]      every examples column except example_id and tokens
      cache_dir: Path                  this model's index folder in the workspace cache
                                       (``<cache>/<model>/<fingerprint>``): put other derived
                                       data here (e.g. similarity profiles, in a file or
                                       sub-folder of your own, written atomically); it is
                                       dropped with the index when an input file changes
    """

    name: str
    config: ModelConfig
    n_features: int
    n_examples: int
    n_nonzero: int
    n_shards: int
    has_decoder: bool
    token_names: list[str]
    token_ids: dict[str, int]
    family_names: list[str]
    token_family: np.ndarray
    metadata_columns: list[str]
    cache_dir: Path
    is_sequence = False
    """A sequence model (``sequence_data.SequenceModelData``): its examples are positions."""

    @classmethod
    def open(
        cls,
        config: ModelConfig,
        cache_root: Path,
        progress: ProgressCallback | None = None,
        rebuild: bool = False,
        memory: int | None = None,
    ) -> ModelData:
        """Open the index under ``cache_root/<model>``; (re)build it first if missing or stale.

        ``memory`` is the build's budget in bytes (default: a quarter of the machine's memory,
        see ``memory.py``). Raises DataError (one line naming the file and the problem) for bad
        input; a failed build leaves no half-built index behind.
        """
        folder = Path(cache_root) / config.name / L.fingerprint(config)
        manifest = None if rebuild else L.read_manifest(folder)
        if manifest is None:
            # Building needs polars (~0.15 s to import); a current index does not, which keeps
            # short CLI commands fast.
            from labeler_tui.core.data.index_build import ensure_index

            folder = ensure_index(config, Path(cache_root) / config.name, rebuild, progress, memory)
            manifest = L.read_manifest(folder)
        if manifest is None:
            raise DataError(
                f"{folder}: index manifest missing or unreadable; run `labeler index --force`"
            )
        if manifest.get("kind") == "sequence":
            from labeler_tui.core.data.sequence_data import SequenceModelData

            return SequenceModelData(config, folder, manifest)
        return cls(config, folder, manifest)

    def __init__(self, config: ModelConfig, folder: Path, manifest: dict[str, Any]) -> None:
        """Use :meth:`open`; this maps the files of a complete index folder."""
        self.name = config.name
        self.config = config
        self.cache_dir = folder
        self.manifest = manifest
        self.n_features = int(manifest["n_features"])
        self.n_examples = int(manifest["n_examples"])
        self.n_nonzero = int(manifest["n_nonzero"])
        decoder_info = manifest.get("decoder")
        self.has_decoder = decoder_info is not None
        base = folder / L.BASE
        try:
            vocab = json.loads((base / L.VOCAB).read_text(encoding="utf-8"))
            self._load_shards(folder, manifest["shards"])
            self._example_ids = np.load(base / L.EXAMPLE_IDS)
            self._id_affine = _affine(self._example_ids)
            self._token_offsets = np.load(base / L.TOKEN_OFFSETS, mmap_mode="r")
            self._token_ids = np.load(base / L.TOKEN_IDS, mmap_mode="r")
            self.token_family = np.load(base / L.TOKEN_FAMILY)
            # every file is mapped now, so a rebuild that deletes this folder cannot break us
            self._metadata: dict[str, tuple[np.ndarray, list[Any]]] = {
                entry["column"]: (
                    np.load(base / L.metadata_codes_file(i), mmap_mode="r"),
                    entry["values"],
                )
                for i, entry in enumerate(manifest["metadata"])
            }
            self._decoder_norms = np.load(base / L.DECODER_NORMS) if self.has_decoder else None
            self._decoder = self._map_decoder(base, decoder_info)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"{folder}: index is damaged ({exc}); run `labeler index --force`"
            ) from None
        self.token_names: list[str] = vocab["token_names"]
        self.family_names: list[str] = vocab["family_names"]
        self.token_ids = {name: i for i, name in enumerate(self.token_names)}
        self.metadata_columns = list(self._metadata)
        self._counts = np.diff(self._offsets)

    def _load_shards(self, folder: Path, shards: list[dict[str, Any]]) -> None:
        """Map every shard's rows and activations; join their per-feature tables."""
        offsets = [np.zeros(1, dtype=np.int64)]
        maxima, means = [], []
        self._shard_first: list[int] = []  # first feature of each shard
        self._shard_start: list[int] = []  # global offset of each shard's first row
        self._shard_rows: list[np.ndarray] = []
        self._shard_acts: list[np.ndarray] = []
        edge = 0
        for entry in shards:
            lo, hi = (int(v) for v in entry["features"])
            if lo != edge:
                raise ValueError(f"shard {entry['folder']} starts at feature {lo}, not {edge}")
            shard = folder / L.SHARDS / entry["folder"]
            local = np.load(shard / L.OFFSETS)
            if len(local) != hi - lo + 1 or int(local[-1]) != int(entry["n_nonzero"]):
                raise ValueError(f"shard {entry['folder']} does not match the manifest")
            self._shard_first.append(lo)
            self._shard_start.append(int(offsets[-1][-1]))
            offsets.append(local[1:] + offsets[-1][-1])
            self._shard_rows.append(_load_rows(shard / L.ROWS, int(local[-1])))
            self._shard_acts.append(_load_rows(shard / L.ACTS, int(local[-1])))
            maxima.append(np.load(shard / L.MAX_ACTS))
            means.append(np.load(shard / L.MEAN_ACTS))
            edge = hi
        if edge != self.n_features:
            raise ValueError(f"the shards cover {edge} of {self.n_features} features")
        self._offsets = np.concatenate(offsets)
        self._max = np.concatenate(maxima) if maxima else np.zeros(0, np.float32)
        self._mean = np.concatenate(means) if means else np.zeros(0, np.float32)
        self.n_shards = len(shards)

    def is_current(self) -> bool:
        """False once an input file changed since this index was built (re-open to refresh).

        Costs one stat per input file; a long-running app can poll it.
        """
        try:
            return L.fingerprint(self.config) == self.cache_dir.name
        except DataError:
            return False

    def __repr__(self) -> str:
        return (
            f"ModelData({self.name!r}, n_features={self.n_features}, "
            f"n_examples={self.n_examples}, n_nonzero={self.n_nonzero})"
        )

    # --- per feature -----------------------------------------------------------------------
    def feature(self, feature_id: int) -> FeatureActivations:
        """Nonzero activations of one feature, descending; O(that feature's count), memory-mapped.

        Raises ValidationError when feature_id is outside 0..n_features-1. Ties in activation
        are ordered by example id ascending.
        """
        f = self._check_feature(feature_id)
        s = 0 if self.n_shards == 1 else bisect.bisect_right(self._shard_first, f) - 1
        start = self._shard_start[s]
        lo, hi = int(self._offsets[f]) - start, int(self._offsets[f + 1]) - start
        return FeatureActivations(
            feature_id=f,
            stored_rows=self._shard_rows[s][lo:hi],
            activations=np.asarray(self._shard_acts[s][lo:hi]),
            example_table=self._example_ids,
            id_affine=self._id_affine,
        )

    def _check_feature(self, feature_id: int) -> int:
        if isinstance(feature_id, bool) or not isinstance(feature_id, int | np.integer):
            raise ValidationError(f"feature id must be an integer, got {feature_id!r}")
        f = int(feature_id)
        if not 0 <= f < self.n_features:
            raise ValidationError(
                f"feature {f} is out of range for model {self.name!r} "
                f"(features 0..{self.n_features - 1})"
            )
        return f

    # --- all features ----------------------------------------------------------------------
    @property
    def nonzero_counts(self) -> np.ndarray:
        """int64[n_features]: nonzero activation count per feature."""
        return self._counts

    @property
    def max_activations(self) -> np.ndarray:
        """float32[n_features]: max activation per feature (0 for dead features)."""
        return self._max

    @property
    def mean_activations(self) -> np.ndarray:
        """float32[n_features]: mean nonzero activation per feature (0 for dead features)."""
        return self._mean

    # --- examples --------------------------------------------------------------------------
    @property
    def example_ids(self) -> np.ndarray:
        """int64[n_examples]: the example id of each row (ascending)."""
        return self._example_ids

    def example_ids_of(self, rows: np.ndarray) -> np.ndarray:
        """int64 example ids of the given rows (arithmetic when the ids are evenly spaced)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._id_affine is not None:
            start, step = self._id_affine
            return rows * step + start
        return self._example_ids[rows]

    def rows_for_example_ids(self, example_ids: np.ndarray) -> np.ndarray:
        """int64 rows of the given example ids (ValidationError for an unknown id)."""
        wanted = np.asarray(example_ids, dtype=np.int64)
        if len(self._example_ids) == 0:
            if wanted.size:
                raise ValidationError(f"example id {int(wanted.flat[0])} not found (no examples)")
            return wanted.copy()
        pos = np.searchsorted(self._example_ids, wanted)
        np.minimum(pos, len(self._example_ids) - 1, out=pos)
        found = self._example_ids[pos] == wanted
        if not found.all():
            bad = int(wanted[~found].flat[0])
            raise ValidationError(f"example id {bad} not found in model {self.name!r}")
        return pos.astype(np.int64)

    def tokens(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tokens of the given rows as CSR: (offsets int64[len(rows)+1], token_ids int32[...]).

        Vectorised: no Python loop over rows.
        """
        rows = self._check_rows(rows)
        starts = self._token_offsets[rows]
        lengths = self._token_offsets[rows + 1] - starts
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        total = int(offsets[-1])
        index = np.repeat(starts - offsets[:-1], lengths) + np.arange(total, dtype=np.int64)
        return offsets, np.asarray(self._token_ids[index], dtype=np.int32)

    def _check_rows(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_examples):
            bad = int(rows[(rows < 0) | (rows >= self.n_examples)][0])
            raise ValidationError(f"example row {bad} is out of range (0..{self.n_examples - 1})")
        return rows

    def metadata_codes(self, column: str, rows: np.ndarray) -> np.ndarray:
        """int32 codes of a metadata column for the given rows; see :meth:`metadata_values`."""
        codes = self._metadata_entry(column)[0]
        return np.asarray(codes[self._check_rows(rows)], dtype=np.int32)

    def metadata_values(self, column: str) -> list[str | int | None]:
        """The distinct values of a metadata column; code i means values[i] (None last)."""
        return list(self._metadata_entry(column)[1])

    def _metadata_entry(self, column: str) -> tuple[np.ndarray, list[Any]]:
        if column not in self._metadata:
            known = ", ".join(self.metadata_columns) or "none"
            raise ValidationError(f"unknown metadata column {column!r} (columns: {known})")
        return self._metadata[column]

    @property
    def output_names(self) -> list[str]:
        """Default names of the output matrix's outputs: the vocab's token names."""
        return self.token_names

    # --- decoder ---------------------------------------------------------------------------
    @property
    def decoder(self) -> np.ndarray | None:
        """float32[n_features, d] decoder directions (memory-mapped where possible), or None.

        A float32 [n, d] input is mapped in place; other dtypes/layouts (float16, bfloat16,
        ``decoder.weight``) were converted into the index once, at build time.
        """
        return self._decoder

    @staticmethod
    def _map_decoder(folder: Path, info: dict[str, Any] | None) -> np.ndarray | None:
        if info is None:
            return None
        if info["stored"] == "index":
            return np.load(folder / L.DECODER, mmap_mode="r")
        from labeler_tui.core.data.decoder import open_decoder

        return open_decoder(Path(info["path"])).raw

    @property
    def decoder_norms(self) -> np.ndarray | None:
        """float32[n_features]: L2 norm of each decoder row, or None without a decoder."""
        return self._decoder_norms


def _load_rows(path: Path, n: int) -> np.ndarray:
    """A shard's rows or activations, memory-mapped (an empty one read plainly: nothing to
    map)."""
    return np.load(path, mmap_mode="r") if n else np.load(path)


def _affine(example_ids: np.ndarray) -> tuple[int, int] | None:
    """(start, step) when the sorted example ids are ``start + step * row`` (contiguous ids are
    the common case); a feature's example ids are then computed instead of gathered at random
    from the example table, which halves the fetch time of a large feature."""
    n = len(example_ids)
    if n < 2:
        return None
    start, step = int(example_ids[0]), int(example_ids[1]) - int(example_ids[0])
    if int(example_ids[-1]) != start + step * (n - 1):
        return None
    expected = np.arange(n, dtype=np.int64)
    expected *= step
    expected += start
    return (start, step) if np.array_equal(example_ids, expected) else None
