"""The workspace lock: one ``fcntl.flock`` on ``Workspace.lock_path`` serialises every write.

The lock is re-entrant within a thread (a service call that needs the lock may call another that
takes it too) and exclusive across threads and processes: every acquisition opens its own file
description, and flock locks of different descriptions conflict even inside one process.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labeler_tui.core.errors import StoreError

DEFAULT_TIMEOUT = 30.0
_POLL_SECONDS = 0.005

_held = threading.local()


def _depths() -> dict[str, int]:
    if not hasattr(_held, "depths"):
        _held.depths = {}
    return _held.depths


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return ""
    return f" (held by process {text})" if text.isdigit() else ""


@contextmanager
def workspace_lock(path: Path, timeout: float = DEFAULT_TIMEOUT) -> Iterator[None]:
    """Hold the exclusive lock on ``path`` (created if needed) for the ``with`` block.

    Waits up to ``timeout`` seconds, then raises a StoreError naming the lock file.
    """
    key = str(path)
    depths = _depths()
    if depths.get(key, 0) > 0:
        depths[key] += 1
        try:
            yield
        finally:
            depths[key] -= 1
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the workspace lock: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"{path}: the workspace is locked by another writer{_holder(path)}; "
                        f"gave up after {timeout:g} s"
                    ) from None
                time.sleep(_POLL_SECONDS)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the pid is only a hint for the timeout message
        depths[key] = 1
        try:
            yield
        finally:
            depths[key] = 0
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
