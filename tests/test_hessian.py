"""One Hessian module: explain, analyze and Newton read the same curvature, so they cannot disagree."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from conftest import cli
from hypothesis import given, settings
from hypothesis import strategies as st

from symdescent import minimize
from symdescent.analyze import analyze
from symdescent.explain import explain
from symdescent.hessian import cholesky, cholesky_solve, eigenvalues, kind, numeric_eigenvalues, step_sizes
from symdescent.problem import make_problem


@pytest.mark.parametrize(
    ("function", "best", "stable"),
    [
        ("(x+y)**2", sp.Rational(1, 4), sp.Rational(1, 2)),  # λ = 0, 4: the flat direction does not count
        ("x**2 + 3*y**2", sp.Rational(1, 4), sp.Rational(1, 3)),  # λ = 2, 6
        ("(x+2*y-7)**2 + (2*x+y-5)**2", sp.Rational(1, 10), sp.Rational(1, 9)),  # λ = 4, 36
    ],
)
def test_analyze_and_explain_agree_on_the_step_sizes(function: str, best: sp.Expr, stable: sp.Expr) -> None:
    problem = make_problem(function)
    analysis = analyze(problem, timeout=5)
    curvature = explain(problem, "1,2", "0.1").curvature[0]
    assert (analysis.best_lr, analysis.max_stable_lr) == (best, stable)
    assert (curvature.best_lr, curvature.max_stable_lr) == (best, stable)


def test_explain_of_a_flat_direction_says_the_fastest_step(tmp_path) -> None:
    out = cli("explain", "(x+y)**2", "--start", "1,2", "--format", "text")
    assert out.exit_code == 0, out.stderr
    assert "1/4" in out.stdout and "fastest step size" in out.stdout


def test_step_sizes_from_eigenvalues() -> None:
    assert step_sizes((sp.Integer(2), sp.Integer(6))) == (6, sp.Rational(1, 3), sp.Rational(1, 4), sp.Rational(1, 2))
    assert step_sizes((-1.0, 2.0)).best_lr is None and step_sizes((-1.0, 2.0)).lipschitz == 2.0
    assert step_sizes((0.0, 0.0)).best_lr is None


def test_kind_by_the_signs_of_the_eigenvalues() -> None:
    assert [kind(v, 1e-9) for v in ((1, 2), (-1, -2), (-1, 2), (0.0, 3))] == [
        "minimum",
        "maximum",
        "saddle",
        "degenerate",
    ]


def test_exact_and_numeric_eigenvalues_agree_with_numpy() -> None:
    matrix = sp.Matrix([[4, 1, 0], [1, 3, 1], [0, 1, 2]])
    exact, is_exact = eigenvalues(matrix)
    reference = np.linalg.eigvalsh(np.array(matrix.tolist(), dtype=float))
    assert [float(v) for v in exact] == pytest.approx(reference, rel=1e-12)
    assert numeric_eigenvalues(matrix.tolist()) == pytest.approx(reference, rel=1e-12)
    assert is_exact


def test_cholesky_refuses_a_singular_positive_semidefinite_matrix() -> None:
    """[[2, -2], [-2, 2]] leaves a pivot of rounding size: refused, relative to the matrix's scale."""
    assert cholesky(((2.0, -2.0), (-2.0, 2.0))) is None
    assert cholesky(((2e-20, 0.0), (0.0, 1e-20))) is not None  # small but well conditioned: a scale, not a size
    assert cholesky(((1.0, 1.0), (1.0, 1.0 + 1e-13))) is None
    lower = cholesky(((4.0, 2.0), (2.0, 3.0)))
    assert lower is not None and cholesky_solve(lower, (2.0, 1.0)) == pytest.approx((0.5, 0.0))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=9, max_size=9), st.floats(0.1, 5))
def test_cholesky_solves_positive_definite_systems_like_numpy(entries: list[float], shift: float) -> None:
    a = np.array(entries).reshape(3, 3)
    matrix = a @ a.T + shift * np.eye(3)
    lower = cholesky(matrix.tolist())
    assert lower is not None
    b = np.array([1.0, -2.0, 0.5])
    assert cholesky_solve(lower, tuple(b)) == pytest.approx(np.linalg.solve(matrix, b), rel=1e-8, abs=1e-10)


def test_newton_falls_back_on_a_singular_hessian_and_converges_like_scipy() -> None:
    """At (0, 0) the Hessian of this f is [[2, −2], [−2, 2]]: singular. Newton used to jump to 7e15."""
    optimize = pytest.importorskip("scipy.optimize")
    function = "sin(x+y)+(x-y)**2-1.5*x+2.5*y+1"
    result = minimize(function, (0, 0), method="newton")
    assert result.success
    assert result.history[1].info["fallback"] == "gradient"

    def f(v: np.ndarray) -> float:
        x, y = v
        return math.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1

    def grad(v: np.ndarray) -> np.ndarray:
        x, y = v
        c = math.cos(x + y)
        return np.array([c + 2 * (x - y) - 1.5, c - 2 * (x - y) + 2.5])

    def hess(v: np.ndarray) -> np.ndarray:
        s = -math.sin(v[0] + v[1])
        return np.array([[s + 2, s - 2], [s - 2, s + 2]])

    reference = optimize.minimize(f, np.zeros(2), jac=grad, hess=hess, method="Newton-CG")
    assert reference.success
    assert result.flat == pytest.approx(tuple(reference.x), abs=1e-5)
    assert result.flat == pytest.approx((-0.5472, -1.5472), abs=1e-4)
    assert max(abs(v) for s in result.history for v in s.x) < 10  # no jump far away
