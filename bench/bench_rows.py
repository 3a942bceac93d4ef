"""The row pass's kernel alone (f and ∇f of logistic regression from data): vector exp/log against the C library's.

Run from a checkout with the numba extra: ``python bench/bench_rows.py`` (``--markdown FILE`` also writes the
figures for the documentation).

X is 10000×50 with labels ±1, f = ``mean(log(1 + exp(-y * (X @ w))))``. One call of each kernel is one
evaluation of f and ∇f; each figure is the lowest over several runs of the median of many calls, the
contenders interleaved:

* the row pass as symdescent builds it (exp and log of ``kernels/vector_math.py``, vectorised),
* the same kernel with the C library's ``math.exp``/``math.log`` (what numba compiles them to: one value
  at a time),
* the row pass for least squares on the same X: the two products alone, the floor for any φ,
* hand-written numpy (``X @ w``, exp, log1p, ``Xᵀ @ r`` on a C-ordered Xᵀ): the reference of the ratios,

on every thread numba has, then on one. The numbers of all agree to 1e-12 (checked).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numba
import numpy as np
from report import Markdown

from symdescent.generated import define
from symdescent.vectors import rows
from symdescent.vectors.problem import make_vector_problem

LOGISTIC = "mean(log(1 + exp(-y * (X @ w))))"
SQUARES = "mean((X @ w - y)^2)"
ROWS, COLUMNS = 10_000, 50
CALLS = 200
REPEATS = 9
#: Seconds between contenders: BLAS's threads spin a while after numpy's product, taking a core from the next one.
SETTLE = 0.05


Contender = tuple[Callable[[np.ndarray], float], np.ndarray]  # a call giving f, and the array it writes ∇f into


def kernel(text: str, X: np.ndarray, y: np.ndarray, *, vector: bool = True) -> Contender:
    """One call: f and ∇f into g by the generated kernel (compiled in memory, so the cache is not involved)."""
    form = rows.row_form(make_vector_problem(text, {"w": np.zeros(COLUMNS)}, {"X": X, "y": y}))
    assert form is not None
    source = rows.kernel_source(form, vector=vector)
    assert source is not None
    block = define(source.replace("CACHE = True", "CACHE = False"), "block")
    parts, totals, g = np.empty((rows.BLOCKS, COLUMNS)), np.empty(rows.BLOCKS), np.empty(COLUMNS)

    def call(w: np.ndarray) -> float:
        return float(block(X, w, form.scale, g, parts, totals, y))

    return call, g


def handwritten(X: np.ndarray, y: np.ndarray) -> Contender:
    """The fastest numpy f and ∇f: five passes over n-vectors and two over X."""
    XT = np.ascontiguousarray(X.T)
    n = len(y)
    g = np.empty(COLUMNS)

    def call(w: np.ndarray) -> float:
        e = np.exp(-y * (X @ w))
        np.matmul(XT, -y * e / (1 + e), out=g)
        g[:] /= n
        return float(np.mean(np.log1p(e)))

    return call, g


def timings(contenders: dict[str, Contender], w: np.ndarray) -> dict[str, float]:
    """Microseconds per call: the lowest over REPEATS of the median of CALLS calls, interleaved.

    The median of single calls, not their mean: on a shared machine a parallel call of ~100 µs is now and then
    descheduled for milliseconds, which would decide a mean.
    """
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(REPEATS):
        for name, (call, _) in contenders.items():
            times = []
            for _ in range(CALLS):
                start = time.perf_counter()
                call(w)
                times.append(time.perf_counter() - start)
            best[name] = min(best[name], float(np.median(times)) * 1e6)
            time.sleep(SETTLE)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", metavar="FILE", help="also write the figures as a Markdown table")
    markdown_file = parser.parse_args().markdown
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, COLUMNS))
    y = np.where(X @ rng.normal(size=COLUMNS) + 0.5 * rng.normal(size=ROWS) >= 0, 1.0, -1.0)
    w = 0.1 * rng.normal(size=COLUMNS)
    reference = "hand-written numpy"
    contenders = {
        "row pass, vector exp/log": kernel(LOGISTIC, X, y),
        "row pass, C library exp/log": kernel(LOGISTIC, X, y, vector=False),
        "row pass, least squares (products only)": kernel(SQUARES, X, y),
        reference: handwritten(X, y),
    }
    logistic = [name for name in contenders if "least squares" not in name]
    f0, g0 = contenders[reference][0](w), contenders[reference][1].copy()
    for name in logistic:
        f, g = contenders[name][0](w), contenders[name][1]
        assert abs(f - f0) <= 1e-12 * abs(f0) and np.allclose(g, g0, rtol=1e-12, atol=1e-14), name
    report = Markdown(__file__, f"the row pass's kernel alone, {ROWS}×{COLUMNS} (lowest median of {REPEATS} runs)")
    table: list[list[str]] = []
    notes: list[str] = []
    threads = numba.get_num_threads()
    for count in sorted({threads, 1}, reverse=True):
        numba.set_num_threads(count)
        per_call = timings(contenders, w)
        print(f"{count} thread{'s' if count > 1 else ''} (numba's; numpy's BLAS as it is): µs per f and ∇f")
        for name, micro in per_call.items():
            ratio = f"{micro / per_call[reference]:.2f}×"
            print(f"  {name:<42} {micro:8.1f} µs   /numpy {ratio:>7}")
            table.append([str(count), name, f"{micro:.1f} µs", ratio])
        floor = per_call["row pass, least squares (products only)"]
        phi, vector_phi = per_call["row pass, C library exp/log"] - floor, per_call["row pass, vector exp/log"] - floor
        note = f"φ and φ' on {count} thread(s): {phi:.0f} µs with the C library's exp/log, {vector_phi:.0f} µs vector"
        print(f"  {note}")
        notes.append(f"{note}.")
    numba.set_num_threads(threads)
    report.table(["threads", "contender", "per call", "against numpy"], table)
    report.lines += [" ".join(notes), ""]
    report.write(markdown_file)


if __name__ == "__main__":
    main()
