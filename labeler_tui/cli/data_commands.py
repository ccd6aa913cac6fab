"""Data-layer commands: ``info``, ``activations``, ``index``, ``demo DIR``, ``init DIR``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from labeler_tui.cli.context import CliContext
from labeler_tui.cli.options import add_feature_id
from labeler_tui.cli.output import plain, text
from labeler_tui.core.config import CONFIG_NAME
from labeler_tui.core.data import index_layout
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.results.data import (
    ActivationsJson,
    DemoJson,
    IndexBuildJson,
    IndexJson,
    InfoJson,
    InitJson,
    ModelInfoJson,
    ShardBuildJson,
)

HUMAN_ROWS = 20
"""Rows `labeler activations` prints without --top or --json."""


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "info",
        parents=[common],
        help="models of the workspace: features, examples, nonzero rows",
        description="Show each model's size (builds its index first if needed). "
        "With --model, only that model.",
    )
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser(
        "activations",
        parents=[common],
        help="one feature's nonzero activations, highest first",
        description="Print one feature's nonzero activations (activation > 0) and example ids, "
        "highest activation first.",
    )
    add_feature_id(p)
    p.add_argument(
        "--top",
        type=int,
        metavar="K",
        help="only the K highest (default: all with --json, the top 20 on screen)",
    )
    p.set_defaults(handler=cmd_activations)

    p = sub.add_parser(
        "index",
        parents=[common],
        help="build the activation index (if missing or stale)",
        description="Build or refresh the derived activation index of the model (with --all: "
        "of every model, and every table the analysis would build on first use). It is also "
        "built automatically on first use. --shard I/N builds one shard of it, so several "
        "machines sharing the inputs and the cache folder build an index together.",
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="every model, and every table (token sets, postings, similarity tables)",
    )
    p.add_argument("--force", action="store_true", help="rebuild even if the index is current")
    p.add_argument(
        "--memory",
        metavar="SIZE",
        help="memory budget of the build, e.g. 6G or 512M (1G .. 1T; default [index] memory, "
        "else a quarter of the machine's memory)",
    )
    p.add_argument(
        "--shard",
        metavar="I/N",
        help="build only shard I of N (1 <= I <= N): the features with the I-th N-th of the "
        "nonzeros; the index is complete when all N are built",
    )
    p.set_defaults(handler=cmd_index)

    p = sub.add_parser(
        "demo",
        parents=[common],
        help="write the demo workspace into DIR",
        description="Write a complete, deterministic demo workspace (models ultra and full).",
    )
    p.add_argument("dir", metavar="DIR", help="folder to write the workspace into")
    p.add_argument("--force", action="store_true", help="overwrite an existing workspace in DIR")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser(
        "init",
        parents=[common],
        help="write a commented labeler.toml skeleton into DIR",
        description="Start a workspace for your own data: writes DIR/labeler.toml with every "
        "key commented (never overwrites one). --model names the model (default: main).",
    )
    p.add_argument("dir", metavar="DIR", help="workspace folder (created if missing)")
    p.set_defaults(handler=cmd_init)


# --- info -------------------------------------------------------------------------------------
def cmd_info(ctx: CliContext) -> int:
    ws = ctx.workspace
    chosen = getattr(ctx.args, "model", None)
    names = [ws.model_name(chosen)] if chosen else list(ws.config.models)
    models: dict[str, ModelInfoJson] = {}
    with ctx.progress() as progress:
        for name in names:
            data = ws.data(name, progress=progress)
            models[name] = ModelInfoJson(
                n_features=data.n_features,
                n_examples=data.n_examples,
                n_nonzero=data.n_nonzero,
                has_decoder=data.has_decoder,
            )
    result = InfoJson(workspace=str(ws.root), models=models)

    def human(console: Console) -> None:
        plain(console, [f"workspace: {ws.root}"])
        table = Table("model", "features", "examples", "nonzero", "decoder", box=None)
        for name, info in models.items():
            default = " (default)" if name == ws.config.labeler.default_model else ""
            table.add_row(
                text(name + default),
                f"{info['n_features']:,}",
                f"{info['n_examples']:,}",
                f"{info['n_nonzero']:,}",
                "yes" if info["has_decoder"] else "no",
            )
        console.print(table)

    ctx.emit(result, human)
    return 0


# --- activations ------------------------------------------------------------------------------
def cmd_activations(ctx: CliContext) -> int:
    top = ctx.args.top
    if top is not None and top < 1:
        raise ValidationError(f"--top: must be at least 1, got {top}")
    data = ctx.data()
    feature = data.feature(ctx.args.feature_id)
    stop = len(feature) if top is None else min(top, len(feature))
    example_ids = feature.example_ids[:stop].tolist()
    activations = [float(a) for a in feature.activations[:stop]]
    result = ActivationsJson(
        model=data.name,
        feature_id=feature.feature_id,
        n_nonzero=len(feature),
        example_ids=example_ids,
        activations=activations,
    )

    def human(console: Console) -> None:
        shown = stop if top is not None else min(stop, HUMAN_ROWS)
        plain(
            console,
            [
                f"feature {feature.feature_id} ({data.name}): {len(feature):,} nonzero activations"
                + (f", top {shown} shown" if shown < len(feature) else "")
                + (" (--top K or --json for more)" if top is None and shown < len(feature) else "")
            ],
        )
        table = Table("rank", "example_id", "activation", box=None)
        for rank, (ex, act) in enumerate(
            zip(example_ids[:shown], activations[:shown], strict=True), 1
        ):
            table.add_row(str(rank), str(ex), f"{act:.6g}")
        console.print(table)

    ctx.emit(result, human)
    return 0


# --- index ------------------------------------------------------------------------------------
def _parse_shard(text: str) -> tuple[int, int]:
    """(shard from 0, n_shards) of ``I/N``; ValidationError otherwise."""
    parts = text.split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValidationError(f"--shard {text!r}: expected I/N, e.g. 2/8")
    shard, n_shards = int(parts[0]), int(parts[1])
    if not 1 <= shard <= n_shards:
        raise ValidationError(f"--shard {text!r}: need 1 <= I <= N")
    return shard - 1, n_shards


def _parse_memory(text: str | None) -> int | None:
    if text is None:
        return None
    from labeler_tui.core.data.memory import check_budget, parse_size

    try:
        return check_budget(parse_size(text), "--memory")
    except ValueError as exc:
        message = str(exc) if str(exc).startswith("--") else f"--memory: {exc}"
        raise ValidationError(message) from None


def cmd_index(ctx: CliContext) -> int:
    ws = ctx.workspace
    memory = _parse_memory(ctx.args.memory)
    if ctx.args.shard is not None:
        if ctx.args.all:
            raise ValidationError("--shard builds one shard of one model; leave out --all")
        return _index_shard(ctx, _parse_shard(ctx.args.shard), memory)
    names = list(ws.config.models) if ctx.args.all else [ctx.model]
    built: dict[str, IndexBuildJson] = {}
    results: dict[str, IndexBuildJson | ShardBuildJson] = {}
    with ctx.progress() as progress:
        for name in names:
            config = ws.config.models[name]
            existing = ws.cache_dir / name / index_layout.fingerprint(config)
            was_current = index_layout.read_manifest(existing) is not None
            started = time.perf_counter()
            data = ws.data(name, progress=progress, rebuild=ctx.args.force, memory=memory)
            info = IndexBuildJson(
                index=str(data.cache_dir),
                built=bool(ctx.args.force or not was_current),
                seconds=round(time.perf_counter() - started, 3),
                n_features=data.n_features,
                n_examples=data.n_examples,
                n_nonzero=data.n_nonzero,
                shards=data.n_shards,
            )
            if ctx.args.all:
                from labeler_tui.core.tables import build_tables

                started = time.perf_counter()
                info["tables"] = build_tables(data, progress)
                info["tables_seconds"] = round(time.perf_counter() - started, 3)
            built[name] = results[name] = info

    def human(console: Console) -> None:
        for name, info in built.items():
            what = "built" if info["built"] else "up to date"
            plain(
                console,
                [
                    f"{name}: index {what} ({info['n_nonzero']:,} nonzero rows, "
                    f"{info['n_features']:,} features, {info['seconds']:.2f} s): {info['index']}"
                ],
            )
            if "tables" in info:
                plain(
                    console,
                    [
                        f"{name}: tables ready ({', '.join(info['tables'])}; "
                        f"{info['tables_seconds']:.2f} s)"
                    ],
                )

    ctx.emit(IndexJson(models=results), human)
    return 0


def _index_shard(ctx: CliContext, shard: tuple[int, int], memory: int | None) -> int:
    from labeler_tui.core.data.index_build import build_shard

    ws = ctx.workspace
    name = ctx.model
    started = time.perf_counter()
    with ctx.progress() as progress:
        done = build_shard(
            ws.config.models[name],
            ws.cache_dir / name,
            shard[0],
            shard[1],
            rebuild=ctx.args.force,
            progress=progress,
            memory=memory or ws.config.index.memory,
        )
    lo, hi = done.manifest["features"]
    info = ShardBuildJson(
        index=str(done.folder),
        shard=f"{done.shard + 1}/{done.n_shards}",
        built=done.built,
        complete=done.complete,
        seconds=round(time.perf_counter() - started, 3),
        features=[lo, hi],
        n_nonzero=done.manifest["n_nonzero"],
        n_features=done.manifest["n_features"],
    )

    def human(console: Console) -> None:
        what = "built" if info["built"] else "already built"
        state = "the index is complete" if info["complete"] else "other shards still missing"
        plain(
            console,
            [
                f"{name}: shard {info['shard']} {what} (features {lo:,}-{hi - 1:,}, "
                f"{info['n_nonzero']:,} nonzero rows, {info['seconds']:.2f} s); {state}: "
                f"{info['index']}"
            ],
        )

    ctx.emit(IndexJson(models={name: info}), human)
    return 0


# --- demo / init ------------------------------------------------------------------------------
def cmd_demo(ctx: CliContext) -> int:
    from labeler_tui.core.protected import check_new_workspace
    from labeler_tui.demo import TRUTH_NAME, write_demo

    root = Path(ctx.args.dir).expanduser()
    check_new_workspace(root)
    if (root / CONFIG_NAME).exists():
        if not ctx.args.force:
            raise ValidationError(
                f"{root / CONFIG_NAME}: already exists; use --force to overwrite the workspace"
            )
        if not (root / TRUTH_NAME).exists():
            raise ValidationError(
                f"{root}: a workspace that is not a demo (no {TRUTH_NAME}); --force replaces "
                "only a demo's files (its data/ folder would be deleted), choose another folder"
            )

    started = time.perf_counter()
    with ctx.progress() as progress:
        written = write_demo(root, progress=progress)
    config = written if written.name == CONFIG_NAME else root / CONFIG_NAME
    result = DemoJson(
        workspace=str(root.resolve()),
        config=str(config.resolve()),
        seconds=round(time.perf_counter() - started, 3),
    )
    ctx.emit(
        result,
        lambda console: plain(
            console,
            [
                f"demo workspace written to {result['workspace']} in {result['seconds']:.1f} s; "
                f"try `labeler --workspace {root} info`"
            ],
        ),
    )
    return 0


def cmd_init(ctx: CliContext) -> int:
    from labeler_tui.core.init_workspace import DEFAULT_MODEL_NAME, init_workspace
    from labeler_tui.core.protected import check_new_workspace

    root = Path(ctx.args.dir).expanduser()
    check_new_workspace(root)
    model = getattr(ctx.args, "model", None) or DEFAULT_MODEL_NAME
    path = init_workspace(root, model)
    result = InitJson(workspace=str(root.resolve()), config=str(path.resolve()), model=model)
    ctx.emit(
        result,
        lambda console: plain(
            console,
            [
                f"wrote {path}; put your data under {root / 'data' / model} (or edit the paths), "
                f"then run `labeler --workspace {root} index`"
            ],
        ),
    )
    return 0
