"""The loop for vector problems: the same stopping rules and statuses as :mod:`symdescent.run`.

``run = VectorRun(problem, method="gd", lr=0.1)``; iterating it yields a
:class:`~symdescent.result.Step` per step (step 0 is the start), the one Step of every run. A step holds the flat
point and gradient as arrays that the loop will not modify afterwards, so a
renderer may keep what it needs (a few entries) without copying n numbers.
On the chunked engine (:mod:`symdescent.vectors.engine`) a run of more than
1000 entries updates x in place: its steps carry the first 16 entries of x
and an empty gradient; the final point is in the result.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Generator
from typing import Any

import numpy as np

from symdescent import budget
from symdescent.errors import StartPointError
from symdescent.layout import QUIET_ENTRIES
from symdescent.result import Status, Step
from symdescent.stopping import StoppingRules
from symdescent.vectors.optim import make_array_method
from symdescent.vectors.problem import VectorProblem


class ArrayRun(StoppingRules):
    """What the array back-ends share (the whole-array and the chunked engine): the method and the loop.

    A subclass sets ``problem``, ``method``, ``last``, ``start_norm``, ``evaluations`` and
    ``_steps = self._loop()`` and says how one step is taken (:meth:`_next_step`).
    """

    problem: VectorProblem
    method: Any
    engine = "array"

    def _keep_start(self) -> None:
        """The flat start for the result: a copy while small; beyond, the run's own array (no room for a copy)."""
        flat = self.problem.flat_start()
        self.start = flat.copy() if flat.size <= QUIET_ENTRIES else flat

    @property
    def method_name(self) -> str:
        return str(self.method.name)

    @property
    def params(self) -> dict[str, Any]:
        """The method's parameters, and the engine that ran (a diagnostic: the numbers do not depend on it)."""
        return {**self.method.params, "engine": self.engine}

    def _curvatures(self) -> list[float] | None:
        """The eigenvalues of the Hessian of the function minimised, for a quadratic of at most 200 entries."""
        from symdescent.vectors.analysis import hessian_action, is_quadratic

        problem = self.problem
        if problem.size > 200 or not is_quadratic(problem.formula, hessian_action(problem.formula)):
            return None
        values = np.linalg.eigvalsh(np.asarray(problem.hessian(problem.flat_start()), dtype=float))
        return [float(v) for v in (-values if self.maximize else values)]

    def _linear_in(self) -> list[str]:
        """The variables whose ∂f (in vector form) uses no variable: f is linear in them, so it has no minimum."""
        from symdescent.vectors.nodes import names_in

        names = set(self.problem.names)
        gradient = self.problem.formula.gradient
        return [name for name in self.problem.names if gradient[name] != 0 and not names_in(gradient[name]) & names]

    def _next_step(self, step: Step) -> Step:
        """The step after ``step`` (it becomes ``last``)."""
        raise NotImplementedError

    def _loop(self) -> Generator[Step, None, None]:
        self.start_f = self.last.f
        with budget.paused():  # the steps are bounded by max_steps, not by the time limit
            yield from self._run_from(self.last, self._take_step)

    def _take_step(self, before: Step) -> Step:
        """The step after ``before`` by :meth:`_next_step`; a non-finite f or ∇f there ends the run ``diverged``."""
        with np.errstate(all="ignore"):
            step = self._next_step(before)
        if not (math.isfinite(step.f) and math.isfinite(step.grad_norm)):
            reason = "f is not a finite number" if not math.isfinite(step.f) else "∇f is not a finite number"
            self.previous = before
            self._finish(Status.DIVERGED, reason)
        return step

    def _same_point(self, x: Any, y: Any) -> bool:
        return bool(np.array_equal(x, y))


class VectorRun(ArrayRun):
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
        from symdescent.vectors.qr import qr_evaluator
        from symdescent.vectors.rows import RowPass, rows_evaluator

        self._limits(max_steps, tol, maximize)
        self.problem = problem
        self._keep_start()
        sign = -1.0 if maximize else 1.0
        # least squares from data: a pass over R's triangle, from the QR of X; another row-wise loss: f and ∇f
        # in one compiled pass over the rows; each when it pays (else the whole-array numpy code)
        least_squares = qr_evaluator(problem, max_steps, problem.value_and_grad)
        self._evaluate = least_squares or rows_evaluator(problem, max_steps) or problem.value_and_grad

        def value(z: np.ndarray) -> float:
            result = sign * problem.value(z)
            return result if math.isfinite(result) else math.inf

        def value_and_grad(z: np.ndarray) -> tuple[float, np.ndarray]:
            f, g = self._evaluate(z)
            return sign * f, sign * g

        def hessian(z: np.ndarray) -> np.ndarray:
            return sign * problem.hessian(z)

        self.method = make_array_method(method, value, value_and_grad, hessian, problem.size, **hyperparameters)
        self.evaluations = self.method.evaluations
        # gd on the compiled row pass: blocks of steps in one compiled call (RowPass.steps), handed out one by one
        self._blocks = self._evaluate if method == "gd" and isinstance(self._evaluate, RowPass) else None
        self._queued: collections.deque[tuple[np.ndarray, float, np.ndarray, float]] = collections.deque()
        z = problem.flat_start()
        with np.errstate(all="ignore"):  # an overflow is reported below as a non-finite start, not as a warning
            f, g = self._evaluate(z)
            norm = float(np.linalg.norm(g))
        if not (math.isfinite(f) and math.isfinite(norm)):
            what = "f" if not math.isfinite(f) else "∇f"
            raise StartPointError(f"{what} is not a finite number at the start point ({problem.point_text(z)})")
        self.last = Step(0, z, f, g, norm)
        self.start_norm = norm  # the start's arrays are not kept: at n = 10⁸ they would be 1.6 GB
        self._steps = self._loop()

    def _next_step(self, step: Step) -> Step:
        method = self.method
        method.info = None
        if self._blocks is not None:
            return self._next_from_block(step)
        if self.maximize:
            z = method.step(step.x, -step.f, -np.asarray(step.grad))
        else:
            z = method.step(step.x, step.f, step.grad)
        f, g = self._evaluate(z)
        # ‖∇f‖ as numpy.linalg.norm computes it (the square root of g·g in g's dtype), without its checks: µs a step
        self.last = Step(step.step + 1, z, f, g, float(np.sqrt(g @ g)), method.info)
        return self.last

    def _next_from_block(self, step: Step) -> Step:
        """The next of the steps computed in a block (a new block when none is left): the same numbers as
        :meth:`_next_step` takes one at a time; a block never runs past max_steps, a non-finite step or tol."""
        if not self._queued:
            blocks = self._blocks
            assert blocks is not None
            count = min(blocks.block_steps, self.max_steps - step.step)
            lr = float(self.method.params["lr"])
            sign = -1.0 if self.maximize else 1.0
            self._queued.extend(blocks.steps(np.asarray(step.x), np.asarray(step.grad), count, lr, sign, self.tol))
        z, f, g, norm = self._queued.popleft()
        self.method.state["t"] += 1
        self.last = Step(step.step + 1, z, f, g, norm, None)
        return self.last
