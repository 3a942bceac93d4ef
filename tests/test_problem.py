"""The problem: variables, parameters, the gradient and its compiled form."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from symdescent.errors import InputError
from symdescent.problem import gradient, make_problem
from symdescent.values import float_point

x, y, z, a = sp.symbols("x y z a", real=True)


def test_seed_gradient_at_start() -> None:
    problem = make_problem("x**2+y**2")
    assert problem.gradient == (2 * x, 2 * y)
    assert problem.value_and_grad(1.0, 2.0) == [5.0, 2.0, 4.0]


def test_gradient_of_three_variables() -> None:
    problem = make_problem("x**2+y**2+z**3")
    f, *g = problem.value_and_grad(1.0, 1.0, 2.0)
    assert (f, g) == (10.0, [2.0, 2.0, 12.0])


@pytest.mark.parametrize(
    "text",
    [
        "(1-x)**2+100*(y-x**2)**2",
        "(x+2*y-7)**2+(2*x+y-5)**2",
        "sin(x)*cos(y) + exp(x*y) + x",
        "log(1+x**2) + sqrt(1+y**2) + abs(x - y)",
        "x*y*z + z**3 - x",
    ],
)
def test_per_term_gradient_equals_sympy_diff(text: str) -> None:
    problem = make_problem(text)
    assert problem.gradient == tuple(sp.diff(problem.expr, v) for v in problem.variables)


@pytest.mark.parametrize(
    "text",
    [
        "sin(x)*exp(y) + x**3*y - log(1+y**2)",
        "x + 1/x + 2/y**2 - 3/(x*y)**3 + x**-4",  # negative powers: 2/x**3 is not 2/x*x*x
        "(x+y)**2/(x-y)**4 + y**3/x**2",
        "sqrt(x**2+y**2) + abs(x*y)**3 + exp(-x**2)/y**2",
    ],
)
def test_compiled_f_and_gradient_match_sympy_at_a_point(text: str) -> None:
    problem = make_problem(text)
    point = {x: 0.3, y: -0.7}
    f, *g = problem.value_and_grad(0.3, -0.7)
    assert f == pytest.approx(float(problem.expr.evalf(subs=point)), rel=1e-13)
    for got, expr in zip(g, problem.gradient, strict=True):
        assert got == pytest.approx(float(expr.evalf(subs=point)), rel=1e-13)


def test_gradient_of_reciprocals_by_hand() -> None:
    f, df = make_problem("x + 1/x").value_and_grad(2.0)
    assert (f, df) == (2.5, 0.75)
    f, df = make_problem("x**2 + 1/x**2").value_and_grad(2.0)
    assert (f, df) == (4.25, 3.75)


def test_variables_in_natural_order_and_given_order() -> None:
    assert make_problem("x10 + x2 + x1").names == ("x1", "x2", "x10")
    assert make_problem("x + y", variables=["y", "x"]).names == ("y", "x")
    assert make_problem("x**2", variables=["x", "y"]).gradient == (2 * x, 0)


def test_params_are_fixed_not_variables() -> None:
    problem = make_problem("a*x**2 + y**2", params={"a": "3"})
    assert problem.names == ("x", "y")
    assert problem.gradient == (6 * x, 2 * y)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"function": "3 + pi"}, "no variables"),
        ({"function": "x + y", "variables": ["x"]}, "which variables does not list"),
        ({"function": "x", "variables": ["x", "x"]}, "more than once"),
        ({"function": "x", "variables": ["x-1"]}, "bad variable name"),
        ({"function": "x", "params": {"b": "1"}}, "does not appear"),
        ({"function": "a*x", "params": {"a": "y"}}, "a number is needed"),
    ],
)
def test_problem_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        make_problem(**kwargs)


def test_point_values() -> None:
    problem = make_problem("x**2+y**2")

    def point_values(problem, values):
        return float_point(problem.names, values)

    assert point_values(problem, "1,2") == (1.0, 2.0)
    assert point_values(problem, "y=2, x=-1") == (-1.0, 2.0)
    assert point_values(problem, "1/3, pi/4") == (1 / 3, math.pi / 4)
    assert point_values(problem, (1, 2)) == (1.0, 2.0)
    for bad, message in [
        ("1", "has 1 value"),
        ("x=1", "no value for y"),
        ("x=1,z=2", "'z' is not a variable"),
        ("1,q", "a number is needed"),
        ("1,1e400", "too large"),
    ]:
        with pytest.raises(InputError, match=message):
            point_values(problem, bad)


def test_gradient_helper_on_plain_expression() -> None:
    assert gradient(x * y + y**2, (x, y)) == (y, x + 2 * y)
