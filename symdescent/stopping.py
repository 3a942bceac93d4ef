"""What every run shares, whichever back-end takes its steps: its limits, when it stops, how it says so, its Result.

The python back-end's :class:`~symdescent.run.Run` (floats, exact and D-digit
numbers, the fused loops) and the array back-ends' runs
(:mod:`symdescent.vectors.run`, :mod:`symdescent.vectors.engine`) subclass
:class:`StoppingRules`; each says only how it takes a step. The rules, checked
at every step including step 0: ‖∇f‖ ≤ tol (``converged``, never when
tol = 0), then the step limit (``completed`` when tol = 0, else
``max_steps``); a non-finite value ends the run ``diverged``. Imports neither
SymPy nor numpy: a warm run uses it too.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Generator, Iterator, Sequence
from typing import Any

from symdescent.errors import InputError
from symdescent.layout import Flat, layout_of
from symdescent.result import Result, Status, Step, status_message


def checked_limits(max_steps: object, tol: object, maximize: object) -> tuple[int, float, bool]:
    """The run's limits, checked once for every back-end (the library's words: the CLI adds its flags)."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0:
        raise InputError(f"max_steps must be a whole number, 0 or more, got {max_steps!r}", parameter="max_steps")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not _finite_nonnegative(tol):
        raise InputError(f"tol must be 0 or a positive finite number, got {tol!r}", parameter="tol")
    if not isinstance(maximize, bool):
        raise InputError(f"maximize must be True or False, not {maximize!r}", parameter="maximize")
    return max_steps, float(tol), maximize


def _finite_nonnegative(value: numbers.Real) -> bool:
    try:
        return math.isfinite(value) and float(value) >= 0
    except (OverflowError, TypeError, ValueError):
        return False


class StoppingRules(Iterator[Step]):
    """A run in progress: an iterator of steps that remembers how it ended.

    A subclass sets ``problem``, ``start`` (flat), ``last``, ``start_norm``,
    ``evaluations`` and ``_steps``, and names its method and parameters.
    """

    problem: Any
    start: Flat
    last: Step
    start_norm: Any
    _steps: Generator[Step, None, None]
    #: Evaluations of f, ∇f and the Hessian made by the method itself (line searches, Newton).
    evaluations: dict[str, int]

    def _limits(self, max_steps: object, tol: object, maximize: object) -> None:
        self.max_steps, self.tol, self.maximize = checked_limits(max_steps, tol, maximize)
        self.status: Status | None = None
        self.message = ""

    @property
    def method_name(self) -> str:
        raise NotImplementedError

    @property
    def params(self) -> dict[str, Any]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Step]:
        # The steps themselves, so that a for loop does not pay for __next__ at every step.
        return self._steps

    def __next__(self) -> Step:
        return next(self._steps)

    def drain(self) -> None:
        """Run to the end without handing out the steps (``-q``); ``last`` is then the final step."""
        for _ in self._steps:
            pass

    def interrupt(self) -> None:
        """Mark the run as stopped by the user (Ctrl-C) unless it had already ended."""
        if self.status is None:
            self._finish(Status.INTERRUPTED)
        self._steps.close()

    def _linear_in(self) -> Sequence[str]:
        """The variables f is linear in (then no learning rate helps); none known by default."""
        return ()

    def _close(self) -> None:
        """Release what the back-end holds once the run has ended."""

    def _finish(self, status: Status, reason: str = "") -> None:
        self.status = status
        stopped_short = status in (Status.MAX_STEPS, Status.DIVERGED)
        self.message = status_message(
            status,
            linear_in=self._linear_in() if stopped_short else (),
            maximize=self.maximize,
            method=self.method_name,
            steps=self.last.step,
            grad_norm=_float(self.last.grad_norm),
            tol=self.tol,
            lr=_optional_float(self.params.get("lr")),
            reason=reason,
            start_norm=_float(self.start_norm),
        )
        self._close()

    def result(self, history: Sequence[Step] | None = None) -> Result:
        """The run so far as a :class:`Result`; ``history`` defaults to just the last step."""
        if self.status is None:
            raise RuntimeError("the run has not finished: iterate it first, or call interrupt()")
        last, problem, counts = self.last, self.problem, self.evaluations
        layout = layout_of(problem)  # the problem's named arrays (each variable a scalar for a problem of scalars)
        return Result(
            function=problem.function_text,
            variables=layout.names,
            gradient=tuple(problem.gradient_text),
            method=self.method_name,
            params=self.params,
            start=layout.arrays(self.start),
            history=tuple(history) if history else (last,),
            x=layout.arrays(self._final_point()),
            f=last.f,
            grad_norm=last.grad_norm,
            steps=last.step,
            status=self.status,
            message=self.message,
            tol=self.tol,
            max_steps=self.max_steps,
            maximize=self.maximize,
            # the loop evaluates f and ∇f once at the start and once per step
            nfev=1 + last.step + counts["f"],
            ngev=1 + last.step + counts["grad"],
            nhev=counts["hessian"],
            shapes={} if layout.scalars_only else dict(layout.shapes),
        )

    def _final_point(self) -> Flat:
        """The flat final point (an in-place back-end holds it outside its steps)."""
        return self.last.x


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _optional_float(value: Any) -> float | None:
    return None if value is None else _float(value)
