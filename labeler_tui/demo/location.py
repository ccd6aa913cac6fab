"""Where the built-in demo workspace lives, and the discovery fallback that creates it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_data_dir

from labeler_tui.core.config import CONFIG_NAME
from labeler_tui.core.stores.lock import workspace_lock

if TYPE_CHECKING:
    from labeler_tui.core.data import ProgressCallback

DEMO_LOCK_TIMEOUT = 300.0
"""Seconds a process waits for another one writing the demo workspace."""


def demo_workspace_dir() -> Path:
    """Where the built-in demo workspace lives (honours XDG_DATA_HOME)."""
    return Path(user_data_dir("labeler-tui", appauthor=False)) / "demo"


def demo_config(progress: ProgressCallback | None = None) -> Path:
    """The demo workspace's labeler.toml, writing the demo first on first use (the fallback the
    CLI, the app and the Python API give the workspace discovery).

    Agents started together on a fresh machine: one writes the demo, the others wait for it (a
    second writer would swap the data files under the first one's index build)."""
    from labeler_tui.demo import writer  # the generator (polars, numpy): only when needed

    demo = demo_workspace_dir()
    if not (demo / CONFIG_NAME).is_file():
        with workspace_lock(demo.parent / ".demo.lock", timeout=DEMO_LOCK_TIMEOUT):
            if not (demo / CONFIG_NAME).is_file():
                writer.write_demo(demo, progress=progress)
    return demo / CONFIG_NAME
