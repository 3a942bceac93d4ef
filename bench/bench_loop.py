"""Issue 23: a long ``-q`` gd run on Rosenbrock, compiled loop against the same loop in C (``gcc -O2``).

Run from a checkout with the package installed and gcc on PATH: ``python bench/bench_loop.py``
(``--markdown FILE`` also writes the figures for the documentation).

Per-step figures are marginal costs, (t(N2) − t(N1)) / (N2 − N1), min over repeats, so start-up,
numba's import and compilation cancel out; they are CPU time (``time.process_time``, and the C
program's own ``clock()``), so other processes on the machine do not inflate them. The C loop does
what symdescent's loop does per step: the update, f, ∇f, ‖∇f‖ and the stopping test. A last table
times whole commands (CPU seconds of the child process, f and ∇f already in the cache): the first
long run (the loop compiled) and a second one (the loop taken from the cache), and a short run of
10⁵ steps, where the Python loop alone runs (numba is not even imported).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from report import Markdown

from symdescent.problem import make_problem
from symdescent.run import iterate

ROSENBROCK = "(1-x)**2 + 100*(y-x**2)**2"
START = (-1.2, 1.0)
LR = 0.0002
REPEATS = 5

C_SOURCE = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    long n = atol(argv[1]);
    double c = -0.0002, tol = -1.0;
    double x = -1.2, y = 1.0;
    double t = y - x * x;
    double gx = -400 * t * x + 2 * x - 2, gy = 200 * t, f = 0.0, norm = 0.0;
    long k;
    clock_t start = clock();
    for (k = 0; k < n; k++) {
        x = x + c * gx;
        y = y + c * gy;
        double x2 = x * x, u = y - x2, p = 1 - x;
        f = 100 * (u * u) + p * p;
        gx = -400 * u * x + 2 * x - 2;
        gy = -200 * x2 + 200 * y;
        norm = sqrt(gx * gx + gy * gy);
        if (!(isfinite(f) && norm > tol && norm < INFINITY)) break;
    }
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    printf("%.17g %.17g %.17g %ld %.9f\n", x, y, f, k, seconds);
    return 0;
}
"""


def c_loop(folder: str) -> str:
    source, program = os.path.join(folder, "loop.c"), os.path.join(folder, "loop")
    with open(source, "w", encoding="utf-8") as file:
        file.write(C_SOURCE)
    subprocess.run(["gcc", "-O2", "-o", program, source, "-lm"], check=True)
    return program


def c_seconds(program: str, n: int) -> float:
    return float(subprocess.run([program, str(n)], capture_output=True, text=True, check=True).stdout.split()[-1])


def c_point(program: str, n: int) -> tuple[float, float]:
    x, y = subprocess.run([program, str(n)], capture_output=True, text=True, check=True).stdout.split()[:2]
    return float(x), float(y)


def final_point(loop: str, n: int) -> tuple[float, ...]:
    os.environ["SYMDESCENT_LOOP"] = loop
    run = iterate(make_problem(ROSENBROCK), START, lr=LR, tol=0, max_steps=n)
    run.drain()
    return run.last.x


def symdescent_seconds(loop: str, n: int) -> float:
    os.environ["SYMDESCENT_LOOP"] = loop
    run = iterate(make_problem(ROSENBROCK), START, lr=LR, tol=0, max_steps=n)
    started = time.process_time()
    run.drain()
    return time.process_time() - started


def marginal(measure, n1: int, n2: int) -> float:  # type: ignore[no-untyped-def]
    short = min(measure(n1) for _ in range(REPEATS))
    long = min(measure(n2) for _ in range(REPEATS))
    return (long - short) / (n2 - n1)


def command_seconds(steps: int, loop: str, cache_home: str) -> float:
    """CPU seconds of ``symdescent run ... -q`` as a child process, f and ∇f already in the cache at ``cache_home``.

    A one-step run fills the cache first (SymPy's part, the same for every loop; on a busy machine a cold
    compile may even pass the time limit), so the figures differ only by the loop.
    """
    env = {**os.environ, "SYMDESCENT_LOOP": "python", "XDG_CACHE_HOME": cache_home}
    args = [sys.executable, "-m", "symdescent", "run", ROSENBROCK, "--start", "-1.2,1", "--lr", str(LR)]
    subprocess.run([*args, "--steps", "1", "-q"], env=env, capture_output=True, check=False)
    env["SYMDESCENT_LOOP"] = loop
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([*args, "--tol", "0", "--steps", str(steps), "-q"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"symdescent run failed (exit {done.returncode}): {done.stderr.strip()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", metavar="FILE", help="also write the figures as a Markdown table")
    parser.add_argument("--long", type=int, default=10**8, help="steps of the long command runs (default 10⁸)")
    options = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-loop-")
    try:
        program = c_loop(folder)
        c = marginal(lambda n: c_seconds(program, n), 10**7, 10**8)
        symdescent_seconds("numba", 1_000)  # compiled once here: the marginal cost leaves it out anyway
        compiled = marginal(lambda n: symdescent_seconds("numba", n), 10**6, 2 * 10**7)
        python = marginal(lambda n: symdescent_seconds("python", n), 10**5, 10**6)
        points = [final_point("numba", 10**6), final_point("python", 10**6), c_point(program, 10**6)]
        cold, warm = os.path.join(folder, "cold"), os.path.join(folder, "warm")
        commands = [
            (f"{options.long:.0e} steps, first run (compiles)", command_seconds(options.long, "auto", cold)),
            (f"{options.long:.0e} steps, second run (cached)", command_seconds(options.long, "auto", cold)),
            (f"{options.long:.0e} steps, Python loop", command_seconds(options.long, "python", warm)),
            ("1e+05 steps, auto", command_seconds(10**5, "auto", os.path.join(folder, "short1"))),
            ("1e+05 steps, Python loop", command_seconds(10**5, "python", os.path.join(folder, "short2"))),
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows = [
        ["C, gcc -O2", f"{c * 1e9:.1f} ns", "1.00×"],
        ["symdescent, compiled loop (numba)", f"{compiled * 1e9:.1f} ns", f"{compiled / c:.2f}×"],
        ["symdescent, Python loop (fused)", f"{python * 1e9:.1f} ns", f"{python / c:.2f}×"],
    ]
    print(f"Rosenbrock, gd, -q: marginal CPU time per step (min of {REPEATS} runs)")
    for row in rows:
        print(f"  {row[0]:<36} {row[1]:>10}   {row[2]}")
    print("symdescent run ... -q, CPU seconds of the whole command")
    for name, seconds in commands:
        print(f"  {name:<42} {seconds:7.2f} s")
    same = "the same" if points[0] == points[1] else "DIFFERENT"
    with_c = "the same" if points[0] == points[2] else "not the same"
    point = f"Final point after 10⁶ steps: compiled and Python loops {same} bit for bit ({points[0]}); C's is {with_c}."
    print(point)
    print(f"goal (compiled loop <= 3x the C loop): {compiled / c:.2f}x")
    report = Markdown(__file__, f"A long -q gd run on Rosenbrock against C (min of {REPEATS} runs)")
    report.table(["loop", "CPU per step", "against C"], rows)
    report.table(["symdescent run … -q", "CPU time"], [[name, f"{seconds:.2f} s"] for name, seconds in commands])
    report.lines += [point, ""]
    report.lines.append("Goal: the compiled loop within 3× the C loop per step, with the Python loop's final point.")
    report.write(options.markdown)


if __name__ == "__main__":
    main()
