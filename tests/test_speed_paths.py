"""The fast paths give the same numbers as the plain ones: fused gd = generic loop (bit for bit),
compiled source = SymPy's lambdify (to rounding), symengine = python engine (to rounding).

No timing here: speed is measured by the scripts in bench/.
"""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
import sympy as sp
from conftest import BOOTH, ROSENBROCK, SEED, cli

from symdescent import iterate, minimize
from symdescent.engine import SYMENGINE_MIN_VARIABLES, PythonEngine, SymengineEngine
from symdescent.optimizers import Optimizer, gd
from symdescent.problem import make_problem
from symdescent.result import Result, Status


def generic_gd(lr: float) -> Optimizer:
    """gd through a wrapper the fast path does not recognise: it runs the generic loop."""
    plain = gd(lr=lr)
    return plain._replace(update=lambda grad, state, x: plain.update(grad, state, x))


def chained_rosenbrock(n: int) -> str:
    return " + ".join(f"100*(x{i + 1}-x{i}**2)**2 + (1-x{i})**2" for i in range(1, n))


CASES = [
    pytest.param(SEED, (1, 2), {"lr": 0.1}, id="seed-converges"),
    pytest.param(SEED, (1, 2), {"lr": 0.1, "tol": 0, "max_steps": 50}, id="seed-completed"),
    pytest.param(BOOTH, (0, 0), {"lr": 0.01, "max_steps": 300}, id="booth-max-steps"),
    pytest.param(ROSENBROCK, (-1.2, 1), {"lr": 0.001, "tol": 0, "max_steps": 3000}, id="rosenbrock"),
    pytest.param("-(x**2) - y**2", (1, 2), {"lr": 0.1, "maximize": True}, id="maximize"),
    pytest.param("x**2", (1,), {"lr": 1.5}, id="overflow"),
    pytest.param("sqrt(x) + (x-3)**2", (1,), {"lr": 2}, id="sqrt-out-of-domain"),
    pytest.param("log(x) + x**2 + y**2", (1, 1), {"lr": 0.9}, id="log-out-of-domain"),
    pytest.param("x**(1/3) + (x+2)**2", (1,), {"lr": 0.3}, id="complex-power"),
    pytest.param("1/x + x**2", (0.5,), {"lr": 0.5}, id="division-by-zero"),
    pytest.param("exp(x)", (700,), {"lr": 1e-300, "maximize": True, "max_steps": 20}, id="exp-overflow"),
    pytest.param(SEED, (0, 0), {"lr": 0.1}, id="converged-at-start"),
    pytest.param(SEED, (1, 2), {"lr": 0.1, "max_steps": 0}, id="no-steps"),
    pytest.param(chained_rosenbrock(12), [0.5] * 12, {"lr": 0.001, "tol": 0, "max_steps": 200}, id="chained-12"),
]


def run_to_end(problem, start, **options) -> tuple[str, Result]:
    """Which loop ran ("fused", "vector" or "generic") and the result with its history."""
    run = iterate(problem, start, **options)
    history = list(run)
    return run.loop, run.result(history)


#: Cases where the first step already ends the run: no loop but the generic one has anything to do.
ENDS_AT_START = {"converged-at-start", "no-steps"}


@pytest.mark.parametrize(("function", "start", "options"), CASES)
def test_fused_gd_equals_the_generic_loop_bit_for_bit(function: str, start, options: dict, request) -> None:
    problem = make_problem(function)
    lr = options.pop("lr")
    fast_loop, fast = run_to_end(problem, start, lr=lr, **options)
    plain_loop, plain = run_to_end(problem, start, method=generic_gd(lr), **options)
    ends_at_start = request.node.callspec.id in ENDS_AT_START
    assert fast_loop == ("generic" if ends_at_start else "fused")
    assert plain_loop == "generic"
    assert fast.history == plain.history  # floats compared with ==: bitwise (no NaNs in a history)
    assert (fast.status, fast.message, fast.steps) == (plain.status, plain.message, plain.steps)


def test_any_wrapper_drops_the_fast_path() -> None:
    """The fused loop is chosen from what the optimiser is: gd itself, not something that only looks like it."""
    plain = gd(lr=0.1)
    wrapped = [
        plain._replace(update=lambda g, s, x, **e: plain.update(g, s, x)),
        plain._replace(name="not-gd"),  # the name does not matter: still a bare Scale
    ]
    assert iterate(SEED, (1, 2), method=wrapped[0]).loop == "generic"
    assert iterate(SEED, (1, 2), method=wrapped[1]).loop == "fused"
    assert iterate(SEED, (1, 2), method="momentum", momentum=0.0).loop == "generic"
    assert iterate(SEED, (1, 2), lr=0.1, working_precision=20).loop == "generic"


def test_the_fused_loop_can_fail_its_own_test() -> None:
    """A fused loop that computed something else would be caught: compare a wrong lr against the generic loop."""
    problem = make_problem(SEED)
    _, fast = run_to_end(problem, (1, 2), lr=0.1, max_steps=5, tol=0)
    _, other = run_to_end(problem, (1, 2), method=generic_gd(0.1 + 1e-16), max_steps=5, tol=0)
    assert fast.history != other.history


def test_the_out_of_domain_cases_do_diverge_and_say_why() -> None:
    result = minimize("sqrt(x) + (x-3)**2", (1,), lr=2)
    assert result.status is Status.DIVERGED
    assert "sqrt(x) is undefined" in result.message or "sqrt(x) is not real" in result.message
    result = minimize("log(x) + x**2 + y**2", (1, 1), lr=0.9)
    assert result.status is Status.DIVERGED and "log(x)" in result.message


def test_fused_loop_is_lazy_and_tracks_the_last_step() -> None:
    run = iterate(ROSENBROCK, (-1.2, 1), lr=0.001, tol=0, max_steps=10**9)
    steps = iter(run)
    first_five = [next(steps) for _ in range(5)]
    assert [s.step for s in first_five] == [0, 1, 2, 3, 4]
    assert run.last.step == 4
    run.interrupt()
    assert run.status is Status.INTERRUPTED
    assert run.result().steps == 4


def test_compiled_source_matches_lambdify() -> None:
    """Our printed source against SymPy's own lambdify (math module), to rounding."""
    functions = [SEED, BOOTH, ROSENBROCK, "sin(x)*exp(y) + atan2(x, y) + sec(x) + log(x, 3) + abs(y)**3 + 0.1*x"]
    functions += ["2/x**3 + y**2/(x+y)**2 - 1/(x*y)**4"]
    for function in functions:
        problem = make_problem(function)
        reference = sp.lambdify(problem.variables, [problem.expr, *problem.gradient], modules="math")
        for point in [(0.3, 0.7), (1.5, -2.0), (2.0, 0.25)][: 1 + len(problem.variables)]:
            x = point[: problem.dimension]
            assert problem.value_and_grad(*x) == pytest.approx(reference(*x), rel=1e-13, abs=1e-15)


def test_small_problems_use_the_python_engine_and_say_so() -> None:
    problem = make_problem(SEED)
    assert isinstance(problem.engine, PythonEngine)
    data = json.loads(cli("run", SEED, "--start", "1,2", "--format", "json").stdout)
    assert data["params"] == {"lr": 0.1, "engine": "python"}


def test_many_variables_without_symengine_use_the_python_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("symdescent.engine.have_symengine", lambda: False)
    problem = make_problem(chained_rosenbrock(40))
    assert problem.engine.name == "python"
    result = minimize(problem, [0.5] * 40, lr=0.001, tol=0, max_steps=5)
    assert result.params["engine"] == "python" and result.steps == 5


needs_symengine = pytest.mark.skipif(importlib.util.find_spec("symengine") is None, reason="symengine is not installed")


@needs_symengine
def test_symengine_engine_matches_the_python_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    n = SYMENGINE_MIN_VARIABLES  # the smallest problem symengine takes; more variables take the same path
    function = chained_rosenbrock(n)
    start = [0.5 + 0.01 * i for i in range(n)]
    fast_problem = make_problem(function)
    assert isinstance(fast_problem.engine, SymengineEngine)
    fast = minimize(fast_problem, start, lr=0.001, tol=0, max_steps=100)
    monkeypatch.setenv("SYMDESCENT_ENGINE", "python")
    plain = minimize(make_problem(function), start, lr=0.001, tol=0, max_steps=100)
    assert (fast.params["engine"], plain.params["engine"]) == ("symengine", "python")
    assert (fast.status, fast.steps) == (plain.status, plain.steps)
    for a, b in zip(fast.history, plain.history, strict=True):
        assert a.x == pytest.approx(b.x, rel=1e-12, abs=1e-14)
        assert a.f == pytest.approx(b.f, rel=1e-12)
        assert a.grad == pytest.approx(b.grad, rel=1e-10, abs=1e-12)
    # The SymPy gradient text is the same function as symengine's.
    names = fast_problem.names
    for text, exact in zip(fast.gradient, plain.gradient, strict=False):
        point = dict(zip(names, start, strict=True))
        assert float(sp.sympify(text).subs(point)) == pytest.approx(float(sp.sympify(exact).subs(point)), rel=1e-12)


@needs_symengine
def test_symengine_vector_loop_matches_its_generic_loop() -> None:
    problem = make_problem(chained_rosenbrock(40))
    start = [0.5] * 40
    fast_loop, fast = run_to_end(problem, start, lr=0.001, tol=0, max_steps=50)
    plain_loop, plain = run_to_end(problem, start, method=generic_gd(0.001), tol=0, max_steps=50)
    assert (fast_loop, plain_loop) == ("vector", "generic")
    # The same points, f and gradients bit for bit; only ‖∇f‖ is computed another way (to rounding).
    assert [(s.step, s.x, s.f, s.grad) for s in fast.history] == [(s.step, s.x, s.f, s.grad) for s in plain.history]
    assert [s.grad_norm for s in fast.history] == pytest.approx([s.grad_norm for s in plain.history], rel=1e-14)


@needs_symengine
def test_symengine_engine_diverges_at_the_same_step(monkeypatch: pytest.MonkeyPatch) -> None:
    function = "log(x1) + " + " + ".join(f"(x{i} - 1)**2" for i in range(1, 41))
    start = [2.0] * 40
    fast = minimize(make_problem(function), start, lr=1.2, max_steps=50)
    monkeypatch.setenv("SYMDESCENT_ENGINE", "python")
    plain = minimize(make_problem(function), start, lr=1.2, max_steps=50)
    assert fast.status is plain.status is Status.DIVERGED
    assert fast.steps == plain.steps
    for a, b in zip(fast.history[:-1], plain.history[:-1], strict=True):
        assert a.x == pytest.approx(b.x, rel=1e-12)
    assert math.isnan(fast.f) or not math.isfinite(fast.f)
