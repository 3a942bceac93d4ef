"""Long scalar runs that print their steps: the compiled loop in blocks, each block's rows made into Steps.

Why: a run printed as csv, tsv, json, jsonl or a table spends most of its
time in the Python loop's f and ∇f when the output is thin (the table,
``--every``); :mod:`symdescent.compiled` took over only ``-q`` runs. Here the
compiled ``rows`` loop (:func:`symdescent.loopcode.block_source`) runs blocks of
steps and writes x, f and ∇f of the steps the output prints (every step, or
every ``every``-th) into an array; Python makes each row the
:class:`~symdescent.result.Step` the Python loop would have made (‖∇f‖ by
``math.hypot``, as there), so every renderer writes the same bytes.

Between blocks Python runs: each block takes about :data:`BLOCK_SECONDS`, so
Ctrl-C, SIGTERM and the progress line wait no longer than that, and rows are
handed out (and streamed) as each block ends. ``run.last`` is the step last
handed out, or the block's end, exactly as the Python loop keeps it.

When: as for ``-q`` (:mod:`symdescent.compiled`): ``SYMDESCENT_LOOP=auto`` lets the
Python loop take the first :data:`~symdescent.compiled.PROBE_STEPS` steps and hands
over if the rest would take its own work (the renderer's time not counted)
long enough to pay for numba; ``numba`` compiles from step 0, ``python`` never.
Only plain float gd, momentum, nesterov, adam, rmsprop and adagrad qualify
(:func:`symdescent.loopcode.plain_rule`), on functions the loop reproduces bit for bit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Iterator
from itertools import repeat
from typing import TYPE_CHECKING, Any

from symdescent import compiled, settings
from symdescent.compiled import MARGIN, _goes_on, _wanted, _worth_it, block_end, block_for
from symdescent.interruptible import signals_held
from symdescent.loopcode import pack_state, plain_rule, unpack_state
from symdescent.result import Step

if TYPE_CHECKING:
    from symdescent.engine import PythonEngine
    from symdescent.run import Run

#: Each compiled block runs for about this long before Python hands out its rows and looks at signals.
BLOCK_SECONDS = 0.02
#: A block writes at most this many rows: Python makes them Steps a few thousand at a time (fewer objects alive).
MAX_ROWS = 4_096
#: The Python loop's cost a step minus the compiled loop's: the share of the probe's time taking over saves.
SAVED = 0.5


def streamed_steps(run: Run, python: Generator[Step, None, None], every: int) -> Generator[Step, None, None] | None:
    """The run's steps with the compiled loop where it pays; None: ``python`` (the Python loop, not started).

    ``every``: the output prints only steps k with k % every == 0 (and the last), so only those
    (and each block's end) are made into Steps; 1 for every step.
    """
    from symdescent.engine import PythonEngine

    engine, first = run.problem.engine, run.first
    if settings.loop() == "python" or not isinstance(engine, PythonEngine) or run.last is not first:
        return None
    rule = plain_rule(run.optimizer)
    if rule is None or any(type(v) is not float for v in (first.f, *first.x, *first.grad)):
        return None
    method, p = rule
    if method == "gd":
        p = [-p[0] if run.maximize else p[0]]  # the fused loop's c: x + c·∇f
    tol = run.tol if run.tol > 0 else -1.0
    if not _goes_on(first, run.max_steps, tol):
        return None
    wanted = _wanted(run, first, engine.lowered, method)
    if wanted is None:
        return None
    return _steps(run, python, engine, method, p, tol, max(1, every), probe=wanted == "auto")


def _steps(
    run: Run,
    python: Generator[Step, None, None],
    engine: PythonEngine,
    method: str,
    p: list[float],
    tol: float,
    every: int,
    *,
    probe: bool,
) -> Generator[Step, None, None]:
    step: Step = run.first
    state = None
    if probe:
        kend, previous, spent, clock = step.step + compiled.PROBE_STEPS, None, 0.0, time.perf_counter
        while True:
            started = clock()
            got = next(python, None)
            spent += clock() - started  # the loop's own time, not the renderer's
            if got is None:
                return  # the run ended within the probe
            step = got
            # hand over only at a step that moved: the generic loop counts unchanged steps from 0 again
            moved = previous is not None and (step.x != previous.x or step.f != previous.f)
            if run.status is None and step.step >= kend and moved and _goes_on(step, run.max_steps, tol):
                break
            previous = step
            yield step
        taken, rest = step.step - run.first.step, run.max_steps - step.step
        if not _worth_it(engine.lowered, method, rest, spent * SAVED, taken, "rows"):
            yield step
            yield from python
            return
        state = run.loop_state
    python.close()
    if method != "gd":
        state = run.optimizer.init(tuple(step.x)) if state is None else state
        if pack_state(method, state) is None:
            yield from run.steps_from(step, state)
            return
    yield from _rows_from(run, engine, method, p, tol, step, state, every)


def _python_from(
    run: Run, engine: PythonEngine, method: str, p: list[float], tol: float, step: Step, extra: list[float]
) -> Generator[Step, None, None]:
    """The Python loop from ``step`` (which it yields first): gd's fused loop, or the generic one with the state."""
    if method != "gd":
        yield from run.steps_from(step, unpack_state(method, run.optimizer, tuple(step.x), extra))
    elif not _goes_on(step, run.max_steps, tol):
        yield from run.steps_from(step)
    else:
        yield from engine.gd_steps(run, step, *step.x, step.grad_norm, *step.grad, step.step, run.max_steps, tol, p[0])


def _after_first(steps: Iterator[Step]) -> Iterator[Step]:
    """``steps`` without its first (a step already handed out)."""
    next(steps, None)
    return steps


def _rows_from(
    run: Run, engine: PythonEngine, method: str, p: list[float], tol: float, step: Step, state: Any, every: int
) -> Generator[Step, None, None]:
    """``step``, then blocks of compiled steps; each block's end is evaluated again by Python.

    The Python loop takes over at a block's end that needs it (a step that ends the run, or the
    step before one that failed), as in :func:`symdescent.compiled._compiled_from`.
    """
    import numpy as np

    value_and_grad, n = engine.value_and_grad, len(step.x)
    lo = (tol * (1.0 + MARGIN)) ** 2 if tol > 0 else -1.0
    extra = pack_state(method, state) or []
    values = np.array([*step.x, *step.grad, *extra, step.f], dtype=np.float64)
    params = np.array([*p, *([] if method == "gd" else [1.0 if run.maximize else 0.0])], dtype=np.float64)
    most = every * MAX_ROWS  # steps a block may take for its rows to fit
    size = min(1_000, most)
    run.last = step
    yield step
    try:  # the first call compiles (or loads the machine code): if that fails, the Python loop runs instead
        with signals_held():  # a Ctrl-C while numba compiles would be lost
            rows = block_for(engine.lowered, method, "rows")
            out = np.empty((size // every + 1, 2 * n + 1), dtype=np.float64)
            started = time.perf_counter()
            k, code, r = rows(values, step.step, min(run.max_steps, step.step + size), lo, params, out, every)
    except Exception:  # numba's errors share no base short of Exception; no step was taken
        yield from _after_first(_python_from(run, engine, method, p, tol, step, extra))
        return
    run.loop = "compiled"
    while True:
        elapsed = time.perf_counter() - started
        reached = block_end(value_and_grad, values, n, k)
        if reached is None:  # not when the block and Python agree; if so, Python replays from the last good step
            yield from _after_first(_python_from(run, engine, method, p, tol, step, extra))
            return
        for shown in _made(out, r, (step.step // every + 1) * every, every, k, n):
            run.last = shown
            yield shown
        step, extra = reached, values[2 * n : -1].tolist()
        if code == 1 or not _goes_on(step, run.max_steps, tol):
            yield from _python_from(run, engine, method, p, tol, step, extra)
            return
        run.last = step
        if k % every == 0:
            yield step
        size = min(most, max(1_000, min(size * 8, int(size * BLOCK_SECONDS / max(elapsed, 1e-6)))))
        if out.shape[0] < size // every + 1:
            out = np.empty((size // every + 1, 2 * n + 1), dtype=np.float64)
        started = time.perf_counter()
        k, code, r = rows(values, step.step, min(run.max_steps, step.step + size), lo, params, out, every)


def _made(out: Any, r: int, number: int, every: int, k: int, n: int) -> Iterator[Step]:
    """The first ``r`` rows of ``out`` as the Steps ``number``, ``number + every``… before ``k`` (the block's end).

    Column by column, so that no Python code runs per row: each row becomes a Step in C.
    """
    count = r if number + (r - 1) * every < k else r - 1
    columns = out[:count].T.tolist()
    xs, f, gs = zip(*columns[:n], strict=True), columns[n], columns[n + 1 :]
    norms = map(math.hypot, *gs)
    numbers = range(number, number + count * every, every)
    # tuple.__new__: Step(...) without NamedTuple's __new__ in Python, as the fused loop makes them
    return map(tuple.__new__, repeat(Step), zip(numbers, xs, f, zip(*gs, strict=True), norms, repeat(None)))
