"""Ctrl-C on the whole-array engine: the cost of evaluating in a worker thread, and how soon a stop exits.

Run from a checkout with the package installed: ``python bench/bench_interrupt.py`` (``--n N``: the size,
5·10⁷ by default; ``--stops K``: how many Ctrl-C to time, 5 by default; ``--markdown FILE``: also write what
it prints into FILE, for the documentation).

1. One evaluation of f and ∇f of sum(sin(x)^2 + log(1 + x^2) + exp(-x^2) + atan(x)^2) at n entries by the
   whole-array engine as it runs (in a worker thread, so that a Ctrl-C is heard at once), by the same
   generated function called directly in the main thread, and by hand-written numpy; best of 5,
   interleaved. Ratios against the hand-written numpy.
2. ``symdescent run`` of the same function (forced onto the whole-array engine) in a child process,
   SIGINT at a random moment of its steps: the time from the signal to the exit, and the exit code.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
from report import printed_as_markdown

from symdescent.vectors.problem import make_vector_problem

FUNCTION = "sum(sin(x)^2 + log(1 + x^2) + exp(-x^2) + atan(x)^2)"


def _option(name: str, default: float) -> int:
    return int(float(sys.argv[sys.argv.index(name) + 1])) if name in sys.argv else int(default)


def by_hand(x: np.ndarray) -> tuple[float, np.ndarray]:
    s, c, a = np.sin(x), np.cos(x), np.arctan(x)
    e, q = np.exp(-x * x), 1 + x * x
    f = float(np.sum(s * s + np.log(q) + e + a * a))
    g = 2 * s * c + 2 * x / q - 2 * x * e + 2 * a / q
    return f, g


def best(call: object, x: np.ndarray, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(x)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def evaluation(n: int) -> None:
    problem = make_vector_problem(FUNCTION, {"x": np.full(n, 0.5)})
    x = problem.flat_start()
    compiled = problem._value_and_grad  # the interruptible wrapper, as the engine calls it
    direct = compiled.__wrapped__
    threaded_s, direct_s, hand_s = [], [], []
    for _ in range(3):  # interleaved, so that a change of load hits all three alike
        threaded_s.append(best(compiled, x, 2))
        direct_s.append(best(direct, x, 2))
        hand_s.append(best(by_hand, x, 2))
    threaded, plain, hand = min(threaded_s), min(direct_s), min(hand_s)
    print(f"## 1. one evaluation of f and ∇f at n = {n:.0e} (s, best of 6, interleaved)")
    print(f"{'':34}{'seconds':>9}{'vs numpy':>10}")
    print(f"{'engine (worker thread)':34}{threaded:>9.3f}{threaded / hand:>10.2f}")
    print(f"{'same code, main thread':34}{plain:>9.3f}{plain / hand:>10.2f}")
    print(f"{'numpy by hand':34}{hand:>9.3f}{1.0:>10.2f}")
    print(f"worker thread / main thread: {threaded / plain:.3f}")


def stops(n: int, count: int) -> None:
    env = {**os.environ, "SYMDESCENT_VECTOR_ENGINE": "array"}
    args = [sys.executable, "-m", "symdescent", "run", FUNCTION, "--start", f"x=0.5*ones({n})"]
    args += ["--lr", "1e-9", "--tol", "0", "--steps", "100000", "--format", "jsonl"]
    print(f"\n## 2. Ctrl-C at a random moment of the steps, n = {n:.0e}: signal -> exit")
    rng = random.Random(19)
    waits = []
    for _ in range(count):
        child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert child.stdout is not None
        child.stdout.readline()  # step 0 is out: the steps are under way
        time.sleep(rng.uniform(0.2, 2.0))
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        child.stdout.read()
        child.wait()
        waits.append(time.monotonic() - sent)
        print(f"exit {child.returncode} after {waits[-1]:.3f} s")
    print(f"worst {max(waits):.3f} s, median {sorted(waits)[len(waits) // 2]:.3f} s (goal < 1 s)")


def main() -> None:
    n = _option("--n", 5e7)
    evaluation(n)
    stops(n, _option("--stops", 5))


if __name__ == "__main__":
    printed_as_markdown(__file__, "Ctrl-C on the whole-array engine", main)
