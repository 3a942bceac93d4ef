"""The rule engine: each rule named where a textbook names it, and the result always equal to SymPy's diff."""

from __future__ import annotations

import random

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from symdescent.derivation import RULES, derive
from symdescent.parsing import parse

x, y = sp.symbols("x y", real=True)


def rules(text: str, variable: sp.Symbol = x) -> list[tuple[str, str | None]]:
    return [(s.rule, s.outer) for _, s in derive(parse(text), variable).walk()]


def test_blog_example_power_rule() -> None:
    step = derive(parse("x**2+y**2"), x)
    assert step.rule == "sum"
    assert step.result == 2 * x
    assert [(c.rule, c.expr, c.result) for c in step.children] == [("power", x**2, 2 * x), ("constant", y**2, 0)]
    assert step.formula == sp.Add(sp.Derivative(x**2, x), sp.Derivative(y**2, x), evaluate=False)
    assert derive(parse("x**2+y**2"), y).result == 2 * y


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", [("constant", None)]),
        ("y", [("constant", None)]),
        ("x", [("variable", None)]),
        ("3*x", [("constant multiple", None), ("variable", None)]),
        ("x**5", [("power", None)]),
        ("1/x", [("power", None)]),
        ("sqrt(x)", [("sqrt", None)]),
        ("2**x", [("exponential", None)]),
        ("x**x", [("general power", None), ("variable", None), ("variable", None)]),
        ("x*sin(x)", [("product", None), ("variable", None), ("sin", None)]),
        ("sin(x)/x", [("quotient", None), ("sin", None), ("variable", None)]),
        ("exp(x**2)", [("chain", "exp"), ("power", None)]),
        ("log(x)", [("log", None)]),
        ("abs(x)", [("abs", None)]),
        ("(x+1)**3", [("chain", "power"), ("sum", None), ("variable", None), ("constant", None)]),
        ("atan2(y, x)", [("chain", "atan2"), ("variable", None)]),
    ],
)
def test_each_rule_is_named(text: str, expected: list[tuple[str, str | None]]) -> None:
    assert rules(text) == expected


@pytest.mark.parametrize(
    "name",
    [
        "sin",
        "cos",
        "tan",
        "cot",
        "sec",
        "csc",
        "asin",
        "acos",
        "atan",
        "sinh",
        "cosh",
        "tanh",
        "asinh",
        "acosh",
        "atanh",
    ],
)
def test_trigonometric_and_hyperbolic_rules(name: str) -> None:
    alone = derive(parse(f"{name}(x)"), x)
    assert alone.rule == name
    assert sp.simplify(alone.result - sp.diff(parse(f"{name}(x)"), x)) == 0
    chained = derive(parse(f"{name}(x**2)"), x)
    assert (chained.rule, chained.outer) == ("chain", name)
    assert sp.simplify(chained.result - sp.diff(parse(f"{name}(x**2)"), x)) == 0


def test_constants_in_a_sum_fold_into_one_step() -> None:
    step = derive(parse("x + 2*y - 7 + y**3"), x)
    assert [c.rule for c in step.children] == ["variable", "constant"]
    assert step.children[1].expr == 2 * y - 7 + y**3


def test_every_rule_name_is_in_the_table() -> None:
    text = "x*sin(x)/(1+x**2) + exp(x)*log(x) + sqrt(x) + abs(x) + 2**x + x**x + atan2(y, x) + cosh(x)"
    used = {r for _, s in derive(parse(text), x).walk() for r in (s.rule, s.outer) if r}
    assert used <= set(RULES)
    assert {"sum", "product", "quotient", "chain", "power", "sqrt", "exp", "log", "abs"} <= used


def test_big_inputs_are_capped_and_still_right() -> None:
    text = "+".join(f"sin({i}*x)**2" for i in range(1, 60))
    step = derive(parse(text), x, budget=20)
    assert step.size <= 20 + 59  # the budget, plus one elided leaf per remaining term
    assert step.elided > 0
    assert sp.expand(step.result - sp.diff(parse(text), x)) == 0


# -- property: the engine agrees with sympy.diff -------------------------------------------

_UNARY = [sp.sin, sp.cos, sp.tan, sp.exp, sp.log, sp.sqrt, sp.Abs, sp.atan, sp.sinh, sp.cosh, sp.tanh, sp.asinh, sp.cot]
_LEAVES = st.sampled_from([x, y, sp.Integer(1), sp.Integer(2), sp.Integer(3), sp.Rational(1, 2), sp.Integer(-1)])


def _extend(children: st.SearchStrategy[sp.Expr]) -> st.SearchStrategy[sp.Expr]:
    return st.one_of(
        st.tuples(children, children).map(lambda p: p[0] + p[1]),
        st.tuples(children, children).map(lambda p: p[0] * p[1]),
        st.tuples(children, children).filter(lambda p: p[1] != 0).map(lambda p: p[0] / p[1]),
        st.tuples(children, st.sampled_from([2, 3, -1, -2, sp.Rational(1, 2), sp.Rational(-1, 2)])).map(
            lambda p: p[0] ** p[1]
        ),
        st.tuples(st.sampled_from(_UNARY), children).map(lambda p: p[0](p[1])),
        st.tuples(children, children).map(lambda p: p[0] ** p[1]),
        st.tuples(children, children).map(lambda p: sp.atan2(p[0], p[1])),
    )


expressions = st.recursive(_LEAVES, _extend, max_leaves=7).filter(
    lambda e: not e.has(sp.zoo, sp.oo, -sp.oo, sp.nan) and sp.count_ops(e) < 40
)


def _numerically_equal(a: sp.Expr, b: sp.Expr) -> bool:
    """Equal at random real points where both are defined (a fallback when simplify cannot decide)."""
    rng = random.Random(0)
    checked = 0
    for _ in range(12):
        point = {x: sp.Float(rng.uniform(0.2, 2.5)), y: sp.Float(rng.uniform(0.2, 2.5))}
        va, vb = complex(a.xreplace(point).evalf(30)), complex(b.xreplace(point).evalf(30))
        if any(v != v or abs(v) == float("inf") for v in (va, vb)):
            continue
        if abs(va - vb) > 1e-9 * max(1.0, abs(va), abs(vb)):
            return False
        checked += 1
    return checked > 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(expressions, st.sampled_from([x, y]))
def test_engine_equals_sympy_diff(expr: sp.Expr, variable: sp.Symbol) -> None:
    reference = sp.diff(expr, variable)
    # e.g. 0**x: not a real function of x, and SymPy's own derivative is zoo*0**x
    assume(not reference.has(sp.zoo, sp.oo, -sp.oo, sp.nan))
    engine = derive(expr, variable).result
    difference = engine - reference
    assert difference == 0 or sp.simplify(difference) == 0 or _numerically_equal(engine, reference)
