"""Least squares and logistic regression from data files: one gd step of symdescent against jax and numpy.

Run from a checkout with the package installed: ``python bench/bench_data_jax.py`` (``--markdown FILE``
also writes the figures for the documentation). jax is a reference for this script only, never a
dependency of symdescent: without it its rows say "jax not installed".

1. Writes X (2000×500) and y for ``mean((X @ w - y)^2)``, and X (10000×50) and labels ±1 for
   ``mean(log(1 + exp(-y * (X @ w))))``, as .npy files in a temporary folder.
2. Times gd steps, interleaved, several runs each: symdescent's ``minimize`` on the data
   as the CLI loads them (``load_data``), ``symdescent run … --data … -q`` in a child process, a
   hand-written numpy loop (the gradient and the update only: the fastest loop numpy allows), and
   ``jax.jit`` of ``lax.fori_loop`` over ``jax.grad`` in float64. Each figure is the marginal cost of a
   step: the median over runs of (time for N2 steps − time for N1 steps, back to back) / (N2 − N1), so
   start-up and compilation cancel out
   (symdescent's N1 = 5000 for the logistic case: runs that long at this size take its compiled pass over the
   rows; N1 = 41000 for least squares, past the QR's hand-over and the threshold of its compiled pass; numpy
   and jax have no thresholds and run 1000 and 6000 or 11000 steps).
3. Checks that all end at the same w (to 1e-9, relative) and prints ms/step and the ratios.

symdescent runs least squares from the thin QR of X (symdescent/vectors/qr.py): each run begins with it, a
cost the marginal figure leaves out, so the script prints it apart (as it does not jax's compilation).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from report import Markdown

from symdescent.run import minimize
from symdescent.vectors.data import load_data

REPEATS = 15
CLI_REPEATS = 5
TOLERANCE = 1e-9
#: Seconds of rest before each timing: the previous contender's idle threads (OpenBLAS's, XLA's, numba's) spin for
#: a while after their work, on the cores the next one needs.
SETTLE = 0.2


class Case(NamedTuple):
    name: str
    text: str
    rows: int
    columns: int
    lr: float
    steps: tuple[int, int]  # N1, N2 for minimize(): N1 past its thresholds (see CASES)
    reference_steps: tuple[int, int]  # N1, N2 for hand-written numpy and jax (no thresholds: shorter runs)
    cli_steps: tuple[int, int]  # N1, N2 for the CLI (its start-up is ~1 s ± 0.3 s, so many more steps)
    repeats: int = REPEATS


#: symdescent's N1 such that both runs take its fastest path, so that the difference is a step's cost; N2 − N1 large
#: beside the noise of a run that long on a shared machine
CASES = [
    # least squares: N1 past the QR's hand-over (750 steps) and numba's threshold (qr.MIN_WORK / 500² = 40,000 steps)
    Case("least squares", "mean((X @ w - y)^2)", 2000, 500, 0.1, (41000, 81000), (1000, 11000), (41001, 121001), 3),
    # logistic: N1 past the row pass's threshold (rows.MIN_WORK / 500,000 = 5000 steps), where it pays for numba
    Case(
        "logistic regression",
        "mean(log(1 + exp(-y * (X @ w))))",
        10000,
        50,
        0.5,
        (5000, 15000),
        (1000, 6000),
        (5001, 25001),
        7,
    ),
]


def write_data(case: Case, folder: str) -> tuple[str, str]:
    """X and y as .npy files (y = X·truth + noise, or its sign for the logistic case)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(case.rows, case.columns))
    y = X @ rng.normal(size=case.columns) + 0.5 * rng.normal(size=case.rows)
    if case.name.startswith("logistic"):
        y = np.where(y >= 0, 1.0, -1.0)
    x_path, y_path = os.path.join(folder, f"{case.columns}_X.npy"), os.path.join(folder, f"{case.columns}_y.npy")
    np.save(x_path, X)
    np.save(y_path, y)
    return x_path, y_path


def handwritten(case: Case, X: np.ndarray, y: np.ndarray) -> Callable[[int], np.ndarray]:
    """The fastest numpy loop: the gradient and the update, nothing else, with Xᵀ stored C-ordered."""
    n = case.rows
    XT = np.ascontiguousarray(X.T)  # Xᵀ @ r on a C-ordered copy: BLAS's transposed product is slower
    if case.name.startswith("least"):
        scale = case.lr * 2 / n

        def steps(count: int) -> np.ndarray:
            w = np.zeros(case.columns)
            for _ in range(count):
                w = w - scale * (XT @ (X @ w - y))
            return w

        return steps
    scale = case.lr / n

    def logistic(count: int) -> np.ndarray:
        w = np.zeros(case.columns)
        for _ in range(count):
            margin = y * (X @ w)
            w = w + scale * (XT @ (y / (1 + np.exp(margin))))  # ∇ = -Xᵀ(y·σ(-margin))/n
        return w

    return logistic


def with_jax(case: Case, X: np.ndarray, y: np.ndarray) -> Callable[[int], np.ndarray] | None:
    """``jax.jit`` of ``fori_loop`` over the same gd steps in float64, or None without jax."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    if case.name.startswith("least"):

        def f(w: Any) -> Any:
            return jnp.mean((Xj @ w - yj) ** 2)
    else:

        def f(w: Any) -> Any:
            return jnp.mean(jnp.log1p(jnp.exp(-yj * (Xj @ w))))

    grad = jax.grad(f)
    lr = case.lr

    @jax.jit
    def run(count: Any) -> Any:
        return jax.lax.fori_loop(0, count, lambda _, w: w - lr * grad(w), jnp.zeros(case.columns))

    run(2).block_until_ready()  # compiled once, here
    return lambda count: np.asarray(run(count).block_until_ready())


def cli(case: Case, x_path: str, y_path: str) -> Callable[[int], np.ndarray]:
    """``symdescent run … --data … -q`` in a child process; its -q line is the final w."""
    base = [sys.executable, "-m", "symdescent", "run", case.text, "--data", f"X={x_path}", "--data", f"y={y_path}"]
    base += ["--start", f"w=zeros({case.columns})", "--lr", str(case.lr), "--tol", "0", "-q"]

    def steps(count: int) -> np.ndarray:
        out = subprocess.run([*base, "--steps", str(count)], capture_output=True, text=True, check=True).stdout
        return np.array([float(v) for v in out.split()])

    return steps


def marginal(run: Callable[[int], object], n1: int, n2: int, repeats: int, differences: list[float]) -> None:
    """``repeats`` more timings of N2 steps less N1 steps, run back to back, into ``differences``."""
    for _ in range(repeats):
        time.sleep(SETTLE)
        t0 = time.perf_counter()
        run(n1)
        t1 = time.perf_counter()
        run(n2)
        t2 = time.perf_counter()
        differences.append((t2 - t1) - (t1 - t0))


def measure(case: Case, folder: str) -> tuple[dict[str, float], dict[str, np.ndarray], float | None]:
    x_path, y_path = write_data(case, folder)
    data = load_data([f"X={x_path}", f"y={y_path}"])  # as the CLI reads --data X=… --data y=…
    start = np.zeros(case.columns)

    def library(count: int) -> np.ndarray:
        result = minimize(case.text, start={"w": start}, data=data, lr=case.lr, tol=0, max_steps=count)
        return np.asarray(result.x["w"])

    contenders: dict[str, Callable[[int], np.ndarray]] = {
        "symdescent minimize()": library,
        "hand-written numpy": handwritten(case, data["X"], data["y"]),
    }
    jax_run = with_jax(case, data["X"], data["y"])
    if jax_run is not None:
        contenders["jax.jit + fori_loop"] = jax_run
    counts = {name: case.steps if name.startswith("symdescent") else case.reference_steps for name in contenders}
    differences: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(case.repeats):  # interleaved: load from other processes hits every contender alike
        for name, run in contenders.items():
            marginal(run, *counts[name], 1, differences[name])
    # the median of paired differences: on a shared machine a difference of minima can even come out negative
    per_step = {name: statistics.median(d) / (counts[name][1] - counts[name][0]) for name, d in differences.items()}
    c1, c2 = case.cli_steps
    command = cli(case, x_path, y_path)
    cli_differences: list[float] = []
    marginal(command, c1, c2, CLI_REPEATS, cli_differences)
    per_step["symdescent run -q"] = statistics.median(cli_differences) / (c2 - c1)
    contenders["symdescent run -q"] = command
    ends = {name: run(case.steps[0]) for name, run in contenders.items()}  # all the same steps
    return per_step, ends, setup_seconds(case, data)


def setup_seconds(case: Case, data: dict[str, Any]) -> float | None:
    """The once-per-run set-up of symdescent's least squares (the QR of X), the minimum of a few; None if none."""
    from symdescent.vectors.problem import make_vector_problem
    from symdescent.vectors.qr import factor

    problem = make_vector_problem(case.text, {"w": np.zeros(case.columns)}, data=data)
    best = math.inf
    for _ in range(5):
        t0 = time.perf_counter()
        if factor(problem, case.steps[1]) is None:
            return None
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", metavar="FILE", help="also write the figures as a Markdown table")
    markdown_file = parser.parse_args().markdown
    repeats = ", ".join(f"median of {case.repeats} runs for {case.name}" for case in CASES)
    title = f"gd from data files against jax and numpy ({repeats})"
    report = Markdown(__file__, title)
    rows: list[list[str]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for case in CASES:
            per_step, ends, setup = measure(case, folder)
            reference = ends["hand-written numpy"]
            worst = max(float(np.linalg.norm(w - reference) / np.linalg.norm(reference)) for w in ends.values())
            assert worst <= TOLERANCE, f"{case.name}: the final w differ by {worst:.2e} (relative)"
            shape = f"{case.rows}×{case.columns}"
            print(f"{case.name} ({shape}, `{case.text}`): ms per gd step")
            jax_time = per_step.get("jax.jit + fori_loop")
            numpy_time = per_step["hand-written numpy"]
            if jax_time is None:
                print("  jax.jit + fori_loop: jax not installed")
            for name, seconds in per_step.items():
                against_jax = f"{seconds / jax_time:.2f}×" if jax_time else "jax not installed"
                against_numpy = f"{seconds / numpy_time:.2f}×"
                print(f"  {name:<24} {seconds * 1e3:8.3f} ms   /jax {against_jax:>8}   /numpy {against_numpy:>7}")
                rows.append([f"{case.name} {shape}", name, f"{seconds * 1e3:.3f} ms", against_jax, against_numpy])
            notes.append(
                f"{case.name}: final w of all contenders agree to {worst:.1e} (relative) after {case.steps[0]} steps."
            )
            if setup is not None:
                steps = f" = {setup / jax_time:.0f} steps of jax" if jax_time else ""
                notes[-1] += f" symdescent's QR of X, once per run: {setup * 1e3:.1f} ms{steps}."
            print(f"  {notes[-1]}")
    report.table(["problem", "contender", "per step", "against jax", "against numpy"], rows)
    report.lines += [" ".join(notes), ""]
    report.lines.append("Goal: symdescent ≤ 1.0× jax per step on both problems.")
    report.write(markdown_file)


if __name__ == "__main__":
    main()
