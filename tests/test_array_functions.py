"""Every registry function in a vector function, on both array back-ends; functions of a whole-vector sum (#18).

Values are checked against numpy / scipy.special at random points, derivatives against central finite
differences of that same reference (never against symdescent's own derivative rules).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pytest
import sympy as sp
from conftest import cli
from scipy import special

from symdescent.functions import FUNCTIONS, array_functions
from symdescent.kernels import BandTerm, compile_banded
from symdescent.special import softplus as softplus_node
from symdescent.vectors.banded import banded_terms
from symdescent.vectors.engine import KernelRun, make_run
from symdescent.vectors.problem import make_vector_problem
from symdescent.vectors.run import VectorRun

Reference = Callable[[np.ndarray], np.ndarray]

# name -> (reference from numpy / scipy.special, the interval the random points come from)
REFERENCES: dict[str, tuple[Reference, tuple[float, float]]] = {
    "sin": (np.sin, (-3, 3)),
    "cos": (np.cos, (-3, 3)),
    "tan": (np.tan, (-1.2, 1.2)),
    "cot": (lambda u: 1 / np.tan(u), (0.2, 2.9)),
    "sec": (lambda u: 1 / np.cos(u), (-1.2, 1.2)),
    "csc": (lambda u: 1 / np.sin(u), (0.2, 2.9)),
    "asin": (np.arcsin, (-0.9, 0.9)),
    "acos": (np.arccos, (-0.9, 0.9)),
    "atan": (np.arctan, (-4, 4)),
    "sinh": (np.sinh, (-3, 3)),
    "cosh": (np.cosh, (-3, 3)),
    "tanh": (np.tanh, (-3, 3)),
    "asinh": (np.arcsinh, (-4, 4)),
    "acosh": (np.arccosh, (1.1, 4)),
    "atanh": (np.arctanh, (-0.9, 0.9)),
    "exp": (np.exp, (-3, 3)),
    "log": (np.log, (0.1, 5)),
    "ln": (np.log, (0.1, 5)),
    "log10": (np.log10, (0.1, 5)),
    "log2": (np.log2, (0.1, 5)),
    "sqrt": (np.sqrt, (0.1, 5)),
    "cbrt": (special.cbrt, (-5, 5)),
    "abs": (np.abs, (-5, 5)),
    "erf": (special.erf, (-2.5, 2.5)),
    "erfc": (special.erfc, (-2.5, 2.5)),
    "sigmoid": (special.expit, (-8, 8)),
    "softplus": (lambda u: -special.log_expit(-u), (-8, 8)),
}
ENGINES = ("array", "kernel")


def test_every_function_has_a_reference_and_an_array_form() -> None:
    """The registry drives the array printers: each of its SymPy functions has an entry in the one table."""
    one_argument = {name for name, spec in FUNCTIONS.items() if 1 in spec.arities}
    assert one_argument == set(REFERENCES)
    table = array_functions()
    for spec in FUNCTIONS.values():
        if isinstance(spec.sympy, type):
            assert spec.sympy in table, spec.name


def _points(name: str, n: int = 9) -> np.ndarray:
    low, high = REFERENCES[name][1]
    points = np.random.default_rng(sum(map(ord, name))).uniform(low, high, n)
    return points[np.abs(points) > 0.05]  # cbrt and abs: away from their kinks


def _central(fun: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.empty_like(x)
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        grad[k] = (fun(x + e) - fun(x - e)) / (2 * h)
    return grad


def _start(
    function: str, x: np.ndarray, engine: str, data: dict[str, object] | None = None
) -> tuple[float, np.ndarray]:
    """f and ∇f at x, as the first step of a run on the given engine (checking that engine ran)."""
    problem = make_vector_problem(function, {"x": x}, data)
    run = make_run(problem, method="gd", engine=engine, max_steps=1)
    assert isinstance(run, KernelRun if engine == "kernel" else VectorRun)
    return run.last.f, np.asarray(run.last.grad)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_value_and_gradient_match_the_reference(name: str, engine: str) -> None:
    reference = REFERENCES[name][0]
    x = _points(name)
    f, grad = _start(f"sum({name}(x))", x, engine)
    assert f == pytest.approx(float(np.sum(reference(x))), rel=1e-12, abs=1e-12)
    expected = _central(lambda z: float(np.sum(reference(z))), x)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["sigmoid", "softplus", "erf", "erfc", "cbrt", "log", "log10", "sec", "cot", "sqrt"])
def test_inside_a_shifted_index_sum(name: str, engine: str) -> None:
    """A function of two neighbouring entries: the kernel's banded gradient and the array engine's padded one."""
    reference = REFERENCES[name][0]
    low, high = REFERENCES[name][1]
    x = np.random.default_rng(7).uniform(low, high, 8) / 2 + (low + high) / 4  # x[i+1]/2 + x[i]/2 stays inside

    def f(z: np.ndarray) -> float:
        return float(np.sum(reference(z[1:] / 2 + z[:-1] / 2) ** 2))

    value, grad = _start(f"sum({name}(x[i+1]/2 + x[i]/2)^2, i)", x, engine)
    assert value == pytest.approx(f(x), rel=1e-12)
    np.testing.assert_allclose(grad, _central(f, x), rtol=1e-6, atol=1e-7)


def test_atan2_of_a_vector_and_data() -> None:
    x = np.array([0.3, -1.2, 2.0, -0.4])
    y = np.array([1.0, -2.0, 0.5, 3.0])
    f, grad = _start("sum(atan2(x, y))", x, "array", {"y": y})
    assert f == pytest.approx(float(np.sum(np.arctan2(x, y))), rel=1e-12)
    np.testing.assert_allclose(grad, _central(lambda z: float(np.sum(np.arctan2(z, y))), x), rtol=1e-6)
    f, grad = _start("sum(atan2(x, 2))", x, "kernel")
    assert f == pytest.approx(float(np.sum(np.arctan2(x, 2))), rel=1e-12)
    np.testing.assert_allclose(grad, 2 / (4 + x**2), rtol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_sigmoid_and_softplus_stay_finite_far_out(engine: str) -> None:
    """e^800 overflows; σ and softplus (and their gradients) do not."""
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    f, grad = _start("sum(softplus(x))", x, engine)
    assert f == pytest.approx(840.0 + math.log(2), rel=1e-15)
    np.testing.assert_allclose(grad, special.expit(x), rtol=1e-15, atol=0)
    f, _ = _start("sum(sigmoid(x))", x, engine)
    assert f == pytest.approx(float(np.sum(special.expit(x))), rel=1e-15)


def test_float32_kernel_keeps_its_dtype() -> None:
    s = sp.Symbol("s", real=True)
    function = compile_banded([BandTerm(softplus_node(s), {0: s})], dtype="float32", chunk=3)
    x = np.linspace(-3, 3, 10, dtype=np.float32)
    grad = np.empty_like(x)
    value = function.value_and_grad(x, grad)
    assert value == pytest.approx(float(np.sum(np.logaddexp(0, x.astype(np.float64)))), rel=1e-6)
    np.testing.assert_allclose(grad, special.expit(x.astype(np.float64)), rtol=1e-6)


def test_logistic_regression_written_naturally(tmp_path) -> None:
    """mean(softplus(−y·(X @ w))) runs and ends at scipy's minimiser of the same loss."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = np.where(X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=40) > 0, 1.0, -1.0)
    np.savetxt(tmp_path / "X.csv", X, delimiter=",")
    np.savetxt(tmp_path / "y.csv", y)

    def loss(w: np.ndarray) -> float:
        return float(np.mean(np.logaddexp(0, -y * (X @ w))))

    best = minimize(loss, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    for function in ("mean(softplus(-y*(X@w)))", "-mean(log(sigmoid(y*(X@w))))"):
        result = cli(
            "run", function, "--data", f"X={tmp_path / 'X.csv'}", "--data", f"y={tmp_path / 'y.csv'}",
            "--start", "w=zeros(3)", "--method", "adam", "--lr", "0.1", "--steps", "5000", "--tol", "1e-8",
            "--format", "json",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        np.testing.assert_allclose(json.loads(result.stdout)["x"]["w"], best, atol=1e-5)


# -- functions of a whole-vector sum (#18 point 15) ---------------------------------------------------------

START = np.array([0.3, -0.7, 1.1])
REDUCED: dict[str, Callable[[np.ndarray], float]] = {
    "log(1+x@x)": lambda x: math.log(1 + x @ x),
    "exp(sum(x))": lambda x: math.exp(x.sum()),
    "log(sum(exp(x)))": lambda x: math.log(np.exp(x).sum()),
    "sin(x@x)": lambda x: math.sin(x @ x),
    "tanh(sum(x))": lambda x: math.tanh(x.sum()),
    "(1+x@x)^0.5": lambda x: math.sqrt(1 + x @ x),
    "exp(-norm(x)^2)": lambda x: math.exp(-(np.linalg.norm(x) ** 2)),
    "log(norm(x))": lambda x: math.log(np.linalg.norm(x)),
    "softplus(x@x)": lambda x: float(np.logaddexp(0, x @ x)),
    "sum(x^2) + log(1 + x@x)": lambda x: float(x @ x + math.log(1 + x @ x)),
    "2*sum(x^2)*cos(sum(x))": lambda x: float(2 * (x @ x) * math.cos(x.sum())),
}


@pytest.mark.parametrize("function", sorted(REDUCED))
def test_a_function_of_a_reduction_is_not_banded(function: str) -> None:
    problem = make_vector_problem(function, {"x": np.linspace(-1e-3, 2e-3, 200_000)}, None)
    assert banded_terms(problem) is None
    assert isinstance(make_run(problem, method="gd"), VectorRun)  # 2·10⁵ entries: the kernel would be chosen


@pytest.mark.parametrize("function", sorted(REDUCED))
def test_a_function_of_a_reduction_runs_with_gd(function: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMDESCENT_VECTOR_ENGINE", "kernel")  # forced, and still right: it falls back
    result = cli("run", function, "--start", "x=[0.3,-0.7,1.1]", "--lr", "0.01", "--steps", "3", "--tol", "0",
                 "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    history = json.loads(result.stdout)["history"]
    reference = REDUCED[function]
    for step in history:
        x = np.array(step["x"]["x"])
        assert step["f"] == pytest.approx(reference(x), rel=1e-12)
        np.testing.assert_allclose(step["grad"]["x"], _central(reference, x), rtol=1e-6, atol=1e-8)
    first = np.array(history[1]["x"]["x"])
    np.testing.assert_allclose(first, START - 0.01 * np.array(history[0]["grad"]["x"]), rtol=1e-14)


@pytest.mark.parametrize("engine", ENGINES)
def test_banded_terms_beside_a_constant_still_use_the_kernel(engine: str) -> None:
    """What the detector used to get right stays right: constants and scaled sums are banded."""
    problem = make_vector_problem("3*sum(x^2) + log(2) + x@x/2", {"x": START}, None)
    banded = banded_terms(problem)
    assert banded is not None
    terms, constant = banded
    assert len(terms) == 2
    assert constant == pytest.approx(math.log(2))
    f, grad = _start("3*sum(x^2) + log(2) + x@x/2", START, engine)
    assert f == pytest.approx(3.5 * START @ START + math.log(2), rel=1e-14)
    np.testing.assert_allclose(grad, 7 * START, rtol=1e-14)


def test_a_function_of_a_reduction_on_the_command_line() -> None:
    # in-process: test_vectors_cli.py runs a vector problem through the installed program
    done = cli("run", "log(1+x@x)", "--start", "x=[0.3,-0.7,1.1]", "-q")
    assert done.exit_code == 0, done.stderr
    assert "internal error" not in done.stderr
    np.testing.assert_allclose([float(v) for v in done.stdout.split()], 0, atol=1e-5)  # the minimum is x = 0


def test_the_numba_kernel_source_evaluates_the_special_functions() -> None:
    """The kernel's numba backend (chosen for the longest vectors) prints sigmoid, softplus, cbrt… too.

    Its source is run here as plain Python (numba's compile takes seconds; the compiled loop is the same code).
    """
    from symdescent.generated import define
    from symdescent.kernels.jit import _helpers, numba_source
    from symdescent.kernels.terms import differentiate
    from symdescent.special import cbrt, log2, log10, sigmoid

    s0, s1 = sp.symbols("s0 s1", real=True)
    body = softplus_node(s0) + sigmoid(s1 - s0) + cbrt(s0) ** 2 + log10(s1**2 + 1) + log2(s0**2 + 2) + sp.erfc(s1)
    terms = [BandTerm(body, {0: s0, 1: s1})]
    source = numba_source(differentiate(terms), with_grad=True)
    kernel = define(source, "kernel", {"math": math, **_helpers()})
    x = np.array([800.0, 1.0, -3.0, -800.0, 2.5, 0.7])
    grad, expected_grad = np.empty_like(x), np.empty_like(x)
    value = kernel(x, 0, 0, x.size, x.size, grad)
    u, v = x[:-1], x[1:]
    expected = np.logaddexp(0, u) + special.expit(v - u) + special.cbrt(u) ** 2 + np.log10(v**2 + 1)
    expected += np.log2(u**2 + 2) + special.erfc(v)
    assert value == pytest.approx(float(np.sum(expected)), rel=1e-13)
    compile_banded(terms, backend="numpy").value_and_grad(x, expected_grad)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13)
