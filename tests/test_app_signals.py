"""A real ``labeler-tui`` process in a pseudo-terminal: a hang-up (the SSH session closed) or a
plain ``kill`` quits it as ``q`` does, so the feature it claimed is given back at once."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace

pty = pytest.importorskip("pty")
fcntl = pytest.importorskip("fcntl")
termios = pytest.importorskip("termios")

START = "from labeler_tui.app.main import main; main()"


def claimed(ws: Path) -> list[int]:
    path = ws / "labels" / "queue_tiny.json"
    claims = json.loads(path.read_text()).get("claims", {}) if path.exists() else {}
    return sorted(int(k) for k in claims)


def start_app(ws: Path) -> tuple[int, int]:
    """(pid, terminal fd) of the app on ``ws`` in an 80x24 pseudo-terminal; its output is
    drained on a thread so it never blocks on a full terminal."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the app
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-c", START, "--workspace", str(ws)])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, bytes([24, 0, 80, 0, 0, 0, 0, 0]))

    def drain() -> None:
        while True:
            try:
                if not os.read(fd, 65536):
                    return
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    return pid, fd


def wait_exit(pid: int, timeout: float = 15.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("the app did not exit")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and terminals")
@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_hangup_or_kill_gives_the_claimed_feature_back(tiny_workspace: Path, signum) -> None:
    ws = tiny_workspace
    LabelingService(Workspace.open(ws), owner="other", source="cli").add([3, 5], priority=0.9)
    pid, fd = start_app(ws)
    try:
        deadline = time.monotonic() + 30
        while claimed(ws) != [3]:  # enter opens the top entry and claims it at once
            assert time.monotonic() < deadline, "the app never claimed a feature"
            os.write(fd, b"\r")
            time.sleep(0.3)
        os.kill(pid, signum)
        assert wait_exit(pid) == 128 + signum
    finally:
        os.close(fd)
    assert claimed(ws) == []
