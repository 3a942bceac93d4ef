"""One reading of user values: points, name=value lists and numbers mean the same to every command."""

from __future__ import annotations

import json

import pytest
import sympy as sp
from conftest import cli
from hypothesis import given, settings
from hypothesis import strategies as st

from symdescent.errors import InputError
from symdescent.values import assignments, exact_number, float_point, number, read_point, split_top_level


def test_points_in_every_spelling() -> None:
    names = ("x", "y")
    assert read_point(names, "y = 2, x = -1/3") == (sp.Rational(-1, 3), 2)
    assert float_point(names, {"y": 2, "x": 1}) == (1.0, 2.0)
    assert float_point(("x",), 3) == (3.0,)
    assert float_point(names, "atan2(1,1), pi") == pytest.approx((0.7853981633974483, 3.141592653589793))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("1", "has 1 value"),
        ("x=1", "no value for y"),
        ("x=1, x=2", "x is given twice"),
        ("x=1, 2", "mix of named and unnamed"),
        ("1,", "no value for y"),
        (None, "missing"),
        (b"1,2", "not bytes"),
        (("1", "oo"), "not usable"),
    ],
)
def test_bad_points(values: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_point(("x", "y"), values)


def test_assignments_and_numbers() -> None:
    assert assignments("a=2, b = pi", "params") == {"a": "2", "b": "pi"}
    with pytest.raises(InputError, match="write name=value"):
        assignments("a", "params")
    with pytest.raises(InputError, match="more than once"):
        assignments("a=1,a=2", "params")
    assert exact_number("0.1", "lr") == (sp.Rational(1, 10), True)
    assert exact_number(0.1, "lr") == (sp.Rational(1, 10), True)
    assert exact_number("1/3", "lr") == (sp.Rational(1, 3), False)
    assert number(10**30, "lr") == sp.Integer(10**30)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=4))
def test_named_and_plain_points_agree(values: list[int]) -> None:
    names = tuple(f"x{i}" for i in range(len(values)))
    plain = ", ".join(map(str, values))
    named = ", ".join(f"{n} = {v}" for n, v in reversed(list(zip(names, values, strict=True))))
    assert read_point(names, plain) == read_point(names, named) == tuple(map(sp.Integer, values))
    assert split_top_level(plain) == [str(v) for v in values]


@pytest.mark.parametrize("command", ["run", "explain", "grad"])
def test_every_command_reads_a_named_start_like_run(command: str) -> None:
    """explain used to parse the point itself and failed with a KeyError on spaces around '='."""
    option = "--at" if command == "grad" else "--start"
    named = cli(command, "x**2+y**2", option, "x = 1, y = 2", *(["--format", "json"] if command != "explain" else []))
    plain = cli(command, "x**2+y**2", option, "1,2", *(["--format", "json"] if command != "explain" else []))
    assert named.exit_code == plain.exit_code == 0, named.stderr
    assert named.stdout == plain.stdout


def test_explain_named_start_in_reverse_order() -> None:
    out = cli("explain", "x**2+3*y", "--start", "y = 2, x = 1", "--format", "text")
    assert out.exit_code == 0, out.stderr
    run = cli("run", "x**2+3*y", "--start", "y = 2, x = 1", "--format", "json", "--steps", "1")
    assert json.loads(run.stdout)["start"] == {"x": 1.0, "y": 2.0}
