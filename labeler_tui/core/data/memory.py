"""The index build's memory budget: its size, how it is written, and what it leaves for data.

The budget bounds the build's peak resident memory (anonymous and file-backed). A fixed part
goes to the interpreter and libraries, each thread's read and sort buffers and the per-feature
tables; the rest holds one feature range's nonzeros (8 bytes each) while they are gathered and
sorted. The data never needs more than that: a larger input is cut into more ranges (each one
more read of the input files), never into a larger working set.
"""

from __future__ import annotations

import os
import re

MIB = 1 << 20
GIB = 1 << 30
MIN_BUDGET = GIB
MAX_BUDGET = 1 << 40
DEFAULT_SHARE = 0.25
"""Default: a quarter of the machine's memory (within 1 GiB .. 16 GiB)."""
DEFAULT_CAP = 16 * GIB

FIXED_BYTES = 320 * MIB
"""Interpreter, numpy, polars and the per-feature tables of a 24,576-feature model."""
THREAD_BYTES = 160 * MIB
"""Per thread: one unit of input being read and scattered (1M rows), one sorted chunk."""
BYTES_PER_NONZERO = 8
"""A gathered nonzero: inverted activation bits and example row in one uint64."""

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": MIB, "g": GIB, "t": 1 << 40}


def parse_size(text: str | int | float) -> int:
    """Bytes of a size: a number of bytes, or ``512M``, ``6G``, ``6GB``, ``6GiB``, ``1.5T``
    (powers of 1024). ValueError when it is not one."""
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r}")
    if isinstance(text, int | float):
        return int(text)
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (e.g. 4G, 512M, 6GiB)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_size(n: int) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", GIB), ("MiB", MIB)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


def check_budget(n: int, what: str) -> int:
    """``n`` if it is a budget in range, else ValueError naming ``what``."""
    if not MIN_BUDGET <= n <= MAX_BUDGET:
        raise ValueError(
            f"{what}: {format_size(n)} is out of range ({format_size(MIN_BUDGET)} .. "
            f"{format_size(MAX_BUDGET)})"
        )
    return n


def physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def default_budget() -> int:
    """A quarter of the physical memory, at least 1 GiB and at most 16 GiB."""
    total = physical_memory()
    if total is None:
        return 4 * GIB
    return int(min(DEFAULT_CAP, max(MIN_BUDGET, total * DEFAULT_SHARE)))


def range_capacity(budget: int, threads: int, table_bytes: int) -> int:
    """Nonzeros one feature range may hold under ``budget`` (at least 1M), given the build's
    other tables (example-id lookup, per-group feature counts)."""
    free = budget - FIXED_BYTES - threads * THREAD_BYTES - table_bytes
    return max(1 << 20, free // BYTES_PER_NONZERO)
