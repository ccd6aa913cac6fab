"""Histograms of groups of example rows over the packed code table, planned for large features.

A group's histogram is its rows' codes gathered in chunks, one ``np.bincount`` per chunk
(:meth:`PackedSets.chunk_histogram`). Counting a feature's regions is most of an overview's
cost, so for a large feature three things make it cheaper, none changing a count:

- **complement**: when disjoint groups cover most examples, the largest is not counted but
  derived (every row's histogram - the rows outside every group - the other groups);
- **row order**: a group holding more than ``1 / ORDER_FRACTION`` of the examples is gathered in
  row order, its rows found by one scan of a per-example group label, so the read is sequential
  instead of one random read per row;
- **threads**: the chunks are counted on up to ``MAX_THREADS`` threads (``np.take`` and the
  counting loop of ``np.bincount`` run without the GIL).
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from labeler_tui.core.analysis.packed_sets import PackedSets

COUNT_CHUNK_ROWS = 16_384  # rows gathered and counted at a time (their keys stay in cache)
ORDER_FRACTION = 8  # gather a group in row order when it holds > n_examples / this rows
MAX_THREADS = 4  # counting is memory-bound: more threads add little
PARALLEL_MIN_ROWS = 65_536  # rows per counting thread, at least (a thread costs ~0.1 ms)
NO_GROUP = 255  # the row label of rows outside every group (so at most 254 groups get labels)

Task = tuple[int, np.ndarray]  # (histogram slot, rows)


def count_histograms(
    packed: PackedSets, groups: list[np.ndarray], disjoint: bool = False
) -> np.ndarray:
    """int64[len(groups), n_bins]: each group's code histogram. ``disjoint`` promises that no
    row is in two groups or twice in one (it allows the complement and the row order)."""
    n_rows = packed.n_rows
    sizes = [len(rows) for rows in groups]
    labeled = disjoint and len(groups) < NO_GROUP and n_rows > 0
    derived = _complement_target(sizes, n_rows) if labeled else None
    ordered = [labeled and size * ORDER_FRACTION > n_rows for size in sizes]
    labels = None
    if derived is not None or any(ordered):
        labels = np.full(n_rows, NO_GROUP, dtype=np.uint8)
        for g, rows in enumerate(groups):
            labels[rows] = g
    tasks = [
        (g, np.flatnonzero(labels == g) if ordered[g] and labels is not None else rows)
        for g, rows in enumerate(groups)
        if g != derived
    ]
    hist = np.zeros((len(groups) + 1, packed.n_bins), dtype=np.int64)  # last: rows outside
    if derived is not None:
        tasks.append((len(groups), np.flatnonzero(labels == NO_GROUP)))
    _count(packed, tasks, hist)
    if derived is not None:
        others = hist[: len(groups)].sum(axis=0)
        hist[derived] = packed.every_row_histogram() - hist[len(groups)] - others
    return hist[: len(groups)]


def histogram(packed: PackedSets, rows: np.ndarray) -> np.ndarray:
    """int64[n_bins]: the code histogram of ``rows`` (any number, counted in chunks)."""
    hist = np.zeros((1, packed.n_bins), dtype=np.int64)
    _count(packed, [(0, rows)], hist)
    return hist[0]


def _complement_target(sizes: list[int], n_rows: int) -> int | None:
    """The group to derive by subtraction, when counting the rows outside every group (read in
    row order) is cheaper than counting it."""
    if not sizes:
        return None
    largest = int(np.argmax(sizes))
    outside = n_rows - sum(sizes)
    return largest if outside + n_rows // 10 < sizes[largest] else None


def _count(packed: PackedSets, tasks: list[Task], hist: np.ndarray) -> None:
    """Add each task's histogram to ``hist[slot]``, its chunks spread over the threads when
    there are enough rows to pay for them (each thread takes a run of consecutive chunks)."""
    step = COUNT_CHUNK_ROWS
    pieces = [(g, rows[i : i + step]) for g, rows in tasks for i in range(0, len(rows), step)]
    n_rows = sum(len(rows) for _, rows in tasks)
    workers = min(_threads(), len(pieces), max(1, n_rows // PARALLEL_MIN_ROWS))
    ends = np.cumsum([len(rows) for _, rows in pieces])
    cuts = np.searchsorted(ends, [n_rows * k // workers for k in range(1, workers)], "right")
    shares = [pieces[lo:hi] for lo, hi in itertools.pairwise([0, *cuts.tolist(), len(pieces)])]
    futures = [_pool().submit(_count_share, packed, share) for share in shares[1:]]
    for partial in [_count_share(packed, shares[0])] + [f.result() for f in futures]:
        for g, counts in partial.items():
            hist[g] += counts


def _count_share(packed: PackedSets, pieces: list[Task]) -> dict[int, np.ndarray]:
    """Histograms of some chunks, summed per slot."""
    out: dict[int, np.ndarray] = {}
    for g, rows in pieces:
        counts = packed.chunk_histogram(rows)
        if g in out:
            out[g] += counts
        else:
            out[g] = counts
    return out


def _threads() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, cores))


_pool_lock = threading.Lock()
_executor: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool)


def _pool() -> ThreadPoolExecutor:
    """The counting threads, started on first use (their tasks never wait on each other); a
    forked child (multiprocessing) starts its own, as the parent's threads are not in it."""
    global _executor
    with _pool_lock:
        if _executor is None or _executor[0] != os.getpid():
            pool = ThreadPoolExecutor(_threads(), thread_name_prefix="labeler-count")
            _executor = (os.getpid(), pool)
        return _executor[1]
