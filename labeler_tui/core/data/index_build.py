"""Building a model's derived index from its input files, streaming the activations.

The activation files are cut into units of BATCH_ROWS rows (explicit row ranges, so both passes
see the same units). Pass 1 reads each unit, validates it (dtypes, nulls, NaN/inf, feature ids
against the decoder) and counts its nonzero rows per feature (np.bincount). Pass 2 reads them
again, maps example ids to example rows (a lookup table; unknown ids are an error) and scatters
each nonzero row, packed into one uint64 (inverted activation bits | row), into a memory-mapped
array at per-feature cursors (grouped with a 16-bit radix argsort); with each unit's counts
from pass 1, every unit's cursors are known up front and two threads scatter units at once. Then
each chunk of features is sorted with one sort of 64-bit keys (feature | activation descending
| row ascending), checked for duplicate (feature, example) rows (see _first_duplicate),
summarised (count, max, mean) and unpacked into the final ``rows``/``acts`` arrays.

The parquet files are read twice rather than spilled to a temporary copy: at 1.8 billion rows a
spill would need ~22 GB more disk. Everything is written into a temporary folder, renamed into
place only when complete; any error removes it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from labeler_tui.core.config import ModelConfig
from labeler_tui.core.data import index_layout as L
from labeler_tui.core.data.activation_inputs import ActivationInput, BagActivations
from labeler_tui.core.data.decoder import DecoderSource, open_decoder, row_norms, write_float32_rows
from labeler_tui.core.data.readers import ActivationBatch, ExampleTable, read_examples
from labeler_tui.core.data.vocab import read_vocab, token_families
from labeler_tui.core.errors import DataError

Progress = Callable[[str, int, int], None]

BATCH_ROWS = 1 << 21
SORT_CHUNK = 1 << 22
WORKERS = max(1, min(2, os.cpu_count() or 1))
"""Threads for the passes; NumPy and polars release the GIL in the heavy calls."""
_PER_UNIT_COUNTS_BUDGET = 256 << 20
"""Bytes of per-unit feature counts kept from pass 1 (beyond this, pass 2 runs in one thread)."""
DECODER_CHUNK_ROWS = 4096
_STALE_BUILD_SECONDS = 6 * 3600


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def ensure_index(
    config: ModelConfig, model_root: Path, rebuild: bool = False, progress: Progress | None = None
) -> Path:
    """The folder of a complete, current index for ``config``; builds it if missing or stale."""
    fp = L.fingerprint(config)
    final = model_root / fp
    if not rebuild and L.read_manifest(final) is not None:
        return final
    progress = progress or _no_progress
    try:
        model_root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".build-{fp}-", dir=model_root))
    except OSError as exc:
        raise DataError(f"{model_root}: cannot create the index folder: {exc.strerror}") from None
    try:
        _build(config, tmp, fp, progress)
        if L.fingerprint(config) != fp:
            raise DataError(
                f"{config.activations_spec}: input files changed while the index was being "
                "built; run the command again"
            )
        _move_into_place(tmp, final, replace=rebuild)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_stale(model_root, keep=final)
    return final


def _move_into_place(tmp: Path, final: Path, replace: bool) -> None:
    """Rename the finished build into place; keep a concurrent builder's result unless replacing."""
    if not replace and L.read_manifest(final) is not None:
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old: Path | None = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{os.getpid()}-{time.time_ns()}")
        try:
            os.rename(final, old)
        except FileNotFoundError:  # another process replaced it meanwhile
            old = None
    try:
        os.rename(tmp, final)
    except OSError:
        if L.read_manifest(final) is None:  # not a concurrent builder's complete index
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale(model_root: Path, keep: Path) -> None:
    """Drop indexes of older inputs, leftovers of replaced indexes and abandoned builds."""
    now = time.time()
    for child in model_root.iterdir():
        if child == keep or not child.is_dir():
            continue
        name = child.name
        if name.startswith(".build-"):
            try:
                if now - child.stat().st_mtime < _STALE_BUILD_SECONDS:
                    continue  # maybe another process building right now
            except OSError:
                continue
        elif not (name.startswith(".old-") or L.is_fingerprint(name)):
            continue  # not ours
        shutil.rmtree(child, ignore_errors=True)


class ExampleRows:
    """Maps user example ids to example-table rows (a lookup table when ids are dense enough)."""

    def __init__(self, sorted_ids: np.ndarray) -> None:
        self.ids = sorted_ids
        self.lut: np.ndarray | None = None
        self.low = int(sorted_ids[0]) if len(sorted_ids) else 0
        self.span = int(sorted_ids[-1]) - self.low + 1 if len(sorted_ids) else 0
        self.contiguous = self.span == len(sorted_ids)
        """ids are low, low+1, ...: the row is the id minus low."""
        if len(sorted_ids) and not self.contiguous:
            span = self.span
            if span <= 8 * len(sorted_ids) + (1 << 20):
                self.lut = np.full(span, -1, dtype=np.int32)
                self.lut[sorted_ids - self.low] = np.arange(len(sorted_ids), dtype=np.int32)

    def rows(self, example_ids: np.ndarray) -> np.ndarray:
        """int32 rows; -1 where the id is not in the examples table."""
        if len(self.ids) == 0:
            return np.full(len(example_ids), -1, dtype=np.int32)
        if len(example_ids) == 0:
            return np.empty(0, dtype=np.int32)
        in_range = example_ids.min() >= self.low and example_ids.max() - self.low < self.span
        if self.contiguous and in_range:
            return (example_ids - self.low).astype(np.int32)
        if self.lut is not None and in_range:
            return self.lut[example_ids - self.low]
        if self.lut is not None or self.contiguous:
            offset = example_ids - self.low
            inside = offset.view(np.uint64) < self.span
            rows = np.full(len(example_ids), -1, dtype=np.int32)
            rows[inside] = offset[inside] if self.lut is None else self.lut[offset[inside]]
            return rows
        pos = np.searchsorted(self.ids, example_ids)
        np.minimum(pos, len(self.ids) - 1, out=pos)
        return np.where(self.ids[pos] == example_ids, pos, -1).astype(np.int32)


def _build(config: ModelConfig, out: Path, fp: str, progress: Progress) -> None:
    started = time.perf_counter()
    started_cpu = time.process_time()
    stages: dict[str, float] = {}
    stages_cpu: dict[str, float] = {}

    def lap(name: str) -> None:
        stages[name] = round(time.perf_counter() - started - sum(stages.values()), 3)
        stages_cpu[name] = round(time.process_time() - started_cpu - sum(stages_cpu.values()), 3)

    decoder = open_decoder(config.decoder) if config.decoder is not None else None
    extra: dict[str, Any] = {}
    source: ActivationInput
    if config.is_sequence:  # positions of a token stream are the examples
        from labeler_tui.core.data.sequence_build import write_sequence_inputs

        examples, source, extra = write_sequence_inputs(config, out, progress)
    else:
        reading = f"{config.name}: reading vocab and examples"
        progress(reading, 0, 1)
        assert config.vocab is not None and config.examples is not None
        token_names = read_vocab(config.vocab)
        family_names, token_family = token_families(token_names, config.token_family)
        examples = read_examples(config.examples, len(token_names), config.vocab)
        np.save(out / L.TOKEN_FAMILY, token_family)
        L.write_json(out / L.VOCAB, {"token_names": token_names, "family_names": family_names})
        progress(reading, 1, 1)
        source = BagActivations(config.activations)
    _write_examples(out, examples)
    lap("examples")

    sizes = [source.count(path) for path in source.files]
    total_rows = sum(sizes)
    units = _units(source, sizes)
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="labeler-index") as pool:
        n_features, n_nonzero = _build_activations(
            config,
            out,
            examples,
            decoder,
            units,
            total_rows,
            pool,
            progress,
            lap,
            source.min_features,
        )

    decoder_info: dict[str, Any] | None = None
    if decoder is not None:
        decoder_info = _write_decoder(decoder, out, config.name, progress)
    _fsync_folder(out)
    lap("decoder_and_fsync")

    manifest = {
        "version": L.INDEX_VERSION,
        "fingerprint": fp,
        "model": config.name,
        "n_features": n_features,
        "n_examples": examples.n_examples,
        "n_nonzero": n_nonzero,
        "n_activation_rows": total_rows,
        "metadata": [
            {"column": name, "values": column.values} for name, column in examples.metadata.items()
        ],
        "decoder": decoder_info,
        "inputs": [str(p) for p in config.input_files],
        "build_seconds": round(time.perf_counter() - started, 3),
        "stage_seconds": stages,
        "stage_cpu_seconds": stages_cpu,
        **extra,
    }
    L.write_json(out / L.MANIFEST, manifest)


def _build_activations(
    config: ModelConfig,
    out: Path,
    examples: ExampleTable,
    decoder: DecoderSource | None,
    units: list[_Unit],
    total_rows: int,
    pool: ThreadPoolExecutor,
    progress: Progress,
    lap: Callable[[str], None],
    min_features: int = 0,
) -> tuple[int, int]:
    """Passes 1 and 2 and the per-feature sort; returns (n_features, n_nonzero)."""
    mapper = ExampleRows(examples.example_ids)
    counts = _count_pass(config, units, decoder, total_rows, pool, progress)
    lap("count_pass")
    n_features = max(counts.max_feature_id + 1, min_features)
    if decoder is not None:
        n_features = decoder.n_features
    elif config.n_features is not None:
        n_features = config.n_features
    offsets = np.zeros(n_features + 1, dtype=np.int64)
    np.cumsum(np.pad(counts.totals, (0, n_features - len(counts.totals))), out=offsets[1:])
    n_nonzero = int(offsets[-1])
    np.save(out / L.OFFSETS, offsets)

    row_bits = max(1, int(examples.n_examples - 1).bit_length())
    packed_path = out / "packed.tmp"
    packed = np.memmap(packed_path, mode="w+", dtype=np.uint64, shape=(max(1, n_nonzero),))
    _scatter_pass(
        config, units, counts, mapper, offsets, packed, row_bits, total_rows, pool, progress
    )
    lap("scatter_pass")
    rows = np.lib.format.open_memmap(out / L.ROWS, mode="w+", dtype=np.int32, shape=(n_nonzero,))
    acts = np.lib.format.open_memmap(out / L.ACTS, mode="w+", dtype=np.float32, shape=(n_nonzero,))
    max_acts, mean_acts = _sort_features(
        config, offsets, packed, row_bits, rows, acts, examples.example_ids, pool, progress
    )
    lap("sort")
    rows.flush()
    acts.flush()
    del rows, acts, packed
    packed_path.unlink()
    np.save(out / L.MAX_ACTS, max_acts)
    np.save(out / L.MEAN_ACTS, mean_acts)
    return n_features, n_nonzero


def _write_examples(out: Path, examples: ExampleTable) -> None:
    np.save(out / L.EXAMPLE_IDS, examples.example_ids)
    np.save(out / L.TOKEN_OFFSETS, examples.token_offsets)
    np.save(out / L.TOKEN_IDS, examples.token_ids)
    for i, column in enumerate(examples.metadata.values()):
        np.save(out / L.metadata_codes_file(i), column.codes)


MAX_FEATURES_WITHOUT_DECODER = 1 << 20
"""Without a decoder or ``n_features``, n_features is max(feature_id) + 1: a feature id beyond
this (one stray row with id 2^31 - 1 would make the index allocate 16 GiB) is refused."""


def feature_limit(config: ModelConfig, decoder: DecoderSource | None) -> tuple[int, str]:
    """The number of features the activations may address, and what sets it (for errors); a
    configured ``n_features`` that disagrees with the decoder is a DataError."""
    if decoder is not None:
        if config.n_features is not None and config.n_features != decoder.n_features:
            raise DataError(
                f"[models.{config.name}] n_features = {config.n_features} but the decoder "
                f"{decoder.path} has {decoder.n_features} features"
            )
        return (
            decoder.n_features,
            f"the decoder {decoder.path.name} ({decoder.n_features} features)",
        )
    if config.n_features is not None:
        return config.n_features, f"[models.{config.name}] n_features ({config.n_features})"
    return MAX_FEATURES_WITHOUT_DECODER, (
        f"the {MAX_FEATURES_WITHOUT_DECODER:,} features accepted without a decoder (set "
        f"n_features in [models.{config.name}], or give its decoder, if the model has more)"
    )


def _check_features(path: Path, batch: ActivationBatch, limit: tuple[int, str]) -> None:
    """DataError for a feature id outside the model's features (before anything is allocated
    for it)."""
    too_big = batch.feature_ids >= limit[0]
    if too_big.any():
        i = int(np.argmax(too_big))
        raise DataError(
            f"{path}: feature_id {batch.feature_ids[i]} at row {batch.first_row + i} is out of "
            f"range of {limit[1]}"
        )


def _example_rows(path: Path, batch: ActivationBatch, mapper: ExampleRows) -> np.ndarray:
    """Example rows of a batch; DataError for an example id missing from the examples file."""
    rows = mapper.rows(batch.example_ids)
    missing = rows < 0
    if missing.any():
        i = int(np.argmax(missing))
        raise DataError(
            f"{path}: example_id {batch.example_ids[i]} at row {batch.first_row + i} is not in "
            f"the examples file"
        )
    return rows


@dataclass(frozen=True)
class _Unit:
    """A slice of one activation file: the unit of work of both passes."""

    path: Path
    start: int
    length: int
    source: ActivationInput

    def read(self, with_example_ids: bool = True) -> ActivationBatch:
        return self.source.read(self.path, self.start, self.length, with_example_ids)


def _units(source: ActivationInput, sizes: list[int]) -> list[_Unit]:
    return [
        _Unit(path, start, min(BATCH_ROWS, size - start), source)
        for path, size in zip(source.files, sizes, strict=True)
        for start in range(0, size, BATCH_ROWS)
    ]


def _in_order(
    pool: ThreadPoolExecutor, work: Callable[[Any], Any], items: Iterable[Any]
) -> Iterator[Any]:
    """Run ``work`` over ``items`` on the pool, a few at a time, yielding results in order.

    Results (and the first error) come back in item order, so messages are deterministic.
    """
    window = 2 * WORKERS
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


@dataclass
class _Counts:
    totals: np.ndarray  # int64 nonzero rows per feature
    per_unit: list[np.ndarray] | None  # each unit's counts, if they fit the memory budget
    max_feature_id: int


def _count_pass(
    config: ModelConfig,
    units: list[_Unit],
    decoder: DecoderSource | None,
    total_rows: int,
    pool: ThreadPoolExecutor,
    progress: Progress,
) -> _Counts:
    stage = f"{config.name}: checking activations (1/3)"
    limit = feature_limit(config, decoder)
    totals = np.zeros(decoder.n_features if decoder is not None else 0, dtype=np.int64)
    per_unit: list[np.ndarray] | None = []
    kept_bytes = 0
    top = -1

    def count(unit: _Unit) -> tuple[np.ndarray, int]:
        batch = unit.read(with_example_ids=False)
        _check_features(unit.path, batch, limit)
        feats = batch.feature_ids[batch.activations > 0]
        top = int(batch.feature_ids.max()) if len(batch.feature_ids) else -1
        return np.bincount(feats) if len(feats) else np.zeros(0, np.int64), top

    done = 0
    progress(stage, 0, total_rows)
    for unit, (unit_counts, unit_top) in zip(units, _in_order(pool, count, units), strict=True):
        if len(unit_counts) > len(totals):
            totals = np.pad(totals, (0, len(unit_counts) - len(totals)))
        totals[: len(unit_counts)] += unit_counts
        top = max(top, unit_top)
        if per_unit is not None:
            per_unit.append(unit_counts)
            kept_bytes += unit_counts.nbytes
            if kept_bytes > _PER_UNIT_COUNTS_BUDGET:
                per_unit = None  # too many units x features: scatter sequentially
        done += unit.length
        progress(stage, done, total_rows)
    return _Counts(totals, per_unit, top)


def _scatter_pass(
    config: ModelConfig,
    units: list[_Unit],
    counts: _Counts,
    mapper: ExampleRows,
    offsets: np.ndarray,
    packed: np.ndarray,
    row_bits: int,
    total_rows: int,
    pool: ThreadPoolExecutor,
    progress: Progress,
) -> None:
    """Write every nonzero row, grouped by feature, as ``~activation_bits << row_bits | row``.

    One uint64 per row (instead of a row and an activation array) halves the random memory
    traffic of the scatter, and it is already the low part of the sort key of the next step.
    When pass 1 kept each unit's counts, each unit's start in every feature's slice is known in
    advance and the units are scattered by several threads into disjoint places.
    """
    stage = f"{config.name}: writing index (2/3)"
    n_features = len(offsets) - 1
    ends = offsets[1:]
    changed = DataError(
        f"{config.activations_spec}: activation files changed while the index was being built"
    )
    shift = np.uint64(row_bits)

    def scatter(unit: _Unit, start: np.ndarray, expected: np.ndarray | None) -> np.ndarray:
        batch = unit.read()
        all_rows = _example_rows(unit.path, batch, mapper)
        keep = batch.activations > 0
        feats = batch.feature_ids[keep]
        unit_counts = np.bincount(feats, minlength=n_features)
        if len(unit_counts) > n_features or (
            not np.array_equal(unit_counts, expected)
            if expected is not None
            else np.any(start + unit_counts > ends)
        ):
            raise changed
        if len(feats):
            values = (~batch.activations[keep].view(np.uint32)).astype(np.uint64)
            values <<= shift
            values |= all_rows[keep].astype(np.uint64)
            order = group_order(feats, n_features)
            # the k-th row of feature f in this unit goes to start[f] + k
            base = start - (np.cumsum(unit_counts) - unit_counts)
            positions = np.repeat(base, unit_counts) + np.arange(len(feats))
            packed[positions] = values[order]
        return unit_counts

    cursor = offsets[:-1].copy()
    done = 0
    progress(stage, 0, total_rows)
    if counts.per_unit is None:
        for unit in units:
            cursor += scatter(unit, cursor, None)
            done += unit.length
            progress(stage, done, total_rows)
    else:
        per_unit = counts.per_unit

        def jobs() -> Iterator[tuple[_Unit, np.ndarray, np.ndarray]]:
            for unit, unit_counts in zip(units, per_unit, strict=True):
                expected = np.zeros(n_features, dtype=np.int64)
                expected[: len(unit_counts)] = unit_counts
                yield unit, cursor.copy(), expected
                cursor[:] += expected

        for unit, _ in zip(units, _in_order(pool, lambda job: scatter(*job), jobs()), strict=True):
            done += unit.length
            progress(stage, done, total_rows)
    if not np.array_equal(cursor, ends):
        raise changed


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
    """Sort uint64 keys (polars' parallel radix sort is several times faster than np.sort)."""
    return pl.Series(values, dtype=pl.UInt64).sort().to_numpy()


_LOOP_MIN_COUNT = 256


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


def _feature_chunks(offsets: np.ndarray, max_features: int) -> list[tuple[int, int]]:
    """[f0, f1) ranges of features holding about SORT_CHUNK rows, at most max_features each."""
    chunks = []
    n_features = len(offsets) - 1
    f0 = 0
    while f0 < n_features:
        limit = min(n_features, f0 + max_features)
        f1 = int(np.searchsorted(offsets, offsets[f0] + SORT_CHUNK, side="right")) - 1
        f1 = max(f0 + 1, min(f1, limit))
        chunks.append((f0, f1))
        f0 = f1
    return chunks


def _sort_features(
    config: ModelConfig,
    offsets: np.ndarray,
    packed: np.ndarray,
    row_bits: int,
    rows: np.ndarray,
    acts: np.ndarray,
    example_ids: np.ndarray,
    pool: ThreadPoolExecutor,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray]:
    """Sort each feature's slice by activation descending, then example row; check duplicates.

    Key (uint64): local feature | inverted float bits (positive floats order like their bits)
    | row. One sort per chunk of features orders everything; the parts are unpacked into the
    ``rows`` and ``acts`` arrays. Chunks are independent, so threads share them. Returns
    per-feature max and mean activation.
    """
    n_features = len(offsets) - 1
    counts = np.diff(offsets)
    act_shift = np.uint64(row_bits)
    seg_shift = np.uint64(row_bits + 32)
    row_mask = np.uint64((1 << row_bits) - 1)
    max_acts = np.zeros(n_features, dtype=np.float32)
    mean_acts = np.zeros(n_features, dtype=np.float32)
    scratch: dict[int, np.ndarray] = {}  # one marks array per thread

    def sort_chunk(chunk: tuple[int, int]) -> int:
        f0, f1 = chunk
        lo, hi = int(offsets[f0]), int(offsets[f1])
        if hi == lo:
            return f1
        marks = scratch.get(threading.get_ident())
        if marks is None:
            marks = scratch[threading.get_ident()] = np.empty(len(example_ids), dtype=np.int32)
        chunk_counts = counts[f0:f1]
        seg = np.repeat(np.arange(f1 - f0, dtype=np.uint64), chunk_counts)
        values = packed[lo:hi]
        duplicate = _first_duplicate(seg, values & row_mask, chunk_counts, marks)
        if duplicate is not None:
            feature, row = duplicate
            raise DataError(
                f"{config.activations_spec}: more than one row for feature_id {f0 + feature} "
                f"and example_id {int(example_ids[row])} (one row per feature and example)"
            )
        key = _sorted_u64((seg << seg_shift) | values)
        rows[lo:hi] = key & row_mask
        sorted_acts = (~((key >> act_shift).astype(np.uint32))).view(np.float32)
        acts[lo:hi] = sorted_acts
        local = offsets[f0:f1] - lo
        nonempty = chunk_counts > 0
        starts = local[nonempty]
        max_acts[f0:f1][nonempty] = sorted_acts[starts]
        sums = np.add.reduceat(sorted_acts.astype(np.float64), starts)
        mean_acts[f0:f1][nonempty] = sums / chunk_counts[nonempty]
        return f1

    stage = f"{config.name}: sorting features (3/3)"
    progress(stage, 0, n_features)
    chunks = _feature_chunks(offsets, 1 << (32 - row_bits))
    for done in _in_order(pool, sort_chunk, chunks):
        progress(stage, done, n_features)
    return max_acts, mean_acts


def _write_decoder(
    decoder: DecoderSource, out: Path, model: str, progress: Progress
) -> dict[str, Any]:
    stage = f"{model}: decoder norms"
    progress(stage, 0, decoder.n_features)
    if decoder.is_float32_rows:
        norms = row_norms(decoder, DECODER_CHUNK_ROWS)
        stored = "source"
    else:
        norms = write_float32_rows(
            decoder,
            out / L.DECODER,
            DECODER_CHUNK_ROWS,
            lambda done: progress(stage, done, decoder.n_features),
        )
        stored = "index"
    bad = ~np.isfinite(norms)
    if bad.any():
        raise DataError(
            f"{decoder.path}: decoder row {int(np.argmax(bad))} has NaN or infinite values"
        )
    np.save(out / L.DECODER_NORMS, norms)
    progress(stage, decoder.n_features, decoder.n_features)
    return {
        "stored": stored,
        "path": str(decoder.path),
        "n_features": decoder.n_features,
        "width": decoder.width,
    }


def _fsync_folder(folder: Path) -> None:
    for child in folder.iterdir():
        try:
            fd = os.open(child, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
