"""Building a model's derived index: the base tables, the feature-range shards, the manifest.

An index (see ``index_layout``) is a *base* (examples, vocab, decoder tables) and N *shards*,
each the nonzero activations of a range of features, complete on its own and built by
``shard_build`` within a memory budget. Two ways to build one:

- :func:`ensure_index` (first use, ``labeler index``): builds the whole index (base and one
  shard) in a temporary folder and renames it into place when complete; a build that fails
  leaves nothing behind and the previous index in use.
- :func:`build_shard` (``labeler index --shard I/N``): builds the base if missing and shard I of
  N in place, each piece in a temporary folder renamed when complete, so several processes or
  machines sharing the input files and the cache build the shards of one index at once. Whoever
  completes the last piece writes the manifest; until then no reader uses the folder, and a
  later ``labeler index`` builds whatever is still missing (of the same N).

Shard boundaries depend on the data only (equal shares of the nonzeros), so every shard build
of an index agrees on them, and a shard-parallel build serves exactly what a single build does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labeler_tui.core.config import ModelConfig
from labeler_tui.core.data import index_layout as L
from labeler_tui.core.data.decoder import DecoderSource, open_decoder, row_norms, write_float32_rows
from labeler_tui.core.data.example_rows import ExampleRows
from labeler_tui.core.data.memory import default_budget
from labeler_tui.core.data.readers import ExampleTable, read_examples
from labeler_tui.core.data.shard_build import ShardBuilder, ShardPlan, feature_limit
from labeler_tui.core.data.sources import activation_source
from labeler_tui.core.data.vocab import read_vocab, token_families
from labeler_tui.core.errors import DataError, ValidationError

__all__ = ["ExampleRows", "ShardResult", "build_shard", "ensure_index"]

Progress = Callable[[str, int, int], None]

DECODER_CHUNK_ROWS = 4096
_STALE_BUILD_SECONDS = 6 * 3600
MAX_SHARDS = 99_999


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def ensure_index(
    config: ModelConfig,
    model_root: Path,
    rebuild: bool = False,
    progress: Progress | None = None,
    memory: int | None = None,
) -> Path:
    """The folder of a complete, current index for ``config``; builds it if missing or stale.

    ``memory`` is the build's budget in bytes (default: :func:`memory.default_budget`). An
    index being built in shards (``build_shard``) is completed in place, in its own shards.
    """
    fp = L.fingerprint(config)
    final = model_root / fp
    if not rebuild and L.read_manifest(final) is not None:
        return final
    progress = progress or _no_progress
    budget = memory or default_budget()
    n_shards = None if rebuild else _shard_count(final)
    if n_shards is not None:
        for shard in range(n_shards):
            build_shard(config, model_root, shard, n_shards, False, progress, budget)
        if L.read_manifest(final) is None:
            raise DataError(f"{final}: the index is incomplete after building its shards")
        return final
    try:
        model_root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".build-{fp}-", dir=model_root))
    except OSError as exc:
        raise DataError(f"{model_root}: cannot create the index folder: {exc.strerror}") from None
    try:
        _build(config, tmp, fp, progress, budget)
        _check_unchanged(config, fp)
        _move_into_place(tmp, final, replace=rebuild)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_stale(model_root, keep=final)
    return final


def _build(config: ModelConfig, out: Path, fp: str, progress: Progress, budget: int) -> None:
    """A whole index (the base and one shard) into the empty folder ``out``."""
    base = _build_base(config, out / L.BASE, progress)
    shard_tmp = out / L.SHARDS / L.shard_name(0, 1)
    shard_tmp.mkdir(parents=True)
    _build_shard_files(config, out / L.BASE, base, 0, 1, shard_tmp, progress, budget)
    if not _finish(config, out, fp):
        raise DataError(f"{out}: the index is incomplete after its build")


def _check_unchanged(config: ModelConfig, fp: str) -> None:
    if L.fingerprint(config) != fp:
        raise DataError(
            f"{config.activations_spec}: input files changed while the index was being "
            "built; run the command again"
        )


@dataclass(frozen=True)
class ShardResult:
    """What ``build_shard`` did: the index folder, whether it built the shard (False: it was
    already there) and whether the index is now complete."""

    folder: Path
    shard: int
    n_shards: int
    built: bool
    complete: bool
    manifest: dict[str, Any]
    """The shard's own manifest (features, n_nonzero, stage times)."""


def build_shard(
    config: ModelConfig,
    model_root: Path,
    shard: int,
    n_shards: int,
    rebuild: bool = False,
    progress: Progress | None = None,
    memory: int | None = None,
) -> ShardResult:
    """Build shard ``shard`` (from 0) of ``n_shards`` of the current index, in place; the
    base too if missing, and the manifest if this completes the index.

    Safe to run at once in several processes (or machines sharing the cache folder): each
    piece is built in a temporary folder and renamed; a piece that another process finished
    first is kept. ``rebuild`` replaces the shard even if present.
    """
    if not 1 <= n_shards <= MAX_SHARDS or not 0 <= shard < n_shards:
        raise ValidationError(
            f"shard {shard + 1} of {n_shards}: need 1 <= I <= N <= {MAX_SHARDS} (--shard I/N "
            "counts from 1)"
        )
    progress = progress or _no_progress
    budget = memory or default_budget()
    fp = L.fingerprint(config)
    folder = model_root / fp
    try:
        (folder / L.SHARDS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{folder}: cannot create the index folder: {exc.strerror}") from None
    present = _shard_count(folder)
    if present is not None and present != n_shards:
        raise DataError(
            f"{folder}: this index is being built in {present} shards, not {n_shards}; use "
            f"--shard I/{present} (or `labeler index --force` to build it whole)"
        )
    _remove_abandoned(folder)
    _remove_abandoned(folder / L.SHARDS)
    base = _ensure_base(config, folder, progress)
    target = folder / L.SHARDS / L.shard_name(shard, n_shards)
    manifest = L.read_json(target / L.SHARD_MANIFEST)
    built = False
    if rebuild or manifest is None:
        tmp = Path(tempfile.mkdtemp(prefix=f".build-{target.name}-", dir=folder / L.SHARDS))
        try:
            manifest = _build_shard_files(
                config, folder / L.BASE, base, shard, n_shards, tmp, progress, budget
            )
            _check_unchanged(config, fp)
            _move_into_place(tmp, target, replace=rebuild)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        manifest = L.read_json(target / L.SHARD_MANIFEST) or manifest
        built = True
    complete = L.read_manifest(folder) is not None and not built
    if not complete:
        complete = _finish(config, folder, fp)
    if complete:
        _remove_stale(model_root, keep=folder)
    return ShardResult(folder, shard, n_shards, built, complete, manifest)


def _shard_count(folder: Path) -> int | None:
    """N of the shards present in an index folder (complete or not), or None when none is."""
    try:
        names = [p.name for p in (folder / L.SHARDS).iterdir()]
    except OSError:
        return None
    counts = {parsed[1] for parsed in map(L.parse_shard_name, names) if parsed is not None}
    if len(counts) > 1:
        raise DataError(
            f"{folder / L.SHARDS}: shards of {sorted(counts)} at once; remove the folder or run "
            "`labeler index --force`"
        )
    return counts.pop() if counts else None


def _remove_abandoned(folder: Path) -> None:
    """Temporary folders of builds that died long ago."""
    now = time.time()
    try:
        children = list(folder.iterdir())
    except OSError:
        return
    for child in children:
        if child.name.startswith(".build-") and child.is_dir():
            try:
                if now - child.stat().st_mtime < _STALE_BUILD_SECONDS:
                    continue
            except OSError:
                continue
            shutil.rmtree(child, ignore_errors=True)


def _ensure_base(config: ModelConfig, folder: Path, progress: Progress) -> dict[str, Any]:
    """The base's manifest, building the base in place (atomically) if missing."""
    target = folder / L.BASE
    base = L.read_json(target / L.BASE_MANIFEST)
    if base is not None:
        return base
    tmp = Path(tempfile.mkdtemp(prefix=".build-base-", dir=folder))
    try:
        _build_base(config, tmp, progress)
        _move_into_place(tmp, target, replace=False)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    base = L.read_json(target / L.BASE_MANIFEST)
    if base is None:
        raise DataError(f"{target}: the index base is unreadable; run `labeler index --force`")
    return base


def _build_base(config: ModelConfig, out: Path, progress: Progress) -> dict[str, Any]:
    """Examples, vocab and decoder tables into ``out`` (created), then ``base.json``."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    decoder = open_decoder(config.decoder) if config.decoder is not None else None
    extra: dict[str, Any] = {}
    min_features = 0
    if config.is_sequence:  # the positions of a token stream are the examples
        from labeler_tui.core.data.sequence_build import write_sequence_inputs

        examples, sequence_source, extra = write_sequence_inputs(config, out, progress)
        min_features = sequence_source.min_features
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
    _write_examples(out, examples)
    decoder_info = (
        _write_decoder(decoder, out, config.name, progress) if decoder is not None else None
    )
    _fsync_folder(out)
    base = {
        "version": L.INDEX_VERSION,
        "n_examples": examples.n_examples,
        "metadata": [
            {"column": name, "values": column.values} for name, column in examples.metadata.items()
        ],
        "decoder": decoder_info,
        "build_seconds": round(time.perf_counter() - started, 3),
        "min_features": min_features,
        "extra": extra,
    }
    L.write_json(out / L.BASE_MANIFEST, base)
    return base


def _build_shard_files(
    config: ModelConfig,
    base_folder: Path,
    base: dict[str, Any],
    shard: int,
    n_shards: int,
    out: Path,
    progress: Progress,
    budget: int,
) -> dict[str, Any]:
    decoder = base.get("decoder")
    # a Delphi cache's width is the feature count when nothing else fixes it
    configured = config.n_features or (int(base.get("min_features") or 0) or None)
    plan = ShardPlan(
        model=config.name,
        shard=shard,
        n_shards=n_shards,
        n_features=int(decoder["n_features"]) if decoder else configured,
        feature_limit=feature_limit(
            config.name,
            configured,
            (int(decoder["n_features"]), Path(decoder["path"]).name) if decoder else None,
        ),
        budget=budget,
    )
    example_ids = np.load(base_folder / L.EXAMPLE_IDS)
    builder = ShardBuilder(activation_source(config, base_folder), example_ids, plan, progress)
    manifest = builder.build(out)
    manifest["fingerprint"] = L.fingerprint(config)
    L.write_json(out / L.SHARD_MANIFEST, manifest)
    _fsync_folder(out)
    return manifest


def _finish(config: ModelConfig, folder: Path, fp: str) -> bool:
    """Write the index's manifest if the base and every shard are there; whether it is."""
    base = L.read_json(folder / L.BASE / L.BASE_MANIFEST)
    n_shards = _shard_count(folder)
    if base is None or n_shards is None:
        return False
    shards = []
    for i in range(n_shards):
        name = L.shard_name(i, n_shards)
        manifest = L.read_json(folder / L.SHARDS / name / L.SHARD_MANIFEST)
        if manifest is None:
            return False
        shards.append((name, manifest))
    first = shards[0][1]
    edge = 0
    for name, manifest in shards:
        lo, hi = manifest["features"]
        if (
            lo != edge
            or manifest.get("fingerprint") != fp
            or manifest["n_features"] != first["n_features"]
            or manifest["n_nonzero_total"] != first["n_nonzero_total"]
        ):
            raise DataError(
                f"{folder / L.SHARDS / name}: this shard does not fit the others; run "
                "`labeler index --force`"
            )
        edge = hi
    if edge != first["n_features"]:
        raise DataError(f"{folder / L.SHARDS}: the shards do not cover every feature")
    stage_wall: dict[str, float] = {}
    stage_cpu: dict[str, float] = {}
    for _, manifest in shards:
        for key, value in manifest["stage_seconds"].items():
            stage_wall[key] = round(stage_wall.get(key, 0.0) + value, 3)
        for key, value in manifest["stage_cpu_seconds"].items():
            stage_cpu[key] = round(stage_cpu.get(key, 0.0) + value, 3)
    index = {
        "version": L.INDEX_VERSION,
        "fingerprint": fp,
        "model": config.name,
        "n_features": first["n_features"],
        "n_examples": base["n_examples"],
        "n_nonzero": first["n_nonzero_total"],
        "n_activation_rows": first["n_activation_rows"],
        "metadata": base["metadata"],
        "decoder": base["decoder"],
        "inputs": [str(p) for p in config.input_files],
        "shards": [
            {"folder": name, "features": m["features"], "n_nonzero": m["n_nonzero"]}
            for name, m in shards
        ],
        "build_seconds": round(
            base["build_seconds"] + sum(m["build_seconds"] for _, m in shards), 3
        ),
        "stage_seconds": stage_wall,
        "stage_cpu_seconds": stage_cpu,
        **(base.get("extra") or {}),
    }
    L.replace_json(folder / L.MANIFEST, index)
    return True


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


def _write_examples(out: Path, examples: ExampleTable) -> None:
    np.save(out / L.EXAMPLE_IDS, examples.example_ids)
    np.save(out / L.TOKEN_OFFSETS, examples.token_offsets)
    np.save(out / L.TOKEN_IDS, examples.token_ids)
    for i, column in enumerate(examples.metadata.values()):
        np.save(out / L.metadata_codes_file(i), column.codes)


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
