"""The loop for vector problems: the same stopping rules and statuses as :mod:`symdescent.run`.

``run = vector_run(problem, method="gd", lr=0.1)``; iterating it yields a
:class:`~symdescent.result.Step` per step (step 0 is the start), the one Step of every run. A step holds the flat
point and gradient as arrays that the loop will not modify afterwards, so a
renderer may keep what it needs (a few entries) without copying n numbers.
On the chunked engine (:mod:`symdescent.vectors.engine`) a run of more than
1000 entries updates x in place: its steps carry the first 16 entries of x
and an empty gradient; the final point is in the result.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator
from typing import Any

import numpy as np

from symdescent.errors import InputError, StartPointError
from symdescent.layout import QUIET_ENTRIES
from symdescent.result import Result, Status, Step, status_message
from symdescent.vectors.optim import make_array_method
from symdescent.vectors.problem import VectorProblem


class StoppingRules:
    """What every vector run shares, whichever engine steps it: its limits, when it stops and how it says so.

    A subclass sets ``problem``, ``method``, ``last``, ``start_norm`` and ``_steps = self._loop()``
    and says how one step is taken (:meth:`_next_step`).
    """

    problem: VectorProblem
    method: Any
    last: Step
    start_norm: float
    _steps: Generator[Step, None, None]

    def _limits(self, max_steps: int, tol: float, maximize: bool) -> None:
        if max_steps < 0:
            raise InputError(f"the step limit must be 0 or more, got {max_steps}")
        if not (math.isfinite(tol) and tol >= 0):
            raise InputError(f"the tolerance must be 0 or a positive number, got {tol}")
        self.max_steps, self.tol, self.maximize = max_steps, tol, maximize
        self.status: Status | None = None
        self.message = ""

    engine = "array"

    def _keep_start(self) -> None:
        """The flat start for the result: a copy while small; beyond, the run's own array (no room for a copy)."""
        flat = self.problem.flat_start()
        self.start = flat.copy() if flat.size <= QUIET_ENTRIES else flat

    def __iter__(self) -> Iterator[Step]:
        return self

    @property
    def method_name(self) -> str:
        return str(self.method.name)

    @property
    def params(self) -> dict[str, Any]:
        """The method's parameters, and the engine that ran (a diagnostic: the numbers do not depend on it)."""
        return {**self.method.params, "engine": self.engine}

    def drain(self) -> None:
        """Run to the end without handing out the steps (``-q``)."""
        for _ in self._steps:
            pass

    def __next__(self) -> Step:
        return next(self._steps)

    def interrupt(self) -> None:
        if self.status is None:
            self._finish(Status.INTERRUPTED)
        self._steps.close()

    def _next_step(self, step: Step) -> Step:
        """The step after ``step`` (it becomes ``last``)."""
        raise NotImplementedError

    def _close(self) -> None:
        """Release what the engine holds once the run has ended."""

    def _finish(self, status: Status, reason: str = "") -> None:
        self.status = status
        lr = self.method.params.get("lr")
        extra: dict[str, Any] = {}
        if status is Status.MAX_STEPS and lr is None and self.last.step and self.last.grad_norm < self.start_norm:
            # no learning rate to raise: the method picks its own step lengths, so only more steps help
            extra["advice"] = (
                f"{self.method.name} chooses its own step lengths and ‖∇f‖ fell from {self.start_norm:.3g}: "
                "allow more steps with --steps N"
            )
        self.message = status_message(
            status,
            steps=self.last.step,
            grad_norm=self.last.grad_norm,
            tol=self.tol,
            lr=lr,
            reason=reason,
            start_norm=self.start_norm,
            **extra,
        )
        self._close()

    def _result(self, x: np.ndarray, extra: tuple[int, int, int], history: tuple[Step, ...]) -> Result:
        """The result at ``last``, with ``x`` and the evaluations beyond one of f and ∇f per step (f, ∇f, H)."""
        if self.status is None:
            raise RuntimeError("the run has not finished: iterate it first, or call interrupt()")
        problem, last = self.problem, self.last
        return Result(
            function=problem.function_text,
            variables=problem.names,
            gradient=tuple(problem.gradient_texts(fancy=False).values()),
            method=self.method.name,
            params=self.params,
            start=problem.entry_layout.arrays(self.start),
            x=problem.entry_layout.arrays(x),
            f=last.f,
            grad_norm=last.grad_norm,
            steps=last.step,
            status=self.status,
            message=self.message,
            tol=self.tol,
            max_steps=self.max_steps,
            maximize=self.maximize,
            nfev=1 + last.step + extra[0],
            ngev=1 + last.step + extra[1],
            nhev=extra[2],
            history=history or (last,),
            shapes=dict(problem.shapes_of_variables),
        )

    def _loop(self) -> Generator[Step, None, None]:
        while True:
            step = self.last
            if self.tol > 0 and step.grad_norm <= self.tol:
                self._finish(Status.CONVERGED)
                yield step
                return
            if step.step >= self.max_steps:
                self._finish(Status.COMPLETED if self.tol == 0 else Status.MAX_STEPS)
                yield step
                return
            yield step
            with np.errstate(all="ignore"):
                step = self._next_step(step)
            if not (math.isfinite(step.f) and math.isfinite(step.grad_norm)):
                reason = "f is not a finite number" if not math.isfinite(step.f) else "∇f is not a finite number"
                self._finish(Status.DIVERGED, reason)
                yield step
                return


class VectorRun(StoppingRules, Iterator[Step]):
    """A vector run in progress; ``status`` and ``message`` say how it ended."""

    def __init__(
        self,
        problem: VectorProblem,
        *,
        method: str = "gd",
        max_steps: int = 1000,
        tol: float = 1e-6,
        maximize: bool = False,
        **hyperparameters: Any,
    ) -> None:
        self._limits(max_steps, tol, maximize)
        self.problem = problem
        self._keep_start()
        sign = -1.0 if maximize else 1.0

        def value(z: np.ndarray) -> float:
            result = sign * problem.value(z)
            return result if math.isfinite(result) else math.inf

        def value_and_grad(z: np.ndarray) -> tuple[float, np.ndarray]:
            f, g = problem.value_and_grad(z)
            return sign * f, sign * g

        def hessian(z: np.ndarray) -> np.ndarray:
            return sign * problem.hessian(z)

        self.method = make_array_method(method, value, value_and_grad, hessian, problem.size, **hyperparameters)
        z = problem.flat_start()
        with np.errstate(all="ignore"):  # an overflow is reported below as a non-finite start, not as a warning
            f, g = problem.value_and_grad(z)
            norm = float(np.linalg.norm(g))
        if not (math.isfinite(f) and math.isfinite(norm)):
            what = "f" if not math.isfinite(f) else "∇f"
            raise StartPointError(f"{what} is not a finite number at the start point ({problem.point_text(z)})")
        self.last = Step(0, z, f, g, norm)
        self.start_norm = norm  # the start's arrays are not kept: at n = 10⁸ they would be 1.6 GB
        self._steps = self._loop()

    def _next_step(self, step: Step) -> Step:
        sign, method = (-1.0 if self.maximize else 1.0), self.method
        method.info = None
        z = method.step(step.x, sign * step.f, sign * np.asarray(step.grad))
        f, g = self.problem.value_and_grad(z)
        self.last = Step(step.step + 1, z, f, g, float(np.linalg.norm(g)), method.info)
        return self.last

    def result(self, history: tuple[Step, ...] = ()) -> Result:
        last, counts = self.last, self.method.evaluations
        return self._result(np.array(last.x), (counts["f"], counts["grad"], counts["hessian"]), history)


def vector_run(problem: VectorProblem, **options: Any) -> VectorRun:
    return VectorRun(problem, **options)
