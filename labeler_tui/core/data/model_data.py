"""The read API over one model's data.  (INTERFACE - being implemented; see the docstrings.)

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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labeler_tui.core.config import ModelConfig

ProgressCallback = Callable[[str, int, int], None]
"""``progress(stage_description, done, total)``; total may be 0 when unknown."""


@dataclass(frozen=True)
class FeatureActivations:
    """One feature's nonzero activations (activation > 0), highest activation first."""

    feature_id: int
    rows: np.ndarray  # int64[n]: example rows
    example_ids: np.ndarray  # int64[n]: the user's example ids
    activations: np.ndarray  # float32[n], descending

    def __len__(self) -> int:
        return len(self.activations)


class ModelData:
    """One model's activations, examples, vocab and decoder, read through the index.

    Attributes (all available right after :meth:`open`):
      name, config
      n_features: int        decoder rows if a decoder is configured, else max(feature_id) + 1
      n_examples: int
      n_nonzero: int         total rows with activation > 0
      has_decoder: bool
      token_names: list[str]           index = token id
      token_ids: dict[str, int]        name -> id
      family_names: list[str]          index = family id
      token_family: np.ndarray         int32[n_tokens]: family id of each token id
      metadata_columns: list[str]      every examples column except example_id and tokens
      cache_dir: Path                  this model's folder in the workspace cache (for other
                                       derived data, e.g. similarity profiles)
    """

    name: str
    config: ModelConfig
    n_features: int
    n_examples: int
    n_nonzero: int
    has_decoder: bool
    token_names: list[str]
    token_ids: dict[str, int]
    family_names: list[str]
    token_family: np.ndarray
    metadata_columns: list[str]
    cache_dir: Path

    @classmethod
    def open(
        cls,
        config: ModelConfig,
        cache_root: Path,
        progress: ProgressCallback | None = None,
        rebuild: bool = False,
    ) -> ModelData:
        """Open the index under ``cache_root/<model>``; (re)build it first if missing or stale.

        Raises DataError (one line naming the file and the problem) for bad input; a failed build
        leaves no half-built index behind.
        """
        raise NotImplementedError

    # --- per feature -----------------------------------------------------------------------
    def feature(self, feature_id: int) -> FeatureActivations:
        """Nonzero activations of one feature, descending; O(that feature's count), memory-mapped.

        Raises ValidationError when feature_id is outside 0..n_features-1.
        """
        raise NotImplementedError

    # --- all features ----------------------------------------------------------------------
    @property
    def nonzero_counts(self) -> np.ndarray:
        """int64[n_features]: nonzero activation count per feature."""
        raise NotImplementedError

    @property
    def max_activations(self) -> np.ndarray:
        """float32[n_features]: max activation per feature (0 for dead features)."""
        raise NotImplementedError

    @property
    def mean_activations(self) -> np.ndarray:
        """float32[n_features]: mean nonzero activation per feature (0 for dead features)."""
        raise NotImplementedError

    # --- examples --------------------------------------------------------------------------
    @property
    def example_ids(self) -> np.ndarray:
        """int64[n_examples]: the example id of each row."""
        raise NotImplementedError

    def rows_for_example_ids(self, example_ids: np.ndarray) -> np.ndarray:
        """int64 rows of the given example ids (ValidationError for an unknown id)."""
        raise NotImplementedError

    def tokens(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tokens of the given rows as CSR: (offsets int64[len(rows)+1], token_ids int32[...]).

        Vectorised: no Python loop over rows.
        """
        raise NotImplementedError

    def metadata_codes(self, column: str, rows: np.ndarray) -> np.ndarray:
        """int32 codes of a metadata column for the given rows; see :meth:`metadata_values`."""
        raise NotImplementedError

    def metadata_values(self, column: str) -> list[str | int | None]:
        """The distinct values of a metadata column; code i means values[i]."""
        raise NotImplementedError

    # --- decoder ---------------------------------------------------------------------------
    @property
    def decoder(self) -> np.ndarray | None:
        """float32[n_features, d] decoder directions (memory-mapped where possible), or None."""
        raise NotImplementedError

    @property
    def decoder_norms(self) -> np.ndarray | None:
        """float32[n_features]: L2 norm of each decoder row, or None without a decoder."""
        raise NotImplementedError
