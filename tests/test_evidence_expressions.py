"""The hypothesis expression language: syntax, precedence, names, levels, aliases, errors with
suggestions; matches checked against Python sets computed from the input parquet files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import write_tiny_workspace
from direct import Workspace as Direct
from direct import family, level, read_workspace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labeler_tui.core.data import ModelData
from labeler_tui.core.evidence.expressions import compile_expression, suggest, token_levels
from labeler_tui.core.evidence.masks import mask_cache
from labeler_tui.core.evidence.syntax import (
    And,
    Compare,
    ExpressionError,
    Name,
    Not,
    Or,
    is_plain_word,
    parse,
    quoted,
)
from labeler_tui.core.workspace import Workspace


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("expressions") / "ws"
    write_tiny_workspace(path, n_examples=300, seed=5)
    return path


@pytest.fixture(scope="module")
def data(root: Path) -> ModelData:
    return Workspace.open(root).data()


@pytest.fixture(scope="module")
def direct(root: Path) -> Direct:
    return read_workspace(root)


def matched(data: ModelData, text: str, aliases: dict[str, str] | None = None) -> set[int]:
    """Example ids the core says match, over every example (postings) and, separately, over
    the rows (gathered sets), which must agree."""
    expression = compile_expression(data, text, aliases)
    mask_cache(data).clear()
    rows = np.arange(data.n_examples)
    by_rows = expression.matches(data, rows)
    mask, count = expression.mask(data)
    assert np.array_equal(by_rows, mask) and count == int(mask.sum())
    return {int(e) for e in data.example_ids[mask]}


def where(direct: Direct, test) -> set[int]:
    return {e for e in direct.example_ids if test(e)}


# --- syntax ------------------------------------------------------------------------------------
def test_precedence_is_not_then_and_then_or() -> None:
    a, b, c = Name("a", 0), Name("b", 5), Name("c", 15)
    assert parse("a OR b AND NOT c") == Or((a, And((b, Not(c)))))
    assert parse("(a OR b) AND c") == And((Or((Name("a", 1), Name("b", 6))), Name("c", 13)))
    assert parse("NOT NOT a") == Not(Not(Name("a", 8)))
    assert parse("a AND b AND c") == And((Name("a", 0), Name("b", 6), Name("c", 12)))


def test_comparisons_and_quoted_names() -> None:
    assert parse("weapon=bloblobber") == Compare(Name("weapon", 0), "=", "bloblobber", 7)
    assert parse("scu >= 29") == Compare(Name("scu", 0), ">=", "29", 7)
    assert parse('weapon != "Splattershot Jr."') == Compare(
        Name("weapon", 0), "!=", "Splattershot Jr.", 10
    )
    assert parse('"<PAD>"') == Name("<PAD>", 0)
    assert parse(r'"say \"hi\""') == Name('say "hi"', 0)
    assert parse("and") == Name("and", 0)  # keywords are upper case only
    assert quoted("<PAD>") == '"<PAD>"' and quoted("special_charge_up") == "special_charge_up"
    assert not is_plain_word("AND") and not is_plain_word("a b") and is_plain_word("x_1")


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", None, "empty expression"),
        ("a b", 2, "expected AND, OR or the end before 'b' at position 3"),
        ("not a", 4, "(operators are upper case: NOT)"),
        ("(a OR b", 7, "missing ')' for the '(' at position 1"),
        ("a)", 1, "')' at position 2 has no matching '('"),
        ("a AND", 5, "the expression ends where a name was expected"),
        ("=3", 0, "'=' at position 1 needs a name before it"),
        ("weapon=", 7, "expected a value after 'weapon='"),
        ('"open', 0, "unclosed quote at position 1"),
        ("a ! b", 2, "'!' at position 3 is not an operator"),
    ],
)
def test_syntax_errors_say_where(text: str, position: int | None, message: str) -> None:
    with pytest.raises(ExpressionError) as err:
        parse(text)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert err.value.position == position


# --- names and what they match -----------------------------------------------------------------
def test_tokens_families_and_metadata_match_their_examples(data, direct) -> None:
    assert matched(data, "comeback") == where(direct, lambda e: "comeback" in direct.tokens[e])
    assert matched(data, "swim_speed_up_21") == where(
        direct, lambda e: "swim_speed_up_21" in direct.tokens[e]
    )
    assert matched(data, "swim_speed_up") == where(
        direct, lambda e: "swim_speed_up" in direct.families_of(e)
    )
    weapon = direct.metadata["weapon"]
    assert matched(data, "weapon=hydra") == where(direct, lambda e: weapon[e] == "hydra")
    assert matched(data, "weapon!=hydra") == where(direct, lambda e: weapon[e] != "hydra")


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
def test_level_comparisons(data, direct, op: str) -> None:
    compare = {
        "=": lambda x: x == 21,
        "!=": lambda x: x != 21,
        "<": lambda x: x < 21,
        "<=": lambda x: x <= 21,
        ">": lambda x: x > 21,
        ">=": lambda x: x >= 21,
    }[op]
    expected = where(
        direct,
        lambda e: any(family(t) == "run_speed_up" and compare(level(t)) for t in direct.tokens[e]),
    )
    assert matched(data, f"run_speed_up{op}21") == expected


def test_token_levels_follow_the_family_regex() -> None:
    names = ["special_charge_up_29", "comeback", "a_b_3", "<pad>", "x_"]
    assert token_levels(names, r"^(.*?)_\d+$").tolist() == [29, -1, 3, -1, -1]
    # a regex whose group 2 captures the level
    assert token_levels(["ap12-scu"], r"^ap(\d+)-(\w+)$").tolist() == [-1]
    assert token_levels(["scu@12"], r"^(\w+)@(\d+)$").tolist() == [12]


def test_aliases_expand_to_names_and_expressions(data, direct) -> None:
    aliases = {"SSU": "swim_speed_up", "ZOMBIE": "quick_respawn AND comeback", "Z2": "ZOMBIE"}
    assert matched(data, "SSU", aliases) == matched(data, "swim_speed_up")
    assert matched(data, "SSU>=21", aliases) == matched(data, "swim_speed_up>=21")
    assert matched(data, "NOT ZOMBIE", aliases) == matched(data, "NOT (quick_respawn AND comeback)")
    assert matched(data, "Z2", aliases) == matched(data, "ZOMBIE", aliases)
    with pytest.raises(ExpressionError, match=r"alias 'A' refers to itself \(A -> B -> A\)"):
        compile_expression(data, "A", {"A": "B", "B": "A"})
    with pytest.raises(ExpressionError, match=r"alias 'BAD' = 'nope': unknown name 'nope'"):
        compile_expression(data, "comeback OR BAD", {"BAD": "nope"})


@pytest.mark.parametrize(
    ("text", "message", "suggestions"),
    [
        ("SSU", "unknown name 'SSU' (did you mean swim_speed_up?)", ("swim_speed_up",)),
        ("Comeback", "unknown name 'Comeback'", ("comeback",)),
        ("swim_speed", "did you mean swim_speed_up", ("swim_speed_up",)),
        ("ninja_sqiud", "did you mean ninja_squid", ("ninja_squid",)),
        ("hydra", "did you mean weapon=hydra", ("weapon=hydra",)),
        ("weapon=hidra", "no example has weapon = 'hidra' (did you mean hydra?)", ("hydra",)),
        ("colour=red", "unknown column or family 'colour'", ()),
        ("weapon", "'weapon' is a metadata column: compare it to a value", ()),
        ("comeback>=3", "family 'comeback' has no levels", ()),
        ("swim_speed_up_3>1", "'swim_speed_up_3' is a token, not a family or a column", ()),
        ("swim_speed_up>=high", "swim_speed_up>= needs a level number, got 'high'", ()),
        ("weapon<3", "weapon holds text: compare it with = or != only", ()),
    ],
)
def test_unknown_names_fail_with_the_closest_known_names(
    data, text: str, message: str, suggestions: tuple[str, ...]
) -> None:
    with pytest.raises(ExpressionError) as err:
        compile_expression(data, text)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert err.value.suggestions[: len(suggestions)] == suggestions


def test_suggestions_rank_initials_prefixes_then_spelling() -> None:
    names = ["special_charge_up", "special_charge_up_29", "special_saver", "sub_power_up"]
    assert suggest("SCU", names)[0] == "special_charge_up"
    assert suggest("scu29", names) == ("special_charge_up_29",)
    assert suggest("special", names)[:2] == ("special_saver", "special_charge_up")
    assert suggest("spesial_saver", names)[0] == "special_saver"
    assert suggest("zzz", names) == ()


# --- properties against Python sets --------------------------------------------------------------
ATOMS = [
    "comeback",
    "ninja_squid",
    "swim_speed_up",
    "ink_saver_main",
    "run_speed_up_12",
    "quick_respawn>=21",
    "weapon=hydra",
    "weapon=bloblobber",
]


def _atom_set(direct: Direct, atom: str) -> set[int]:
    if atom.startswith("weapon="):
        return where(direct, lambda e: direct.metadata["weapon"][e] == atom[7:])
    if ">=" in atom:
        fam, bound = atom.split(">=")
        return where(
            direct,
            lambda e: any(
                family(t) == fam and (level(t) or -1) >= int(bound) for t in direct.tokens[e]
            ),
        )
    if atom in direct.vocab:
        return where(direct, lambda e: atom in direct.tokens[e])
    return where(direct, lambda e: atom in direct.families_of(e))


trees = st.recursive(
    st.sampled_from(ATOMS),
    lambda children: st.one_of(
        st.tuples(st.just("NOT"), children),
        st.tuples(st.sampled_from(["AND", "OR"]), children, children),
    ),
    max_leaves=6,
)


def _render(tree) -> str:
    if isinstance(tree, str):
        return tree
    if tree[0] == "NOT":
        return f"NOT ({_render(tree[1])})"
    return f"({_render(tree[1])}) {tree[0]} ({_render(tree[2])})"


def _expected(direct: Direct, tree) -> set[int]:
    if isinstance(tree, str):
        return _atom_set(direct, tree)
    if tree[0] == "NOT":
        return set(direct.example_ids) - _expected(direct, tree[1])
    left, right = _expected(direct, tree[1]), _expected(direct, tree[2])
    return left & right if tree[0] == "AND" else left | right


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(tree=trees)
def test_any_expression_matches_its_set_computation(data, direct, tree) -> None:
    assert matched(data, _render(tree)) == _expected(direct, tree)


@SETTINGS
@given(a=st.sampled_from(ATOMS), b=st.sampled_from(ATOMS))
def test_de_morgan_and_double_negation(data, a: str, b: str) -> None:
    assert matched(data, f"NOT ({a} AND {b})") == matched(data, f"NOT {a} OR NOT {b}")
    assert matched(data, f"NOT ({a} OR {b})") == matched(data, f"NOT {a} AND NOT {b}")
    assert matched(data, f"NOT NOT {a}") == matched(data, a)


@SETTINGS
@given(a=st.sampled_from(ATOMS), b=st.sampled_from(ATOMS), c=st.sampled_from(ATOMS))
def test_precedence_matches_pythons_not_and_or(data, direct, a: str, b: str, c: str) -> None:
    sa, sb, sc = (_atom_set(direct, x) for x in (a, b, c))
    everything = set(direct.example_ids)
    expected = {e for e in everything if (e in sa) or ((e in sb) and e not in sc)}
    assert matched(data, f"{a} OR {b} AND NOT {c}") == expected


@SETTINGS
@given(rows=st.lists(st.integers(0, 299), max_size=40), atom=st.sampled_from(ATOMS))
def test_matches_of_chosen_rows_agree_with_the_mask(data, rows: list[int], atom: str) -> None:
    expression = compile_expression(data, f"NOT {atom} OR comeback")
    mask_cache(data).clear()
    picked = np.asarray(rows, dtype=np.int64)
    by_rows = expression.matches(data, picked)
    assert np.array_equal(by_rows, expression.mask(data)[0][picked])


def test_the_mask_cache_is_bounded_and_keyed_by_meaning(data) -> None:
    cache = mask_cache(data)
    cache.clear()
    first = compile_expression(data, "comeback OR ninja_squid")
    again = compile_expression(data, "  comeback   OR ninja_squid ")
    assert first.key == again.key and again.text == "comeback   OR ninja_squid"
    assert first.mask(data)[0] is again.mask(data)[0]
    for name in data.token_names[1 : cache.size + 4]:
        compile_expression(data, name).mask(data)
    assert len(cache) == cache.size
