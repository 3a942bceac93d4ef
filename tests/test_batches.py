"""Mini-batch SGD: a hand-written numpy loop with the documented order reproduces every iterate.

The documented rule (symdescent/vectors/batches.py): rng = numpy.random.default_rng(seed), one
rng.permutation(n) per epoch, batch k = order[k·B:(k+1)·B], the last one shorter; a mean over rows is the
batch's mean, a sum over rows n times it; each batch is one step of the method.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from symdescent.errors import InputError
from symdescent.vectors.batches import BatchRun, per_row, row_count
from symdescent.vectors.problem import make_vector_problem

RNG = np.random.default_rng(42)
X = RNG.normal(size=(103, 4))  # 103 rows: batches of 16 leave a last batch of 7
W = np.array([1.0, -2.0, 0.5, 3.0])
Y_LINE = X @ W + 0.1 * RNG.normal(size=103)
Y_CLASS = np.where(X @ W + RNG.normal(size=103) > 0, 1.0, -1.0)


def least_squares(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return 2 * X[rows].T @ (X[rows] @ w - Y_LINE[rows]) / len(rows)


def logistic(w: np.ndarray, rows: np.ndarray) -> np.ndarray:  # mean(log(1 + exp(-y·Xw))) + 0.01·w·w
    margin = Y_CLASS[rows] * (X[rows] @ w)
    return X[rows].T @ (-Y_CLASS[rows] * expit(-margin)) / len(rows) + 0.02 * w


def by_hand(gradient, method: str, lr: float, batch: int, epochs: int, seed: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The documented order, and each method's rule as README states it, typed in by hand."""
    w, m, v, t = np.zeros(4), np.zeros(4), np.zeros(4), 0
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for k in range(0, len(X), batch):
            g = gradient(w, order[k : k + batch])
            t += 1
            if method == "gd":
                w = w - lr * g
            elif method == "momentum":  # v ← μv + ∇f; x ← x − αv
                v = 0.9 * v + g
                w = w - lr * v
            else:  # adam
                m = 0.9 * m + 0.1 * g
                v = 0.999 * v + 0.001 * g * g
                w = w - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


PROBLEMS = {
    "least squares": ("mean((X @ w - y)^2)", Y_LINE, least_squares),
    "logistic": ("mean(log(1 + exp(-y*(X @ w)))) + 0.01*(w @ w)", Y_CLASS, logistic),
}


@pytest.mark.parametrize("method", ["gd", "momentum", "adam"])
@pytest.mark.parametrize("kind", list(PROBLEMS))
def test_a_hand_written_numpy_loop_reproduces_the_run(kind: str, method: str) -> None:
    text, y, gradient = PROBLEMS[kind]
    problem = make_vector_problem(text, {"w": np.zeros(4)}, {"X": X, "y": y})
    run = BatchRun(problem, batch_size=16, epochs=3, seed=11, method=method, lr=0.01, tol=0)
    steps = list(run)
    assert [s.step for s in steps] == [0, 7, 14, 21]  # 103 rows: 7 batches an epoch
    assert np.max(np.abs(run.result().x["w"] - by_hand(gradient, method, 0.01, 16, 3, 11))) < 1e-12


def test_every_batch_is_a_step_when_asked_and_a_sum_is_n_times_the_batch_mean() -> None:
    problem = make_vector_problem("sum((X @ w - y)^2)", {"w": np.zeros(4)}, {"X": X, "y": Y_LINE})
    n, rows = row_count(problem)
    assert (n, rows) == (103, ("X", "y"))
    rewritten = per_row(problem, rows, n)
    z = np.arange(4.0)
    assert rewritten.value(z) == pytest.approx(problem.value(z), rel=1e-12)  # n·mean over all rows = the sum
    run = BatchRun(problem, batch_size=50, epochs=2, seed=0, per_batch=True, lr=1e-4, tol=0)
    steps = list(run)
    assert [s.step for s in steps] == [0, 1, 2, 3, 4, 5, 6]
    assert [s.info for s in steps[1:4]] == [{"epoch": 1, "batch": 1}, {"epoch": 1, "batch": 2}, {"epoch": 1}]
    order = np.random.default_rng(0).permutation(103)[:50]
    expected = 103 * np.mean((X[order] @ np.zeros(4) - Y_LINE[order]) ** 2)  # the first batch's estimate at w = 0
    assert steps[1].f == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("mean(X @ w - y)^2", {"batch_size": 10}, "mean or sum over the rows"),
        ("mean((X @ w - y)^2)", {"batch_size": 0}, "batch size"),
        ("mean((X @ w - y)^2)", {"batch_size": 104}, "batch size"),
        ("mean((X @ w - y)^2)", {"batch_size": 10, "epochs": 0}, "epochs"),
        ("mean((X @ w - y)^2)", {"batch_size": 10, "method": "cg"}, "mini-batches work with"),
    ],
)
def test_what_cannot_be_batched_is_refused(text: str, options: dict, message: str) -> None:
    problem = make_vector_problem(text, {"w": np.zeros(4)}, {"X": X, "y": Y_LINE})
    with pytest.raises(InputError, match=message):
        BatchRun(problem, **options)


def test_the_command_line_runs_mini_batches_and_checks_their_options(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from conftest import cli

    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", Y_LINE)
    data = ["--data", f"X={tmp_path / 'X.npy'}", "--data", f"y={tmp_path / 'y.npy'}", "--start", "w=zeros(4)"]
    args = ["run", "mean((X @ w - y)^2)", *data, "--batch-size", "16", "--epochs", "3", "--seed", "11", "--lr", "0.01"]
    out = cli(*args, "--method", "adam", "-q", "--tol", "0")
    assert out.exit_code == 0
    assert np.allclose(
        [float(v) for v in out.stdout.split()], by_hand(least_squares, "adam", 0.01, 16, 3, 11), atol=1e-12
    )
    rows = cli(*args, "--format", "csv").stdout.splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "7", "14", "21"]  # a row per epoch
    assert "allow more epochs" in cli(*args, "--format", "json").stderr
    assert cli("run", "x^2", "--start", "1", "--batch-size", "2").exit_code == 2  # no data: nothing to batch
    assert "go with --batch-size" in cli("run", "mean((X @ w - y)^2)", *data, "--seed", "3").stderr
    assert "do not go together" in cli(*args, "--scheduler", "local:1").stderr


def test_a_diverging_mini_batch_run_is_diverged_and_ctrl_c_reports_f_over_all_rows() -> None:
    problem = make_vector_problem("mean((X @ w - y)^2)", {"w": np.zeros(4)}, {"X": X, "y": Y_LINE})
    run = BatchRun(problem, batch_size=16, epochs=50, seed=0, lr=5.0)
    list(run)
    assert run.status == "diverged" and "f went from" in run.message  # 10¹²⁰ after a few epochs, not ∞
    slow = BatchRun(problem, batch_size=16, epochs=50, seed=0, lr=0.01, tol=0)
    steps = iter(slow)
    next(steps), next(steps)  # step 0 and the end of epoch 1
    slow.last = slow.last._replace(step=9, x=slow.last.x + 0.5, info={"epoch": 2, "batch": 2})  # mid-epoch
    slow.interrupt()
    w = np.asarray(slow.last.x)
    assert slow.last.f == pytest.approx(np.mean((X @ w - Y_LINE) ** 2), rel=1e-12)  # not the last epoch's f
