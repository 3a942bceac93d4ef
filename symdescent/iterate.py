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

import contextlib
import math
import operator
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sympy as sp

from symdescent.arithmetic import FLOAT, Arithmetic, make_arithmetic
from symdescent.engine import fast_steps
from symdescent.errors import InputError, StartPointError
from symdescent.optimizers import Optimizer, hyperparameters_of, make_optimizer
from symdescent.problem import Problem, make_problem, point_constants, point_values
from symdescent.result import Result, Status, Step, status_message

#: Exceptions the compiled ``math`` code raises where f is undefined, overflows or is complex.
_NUMERIC_ERRORS = (ValueError, OverflowError, ZeroDivisionError, TypeError)

#: Stop diagnosing after this many subexpressions: a message is not worth a hang.
_DIAGNOSE_NODES = 20_000


class Run(Iterator[Step]):
    """A run in progress: an iterator of steps that remembers how it ended."""

    def __init__(
        self,
        problem: Problem,
        x0: Sequence[float],
        optimizer: Optimizer,
        *,
        max_steps: int = 1000,
        tol: float = 1e-6,
        maximize: bool = False,
        arithmetic: Arithmetic = FLOAT,
    ) -> None:
        if max_steps < 0:
            raise InputError(f"the step limit must be 0 or more, got {max_steps}")
        if not (math.isfinite(tol) and tol >= 0):
            raise InputError(f"the tolerance must be 0 or a positive number, got {tol}")
        self.arithmetic = arithmetic
        self.problem = problem = arithmetic.prepare(problem)
        self.optimizer = optimizer
        self.max_steps = max_steps
        self.tol = tol
        self.maximize = maximize
        if arithmetic is FLOAT:
            self.start = point_values(problem, x0)
        else:
            self.start = tuple(arithmetic.number(v) for v in point_constants(problem, x0))
        arithmetic.check_size(problem, self.start)  # exact numbers: refuse before building a huge f(x0)
        first = self.first = evaluate(problem, self.start, arithmetic=arithmetic)
        optimizer.init(first.x)  # init is pure: a method refuses what it cannot do (newton > 100 variables) now
        #: Evaluations of f, ∇f and the Hessian made by the method itself (line searches, Newton).
        self.evaluations = {"f": 0, "grad": 0, "hessian": 0}
        self.status: Status | None = None
        self.message = ""
        self.last: Step = first
        # Plain float gd takes a generated loop that gives the same steps faster (symdescent.engine).
        self._steps = (fast_steps(self, first) if arithmetic is FLOAT else None) or self._loop(first)

    def __iter__(self) -> Iterator[Step]:
        # The steps themselves, so that a for loop does not pay for __next__ at every step.
        return self._steps

    def __next__(self) -> Step:
        return next(self._steps)

    def interrupt(self) -> None:
        """Mark the run as stopped by the user (Ctrl-C) unless it had already ended."""
        if self.status is None:
            self._finish(Status.INTERRUPTED)
        self._steps.close()

    def result(self, history: Sequence[Step] | None = None) -> Result:
        """The run so far as a :class:`Result`; ``history`` defaults to just the last step."""
        if self.status is None:
            raise RuntimeError("the run has not finished: iterate it first, or call interrupt()")
        last = self.last
        problem = self.problem
        return Result(
            function=problem.function_text,
            variables=problem.names,
            gradient=problem.gradient_text,
            method=self.optimizer.name,
            # the engine evaluates floats; exact and mpmath runs say their arithmetic instead
            params={**self.optimizer.params, **({"engine": problem.engine.name} if self.arithmetic is FLOAT else {})},
            start=self.start,
            history=tuple(history) if history is not None else (last,),
            x=last.x,
            f=last.f,
            grad_norm=last.grad_norm,
            steps=last.step,
            status=self.status,
            message=self.message,
            tol=self.tol,
            max_steps=self.max_steps,
            maximize=self.maximize,
            # the loop evaluates f and ∇f once at the start and once per step
            nfev=1 + last.step + self.evaluations["f"],
            ngev=1 + last.step + self.evaluations["grad"],
            nhev=self.evaluations["hessian"],
        )

    def _extra_arguments(self) -> dict[str, Any]:
        """What line searches and Newton may ask for, all describing −f when maximising; counted."""
        problem, sign, counts = self.problem, -1.0 if self.maximize else 1.0, self.evaluations

        def value_fn(x: Sequence[float]) -> float:
            counts["f"] += 1
            try:
                f = sign * problem.value(*x)
            except _NUMERIC_ERRORS:
                return math.inf
            return f if isinstance(f, float | int) and math.isfinite(f) else math.inf

        def value_and_grad_fn(x: Sequence[float]) -> tuple[float, tuple[float, ...]]:
            counts["f"] += 1
            counts["grad"] += 1
            try:
                f, *g = problem.value_and_grad(*x)
                if isinstance(f, float | int) and math.isfinite(f):
                    return sign * f, tuple(sign * gi for gi in g)
            except _NUMERIC_ERRORS:
                pass
            return math.inf, tuple(math.nan for _ in x)

        def hessian_fn(x: Sequence[float]) -> tuple[tuple[float, ...], ...]:
            counts["hessian"] += 1
            try:
                rows = problem.hessian_at(*x)
            except _NUMERIC_ERRORS:
                return tuple(tuple(math.nan for _ in x) for _ in x)
            return tuple(tuple(sign * h for h in row) for row in rows) if self.maximize else rows

        return {
            "value_fn": value_fn,
            "value_and_grad_fn": value_and_grad_fn,
            "hessian_fn": hessian_fn,
            "expression": -problem.expr if self.maximize else problem.expr,
            "variables": problem.variables,
        }

    def _finish(self, status: Status, reason: str = "") -> None:
        self.status = status
        self.message = status_message(
            status,
            steps=self.last.step,
            grad_norm=_float(self.last.grad_norm),
            tol=self.tol,
            lr=_optional_float(self.optimizer.params.get("lr")),
            reason=reason,
            start_norm=_float(self.first.grad_norm),
        )

    def _loop(self, step: Step) -> Iterator[Step]:
        arithmetic = self.arithmetic
        value_and_grad = arithmetic.compile(self.problem)
        update = self.optimizer.update
        tol, max_steps, maximize = self.tol, self.max_steps, self.maximize
        hypot, isfinite, add = arithmetic.norm, arithmetic.isfinite, operator.add
        errors, scope, scoped = arithmetic.errors, arithmetic.scope, arithmetic.digits is not None
        floats, approx = arithmetic is FLOAT, arithmetic.approx
        # Exact numbers can grow without bound: watch says when the next step would take too long.
        watch, clock, slow = arithmetic.watch(), time.process_time, ""
        extra = self._extra_arguments() if self.optimizer.needs_extra else None
        x = step.x
        state = self.optimizer.init(x)
        k = step.step
        while True:
            self.last = step
            if tol > 0 and (step.grad_norm if floats else approx(step.grad_norm)) <= tol:
                self._finish(Status.CONVERGED)
                yield step
                return
            if k >= max_steps:
                self._finish(Status.COMPLETED if tol == 0 else Status.MAX_STEPS)
                yield step
                return
            if slow:
                self._finish(Status.TOO_SLOW, slow)
                yield step
                return
            yield step
            started = clock() if watch is not None else 0.0
            try:
                # mpmath rounds every operation, negation included, to the precision in force
                with scope() if scoped else contextlib.nullcontext():
                    grad = tuple(-g for g in step.grad) if maximize else step.grad
                    if extra is None:
                        updates, state = update(grad, state, x)
                    else:
                        value = -step.f if maximize else step.f
                        updates, state = update(grad, state, x, value=value, grad=grad, **extra)
                    x = tuple(map(add, x, updates))
                if watch is not None and (slow := arithmetic.too_big(self.problem, x)):
                    self._finish(Status.TOO_SLOW, slow)
                    return
            except (OverflowError, ZeroDivisionError, ValueError) as error:
                # e.g. a Hessian or a line search overflowing far from any minimum
                self._finish(Status.DIVERGED, f"the {self.optimizer.name} update failed ({error})")
                return
            k += 1
            try:
                f, *g = value_and_grad(*x)
                norm = hypot(*g)
                if isfinite(f) and isfinite(norm):
                    step = Step(k, x, f, tuple(g), norm, getattr(state, "info", None))
                    if watch is not None:
                        slow = watch(k, clock() - started, x)
                    continue
                reason = _nonfinite_reason(f, norm) if floats else diagnose(self.problem, x)
            except errors as error:
                f, g, norm = math.nan, [math.nan] * len(x), math.nan
                reason = diagnose(self.problem, x, error)
            real = [_real_or_nan(v, isfinite) for v in (f, norm, *g)]
            self.last = Step(k, x, real[0], tuple(real[2:]), real[1])
            self._finish(Status.DIVERGED, reason)
            yield self.last
            return


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
    if isinstance(problem, str):
        problem = make_problem(problem, variables=variables, params=params)
    arithmetic = make_arithmetic(exact=exact, working_precision=working_precision)
    if arithmetic is not FLOAT:
        hyperparameters = _hyperparameters_in(arithmetic, problem, method, hyperparameters, exact=exact)
    # mpmath rounds every operation to the precision in force, the optimiser's set-up (−lr) included
    with arithmetic.scope() if arithmetic.digits is not None else contextlib.nullcontext():
        optimizer = method if isinstance(method, Optimizer) else make_optimizer(method, **hyperparameters)
    return Run(problem, start, optimizer, max_steps=max_steps, tol=tol, maximize=maximize, arithmetic=arithmetic)


#: Methods whose update is plain arithmetic, so that it stays exact (or at D digits); the
#: others use square roots or float line searches and would silently leave the arithmetic.
ARITHMETIC_METHODS = ("gd", "momentum", "nesterov")
#: Largest exponent exact or D-digit arithmetic will take on (x**(10**100) would never finish).
MAX_EXACT_EXPONENT = 1000


def _hyperparameters_in(
    arithmetic: Arithmetic, problem: Problem, method: str | Optimizer, given: dict[str, Any], *, exact: bool
) -> dict[str, Any]:
    """Every hyperparameter of the method, given or default, as a number of ``arithmetic``.

    A default such as lr = 0.1 is read from its decimal text, so that it is 1/10 exactly.
    """
    name = method.name if isinstance(method, Optimizer) else method
    if name not in ARITHMETIC_METHODS:
        raise InputError(
            f"--{'exact' if exact else 'working-precision'} works with the methods {', '.join(ARITHMETIC_METHODS)}; "
            f"{name} uses square roots or float line searches",
            hint="drop --method, or run it in floats",
        )
    if exact and not all(g.is_rational_function(*problem.variables) for g in problem.gradient):
        raise InputError(
            "--exact needs a gradient made of polynomials and fractions: with exp, log, sqrt or trigonometric "
            "functions the exact iterates become ever longer formulas",
            hint="use --working-precision D for many exact digits instead",
        )
    huge = [p for p in problem.expr.atoms(sp.Pow) if p.exp.is_Number and abs(p.exp) > MAX_EXACT_EXPONENT]
    if huge:
        raise InputError(
            f"--{'exact' if exact else 'working-precision'} cannot raise to the power {huge[0].exp}: "
            f"the numbers would have astronomically many digits (the limit is {MAX_EXACT_EXPONENT})",
            hint="run it in floats",
        )
    if isinstance(method, Optimizer):
        return {k: _in_arithmetic(arithmetic, k, v) for k, v in given.items()}
    floats = make_optimizer(name, **{k: float(_in_arithmetic(FLOAT_TEXT, k, v)) for k, v in given.items()}).params
    return {
        k: _in_arithmetic(arithmetic, k, given.get(k, repr(v) if isinstance(v, float) else v))
        for k, v in floats.items()
        if k in hyperparameters_of(name)
    }


class _FloatText:
    """Reads a hyperparameter as a float, for finding a method's defaults."""

    @staticmethod
    def number(constant: sp.Expr) -> float:
        return float(constant)


FLOAT_TEXT: Any = _FloatText()


def _in_arithmetic(arithmetic: Arithmetic, name: str, value: Any) -> Any:
    from symdescent.parsing import parse_constant

    if isinstance(value, bool) or not isinstance(value, str | int | float | sp.Expr):
        return value
    if isinstance(value, str):
        constant = parse_constant(value, name)
    elif isinstance(value, sp.Expr):
        constant = value
    else:
        constant = sp.Integer(value) if isinstance(value, int) else sp.Float(value)
    return arithmetic.number(constant)


def minimize(problem: Problem | str, start: Sequence[float | str | sp.Expr], **options: Any) -> Result:
    """Run to the end and return the :class:`Result` with the full history.

    >>> minimize("x**2 + y**2", start=(1, 2), lr=0.1).status
    <Status.CONVERGED: 'converged'>
    """
    run = iterate(problem, start, **options)
    history = list(run)
    return run.result(history)


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
        reason = _nonfinite_reason(f, norm) if arithmetic is FLOAT else diagnose(problem, x)
    except arithmetic.errors as error:
        reason = diagnose(problem, x, error)
    raise StartPointError(reason, hint=hint)


def _nonfinite_reason(f: float, norm: float) -> str:
    if not math.isfinite(f):
        return f"f became {f}"
    return f"the gradient became {'infinite' if math.isinf(norm) else 'not a number'}"


def _real_or_nan(value: Any, isfinite: Any = math.isfinite) -> float:
    if isinstance(value, float | int):
        return value
    return value if isfinite(value) else math.nan


def _float(value: Any) -> float:
    """A float for messages, whatever the arithmetic (nan when there is none)."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _optional_float(value: Any) -> float | None:
    """Like :func:`_float`, but None stays None (a method without a learning rate)."""
    return None if value is None else _float(value)


def diagnose(problem: Problem, x: Sequence[float], error: Exception | None = None) -> str:
    """Say which part of f or ∇f fails at x, e.g. ``log(x) is undefined at x = 0``.

    Walks the expression bottom-up with SymPy numbers; only used on failure,
    and bounded by :data:`_DIAGNOSE_NODES`, so it may fall back to a generic
    reason taken from the exception.
    """
    where = problem.point(x)
    values = {v: xi if isinstance(xi, sp.Basic) else sp.Float(xi) for v, xi in zip(problem.variables, x, strict=True)}
    labelled = [("f", problem.expr)] + [
        (f"∂f/∂{name} = {g}", g) for name, g in zip(problem.names, problem.gradient, strict=True)
    ]
    seen = 0
    for label, expr in labelled:
        for node in sp.postorder_traversal(expr):
            seen += 1
            if seen > _DIAGNOSE_NODES:
                break
            if node.is_Atom or not (node.is_Function or node.is_Pow):
                continue
            try:
                problem_found = _node_failure(node, values)
            except Exception:
                continue
            if problem_found:
                failure, detail = problem_found
                return _in(label, f"{node} {failure} at {where}{detail}")
    if isinstance(error, OverflowError):
        return f"a value overflows a float at {where}"
    if isinstance(error, TypeError):
        return f"a value is not real at {where}"
    if isinstance(error, ZeroDivisionError):
        return f"division by zero at {where}"
    return f"f or its gradient is undefined at {where}"


def _node_failure(node: sp.Expr, values: dict[sp.Symbol, sp.Float]) -> tuple[str, str] | None:
    """Why one subexpression has no float value at the point (and a detail), or None if it has one."""
    value = node.xreplace(values)
    if value.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        return "is undefined", ""
    if value.is_number and value.is_extended_real is False:
        return "is not real", ""
    if value.is_Number and abs(value) > sys.float_info.max:
        return "overflows a float", f" (it is about {sp.Float(value, 3)})"
    return None


def _in(label: str, reason: str) -> str:
    return reason if label == "f" else f"the gradient fails: {reason}, in {label}"
