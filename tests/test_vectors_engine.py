"""The two vector engines (whole-array code and the chunked kernel engine) give the same runs.

The engine is forced with SYMDESCENT_VECTOR_ENGINE on small n; every output format, the final
point, the status and the step count must agree to rounding. Expected values come from the
closed form of gd on Σxᵢ² (xₖ = 0.8ᵏ x₀) or from the whole-array engine, never from the kernels.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from symdescent.cli import main
from symdescent.vectors.engine import KERNEL_MIN_ENTRIES, KernelRun, choose_engine, make_run, minimize_vectors
from symdescent.vectors.problem import make_vector_problem
from symdescent.vectors.run import VectorRun

ROSENBROCK = "sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)"
NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?|nan|-?inf")


def run_cli(args: list[str], engine: str, tmp_path=None) -> tuple[int, str, str]:
    env = {"SYMDESCENT_VECTOR_ENGINE": engine, "COLUMNS": "200"}
    result = CliRunner().invoke(main, ["run", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


ENGINE = re.compile(r'"engine": "(array|kernel)"')


def same_text(a: str, b: str, rel: float = 1e-9) -> None:
    """Equal apart from the last bits of the numbers and the diagnostic "engine" field (which one ran)."""
    a, b = (ENGINE.sub('"engine": ?', text) for text in (a, b))
    assert NUMBER.sub("#", a) == NUMBER.sub("#", b)
    for u, v in zip(NUMBER.findall(a), NUMBER.findall(b), strict=True):
        assert float(u) == pytest.approx(float(v), rel=rel, abs=1e-12), (u, v)


CASES = [
    (["x @ x", "--start", "x=[1,2]", "--lr", "0.1"]),
    (["sum(x^2)", "--start", "x=ones(2000)", "--lr", "0.1", "--steps", "30", "--tol", "1e-3"]),
    ([ROSENBROCK, "--start", "x=zeros(1500)", "--lr", "0.001", "--steps", "12", "--method", "adam"]),
    ([ROSENBROCK, "--start", "x=[0,0.5,1]", "--lr", "0.001", "--steps", "40", "--method", "nesterov"]),
    (["sum((x-3)^2) + 5", "--start", "x=zeros(7)", "--lr", "0.3", "--method", "rmsprop", "--steps", "25"]),
    (["-sum((x-1)^2)", "--start", "x=zeros(4)", "--lr", "0.1", "--maximize", "--steps", "20"]),
    (["sum(x^4)", "--start", "x=10*ones(3000)", "--lr", "1", "--steps", "10"]),  # diverges
    (["-sum((x-1)^2)", "--start", "x=zeros(2500)", "--lr", "0.1", "--maximize", "--steps", "5", "--every", "2"]),
]


@pytest.mark.parametrize("args", CASES)
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "quiet", "table"])
def test_every_format_is_the_same_whichever_engine_ran(args, fmt):
    extra = ["-q"] if fmt == "quiet" else ["--format", fmt]
    array = run_cli(args + extra, "array")
    kernel = run_cli(args + extra, "kernel")
    assert array[0] == kernel[0]
    assert array[1].strip() and "Error" not in array[2]
    same_text(array[1], kernel[1])
    same_text(array[2], kernel[2])


def test_the_seed_converges_at_step_69_on_both_engines_at_the_converged_point():
    for engine in ("array", "kernel"):
        result = minimize_vectors("x @ x", {"x": np.array([1.0, 2.0])}, engine=engine, lr=0.1)
        assert (result.steps, str(result.status)) == (69, "converged")
        assert result.x["x"] == pytest.approx(0.8**69 * np.array([1.0, 2.0]), rel=1e-12)


@pytest.mark.parametrize("n", [5, 3000])  # 3000: steps carry only x's head, x_{k+1} evaluated in the update pass
def test_convergence_is_detected_before_the_update_is_applied(n):
    """‖∇f(x_k)‖ = 2·0.8ᵏ·√n ≤ tol first at the k below: the final point is x_k, not x_{k+1}."""
    tol = 1e-3
    k = next(k for k in range(1000) if 2 * 0.8**k * np.sqrt(n) <= tol)
    result = minimize_vectors("sum(x^2)", {"x": np.ones(n)}, engine="kernel", lr=0.1, tol=tol, max_steps=500)
    assert isinstance(make_run(make_vector_problem("sum(x^2)", {"x": np.ones(n)}), engine="kernel"), KernelRun)
    assert (result.steps, str(result.status)) == (k, "converged")
    assert result.x["x"] == pytest.approx(np.full(n, 0.8**k), rel=1e-12)
    assert result.grad_norm == pytest.approx(2 * 0.8**k * np.sqrt(n), rel=1e-12)


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"])
@pytest.mark.parametrize("n", [40, 2500])
def test_each_method_agrees_step_for_step_on_both_engines(method, n):
    rng = np.random.default_rng(n)
    start = rng.uniform(-1, 1, n)
    runs = []
    for engine in ("array", "kernel"):
        problem = make_vector_problem(ROSENBROCK, {"x": start.copy()})
        run = make_run(problem, engine=engine, method=method, lr=1e-4, max_steps=15, tol=0)
        runs.append(([(s.step, s.f, s.grad_norm, s.x[:3].copy()) for s in run], run.result()))
    (array, a), (kernel, k) = runs
    assert [s[0] for s in array] == [s[0] for s in kernel] == list(range(16))
    for u, v in zip(array, kernel, strict=True):
        assert u[1:3] == pytest.approx(v[1:3], rel=1e-10)
        assert u[3] == pytest.approx(v[3], rel=1e-10)
    assert a.x["x"] == pytest.approx(k.x["x"], rel=1e-10)
    assert a.params == {**k.params, "engine": "array"} and k.params["engine"] == "kernel"


def test_the_engine_choice():
    big = make_vector_problem("sum((x-1)^2)", {"x": np.zeros(KERNEL_MIN_ENTRIES)})
    small = make_vector_problem("sum((x-1)^2)", {"x": np.zeros(10)})
    assert choose_engine(big, "adam")[0] == "kernel"
    assert choose_engine(small, "adam")[0] == "array"
    assert choose_engine(big, "cg")[0] == "array"  # a method the kernel engine does not run
    assert choose_engine(big, "gd", "array")[0] == "array"
    data = make_vector_problem("sum((x-b)^2)", {"x": np.zeros(10)}, {"b": np.ones(10)})
    assert choose_engine(data, "gd", "kernel")[0] == "array"  # not banded: data vectors
    assert isinstance(make_run(small, engine="kernel"), KernelRun)
    assert isinstance(make_run(data, engine="kernel"), VectorRun)


def test_the_library_never_modifies_the_start_array():
    start = np.full(KERNEL_MIN_ENTRIES, 2.0)
    result = minimize_vectors("sum(x^2)", {"x": start}, lr=0.1, max_steps=3, tol=0)
    assert np.all(start == 2.0)
    assert result.x["x"][:5] == pytest.approx(2 * 0.8**3)
    assert result.f == pytest.approx(KERNEL_MIN_ENTRIES * (2 * 0.8**3) ** 2, rel=1e-12)


def test_float32_halves_the_memory_and_keeps_single_precision(tmp_path):
    result = minimize_vectors("sum((x-1)^2)", {"x": np.zeros(50)}, dtype="float32", lr=0.1, tol=0, max_steps=20)
    assert result.x["x"].dtype == np.float32
    assert result.x["x"] == pytest.approx(1 - 0.8**20, rel=1e-6)
    code, out, _ = run_cli(
        [
            "sum((x-1)^2)",
            "--start",
            "x=zeros(5000)",
            "--dtype",
            "float32",
            "--lr",
            "0.1",
            "--steps",
            "20",
            "--tol",
            "0",
            "--save",
            str(tmp_path / "x.npy"),
            "-q",
        ],
        "auto",
    )
    assert code == 0
    assert float(out) == pytest.approx(5000 * 0.8**40, rel=1e-5)
    saved = np.load(tmp_path / "x.npy")
    assert saved.shape == (5000,) and saved == pytest.approx(1 - 0.8**20, rel=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x^2 + y^2", "--start", "1,2", "--dtype", "float32"], "--dtype is for vector problems"),
        (["sum((x-b)^2)", "--data", "b=[1,2]", "--start", "x=[1,0]", "--dtype", "float32"], "chunked engine"),
        (["sum(x^2)", "--start", "x=[1,2]", "--dtype", "float32", "--method", "cg"], "chunked engine"),
    ],
)
def test_float32_where_it_cannot_run_is_exit_2(args, message):
    code, _, err = run_cli(args, "auto")
    assert code == 2
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("n", [3, 3000])
def test_a_start_where_f_is_not_finite_is_the_same_error_on_both_engines(n):
    array = run_cli(["sum(log(x))", "--start", f"x=zeros({n})", "-q"], "array")
    kernel = run_cli(["sum(log(x))", "--start", f"x=zeros({n})", "-q"], "kernel")
    assert array == kernel
    assert array[0] == 2 and "not a finite number at the start point" in array[2]


def test_a_bad_engine_variable_is_exit_2():
    code, _, err = run_cli(["sum(x^2)", "--start", "x=[1,2]"], "fast")
    assert code == 2 and "SYMDESCENT_VECTOR_ENGINE" in err


def test_memory_at_ten_million_is_x_and_the_state_arrays():
    """A child runs adam (x + 2 state arrays) at n = 10⁷: peak RSS within 6 arrays + 150 MB."""
    n = 10**7
    code = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(['symdescent', 'run', 'sum(x^2)', '--start', 'x=ones(10^7)', '--lr', '0.1',"
        " '--steps', '2', '--tol', '0', '-q', '--method', 'adam'], capture_output=True, text=True)\n"
        "print(p.returncode, p.stdout.strip(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SYMDESCENT_THREADS": "1"},
    ).stdout.split()
    assert out[0] == "0"
    x, m, v = 1.0, 0.0, 0.0  # adam on one entry (every entry is the same), torch.optim's rule
    for t in (1, 2):
        g = 2 * x
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        x -= 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    assert float(out[1]) == pytest.approx(n * x * x, rel=1e-9)
    peak = int(out[2]) * 1024
    assert peak <= 6 * 8 * n + 150 * 2**20, f"peak RSS {peak / 2**20:.0f} MB"


def test_json_of_a_large_kernel_run_has_no_entries():
    code, out, _ = run_cli(
        ["sum(x^2)", "--start", "x=ones(3000)", "--steps", "2", "--tol", "0", "--format", "json"], "kernel"
    )
    data = json.loads(out)
    assert code == 0 and "x" not in data and set(data["history"][0]) == {"step", "f", "grad_norm"}


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_save_and_plot_are_the_same_whichever_engine_ran(tmp_path, suffix):
    saved = {}
    for engine in ("array", "kernel"):
        point, picture = tmp_path / f"{engine}{suffix}", tmp_path / f"{engine}.png"
        code, _, err = run_cli(
            [
                ROSENBROCK,
                "--start",
                "x=zeros(1200)",
                "--lr",
                "1e-3",
                "--steps",
                "5",
                "--tol",
                "0",
                "-q",
                "--save",
                str(point),
                "--plot",
                str(picture),
            ],
            engine,
        )
        assert code == 0 and picture.stat().st_size > 0, err
        saved[engine] = np.load(point) if suffix == ".npy" else np.loadtxt(point)
    assert saved["array"].shape == (1200,)
    assert saved["kernel"] == pytest.approx(saved["array"], rel=1e-12, abs=1e-15)


def test_an_interrupt_waits_for_the_step_in_hand_and_reports_that_step():
    """The guard (the CLI's: Ctrl-C waits until the step is whole) raises after step 3 is complete."""

    def guard(advance):
        def guarded(k):
            advance(k)
            if k == 2:
                raise KeyboardInterrupt

        return guarded

    problem = make_vector_problem("sum(x^2)", {"x": np.ones(3000)})
    run = make_run(problem, engine="kernel", guard=guard, lr=0.1, tol=0, max_steps=10)
    with pytest.raises(KeyboardInterrupt):
        for _ in run:
            pass
    run.interrupt()
    result = run.result()
    assert (result.steps, str(result.status)) == (3, "interrupted")
    assert result.x["x"] == pytest.approx(np.full(3000, 0.8**3), rel=1e-12)
    assert result.f == pytest.approx(3000 * 0.8**6, rel=1e-12)


# -- Ctrl-C on the whole-array engine at large n -------------------------------------------------------


def test_an_evaluation_over_large_arrays_gives_the_same_numbers_in_its_worker_thread() -> None:
    """Above THREAD_MIN_ENTRIES the compiled function runs in a worker thread: the same numbers, errors raised."""
    from symdescent import interruptible

    n = interruptible.THREAD_MIN_ENTRIES + 3
    problem = make_vector_problem("sum(sin(x)^2 + log(1 + x^2))", {"x": np.linspace(-2.0, 2.0, n)})
    x = problem.flat_start()
    f, g = problem.value_and_grad(x)
    assert f == pytest.approx(float(np.sum(np.sin(x) ** 2 + np.log1p(x**2))), rel=1e-12)
    np.testing.assert_allclose(g, 2 * np.sin(x) * np.cos(x) + 2 * x / (1 + x**2), rtol=1e-12)

    def fails(_: np.ndarray) -> float:
        raise MemoryError("no room")

    with pytest.raises(MemoryError, match="no room"):
        interruptible.call(fails, x)


def test_ctrl_c_mid_evaluation_in_the_worker_thread_exits_130_within_a_second_with_whole_lines() -> None:
    """Was: one numpy call over the whole array (and then freeing the arrays at exit) held Ctrl-C 0.25–1.4 s."""
    import signal
    import time

    env = {**os.environ, "SYMDESCENT_VECTOR_ENGINE": "array"}
    function = "sum(sin(x)^2 + log(1 + x^2) + exp(-x^2) + atan(x)^2)"
    options = ["--lr", "1e-9", "--tol", "0", "--steps", "100000", "--format", "jsonl"]
    process = subprocess.Popen(
        [sys.executable, "-m", "symdescent", "run", function, "--start", "x=0.5*ones(4*10^6)", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()  # step 0: the run is under way
    time.sleep(0.2)  # mid-step: 4·10⁶ entries (over THREAD_MIN_ENTRIES) take about 0.6 s a step; the bench measures 10⁸
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    rest = process.stdout.read()
    process.wait(timeout=60)
    waited = time.monotonic() - sent
    stderr = process.stderr.read()
    assert process.returncode == 130, stderr
    assert waited < 3.0, f"the exit came {waited:.2f} s after Ctrl-C"  # 1 s promised; margin for a busy machine
    assert "Traceback" not in stderr
    lines = (first + rest).splitlines()
    assert all(json.loads(line) for line in lines)  # whole lines only
    assert json.loads(lines[-1])["status"] == "interrupted"
