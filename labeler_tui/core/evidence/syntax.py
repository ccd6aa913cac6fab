"""The hypothesis expression language's syntax: words, operators, precedence (docs/hypotheses.md).

An expression is a boolean formula over one example: names (a token, a token family, an alias),
comparisons (``column=value``, ``family>=29``), ``NOT``, ``AND``, ``OR`` and parentheses, with
the usual precedence NOT > AND > OR. This module only reads the text into a tree of unresolved
names; what a name means for a model's data is ``expressions.py``'s job, so the syntax can be
checked (and the config's aliases validated) without any data.

Lexical rules: a *word* is a run of characters other than white space, parentheses, quotes and
the operator characters ``= ! < >``; a name holding any of those (``"<PAD>"``) is written in
double or single quotes (a backslash escapes the quote). ``AND``, ``OR`` and ``NOT`` are
keywords only in upper case, so a token named ``and`` stays a name. After a sequence model's
slot prefix (``token:``, ``prev:``, ``next:``, ``context:``) the name runs to the next white
space or is quoted (``token:)``, ``prev:"("``), as punctuation tokens are common there.
"""

from __future__ import annotations

from dataclasses import dataclass

from labeler_tui.core.errors import ValidationError

KEYWORDS = ("AND", "OR", "NOT")
OPERATORS = ("<=", ">=", "!=", "=", "<", ">")
_SPECIAL = set("()\"'=!<> \t\r\n\f\v")


class ExpressionError(ValidationError):
    """A hypothesis expression that does not parse or names something unknown.

    ``position`` is the 0-based character offset of the problem in the text (None when it is
    the whole expression), ``word`` the offending word, ``suggestions`` the closest known names
    (best first), so a front end can offer them."""

    def __init__(
        self,
        message: str,
        position: int | None = None,
        word: str | None = None,
        suggestions: tuple[str, ...] = (),
        field: str | None = None,
    ) -> None:
        super().__init__(message, field)
        self.position = position
        self.word = word
        self.suggestions = suggestions


@dataclass(frozen=True)
class Lexeme:
    kind: str  # "word", "string", "op", "(", ")", "AND", "OR", "NOT", "end"
    text: str
    position: int


def is_plain_word(text: str) -> bool:
    """Whether ``text`` can be written unquoted (one word, not a keyword)."""
    return bool(text) and not any(ch in _SPECIAL for ch in text) and text not in KEYWORDS


def quoted(text: str) -> str:
    """``text`` as it must be written in an expression: bare when it is a plain word."""
    if is_plain_word(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lex(text: str) -> list[Lexeme]:
    """The lexemes of ``text``, ending with an ``end`` lexeme."""
    out: list[Lexeme] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(Lexeme(ch, ch, i))
            i += 1
        elif ch in "\"'":
            start, i, chars = i, i + 1, []
            while i < n and text[i] != ch:
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= n:
                raise ExpressionError(f"unclosed quote at position {start + 1}", start)
            out.append(Lexeme("string", "".join(chars), start))
            i += 1
        elif ch in "=!<>":
            op = text[i : i + 2] if text[i : i + 2] in OPERATORS else ch
            if op not in OPERATORS:
                raise ExpressionError(
                    f"'{ch}' at position {i + 1} is not an operator (use =, !=, <, <=, >, >=; "
                    "quote a name that holds it)",
                    i,
                    ch,
                )
            out.append(Lexeme("op", op, i))
            i += len(op)
        else:
            start = i
            while i < n and text[i] not in _SPECIAL:
                i += 1
            word = text[start:i]
            if word in SLOT_PREFIXES and i < n and not text[i].isspace():
                i, word = _slot_name(text, i, word)
            out.append(Lexeme(word if word in KEYWORDS else "word", word, start))
    out.append(Lexeme("end", "", n))
    return out


SLOT_PREFIXES = ("token:", "prev:", "next:", "context:")
"""A sequence model's slot prefixes: after one, a name may start with a special character."""


def _slot_name(text: str, i: int, prefix: str) -> tuple[int, str]:
    """After a slot prefix, the name is a quoted string or runs to the next white space
    (``token:)``, ``prev:(``; a sequence model's tokens are often punctuation)."""
    n = len(text)
    if text[i] in "\"'":
        quote, start, chars = text[i], i, []
        i += 1
        while i < n and text[i] != quote:
            if text[i] == "\\" and i + 1 < n:
                i += 1
            chars.append(text[i])
            i += 1
        if i >= n:
            raise ExpressionError(f"unclosed quote at position {start + 1}", start)
        return i + 1, prefix + "".join(chars)
    start = i
    while i < n and not text[i].isspace():
        i += 1
    return i, prefix + text[start:i]


# --- the tree of unresolved names ------------------------------------------------------------
@dataclass(frozen=True)
class Name:
    """A bare name: a token, a family or an alias."""

    text: str
    position: int


@dataclass(frozen=True)
class Compare:
    """``name OP value``: a metadata column's value, or a family's level."""

    name: Name
    op: str
    value: str
    value_position: int


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Name | Compare | Not | And | Or


def parse(text: str) -> Node:
    """The tree of ``text``; ExpressionError (with the position) when it is not an expression."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression: give a token, a family or column=value")
    parser = _Parser(lex(text))
    node = parser.expression()
    parser.expect_end()
    return node


class _Parser:
    """Recursive descent: or := and (OR and)*; and := not (AND not)*; not := NOT not | primary;
    primary := ( or ) | name [OP value]."""

    def __init__(self, lexemes: list[Lexeme]) -> None:
        self.lexemes = lexemes
        self.i = 0

    @property
    def current(self) -> Lexeme:
        return self.lexemes[self.i]

    def take(self) -> Lexeme:
        lexeme = self.lexemes[self.i]
        self.i += 1
        return lexeme

    def expression(self) -> Node:
        children = [self.conjunction()]
        while self.current.kind == "OR":
            self.take()
            children.append(self.conjunction())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def conjunction(self) -> Node:
        children = [self.negation()]
        while self.current.kind == "AND":
            self.take()
            children.append(self.negation())
        return children[0] if len(children) == 1 else And(tuple(children))

    def negation(self) -> Node:
        if self.current.kind == "NOT":
            self.take()
            return Not(self.negation())
        return self.primary()

    def primary(self) -> Node:
        lexeme = self.take()
        if lexeme.kind == "(":
            node = self.expression()
            if self.current.kind != ")":
                raise self.error(f"missing ')' for the '(' at position {lexeme.position + 1}")
            self.take()
            return node
        if lexeme.kind in ("word", "string"):
            name = Name(lexeme.text, lexeme.position)
            if self.current.kind != "op":
                return name
            op = self.take()
            value = self.take()
            if value.kind not in ("word", "string"):
                raise ExpressionError(
                    f"expected a value after '{lexeme.text}{op.text}' at position "
                    f"{value.position + 1}",
                    value.position,
                )
            return Compare(name, op.text, value.text, value.position)
        if lexeme.kind == "end":
            raise ExpressionError(
                f"the expression ends where a name was expected (position {lexeme.position + 1})",
                lexeme.position,
            )
        if lexeme.kind == "op":
            raise ExpressionError(
                f"'{lexeme.text}' at position {lexeme.position + 1} needs a name before it "
                "(column=value, family>=level)",
                lexeme.position,
                lexeme.text,
            )
        raise ExpressionError(
            f"expected a name at position {lexeme.position + 1}, got '{lexeme.text}'",
            lexeme.position,
            lexeme.text,
        )

    def expect_end(self) -> None:
        lexeme = self.current
        if lexeme.kind == "end":
            return
        if lexeme.kind == ")":
            raise self.error(f"')' at position {lexeme.position + 1} has no matching '('")
        previous = self.lexemes[self.i - 1].text if self.i else ""
        lowered = next(
            (w for w in (previous, lexeme.text) if w.upper() in KEYWORDS and w not in KEYWORDS),
            None,
        )
        hint = f" (operators are upper case: {lowered.upper()})" if lowered else ""
        raise self.error(
            f"expected AND, OR or the end before '{lexeme.text}' at position "
            f"{lexeme.position + 1}{hint}"
        )

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(message, self.current.position, self.current.text or None)
