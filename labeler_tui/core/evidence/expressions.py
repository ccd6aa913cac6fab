"""Hypothesis expressions resolved against one model's data, and evaluated over its examples.

:func:`compile_expression` reads the text (``syntax.py``) and resolves every name: a token, a
family (holds any of its tokens), an alias (``[aliases]`` of labeler.toml, itself an
expression), ``column=value`` (a metadata value, compared as text) and ``family>=29`` (holds a
token of the family whose level satisfies the comparison). Unknown names raise
:class:`ExpressionError` listing the closest known names. The result, an :class:`Expression`,
evaluates vectorised: over chosen example rows (gathering their token sets, cost proportional
to the rows) or over every example (scattering token postings, cached per expression).

A token's *level* is group 2 of the model's ``token_family`` regex when it has one and it is a
number, else the number that ends the token's name after its family name (``_29`` in
``special_charge_up_29`` with the default regex ``^(.*?)_\\d+$``).
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from labeler_tui.core.analysis.derived import memoized
from labeler_tui.core.analysis.example_sets import example_sets
from labeler_tui.core.analysis.feature_view import all_metadata_codes
from labeler_tui.core.data import ModelData
from labeler_tui.core.evidence import syntax as S
from labeler_tui.core.evidence.masks import holding_any, mask_cache
from labeler_tui.core.evidence.syntax import ExpressionError

MAX_SUGGESTIONS = 5
WHOLE_MASK_FRACTION = 16
DIFFLIB_MAX_CANDIDATES = 5_000
"""Above this many names, fuzzy suggestions only look at names sharing the first letter."""

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TRAILING_NUMBER = re.compile(r"\D*?(\d+)$")


# --- resolved tests --------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenTest:
    """The example holds at least one of ``tokens`` (a token, a family, a family's levels)."""

    tokens: tuple[int, ...]
    text: str

    def key(self) -> str:
        return "T(" + ",".join(map(str, self.tokens)) + ")"


@dataclass(frozen=True)
class ValueTest:
    """The example's value of metadata ``column`` is one of ``codes``."""

    column: str
    codes: tuple[int, ...]
    text: str

    def key(self) -> str:
        return f"V({self.column!r}:" + ",".join(map(str, self.codes)) + ")"


@dataclass(frozen=True)
class NotTest:
    child: Test

    def key(self) -> str:
        return f"NOT({self.child.key()})"


@dataclass(frozen=True)
class AndTest:
    children: tuple[Test, ...]

    def key(self) -> str:
        return "AND(" + ",".join(c.key() for c in self.children) + ")"


@dataclass(frozen=True)
class OrTest:
    children: tuple[Test, ...]

    def key(self) -> str:
        return "OR(" + ",".join(c.key() for c in self.children) + ")"


Test = TokenTest | ValueTest | NotTest | AndTest | OrTest


# --- the names of a model --------------------------------------------------------------------
class ModelNames:
    """What names mean in one model: tokens, families with their tokens and levels, metadata
    columns and their values. Made once per model (:func:`model_names`)."""

    def __init__(self, data: ModelData) -> None:
        self.data = data
        self.token_ids = data.token_ids
        self.family_ids = {name: i for i, name in enumerate(data.family_names)}
        order = np.argsort(data.token_family, kind="stable")
        bounds = np.searchsorted(data.token_family[order], np.arange(len(data.family_names) + 1))
        self.family_tokens = [
            tuple(int(t) for t in order[bounds[i] : bounds[i + 1]])
            for i in range(len(data.family_names))
        ]
        self.levels = token_levels(data.token_names, data.config.token_family)
        self.columns = list(data.metadata_columns)
        self._values: dict[str, dict[str, int]] = {}

    def values(self, column: str) -> dict[str, int]:
        """A metadata column's values as text -> code (nulls left out)."""
        if column not in self._values:
            values = self.data.metadata_values(column)
            self._values[column] = {str(v): i for i, v in enumerate(values) if v is not None}
        return self._values[column]

    def numeric_values(self, column: str) -> list[float] | None:
        """The column's values as numbers (None per null), or None when one is not a number."""
        out: list[float] = []
        for v in self.data.metadata_values(column):
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int | float):
                return None
            out.append(float(v))
        return out

    def bare_names(self) -> list[str]:
        """Every name a bare word can be: families, then tokens."""
        return list(self.family_ids) + [
            t for t in self.data.token_names if t not in self.family_ids
        ]


def model_names(data: ModelData) -> ModelNames:
    return memoized(data, "evidence_names", lambda: ModelNames(data))


def token_levels(token_names: list[str], pattern: str) -> np.ndarray:
    """int64 level per token id, -1 for a token without one (see the module docstring)."""
    regex = re.compile(pattern)
    levels = np.full(len(token_names), -1, dtype=np.int64)
    for i, name in enumerate(token_names):
        match = regex.search(name)
        if not match or not match.group(1):
            continue
        level: str | None = None
        if regex.groups >= 2 and match.group(2) is not None and match.group(2).isdigit():
            level = match.group(2)
        else:
            rest = _TRAILING_NUMBER.match(name[match.end(1) :])
            if rest and match.end(1) < len(name):
                level = rest.group(1)
        if level is not None:
            levels[i] = int(level)
    return levels


# --- suggestions -----------------------------------------------------------------------------
def _initials(name: str) -> str:
    parts = [p for p in re.split(r"[_\-\s.:/]+", name.lower()) if p]
    return "".join(p if p.isdigit() else p[0] for p in parts)


def suggest(word: str, candidates: list[str], limit: int = MAX_SUGGESTIONS) -> tuple[str, ...]:
    """The known names closest to ``word``, best first: the same but for case, names whose
    initials it is (``SCU`` -> ``special_charge_up``), names it starts (shortest first), names
    holding it, then similar spellings (difflib)."""
    lowered = word.lower()
    found: list[str] = []

    def add(names: list[str]) -> None:
        for name in names:
            if name not in found:
                found.append(name)

    add([c for c in candidates if c.lower() == lowered])
    if len(lowered) >= 2:
        add([c for c in candidates if _initials(c) == lowered])
        add(sorted((c for c in candidates if c.lower().startswith(lowered)), key=len))
    if len(lowered) >= 3:
        add(sorted((c for c in candidates if lowered in c.lower()), key=len))
    pool = candidates
    if len(pool) > DIFFLIB_MAX_CANDIDATES:
        pool = [c for c in candidates if c[:1].lower() == lowered[:1]]
    by_lower: dict[str, str] = {}
    for c in pool:
        by_lower.setdefault(c.lower(), c)
    add([by_lower[c] for c in difflib.get_close_matches(lowered, list(by_lower), limit, 0.6)])
    # a family stands for its level tokens: do not list them after it
    kept = [c for c in found if not any(c != f and _is_level_of(c, f) for f in found)]
    return tuple(kept[:limit])


def _is_level_of(token: str, family: str) -> bool:
    rest = token[len(family) :] if token.startswith(family) else ""
    return bool(re.fullmatch(r"[_\-.:]?\d+", rest))


def _unknown(word: str, position: int, candidates: list[str], what: str) -> ExpressionError:
    suggestions = suggest(word, candidates)
    hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
    return ExpressionError(f"unknown {what} '{word}'{hint}", position, word, suggestions)


# --- compiling -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expression:
    """A compiled hypothesis expression of one model: ``text`` as given, ``test`` resolved."""

    text: str
    test: Test

    @property
    def key(self) -> str:
        """Canonical form (aliases and names resolved): equal keys match the same examples."""
        return self.test.key()

    def matches(self, data: ModelData, rows: np.ndarray) -> np.ndarray:
        """bool[len(rows)]: whether each example row matches. Cost proportional to the rows
        (their token sets are gathered once); from the whole-dataset mask instead when it is
        cached, or when the rows are more than ``1 / WHOLE_MASK_FRACTION`` of the examples
        (then the postings are cheaper than gathering the rows' sets)."""
        rows = np.asarray(rows, dtype=np.int64)
        cached = mask_cache(data).peek(self.key)
        if cached is None and len(rows) * WHOLE_MASK_FRACTION > data.n_examples:
            cached = self.mask(data)
        if cached is not None:
            return cached[0][rows]
        return _evaluate_rows(self.test, _Rows(data, rows))

    def mask(self, data: ModelData) -> tuple[np.ndarray, int]:
        """(bool[n_examples] read-only mask of the matching examples, how many match), over
        every example, from postings; cached per model and expression."""
        return mask_cache(data).get(self.key, lambda: _evaluate_all(self.test, data))


def compile_expression(
    data: ModelData, text: str, aliases: Mapping[str, str] | None = None
) -> Expression:
    """Parse and resolve ``text`` for ``data``'s model. ExpressionError (a ValidationError with
    ``position`` and ``suggestions``) for a syntax error or an unknown name."""
    tree = S.parse(text)
    return Expression(text.strip(), _Resolver(model_names(data), dict(aliases or {})).test(tree))


class _Resolver:
    def __init__(self, names: ModelNames, aliases: dict[str, str]) -> None:
        self.names = names
        self.aliases = aliases
        self.expanding: list[str] = []

    def test(self, node: S.Node) -> Test:
        if isinstance(node, S.Name):
            return self.name(node)
        if isinstance(node, S.Compare):
            return self.compare(node)
        if isinstance(node, S.Not):
            return NotTest(self.test(node.child))
        if isinstance(node, S.And):
            return AndTest(tuple(self.test(child) for child in node.children))
        return OrTest(tuple(self.test(child) for child in node.children))

    def name(self, node: S.Name) -> Test:
        names, word = self.names, node.text
        if word in names.token_ids:
            return TokenTest((names.token_ids[word],), word)
        if word in names.family_ids:
            return TokenTest(names.family_tokens[names.family_ids[word]], word)
        if word in self.aliases:
            return self.alias(word, node.position)
        if word in names.columns:
            raise ExpressionError(
                f"'{word}' is a metadata column: compare it to a value, e.g. {word}=VALUE",
                node.position,
                word,
            )
        candidates = names.bare_names() + sorted(self.aliases)
        for column in names.columns:
            if word in names.values(column):  # a bare value: suggest column=value
                candidates.insert(0, f"{column}={S.quoted(word)}")
        raise _unknown(word, node.position, candidates, "name")

    def alias(self, word: str, position: int) -> Test:
        if word in self.expanding:
            chain = " -> ".join([*self.expanding, word])
            raise ExpressionError(f"alias '{word}' refers to itself ({chain})", position, word)
        self.expanding.append(word)
        try:
            return self.test(S.parse(self.aliases[word]))
        except ExpressionError as exc:
            if self.expanding[0] != word:
                raise
            raise ExpressionError(
                f"alias '{word}' = '{self.aliases[word]}': {exc}", position, word, exc.suggestions
            ) from None
        finally:
            self.expanding.pop()

    def left_name(self, node: S.Name) -> str:
        """The left side of a comparison, an alias of a single name replaced by that name."""
        word = node.text
        names = self.names
        if word in self.aliases and word not in names.columns and word not in names.family_ids:
            target = S.parse(self.aliases[word])
            if isinstance(target, S.Name):
                return target.text
        return word

    def compare(self, node: S.Compare) -> Test:
        names = self.names
        left = self.left_name(node.name)
        if left in names.columns:
            return self.metadata(left, node)
        if left in names.family_ids:
            return self.level(left, node)
        if left in names.token_ids:
            family = names.data.family_names[int(names.data.token_family[names.token_ids[left]])]
            raise ExpressionError(
                f"'{left}' is a token, not a family or a column: compare its family "
                f"(e.g. {S.quoted(family)}{node.op}{node.value})",
                node.name.position,
                left,
            )
        candidates = list(names.columns) + list(names.family_ids)
        raise _unknown(left, node.name.position, candidates, "column or family")

    def metadata(self, column: str, node: S.Compare) -> ValueTest:
        values = self.names.values(column)
        text = f"{column}{node.op}{S.quoted(node.value)}"
        number = _number(node.value)
        numeric = self.names.numeric_values(column)
        if node.op in ("=", "!=") and (number is None or numeric is None):
            if node.value not in values:
                error = _unknown(node.value, node.value_position, list(values), f"{column} value")
                raise ExpressionError(
                    f"no example has {column} = '{node.value}'"
                    + (
                        f" (did you mean {', '.join(error.suggestions)}?)"
                        if error.suggestions
                        else ""
                    ),
                    node.value_position,
                    node.value,
                    error.suggestions,
                )
            code = values[node.value]
            if node.op == "=":
                return ValueTest(column, (code,), text)
            return ValueTest(column, tuple(c for c in values.values() if c != code), text)
        if numeric is None:
            raise ExpressionError(
                f"{column} holds text: compare it with = or != only", node.value_position, column
            )
        if number is None:
            raise ExpressionError(
                f"{column}{node.op} needs a number, got '{node.value}'",
                node.value_position,
                node.value,
            )
        compare = _COMPARE[node.op]
        raw = self.names.data.metadata_values(column)
        codes = tuple(i for i, v in enumerate(raw) if v is not None and compare(float(v), number))
        return ValueTest(column, codes, text)

    def level(self, family: str, node: S.Compare) -> TokenTest:
        names = self.names
        tokens = names.family_tokens[names.family_ids[family]]
        levelled = [t for t in tokens if names.levels[t] >= 0]
        if not levelled:
            raise ExpressionError(
                f"family '{family}' has no levels (a level is the number that ends a token "
                "name, e.g. _29)",
                node.name.position,
                family,
            )
        number = _number(node.value)
        if number is None:
            raise ExpressionError(
                f"{family}{node.op} needs a level number, got '{node.value}'",
                node.value_position,
                node.value,
            )
        compare = _COMPARE[node.op]
        chosen = tuple(t for t in levelled if compare(float(names.levels[t]), number))
        return TokenTest(chosen, f"{S.quoted(family)}{node.op}{node.value}")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


# --- evaluation ------------------------------------------------------------------------------
class _Rows:
    """Chosen example rows and their token sets, gathered on first need."""

    def __init__(self, data: ModelData, rows: np.ndarray) -> None:
        self.data = data
        self.rows = rows
        self._tokens: np.ndarray | None = None

    @property
    def tokens(self) -> np.ndarray:
        if self._tokens is None:
            table = example_sets(self.data)
            self._tokens = table.gather(self.rows)[:, : table.token_width]
        return self._tokens


def _evaluate_rows(test: Test, rows: _Rows) -> np.ndarray:
    if isinstance(test, TokenTest):
        if not test.tokens or not len(rows.rows):
            return np.zeros(len(rows.rows), dtype=bool)
        if len(test.tokens) == 1:
            return np.asarray((rows.tokens == test.tokens[0]).any(axis=1))
        held = np.zeros(example_sets(rows.data).n_tokens + 1, dtype=bool)  # pad: never held
        held[list(test.tokens)] = True
        return np.asarray(held[rows.tokens].any(axis=1))
    if isinstance(test, ValueTest):
        codes = all_metadata_codes(rows.data, test.column)[rows.rows]
        if len(test.codes) == 1:
            return np.asarray(codes == test.codes[0])
        return np.isin(codes, np.asarray(test.codes, dtype=codes.dtype))
    if isinstance(test, NotTest):
        return ~_evaluate_rows(test.child, rows)
    parts = [_evaluate_rows(child, rows) for child in test.children]
    combine = np.logical_and if isinstance(test, AndTest) else np.logical_or
    out = parts[0].copy()
    for part in parts[1:]:
        combine(out, part, out=out)
    return out


def _evaluate_all(test: Test, data: ModelData) -> np.ndarray:
    if isinstance(test, TokenTest):
        return holding_any(data, test.tokens)
    if isinstance(test, ValueTest):
        codes = all_metadata_codes(data, test.column)
        if len(test.codes) == 1:
            return np.asarray(codes == test.codes[0])
        return np.isin(codes, np.asarray(test.codes, dtype=codes.dtype))
    if isinstance(test, NotTest):
        return ~_evaluate_all(test.child, data)
    parts = [_evaluate_all(child, data) for child in test.children]
    combine = np.logical_and if isinstance(test, AndTest) else np.logical_or
    out = parts[0].copy()
    for part in parts[1:]:
        combine(out, part, out=out)
    return out
