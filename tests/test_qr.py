"""Least squares from data by the QR of X (vectors/qr.py): the whole-array code's numbers, without its cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from conftest import cli

from symdescent.run import minimize
from symdescent.vectors import qr
from symdescent.vectors.problem import VectorProblem, make_vector_problem
from symdescent.vectors.rows import RowForm

LEAST_SQUARES = "mean((X @ w - y)^2)"


def fit(rows: int, columns: int, noise: float = 0.5, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, columns))
    return {"X": X, "y": X @ rng.normal(size=columns) + noise * rng.normal(size=rows)}


def problem(text: str, data: dict[str, np.ndarray]) -> VectorProblem:
    return make_vector_problem(text, {"w": np.zeros(data["X"].shape[1])}, data=data)


def test_the_coefficients_of_a_quadratic_in_u_and_nothing_else() -> None:
    u, d0, k0 = sp.symbols("u d0 k0", real=True)

    def form(phi: sp.Expr) -> RowForm:
        return RowForm("X", 1.0, ("y",), ("k",), phi)

    assert qr.coefficients(form((u - d0) ** 2)) == (1, -2 * d0, d0**2)
    assert qr.coefficients(form(k0 * (d0 - u) ** 2 + u)) == (k0, 1 - 2 * d0 * k0, d0**2 * k0)
    assert qr.coefficients(form(sp.log(1 + sp.exp(-d0 * u)))) is None  # logistic: the row pass runs
    assert qr.coefficients(form(u**3)) is None
    assert qr.coefficients(form(3 * u + d0)) is None  # linear: no minimum, nothing to factor


@pytest.mark.parametrize("columns", [40, 67])  # numpy's two products; the compiled pass (≥ MIN_COLUMNS, ragged)
@pytest.mark.parametrize(
    ("text", "extra"),
    [
        (LEAST_SQUARES, {}),
        ("0.5 * sum(c * (X @ w - y)^2)", {"c": "weights"}),  # weighted: X̃ = √c·X
        ("sum((y - X @ w)^2 + y * (X @ w))", {}),  # b·u terms besides the square
    ],
)
def test_f_and_the_gradient_are_the_whole_array_codes(columns: int, text: str, extra: dict[str, str]) -> None:
    data = fit(2000, columns)
    if extra:
        data["c"] = np.random.default_rng(1).uniform(0.5, 2.0, size=2000)
    p = problem(text, data)
    evaluate = qr.factor(p, 10**9)
    assert evaluate is not None
    rng = np.random.default_rng(2)
    for _ in range(5):
        w = rng.normal(size=columns)
        f, g = evaluate(w)
        f_numpy, g_numpy = p.value_and_grad(w)
        assert f == pytest.approx(f_numpy, rel=1e-12)
        np.testing.assert_allclose(g, g_numpy, rtol=1e-11, atol=1e-11 * np.max(np.abs(g_numpy)))


def test_a_perfect_fit_keeps_f_a_sum_of_squares() -> None:
    """At the exact solution f is rounding-small and never negative (f₀ + g₀·w + ½wᵀHw would be ±1e-12)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 80))
    truth = rng.normal(size=80)
    data = {"X": X, "y": X @ truth}
    f0 = float(np.mean(data["y"] ** 2))
    evaluate = qr.factor(problem(LEAST_SQUARES, data), 10**9)
    assert evaluate is not None
    f, g = evaluate(truth)
    assert 0.0 <= f <= 1e-26 * f0
    assert float(np.linalg.norm(g)) <= 1e-12 * np.sqrt(f0)


def test_gd_ends_at_numpys_least_squares_solution() -> None:
    """An independent reference: gd with the best rate for H = 2XᵀX/m converges to numpy.linalg.lstsq's w."""
    data = fit(1500, 70, seed=4)
    X, y = data["X"], data["y"]
    eigenvalues = np.linalg.eigvalsh(2 * X.T @ X / len(y))
    lr = 2 / (eigenvalues[0] + eigenvalues[-1])
    result = minimize(LEAST_SQUARES, start={"w": np.zeros(70)}, data=data, lr=lr, tol=1e-12, max_steps=5000)
    assert result.status.value == "converged"
    np.testing.assert_allclose(result.x["w"], np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", ["gd", "momentum", "adam"])
def test_a_run_is_the_whole_array_runs_step_for_step(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    data = fit(1200, 64, seed=5)
    runs = {}
    for kernel in ("auto", "numpy"):  # numpy: the whole-array code, no QR
        monkeypatch.setenv("SYMDESCENT_KERNEL", kernel)
        start = {"w": np.zeros(64)}
        runs[kernel] = minimize(LEAST_SQUARES, start=start, data=data, method=method, lr=0.01, max_steps=300)
    fast, plain = runs["auto"], runs["numpy"]
    assert (fast.status, fast.steps) == (plain.status, plain.steps)
    np.testing.assert_allclose(fast.x["w"], plain.x["w"], rtol=1e-10, atol=1e-13)
    assert fast.f == pytest.approx(plain.f, rel=1e-10)


def test_where_the_qr_does_not_pay_or_does_not_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    def plan(text: str, data: dict[str, np.ndarray], steps: int = 10**6) -> object:
        p = problem(text, data)
        return qr.qr_evaluator(p, steps, p.value_and_grad)

    tall = fit(2000, 40)
    assert qr.handover(40) == 60
    assert plan(LEAST_SQUARES, tall, 60 + 3 * 40) is not None
    assert plan(LEAST_SQUARES, tall, 60 + 3 * 40 - 1) is None  # too few steps after the hand-over to pay it back
    assert plan(LEAST_SQUARES, fit(150, 100)) is None  # not twice as tall as wide
    assert plan(LEAST_SQUARES, fit(300, 20)) is None  # small: numpy takes microseconds
    assert plan("mean(log(1 + exp(-y * (X @ w))))", tall) is None
    assert qr.factor(problem("mean(y * (X @ w) - (X @ w)^2)", tall), 10**9) is None  # aᵢ < 0: concave
    monkeypatch.setenv("SYMDESCENT_KERNEL", "numpy")
    assert plan(LEAST_SQUARES, tall) is None


def test_the_compiled_pass_only_where_it_pays_for_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("numba")
    from symdescent.vectors import rows

    R, d = np.triu(np.ones((100, 100))), np.ones(100)
    enough = qr.MIN_WORK // 100**2
    monkeypatch.setattr(rows, "cached", lambda source: True)
    assert qr._triangle_pass(R, d, enough - 1) is None  # numpy's two products: numba's ~1 s would not pay
    assert qr._triangle_pass(R, d, enough) is not None
    monkeypatch.setattr(rows, "cached", lambda source: False)  # the first run compiles it
    assert qr._triangle_pass(R, d, enough) is None
    assert qr._triangle_pass(R, d, qr.FIRST_TIME * enough) is not None
    assert qr._triangle_pass(R[:50, :50], d[:50], 10**9) is None  # narrow: numpy's products take microseconds


def test_numpy_evaluates_until_the_hand_over_then_the_qr() -> None:
    """The first 1.5·n steps (and the start) cost what they cost before; the QR is made only if the run goes on."""
    data = fit(2000, 80, seed=9)
    p = problem(LEAST_SQUARES, data)
    calls = []

    def before(w: np.ndarray) -> tuple[float, np.ndarray]:
        calls.append(1)
        return p.value_and_grad(w)

    evaluate = qr.qr_evaluator(p, 10**6, before)
    assert evaluate is not None
    w = np.random.default_rng(10).normal(size=80)
    values = [evaluate(w + k) for k in range(qr.handover(80) + 5)]
    assert len(calls) == qr.handover(80) == 120
    for k, (f, g) in enumerate(values):
        f_numpy, g_numpy = p.value_and_grad(w + k)
        assert f == pytest.approx(f_numpy, rel=1e-12)
        np.testing.assert_allclose(g, g_numpy, rtol=1e-10, atol=1e-11 * np.max(np.abs(g_numpy)))


def test_the_command_line_prints_what_the_whole_array_code_prints(tmp_path: Path) -> None:
    data = fit(1000, 60, seed=8)
    np.save(tmp_path / "X.npy", data["X"])
    np.save(tmp_path / "y.npy", data["y"])
    args = ["run", LEAST_SQUARES, "--data", f"X={tmp_path / 'X.npy'}", "--data", f"y={tmp_path / 'y.npy'}"]
    args += ["--start", "w=zeros(60)", "--lr", "0.1", "--steps", "400", "--format", "json"]  # past hand-over + payback
    fast = json.loads(cli(*args).output)
    environment = {**os.environ, "SYMDESCENT_KERNEL": "numpy"}
    real = subprocess.run([sys.executable, "-m", "symdescent", *args], capture_output=True, text=True, env=environment)
    assert real.returncode == 0, real.stderr
    plain = json.loads(real.stdout)
    assert (fast["status"], fast["steps"]) == (plain["status"], plain["steps"])
    np.testing.assert_allclose(fast["x"]["w"], plain["x"]["w"], rtol=1e-9)
    assert fast["f"] == pytest.approx(plain["f"], rel=1e-9)
