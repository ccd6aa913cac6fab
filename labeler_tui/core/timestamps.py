"""Reading and writing the stores' timestamps (docs/formats.md, "Timestamps").

Ours are written as UTC ISO 8601 with the zone and microseconds. Read ones come from SplatNLP
too, which writes ``datetime.now()``: a timestamp without a zone is the machine's local time,
wherever it is compared (sync's newest-wins, the queue's age order, claims, history).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def iso(moment: datetime) -> str:
    """A timestamp as written in the stores: UTC, with its zone, to the microsecond."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 string (one without a zone is local time) or epoch seconds, as an aware
    datetime; None when missing or unreadable."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.astimezone()


def shown(value: Any, *, seconds: bool = False) -> str:
    """A stored timestamp as people read it: local time, ``YYYY-MM-DD HH:MM`` (``:SS`` with
    ``seconds``); an unreadable value is shown as it is, a missing one as ``-``."""
    moment = parse_time(value)
    if moment is None:
        return "-" if value is None or value == "" else str(value)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
