"""The loop: the seed's worked example exactly, stopping rules, failures, and a law."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symdescent import Status, iterate, make_problem, minimize
from symdescent.errors import InputError, StartPointError


def first_step_below(norm0: float, ratio: float, tol: float) -> int:
    """The first t with norm0 * ratio**t <= tol, from the closed form."""
    return next(t for t in itertools.count() if norm0 * ratio**t <= tol)


def test_seed_iterates_are_powers_of_four_fifths() -> None:
    result = minimize("x**2+y**2", (1, 2), lr=0.1)
    for step in result.history:
        t = step.step
        assert step.x == pytest.approx((0.8**t, 2 * 0.8**t), rel=1e-12, abs=0)
        assert step.f == pytest.approx(5 * 0.64**t, rel=1e-12)
        assert step.grad == pytest.approx((2 * 0.8**t, 4 * 0.8**t), rel=1e-12)
    assert result.history[0].grad == (2.0, 4.0)


def test_seed_stops_at_the_first_step_below_tol() -> None:
    result = minimize("x**2+y**2", (1, 2), lr=0.1, tol=1e-6)
    expected = first_step_below(math.sqrt(20), 0.8, 1e-6)
    assert expected == 69
    assert result.steps == expected
    assert result.status is Status.CONVERGED
    assert result.grad_norm <= 1e-6 < result.history[-2].grad_norm
    assert len(result.history) == expected + 1


def test_result_attributes_follow_the_json_keys() -> None:
    result = minimize("x**2+y**2", (1, 2), lr=0.1)
    assert result.function == "x**2 + y**2"
    assert result.variables == ("x", "y")
    assert result.gradient == ("2*x", "2*y")
    assert result.method == "gd"
    assert result.params == {"lr": 0.1, "engine": "python"}
    assert result.start == {"x": 1.0, "y": 2.0}  # x and start map each name to its value, as in the JSON
    assert result.flat_start == (1.0, 2.0)
    assert result.x == dict(zip(("x", "y"), result.history[-1].x, strict=True))
    assert result.flat == result.history[-1].x
    assert "‖∇f‖" in result.message


def test_tol_zero_runs_exactly_n_steps() -> None:
    result = minimize("x**2", (1,), lr=0.5, tol=0, max_steps=7)
    assert result.status is Status.COMPLETED
    assert result.steps == 7
    assert [s.step for s in result.history] == list(range(8))


def test_step_limit() -> None:
    result = minimize("x**2", (1,), lr=0.01, max_steps=5)
    assert result.status is Status.MAX_STEPS
    assert result.steps == 5
    assert result.flat[0] == pytest.approx(0.98**5)


def test_step_limit_advice_depends_on_progress() -> None:
    slow = minimize("x**2", (1,), lr=0.01, max_steps=5)
    assert slow.message.endswith("allow more steps or a larger learning rate")
    stuck = minimize("abs(x)", (1,), lr=0.3, max_steps=50)  # bounces around the kink with |f'| = 1
    assert stuck.status is Status.MAX_STEPS
    assert "did not go down from 1 at the start" in stuck.message


def test_reciprocal_converges_to_its_minimum() -> None:
    result = minimize("x + 1/x", (2,), lr=0.1)
    assert result.status is Status.CONVERGED
    assert result.flat[0] == pytest.approx(1.0, abs=1e-6)
    assert result.history[0].grad == (0.75,)


def test_start_point_as_mapping_or_number() -> None:
    assert minimize("x**2+y**2", {"x": 1, "y": 2}, max_steps=0).flat_start == (1.0, 2.0)
    assert minimize("x**2", 3, max_steps=0).flat_start == (3.0,)
    with pytest.raises(InputError, match="no value for y"):
        minimize("x**2+y**2", {"x": 1})


def test_converged_at_the_start() -> None:
    result = minimize("x**2", (0,), lr=0.1)
    assert (result.status, result.steps) == (Status.CONVERGED, 0)


def test_divergence_is_reported_with_its_step() -> None:
    result = minimize("x**2", (1,), lr=1.5)
    assert result.status is Status.DIVERGED
    assert math.isinf(result.f)
    # |x_t| = 2**t and f = 4**t overflows past 2**1024
    assert result.steps == 512
    assert "at step 512" in result.message and "smaller learning rate" in result.message


def test_leaving_the_domain_is_divergence_naming_the_culprit() -> None:
    result = minimize("log(x) + x**2", (1,), lr=2)
    assert result.status is Status.DIVERGED
    assert result.steps == 1
    assert result.flat == (-5.0,)  # 1 - 2 * (1/1 + 2*1)
    assert math.isnan(result.f)
    assert "log(x) is not real at x = -5" in result.message


@pytest.mark.parametrize(
    ("function", "start", "message"),
    [
        ("log(x)", (0,), "log(x) is undefined at x = 0"),
        ("sqrt(x)", (-1,), "sqrt(x) is not real at x = -1"),
        ("sqrt(x)", (0,), "the gradient fails"),
        ("1/x + y", (0, 1), "1/x is undefined at x = 0, y = 1"),
        ("exp(x)", (1000,), "exp(x) overflows a float at x = 1000"),
        ("x**0.5", (-4,), "not real"),
    ],
)
def test_bad_start_points(function: str, start: tuple, message: str) -> None:
    with pytest.raises(StartPointError) as caught:
        iterate(function, start)
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lr": 0}, "positive"),
        ({"lr": math.inf}, "positive"),
        ({"lr": -1}, "positive"),
        ({"tol": -1}, "^tol must be 0 or a positive"),
        ({"tol": math.nan}, "^tol must be"),
        ({"max_steps": -1}, "^max_steps must be"),
        ({"method": "sgd"}, "unknown method"),
    ],
)
def test_bad_options(options: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        iterate("x**2", (1,), **options)


def test_iterate_is_lazy() -> None:
    run = iterate("x**2+y**2", (1, 2), lr=0.1, tol=0, max_steps=10**12)
    first = list(itertools.islice(run, 3))
    assert [s.step for s in first] == [0, 1, 2]
    assert run.status is None
    run.interrupt()
    result = run.result(first)
    assert result.status is Status.INTERRUPTED
    assert result.steps == 2


def test_maximize_climbs() -> None:
    result = minimize("-(x-1)**2 - (y+2)**2", (0, 0), lr=0.25, maximize=True)
    assert result.status is Status.CONVERGED
    assert result.flat == pytest.approx((1, -2), abs=1e-6)
    assert all(b.f >= a.f for a, b in itertools.pairwise(result.history))


def test_rosenbrock_reaches_the_minimum() -> None:
    result = minimize("(1-x)**2+100*(y-x**2)**2", (-1.2, 1), lr=0.001, max_steps=50_000, tol=1e-6)
    assert result.status is Status.CONVERGED
    assert result.flat == pytest.approx((1, 1), abs=1e-4)


@st.composite
def convex_quadratics(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 3))
    entries = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
    b = np.array(draw(st.lists(st.lists(entries, min_size=n, max_size=n), min_size=n, max_size=n)))
    a = b.T @ b + np.eye(n) * draw(st.floats(0.01, 2))
    c = np.array(draw(st.lists(entries, min_size=n, max_size=n)))
    x0 = np.array(draw(st.lists(entries, min_size=n, max_size=n)))
    return a, c, x0


@settings(max_examples=30, deadline=None)
@given(convex_quadratics(), st.floats(0.05, 0.95))
def test_f_never_increases_on_convex_quadratics_below_two_over_l(
    quadratic: tuple[np.ndarray, np.ndarray, np.ndarray], fraction: float
) -> None:
    a, c, x0 = quadratic
    n = len(c)
    symbols = sp.symbols(f"v1:{n + 1}", real=True)
    vector = sp.Matrix(symbols)
    matrix = sp.Matrix(n, n, lambda i, j: sp.Float(a[i, j]))
    linear = sum(sp.Float(ci) * s for ci, s in zip(c, symbols, strict=True))
    expr = sp.expand((vector.T * matrix * vector)[0] / 2 + linear)
    lipschitz = float(np.linalg.eigvalsh(a).max())
    result = minimize(make_problem(expr), tuple(x0), lr=fraction * 2 / lipschitz, tol=0, max_steps=40)
    values = [s.f for s in result.history]
    for before, after in itertools.pairwise(values):
        assert after <= before + 1e-9 * (1 + abs(before))


@pytest.mark.parametrize(
    ("options", "status", "words"),
    [
        ({"max_steps": 1, "tol": 0}, "completed", "all 1 step done"),
        ({"max_steps": 1}, "max_steps", "after 1 step with"),
        ({"max_steps": 2}, "max_steps", "after 2 steps with"),
        ({"lr": 0.5}, "converged", "after 1 step"),
    ],
)
def test_messages_say_step_or_steps(options: dict, status: str, words: str) -> None:
    result = minimize("x**2", (1,), **options)
    assert result.status == status
    assert words in result.message and "1 steps" not in result.message


def test_a_result_is_immutable_and_copies_with_replace() -> None:
    """Result is a plain class (a warm run does not import dataclasses) that behaves as the frozen dataclass did."""
    import copy
    import pickle

    result = minimize("x**2 + y**2", (1, 2), lr=0.1, max_steps=3, tol=0)
    assert result.x == {"x": pytest.approx(0.512), "y": pytest.approx(1.024)}  # 0.8³·(1, 2)
    with pytest.raises(AttributeError, match="immutable"):
        result.f = 0.0  # type: ignore[misc]  # the point: it is refused
    shorter = result.replace(steps=2, history=result.history[:3])
    assert (shorter.steps, len(shorter.history), shorter.x) == (2, 3, result.x) and result.steps == 3
    with pytest.raises(TypeError, match="no field 'colour'"):
        result.replace(colour="red")
    assert pickle.loads(pickle.dumps(result)) == result == copy.deepcopy(result) != shorter
    assert repr(result).startswith("Result(function='x**2 + y**2', variables=('x', 'y'),")
