"""The loop: from a start point, apply an optimiser until a stopping rule fires.

``iterate(problem, x0, ...)`` returns a :class:`Run`: iterate it to get each
:class:`~symdescent.result.Step` as it is computed (step 0 is the start);
when it is exhausted, ``run.status`` and ``run.message`` say why it stopped,
and ``run.result(history)`` packs everything into a
:class:`~symdescent.result.Result`. ``minimize`` does all of that at once::

    result = minimize("x**2 + y**2", start=(1, 2), lr=0.1)
    result.x, result.steps, result.status

Stopping rules, checked at every step including step 0: ‖∇f‖ ≤ tol
(``converged``, never when tol = 0), the step limit (``completed`` when
tol = 0, else ``max_steps``), a non-finite or complex value (``diverged``),
and with exact arithmetic a next step predicted to take too long
(``too_slow``).

The numbers are floats by default; ``exact=True`` or
``working_precision=D`` run the same loop on exact SymPy numbers or D-digit
mpmath floats (see :mod:`symdescent.arithmetic`).
The start point is checked before anything is yielded: an undefined f or ∇f
there is the user's input error, not a divergence.
"""

from __future__ import annotations

import collections
import contextlib
import math
import operator
import time
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from symdescent.arithmetic import FLOAT, Arithmetic, make_arithmetic
from symdescent.engine import fast_steps
from symdescent.errors import NUMERIC_ERRORS, InputError, StartPointError
from symdescent.methods import method_name
from symdescent.optimizers import Optimizer, make_optimizer
from symdescent.result import Result, Status, Step
from symdescent.stopping import StoppingRules

if TYPE_CHECKING:
    import sympy as sp

    from symdescent.problem import Problem

# SymPy, and the modules that need it (problem, values, hyperparameters, diagnose), are imported
# only where a run needs them: a float run on a problem loaded from the cache (symdescent.warm)
# never imports SymPy.


#: Steps the Python loop takes before the compiled one is considered (:data:`symdescent.compiled.PROBE_STEPS`).
COMPILED_AFTER = 100_000


class Run(StoppingRules):
    """A run in progress: an iterator of steps that remembers how it ended."""

    def __init__(
        self,
        problem: Problem,
        x0: Sequence[Any],  # floats, or for exact and D-digit runs also text and SymPy numbers
        optimizer: Optimizer,
        *,
        max_steps: int = 1000,
        tol: float = 1e-6,
        maximize: bool = False,
        arithmetic: Arithmetic = FLOAT,
    ) -> None:
        self._limits(max_steps, tol, maximize)
        if not isinstance(optimizer, Optimizer):
            raise InputError(f"method must be a method's name or an Optimizer, not {type(optimizer).__name__}")
        self.arithmetic = arithmetic
        self.problem = problem = arithmetic.prepare(problem)
        self.optimizer = optimizer
        if arithmetic is FLOAT:
            self.start = _float_point(problem.names, x0)
        else:
            from symdescent.values import read_point

            self.start = tuple(arithmetic.number(v) for v in read_point(problem.names, x0))
        arithmetic.check_size(problem, self.start)  # exact numbers: refuse before building a huge f(x0)
        first = self.first = evaluate(problem, self.start, arithmetic=arithmetic)
        optimizer.init(tuple(first.x))  # init is pure: a method refuses what it cannot do (newton > 100 variables) now
        self.evaluations = {"f": 0, "grad": 0, "hessian": 0}
        #: The last step given out (kept up to date by whichever loop runs).
        self.last = first
        self.loop_state: Any = None  # the optimiser's state at ``last``, kept by the generic loop
        self.start_norm, self.start_f = first.grad_norm, first.f
        # Plain float gd takes a generated loop that gives the same steps faster (symdescent.engine);
        # ``loop`` says which loop runs: "fused", "vector" or "generic".
        fast = fast_steps(self, first) if arithmetic is FLOAT else None
        self.loop = "generic" if fast is None else fast[0]
        self._steps: Generator[Step, None, None] = self.steps_from(first) if fast is None else fast[1]

    def drain(self) -> None:
        """Run to the end without handing out the steps (``-q``); ``last`` is then the final step.

        Before the first step is taken, plain float gd switches to a generated
        loop that builds no Step per step (:func:`symdescent.engine.fast_steps`).
        """
        if self.last is self.first and self.loop == "fused":
            fast = fast_steps(self, self.first, final_only=True)
            if fast is not None:
                self._steps = fast[1]
        elif self.last is self.first and self.loop == "generic" and self.arithmetic is FLOAT:
            from symdescent.compiled import method_steps

            compiled = method_steps(self, self.first, self._steps)
            if compiled is not None:
                self._steps = compiled
        collections.deque(self._steps, maxlen=0)

    def stream(self, every: int = 1) -> Generator[Step, None, None]:
        """The steps, a long run's from the compiled loop in blocks (:mod:`symdescent.blocks`); call before any.

        ``every``: the caller keeps only steps k with k % every == 0 and the last; the others may be left out.
        """
        if self.last is self.first and self.arithmetic is FLOAT and self.loop in ("fused", "generic") and self._long():
            from symdescent.blocks import streamed_steps

            compiled = streamed_steps(self, self._steps, every)
            if compiled is not None:
                self._steps = compiled
        return self._steps

    def _long(self) -> bool:
        """Whether the compiled loop may take part: a short ``auto`` run is not worth even importing it."""
        from symdescent import settings

        loop = settings.loop()
        return loop == "numba" or (loop == "auto" and self.max_steps - self.first.step > COMPILED_AFTER)

    @property
    def method_name(self) -> str:
        return self.optimizer.name

    @property
    def params(self) -> dict[str, Any]:
        """The method's parameters; the engine too, which evaluates floats (exact and mpmath runs have none)."""
        engine = {"engine": self.problem.engine.name} if self.arithmetic is FLOAT else {}
        return {**self.optimizer.params, **engine}

    def _extra_arguments(self) -> dict[str, Any]:
        """What line searches and Newton may ask for, all describing −f when maximising; counted."""
        problem, sign, counts = self.problem, -1.0 if self.maximize else 1.0, self.evaluations

        def value_fn(x: Sequence[float]) -> float:
            counts["f"] += 1
            try:
                f = sign * problem.value(*x)
            except NUMERIC_ERRORS:
                return math.inf
            return f if isinstance(f, float | int) and math.isfinite(f) else math.inf

        def value_and_grad_fn(x: Sequence[float]) -> tuple[float, tuple[float, ...]]:
            counts["f"] += 1
            counts["grad"] += 1
            try:
                f, *g = problem.value_and_grad(*x)
                if isinstance(f, float | int) and math.isfinite(f):
                    return sign * f, tuple(sign * gi for gi in g)
            except NUMERIC_ERRORS:
                pass
            return math.inf, tuple(math.nan for _ in x)

        def hessian_fn(x: Sequence[float]) -> tuple[tuple[float, ...], ...]:
            counts["hessian"] += 1
            try:
                rows = problem.hessian_at(*x)
            except NUMERIC_ERRORS:
                return tuple(tuple(math.nan for _ in x) for _ in x)
            return tuple(tuple(sign * h for h in row) for row in rows) if self.maximize else rows

        return {
            "value_fn": value_fn,
            "value_and_grad_fn": value_and_grad_fn,
            "hessian_fn": hessian_fn,
            # built on demand: only exact-line asks, and a problem loaded from the cache needs SymPy for it
            "symbolic": lambda: (-problem.expr if self.maximize else problem.expr, problem.variables),
        }

    def _linear_in(self) -> Sequence[str]:
        return linear_variables(self.problem)

    def _curvatures(self) -> list[float] | None:
        """The eigenvalues of the Hessian of the function minimised, when it is constant (a quadratic) and small."""
        problem = self.problem
        if problem.dimension > LINEAR_CHECK_VARIABLES // 5:
            return None
        rows = problem.hessian
        if not all(h.is_number for row in rows for h in row):
            return None
        from symdescent.hessian import numeric_eigenvalues

        return [-v for v in numeric_eigenvalues(rows)] if self.maximize else list(numeric_eigenvalues(rows))

    def steps_from(self, step: Step, state: Any = None) -> Generator[Step, None, None]:
        """The shared loop (:meth:`_run_from`) from ``step`` (which must be this run's): every method, every arithmetic.

        It yields ``step`` first, then each new step, and words the ending. ``state``: the optimiser's
        state at ``step`` (default: a fresh one); ``loop_state`` is the state of the step last yielded.
        """
        arithmetic = self.arithmetic
        value_and_grad = arithmetic.compile(self.problem)
        update = self.optimizer.update
        maximize = self.maximize
        hypot, isfinite, add = arithmetic.norm, arithmetic.isfinite, operator.add
        errors, scope, scoped = arithmetic.errors, arithmetic.scope, arithmetic.digits is not None
        floats = arithmetic is FLOAT
        # Exact numbers can grow without bound: watch says when the next step would take too long.
        watch, clock = arithmetic.watch(), time.process_time
        extra = self._extra_arguments() if self.optimizer.needs_extra else None
        x = tuple(step.x)
        state = self.loop_state = self.optimizer.init(x) if state is None else state

        def move(step: Step) -> tuple[Any, ...]:
            nonlocal state
            grad = tuple(-g for g in step.grad) if maximize else step.grad
            if extra is None:
                updates, state = update(grad, state, x)
            else:
                value = -step.f if maximize else step.f
                updates, state = update(grad, state, x, value=value, grad=grad, **extra)
            return tuple(map(add, x, updates))

        def advance(step: Step) -> Step | None:
            """The update, then f and ∇f at the new point; a failure ends the run here."""
            nonlocal x
            started = clock() if watch is not None else 0.0
            try:
                if scoped:  # mpmath rounds every operation, negation included, to the precision in force
                    with scope():
                        x = move(step)
                else:
                    x = move(step)
                if watch is not None and (slow := arithmetic.too_big(self.problem, x)):
                    self._finish(Status.TOO_SLOW, slow)
                    return None
            except (OverflowError, ZeroDivisionError, ValueError) as error:
                # e.g. a Hessian or a line search overflowing far from any minimum
                self._finish(Status.DIVERGED, f"the {self.optimizer.name} update failed ({error})")
                return None
            k = step.step + 1
            try:
                f, *g = value_and_grad(*x)
                norm = hypot(*g)
                if isfinite(f) and isfinite(norm):
                    self.loop_state = state
                    if watch is not None:
                        self.slow = watch(k, clock() - started, x)
                    return Step(k, x, f, tuple(g), norm, getattr(state, "info", None))
                reason = _nonfinite_reason(f, norm) if floats else _diagnose(self.problem, x)
            except errors as error:
                f, g, norm = math.nan, [math.nan] * len(x), math.nan
                reason = _diagnose(self.problem, x, error)
            real = [_real_or_nan(v, isfinite) for v in (f, norm, *g)]
            self.last, self.previous = Step(k, x, real[0], tuple(real[2:]), real[1]), step
            self._finish(Status.DIVERGED, reason)
            return self.last

        yield from self._run_from(step, advance, None if floats else arithmetic.approx)


def iterate(
    problem: Problem | str,
    start: Sequence[float | str | sp.Expr],
    *,
    method: str | Optimizer = "gd",
    max_steps: int = 1000,
    tol: float = 1e-6,
    maximize: bool = False,
    variables: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    exact: bool = False,
    working_precision: int | None = None,
    **hyperparameters: Any,
) -> Run:
    """Start a run; iterate the returned :class:`Run` to get its steps lazily.

    ``hyperparameters`` go to the method (``lr=0.1`` for ``gd``); with
    ``exact=True`` or ``working_precision=D`` they may be text or SymPy
    numbers (``lr="1/10"``) and are converted to that arithmetic.
    """
    # text or a SymPy expression (the class is asked first: a Problem's float code is compiled only if used)
    if isinstance(problem, str) or not (hasattr(type(problem), "value_and_grad") or hasattr(problem, "value_and_grad")):
        from symdescent.problem import make_problem

        problem = make_problem(problem, variables=variables, params=params)
    arithmetic = make_arithmetic(exact=exact, working_precision=working_precision)
    if isinstance(method, str):
        method = method_name(method)  # "Adam" is adam; "adma" is refused with "did you mean adam?"
    if isinstance(method, Optimizer) and hyperparameters:
        raise InputError(
            f"hyperparameters go to make_optimizer when method is an Optimizer: {', '.join(hyperparameters)}"
        )
    if arithmetic is not FLOAT:
        from symdescent.hyperparameters import in_arithmetic

        hyperparameters = in_arithmetic(arithmetic, problem, method, hyperparameters)
    # mpmath rounds every operation to the precision in force, the optimiser's set-up (−lr) included
    with arithmetic.scope() if arithmetic.digits is not None else contextlib.nullcontext():
        optimizer = method if isinstance(method, Optimizer) else make_optimizer(method, **hyperparameters)
    return Run(problem, start, optimizer, max_steps=max_steps, tol=tol, maximize=maximize, arithmetic=arithmetic)


def minimize(problem: Problem | str, start: Sequence[float | str | sp.Expr], **options: Any) -> Result:
    """Run to the end and return the :class:`Result` with the full history.

    >>> minimize("x**2 + y**2", start=(1, 2), lr=0.1).status
    <Status.CONVERGED: 'converged'>

    With vectors (numpy arrays or lists as start values, ``data=``, or vector
    syntax) the problem runs on the array back-end; the :class:`Result` is the
    same, its ``x`` mapping each name to a float or an array.
    """
    if isinstance(options.get("method"), str):
        options["method"] = method_name(options["method"])
    if _vector_call(problem, start, options):
        from symdescent.vectors.engine import minimize_vectors

        return minimize_vectors(problem, start, options.pop("data", None), **options)  # type: ignore[arg-type]
    run = iterate(problem, start, **options)
    history = list(run)
    return run.result(history)


def _vector_call(problem: Problem | str, start: Any, options: Mapping[str, Any]) -> bool:
    """A library call for :mod:`symdescent.vectors`: data, a vector start value, or vector syntax."""
    if "data" in options:
        return True
    if isinstance(start, Mapping):
        import sympy as sp

        if any(not isinstance(v, int | float | str | sp.Expr) for v in start.values()):
            return True
    if isinstance(problem, str):
        from symdescent.vectors import looks_like_vectors

        return looks_like_vectors(problem)
    return False


# -- the start point and failures ------------------------------------------------


def evaluate(
    problem: Problem,
    x: tuple[float, ...],
    hint: str = "choose another start point",
    *,
    arithmetic: Arithmetic = FLOAT,
) -> Step:
    """f, ∇f and ‖∇f‖ at x as step 0; :class:`StartPointError` naming the culprit if undefined there."""
    try:
        f, *g = arithmetic.compile(problem)(*x)
        norm = arithmetic.norm(*g)
        if arithmetic.isfinite(f) and arithmetic.isfinite(norm):
            return Step(0, x, f, tuple(g), norm)
        reason = _nonfinite_reason(f, norm) if arithmetic is FLOAT else _diagnose(problem, x)
    except arithmetic.errors as error:
        reason = _diagnose(problem, x, error)
    raise StartPointError(reason, hint=hint)


def _real_or_nan(value: Any, isfinite: Any = math.isfinite) -> float:
    if isinstance(value, float | int):
        return value
    return value if isfinite(value) else math.nan


def _float_point(names: Sequence[str], x0: Any) -> tuple[float, ...]:
    """The start point as floats: as given when it already is finite floats, one per variable."""
    if type(x0) is tuple and len(x0) == len(names) and all(type(v) is float and math.isfinite(v) for v in x0):
        return x0
    from symdescent.values import float_point

    return float_point(names, x0)


def _nonfinite_reason(f: Any, norm: Any) -> str:
    from symdescent.diagnose import nonfinite_reason

    return nonfinite_reason(f, norm)


def linear_variables(problem: Problem) -> list[str]:
    """The variables f is linear in (∂f/∂v a non-zero constant): then f has no minimum nor maximum, whatever α.

    A problem loaded from the cache carries the answer in its notes, so a warm run needs no SymPy for it.
    """
    known = getattr(problem, "notes", {}).get("linear_in")
    if known is not None:
        return list(known)
    if problem.dimension > LINEAR_CHECK_VARIABLES:
        return []  # the symbolic gradient is not worth building for a message
    return [str(v) for v, g in zip(problem.variables, problem.gradient, strict=True) if g.is_number and g != 0]


#: Look for variables f is linear in only up to this many variables.
LINEAR_CHECK_VARIABLES = 100


def _diagnose(problem: Problem, x: Sequence[Any], error: Exception | None = None) -> str:
    from symdescent.diagnose import diagnose

    return diagnose(problem, x, error)
