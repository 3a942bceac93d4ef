"""Row-wise losses from data (vectors/rows.py): the compiled pass gives the whole-array code's numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import cli
from scipy.special import expit, log_expit

from symdescent.run import minimize
from symdescent.vectors import rows
from symdescent.vectors.problem import make_vector_problem
from symdescent.vectors.run import VectorRun

pytest.importorskip("numba")

LOGISTIC = "mean(log(1 + exp(-y * (X @ w))))"


def data(n: int = 1003, d: int = 13, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X and labels ±1 (n not a multiple of the blocks or tiles: the ragged ends are covered)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.where(X @ rng.normal(size=d) + 0.5 * rng.normal(size=n) >= 0, 1.0, -1.0)
    return X, y


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled pass whatever the size (``numba`` skips the size and length thresholds)."""
    monkeypatch.setenv("SYMDESCENT_KERNEL", "numba")


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        (LOGISTIC, {}),
        ("mean((X @ w - y)^2)", {}),
        ("0.5 * sum(s * (X @ w - y)^2) / lam", {"s": "vector", "lam": 3.0}),
        ("sum(log(cosh(X @ w - y)))", {}),
    ],
)
def test_f_and_the_gradient_agree_with_the_whole_array_code(
    monkeypatch: pytest.MonkeyPatch, text: str, extra: dict[str, object]
) -> None:
    X, y = data()
    values = {"X": X, "y": y, **{k: (np.linspace(0.5, 2, len(y)) if v == "vector" else v) for k, v in extra.items()}}
    problem = make_vector_problem(text, {"w": np.zeros(X.shape[1])}, values)
    assert rows.row_form(problem) is not None
    evaluate = rows.rows_evaluator(problem, 1)
    assert evaluate is None  # auto: far too small a run to pay for numba
    monkeypatch.setenv("SYMDESCENT_KERNEL", "numba")
    evaluate = rows.rows_evaluator(problem, 1)
    assert evaluate is not None
    for w in (np.zeros(X.shape[1]), np.random.default_rng(1).normal(size=X.shape[1])):
        f, g = evaluate(w)
        f0, g0 = problem.value_and_grad(w)
        np.testing.assert_allclose(f, f0, rtol=1e-12)
        np.testing.assert_allclose(g, g0, rtol=1e-12, atol=1e-14 * np.max(np.abs(g0)))


def test_logistic_loss_and_gradient_against_scipy(compiled: None) -> None:
    X, y = data(2500, 20)
    problem = make_vector_problem(LOGISTIC, {"w": np.zeros(20)}, {"X": X, "y": y})
    evaluate = rows.rows_evaluator(problem, 1)
    assert evaluate is not None
    w = np.random.default_rng(2).normal(size=20)
    f, g = evaluate(w)
    margin = y * (X @ w)
    np.testing.assert_allclose(f, np.mean(-log_expit(margin)), rtol=1e-12)
    np.testing.assert_allclose(g, -(X.T @ (y * expit(-margin))) / len(y), rtol=1e-12)


def test_the_final_w_is_the_hand_written_loops(compiled: None) -> None:
    X, y = data()
    result = minimize(LOGISTIC, start={"w": np.zeros(13)}, data={"X": X, "y": y}, lr=0.5, tol=0, max_steps=200)
    assert result.params["engine"] == "array"
    w = np.zeros(13)
    for _ in range(200):
        w = w + 0.5 / len(y) * (X.T @ (y / (1 + np.exp(y * (X @ w)))))
    np.testing.assert_allclose(result.x["w"], w, rtol=1e-12)


@pytest.mark.parametrize(
    ("method", "options"),
    [("gd", {"lr": 0.5}), ("momentum", {"lr": 0.1}), ("adam", {"lr": 0.05}), ("lbfgs", {}), ("cg", {})],
)
@pytest.mark.parametrize("maximize", [False, True])
def test_every_method_takes_the_same_steps(
    monkeypatch: pytest.MonkeyPatch, method: str, options: dict[str, float], maximize: bool
) -> None:
    X, y = data(600, 9)
    text = LOGISTIC if not maximize else f"-{LOGISTIC}"
    ends = {}
    for backend in ("numpy", "numba"):
        monkeypatch.setenv("SYMDESCENT_KERNEL", backend)
        problem = make_vector_problem(text, {"w": np.zeros(9)}, {"X": X, "y": y})
        steps_wanted = 40 if method not in ("lbfgs", "cg") else 10  # not down to rounding, where stalls differ
        run = VectorRun(problem, method=method, max_steps=steps_wanted, tol=0, maximize=maximize, **options)
        steps = list(run)
        assert (run._evaluate != problem.value_and_grad) == (backend == "numba")
        ends[backend] = (np.array([s.f for s in steps]), steps[-1].x, run.status)
    np.testing.assert_allclose(ends["numba"][0], ends["numpy"][0], rtol=1e-10)
    np.testing.assert_allclose(ends["numba"][1], ends["numpy"][1], rtol=1e-9, atol=1e-12)
    assert ends["numba"][2] == ends["numpy"][2]


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("tol", [0.0, 0.1])  # 0.1: at step 20, in the third block
def test_gd_in_blocks_takes_the_steps_of_the_loop_one_at_a_time(
    compiled: None, monkeypatch: pytest.MonkeyPatch, maximize: bool, tol: float
) -> None:
    """RowPass.steps: gd's steps, 7 per compiled call here (blocks end mid-run, and at tol), are the loop's own."""
    X, y = data()
    monkeypatch.setattr(rows, "BLOCK_WORK", 7 * X.size)
    text = LOGISTIC if not maximize else f"-{LOGISTIC}"
    runs = []
    for in_blocks in (True, False):
        problem = make_vector_problem(text, {"w": np.zeros(13)}, {"X": X, "y": y})
        run = VectorRun(problem, method="gd", lr=0.5, max_steps=40, tol=tol, maximize=maximize)
        assert run._blocks is not None and run._blocks.block_steps == 7
        if not in_blocks:
            run._blocks = None
        steps = list(run)
        points = np.array([s.x for s in steps]), np.array([s.grad for s in steps])
        runs.append(([(s.step, s.f, s.grad_norm) for s in steps], *points, run.status))
    assert runs[0][0] == runs[1][0]  # f and ‖∇f‖ bit for bit
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    np.testing.assert_array_equal(runs[0][2], runs[1][2])
    assert runs[0][3] == runs[1][3]
    assert runs[0][3].name == ("CONVERGED" if tol else "COMPLETED")
    assert (len(runs[0][0]) < 41) == bool(tol)  # tol ends it between two block ends


def test_a_diverging_run_ends_as_on_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    X, _ = data(200, 5)
    ends = []
    for backend in ("numpy", "numba"):
        monkeypatch.setenv("SYMDESCENT_KERNEL", backend)
        result = minimize("sum(exp(X @ w))", start={"w": np.zeros(5)}, data={"X": X}, lr=10, max_steps=100)
        ends.append((result.status, result.message, result.steps))
    assert ends[0] == ends[1]
    assert ends[0][0].name == "DIVERGED"


def test_in_a_worker_thread_the_same_numbers(compiled: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from symdescent import interruptible

    X, y = data()
    problem = make_vector_problem(LOGISTIC, {"w": np.zeros(13)}, {"X": X, "y": y})
    here = rows.rows_evaluator(problem, 1)
    monkeypatch.setattr(interruptible, "THREAD_MIN_ENTRIES", 0)
    threaded = rows.rows_evaluator(problem, 1)
    assert here is not None and threaded is not None
    w = np.linspace(-1, 1, 13)
    assert here(w)[0] == threaded(w)[0]
    np.testing.assert_array_equal(here(w)[1], threaded(w)[1])


@pytest.mark.parametrize(
    "text",
    [
        "mean(log(1 + exp(-y * (X @ w)))) + 0.1 * sum(w^2)",  # a second term
        "mean((X @ w - y)^2 * sum(w))",  # w outside X @ w
        "mean((X @ w - y)^2) * b",  # two variables
        "norm(X @ w - y)",  # not a sum over rows
        "mean(softplus(-y * (X @ w)))",  # a registry function numba has no twin of here
    ],
)
def test_other_forms_run_on_the_whole_array_code(compiled: None, text: str) -> None:
    X, y = data(50, 4)
    start = {"w": np.zeros(4), **({"b": 1.0} if "b" in text else {})}
    problem = make_vector_problem(text, start, {"X": X, "y": y})
    assert rows.rows_evaluator(problem, 10**9) is None


def test_the_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = data(2000, 50)  # 10⁵ entries
    problem = make_vector_problem(LOGISTIC, {"w": np.zeros(50)}, {"X": X, "y": y})
    monkeypatch.setattr(rows, "cached", lambda source, function: True)  # an earlier run compiled it: loading costs ~1 s
    assert rows.rows_evaluator(problem, rows.MIN_WORK // X.size - 1) is None
    assert rows.rows_evaluator(problem, rows.MIN_WORK // X.size) is not None
    monkeypatch.setattr(rows, "cached", lambda source, function: False)  # the first run compiles it: 3–4 s more
    assert rows.rows_evaluator(problem, rows.MIN_WORK // X.size) is None
    assert rows.rows_evaluator(problem, rows.FIRST_TIME * rows.MIN_WORK // X.size) is not None
    wide = make_vector_problem(LOGISTIC, {"w": np.zeros(200)}, {"X": np.ones((500, 200)), "y": np.ones(500)})
    assert rows.rows_evaluator(wide, 10**9) is None  # BLAS's products win
    monkeypatch.setenv("SYMDESCENT_KERNEL", "numpy")
    assert rows.rows_evaluator(problem, 10**9) is None


def test_the_cli_with_data_files(compiled: None, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    X, y = data(400, 6)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    base = ["run", LOGISTIC, "--data", f"X={folder / 'X.npy'}", "--data", f"y={folder / 'y.npy'}"]
    base += ["--start", "w=zeros(6)", "--lr", "0.5", "--steps", "30", "--tol", "0"]
    outputs = {}
    for backend in ("numba", "numpy"):
        monkeypatch.setenv("SYMDESCENT_KERNEL", backend)
        quiet = cli(*base, "-q")
        assert quiet.exit_code == 0, quiet.stderr
        table = cli(*base, "--every", "10", "--format", "json")
        assert table.exit_code == 0, table.stderr
        csv = cli(*base, "--method", "adam", "--format", "csv")
        assert csv.exit_code == 0, csv.stderr
        batched = [a for a in base if a not in ("--steps", "30")]
        batches = cli(*batched, "--batch-size", "64", "--epochs", "3", "--seed", "1", "-q")
        assert batches.exit_code == 0, batches.stderr
        outputs[backend] = (quiet.stdout, json.loads(table.stdout), csv.stdout.count("\n"), batches.stdout)
    quiet = [np.array(o[0].split(), dtype=float) for o in outputs.values()]
    np.testing.assert_allclose(quiet[0], quiet[1], rtol=1e-12)
    assert outputs["numba"][2] == outputs["numpy"][2]
    assert outputs["numba"][3] == outputs["numpy"][3]  # mini-batches: the whole-array code either way
