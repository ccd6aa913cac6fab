"""Per-region token counts of one feature, for the examples' "enriched in this region" marks.

Marking a shown example's tokens that are enriched in its region needs, per token, how many of
the region's and of all the feature's nonzero examples hold it: one counting pass over the
feature (``packed_sets``, as the overview does). The counts are kept for the last
``MEMORY_SLOTS`` features of a process and, for features of ``overview_cache.MIN_NONZEROS``
or more, saved next to the index, so reading examples of a large feature again (another
region, another page, another process) costs no recount.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from labeler_tui.core.analysis import regions as R
from labeler_tui.core.analysis.derived import cache_folder, memoized
from labeler_tui.core.analysis.overview_cache import MIN_NONZEROS
from labeler_tui.core.analysis.packed_sets import packed_sets
from labeler_tui.core.data import FeatureActivations, ModelData

FOLDER = "region-token-counts-v1"
MEMORY_SLOTS = 32


class _Memory:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: OrderedDict[int, np.ndarray] = OrderedDict()


def region_token_counts(
    data: ModelData, activations: FeatureActivations, bounds: np.ndarray
) -> np.ndarray:
    """int64[len(REGIONS), n_tokens]: how many examples of each region hold each token
    (``bounds`` as :func:`regions.bounds_from` gives them for these activations)."""
    memory: _Memory = memoized(data, "region_token_counts", _Memory)
    f = activations.feature_id
    with memory.lock:
        if f in memory.counts:
            memory.counts.move_to_end(f)
            return memory.counts[f]
    counts = _read(data, f, len(activations)) if len(activations) >= MIN_NONZEROS else None
    if counts is None:
        groups = [activations.rows_between(int(a), int(b)) for a, b in bounds]
        counts = packed_sets(data).count_groups(groups, disjoint=True).tokens
        if len(activations) >= MIN_NONZEROS:
            _save(_path(data, f), counts)
    counts.setflags(write=False)
    with memory.lock:
        memory.counts[f] = counts
        while len(memory.counts) > MEMORY_SLOTS:
            memory.counts.popitem(last=False)
    return counts


def forget(data: ModelData, feature_id: int) -> None:
    """Drop one feature's counts from this process and the disk cache (benchmarks of a first
    view; the counts are recomputed on next use)."""
    memory: _Memory = memoized(data, "region_token_counts", _Memory)
    with memory.lock:
        memory.counts.pop(feature_id, None)
    _path(data, feature_id).unlink(missing_ok=True)


def _path(data: ModelData, feature_id: int) -> Path:
    return cache_folder(data) / FOLDER / f"{feature_id}.npy"


def _read(data: ModelData, feature_id: int, n_nonzero: int) -> np.ndarray | None:
    try:
        counts = np.load(_path(data, feature_id))
    except (OSError, ValueError):
        return None
    expected = (len(R.REGIONS), len(data.token_names))
    if counts.shape != expected or int(counts.sum(axis=0).max(initial=0)) > n_nonzero:
        return None
    return np.asarray(counts, dtype=np.int64)


def _save(path: Path, counts: np.ndarray) -> None:
    """Atomic write; an unwritable cache only costs a recount next time."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            np.save(handle, counts)
        os.replace(tmp, path)
    except OSError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
