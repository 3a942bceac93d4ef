"""The learning-rate sweep: one run per α on a log grid, to see where a method converges and where it breaks.

For gradient descent on a function with a constant Hessian the answer is
known in closed form — it converges exactly when α < 2/λmax, fastest at
α = 2/(λmin + λmax) — and :func:`stability` computes both, so a sweep (and its
picture) can show the measured edge beside the predicted one.

The runs are independent, so they run in parallel, one process per core,
forked after the function is compiled so that every process shares it. Each
run's outcome is summarised in a :class:`SweepPoint`; a run that hit the step
limit with f a million times above its start value is ``diverged`` too (1.1ᵗ
takes 7,000 steps to overflow a float), and one with f above its start by less
is ``diverging``.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from symdescent.errors import InputError
from symdescent.methods import method_spec
from symdescent.problem import Problem
from symdescent.result import Status

#: The grid has at most this many points: each is a whole run.
MAX_POINTS = 200
#: f grown this many times above its start by the step limit counts as diverged.
RUNAWAY = 1e6
#: A constant Hessian up to this many variables has its eigenvalues computed for the edge.
EDGE_VARIABLES = 50


@dataclass(frozen=True)
class SweepPoint:
    """One α of the sweep: how its run ended."""

    lr: float
    status: Status
    steps: int
    f: float
    grad_norm: float
    f0: float  # f at the start, to tell a run going the wrong way
    seconds: float
    maximize: bool = False  # then the wrong way is down

    @property
    def outcome(self) -> str:
        """The run's status, except at the step limit with f above its start value: ``diverged`` when f grew
        more than :data:`RUNAWAY` times (1.1ᵗ takes 7,000 steps to overflow, but it has plainly diverged),
        else ``diverging``."""
        worse = self.f < self.f0 if self.maximize else self.f > self.f0
        if self.status == Status.MAX_STEPS and (worse or not math.isfinite(self.f)):
            grown = not math.isfinite(self.f) or abs(self.f - self.f0) > RUNAWAY * max(abs(self.f0), 1e-300)
            return "diverged" if grown else "diverging"
        return str(self.status)


@dataclass(frozen=True)
class Sweep:
    """A sweep's points in α order, with gd's predicted edge where the Hessian is constant."""

    function: str
    method: str
    points: tuple[SweepPoint, ...]
    max_stable_lr: float | None  # 2/λmax (gd), when known
    best_lr: float | None  # 2/(λmin + λmax) (gd), when known and λmin > 0
    interrupted: bool = False

    def _repr_html_(self) -> str:
        """Jupyter shows the sweep as its table."""
        from symdescent.render.sweep import sweep_html

        return sweep_html(self)


def grid(low: float, high: float, points: int) -> tuple[float, ...]:
    """``points`` values from ``low`` to ``high``, evenly spaced on a log scale (to 15 digits), both ends included."""
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 or high <= low:
        raise InputError(f"the learning rates must run from a positive A to a larger B, got {low:g}..{high:g}")
    if not 2 <= points <= MAX_POINTS:
        raise InputError(f"a sweep takes 2 to {MAX_POINTS} points, got {points}")
    ratio = (math.log(high) - math.log(low)) / (points - 1)  # not log(high/low): 1e300/1e-300 overflows
    # 15 digits: 0.25·16^(3/4) is 2, not 1.9999999999999996, in every table and file
    inside = (float(f"{low * math.exp(k * ratio):.15g}") for k in range(1, points - 1))
    return (low, *inside, high)


def parse_range(text: str) -> tuple[float, float]:
    """``"0.01..2"`` -> (0.01, 2.0); each end is a number as start values are read (``1/100`` works)."""
    from symdescent.values import number

    low, sep, high = text.partition("..")
    if not sep or not low.strip() or not high.strip():
        raise InputError(f"learning rates {text!r}: write a range A..B, e.g. 0.01..2")
    return float(number(low.strip(), "the range's start")), float(number(high.strip(), "the range's end"))


def stability(problem: Any) -> tuple[float | None, float | None]:
    """gd's (2/λmax, 2/(λmin+λmax)) for a function whose Hessian is constant; (None, None) otherwise."""
    low: float | None
    high: float | None
    if isinstance(problem, Problem):
        if problem.dimension > EDGE_VARIABLES:
            return None, None
        hessian = problem.hessian
        if any(entry.free_symbols & set(problem.variables) for row in hessian for entry in row):
            return None, None
        from symdescent.hessian import numeric_eigenvalues

        values = numeric_eigenvalues(hessian)
        low, high = min(values), max(values)
    else:
        from symdescent.vectors.analysis import analyze_arrays

        analysis = analyze_arrays(problem, timeout=2.0)
        if not analysis.quadratic or analysis.lambda_max is None:
            return None, None
        low, high = analysis.lambda_min, analysis.lambda_max
    if high is None or not high > 0:
        return None, None
    best = 2 / (low + high) if low is not None and math.isfinite(low) and low > 0 else None
    return 2 / high, best


# -- running --------------------------------------------------------------------------------------

_SHARED: dict[str, Any] = {}  # what every run of the sweep shares; a forked worker inherits it


def _run_one(job: tuple[int, float]) -> tuple[int, SweepPoint]:
    """One run at α = ``lr`` on the shared problem, summarised (with its place in the grid)."""
    index, lr = job
    problem, start = _SHARED["problem"], _SHARED["start"]
    options = dict(_SHARED["options"], lr=lr)
    began = time.perf_counter()
    if isinstance(problem, Problem):
        from symdescent.run import iterate

        run: Any = iterate(problem, start, **options)
    else:
        from symdescent.vectors.engine import make_run

        run = make_run(problem, **options)
    first = None
    for step in run:
        if first is None:
            first = step
    last = run.last
    f0 = float(first.f) if first is not None else math.nan
    seconds, maximize = time.perf_counter() - began, bool(options.get("maximize"))
    point = SweepPoint(lr, run.status, last.step, float(last.f), float(last.grad_norm), f0, seconds, maximize)
    return index, point


def _quiet_worker() -> None:
    """A worker leaves Ctrl-C to the parent, and dies quietly when the parent stops the pool (SIGTERM).

    The parent's handlers (the CLI turns SIGTERM into an exception, to finish the line it is writing)
    are inherited through fork and are not the worker's business.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _points(lrs: Sequence[float], workers: int) -> Iterator[tuple[int, SweepPoint]]:
    """The runs as they finish, each with its place in the grid: in a pool of forked workers, else one by one."""
    jobs = list(enumerate(lrs))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for job in jobs:
            yield _run_one(job)
        return
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_quiet_worker)
    try:
        yield from pool.imap_unordered(_run_one, jobs)
        pool.close()
    finally:
        pool.terminate()  # Ctrl-C or an error: the other runs stop at once
        pool.join()


def default_workers(points: int) -> int:
    """One worker per core the process may use, at most one per point."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, points))


def sweep(
    problem: Any,
    start: Any,
    lrs: Sequence[float],
    *,
    method: str = "gd",
    max_steps: int = 1000,
    tol: float = 1e-6,
    maximize: bool = False,
    workers: int | None = None,
    on_point: Callable[[SweepPoint], None] | None = None,
    **hyperparameters: float,
) -> Sweep:
    """Run ``method`` from ``start`` once per learning rate in ``lrs`` and summarise each run.

    ``problem`` is a :class:`~symdescent.problem.Problem` (``start`` a point) or a problem of named
    arrays (``start`` None: its own start values). ``on_point`` is called as each point is known,
    in α order. A Ctrl-C stops the sweep; the points finished by then are kept (``interrupted``).
    """
    spec = method_spec(method)
    if not spec.has_lr:
        raise InputError(f"{method} chooses its own step lengths: there is no learning rate to sweep")
    from symdescent.values import float_point

    x0 = None
    if isinstance(problem, Problem):
        from symdescent.run import evaluate

        x0 = float_point(problem.names, start)
        evaluate(problem, x0, hint="choose another start point")  # a start where f is undefined: once, here
    _SHARED.update(
        problem=problem,
        start=x0,
        options={"method": method, "max_steps": max_steps, "tol": tol, "maximize": maximize, **hyperparameters},
    )
    edge, best = stability(problem) if method == "gd" and not maximize else (None, None)
    received: dict[int, SweepPoint] = {}
    given = 0  # on_point has had the points before this place: it sees them in α order
    interrupted = False
    try:
        for index, point in _points(sorted(lrs), workers or default_workers(len(lrs))):
            received[index] = point
            while given in received:
                if on_point is not None:
                    on_point(received[given])
                given += 1
    except KeyboardInterrupt:
        interrupted = True  # the runs that finished are kept, also those after one still running
    finally:
        _SHARED.clear()
    points = [received[index] for index in sorted(received)]
    return Sweep(problem.function_text, method, tuple(points), edge, best, interrupted)
