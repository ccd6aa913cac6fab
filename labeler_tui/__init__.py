"""labeler-tui: a terminal workbench, CLI and Python API for labeling SAE features.

``from labeler_tui import load_context`` is resolved lazily so that importing the package (as
the CLI does) does not pull in polars.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_context"]


def __getattr__(name: str) -> Any:
    if name == "load_context":
        from labeler_tui.api.context import load_context

        return load_context
    raise AttributeError(f"module 'labeler_tui' has no attribute {name!r}")
