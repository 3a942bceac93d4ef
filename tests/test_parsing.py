"""The parser: what it accepts (and what that means), what it refuses (and what it says)."""

from __future__ import annotations

import time

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symdescent.errors import ParseError
from symdescent.parsing import MAX_DEPTH, natural_key, parse, parse_constant, tokenize

x, y, z = sp.symbols("x y z", real=True)

ACCEPTED = [
    ("x**2+y**2", x**2 + y**2, ["x", "y"]),
    ("x^2+1", x**2 + 1, ["x"]),
    ("2^3^2", sp.Integer(512), []),  # right-associative, like **
    ("-x**2", -(x**2), ["x"]),  # ** binds tighter than unary minus
    ("(-x)**2", x**2, ["x"]),
    ("2**-1", sp.Rational(1, 2), []),
    ("x---y", x - y, ["x", "y"]),
    ("(1-x)^2 + 100*(y-x^2)^2", (1 - x) ** 2 + 100 * (y - x**2) ** 2, ["x", "y"]),
    ("sin(x)*exp(-y)/(1+x^2)", sp.sin(x) * sp.exp(-y) / (1 + x**2), ["x", "y"]),
    ("sqrt(x) + abs(y) + log(z)", sp.sqrt(x) + sp.Abs(y) + sp.log(z), ["x", "y", "z"]),
    (
        "tan(x)+asin(x)+acos(x)+atan(x)+sinh(x)+cosh(x)+tanh(x)",
        sp.tan(x) + sp.asin(x) + sp.acos(x) + sp.atan(x) + sp.sinh(x) + sp.cosh(x) + sp.tanh(x),
        ["x"],
    ),
    ("1e-3*x + 2.5", sp.Float("1e-3") * x + sp.Float("2.5"), ["x"]),
    (".5*x", sp.Float("0.5") * x, ["x"]),
    ("pi*x + E", sp.pi * x + sp.E, ["x"]),
    ("log(x, 2)", sp.log(x) / sp.log(2), ["x"]),
    ("  x\t+\ny  ", x + y, ["x", "y"]),
]

PLAIN_NAMES = ["beta", "gamma", "lambda", "N", "S", "O", "Q", "e", "zeta", "x_1"]

REFUSED = [
    ("x.__class__", "attribute access is not allowed at column 2"),
    ("x[0]", "subscripts and lists are not allowed"),
    ("'x'", "strings are not allowed"),
    ("f'{x}'", "strings are not allowed"),
    ("lambda x: x", "':' is not allowed"),
    ("[i for i in x]", "subscripts and lists are not allowed"),
    ("x if y else z", "'if' is a Python keyword"),
    ("__import__('os')", "strings are not allowed"),
    ("__import__", "names starting with '_' are not allowed"),
    ("factorial(x)", "unknown function 'factorial'"),
    ("eval(x)", "unknown function 'eval'"),
    ("I*x", "'I' is not supported"),
    ("oo + x", "'oo' is not supported"),
    ("nan*x", "'nan' is not supported"),
    ("9**9**9", "number too large"),
    ("10**10**10 * x", "number too large"),
    ("1e999999", "too large"),
    ("1" * 500, "number too long"),
    ("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1), f"brackets nested deeper than {MAX_DEPTH}"),
    ("x" + "**x" * (MAX_DEPTH + 1), "'**' chain nested deeper"),
    ("sin(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1), "nested deeper"),
    ("2x", "missing operator between '2' and 'x'"),
    ("x y", "missing operator between 'x' and 'y'"),
    ("sin", "'sin' is a function"),
    ("pi(x)", "'pi' is a constant"),
    ("sin(x, y)", "sin() takes 1 argument"),
    ("1/0 + x", "division by zero"),
    ("log(0) + x", "undefined"),
    ("sqrt(-1) * x", "not a real number"),
    ("x+", "ends too early"),
    ("(x", "'(' is never closed"),
    ("x)", "unexpected ')'"),
    ("x//2", "floor division"),
    ("x % 2", "remainder"),
    ("x == 1", "'=' is not allowed"),
    ("x; y", "only one expression"),
    ("ｘ + 1", "U+FF58 FULLWIDTH LATIN SMALL LETTER X"),
    ("x\u200b+1", "U+200B ZERO WIDTH SPACE"),
    ("х + 1", "CYRILLIC SMALL LETTER HA"),
    ("x²", "SUPERSCRIPT TWO"),
    ("٣ + x", "ARABIC-INDIC DIGIT THREE"),
    ("", "the function is empty"),
    ("   ", "the function is empty"),
]


@pytest.mark.parametrize(("text", "expected", "names"), ACCEPTED)
def test_accepted(text: str, expected: sp.Expr, names: list[str]) -> None:
    expr = parse(text)
    assert sp.simplify(expr - expected) == 0
    assert sorted((s.name for s in expr.free_symbols), key=natural_key) == names


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_sympy_names_are_plain_real_variables(name: str) -> None:
    expr = parse(f"{name}**2 + 1")
    (symbol,) = expr.free_symbols
    assert symbol == sp.Symbol(name, real=True)
    assert expr == symbol**2 + 1


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_refused(text: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert message in caught.value.message
    assert "\n" not in caught.value.message
    assert time.perf_counter() - started < 1.0


def test_caret_is_power_with_the_precedence_of_double_star() -> None:
    assert parse("x^2+1") == parse("x**2+1")
    assert parse("-x^2") == -(x**2)
    assert parse("2*x^3") == 2 * x**3


def test_flat_sum_of_ten_thousand_terms() -> None:
    text = "+".join(f"x{i}**2" for i in range(10_000))
    expr = parse(text)
    assert len(expr.args) == 10_000
    assert sp.Symbol("x9999", real=True) in expr.free_symbols


def test_long_unary_chains_fold_without_recursion() -> None:
    assert parse("-" * 10_001 + "x") == -x
    assert parse("-" * 10_000 + "x") == x


def test_natural_order() -> None:
    names = ["x10", "x2", "x1", "y", "x"]
    assert sorted(names, key=natural_key) == ["x", "x1", "x2", "x10", "y"]


def test_constant_values() -> None:
    assert parse_constant("1/3") == sp.Rational(1, 3)
    assert parse_constant("-pi/4") == -sp.pi / 4
    with pytest.raises(ParseError, match="a number is needed"):
        parse_constant("x+1")


def test_tokens_carry_columns() -> None:
    tokens = tokenize("x ^ 2")
    assert [(t.kind, t.text, t.column) for t in tokens] == [
        ("name", "x", 1),
        ("op", "**", 3),
        ("number", "2", 5),
        ("end", "", 6),
    ]


ALPHABET = st.sampled_from([*list("xy12.e+-*/^(), "), "**", "sin", "log", "sqrt", "pi", "_", "[", "'", "9**9**9"])


@settings(max_examples=300, deadline=2000)
@given(st.lists(ALPHABET, max_size=30).map("".join))
def test_random_token_soup_gives_an_expression_or_a_parse_error(text: str) -> None:
    try:
        result = parse(text)
    except ParseError as error:
        assert error.message and "\n" not in error.message
    else:
        assert isinstance(result, sp.Expr)
