"""The tokenizer of a sequence model: what each token id shows, and the word it stands for.

A sequence model names its tokenizer (``[models.NAME] tokenizer``): a Hugging Face
``tokenizer.json`` (read with the ``tokenizers`` library) or a vocab file (a JSON object
``{"token": id}`` or list, or a text file with one token a line). Reading it gives, per id:

- its *piece*: the text the token stands for, as the tokenizer decodes it alone (`` the`` with
  its leading space for a byte-level BPE); bytes that are not whole UTF-8 characters (half of
  an emoji) show as ``<0xE2>``. Pieces are for display only and need not be unique;
- whether pieces are shown with a space between them (``spaced``: a word-level vocabulary) or
  glued (a BPE whose pieces carry their own spaces);
- its *word*, what the analysis counts: the piece without surrounding white space, so `` the``
  and ``the`` are one word; a piece of white space only has a visible word (``↵``, ``·``).

The tokenizer is read once, when the index is built; the pieces are stored in the index.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from labeler_tui.core.errors import DataError

PARTIAL_BYTE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_WHITESPACE_SIGNS = {"\n": "↵", "\t": "⇥", "\r": "␍", " ": "·"}
_PROBE_PAIRS = 24


@dataclass(frozen=True)
class TokenizerInfo:
    """The pieces of every token id (index = id) and how to join them."""

    path: Path
    pieces: list[str]
    spaced: bool
    kind: str
    """``tokenizer.json`` or ``vocab``."""

    @property
    def separator(self) -> str:
        """What goes between two pieces when a context is shown as text."""
        return " " if self.spaced else ""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible_piece(piece: str) -> str:
    """A piece as shown on a terminal: newlines, tabs and carriage returns as ``↵ ⇥ ␍``, other
    control characters and bidirectional marks as escapes (they are never obeyed), and a piece
    of spaces only as ``·`` per space (so it can be seen); other spaces are kept."""
    if piece and piece.strip(" ") == "":
        return "·" * len(piece)
    text = piece.replace("\r\n", "\n")
    for char in ("\n", "\t", "\r"):
        text = text.replace(char, _WHITESPACE_SIGNS[char])
    return _CONTROL.sub(_escape, text)


def word_of(piece: str) -> str:
    """The word a piece counts as: its visible text without surrounding white space; a piece
    of white space only is its visible form (``↵``, ``··``, ``⇥``); the empty piece is ``∅``."""
    stripped = piece.strip()
    if stripped:
        return visible_piece(stripped)
    if not piece:
        return "∅"
    return "".join(_WHITESPACE_SIGNS.get(c, "·") for c in piece)


@cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet: the printable character standing for each byte."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def render_bytes(data: bytes) -> str:
    """UTF-8 text of ``data``, each byte that is not part of a whole character as ``<0xE2>``."""
    out: list[str] = []
    i = 0
    while i < len(data):
        for width in (1, 2, 3, 4):
            chunk = data[i : i + width]
            try:
                out.append(chunk.decode("utf-8"))
            except UnicodeDecodeError:
                continue
            i += width
            break
        else:
            out.append(f"<0x{data[i]:02X}>")
            i += 1
    return "".join(out)


def byte_level_piece(token: str) -> str | None:
    """The piece of a byte-level BPE token string (``Ġthe`` -> `` the``), or None when the
    string is not in the byte-level alphabet."""
    decoder = _byte_decoder()
    if not token or any(c not in decoder for c in token):
        return None
    return render_bytes(bytes(decoder[c] for c in token))


def read_tokenizer(path: Path) -> TokenizerInfo:
    """Read a ``tokenizer.json`` or a vocab file; DataError naming the file when unreadable."""
    if not path.is_file():
        raise DataError(f"{path}: tokenizer file not found")
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read tokenizer: {exc}") from None
    if path.suffix == ".json":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}: tokenizer is not valid JSON: {exc.msg} (line {exc.lineno}, column "
                f"{exc.colno})"
            ) from None
        if isinstance(data, dict) and isinstance(data.get("model"), dict):
            return _hf_tokenizer(path, data)
        return _vocab_pieces(path, _json_vocab(path, data))
    names = raw.split("\n")
    if names and names[-1] == "":
        names.pop()
    if not names:
        raise DataError(f"{path}: the vocab is empty")
    return _vocab_pieces(path, [name.rstrip("\r") for name in names])


def _json_vocab(path: Path, data: object) -> list[str]:
    if isinstance(data, list):
        if not all(isinstance(name, str) for name in data):
            raise DataError(f"{path}: a vocab list must hold token strings")
        names = list(data)
    elif isinstance(data, dict):
        by_id: dict[int, str] = {}
        for name, token_id in data.items():
            if isinstance(token_id, bool) or not isinstance(token_id, int) or token_id < 0:
                raise DataError(
                    f"{path}: vocab id of {name!r} is {token_id!r}, expected an integer >= 0"
                )
            if token_id in by_id:
                raise DataError(f"{path}: vocab id {token_id} is used twice")
            by_id[token_id] = name
        size = max(by_id, default=-1) + 1
        names = [by_id.get(i, f"<unused:{i}>") for i in range(size)]
    else:
        raise DataError(
            f"{path}: expected a tokenizer.json, a vocab object {{token: id}} or a list of tokens"
        )
    if not names:
        raise DataError(f"{path}: the vocab is empty")
    return names


def _vocab_pieces(path: Path, names: list[str]) -> TokenizerInfo:
    """Pieces of a plain vocab: byte-level (``Ġ`` marks a space) or sentencepiece (``▁``)
    vocabularies are decoded, others are words shown with spaces between them."""
    marked = sum(1 for n in names if n.startswith("Ġ"))
    sentencepiece = sum(1 for n in names if n.startswith("▁"))
    threshold = max(1, len(names) // 20)
    if marked >= threshold:
        pieces = [byte_level_piece(n) or n for n in names]
        return TokenizerInfo(path, pieces, spaced=False, kind="vocab")
    if sentencepiece >= threshold:
        pieces = [_sentencepiece(n) for n in names]
        return TokenizerInfo(path, pieces, spaced=False, kind="vocab")
    return TokenizerInfo(path, list(names), spaced=True, kind="vocab")


def _sentencepiece(name: str) -> str:
    if PARTIAL_BYTE.match(name):
        value = int(name[3:5], 16)
        return chr(value) if value < 0x80 else f"<0x{value:02X}>"
    return name.replace("▁", " ")


def _hf_tokenizer(path: Path, data: dict[str, object]) -> TokenizerInfo:
    try:
        from tokenizers import Tokenizer
    except ImportError:  # pragma: no cover - a runtime dependency
        raise DataError(
            f"{path}: reading a tokenizer.json needs the `tokenizers` package"
        ) from None
    try:
        tokenizer = Tokenizer.from_str(json.dumps(data))
    except Exception as exc:  # the Rust side raises plain Exceptions
        raise DataError(f"{path}: not a tokenizer the `tokenizers` library reads: {exc}") from None
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    if size == 0:
        raise DataError(f"{path}: the tokenizer has an empty vocab")
    ids = [[i] for i in range(size)]
    decoded = tokenizer.decode_batch(ids, skip_special_tokens=False)
    pieces = []
    for i, text in enumerate(decoded):
        token = tokenizer.id_to_token(i)
        if token is None:
            pieces.append(f"<unused:{i}>")
        elif "\ufffd" in text and token != "\ufffd":
            pieces.append(_partial_piece(token, text))
        else:
            pieces.append(text)
    return TokenizerInfo(
        path, pieces, spaced=_probe_spaced(tokenizer, pieces), kind="tokenizer.json"
    )


def _partial_piece(token: str, decoded: str) -> str:
    """A token that decodes to a replacement character is part of a character: its bytes."""
    if PARTIAL_BYTE.match(token):
        return f"<0x{token[3:5].upper()}>"
    piece = byte_level_piece(token)
    return piece if piece is not None else decoded


def _probe_spaced(tokenizer: object, pieces: list[str]) -> bool:
    """Whether decoding two tokens puts a space between their pieces (a word-level vocab)."""
    candidates = [i for i, p in enumerate(pieces) if p.strip() and p == p.strip() and p.isalnum()]
    if len(candidates) < 2:
        return False
    step = max(1, len(candidates) // (_PROBE_PAIRS + 1))
    chosen = candidates[::step][: _PROBE_PAIRS + 1]
    spaced = 0
    for a, b in zip(chosen, chosen[1:], strict=False):
        text = tokenizer.decode([a, b], skip_special_tokens=False)  # type: ignore[attr-defined]
        if text == f"{pieces[a]} {pieces[b]}":
            spaced += 1
    return spaced * 2 > len(chosen) - 1
