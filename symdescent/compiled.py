"""Long scalar runs as compiled code: the loop of :mod:`symdescent.loopcode`, compiled by numba once.

Why: the fused Python loop (:mod:`symdescent.engine`) costs a couple of
hundred nanoseconds a step on Rosenbrock, where the same loop in C takes a
few; 10⁸ steps are 20 s against half a second. For a run that prints only
its end (``-q``, :meth:`symdescent.run.Run.drain`), the whole loop (update,
f, ∇f, the stopping test) runs compiled, in blocks of about a tenth of a
second: between blocks Python records the step reached as ``run.last``, so
Ctrl-C, SIGTERM and the progress line work as before. Plain gd replaces the
fused loop (:func:`final_steps`); momentum, nesterov, adam, rmsprop and
adagrad, recognised from their recipes (:func:`symdescent.loopcode.plain_rule`),
replace the generic loop (:func:`method_steps`), their state packed into the
block's floats and back.

When: with ``SYMDESCENT_LOOP=auto`` (the default) the Python loop takes the
first :data:`PROBE_STEPS` steps (the fused or the generic loop), so a short run never imports numba; if the
run has not ended and the rest would take the Python loop more than
:data:`MIN_SECONDS`, the compiled loop takes over from that step. ``numba``
forces the compiled loop from step 0 (tests, benchmarks), ``python`` never
uses it. It needs numba (the ``jit`` extra) and a function the loop can
reproduce bit for bit (:func:`symdescent.loopcode.block_source`); otherwise the
Python loop runs, as before.

The same steps: the compiled loop does the Python loop's float operations in
its order, so x, f and ∇f are the same bits. Python still makes every
decision that needs more than that: the compiled loop returns at a step whose
‖∇f‖ is near the tolerance (Python's ``hypot`` decides), and hands a step that
fails (a non-finite value) back to the Python loop from the step before it,
which words the ending as always.

Cached: the loop's module is written to ``loops/`` in the cache folder
(:mod:`symdescent.numba_files`, private to the user) and numba keeps its
machine code beside it (``cache=True`` needs a real file), so the second run
of a function pays no compilation. The file is only ever imported after its
text was compared with the text just generated; a file that differs is
written again. Without the cache (``SYMDESCENT_CACHE=0``) the loop is compiled in
memory for each run.
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

from symdescent import numba_files, settings
from symdescent.errors import NUMERIC_ERRORS, InputError, install_hint
from symdescent.interruptible import signals_held
from symdescent.loopcode import block_source, pack_state, plain_rule, unpack_state
from symdescent.result import Step

if TYPE_CHECKING:
    from symdescent.engine import PythonEngine, Run
    from symdescent.generated import Lowered

Block = Callable[[Any, int, int, float, Any], tuple[int, int]]

#: The Python loop takes this many steps before the compiled one is considered (a short run imports no numba).
PROBE_STEPS = 100_000
#: ... and hands over only if the rest would take it longer than this: numba's import and start take about
#: 1 s of CPU even when the loop is in the cache, and compiling it adds 1–3 s the first time.
MIN_SECONDS = 1.0
MIN_SECONDS_TO_COMPILE = 4.0
#: ... for a function of up to this many characters of generated code; more code takes longer to compile.
COMPILE_SIZE = 2_000
#: Each compiled block runs for about this long before Python looks at signals and progress.
BLOCK_SECONDS = 0.1
#: A g·g above tol²·(1 + MARGIN)² is surely a ‖∇f‖ above tol (√(g·g) and hypot differ by a few ulp).
MARGIN = 1e-9


def have_numba() -> bool:
    return importlib.util.find_spec("numba") is not None


def _wanted(run: Run, first: Step, lowered: Lowered, method: str) -> str | None:
    """``auto`` (decide after the probe) or ``numba`` (from the start); None: the Python loop, as before.

    Nothing is checked for ``auto`` now: a run the probe covers costs nothing more than before.
    """
    wanted = settings.loop()
    if wanted == "python" or (wanted == "auto" and run.max_steps - first.step <= PROBE_STEPS):
        return None
    if wanted == "numba":
        if not have_numba():
            raise InputError(
                "SYMDESCENT_LOOP=numba needs numba, which is not installed",
                hint=f"{install_hint('jit')}, or unset SYMDESCENT_LOOP",
            )
        if block_source(lowered, method, cache=False) is None:
            return None
    return wanted


def final_steps(
    run: Run, first: Step, engine: PythonEngine, c: float, tol: float
) -> Generator[Step, None, None] | None:
    """The steps of a ``-q`` gd run from ``first`` with the compiled loop where it pays; None: the Python loop."""
    wanted = _wanted(run, first, engine.lowered, "gd")
    if wanted is None:
        return None
    return _gd_steps(run, first, engine, c, tol, probe=wanted == "auto")


def method_steps(run: Run, first: Step, generic: Generator[Step, None, None]) -> Generator[Step, None, None] | None:
    """The same for momentum, nesterov, adam, rmsprop and adagrad, whose runs otherwise take ``generic``."""
    from symdescent.engine import PythonEngine

    engine = run.problem.engine
    if settings.loop() == "python" or not isinstance(engine, PythonEngine):
        return None
    rule = plain_rule(run.optimizer)
    if rule is None or rule[0] == "gd":
        return None
    if type(first.f) is not float or any(type(v) is not float for v in (*first.x, *first.grad)):
        return None
    tol = run.tol if run.tol > 0 else -1.0
    if not _goes_on(first, run.max_steps, tol):
        return None
    wanted = _wanted(run, first, engine.lowered, rule[0])
    if wanted is None:
        return None
    return _method_steps(run, first, generic, engine, rule, tol, probe=wanted == "auto")


def _worth_it(lowered: Lowered, method: str, rest: int, elapsed: float, taken: int, name: str = "block") -> bool:
    """Whether the rest of the run would take the Python loop long enough to pay for numba (and it can)."""
    python_seconds = rest * elapsed / max(taken, 1)
    if python_seconds < MIN_SECONDS or not have_numba() or block_source(lowered, method, cache=False) is None:
        return False
    return python_seconds >= _compile_seconds(lowered, method, name)


def _gd_steps(
    run: Run, first: Step, engine: PythonEngine, c: float, tol: float, *, probe: bool
) -> Generator[Step, None, None]:
    step = first
    if probe:
        until = _Until(run)
        kend = min(run.max_steps, first.step + PROBE_STEPS)
        started = time.perf_counter()
        for _ in engine.gd_final(until, first, *first.x, first.grad_norm, *first.grad, first.step, kend, tol, c):
            pass
        elapsed = time.perf_counter() - started
        if until.end is None:  # the fused loop always ends by handing its step to the generic loop
            raise RuntimeError("the fused loop ended without a step")
        step = until.end
        ended = step.step < kend or not _goes_on(step, run.max_steps, tol)
        if ended or not _worth_it(engine.lowered, "gd", run.max_steps - step.step, elapsed, step.step - first.step):
            # ended (the generic loop words how), or not worth compiling: the Python loop as before
            yield from _python_from(run, engine, step, c, tol)
            return
    yield from _compiled_from(run, engine, "gd", [c], tol, step, None)


def _method_steps(
    run: Run,
    first: Step,
    generic: Generator[Step, None, None],
    engine: PythonEngine,
    rule: tuple[str, list[float]],
    tol: float,
    *,
    probe: bool,
) -> Generator[Step, None, None]:
    method, p = rule
    step, state = first, run.optimizer.init(tuple(first.x))
    if probe:
        kend, previous = first.step + PROBE_STEPS, None
        started = time.perf_counter()
        for step in generic:
            # hand over only at a step that moved: the generic loop counts unchanged steps from 0 again
            moved = previous is not None and (step.x != previous.x or step.f != previous.f)
            if run.status is None and step.step >= kend and moved:
                break
            previous = step
            yield step
        else:
            return  # the run ended within the probe
        elapsed, state = time.perf_counter() - started, run.loop_state
        if not _worth_it(engine.lowered, method, run.max_steps - step.step, elapsed, step.step - first.step):
            yield step
            yield from generic
            return
    generic.close()
    if pack_state(method, state) is None:
        yield from run.steps_from(step, state)
        return
    yield from _compiled_from(run, engine, method, p, tol, step, state)


def _compile_seconds(lowered: Lowered, method: str, name: str = "block") -> float:
    """What taking over would cost on top of :data:`MIN_SECONDS`: nothing when cached, else more for more code."""
    if _in_cache(lowered, method, name):
        return 0.0
    size = sum(map(len, (*lowered.statements, *lowered.outputs)))
    return MIN_SECONDS_TO_COMPILE * max(1.0, size / COMPILE_SIZE)


def _goes_on(step: Step, max_steps: int, tol: float) -> bool:
    """Whether no stopping rule holds at ``step`` (the fused loops' own test)."""
    return step.step < max_steps and tol < step.grad_norm < math.inf and math.isfinite(step.f)


def _python_from(run: Run, engine: PythonEngine, step: Step, c: float, tol: float) -> Generator[Step, None, None]:
    if not _goes_on(step, run.max_steps, tol):
        yield from run.steps_from(step)
        return
    yield from engine.gd_final(run, step, *step.x, step.grad_norm, *step.grad, step.step, run.max_steps, tol, c)


def _compiled_from(
    run: Run, engine: PythonEngine, method: str, p: list[float], tol: float, step: Step, state: Any
) -> Iterator[Step]:
    """Blocks of compiled steps from ``step`` (which goes on); each block's end is evaluated again by Python.

    ``run.loop`` becomes ``compiled`` once the first block has run.

    The Python loop takes over at a block's end that needs it (a step that ends the run, or the
    step before one that failed): gd's fused loop, or the generic loop with the optimiser's state.
    """
    import numpy as np

    value_and_grad, n = engine.value_and_grad, len(step.x)
    lo = (tol * (1.0 + MARGIN)) ** 2 if tol > 0 else -1.0
    extra = pack_state(method, state) or []
    values = np.array([*step.x, *step.grad, *extra, step.f], dtype=np.float64)
    params = np.array([*p, *([] if method == "gd" else [1.0 if run.maximize else 0.0])], dtype=np.float64)
    size = 1_000

    def python_from(step: Step, extra: list[float]) -> Iterator[Step]:
        if method == "gd":
            return _python_from(run, engine, step, p[0], tol)
        return run.steps_from(step, unpack_state(method, run.optimizer, tuple(step.x), extra))

    started = time.perf_counter()
    try:  # the first call compiles (or loads the machine code): if that fails, the Python loop runs instead
        with signals_held():  # a Ctrl-C while numba compiles would be lost
            block: Block = block_for(engine.lowered, method)
            k, code = block(values, step.step, min(run.max_steps, step.step + size), lo, params)
    except Exception:  # numba's errors share no base short of Exception; no step was taken
        yield from python_from(step, extra)
        return
    run.loop = "compiled"
    while True:
        elapsed = time.perf_counter() - started
        reached = block_end(value_and_grad, values, n, k)
        if reached is None:  # not when the block and Python agree; if so, Python replays from the last good step
            yield from python_from(step, extra)
            return
        step, extra = reached, values[2 * n : -1].tolist()
        run.last = step
        if code == 1 or not _goes_on(step, run.max_steps, tol):
            yield from python_from(step, extra)
            return
        size = max(1_000, min(size * 8, int(size * BLOCK_SECONDS / max(elapsed, 1e-6))))
        started = time.perf_counter()
        k, code = block(values, step.step, min(run.max_steps, step.step + size), lo, params)


def block_end(value_and_grad: Callable[..., Any], values: Any, n: int, k: int) -> Step | None:
    """Step k, where a block stopped, with f and ∇f from the Python code on the same x (so the same bits the
    block had) and ‖∇f‖ by ``math.hypot``, as the Python loop makes it; None when a value is not finite."""
    x = tuple(values[:n].tolist())
    try:
        f, *g = value_and_grad(*x)
        reached = Step(k, x, f, tuple(g), math.hypot(*g))
    except NUMERIC_ERRORS:
        return None
    return reached if math.isfinite(f) and math.isfinite(reached.grad_norm) else None


class _Until:
    """A stand-in run for the fused loop: its generic loop only records where the fused loop stopped."""

    def __init__(self, run: Run) -> None:
        self._run = run
        self.end: Step | None = None

    @property
    def last(self) -> Step:
        return self._run.last

    @last.setter
    def last(self, step: Step) -> None:
        self._run.last = step

    def steps_from(self, step: Step) -> Generator[Step, None, None]:
        self.end = step
        yield from ()


# -- compiling, and the cache of compiled loops ------------------------------------------------

_LOADED: dict[tuple[str, str], Any] = {}


def block_for(lowered: Lowered, method: str = "gd", name: str = "block") -> Any:
    """The compiled ``block`` (or ``rows``) of :func:`symdescent.loopcode.block_source`, from the cache when there."""
    use_cache = settings.cache_enabled()
    source = block_source(lowered, method, cache=use_cache)
    if source is None:
        raise ValueError("this function has no compiled loop")
    known = _LOADED.get((source, name))
    if known is not None:
        return known
    block = (_from_file(source, name) if use_cache else None) or _in_memory(source, name)
    _LOADED[source, name] = block
    return block


def _in_memory(source: str, name: str) -> Any:
    """The loop compiled in memory only (the cache is off, or its folder cannot be used)."""
    from symdescent.generated import define

    return define(source.replace("CACHE = True", "CACHE = False"), name)


def folder() -> str:
    return numba_files.folder("loops")


def _in_cache(lowered: Lowered, method: str = "gd", name: str = "block") -> bool:
    """Whether an earlier run left this loop compiled in the cache (then taking it over costs no compilation)."""
    source = block_source(lowered, method, cache=True)
    if source is None or not settings.cache_enabled():
        return False
    return numba_files.is_compiled(source, "loops", name)


def _from_file(source: str, name: str) -> Any:
    """The loop's module imported from the cache folder (:mod:`symdescent.numba_files`); None on failure."""
    return numba_files.load(source, "loops", name)
