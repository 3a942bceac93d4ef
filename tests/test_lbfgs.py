"""L-BFGS against scipy's L-BFGS-B: the published test functions and a real logistic regression.

The recursion is written once (symdescent/optimizers/lbfgs.py) and run by both back-ends, so the python
back-end (tuples) and the array back-end (numpy) must take the same steps.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import cli

from symdescent import minimize
from symdescent.errors import InputError
from symdescent.optimizers.lbfgs import ARRAYS, TUPLES, two_loop

scipy_optimize = pytest.importorskip("scipy.optimize")

# (name, function as typed, the same in numpy, start, scipy's minimiser)
PUBLISHED = [
    ("Rosenbrock", "(1-x)^2 + 100*(y-x^2)^2", lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, (-1.2, 1.0)),
    ("Beale", "(1.5-x+x*y)^2 + (2.25-x+x*y^2)^2 + (2.625-x+x*y^3)^2",
     lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2, (1.0, 1.0)),
    ("Booth", "(x+2*y-7)^2 + (2*x+y-5)^2", lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2, (0.0, 0.0)),
    ("Himmelblau", "(x^2+y-11)^2 + (x+y^2-7)^2", lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, (0.0, 0.0)),
    ("Matyas", "0.26*(x^2+y^2) - 0.48*x*y", lambda x, y: 0.26 * (x**2 + y**2) - 0.48 * x * y, (3.0, -2.0)),
    ("three-hump camel", "2*x^2 - 1.05*x^4 + x^6/6 + x*y + y^2",
     lambda x, y: 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2, (1.0, 1.0)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "numpy_f", "start"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_published_functions_reach_scipys_minimum(name: str, text: str, numpy_f: object, start: tuple) -> None:
    ours = minimize(text, start=start, method="lbfgs", tol=1e-9, max_steps=1000)
    theirs = scipy_optimize.minimize(
        lambda p: numpy_f(*p), np.array(start), method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-16}
    )
    assert ours.status == "converged"
    assert ours.f == pytest.approx(theirs.fun, abs=1e-6)
    assert np.allclose(ours.flat, theirs.x, atol=1e-4)
    assert ours.steps <= 2 * theirs.nit + 5  # within a small factor of scipy's iteration count


def test_breast_cancer_logistic_regression_matches_scipy() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    from scipy.special import expit

    data = datasets.load_breast_cancer()
    X = (data.data - data.data.mean(0)) / data.data.std(0)
    y = np.where(data.target == 1, 1.0, -1.0)
    lam = 0.01  # without a penalty the 30 features separate the classes and there is no minimum

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = p[:-1], p[-1]
        margin = y * (X @ w + b)
        share = -y * expit(-margin) / len(y)
        return np.mean(np.logaddexp(0, -margin)) + 0.5 * lam * (w @ w), np.append(X.T @ share + lam * w, share.sum())

    theirs = scipy_optimize.minimize(
        loss, np.zeros(31), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 1e-16}
    )
    ours = minimize(
        f"mean(softplus(-y*(X @ w + b))) + {lam / 2}*(w @ w)", start={"w": np.zeros(30), "b": 0.0},
        data={"X": X, "y": y}, method="lbfgs", tol=1e-8, max_steps=1000,
    )  # fmt: skip
    assert ours.status == "converged"
    assert ours.f == pytest.approx(theirs.fun, abs=1e-6)
    assert np.max(np.abs(np.append(ours.x["w"], ours.x["b"]) - theirs.x)) < 1e-4
    assert ours.steps <= theirs.nit + 10


def test_one_recursion_for_tuples_and_arrays() -> None:
    rng = np.random.default_rng(1)
    pairs = []
    for _ in range(4):
        s, y = rng.normal(size=5), rng.normal(size=5)
        y = y if s @ y > 0 else -y
        pairs.append((s, y, 1 / (s @ y)))
    grad = rng.normal(size=5)
    as_arrays = two_loop(grad, pairs, ARRAYS)
    as_tuples = two_loop(tuple(grad), [(tuple(s), tuple(y), r) for s, y, r in pairs], TUPLES)
    assert np.allclose(as_arrays, as_tuples, rtol=1e-14, atol=1e-15)
    # with one pair the recursion is the BFGS update of γI: check H·y = s (the secant equation)
    s, y, _ = pairs[0]
    assert np.allclose(-two_loop(y, [pairs[0]], ARRAYS), s)


def test_both_back_ends_take_the_same_steps() -> None:
    # tol 1e-7, not 1e-10: near f's rounding level (f ≈ 1 here) the two sums of products round differently
    scalar = minimize("(x-1)^2 + 10*(y-2)^4 + x*y", start=(0.0, 0.0), method="lbfgs", tol=1e-7)
    array = minimize("(x[1]-1)^2 + 10*(x[2]-2)^4 + x[1]*x[2]", start={"x": np.zeros(2)}, method="lbfgs", tol=1e-7)
    assert scalar.steps == array.steps
    for a, b in zip(scalar.history, array.history, strict=True):
        assert np.allclose(a.x, b.x, rtol=1e-10, atol=1e-12)


def test_history_is_checked_and_on_the_command_line() -> None:
    with pytest.raises(InputError, match="history"):
        minimize("x^2", start=(1,), method="lbfgs", history=0)
    out = cli("run", "(1-x)^2+100*(y-x^2)^2", "--start", "-1.2,1", "--method", "lbfgs", "--history", "3", "-q")
    assert out.exit_code == 0 and [round(float(v), 6) for v in out.stdout.split()] == [1.0, 1.0]
    assert cli("run", "x^2", "--start", "1", "--method", "lbfgs", "--history", "1.5").exit_code == 2
