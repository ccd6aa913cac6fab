"""Torture harness for the stores (issue 12): concurrent writers killed at random, a full disk,
read-only files, hostile strings and malformed stores. Not part of the test suite.

    python scripts/torture.py [--workdir DIR] [--kills 500] [--cli-writers 3] [--api-writers 3]

Scenarios (each on a small synthetic workspace of its own):

- **kills**: CLI processes (``labeler label/skip/add/clear/undo/next --claim/sync``) and API
  worker processes (``LabelingService`` in a loop) write at once, with hostile text in every
  name, note, reason and owner, while a killer sends SIGKILL to random ones until ``--kills``
  kills were sent. Then the history is replayed and compared with every store.
- **disk-full** (root only: a small tmpfs holds the stores): each change runs with a random
  amount of free space left; a command that fails must have changed nothing.
- **read-only**: before each change a store file or folder is made read-only (or the tmpfs is
  remounted read-only); a refused change must have changed nothing.
- **hostile**: every display command, piped and on a pseudo-terminal, and the app (headless)
  must show the hostile text visibly, never raw; ``--json``, ``export`` and ``history``
  round-trip it exactly.
- **malformed**: each of a list of broken stores (wrong types, out-of-range values, repeated
  keys, a queue entry -3, malformed history events, cut or non-UTF-8 files) must give every
  command one clear error and leave the files as they were, and the app must show it without
  crashing.
- **export-onto-store**: ``export --force`` onto every store (and symlinks into them) must be
  refused with the store intact.

Figures: operations attempted, acknowledged writes lost (an exit-0 / returned change whose
history event is missing), half-applied changes (a store that differs from the replay of the
history, or a failed command that changed a file), crashes (tracebacks, hangs), clear errors.
Exit status 1 when any lost / half-applied / crashed count is not zero.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import pty
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import tomli_w

HOSTILE = [
    "\x1b]0;PWNED\x07",
    "\x1b[2J\x1b[H",
    "[/]",
    "[/oops]",
    "[link=https://evil.example]click[/link]",
    "\x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\",
    "\u202eevil\u202c",
    "over\rwrite",
    ":smile:",
    "\x9b31mred",
    "\x07bell",
    "漢字 é ✓",
]
RAW_PAYLOADS = ("\x1b]0;PWNED", "\x1b[2J", "\x1b]8;;", "\u202e", "\x9b31m", "\x07bell", "\rwrite")
OWNERS = ["alice", "[/oops]", "agent-\x1b[5m7", "bob"]
N_FEATURES = 48
MODEL = "bench"
LABELER = str(Path(sys.executable).with_name("labeler"))


# --- the workspace ------------------------------------------------------------------------------
def make_workspace(root: Path, stores: Path | None = None, seed: int = 0) -> Path:
    """A small workspace (48 features, 600 examples, a decoder); ``stores``: the folder holding
    labels/, dashboard/ and state/ (default: the workspace). Returns its folder, index built."""
    from labeler_tui.core.workspace import Workspace

    rng = np.random.default_rng(seed)
    data = root / "data"
    (data / "activations").mkdir(parents=True, exist_ok=True)
    vocab = [f"{fam}_{lvl}" for fam in ("swim", "ink", "run", "quick") for lvl in (3, 6, 12, 29)]
    vocab += ["\x1b]0;TOKEN\x07", "[/]tok"]  # hostile token names from the data
    (data / "vocab.json").write_text(json.dumps(vocab))
    n_examples = 600
    pl.DataFrame(
        {
            "example_id": np.arange(n_examples),
            "tokens": [
                sorted(rng.choice(len(vocab), size=4, replace=False).tolist())
                for _ in range(n_examples)
            ],
            "weapon": rng.choice(["hydra", "[/]weapon", "\x1b[2Jwp"], size=n_examples).tolist(),
        },
        schema={"example_id": pl.Int64, "tokens": pl.List(pl.Int32), "weapon": pl.Utf8},
    ).write_parquet(data / "examples.parquet")
    rows = []
    for f in range(N_FEATURES):
        k = int(rng.integers(20, 200))
        ex = rng.choice(n_examples, size=k, replace=False)
        rows.append(
            pl.DataFrame(
                {
                    "feature_id": np.full(k, f, dtype=np.int32),
                    "example_id": ex.astype(np.int64),
                    "activation": rng.gamma(2.0, 1.0, size=k).astype(np.float32),
                }
            )
        )
    pl.concat(rows).write_parquet(data / "activations" / "part-000.parquet")
    np.save(data / "decoder.npy", rng.normal(size=(N_FEATURES, 8)).astype(np.float32))
    config: dict[str, Any] = {
        "labeler": {"default_model": MODEL, "owner": "alice", "source": "torture"},
        "models": {
            MODEL: {
                "activations": "data/activations",
                "examples": "data/examples.parquet",
                "vocab": "data/vocab.json",
                "decoder": "data/decoder.npy",
            }
        },
        "app": {"poll_interval_seconds": 0.2},
    }
    if stores is not None:
        config["paths"] = {
            "labels": str(stores / "labels"),
            "dashboard": str(stores / "dashboard"),
            "state": str(stores / "state"),
        }
    (root / "labeler.toml").write_bytes(tomli_w.dumps(config).encode())
    state = (stores or root) / "state" / MODEL
    state.mkdir(parents=True, exist_ok=True)
    for f in range(6):  # research states: a label touches four files
        (state / f"feature_{f}_{MODEL}.json").write_text(
            json.dumps({"feature_label": None, "hypotheses": [], "model_type": MODEL})
        )
    Workspace.open(root).data(MODEL)
    return root


def store_files(ws: Path) -> list[Path]:
    from labeler_tui.core.workspace import Workspace

    w = Workspace.open(ws)
    files = [w.labels_path(), w.queue_path(), w.history_path(), w.dashboard_path()]
    files += sorted(w.state_dir().glob("feature_*.json"))
    return files


def snapshot(ws: Path) -> dict[str, bytes | None]:
    return {str(p): (p.read_bytes() if p.exists() else None) for p in store_files(ws)}


# --- operations ---------------------------------------------------------------------------------
def token(rng: random.Random, who: str, seq: int) -> str:
    return f"{who}#{seq} {rng.choice(HOSTILE)} {rng.choice(HOSTILE)}".strip()


def random_op(rng: random.Random, who: str, seq: int, owner: str) -> dict[str, Any]:
    """One change: its kind, feature(s) and unique token."""
    kind = rng.choices(
        ["label", "skip", "add", "clear", "undo", "claim", "sync"], [30, 12, 20, 8, 12, 12, 3]
    )[0]
    op: dict[str, Any] = {"kind": kind, "owner": owner, "token": token(rng, who, seq)}
    op["feature"] = rng.randrange(N_FEATURES)
    op["features"] = sorted({rng.randrange(N_FEATURES) for _ in range(rng.randint(1, 4))})
    op["priority"] = round(rng.random(), 3)
    op["force"] = rng.random() < 0.7
    op["any"] = rng.random() < 0.3
    return op


def cli_argv(ws: Path, op: dict[str, Any]) -> list[str]:
    base = [LABELER, "--workspace", str(ws), "--json"]
    kind, owner = op["kind"], op["owner"]
    force = ["--force"] if op["force"] else []
    if kind == "label":
        notes = f"notes of {op['token']}\nsecond line\twith a tab"
        return [
            *base,
            "label",
            "-f",
            str(op["feature"]),
            "-n",
            op["token"],
            "--notes",
            notes,
            "--source",
            f"src {op['token'][:12]}",
            "--owner",
            owner,
            *force,
        ]
    if kind == "skip":
        args = ["skip", "-f", str(op["feature"]), "--reason", op["token"], "--owner", owner]
        return [*base, *args, *force]
    if kind == "add":
        ids = ",".join(map(str, op["features"]))
        args = ["add", ids, "--priority", str(op["priority"]), "--reason", op["token"]]
        return [*base, *args, "--owner", owner]
    if kind == "clear":
        return [*base, "clear", "-f", str(op["feature"]), "--owner", owner, *force]
    if kind == "undo":
        return [*base, "undo", "--owner", owner, *(["--any"] if op["any"] else [])]
    if kind == "claim":
        return [*base, "next", "--claim", "--no-build", "--owner", owner, "--ttl", "30"]
    return [*base, "sync", "--owner", owner]


def ack_of(op: dict[str, Any], result: Any) -> dict[str, Any]:
    """What an acknowledged change must have left in the history."""
    return {"op": op, "result": result}


def api_apply(service: Any, op: dict[str, Any]) -> Any:
    """Run ``op`` through the Python API; returns a JSON result shaped like the CLI's."""
    from labeler_tui.core.records import LabelEdit

    kind, force = op["kind"], op["force"]
    if kind == "label":
        edit = LabelEdit(op["token"], None, f"notes of {op['token']}", source=op["token"][:12])
        return service.set_label(op["feature"], edit, force=force).to_json()
    if kind == "skip":
        return {"feature_id": service.skip(op["feature"], op["token"], force=force)}
    if kind == "add":
        return service.add(op["features"], priority=op["priority"], reason=op["token"]).to_json()
    if kind == "clear":
        removed = service.clear_label(op["feature"], force=force)
        return {
            "feature_id": op["feature"],
            "removed": None if removed is None else removed.to_json(),
        }
    if kind == "undo":
        events = service.undo(any_owner=op["any"])
        return dict(events[-1], undone_ids=[e["id"] for e in events]) if events else None
    if kind == "claim":
        entry = service.next(build=False, claim=True, ttl=30)
        if entry is None:
            return {"feature_id": None}
        return {"feature_id": entry.feature_id, "claim_expires": entry.claim_expires}
    return service.sync().to_json()


def api_worker(ws: Path, who: str, owner: str, seed: int, ack_path: Path, stop: Path) -> None:
    """Loop of API changes until ``stop`` exists; each acknowledged change is one JSON line."""
    from labeler_tui.core.errors import LabelerError
    from labeler_tui.core.service import LabelingService
    from labeler_tui.core.workspace import Workspace

    rng = random.Random(seed)
    service = LabelingService(Workspace.open(ws), owner=owner, source=f"api {who}")
    with ack_path.open("a", encoding="utf-8") as acks:
        seq = 0
        while not stop.exists():
            seq += 1
            op = random_op(rng, f"{who}.{seed}", seq, owner)
            try:
                result = api_apply(service, op)
            except LabelerError as exc:
                acks.write(json.dumps({"error": str(exc)}) + "\n")
            except Exception:
                acks.write(json.dumps({"crash": traceback.format_exc()}) + "\n")
            else:
                acks.write(json.dumps(ack_of(op, result)) + "\n")
            acks.flush()


# --- checking -----------------------------------------------------------------------------------
def history_events(ws: Path) -> list[dict[str, Any]]:
    from labeler_tui.core.stores.history import HistoryLog
    from labeler_tui.core.workspace import Workspace

    return HistoryLog(Workspace.open(ws).history_path()).read()


def missing_acks(events: list[dict[str, Any]], acks: list[dict[str, Any]]) -> list[str]:
    """Acknowledged changes whose history event is missing."""
    ids = {e.get("id") for e in events}
    by_key: dict[tuple[Any, ...], int] = {}
    for e in events:
        a, fid, after = e.get("action"), e.get("feature_id"), e.get("after")
        if a == "label" and isinstance(after, dict):
            by_key[("label", fid, after.get("dashboard_name"))] = 1
        elif a == "skip" and isinstance(after, dict):
            by_key[("skip", fid, after.get("reason"))] = 1
        elif a == "add" and isinstance(after, dict):
            by_key[("add", fid, (after.get("entry") or {}).get("reason"))] = 1
        elif a == "claim" and isinstance(after, dict):
            by_key[("claim", fid, e.get("owner"), (after.get("claim") or {}).get("expires"))] = 1
        elif a == "clear":
            by_key[("clear", fid, json.dumps(e.get("before"), sort_keys=True))] = 1
    lost = []
    for ack in acks:
        op, result = ack["op"], ack["result"]
        kind = op["kind"]
        keys: list[tuple[Any, ...]] = []
        if kind == "label":
            keys = [("label", op["feature"], op["token"])]
        elif kind == "skip":
            keys = [("skip", result["feature_id"], op["token"])]
        elif kind == "add":
            keys = [("add", fid, op["token"]) for fid in result.get("added", [])]
        elif kind == "claim" and result.get("feature_id") is not None:
            keys = [("claim", result["feature_id"], op["owner"], result.get("claim_expires"))]
        elif kind == "clear" and result.get("removed") is not None:
            keys = [("clear", op["feature"], json.dumps(result["removed"], sort_keys=True))]
        elif kind == "undo" and result is not None:
            undone = result.get("undone_ids") or [result.get("id")]
            lost += [f"undo event {i}" for i in undone if i not in ids]
        lost += [f"{kind} {k[1:3]}" for k in keys if k not in by_key]
    return lost


def _queue_state(state: Any) -> Any:
    if isinstance(state, dict):
        return {k: v for k, v in state.items() if k != "claim"}
    return state


def half_applied(ws: Path, events: list[dict[str, Any]]) -> list[str]:
    """Features whose stores differ from the replay of the history (the stores started empty)."""
    from labeler_tui.core.stores.jsonfile import JsonCache
    from labeler_tui.core.stores.transaction import read_queue
    from labeler_tui.core.workspace import Workspace

    labels: dict[int, Any] = {}
    dash: dict[int, Any] = {}
    queue: dict[int, Any] = {}
    research: dict[int, Any] = {}
    for e in events:
        fid, action = e["feature_id"], e["action"]
        kind = e.get("undone_action") if action == "undo" else action
        if kind in ("label", "clear", "sync"):
            labels[fid] = e["after"]
        elif kind in ("add", "skip", "complete", "claim", "release"):
            queue[fid] = e["after"]
        if "dashboard_after" in e:
            dash[fid] = e["dashboard_after"]
        if "queue_after" in e:
            queue[fid] = e["queue_after"]
        if "research_after" in e:
            research[fid] = e["research_after"]
    w = Workspace.open(ws)
    stored = json.loads(w.labels_path().read_text()) if w.labels_path().exists() else {}
    stored_dash = json.loads(w.dashboard_path().read_text()) if w.dashboard_path().exists() else {}
    doc = read_queue(JsonCache(), MODEL, w.queue_path())
    bad = []
    for fid in range(N_FEATURES):
        key = str(fid)
        if stored.get(key) != labels.get(fid):
            bad.append(f"feature {fid}: label store differs from its history")
        if stored_dash.get(key) != dash.get(fid):
            bad.append(f"feature {fid}: dashboard differs from its history")
        if _queue_state(doc.feature_state(fid)) != _queue_state(queue.get(fid)):
            bad.append(f"feature {fid}: queue differs from its history")
        state = w.state_dir() / f"feature_{fid}_{MODEL}.json"
        if (
            state.exists()
            and fid in research
            and json.loads(state.read_text()).get("feature_label") != research[fid]
        ):
            bad.append(f"feature {fid}: research state differs from its history")
    journal = w.lock_path.with_name(".labeler.journal")
    if journal.exists():
        bad.append("a journal is left after recovery")
    return bad


def settle(ws: Path) -> None:
    """What the next command does first: roll back a change a killed writer left."""
    subprocess.run([LABELER, "--workspace", str(ws), "status"], capture_output=True, check=False)


# --- figures ------------------------------------------------------------------------------------
@dataclass
class Figures:
    name: str
    attempted: int = 0
    acknowledged: int = 0
    lost: int = 0
    half_applied: int = 0
    crashed: int = 0
    clear_errors: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    """Clear error messages, by their gist (a path and a number stripped)."""

    def error(self, err: str) -> None:
        self.clear_errors += 1
        last = [line for line in err.splitlines() if line.strip()][-1]
        gist = re.sub(r"/\S+/", ".../", re.sub(r"\d+", "N", last))[:110]
        self.errors[gist] = self.errors.get(gist, 0) + 1

    def crash(self, what: str) -> None:
        self.crashed += 1
        self.problems.append(what[-600:])


def is_clear_error(code: int, err: str) -> bool:
    lines = [line for line in err.splitlines() if line.strip()]
    return code in (1, 2) and bool(lines) and lines[-1].startswith("labeler: error: ")


def run_cli(argv: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str, str]:
    proc = subprocess.run(argv, capture_output=True, env=env, timeout=timeout, check=False)
    return (
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def child_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LABELER_WORKSPACE", None)
    env["XDG_DATA_HOME"] = str(workdir / "xdg-data")
    env["XDG_STATE_HOME"] = str(workdir / "xdg-state")
    return env


# --- scenario: concurrent writers and SIGKILLs ---------------------------------------------------
def scenario_kills(workdir: Path, kills: int, cli_writers: int, api_writers: int) -> Figures:
    fig = Figures("kills: concurrent CLI + API writers, random SIGKILL")
    ws = make_workspace(workdir / "kills")
    env = child_env(workdir)
    stop = workdir / "kills.stop"
    stop.unlink(missing_ok=True)
    live: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
    live_lock = threading.Lock()
    acks: list[dict[str, Any]] = []
    killed = {"n": 0, "mid_commit": 0}
    journal = ws / "labels" / ".labeler.journal"
    done = threading.Event()

    def cli_loop(index: int) -> None:
        rng = random.Random(1000 + index)
        seq = 0
        while not done.is_set():
            seq += 1
            op = random_op(rng, f"cli{index}", seq, rng.choice(OWNERS))
            proc = subprocess.Popen(
                cli_argv(ws, op), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
            )
            with live_lock:
                live[proc.pid] = (proc, time.monotonic())
            try:
                out, err = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                fig.crash(f"hung: {op}")
            with live_lock:
                live.pop(proc.pid, None)
            fig.attempted += 1
            text = err.decode("utf-8", "replace")
            if proc.returncode == -signal.SIGKILL:
                continue
            if "Traceback" in text:
                fig.crash(text)
            elif proc.returncode == 0:
                fig.acknowledged += 1
                result = json.loads(out)
                if op["kind"] == "undo" and result is not None:
                    result = {"id": result["id"]}
                acks.append(ack_of(op, result))
            elif is_clear_error(proc.returncode, text):
                fig.error(text)
            else:
                fig.crash(f"exit {proc.returncode}: {text}")

    def api_loop(index: int) -> None:
        ack_path = workdir / f"kills-api-{index}.jsonl"
        generation = 0
        while not done.is_set():
            generation += 1
            argv = [
                sys.executable,
                __file__,
                "api-worker",
                str(ws),
                f"api{index}",
                OWNERS[index % len(OWNERS)],
                str(index * 100_000 + generation),
                str(ack_path),
                str(stop),
            ]
            proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE)
            with live_lock:
                live[proc.pid] = (proc, time.monotonic())
            _, err = proc.communicate()
            with live_lock:
                live.pop(proc.pid, None)
            if proc.returncode not in (0, -signal.SIGKILL):
                fig.crash(f"api worker exit {proc.returncode}: {err.decode()[-400:]}")

    threads = [threading.Thread(target=cli_loop, args=(i,)) for i in range(cli_writers)]
    threads += [threading.Thread(target=api_loop, args=(i,)) for i in range(api_writers)]
    for thread in threads:
        thread.start()
    rng = random.Random(7)
    started = time.monotonic()
    time.sleep(3)  # the API workers import and open the data
    while killed["n"] < kills:
        time.sleep(rng.uniform(0.2, 1.0))
        now = time.monotonic()
        with live_lock:
            procs = list(live.values())
        settled = [p for p, since in procs if now - since > 1.5]  # past its start-up
        if not procs:
            continue
        proc = rng.choice(settled if settled and rng.random() < 0.8 else [p for p, _ in procs])
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
                killed["n"] += 1
                if journal.exists():
                    killed["mid_commit"] += 1
    done.set()
    stop.write_text("stop")
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    settle(ws)
    for index in range(api_writers):
        ack_file = workdir / f"kills-api-{index}.jsonl"
        for line in (ack_file.read_text() if ack_file.exists() else "").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # cut short by a kill: never acknowledged
            fig.attempted += 1
            if "crash" in entry:
                fig.crash(entry["crash"])
            elif "error" in entry:
                fig.error("labeler: error: " + entry["error"])
            else:
                fig.acknowledged += 1
                acks.append(entry)
    events = history_events(ws)
    lost = missing_acks(events, acks)
    bad = half_applied(ws, events)
    fig.lost, fig.half_applied = len(lost), len(bad)
    fig.problems += lost[:10] + bad[:10]
    fig.notes.append(
        f"{killed['n']} SIGKILLs ({killed['mid_commit']} with a commit in progress), "
        f"{len(events)} history events, {elapsed:.0f} s"
    )
    return fig


# --- scenarios: disk full and read-only -----------------------------------------------------------
def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def _sequential(
    fig: Figures,
    ws: Path,
    env: dict[str, str],
    ops: int,
    before_each: Any,
    after_each: Any,
) -> None:
    """Run ``ops`` random changes one at a time; a failed one must have changed nothing."""
    rng = random.Random(11)
    acks: list[dict[str, Any]] = []
    for seq in range(ops):
        op = random_op(rng, "seq", seq, rng.choice(OWNERS))
        op["force"] = True
        before = snapshot(ws)
        before_each(rng)
        try:
            code, out, err = run_cli(cli_argv(ws, op), env)
        finally:
            after_each()
        fig.attempted += 1
        if "Traceback" in err:
            fig.crash(err)
        elif code == 0:
            fig.acknowledged += 1
            result = json.loads(out)
            if op["kind"] == "undo" and result is not None:
                result = {"id": result["id"]}
            acks.append(ack_of(op, result))
        elif is_clear_error(code, err):
            fig.error(err)
            if snapshot(ws) != before:
                fig.half_applied += 1
                fig.problems.append(f"changed after a failure: {op['kind']}: {err.strip()}")
        else:
            fig.crash(f"exit {code}: {err}")
    settle(ws)
    events = history_events(ws)
    lost = missing_acks(events, acks)
    bad = half_applied(ws, events)
    fig.lost += len(lost)
    fig.half_applied += len(bad)
    fig.problems += lost[:10] + bad[:10]


def scenario_disk_full(workdir: Path, ops: int) -> Figures:
    fig = Figures("disk-full: stores on a small tmpfs, random free space")
    mount = workdir / "full-mnt"
    if not _mount_tmpfs(mount, "24m"):
        fig.notes.append("skipped: needs root to mount a tmpfs")
        return fig
    try:
        ws = make_workspace(workdir / "full", stores=mount)
        env = child_env(workdir)
        from labeler_tui.core.records import LabelEdit
        from labeler_tui.core.service import LabelingService
        from labeler_tui.core.workspace import Workspace

        service = LabelingService(Workspace.open(ws))
        long_notes = "x" * 4_000  # ~200 kB of labels and of dashboard: writes of several sizes
        for f in range(N_FEATURES):
            service.set_label(f, LabelEdit(f"seed {f}", None, long_notes))
        filler = mount / "filler"
        full_count = {"n": 0}

        def fill(rng: random.Random) -> None:
            filler.unlink(missing_ok=True)
            free = shutil.disk_usage(mount).free
            leave = free if rng.random() < 0.2 else rng.randint(0, 400_000)
            with contextlib.suppress(OSError), filler.open("wb") as handle:
                handle.write(b"\0" * max(0, free - leave))
            if leave < 400_000:
                full_count["n"] += 1

        def free_up() -> None:
            filler.unlink(missing_ok=True)

        # the replay starts from the seeded labels: count their events in too
        _sequential(fig, ws, env, ops, fill, free_up)
        fig.notes.append(f"{full_count['n']} changes run with under 400 kB free")
    finally:
        _umount(mount)
    return fig


def scenario_read_only(workdir: Path, ops: int) -> Figures:
    fig = Figures("read-only: a store file or folder (or the whole tmpfs) read-only")
    mount = workdir / "ro-mnt"
    mounted = _mount_tmpfs(mount, "64m")
    ws = make_workspace(workdir / "ro", stores=mount if mounted else None)
    env = child_env(workdir)
    root = mount if mounted else ws
    restore: list[tuple[Path, int]] = []
    remounted = {"on": False}

    def lock_down(rng: random.Random) -> None:
        choice = rng.randrange(9)
        if choice == 8 and mounted:
            subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
            remounted["on"] = True
            return
        targets = [p for p in store_files(ws) if p.exists()]
        targets += [root / "labels", root / "dashboard", root / "state" / MODEL]
        if choice < 6 and targets:
            path = rng.choice(targets)
            restore.append((path, path.stat().st_mode))
            path.chmod(0o555 if path.is_dir() else 0o444)

    def unlock() -> None:
        if remounted["on"]:
            subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
            remounted["on"] = False
        while restore:
            path, mode = restore.pop()
            path.chmod(mode)

    try:
        _sequential(fig, ws, env, ops, lock_down, unlock)
    finally:
        unlock()
        if mounted:
            _umount(mount)
    fig.notes.append("tmpfs remounted read-only too" if mounted else "no tmpfs (not root)")
    return fig


# --- scenario: hostile strings ----------------------------------------------------------------------
def _on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdout on a pseudo-terminal (what rich sees as a real terminal)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        argv, stdout=slave, stderr=subprocess.PIPE, env={**env, "COLUMNS": "200"}
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    return proc.wait(), b"".join(chunks).decode("utf-8", "replace"), err


_SGR = re.compile(r"\x1b\[[0-9;]*m")
_RICH_CONTROL = re.compile(r"\x1b\[\?25[lh]|\x1b\[2K|\x1b\[1A|\x1b\[\d*G")


def leaked(out: str) -> list[str]:
    """Raw hostile payloads, or control characters other than rich's own styling codes."""
    from labeler_tui.core.sanitize import visible

    found = [p for p in RAW_PAYLOADS if p in out]
    rest = _RICH_CONTROL.sub("", _SGR.sub("", out)).replace("\r\n", "\n")
    found += sorted({repr(c) for c in rest if visible(c) != c})
    return found


def scenario_hostile(workdir: Path) -> Figures:
    fig = Figures("hostile strings: CLI piped + terminal, app, round trips")
    ws = make_workspace(workdir / "hostile")
    env = child_env(workdir)
    rng = random.Random(5)
    stored: dict[int, str] = {}
    for seq in range(16):
        fid = seq % N_FEATURES
        name = f"h{seq} " + " ".join(rng.sample(HOSTILE, 3))
        owner = rng.choice(OWNERS)
        argv = [LABELER, "--workspace", str(ws), "label", "-f", str(fid), "-n", name]
        argv += ["--notes", " ".join(HOSTILE), "--owner", owner, "--source", rng.choice(HOSTILE)]
        code, _, err = run_cli(argv, env)
        fig.attempted += 1
        if code != 0:
            fig.crash(err)
        stored[fid] = name
        run_cli([LABELER, "--workspace", str(ws), "add", str(fid + 20), "--reason", name], env)
    run_cli([LABELER, "--workspace", str(ws), "next", "--claim", "--owner", "[/oops]"], env)
    run_cli([LABELER, "--workspace", str(ws), "skip", "--reason", HOSTILE[0]], env)
    displays = [
        ["status"],
        ["history"],
        ["history", "-f", "3"],
        ["next", "--no-build"],
        ["next", "--no-build", "--owner", "[/oops]"],
        ["overview", "-f", "3"],
        ["similar", "-f", "2", "-k", "20"],
        ["similar", "-f", "2", "-k", "20", "--method", "tokens"],
        ["examples", "-f", "3", "-k", "5"],
        ["coverage", "-f", "3", "--token", "[/]tok"],
        ["sync"],
        ["undo", "--any"],
    ]
    for command in displays:
        argv = [LABELER, "--workspace", str(ws), *command]
        for mode in ("piped", "terminal"):
            fig.attempted += 1
            if mode == "piped":
                code, out, err = run_cli(argv, env)
            else:
                code, out, err = _on_a_terminal(argv, env)
            if "Traceback" in err or code != 0:
                fig.crash(f"{command} ({mode}): exit {code}: {err[-400:]}")
                continue
            bad = leaked(out)
            if bad:
                fig.crash(f"{command} ({mode}) shows raw control text: {bad}")
    # round trips: JSON output, history, export
    code, out, _ = run_cli([LABELER, "--workspace", str(ws), "--json", "history"], env)
    events = json.loads(out)
    names = {
        e["feature_id"]: e["after"]["dashboard_name"] for e in events if e["action"] == "label"
    }
    for fmt in ("json", "jsonl", "csv"):
        target = workdir / f"hostile-export.{fmt}"
        target.unlink(missing_ok=True)
        run_cli([LABELER, "--workspace", str(ws), "export", "-o", str(target)], env)
        text = target.read_text(encoding="utf-8")
        if fmt == "csv":
            import csv

            with target.open(newline="", encoding="utf-8") as handle:
                rows = {int(r["feature_id"]): r["display_name"] for r in csv.DictReader(handle)}
        else:
            records = (
                json.loads(text) if fmt == "json" else [json.loads(x) for x in text.splitlines()]
            )
            rows = {r["feature_id"]: r["dashboard_name"] for r in records}
        for fid, name in stored.items():
            fig.attempted += 1
            if rows.get(fid) != name or names.get(fid) != name:
                fig.crash(
                    f"round trip of feature {fid} through {fmt}: {rows.get(fid)!r} != {name!r}"
                )
    app_problems = asyncio.run(_app_check(ws))
    fig.attempted += 1
    for problem in app_problems:
        fig.crash(problem)
    fig.notes.append(f"{len(displays) * 2} displays, 3 export formats, the app on the workspace")
    return fig


async def _app_check(ws: Path, expect_error: bool = False) -> list[str]:
    """Run the app headless on ``ws``: it must keep running, show no raw control text, and (with
    ``expect_error``) say the store's error."""
    from rich.console import Console

    from labeler_tui.app.app import LabelerApp
    from labeler_tui.core.workspace import Workspace

    problems: list[str] = []
    app = LabelerApp(Workspace.open(ws))
    try:
        async with app.run_test(size=(150, 40)) as pilot:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                await pilot.pause(0.2)
                wb = app.workbench
                if wb.error is not None:
                    break
                if wb.data_ready and wb.snapshot is not None and wb.current is not None:
                    break
            for key in ("n", "n", "j", "k"):
                await pilot.press(key)
                await pilot.pause(0.3)
            console = Console(file=io.StringIO(), record=True, width=150, force_terminal=True)
            console.print(app.screen._compositor.render_update(full=True))
            shown = console.export_text(styles=False)
            bad = leaked(shown)
            if bad:
                problems.append(f"the app shows raw control text: {bad}")
            if expect_error and app.workbench.error is None:
                problems.append("the app did not report the broken store")
            if not app.is_running:
                problems.append("the app stopped")
    except Exception:
        problems.append("the app crashed: " + traceback.format_exc()[-800:])
    return problems


# --- scenario: malformed stores -------------------------------------------------------------------
def _malformed(ws: Path) -> dict[str, Any]:
    """name -> a function breaking one store of ``ws`` (it has labels, a queue and a history)."""
    labels = ws / "labels" / f"consolidated_{MODEL}.json"
    queue = ws / "labels" / f"queue_{MODEL}.json"
    history = ws / "labels" / f"history_{MODEL}.jsonl"
    dashboard = ws / "dashboard" / f"feature_labels_{MODEL}.json"
    state = ws / "state" / MODEL / f"feature_1_{MODEL}.json"

    def edit(path: Path, change: Any) -> Any:
        def apply() -> None:
            doc = json.loads(path.read_text())
            change(doc)
            path.write_text(json.dumps(doc, indent=2))

        return apply

    def raw(path: Path, text: str | bytes) -> Any:
        def apply() -> None:
            path.write_bytes(text if isinstance(text, bytes) else text.encode())

        return apply

    def last_event(change: Any) -> Any:
        def apply() -> None:
            lines = history.read_text().splitlines()
            event = json.loads(lines[-1])
            change(event)
            lines[-1] = json.dumps(event)
            history.write_text("\n".join(lines) + "\n")

        return apply

    def duplicate_record() -> None:
        text = labels.read_text().rstrip()
        record = json.loads(text)["1"]
        labels.write_text(text[:-1] + ', "1": ' + json.dumps(record) + "}\n")

    return {
        "label: confidence 'high'": edit(
            labels, lambda d: d["1"].update(interpretability_confidence="high")
        ),
        "label: key '²'": edit(labels, lambda d: d.update({"²": {"dashboard_name": "x"}})),
        "label: record is a list": edit(labels, lambda d: d.update({"2": [1, 2]})),
        "label: score 7": edit(labels, lambda d: d["1"].update(stability_score=7)),
        "label: name is a number": edit(labels, lambda d: d["1"].update(dashboard_name=5)),
        "label: repeated record key": duplicate_record,
        "label: cut short": raw(labels, labels.read_text()[:-40]),
        "label: not UTF-8": raw(labels, b'{"1": {"dashboard_name": "\xff"}}'),
        "label: nested 100000 deep": raw(labels, "[" * 100_000 + "]" * 100_000),
        "label: root is a list": raw(labels, "[]"),
        "queue: entry -3": edit(
            queue, lambda d: d["entries"].insert(0, {**d["entries"][0], "feature_id": -3})
        ),
        "queue: entry beyond the model": edit(
            queue,
            lambda d: d["entries"].insert(
                0, {**d["entries"][0], "feature_id": 99_999, "priority": 1.0}
            ),
        ),
        "queue: priority 'high'": edit(queue, lambda d: d["entries"][0].update(priority="high")),
        "queue: entries is an object": edit(queue, lambda d: d.update(entries={})),
        "queue: claim owner 5": edit(
            queue, lambda d: d.update(claims={str(d["entries"][0]["feature_id"]): {"owner": 5}})
        ),
        "queue: claims key 'x'": edit(queue, lambda d: d.update(claims={"x": {"owner": "a"}})),
        "queue: repeated key": raw(queue, '{"entries": [], "entries": [], "completed": []}'),
        "dashboard: name is a list": edit(dashboard, lambda d: d["1"].update(name=["x"])),
        "dashboard: entry is a string": edit(dashboard, lambda d: d.update({"1": "x"})),
        "research: hypotheses 5": raw(state, json.dumps({"feature_label": "x", "hypotheses": 5})),
        "research: confidence 9": raw(
            state, json.dumps({"feature_label": "x", "hypotheses": [{"confidence": 9}]})
        ),
        "history: before is a string": last_event(lambda e: e.update(before="a string")),
        "history: after confidence 'high'": last_event(
            lambda e: e.update(after={"interpretability_confidence": "high"})
        ),
        "history: feature id -1": last_event(lambda e: e.update(feature_id=-1)),
        "history: queue state unknown": last_event(
            lambda e: e.update(queue_before={"status": "lost"})
        ),
        "history: garbage line": raw(history, history.read_text() + "not json\n{}\n"),
        "history: not UTF-8": raw(history, history.read_bytes() + b'{"id": "\xff"}\n'),
    }


MALFORMED_COMMANDS = [
    ["status"],
    ["next", "--no-build"],
    ["next", "--claim", "--no-build"],
    ["label", "-f", "1", "-n", "again"],
    ["label", "-f", "7", "-n", "other"],
    ["skip", "-f", "5", "--reason", "r"],
    ["add", "9"],
    ["clear", "-f", "1"],
    ["undo"],
    ["undo", "--any"],
    ["history"],
    ["sync"],
    ["overview", "-f", "1"],
    ["similar", "-f", "2"],
]


def scenario_malformed(workdir: Path, with_app: bool) -> Figures:
    fig = Figures("malformed stores: every command, and the app")
    ws = make_workspace(workdir / "malformed")
    from labeler_tui.cli.main import main as cli_main

    for argv in (
        ["label", "-f", "1", "-n", "one"],
        ["add", "3,4,5", "--reason", "r"],
        ["label", "-f", "2", "-n", "two"],
    ):
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli_main(["--workspace", str(ws), *argv]) == 0
    clean = {p: p.read_bytes() for p in store_files(ws)}
    cases = _malformed(ws)
    for name, breaks in cases.items():
        for path, data in clean.items():
            path.write_bytes(data)
        breaks()
        broken = snapshot(ws)
        for command in MALFORMED_COMMANDS:
            fig.attempted += 1
            out, err = io.StringIO(), io.StringIO()
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    code = cli_main(["--workspace", str(ws), *command])
            except SystemExit as exc:
                code = int(exc.code or 0)
            except Exception:
                fig.crash(f"{name}: {command}: {traceback.format_exc()[-600:]}")
                continue
            text = err.getvalue()
            if code != 0:
                if is_clear_error(code, text):
                    fig.error(text)
                else:
                    fig.crash(f"{name}: {command}: exit {code}: {text[-300:]}")
                if snapshot(ws) != broken:
                    fig.half_applied += 1
                    fig.problems.append(f"{name}: {command} failed but changed a file")
            for path, data in broken.items():  # a command that worked may have written
                if data is not None:
                    Path(path).write_bytes(data)
        if with_app and not name.startswith("history"):
            fig.attempted += 1
            for problem in asyncio.run(_app_check(ws)):
                fig.crash(f"{name}: {problem}")
            for path, data in broken.items():  # the app claims the feature it shows
                if data is not None:
                    Path(path).write_bytes(data)
    fig.notes.append(f"{len(cases)} broken stores x {len(MALFORMED_COMMANDS)} commands")
    return fig


def scenario_export(workdir: Path) -> Figures:
    fig = Figures("export onto a store (and symlinks into the stores)")
    ws = make_workspace(workdir / "export")
    env = child_env(workdir)
    run_cli([LABELER, "--workspace", str(ws), "label", "-f", "1", "-n", "keep me"], env)
    run_cli([LABELER, "--workspace", str(ws), "add", "3"], env)
    link = workdir / "innocent-looking.json"
    link.unlink(missing_ok=True)
    link.symlink_to(ws / "labels" / f"consolidated_{MODEL}.json")
    targets = [*(p for p in store_files(ws) if p.exists()), link, ws / "labeler.toml"]
    targets += [
        ws / "labels" / "new.json",
        ws / ".labeler-cache" / "x.csv",
        ws / "data" / "vocab.json",
    ]
    before = snapshot(ws)
    for target in targets:
        fig.attempted += 1
        code, _, err = run_cli(
            [LABELER, "--workspace", str(ws), "export", "-o", str(target), "--force"], env
        )
        if "Traceback" in err:
            fig.crash(err)
        elif code == 0:
            fig.half_applied += 1
            fig.problems.append(f"export onto {target} was accepted")
        elif is_clear_error(code, err):
            fig.error(err)
    if snapshot(ws) != before:
        fig.half_applied += 1
        fig.problems.append("a store changed")
    return fig


# --- main -----------------------------------------------------------------------------------------
def print_table(figures: list[Figures]) -> None:
    print(
        "| scenario | operations attempted | acknowledged | lost | half-applied | crashed | clear errors | notes |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for f in figures:
        notes = "; ".join(f.notes)
        print(
            f"| {f.name} | {f.attempted} | {f.acknowledged} | {f.lost} | {f.half_applied} | "
            f"{f.crashed} | {f.clear_errors} | {notes} |"
        )
    for f in figures:
        for problem in f.problems[:10]:
            print(f"  {f.name}: {problem!r}", file=sys.stderr)
    print("\nclear errors, by message:")
    for f in figures:
        for gist, count in sorted(f.errors.items(), key=lambda item: -item[1])[:8]:
            print(f"  {f.name.split(':')[0]}: {count} x {gist!r}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "api-worker":
        ws, who, owner, seed, ack, stop = sys.argv[2:8]
        api_worker(Path(ws), who, owner, int(seed), Path(ack), Path(stop))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/_work/torture"))
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--cli-writers", type=int, default=3)
    parser.add_argument("--api-writers", type=int, default=3)
    parser.add_argument("--sequential-ops", type=int, default=150, help="disk-full and read-only")
    parser.add_argument("--no-app", action="store_true", help="skip the app in the malformed run")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        choices=["kills", "disk-full", "read-only", "hostile", "malformed", "export"],
    )
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    os.environ["XDG_DATA_HOME"] = str(workdir / "xdg-data")
    os.environ["XDG_STATE_HOME"] = str(workdir / "xdg-state")
    os.environ.pop("LABELER_WORKSPACE", None)
    wanted = set(args.only or ["kills", "disk-full", "read-only", "hostile", "malformed", "export"])
    figures = []
    started = time.monotonic()
    if "export" in wanted:
        figures.append(scenario_export(workdir))
    if "hostile" in wanted:
        figures.append(scenario_hostile(workdir))
    if "malformed" in wanted:
        figures.append(scenario_malformed(workdir, with_app=not args.no_app))
    if "read-only" in wanted:
        figures.append(scenario_read_only(workdir, args.sequential_ops))
    if "disk-full" in wanted:
        figures.append(scenario_disk_full(workdir, args.sequential_ops))
    if "kills" in wanted:
        figures.append(scenario_kills(workdir, args.kills, args.cli_writers, args.api_writers))
    print_table(figures)
    print(f"\n{time.monotonic() - started:.0f} s in all")
    failed = any(f.lost or f.half_applied or f.crashed for f in figures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
