"""Goal 3: the chained Rosenbrock function typed out in full, with 1000 and 2000 variables.

Run from a checkout with the package installed: ``python bench/bench_scale.py`` (``--markdown FILE``: also
write what it prints into FILE, for the documentation).

f = Σᵢ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)² is given as text on stdin to
``symdescent run - --start … --steps 100 --tol 0 -q``. Printed:

- end to end (parse, gradient, compile, 100 steps) at n = 1000 against the 5 s budget;
- n = 2000 against n = 1000 (linear would be 2x; the goal is <= 2.6x);
- peak memory of the n = 2000 run against 1 GB;
- the marginal cost of one step at n = 1000 against a hand-written, vectorised
  numpy loop doing the same work (∇f, f, ‖∇f‖, the update), in the same process;
- where the end-to-end time goes (in-process, for information).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
from collections import deque

import numpy as np
from report import printed_as_markdown

from symdescent.parsing import parse
from symdescent.problem import make_problem
from symdescent.run import iterate

LR = 0.001
REPEATS = 3


def chained_rosenbrock(n: int) -> str:
    return " + ".join(f"100*(x{i + 1}-x{i}**2)**2 + (1-x{i})**2" for i in range(1, n))


def start(n: int) -> list[float]:
    return [0.5 + 0.0001 * i for i in range(n)]


def end_to_end(n: int) -> tuple[float, float]:
    """Best wall time of the CLI over REPEATS runs, and the peak memory (MB) of one run."""
    executable = shutil.which("symdescent") or os.path.join(os.path.dirname(sys.executable), "symdescent")
    args = [executable, "run", "-", "--start", ",".join(map(repr, start(n)))]
    args += ["--lr", str(LR), "--steps", "100", "--tol", "0", "-q"]
    text = chained_rosenbrock(n).encode()
    best, peak = math.inf, 0.0
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(text)
        proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        best = min(best, time.perf_counter() - t0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"symdescent failed at n = {n}: {proc.stderr.read().decode() if proc.stderr else ''}")
        peak = max(peak, usage.ru_maxrss / 1024)  # KB on Linux
    return best, peak


def numpy_rosenbrock(x: np.ndarray) -> tuple[float, np.ndarray]:
    """The hand-written baseline: f and ∇f of the chained Rosenbrock function, vectorised."""
    head, tail = x[:-1], x[1:]
    t = tail - head * head
    u = 1 - head
    g = np.zeros_like(x)
    g[:-1] = -400 * head * t - 2 * u
    g[1:] += 200 * t
    return float(np.sum(100 * t * t + u * u)), g


def numpy_loop(steps: int, n: int) -> None:
    x = np.array(start(n))
    f, g = numpy_rosenbrock(x)
    for _ in range(steps):
        x = x - LR * g
        f, g = numpy_rosenbrock(x)
        norm = math.sqrt(g @ g)
        if not (math.isfinite(f) and math.isfinite(norm)):
            break


def per_step(n: int) -> tuple[float, float, str]:
    problem = make_problem(chained_rosenbrock(n))
    x0 = start(n)

    def ours(steps: int) -> None:
        deque(iterate(problem, x0, lr=LR, tol=0, max_steps=steps), maxlen=0)

    ours(1)  # compile
    contenders = {"symdescent": ours, "numpy": lambda steps: numpy_loop(steps, n)}
    short = dict.fromkeys(contenders, math.inf)
    long = dict.fromkeys(contenders, math.inf)
    n1, n2 = 20, 220
    for _ in range(7):
        for name, run in contenders.items():
            t0 = time.perf_counter()
            run(n1)
            t1 = time.perf_counter()
            run(n2)
            t2 = time.perf_counter()
            short[name] = min(short[name], t1 - t0)
            long[name] = min(long[name], t2 - t1)
    ours_s, theirs_s = ((long[k] - short[k]) / (n2 - n1) for k in contenders)
    return ours_s, theirs_s, problem.engine.name


def breakdown(n: int) -> dict[str, float]:
    text = chained_rosenbrock(n)
    times = {}
    t0 = time.perf_counter()
    expr = parse(text)
    times["parse"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    problem = make_problem(expr)
    engine = problem.engine
    getattr(engine, "model", None)
    times["gradient"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    getattr(engine, "compiled", None) if engine.name == "symengine" else engine.value_and_grad
    times["compile"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    deque(iterate(problem, start(n), lr=LR, tol=0, max_steps=100), maxlen=0)
    times["100 steps"] = time.perf_counter() - t0
    return times


def main() -> None:
    t1000, m1000 = end_to_end(1000)
    t2000, m2000 = end_to_end(2000)
    ours, theirs, engine = per_step(1000)
    print(f"chained Rosenbrock typed out in full, engine {engine!r} (wall times: best of {REPEATS})")
    print(f"  {'measure':<44} {'symdescent':>12} {'baseline':>12} {'ratio':>7}  goal")
    step_ratio = ours / theirs
    rows = [
        ("end to end, n = 1000 (vs the 5 s budget)", f"{t1000:.2f} s", "5.00 s", t1000 / 5.0, "<= 1"),
        ("end to end, n = 2000 vs n = 1000", f"{t2000:.2f} s", f"{t1000:.2f} s", t2000 / t1000, "<= 2.6"),
        ("peak memory, n = 2000 (vs 1 GB)", f"{m2000:.0f} MB", "1024 MB", m2000 / 1024, "< 1"),
        ("one step, n = 1000 (vs numpy by hand)", f"{ours * 1e6:.0f} us", f"{theirs * 1e6:.0f} us", step_ratio, "<= 3"),
    ]
    for name, a, b, ratio, goal in rows:
        print(f"  {name:<44} {a:>12} {b:>12} {ratio:6.2f}x  {goal}")
    print(f"  (peak memory at n = 1000: {m1000:.0f} MB)")
    for n in (1000, 2000):
        parts = breakdown(n)
        print(f"  in-process at n = {n}: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))


if __name__ == "__main__":
    printed_as_markdown(__file__, "Many variables: the chained Rosenbrock typed out in full", main)
