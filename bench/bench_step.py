"""Goal 1: the marginal cost of one gd step on Rosenbrock, against a hand-written Python loop.

Run from a checkout with the package installed: ``python bench/bench_step.py``
(``--markdown FILE`` also writes the figures as a Markdown table for the documentation).

Each figure is (min time for N2 steps - min time for N1 steps) / (N2 - N1), over repeats,
so start-up and compilation cancel out. The baseline loop is typed in by hand and
does what symdescent reports per step: f, ∇f, ‖∇f‖ (hypot), the stopping test and a
row per step, either streamed (a generator, like ``iterate``) or kept (a list, like
``minimize``'s history). A bare loop (∇f and the update only) is shown for reference.
Runs are interleaved so that noise from other processes hits all of them alike.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from report import Markdown

from symdescent.optimizers import gd
from symdescent.problem import make_problem
from symdescent.run import iterate, minimize

ROSENBROCK = "(1-x)**2 + 100*(y-x**2)**2"
START = (-1.2, 1.0)
LR = 0.0002
N1, N2 = 1_000, 11_000
REPEATS = 25


def _handwritten_rows(n: int) -> Iterator[tuple[int, tuple[float, float], float, tuple[float, float], float]]:
    """The baseline: Rosenbrock's f and gradient typed in by hand, a row per step as symdescent reports it."""
    x, y = START
    hypot, isfinite = math.hypot, math.isfinite
    t = y - x * x
    gx, gy = -2 * (1 - x) - 400 * x * t, 200 * t
    tol = -1.0  # tol = 0: never converges, like --tol 0
    for k in range(1, n + 1):
        x = x - LR * gx
        y = y - LR * gy
        t = y - x * x
        f = (1 - x) * (1 - x) + 100 * t * t
        gx = -2 * (1 - x) - 400 * x * t
        gy = 200 * t
        norm = hypot(gx, gy)
        if not isfinite(f) or norm <= tol:
            break
        yield (k, (x, y), f, (gx, gy), norm)


def drain(steps: Iterable[object]) -> None:
    """Consume an iterator without keeping anything (the same consumer for every contender)."""
    deque(steps, maxlen=0)


def handwritten_stream(n: int) -> None:
    drain(_handwritten_rows(n))


def handwritten_history(n: int) -> list[tuple[int, tuple[float, float], float, tuple[float, float], float]]:
    return list(_handwritten_rows(n))


def bare(n: int) -> float:
    """Only the gradient and the update: the least a Python loop can do."""
    x, y = START
    for _ in range(n):
        t = y - x * x
        x, y = x - LR * (-2 * (1 - x) - 400 * x * t), y - LR * (200 * t)
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", metavar="FILE", help="also write the figures as a Markdown table")
    markdown_file = parser.parse_args().markdown
    problem = make_problem(ROSENBROCK)
    generic = gd(lr=LR)
    # The same update through a wrapper: the fast path does not recognise it, so this times the generic loop.
    generic = generic._replace(update=lambda g, s, x, _u=generic.update: _u(g, s, x))
    contenders: dict[str, Callable[[int], object]] = {
        "iterate(), fused gd": lambda n: drain(iterate(problem, START, lr=LR, tol=0, max_steps=n)),
        "iterate(), generic loop": lambda n: drain(iterate(problem, START, method=generic, tol=0, max_steps=n)),
        "hand-written loop, streamed": handwritten_stream,
        "minimize(), fused gd": lambda n: minimize(problem, START, lr=LR, tol=0, max_steps=n),
        "hand-written loop, kept": handwritten_history,
        "bare hand-written loop": bare,
    }
    fused = minimize(problem, START, lr=LR, tol=0, max_steps=N1).history
    assert fused == minimize(problem, START, method=generic, tol=0, max_steps=N1).history, "paths differ"
    short = dict.fromkeys(contenders, math.inf)
    long = dict.fromkeys(contenders, math.inf)
    for _ in range(REPEATS):
        for name, run in contenders.items():
            t0 = time.perf_counter()
            run(N1)
            t1 = time.perf_counter()
            run(N2)
            t2 = time.perf_counter()
            short[name] = min(short[name], t1 - t0)
            long[name] = min(long[name], t2 - t1)
    best = {name: (long[name] - short[name]) / (N2 - N1) for name in contenders}
    print(f"Rosenbrock, 2 variables: marginal cost of one gd step ({N1} and {N2} steps, min of {REPEATS} runs each)")
    pairs = [
        ("iterate(), fused gd", "hand-written loop, streamed"),
        ("iterate(), generic loop", "hand-written loop, streamed"),
        ("minimize(), fused gd", "hand-written loop, kept"),
        ("bare hand-written loop", "hand-written loop, streamed"),
    ]
    print(f"  {'symdescent':<26} {'ns/step':>8}   {'baseline':<28} {'ns/step':>8}   ratio")
    rows = []
    for ours, theirs in pairs:
        ratio = best[ours] / best[theirs]
        print(f"  {ours:<26} {best[ours] * 1e9:8.0f}   {theirs:<28} {best[theirs] * 1e9:8.0f}   {ratio:5.2f}x")
        rows.append([ours, f"{best[ours] * 1e9:.0f} ns", theirs, f"{best[theirs] * 1e9:.0f} ns", f"{ratio:.2f}×"])
    report = Markdown(__file__, f"One gd step on Rosenbrock, 2 variables (min of {REPEATS} runs)")
    report.table(["symdescent", "per step", "baseline", "per step", "ratio"], rows)
    report.lines.append("Goal: `iterate()` with the fused gd loop within 1.2× the hand-written loop.")
    report.write(markdown_file)
    ratio = best["iterate(), fused gd"] / best["hand-written loop, streamed"]
    print(f"goal 1 (iterate, fused gd <= 1.20x the hand-written loop): {ratio:.2f}x")


if __name__ == "__main__":
    main()
