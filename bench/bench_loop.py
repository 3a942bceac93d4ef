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

A second part times runs that print every step (``--format csv``; ``--csv-steps`` steps, 10⁶ by default,
written to /dev/null): symdescent's own csv writer fed by the compiled loop in blocks
(symdescent/blocks.py) and by the Python loop, against a hand-written Python loop that writes the same bytes
(checked) and a C loop that writes ``printf("%.17g")`` text (not the same bytes: C has no shortest
round-trip format; a floor for writing text at all). These are whole runs in-process, CPU time per step,
min of the repeats, the compiled loop already compiled. Whole commands follow: csv, the table (its middle
hidden) and ``--every 100``, Python loop against ``auto`` with the loop already in the cache.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import TextIO

from report import Markdown

from symdescent.layout import layout_of
from symdescent.problem import make_problem
from symdescent.render.delimited import DelimitedRenderer
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


C_CSV_SOURCE = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    long n = atol(argv[1]);
    double c = -0.0002, x = -1.2, y = 1.0;
    double t = y - x * x, p = 1 - x;
    double f = 100 * (t * t) + p * p, gx = -400 * t * x + 2 * x - 2, gy = 200 * t;
    FILE *out = fopen("/dev/null", "w");
    clock_t start = clock();
    fprintf(out, "step,x,y,f,df/dx,df/dy,grad_norm\n");
    fprintf(out, "0,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", x, y, f, gx, gy, hypot(gx, gy));
    for (long k = 1; k <= n; k++) {
        x = x + c * gx;
        y = y + c * gy;
        double x2 = x * x, u = -x2 + y, q = 1 - x;
        f = 100 * (u * u) + q * q;
        gx = -400 * u * x + 2 * x - 2;
        gy = -200 * x2 + 200 * y;
        fprintf(out, "%ld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", k, x, y, f, gx, gy, hypot(gx, gy));
    }
    fclose(out);
    printf("%.9f\n", (double)(clock() - start) / CLOCKS_PER_SEC);
    return 0;
}
"""


def c_loop(folder: str, source_text: str = C_SOURCE, name: str = "loop") -> str:
    source, program = os.path.join(folder, f"{name}.c"), os.path.join(folder, name)
    with open(source, "w", encoding="utf-8") as file:
        file.write(source_text)
    subprocess.run(["gcc", "-O2", "-o", program, source, "-lm"], check=True)
    return program


def csv_seconds(loop: str, n: int, out: TextIO) -> float:
    """CPU seconds of an n-step run printed by symdescent's csv writer to ``out``, in-process."""
    os.environ["SYMDESCENT_LOOP"] = loop
    run = iterate(make_problem(ROSENBROCK), START, lr=LR, tol=0, max_steps=n)
    renderer = DelimitedRenderer(out, layout_of(run.problem))
    started = time.process_time()
    for step in run.stream():
        renderer.step(step)
    renderer.finish(run.result())
    return time.process_time() - started


def python_csv_seconds(n: int, out: TextIO) -> float:
    """The same csv from a hand-written Python loop (f and ∇f as symdescent's generated code computes them)."""
    hypot, c = math.hypot, -LR
    x, y = START
    t, p = -(x * x) + y, 1 - x
    f, gx, gy = 100 * (t * t) + p * p, -400 * t * x + 2 * x - 2, -200 * (x * x) + 200 * y
    write = out.write
    started = time.process_time()
    write("step,x,y,f,df/dx,df/dy,grad_norm\n")
    write(f"0,{x!r},{y!r},{f!r},{gx!r},{gy!r},{hypot(gx, gy)!r}\n")
    for k in range(1, n + 1):
        x = x + c * gx
        y = y + c * gy
        x2 = x * x
        u, q = -x2 + y, 1 - x
        f = 100 * (u * u) + q * q
        gx = -400 * u * x + 2 * x - 2
        gy = -200 * x2 + 200 * y
        write(f"{k},{x!r},{y!r},{f!r},{gx!r},{gy!r},{hypot(gx, gy)!r}\n")
    out.flush()
    return time.process_time() - started


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


def command_seconds(steps: int, loop: str, cache_home: str, shown: tuple[str, ...] = ("-q",)) -> float:
    """CPU seconds of ``symdescent run ... -q`` as a child process, f and ∇f already in the cache at ``cache_home``.

    A one-step run fills the cache first (SymPy's part, the same for every loop; on a busy machine a cold
    compile may even pass the time limit), so the figures differ only by the loop.
    """
    env = {**os.environ, "SYMDESCENT_LOOP": "python", "XDG_CACHE_HOME": cache_home}
    args = [sys.executable, "-m", "symdescent", "run", ROSENBROCK, "--start", "-1.2,1", "--lr", str(LR)]
    subprocess.run([*args, "--steps", "1", "-q"], env=env, capture_output=True, check=False)
    env["SYMDESCENT_LOOP"] = loop
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.devnull, "w", encoding="utf-8") as null:
        done = subprocess.run(
            [*args, "--tol", "0", "--steps", str(steps), *shown],
            env=env,
            stdout=null,
            stderr=subprocess.PIPE,
            text=True,
        )
    if done.returncode != 0:
        raise SystemExit(f"symdescent run failed (exit {done.returncode}): {done.stderr.strip()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", metavar="FILE", help="also write the figures as a Markdown table")
    parser.add_argument("--long", type=int, default=10**8, help="steps of the long command runs (default 10⁸)")
    parser.add_argument("--csv-steps", type=int, default=10**6, help="steps of the csv runs (default 10⁶)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of each csv run (default 3)")
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
        printed = printed_runs(folder, options.csv_steps, options.repeats)
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
    report.lines.append("")
    csv_rows, command_rows, same_csv = printed
    title = f"{options.csv_steps:.0e} steps printed as csv to /dev/null: CPU per step (min of {options.repeats} runs)"
    print(title)
    for row in csv_rows:
        print(f"  {row[0]:<52} {row[1]:>10}   {row[2]}")
    print("symdescent run ... printing steps, CPU seconds of the whole command")
    for row in command_rows:
        print(f"  {row[0]:<52} {row[1]:>8} {row[2]:>8}   {row[3]}")
    print(same_csv)
    report.lines += [f"**{title}**", ""]
    report.table(["csv writer fed by", "CPU per step", "against the hand-written Python loop"], csv_rows)
    report.table(["symdescent run … (whole command)", "Python loop", "compiled loop (auto)", "ratio"], command_rows)
    report.lines += [same_csv, ""]
    report.write(options.markdown)


def printed_runs(folder: str, n: int, repeats: int) -> tuple[list[list[str]], list[list[str]], str]:
    """The csv figures, the whole commands that print steps, and whether the three csv texts are the same."""
    with open(os.devnull, "w", encoding="utf-8") as null:
        csv_seconds("numba", 1_000, null)  # compiled (or loaded) once: the runs below pay no compilation
        compiled = min(csv_seconds("numba", n, null) for _ in range(repeats)) / n
        python = min(csv_seconds("python", n, null) for _ in range(repeats)) / n
        hand = min(python_csv_seconds(n, null) for _ in range(repeats)) / n
    program = c_loop(folder, C_CSV_SOURCE, "csv")
    c = min(c_seconds(program, n) for _ in range(repeats)) / n
    texts = []
    for write in (lambda out: csv_seconds("numba", 10**4, out), lambda out: csv_seconds("python", 10**4, out)):
        buffer = io.StringIO()
        write(buffer)
        texts.append(buffer.getvalue())
    buffer = io.StringIO()
    python_csv_seconds(10**4, buffer)
    same = texts[0] == texts[1] == buffer.getvalue()
    verdict = "the same" if same else "NOT the same"
    same_csv = f"The csv of 10⁴ steps: compiled loop, Python loop and hand-written Python loop {verdict} bytes."
    csv_rows = [
        [name, f"{seconds * 1e9:.0f} ns", f"{seconds / hand:.2f}×"]
        for name, seconds in [
            ("hand-written Python loop (the same bytes)", hand),
            ("symdescent, compiled loop in blocks", compiled),
            ("symdescent, Python loop (fused)", python),
            ("C, gcc -O2, printf %.17g (not the same text)", c),
        ]
    ]
    cache_home = os.path.join(folder, "printed")
    command_rows = []
    for name, steps, shown in [
        ("--format csv", n, ("--format", "csv")),
        ("--format table (middle hidden)", n, ("--format", "table")),
        ("--format csv --every 100", 10 * n, ("--format", "csv", "--every", "100")),
    ]:
        command_seconds(steps, "auto", cache_home, shown)  # compiles the loop into the cache
        auto = command_seconds(steps, "auto", cache_home, shown)
        python_loop = command_seconds(steps, "python", cache_home, shown)
        label = f"{steps:.0e} steps, {name}"
        command_rows.append([label, f"{python_loop:.2f} s", f"{auto:.2f} s", f"{python_loop / auto:.2f}×"])
    return csv_rows, command_rows, same_csv


if __name__ == "__main__":
    main()
