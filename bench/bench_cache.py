"""Shell-script speed, every goal side by side: warm and cold runs, ``--help``, and the cost per step.

Run from a checkout with the package installed: ``python bench/bench_cache.py [--repeats N] [--markdown FILE]``
(the Markdown file is what the documentation's performance page includes).

Whole commands are timed as a shell script sees them (wall time of a subprocess, best of
REPEATS, each interleaved with its baseline so that load from other processes hits both):

* warm: the seed example, its function already in the cache (a private, temporary cache),
  piped (CSV) and on a terminal (a pseudo-terminal, so the table is drawn), against
  ``python -c "import click, rich"``;
* cold: the same with an empty cache (a fresh one per run: it pays for writing the entry),
  against ``python -c "import sympy"``;
* ``symdescent --help`` against ``python -c "import click, rich"``.

Per step: the marginal cost of one more gd step on Rosenbrock, (t(N2) - t(N1)) / (N2 - N1)
over whole commands, for ``-q`` and ``--format csv`` against the same loop typed in by hand
in pure Python (f, ∇f, ‖∇f‖ by hypot and the stopping test at each step; for CSV the rows
written with ``csv.writer`` and ``repr`` floats), run as a script the same way.

Finally a shell loop over ten learning rates, with and without the cache.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from report import Markdown, on_terminal

PYTHON = sys.executable
SCRIPT = Path(PYTHON).parent / "symdescent"
SYMDESCENT = [str(SCRIPT)] if SCRIPT.exists() else [PYTHON, "-m", "symdescent"]
SEED = ["run", "x**2+y**2", "--start", "1,2", "--lr", "0.1"]
CLICK_RICH = [PYTHON, "-c", "import click, rich"]
SYMPY = [PYTHON, "-c", "import sympy"]
ROSENBROCK = "(1-x)**2+100*(y-x**2)**2"
LR = 0.0002
N1, N2 = 1_000, 601_000

HAND_LOOP = f"""
import csv, math, sys


def main(n, rows):  # a function, so that the loop's variables are fast locals
    x, y, lr = -1.2, 1.0, {LR}
    hypot, isfinite = math.hypot, math.isfinite
    t = y - x * x
    f = (1 - x) * (1 - x) + 100 * t * t
    gx, gy = -2 * (1 - x) - 400 * x * t, 200 * t
    norm = hypot(gx, gy)
    writer = csv.writer(sys.stdout, lineterminator="\\n")
    if rows:
        writer.writerow(["step", "x", "y", "f", "df/dx", "df/dy", "grad_norm"])
        writer.writerow([0, repr(x), repr(y), repr(f), repr(gx), repr(gy), repr(norm)])
    for k in range(1, n + 1):
        x = x - lr * gx
        y = y - lr * gy
        t = y - x * x
        f = (1 - x) * (1 - x) + 100 * t * t
        gx = -2 * (1 - x) - 400 * x * t
        gy = 200 * t
        norm = hypot(gx, gy)
        if not isfinite(f) or not isfinite(norm):
            break
        if rows:
            writer.writerow([k, repr(x), repr(y), repr(f), repr(gx), repr(gy), repr(norm)])
    if not rows:
        print(repr(x), repr(y))


main(int(sys.argv[1]), sys.argv[2] == "csv")
"""


#: A user's environment: compiled bytecode cached on disk, buffered output (a CI shell may set these).
CLEAN = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")}


def wall(command: list[str], env: dict[str, str] | None = None, *, terminal: bool = False) -> tuple[float, float]:
    """Wall and CPU time (user + system) of one run, its output read from a pipe (or a pseudo-terminal)."""
    full_env = {**CLEAN, **(env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    if terminal:
        on_terminal(command, full_env, stderr=False)
    else:
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=full_env, check=False)
        if proc.returncode not in (0, 4):  # done, or the step limit (a timing of a failure is no timing)
            raise SystemExit(f"{' '.join(command)} failed with exit code {proc.returncode}")
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


Times = tuple[float, float]  # best wall time, best CPU time


def interleaved(pairs: dict[str, Callable[[], Times]], repeats: int) -> dict[str, Times]:
    times = {name: (math.inf, math.inf) for name in pairs}
    for _ in range(repeats):
        for name, function in pairs.items():
            elapsed, cpu = function()
            times[name] = (min(times[name][0], elapsed), min(times[name][1], cpu))
    return times


def row(label: str, ours: Times, baseline_label: str, baseline: Times, goal: float, unit: str = "ms") -> str:
    """Wall times and their ratio against the goal; the CPU-time ratio alongside (steadier on a busy machine)."""
    scale = 1e3 if unit == "ms" else 1e9
    ratio, cpu_ratio = ours[0] / baseline[0], ours[1] / baseline[1]
    verdict = "yes" if ratio <= goal else "NO"
    return (
        f"  {label:<38} {ours[0] * scale:6.0f} {unit}   {baseline_label:<32} {baseline[0] * scale:6.0f} {unit}"
        f"   {ratio:5.2f}x  <= {goal}x {verdict:<3}   cpu {cpu_ratio:5.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--markdown", metavar="FILE", help="also write the figures as a Markdown table")
    args = parser.parse_args()
    repeats = args.repeats
    report = Markdown(__file__, f"Shell scripts: whole commands and the cost per step (best of {repeats})")
    rows: list[list[str]] = []

    def code(text: str) -> str:  # a command is shown as code
        return f"`{text}`" if text.startswith("python -c") else text

    def record(label: str, ours: Times, baseline_label: str, baseline: Times, goal: float, unit: str = "ms") -> str:
        scale = 1e3 if unit == "ms" else 1e9
        ratio, cpu_ratio = ours[0] / baseline[0], ours[1] / baseline[1]
        rows.append(
            [
                label,
                f"{ours[0] * scale:.0f} {unit}",
                f"{code(baseline_label)}: {baseline[0] * scale:.0f} {unit}",
                f"{ratio:.2f}× (CPU {cpu_ratio:.2f}×)",
                f"≤ {goal}×",
                "yes" if ratio <= goal else "no",
            ]
        )
        return row(label, ours, baseline_label, baseline, goal, unit)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}")
    print(f"python {platform.python_version()}; best of {repeats} wall times, interleaved with the baselines\n")
    with tempfile.TemporaryDirectory() as warm_home, tempfile.TemporaryDirectory() as scratch:
        warm_env = {"XDG_CACHE_HOME": warm_home}
        subprocess.run([*SYMDESCENT, *SEED], capture_output=True, env={**CLEAN, **warm_env}, check=True)
        fresh = iter(range(10**6))

        def cold() -> Times:  # a fresh, empty cache every time: the run also writes its entry
            return wall([*SYMDESCENT, *SEED], {"XDG_CACHE_HOME": os.path.join(scratch, str(next(fresh)))})

        times = interleaved(
            {
                "warm csv": lambda: wall([*SYMDESCENT, *SEED], warm_env),
                "warm table": lambda: wall([*SYMDESCENT, *SEED], warm_env, terminal=True),
                "cold": cold,
                "help": lambda: wall([*SYMDESCENT, "--help"]),
                "click, rich": lambda: wall(CLICK_RICH),
                "sympy": lambda: wall(SYMPY),
            },
            repeats,
        )
        print("whole commands")
        base = 'python -c "import click, rich"'
        print(record("seed example, warm cache, piped (csv)", times["warm csv"], base, times["click, rich"], 2.0))
        print(record("seed example, warm cache, terminal", times["warm table"], base, times["click, rich"], 2.5))
        print(record("seed example, empty cache", times["cold"], 'python -c "import sympy"', times["sympy"], 1.25))
        print(record("symdescent --help", times["help"], base, times["click, rich"], 1.3))

        hand = Path(scratch) / "hand_loop.py"
        hand.write_text(HAND_LOOP)
        steps = [*SYMDESCENT, "run", ROSENBROCK, "--start=-1.2,1", "--lr", str(LR), "--tol", "0"]
        commands = {
            "q": lambda n: [*steps, "--steps", str(n), "-q"],
            "csv": lambda n: [*steps, "--steps", str(n), "--format", "csv"],
            "hand q": lambda n: [PYTHON, str(hand), str(n), "q"],
            "hand csv": lambda n: [PYTHON, str(hand), str(n), "csv"],
        }
        per_step = interleaved(
            {
                f"{kind} {n}": functools.partial(wall, command(n), warm_env)
                for kind, command in commands.items()
                for n in (N1, N2)
            },
            max(5, repeats // 2),
        )

        def marginal(kind: str) -> Times:
            low, high = per_step[f"{kind} {N1}"], per_step[f"{kind} {N2}"]
            return (high[0] - low[0]) / (N2 - N1), (high[1] - low[1]) / (N2 - N1)

        print(f"\nper gd step on Rosenbrock, marginal over {N2 - N1:,} steps (whole commands, warm cache)")
        print(record("symdescent run -q", marginal("q"), "hand-written loop", marginal("hand q"), 1.2, "ns"))
        print(
            record(
                "symdescent run --format csv",
                marginal("csv"),
                "hand loop + csv.writer",
                marginal("hand csv"),
                1.2,
                "ns",
            )
        )

        loop = (
            "for lr in 0.0001 0.0002 0.0003 0.0004 0.0005 0.0006 0.0007 0.0008 0.0009 0.001; do "
            f'"{SYMDESCENT[0]}" run "{ROSENBROCK}" --start=-1.2,1 --lr $lr --steps 100 -q; done'
        )
        if len(SYMDESCENT) == 1:
            shell = {
                "with the cache": lambda: wall(["sh", "-c", loop], {"XDG_CACHE_HOME": warm_home}),
                "without (--no-cache)": lambda: wall(["sh", "-c", loop], {"SYMDESCENT_CACHE": "0"}),
            }
            loops = interleaved(shell, max(3, repeats // 3))
            print("\nshell loop over ten learning rates (Rosenbrock, 100 steps each, -q)")
            for name, (seconds, cpu) in loops.items():
                print(f"  {name:<22} {seconds:6.2f} s  (cpu {cpu:5.2f} s)")
                rows.append([f"shell loop of ten runs, {name}", f"{seconds:.2f} s", "", f"CPU {cpu:.2f} s", "", ""])
    report.table(["goal", "symdescent", "baseline", "ratio", "target", "met"], rows)
    report.write(args.markdown)


if __name__ == "__main__":
    main()
