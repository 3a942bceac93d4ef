"""What every run shares, whichever back-end takes its steps: its limits, when it stops, how it says so, its Result.

The python back-end's :class:`~symdescent.run.Run` (floats, exact and D-digit
numbers, the fused loops) and the array back-ends' runs
(:mod:`symdescent.vectors.run`, :mod:`symdescent.vectors.engine`) subclass
:class:`StoppingRules`, whose one loop (``_run_from``) they all run; each says
only how it takes a step (f and ∇f at the updated point). The rules, checked
at every step including step 0: ‖∇f‖ ≤ tol (``converged``, never when
tol = 0), then the step limit (``completed`` when tol = 0, else
``max_steps``); a non-finite value ends the run ``diverged``. Imports neither
SymPy nor numpy: a warm run uses it too.

Two endings are told apart from those, because the advice differs:

``unbounded`` (exit 3, like ``diverged``)
    f has no minimum (no maximum when maximising): f is linear in a variable,
    or it fell to −∞ or below −10⁵⁰·max(1, |f₀|) (:data:`UNBOUNDED_SCALE`), or below
    −10²⁰·max(1, |f₀|) with ‖∇f‖ grown 10¹⁰ times (:data:`STEEP_GRADIENT`).
    The message names the direction where the run shows one (``as x → +∞``):
    neither more steps nor another learning rate helps.
``stalled`` (exit 4, like ``max_steps``)
    x and f did not change for :data:`STALL_STEPS` steps in a row: the method
    no longer moves (the precision limit is reached, as scipy's "precision
    loss"), so the run stops at once instead of spending the remaining steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from symdescent.errors import InputError
from symdescent.layout import Flat, layout_of
from symdescent.optimizers.base import finite_real, real
from symdescent.result import Result, Status, Step, status_message

#: f (−f when maximising) at or below −UNBOUNDED_SCALE·max(1, |f₀|) counts as falling without bound.
UNBOUNDED_SCALE = 1e50
#: Or f at or below −UNBOUNDED_SCALE/STEEP_SLACK·max(1, |f₀|) while ‖∇f‖ grew STEEP_GRADIENT times (−x⁴ with cg):
#: no minimum has a gradient that steep.
STEEP_SLACK = 1e30
STEEP_GRADIENT = 1e10
#: x and f unchanged for this many steps in a row: the method no longer moves.
STALL_STEPS = 5
#: Name the direction of an unbounded run by its coordinates only for this many entries at most.
DIRECTION_ENTRIES = 4


def checked_limits(max_steps: object, tol: object, maximize: object) -> tuple[int, float, bool]:
    """The run's limits, checked once for every back-end (the library's words: the CLI adds its flags)."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0:
        raise InputError(f"max_steps must be a whole number, 0 or more, got {max_steps!r}", parameter="max_steps")
    if not (real(tol) and finite_real(tol) and float(tol) >= 0):
        raise InputError(f"tol must be 0 or a positive finite number, got {tol!r}", parameter="tol")
    if not isinstance(maximize, bool):
        raise InputError(f"maximize must be True or False, not {maximize!r}", parameter="maximize")
    return max_steps, float(tol), maximize


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
    #: f at the start (the scale of "falling without bound"); the loops set it.
    start_f: Any = math.nan
    #: The last finite step before a divergence (its f tells whether f fell without bound); the loops set it.
    previous: Step | None = None
    #: Why the next step would take too long (exact numbers grow), once a back-end sees it: the run ends ``too_slow``.
    slow = ""

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

    def _run_from(
        self, step: Step, advance: Callable[[Step], Step | None], approx: Callable[[Any], float] | None = None
    ) -> Generator[Step, None, None]:
        """The loop of every back-end: the stopping tests at ``step``, then the next step, until a rule fires.

        ``advance(step)`` is the back-end's part: f and ∇f at the updated point, as the next step. When
        there is none (a non-finite f, a failed update) it ends the run itself (:meth:`_finish`) and
        returns the step to give out last, or None. ``approx`` turns an exact ‖∇f‖ into a float for tol.
        """
        still = 0  # steps in a row that left x and f as they were
        while True:
            self.last = step
            if self._ends_at(step.grad_norm if approx is None else approx(step.grad_norm), step.step, still, self.slow):
                yield step
                return
            yield step
            after = advance(step)
            if after is None or self.status is not None:
                if after is not None:
                    yield after
                return
            if after.f == step.f and after.grad_norm == step.grad_norm and self._same_point(after.x, step.x):
                still += 1
            else:
                still = 0
            step = after

    def _same_point(self, x: Flat, y: Flat) -> bool:
        return x == y

    def _ends_at(self, grad_norm: float, k: int, still: int, slow: str = "") -> bool:
        """Whether the run ends at the step in hand, by the rules every back-end shares; if so, it is finished.

        In order: ‖∇f‖ ≤ tol (``converged``), the step limit (``completed`` when tol = 0, else
        ``max_steps``), numbers too big to go on quickly (``too_slow``, exact arithmetic), and x and f
        unchanged for :data:`STALL_STEPS` steps (``stalled``).
        """
        if self.tol > 0 and grad_norm <= self.tol:
            self._finish(Status.CONVERGED)
        elif k >= self.max_steps:
            self._finish(Status.COMPLETED if self.tol == 0 else Status.MAX_STEPS)
        elif slow:
            self._finish(Status.TOO_SLOW, slow)
        elif still >= STALL_STEPS:
            self._finish(Status.STALLED)
        else:
            return False
        return True

    def _finish(self, status: Status, reason: str = "") -> None:
        """End the run with ``status``; a run that stopped short because f has no minimum ends ``unbounded``."""
        extra: dict[str, Any] = {}
        if status in (Status.MAX_STEPS, Status.DIVERGED, Status.STALLED):
            unbounded = self._unbounded()
            if unbounded is None and (status is Status.DIVERGED or self._stuck()):
                unbounded = self._curved_away()  # only then: it may build the Hessian
            if unbounded is not None:
                status, reason = Status.UNBOUNDED, unbounded
                extra = {"side": "above" if self.maximize else "below"}
            elif status is Status.DIVERGED or (status is Status.MAX_STEPS and self._stuck()):
                extra = {"limit": self._stability_limit()}  # only then: it may build the Hessian
        if status is Status.STALLED:
            extra = {"stall": STALL_STEPS}
        self.status = status
        self.message = status_message(
            status,
            maximize=self.maximize,
            method=self.method_name,
            steps=self.last.step,
            grad_norm=_float(self.last.grad_norm),
            tol=self.tol,
            lr=_optional_float(self.params.get("lr")),
            reason=reason,
            start_norm=_float(self.start_norm),
            **extra,
        )
        self._close()

    def _stuck(self) -> bool:
        """‖∇f‖ did not go down from the start (the steps may overshoot)."""
        return self.last.step > 0 and _float(self.last.grad_norm) >= _float(self.start_norm)

    def _extremum(self) -> str:
        return "maximum" if self.maximize else "minimum"

    def _unbounded(self) -> str | None:
        """Why f evidently has no minimum (no maximum when maximising), or None when the run does not show it."""
        linear = self._linear_in()
        if linear:
            towards = self._direction()
            names = ", ".join(linear)
            said = f"f is linear in {names}, so it has no {self._extremum()}"
            return said + (f" (f → {self._infinity()} {towards})" if towards else "")
        sign = -1.0 if self.maximize else 1.0
        scale = UNBOUNDED_SCALE * max(1.0, abs(_float(self.start_f)) if math.isfinite(_float(self.start_f)) else 1.0)
        last, before = _float(self.last.f), self.previous
        steep = _float(self.last.grad_norm) >= STEEP_GRADIENT * max(1.0, _float(self.start_norm))
        if sign * last == -math.inf or sign * last <= -scale or (steep and sign * last <= -scale / STEEP_SLACK):
            where = f"f = {_number(last)} at step {self.last.step}"
        elif before is not None and sign * _float(before.f) <= -scale:
            where = f"f = {_number(_float(before.f))} at step {before.step}, then past the range of floats"
        else:
            return None
        towards = self._direction()
        where += f" and f → {self._infinity()} {towards}" if towards else ""
        return f"{where}: it has no {self._extremum()}"

    def _curved_away(self) -> str | None:
        """Why a quadratic has no minimum (maximum): its constant Hessian curves the wrong way; or None."""
        try:
            values = self._curvatures()
        except Exception:  # a message is not worth a failure
            return None
        if not values or not min(values) < 0:
            return None
        shown = -min(values) if self.maximize else min(values)
        towards = self._direction()
        return (
            f"f is a quadratic whose Hessian has the eigenvalue {_number(shown)}, so it has no {self._extremum()}"
            + (f" (f → {self._infinity()} {towards})" if towards else "")
        )

    def _infinity(self) -> str:
        return "+∞" if self.maximize else "−∞"

    def _direction(self) -> str:
        """Where the run went from the start, when it went far: ``as x → +∞``, ``along (0.71, −0.71)``; or ""."""
        point = self.previous.x if self.previous is not None else self.last.x
        if not 0 < len(self.start) == len(point) <= 10 * DIRECTION_ENTRIES:  # a long vector: no direction
            return ""
        try:
            start = [float(v) for v in self.start]
            end = [float(v) for v in point]
        except (TypeError, ValueError, OverflowError):
            return ""
        moved = [b - a for a, b in zip(start, end, strict=True)]
        size = math.hypot(*moved)
        if not math.isfinite(size) or size == 0:
            return ""
        unit = [d / size for d in moved]
        labels = layout_of(self.problem).labels()
        biggest = max(range(len(unit)), key=lambda i: abs(unit[i]))
        if abs(unit[biggest]) > 0.999:
            return f"as {labels[biggest]} → {'+' if unit[biggest] > 0 else '−'}∞"
        if len(unit) > DIRECTION_ENTRIES:
            return ""
        return "along (" + ", ".join(_number(u, 2) for u in unit) + ")"

    def _stability_limit(self) -> str:
        """``α = 1.2 exceeds the stability limit 2/λmax = 1``, when the Hessian is constant and cheap; else ""."""
        lr = _optional_float(self.params.get("lr"))
        if lr is None or self.method_name not in STABILITY:
            return ""
        try:
            largest = self._largest_curvature()
        except Exception:  # a message is not worth a failure: no figure then
            return ""
        if largest is None or not largest > 0:
            return ""
        formula, factor = STABILITY[self.method_name]
        momentum = _float(self.params.get("momentum", 0.0))
        limit = factor(momentum) / largest
        if lr < limit:
            return ""
        return f"α = {lr:g} exceeds the stability limit {formula} = {limit:.6g}"

    def _largest_curvature(self) -> float | None:
        """λmax of the Hessian of the function minimised, when it is constant and of modest size; else None."""
        values = self._curvatures()
        return max(values) if values else None

    def _curvatures(self) -> list[float] | None:
        """The eigenvalues of the Hessian of the function minimised (−f's when maximising), when that Hessian
        is constant and of modest size (the back-end knows how); else None."""
        return None

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


#: The methods whose stability limit on a quadratic is known: its formula and its value times λmax.
STABILITY: dict[str, tuple[str, Any]] = {
    "gd": ("2/λmax", lambda momentum: 2.0),
    "momentum": ("2(1 + μ)/λmax", lambda momentum: 2.0 * (1.0 + momentum)),
    "nesterov": ("2(1 + μ)/((1 + 2μ)λmax)", lambda momentum: 2.0 * (1.0 + momentum) / (1.0 + 2.0 * momentum)),
}


def _number(value: float, digits: int = 3) -> str:
    """A number for people: 3 significant digits, a real minus sign."""
    return f"{value:.{digits}g}".replace("-", "−").replace("inf", "∞")


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _optional_float(value: Any) -> float | None:
    return None if value is None else _float(value)
