"""Building one shard of the index (features [lo, hi)) within a memory budget.

1. **Count** (one read of the input, feature ids and activations only): validate every row and
   count the nonzero rows of each feature, per *group* of consecutive units (a few groups per
   thread), and note each unit's smallest and largest feature with a nonzero row.
2. **Plan**: the shard's features are cut into ranges whose nonzeros fit the budget (8 bytes
   each; see ``memory.py``); the counts give each range's exact size.
3. **Per range**, one more read of the units that hold its features: every nonzero row of the
   range, packed into one uint64 (inverted activation bits | example row), is scattered into an
   in-memory array at its feature's cursor. Each group starts at cursors known from the counts,
   so the threads fill disjoint places without locks. Then chunks of features are sorted by one
   key (local feature | activation descending | row ascending), checked for duplicate (feature,
   example) rows, summarised (max, mean) and appended to ``rows.npy`` and ``acts.npy`` in
   feature order: the index files are written sequentially, never mapped.

Memory: the range array plus per-thread buffers, whatever the input size; disk: the shard's own
files, nothing temporary. The input is read 1 + (number of ranges) times instead of being
spilled to a temporary copy. Units whose nonzero features all fall outside a range are skipped
for it (an input sorted or grouped by feature is read about once).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import polars as pl

from labeler_tui.core.data import index_layout as L
from labeler_tui.core.data import memory
from labeler_tui.core.data.example_rows import ExampleRows
from labeler_tui.core.data.readers import ActivationBatch
from labeler_tui.core.data.sources import ActivationSource, ActivationUnit
from labeler_tui.core.errors import DataError

Progress = Callable[[str, int, int], None]

SORT_CHUNK = 1 << 20
"""Nonzeros sorted at once (a few chunks are in flight per thread)."""
GROUPS_PER_THREAD = 4
_LOOP_MIN_COUNT = 256
_NO_FEATURE = np.iinfo(np.int64).max


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def build_threads(budget: int) -> int:
    """Threads for a build: the cores there are, as many as the budget feeds (at most 32)."""
    fed = (budget - memory.FIXED_BYTES) // (3 * memory.THREAD_BYTES)
    return int(max(1, min(available_cores(), 32, fed)))


@dataclass(frozen=True)
class ShardPlan:
    """What one shard build needs to know beyond the input."""

    model: str
    shard: int
    n_shards: int
    n_features: int | None
    """The model's feature count when something fixes it (the decoder's rows, else
    ``[models] n_features``); None: max(feature_id) + 1."""
    feature_limit: tuple[int, str]
    """Feature ids must be below this; what sets it, for the error."""
    budget: int


@dataclass
class Counts:
    """Pass 1: nonzero rows per feature, per group of units, and each unit's feature span."""

    groups: np.ndarray  # int64[n_groups, width]
    group_units: list[list[int]]
    spans: np.ndarray  # int64[n_units, 2]: smallest and largest feature with a nonzero row
    max_feature_id: int

    @property
    def totals(self) -> np.ndarray:
        return self.groups.sum(axis=0)


class _Stages:
    """Wall and CPU seconds per stage, for the shard's manifest (and the benchmarks)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._t = time.perf_counter()
        self._c = time.process_time()

    def lap(self, name: str) -> None:
        t, c = time.perf_counter(), time.process_time()
        self.wall[name] = round(self.wall.get(name, 0.0) + t - self._t, 3)
        self.cpu[name] = round(self.cpu.get(name, 0.0) + c - self._c, 3)
        self._t, self._c = t, c


def _locked(progress: Progress) -> Progress:
    lock = threading.Lock()

    def report(stage: str, done: int, total: int) -> None:
        with lock:
            progress(stage, done, total)

    return report


def in_order(
    pool: ThreadPoolExecutor, work: Callable[[Any], Any], items: Iterable[Any], window: int
) -> Iterator[Any]:
    """Run ``work`` over ``items`` on the pool, ``window`` at a time, yielding results (and the
    first error) in item order, so messages and outputs are deterministic."""
    pending: deque[Future[Any]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        for future in pending:  # let running ones finish before their buffers go away
            if not future.cancelled():
                future.exception()


def _groups(units: tuple[ActivationUnit, ...], n_groups: int) -> list[list[int]]:
    """Consecutive runs of units with about equal rows."""
    if not units:
        return []
    rows = np.cumsum([u.n_rows for u in units])
    total = int(rows[-1]) or 1
    owner = np.minimum((rows - 1) * n_groups // total, n_groups - 1) if total else rows * 0
    groups: list[list[int]] = [[] for _ in range(n_groups)]
    for i, g in enumerate(owner.tolist()):
        groups[g].append(i)
    return [g for g in groups if g]


MAX_FEATURES_WITHOUT_DECODER = 1 << 20
"""Without a decoder or ``n_features``, n_features is max(feature_id) + 1: a feature id beyond
this (one stray row with id 2^31 - 1 would make the index allocate 16 GiB) is refused."""


def feature_limit(
    model: str, n_features: int | None, decoder: tuple[int, str] | None
) -> tuple[int, str]:
    """The number of features the activations may address and what sets it (for errors), from
    the configured ``n_features`` and the decoder's (rows, file name); a configured count that
    disagrees with the decoder is a DataError."""
    if decoder is not None:
        rows, name = decoder
        if n_features is not None and n_features != rows:
            raise DataError(
                f"[models.{model}] n_features = {n_features} but the decoder {name} has "
                f"{rows} features"
            )
        return rows, f"the decoder {name} ({rows} features)"
    if n_features is not None:
        return n_features, f"[models.{model}] n_features ({n_features})"
    return MAX_FEATURES_WITHOUT_DECODER, (
        f"the {MAX_FEATURES_WITHOUT_DECODER:,} features accepted without a decoder (set "
        f"n_features in [models.{model}], or give its decoder, if the model has more)"
    )


def _check_features(unit: ActivationUnit, batch: ActivationBatch, plan: ShardPlan) -> None:
    """DataError for a feature id outside the model's features (before anything is allocated
    for it)."""
    if not len(batch.feature_ids):
        return
    too_big = batch.feature_ids >= plan.feature_limit[0]
    if too_big.any():
        i = int(np.argmax(too_big))
        raise DataError(
            f"{unit.name}: feature_id {batch.feature_ids[i]} at row {batch.first_row + i} is out "
            f"of range of {plan.feature_limit[1]}"
        )


def count_pass(
    source: ActivationSource,
    plan: ShardPlan,
    pool: ThreadPoolExecutor,
    threads: int,
    progress: Progress,
    stage: str,
) -> Counts:
    units = source.units
    group_units = _groups(units, GROUPS_PER_THREAD * threads)
    group_of = {u: g for g, members in enumerate(group_units) for u in members}
    width = plan.n_features or 0
    groups = np.zeros((len(group_units), width), dtype=np.int64)
    spans = np.empty((len(units), 2), dtype=np.int64)
    top = -1

    def count(i: int) -> tuple[np.ndarray, int, int, int]:
        unit = units[i]
        batch = unit.read(with_example_ids=False)
        _check_features(unit, batch, plan)
        feats = batch.feature_ids[batch.activations > 0]
        unit_top = int(batch.feature_ids.max()) if len(batch.feature_ids) else -1
        if not len(feats):
            return np.zeros(0, np.int64), unit_top, _NO_FEATURE, -1
        return np.bincount(feats), unit_top, int(feats.min()), int(feats.max())

    done = 0
    total = source.total_rows
    progress(stage, 0, total)
    for i, (counts, unit_top, low, high) in enumerate(
        in_order(pool, count, range(len(units)), 2 * threads)
    ):
        if len(counts) > groups.shape[1]:
            groups = np.pad(groups, ((0, 0), (0, len(counts) - groups.shape[1])))
        groups[group_of[i], : len(counts)] += counts
        spans[i] = (low, high)
        top = max(top, unit_top)
        done += units[i].n_rows
        progress(stage, done, total)
    return Counts(groups, group_units, spans, top)


def shard_bounds(offsets: np.ndarray, n_shards: int) -> list[int]:
    """Feature boundaries of ``n_shards`` shards with about equal nonzeros (equal feature
    counts when there are none): shard i is features [b[i], b[i+1])."""
    n_features = len(offsets) - 1
    total = int(offsets[-1])
    if total == 0:
        return [n_features * i // n_shards for i in range(n_shards + 1)]
    targets = [total * i // n_shards for i in range(1, n_shards)]
    inner = np.searchsorted(offsets, targets, side="left").tolist()
    return [0, *(min(n_features, int(b)) for b in inner), n_features]


def plan_ranges(offsets: np.ndarray, lo: int, hi: int, capacity: int) -> list[tuple[int, int]]:
    """[f0, f1) ranges tiling [lo, hi), each holding at most ``capacity`` nonzeros (or one
    feature that alone holds more)."""
    ranges = []
    f0 = lo
    while f0 < hi:
        f1 = int(np.searchsorted(offsets, offsets[f0] + capacity, side="right")) - 1
        f1 = min(hi, max(f0 + 1, f1))
        ranges.append((f0, f1))
        f0 = f1
    return ranges


def group_order(feature_ids: np.ndarray, n_features: int) -> np.ndarray:
    """A permutation grouping equal feature ids (ascending): LSD radix on 16-bit digits.

    NumPy's stable argsort is a radix sort for 16-bit keys, several times faster than a
    comparison sort of the full ids.
    """
    if n_features <= 1 << 16:
        return np.argsort(feature_ids.astype(np.uint16), kind="stable")
    order = np.argsort((feature_ids & 0xFFFF).astype(np.uint16), kind="stable")
    high = (feature_ids[order] >> 16).astype(np.uint16 if n_features <= 1 << 32 else np.uint64)
    return order[np.argsort(high, kind="stable")]


def _sorted_u64(values: np.ndarray) -> np.ndarray:
    """Sort uint64 keys (polars' radix sort is several times faster than np.sort)."""
    return pl.Series(values, dtype=pl.UInt64).sort().to_numpy()


def _first_duplicate(
    seg: np.ndarray, rows: np.ndarray, counts: np.ndarray, marks: np.ndarray
) -> tuple[int, int] | None:
    """(local feature, example row) of a repeated pair in a chunk, or None.

    Small features: one sort of their (feature, row) pairs, then compare neighbours. Large
    features, one at a time: write each row's position into ``marks`` (an example-row sized
    scratch array); a row listed twice keeps only its last position, so some read-back differs.
    """
    small = counts < _LOOP_MIN_COUNT
    in_small = np.repeat(small, counts)
    if in_small.any():
        pair = _sorted_u64((seg[in_small] << np.uint64(32)) | rows[in_small])
        same = pair[1:] == pair[:-1]
        if same.any():
            i = int(np.argmax(same))
            return int(pair[i] >> np.uint64(32)), int(pair[i] & np.uint64(0xFFFFFFFF))
    starts = np.cumsum(counts) - counts
    for local in np.nonzero(~small)[0]:
        lo = int(starts[local])
        feature_rows = rows[lo : lo + int(counts[local])].astype(np.int64)
        positions = np.arange(len(feature_rows), dtype=np.int32)
        marks[feature_rows] = positions
        differs = marks[feature_rows] != positions
        if differs.any():
            return int(local), int(feature_rows[int(np.argmax(differs))])
    return None


def _feature_chunks(
    offsets: np.ndarray, f0: int, f1: int, max_features: int
) -> list[tuple[int, int]]:
    """[c0, c1) chunks of [f0, f1) holding about SORT_CHUNK nonzeros, at most max_features."""
    chunks = []
    c0 = f0
    while c0 < f1:
        limit = min(f1, c0 + max_features)
        c1 = int(np.searchsorted(offsets, offsets[c0] + SORT_CHUNK, side="right")) - 1
        c1 = max(c0 + 1, min(c1, limit))
        chunks.append((c0, c1))
        c0 = c1
    return chunks


class NpyAppender:
    """A 1-D ``.npy`` file of known length written front to back with plain writes (never
    memory-mapped, so what was written costs the process no resident memory)."""

    def __init__(self, path: Path, dtype: np.dtype[Any], length: int) -> None:
        self.path, self.dtype, self.length, self.written = path, np.dtype(dtype), length, 0
        self._fh: BinaryIO = path.open("wb")
        header = {
            "descr": np.lib.format.dtype_to_descr(self.dtype),
            "fortran_order": False,
            "shape": (length,),
        }
        np.lib.format.write_array_header_1_0(self._fh, header)

    def append(self, values: np.ndarray) -> None:
        self._fh.write(np.ascontiguousarray(values, dtype=self.dtype).data)
        self.written += len(values)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        if self.written != self.length:
            raise AssertionError(f"{self.path}: wrote {self.written} of {self.length} values")

    def abort(self) -> None:
        self._fh.close()


def _changed(source: ActivationSource) -> DataError:
    return DataError(f"{source.spec}: activation files changed while the index was being built")


class ShardBuilder:
    """Builds one shard into a folder (see the module docstring)."""

    def __init__(
        self,
        source: ActivationSource,
        example_ids: np.ndarray,
        plan: ShardPlan,
        progress: Progress,
    ) -> None:
        self.source = source
        self.example_ids = example_ids
        self.mapper = ExampleRows(example_ids)
        self.plan = plan
        self.progress = _locked(progress)
        self.threads = build_threads(plan.budget)
        self.row_bits = max(1, int(len(example_ids) - 1).bit_length())
        self.stages = _Stages()
        prefix = (
            f"{plan.model}: "
            if plan.n_shards == 1
            else f"{plan.model} shard {plan.shard + 1}/{plan.n_shards}: "
        )
        self.prefix = prefix

    def build(self, out: Path) -> dict[str, Any]:
        """Write the shard's files into ``out``; returns its manifest (also written there)."""
        started = time.perf_counter()
        with ThreadPoolExecutor(self.threads, thread_name_prefix="labeler-index") as pool:
            counts = count_pass(
                self.source,
                self.plan,
                pool,
                self.threads,
                self.progress,
                f"{self.prefix}counting activations",
            )
            self.stages.lap("count")
            n_features = counts.max_feature_id + 1
            if self.plan.n_features is not None:
                n_features = self.plan.n_features
            totals = np.zeros(n_features, dtype=np.int64)
            width = min(n_features, counts.groups.shape[1])
            totals[:width] = counts.totals[:width]
            offsets = np.zeros(n_features + 1, dtype=np.int64)
            np.cumsum(totals, out=offsets[1:])
            bounds = shard_bounds(offsets, self.plan.n_shards)
            lo, hi = bounds[self.plan.shard], bounds[self.plan.shard + 1]
            groups = np.zeros((counts.groups.shape[0], n_features), dtype=np.int64)
            groups[:, :width] = counts.groups[:, :width]
            counts.groups = groups
            table_bytes = self.mapper.nbytes + groups.nbytes * 2 + offsets.nbytes * 4
            capacity = memory.range_capacity(self.plan.budget, self.threads, table_bytes)
            ranges = plan_ranges(offsets, lo, hi, capacity)
            n_shard = int(offsets[hi] - offsets[lo])
            rows_out = NpyAppender(out / L.ROWS, np.dtype(np.int32), n_shard)
            acts_out = NpyAppender(out / L.ACTS, np.dtype(np.float32), n_shard)
            max_acts = np.zeros(hi - lo, dtype=np.float32)
            mean_acts = np.zeros(hi - lo, dtype=np.float32)
            try:
                for r, (f0, f1) in enumerate(ranges):
                    label = f"features {f0:,}-{f1 - 1:,}" + (
                        f" ({r + 1}/{len(ranges)})" if len(ranges) > 1 else ""
                    )
                    packed = self._gather(
                        counts, offsets, f0, f1, pool, f"{self.prefix}gathering {label}"
                    )
                    self.stages.lap("gather")
                    self._sort_and_write(
                        packed,
                        offsets,
                        f0,
                        f1,
                        lo,
                        pool,
                        rows_out,
                        acts_out,
                        max_acts,
                        mean_acts,
                        f"{self.prefix}sorting {label}",
                    )
                    del packed
                    self.stages.lap("sort_write")
                rows_out.close()
                acts_out.close()
            except BaseException:
                rows_out.abort()
                acts_out.abort()
                raise
        local = offsets[lo : hi + 1] - offsets[lo]
        np.save(out / L.OFFSETS, local)
        np.save(out / L.MAX_ACTS, max_acts)
        np.save(out / L.MEAN_ACTS, mean_acts)
        self.stages.lap("write")
        manifest = {
            "version": L.INDEX_VERSION,
            "shard": self.plan.shard,
            "n_shards": self.plan.n_shards,
            "features": [lo, hi],
            "n_features": n_features,
            "n_nonzero": n_shard,
            "n_nonzero_total": int(offsets[-1]),
            "n_activation_rows": self.source.total_rows,
            "ranges": [list(r) for r in ranges],
            "range_capacity": capacity,
            "threads": self.threads,
            "budget": self.plan.budget,
            "build_seconds": round(time.perf_counter() - started, 3),
            "stage_seconds": self.stages.wall,
            "stage_cpu_seconds": self.stages.cpu,
        }
        return manifest

    # --- one range ---------------------------------------------------------------------------
    def _gather(
        self,
        counts: Counts,
        offsets: np.ndarray,
        f0: int,
        f1: int,
        pool: ThreadPoolExecutor,
        stage: str,
    ) -> np.ndarray:
        """uint64[range nonzeros]: each feature's rows packed, grouped by feature (unsorted)."""
        n_local = f1 - f0
        packed = np.empty(int(offsets[f1] - offsets[f0]), dtype=np.uint64)
        group_counts = counts.groups[:, f0:f1]
        starts = (
            (offsets[f0:f1] - offsets[f0])[None, :] + np.cumsum(group_counts, axis=0) - group_counts
        )
        ends = starts + group_counts
        shift = np.uint64(self.row_bits)
        units = self.source.units
        total = self.source.total_rows
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            self.progress(stage, done[0], total)

        def scatter(unit: ActivationUnit, cursor: np.ndarray, limit: np.ndarray) -> None:
            batch = unit.read()
            feats = batch.feature_ids
            inside = (feats >= f0) & (feats < f1)
            rows = self._rows(unit, batch, inside)
            keep = inside & (batch.activations > 0)
            if not keep.any():
                return
            local = (feats[keep] - f0).astype(np.int32 if n_local < 1 << 31 else np.int64)
            unit_counts = np.bincount(local, minlength=n_local)
            if len(unit_counts) > n_local or np.any(cursor + unit_counts > limit):
                raise _changed(self.source)
            values = (~batch.activations[keep].view(np.uint32)).astype(np.uint64)
            values <<= shift
            values |= rows[keep[inside]].astype(np.uint64)
            order = group_order(local, n_local)
            # the k-th row of local feature f in this unit goes to cursor[f] + k
            base = cursor - (np.cumsum(unit_counts) - unit_counts)
            positions = np.repeat(base, unit_counts)
            positions += np.arange(len(local), dtype=np.int64)
            packed[positions] = values[order]
            cursor += unit_counts

        def run(g: int) -> None:
            cursor = starts[g].copy()
            for i in counts.group_units[g]:
                low, high = counts.spans[i]
                if high >= f0 and low < f1:
                    scatter(units[i], cursor, ends[g])
                advance(units[i].n_rows)
            if not np.array_equal(cursor, ends[g]):
                raise _changed(self.source)

        self.progress(stage, 0, total)
        for _ in in_order(pool, run, range(len(counts.group_units)), len(counts.group_units)):
            pass
        return packed

    def _rows(self, unit: ActivationUnit, batch: ActivationBatch, inside: np.ndarray) -> np.ndarray:
        """Example rows of the batch's rows ``inside`` the range (zero rows too: each row of the
        input is checked once, in its feature's range); DataError for an unknown example id."""
        ids = batch.example_ids[inside]
        rows = self.mapper.rows(ids)
        missing = rows < 0
        if missing.any():
            i = int(np.flatnonzero(inside)[int(np.argmax(missing))])
            raise DataError(
                f"{unit.name}: example_id {batch.example_ids[i]} at row {batch.first_row + i} is "
                f"not in the examples file"
            )
        return rows

    def _sort_and_write(
        self,
        packed: np.ndarray,
        offsets: np.ndarray,
        f0: int,
        f1: int,
        lo: int,
        pool: ThreadPoolExecutor,
        rows_out: NpyAppender,
        acts_out: NpyAppender,
        max_acts: np.ndarray,
        mean_acts: np.ndarray,
        stage: str,
    ) -> None:
        """Sort each feature's rows by activation descending, then example row; check for
        duplicates; append to the shard's files in feature order."""
        counts = np.diff(offsets[f0 : f1 + 1])
        act_shift = np.uint64(self.row_bits)
        seg_shift = np.uint64(self.row_bits + 32)
        row_mask = np.uint64((1 << self.row_bits) - 1)
        base = int(offsets[f0])
        scratch: dict[int, np.ndarray] = {}
        n_examples = len(self.example_ids)

        def sort_chunk(chunk: tuple[int, int]) -> tuple[int, int, np.ndarray, np.ndarray]:
            c0, c1 = chunk
            a, b = int(offsets[c0]) - base, int(offsets[c1]) - base
            if a == b:
                return c0, c1, np.empty(0, np.int32), np.empty(0, np.float32)
            chunk_counts = counts[c0 - f0 : c1 - f0]
            values = packed[a:b]
            key = np.repeat(np.arange(c1 - c0, dtype=np.uint64), chunk_counts)
            if chunk_counts.max() >= _LOOP_MIN_COUNT and threading.get_ident() not in scratch:
                scratch[threading.get_ident()] = np.empty(n_examples, dtype=np.int32)
            marks = scratch.get(threading.get_ident(), np.empty(0, np.int32))
            duplicate = _first_duplicate(key, values & row_mask, chunk_counts, marks)
            if duplicate is not None:
                feature, row = duplicate
                raise DataError(
                    f"{self.source.spec}: more than one row for feature_id {c0 + feature} "
                    f"and example_id {int(self.example_ids[row])} (one row per feature and example)"
                )
            key <<= seg_shift
            key |= values
            key = _sorted_u64(key)
            rows = (key & row_mask).astype(np.int32)
            acts = (~(key >> act_shift).astype(np.uint32)).view(np.float32)
            del key
            local = offsets[c0:c1] - offsets[c0]
            nonempty = chunk_counts > 0
            starts = local[nonempty]
            out = slice(c0 - lo, c1 - lo)
            max_acts[out][nonempty] = acts[starts]
            sums = np.add.reduceat(acts.astype(np.float64), starts)
            mean_acts[out][nonempty] = sums / chunk_counts[nonempty]
            return c0, c1, rows, acts

        chunks = _feature_chunks(offsets, f0, f1, 1 << (32 - self.row_bits))
        self.progress(stage, 0, f1 - f0)
        for _c0, c1, rows, acts in in_order(pool, sort_chunk, chunks, self.threads + 1):
            rows_out.append(rows)
            acts_out.append(acts)
            self.progress(stage, c1 - f0, f1 - f0)
