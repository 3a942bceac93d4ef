"""The library raises only its own errors (SymdescentError subclasses) for bad arguments, never a bare Python one.

A caller can then write one ``except SymdescentError`` around any call. The
table holds the cases the issue found; hypothesis throws odd values of every
type at every argument of the public functions.
"""

from __future__ import annotations

import contextlib
import math
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symdescent import SymdescentError, iterate, make_problem, minimize
from symdescent.compare import compare
from symdescent.errors import InputError
from symdescent.explain import explain


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: minimize("x**2", start=(1,), lr=10**400), "lr must be a positive finite number"),
        (lambda: compare(make_problem("x**2+y**2"), (1, 2), ["gd", "evil"]), "unknown method 'evil'"),
        (lambda: minimize(b"x**2", start=(1,)), "must be text or a SymPy expression, not bytes"),
        (lambda: minimize("x**2", start=None), "the start point is missing"),
        (lambda: minimize("x**2", start=(1,), method="evil"), "unknown method 'evil'"),
        (lambda: minimize("x**2", start=(1,), max_steps=2.5), "max_steps must be a whole number"),
        (lambda: minimize("x**2", start=(1,), tol="small"), "tol must be 0 or a positive finite number"),
        (lambda: minimize("x**2", start=(10**400,)), "not a finite real number"),
        (lambda: minimize("x**2", start=(math.nan,)), "must be a finite number"),
        (lambda: minimize("x**2", start=(1,), lr=1e-1, exact=True, working_precision=5), "exclude each other"),
        (lambda: minimize("x**2", start=(1,), working_precision=0), "working_precision must be a whole number"),
        (lambda: minimize("x**2", start=(1,), method="adam", exact=True), "exact works with the methods"),
        (lambda: minimize("x**2", start=(1,), variables="x"), "variables must be a sequence of names"),
        (lambda: minimize("a*x**2", start=(1,), params=["a"]), "params must be a mapping"),
        (lambda: minimize("x**2", start={"y": 1}), "'y' is not a variable"),
        (lambda: minimize("x**2", start=("1/0",)), "division by zero"),
        (lambda: explain(make_problem("x**2"), "1", lr=None), "lr must be a number"),
        (lambda: compare(make_problem("x**2"), (1,), "gd"), "methods must be a sequence"),
    ],
)
def test_bad_arguments_raise_the_projects_own_error(call, message: str) -> None:
    with pytest.raises(SymdescentError, match=message):
        call()


def test_the_message_names_the_keyword_and_marks_it() -> None:
    with pytest.raises(InputError) as caught:
        minimize("x**2", start=(1,), method="momentum", momentum=1.5)
    assert caught.value.message.startswith("momentum must lie in [0, 1)")
    assert caught.value.parameter == "momentum"


def test_good_unusual_number_types_are_accepted() -> None:
    """numpy scalars, Fractions and SymPy numbers are numbers too."""
    np = pytest.importorskip("numpy")
    result = minimize("x**2 + y**2", start=(np.float64(1.0), Fraction(1, 2)), lr=sp.Rational(1, 10), max_steps=3, tol=0)
    assert result.flat_start == (1.0, 0.5) and result.steps == 3


ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=4),
    st.lists(st.one_of(st.integers(-5, 5), st.floats(), st.text(max_size=3)), max_size=3),
    st.tuples(st.floats(), st.floats()),
    st.dictionaries(st.text(max_size=2), st.integers(-3, 3), max_size=2),
    st.just(object()),
    st.just(sp.Symbol("x")),
    st.just(sp.oo),
    st.just(sp.I),
    st.just(Fraction(1, 3)),
)

ARGUMENTS = (
    "start",
    "lr",
    "max_steps",
    "tol",
    "method",
    "variables",
    "params",
    "maximize",
    "exact",
    "working_precision",
)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(ARGUMENTS), value=ODD)
def test_any_odd_argument_is_accepted_or_refused_with_our_error(name: str, value: object) -> None:
    arguments: dict[str, object] = {"start": (1.0, 2.0), "max_steps": 3}
    arguments[name] = value
    start = arguments.pop("start")
    try:
        run = iterate("x**2 + y**2", start, **arguments)  # type: ignore[arg-type]
        for _ in run:
            pass
    except SymdescentError:
        pass


@settings(max_examples=60, deadline=None)
@given(function=ODD, hyper=st.sampled_from(["momentum", "beta1", "eps", "decay", "nonsense"]), value=ODD)
def test_any_odd_function_or_hyperparameter_is_refused_with_our_error(
    function: object, hyper: str, value: object
) -> None:
    for call in (
        lambda: minimize(function, start=(1,), max_steps=2),  # type: ignore[arg-type]
        lambda: minimize("x**2", start=(1,), method="adam", max_steps=2, **{hyper: value}),
        lambda: compare(make_problem("x**2"), (1,), ["gd", "momentum"], max_steps=2, **{hyper: value}),
        lambda: explain(make_problem("x**2"), (1,), lr=value),
    ):
        with contextlib.suppress(SymdescentError):
            call()
