"""Results as JSON text: one encoder for the CLI's ``--json`` and the MCP server's tool results."""

from __future__ import annotations

import json
from typing import Any


def json_default(value: Any) -> Any:
    """NumPy scalars and arrays as plain numbers and lists, paths as strings."""
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json_text(value: Any) -> str:
    """The JSON document of a result, as ``--json`` prints it (indented, keys in order)."""
    return json.dumps(value, indent=2, sort_keys=False, default=json_default)
