"""Which engine runs a vector problem, and the run on the kernel engine (chunked, in place).

``make_run(problem, method="adam", lr=0.01)`` returns a :class:`~symdescent.vectors.run.VectorRun`
(whole-array numpy code) or a :class:`KernelRun` (:mod:`symdescent.kernels`: f, ∇f, ‖∇f‖ and the
update fused chunk by chunk, x and the optimiser's state updated in place). The kernel engine runs
when f is of the banded form (:func:`~symdescent.vectors.banded.banded_terms`), the method is one of
:data:`~symdescent.kernels.steps.ARRAY_STEPS` and x has at least :data:`KERNEL_MIN_ENTRIES` entries
(or the dtype is float32); ``$SYMDESCENT_VECTOR_ENGINE`` = ``kernel`` or ``array`` forces the choice
where it applies. Both engines yield the same steps, statuses and final point, to rounding.

Order of work in a :class:`KernelRun` step: ‖∇f(x_k)‖ is known BEFORE x_k is updated, so a
converged run ends at x_k as the whole-array loop does. For an elementwise f (no index shifts) one
pass updates x_k → x_{k+1} and evaluates f and ∇f at x_{k+1} while each chunk is in cache; with index
shifts the evaluation is a second pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symdescent import budget, settings
from symdescent.errors import InputError, StartPointError
from symdescent.layout import QUIET_ENTRIES
from symdescent.memory import check_run
from symdescent.result import Result, Step
from symdescent.vectors.problem import VectorProblem
from symdescent.vectors.run import ArrayRun, VectorRun

#: From this many entries on, a banded f runs on the kernel engine (measured in bench/bench_kernels.py: below
#: it the whole-array code is as fast and the per-pass overhead of the chunked sweep is not paid back).
KERNEL_MIN_ENTRIES = 100_000
#: Up to this many entries, each step keeps full copies of x and ∇f (tables, csv entries, history).
SMALL = 1000
#: Beyond SMALL, a step carries the first HEAD entries of x (the table's preview) and no gradient.
HEAD = 16

Guard = Callable[[Callable[[int], None]], Callable[[int], None]]


def choose_engine(problem: VectorProblem, method: str, requested: str | None = None) -> tuple[str, Any]:
    """("kernel", (terms, constant)) or ("array", None) for this problem and method."""
    from symdescent.kernels.steps import ARRAY_STEPS

    requested = requested or settings.vector_engine()
    if requested not in ("auto", "kernel", "array"):
        raise InputError(f"engine must be auto, kernel or array, got {requested!r}", parameter="engine")
    banded = None
    if requested != "array" and method in ARRAY_STEPS:
        from symdescent.vectors.banded import banded_terms

        banded = banded_terms(problem)
    big = requested == "kernel" or problem.dtype != "float64" or problem.size >= KERNEL_MIN_ENTRIES
    if banded is not None and banded[0] and big:
        return "kernel", banded
    if problem.dtype != "float64":
        raise InputError(
            f"dtype {problem.dtype} runs on the chunked engine only: a function of one vector made of sums of "
            "elementwise terms or index sums, minimised with " + ", ".join(ARRAY_STEPS),
            hint="use dtype float64 (the default) for this function or method",
            parameter="dtype",
        )
    return "array", None


def make_run(
    problem: VectorProblem,
    *,
    method: str = "gd",
    engine: str | None = None,
    in_place: bool = False,
    guard: Guard | None = None,
    **options: Any,
) -> VectorRun | KernelRun:
    """The run on the engine :func:`choose_engine` picks; ``in_place``: the kernel run may overwrite the start."""
    chosen, banded = choose_engine(problem, method, engine)
    if chosen == "kernel":
        check_run(problem.size, problem.dtype, method, "kernel", in_place)  # state arrays, before allocating
        try:
            return KernelRun(problem, banded, method=method, in_place=in_place, guard=guard, **options)
        except _Unsupported:
            if problem.dtype != "float64":
                raise InputError(
                    f"dtype {problem.dtype}: the chunked engine cannot evaluate this function",
                    hint="use dtype float64",
                    parameter="dtype",
                ) from None
    check_run(problem.size, problem.dtype, method, "array")  # its working arrays, before allocating
    return VectorRun(problem, method=method, **options)


class _Unsupported(Exception):
    """The kernel code generator refused the terms: the whole-array engine runs instead."""


@dataclass
class KernelMethod:
    """What a run reports of its optimiser (as :class:`~symdescent.vectors.optim.ArrayMethod` does)."""

    name: str
    params: dict[str, Any]
    info: dict[str, Any] | None = None
    evaluations: dict[str, int] = field(default_factory=lambda: {"f": 0, "grad": 0, "hessian": 0})


class KernelRun(ArrayRun):
    """A vector run on the kernel engine: the interface of :class:`~symdescent.vectors.run.VectorRun`.

    x lives in ONE array updated in place (the start array itself when ``in_place``, else a copy).
    Steps of a run with more than :data:`SMALL` entries carry only the first :data:`HEAD` entries of x
    and no gradient; the final point is in :meth:`result`. ``guard`` wraps each in-place step so that a
    Ctrl-C waits until the step is whole (the CLI passes its interrupt guard).
    """

    engine = "kernel"

    def __init__(
        self,
        problem: VectorProblem,
        banded: tuple[list[Any], float],
        *,
        method: str = "gd",
        max_steps: int = 1000,
        tol: float = 1e-6,
        maximize: bool = False,
        in_place: bool = False,
        guard: Guard | None = None,
        **hyperparameters: Any,
    ) -> None:
        from symdescent.kernels import BandTerm, compile_banded, make_step
        from symdescent.kernels.codegen import Unsupported
        from symdescent.optimizers import hyperparameters_of

        self._limits(max_steps, tol, maximize)
        self.problem = problem
        self.evaluations = {"f": 0, "grad": 0, "hessian": 0}  # one of f and ∇f per step: nothing more
        self.sign = -1.0 if maximize else 1.0
        terms, constant = banded
        if maximize:  # minimise −f: the kernels see −f, the steps report f
            terms, constant = [BandTerm(-t.body, t.offsets) for t in terms], -constant
        try:
            self.function = compile_banded(terms, constant, dtype=problem.dtype)
        except Unsupported as error:
            raise _Unsupported(str(error)) from None
        self.update = make_step(method, problem.size, problem.dtype, **hyperparameters)
        self.method = KernelMethod(
            method, {k: v for k, v in self.update.params.items() if k in hyperparameters_of(method)}
        )
        start = problem.start[problem.names[0]]
        assert isinstance(start, np.ndarray)
        self.x = start if in_place and start.flags.c_contiguous else np.array(start, order="C")
        self.start = self.x.copy() if self.x.size <= QUIET_ENTRIES else self.x  # no room for a copy of 10⁹
        self.small = self.x.size <= SMALL
        self._grad = np.empty_like(self.x) if self.small else None
        self._fused = self.function.halo == 0 and not self.small  # evaluate x_{k+1} in the updating pass
        self._advance_guarded = guard(self._advance) if guard is not None else self._advance
        self.progress: Callable[[float], None] | None = None
        self._pass = (0, 1)  # (passes done, passes) of the step in progress: a shifted f takes two per step
        with budget.paused():  # one pass over x, as a step is: bounded by the size, not the time limit
            f, norm = self._evaluate()
        if not (math.isfinite(f) and math.isfinite(norm)):
            what = "f" if not math.isfinite(f) else "∇f"
            raise StartPointError(f"{what} is not a finite number at the start point ({problem.point_text(self.x)})")
        self.last = self._step(0, f, norm)
        self.start_norm = norm
        self._steps = self._loop()

    @property
    def fraction_done(self) -> float | None:
        """How far through the step in progress the engine is (0..1), None between steps: for a live display."""
        within = self.function.fraction_done
        if within is None:
            return None
        done, passes = self._pass
        return (done + within) / passes

    def _evaluate(self) -> tuple[float, float]:
        """f and ‖∇f‖ at x (no update); small runs keep ∇f for the step."""
        if self._grad is not None:
            f = self.function.value_and_grad(self.x, self._grad)
            return f, float(np.linalg.norm(self._grad))
        return self.function.value_and_grad_norm(self.x, progress=self.progress)

    def _step(self, k: int, f: float, norm: float) -> Step:
        if self._grad is not None:
            return Step(k, self.x.copy(), self.sign * f, self.sign * self._grad, norm)
        return Step(k, self.x[:HEAD].copy(), self.sign * f, np.empty(0, self.x.dtype), norm)

    def _advance(self, k: int) -> None:
        """x_k → x_{k+1} in place; ``last`` becomes step k+1 before anything can interrupt."""
        if self._fused:
            _, _, f, norm = self.function.step_and_evaluate(self.x, self.update, progress=self.progress)
        else:
            self._pass = (0, 2)
            self.function.step(self.x, self.update, progress=self.progress)
            self._pass = (1, 2)
            f, norm = self._evaluate()
        self._pass = (0, 1)
        self.last = self._step(k + 1, f, norm)

    def _next_step(self, step: Step) -> Step:
        self._advance_guarded(step.step)
        return self.last

    def _close(self) -> None:
        self.function.close()

    def _final_point(self) -> np.ndarray:
        """The run's own array (not a copy: at 2·10⁹ entries there is no room for one); steps carry its head."""
        return self.x.reshape(-1)


def minimize_vectors(
    function: str,
    start: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
    *,
    keep_history: bool = True,
    dtype: str = "float64",
    engine: str | None = None,
    **options: Any,
) -> Result:
    """The library entry: ``minimize_vectors("norm(A @ x - b)^2", {"x": np.zeros(3)}, {"A": A, "b": b})``.

    ``dtype="float32"`` halves the memory (the chunked engine only); ``engine`` forces ``"kernel"`` or
    ``"array"`` where it applies (see :mod:`symdescent.vectors.engine`). The start arrays are not modified.
    """
    from symdescent.vectors.problem import make_vector_problem

    if not isinstance(start, Mapping):
        from symdescent.vectors.parse import parse_vector

        parse_vector(function)  # a bad function is the first thing to report
        raise InputError('vector problems take start values by name, e.g. start={"x": np.zeros(3)}')
    problem = make_vector_problem(function, start, data, dtype=dtype)
    run = make_run(problem, engine=engine, **options)
    small = problem.size <= 1000 and keep_history
    if small:
        return run.result(tuple(run))
    for _ in run:
        pass
    return run.result((run.last,))
