"""The demo workspace: deterministic Splatoon-3-like data with known planted structure.

It is the embedded default (created in the user's data dir when no workspace is configured:
:func:`demo_config` is the fallback the CLI, the app and the Python API give the workspace
discovery) and the ground truth the analysis tests recover: see ``truth.json`` in a written demo.
The generator (polars, numpy) is imported only when a demo is written.
"""

from __future__ import annotations

from typing import Any

from labeler_tui.demo.location import demo_config, demo_workspace_dir

__all__ = ["MIN_SCALE", "TRUTH_NAME", "demo_config", "demo_workspace_dir", "write_demo"]

_LAZY = ("MIN_SCALE", "TRUTH_NAME", "write_demo")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from labeler_tui.demo import writer

        return getattr(writer, name)
    raise AttributeError(f"module 'labeler_tui.demo' has no attribute {name!r}")
