"""User text made safe to show: control characters are shown, never obeyed.

Names, notes, reasons, owners, sources, token and metadata names and file paths come from people,
agents and data files; printed raw, an escape sequence among them can clear the screen, set the
window title or plant a link (``\\x1b]8;;...``), a carriage return can overwrite a line and a
bidirectional override can reorder what is read. :func:`visible` is the one function every front
end (the CLI's human output, the app) passes such text through before it reaches a terminal; the
stores and JSON output keep the text exactly as given. Markup is the front ends' business: they
show user text as text (Rich ``Text``, ``markup=False``), never as markup.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""C0 controls but newline and tab, DEL, C1 controls, bidirectional marks, overrides and
isolates, and lone surrogates (how Python holds the bytes of an argument that is not UTF-8)."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape: show the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character other than newline and tab written as its escape
    (``\\x1b``, ``\\r``, ``\\u202e``; an undecodable byte as ``\\xff``), so that on a terminal it
    shows as text and does nothing. Text without such characters is returned as it is."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(_escape, text)
