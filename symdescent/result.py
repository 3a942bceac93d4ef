"""One vocabulary for every run: ``Step``, ``Status`` and ``Result``.

Every optimiser fills the same fields (after scipy's ``OptimizeResult``),
and every status has one message template, kept in :data:`MESSAGES`, so the
table, the JSON and the library all say the same thing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Status(enum.StrEnum):
    """How a run ended."""

    CONVERGED = "converged"  # ‖∇f‖ ≤ tol
    COMPLETED = "completed"  # tol = 0 and all steps done
    MAX_STEPS = "max_steps"  # step limit reached before the tolerance
    DIVERGED = "diverged"  # a value became non-finite or complex
    INTERRUPTED = "interrupted"  # Ctrl-C
    TOO_SLOW = "too_slow"  # exact arithmetic: the numbers grew so big that the next step would take too long


#: One message template per status; fields come from :func:`status_message`.
MESSAGES: dict[Status, str] = {
    Status.CONVERGED: "‖∇f‖ = {grad_norm:.3g} ≤ tol = {tol:g} after {steps} steps",
    Status.COMPLETED: "all {steps} steps done (tol = 0); ‖∇f‖ = {grad_norm:.3g}",
    Status.MAX_STEPS: "step limit reached after {steps} steps with ‖∇f‖ = {grad_norm:.3g} > tol = {tol:g}; {advice}",
    Status.DIVERGED: "at step {steps}, {reason}; try a smaller learning rate (now {lr:g})",
    Status.INTERRUPTED: "stopped by the user after {steps} steps; ‖∇f‖ = {grad_norm:.3g}",
    Status.TOO_SLOW: (
        "stopped after {steps} steps: {reason}; ‖∇f‖ = {grad_norm:.3g}. "
        "Use --working-precision D (for example 50) for floats with D digits instead of exact numbers"
    ),
}


#: What to try when the step limit is reached, by whether ‖∇f‖ went down at all.
ADVICE_SLOW = "allow more steps or a larger learning rate"
ADVICE_STUCK = (
    "‖∇f‖ did not go down from {start_norm:.3g} at the start, so the steps may overshoot: try a smaller learning rate"
)

#: The same for the methods that choose their own step lengths (exact-line, newton): no --lr to suggest.
ADVICE_SLOW_WITHOUT_LR = "allow more steps"
ADVICE_STUCK_WITHOUT_LR = (
    "‖∇f‖ did not go down from {start_norm:.3g} at the start: the method makes no progress from here"
)
#: The steps left x where it was: the learning rate is below what floating point can add to x.
ADVICE_TOO_SMALL = "x did not move: the learning rate {lr:g} is too small to change it; try a larger learning rate"

#: Divergence of a method that chooses its own step lengths: there is no learning rate to blame.
DIVERGED_WITHOUT_LR = "at step {steps}, {reason}; f may be unbounded along the way, or undefined beyond its domain"


def status_message(status: Status, **fields: Any) -> str:
    """The status's message with its fields filled in (``lr=None``: the method has no learning rate)."""
    if status is Status.DIVERGED and fields.get("lr") is None:
        return DIVERGED_WITHOUT_LR.format(**fields)
    if status is Status.MAX_STEPS and "advice" not in fields:
        start_norm = fields.get("start_norm")
        stuck = start_norm is not None and fields["steps"] > 0 and fields["grad_norm"] >= start_norm
        lr = fields.get("lr")
        if lr is None:
            advice = ADVICE_STUCK_WITHOUT_LR if stuck else ADVICE_SLOW_WITHOUT_LR
        elif stuck and fields["grad_norm"] == start_norm and lr < 1e-300:
            advice = ADVICE_TOO_SMALL
        else:
            advice = ADVICE_STUCK if stuck else ADVICE_SLOW
        fields["advice"] = advice.format(start_norm=start_norm, lr=lr)
    return MESSAGES[status].format(**fields)


class Step(NamedTuple):
    """The state after ``step`` updates: the point, f, ∇f and ‖∇f‖ there.

    Step 0 is the start point. ``info`` holds what the method used on the
    way here (for example the step length a line search chose), if anything.
    A NamedTuple because a run makes many of these and they must be cheap.
    """

    step: int
    x: tuple[float, ...]
    f: float
    grad: tuple[float, ...]
    grad_norm: float
    info: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Result:
    """A finished run, with the keys of the JSON output as attributes."""

    function: str
    variables: tuple[str, ...]
    gradient: tuple[str, ...]
    method: str
    params: Mapping[str, Any]
    start: tuple[float, ...]
    history: tuple[Step, ...]
    x: tuple[float, ...]
    f: float
    grad_norm: float
    steps: int
    status: Status
    message: str
    tol: float = 0.0
    max_steps: int = 0
    maximize: bool = False
    #: Evaluations of f, ∇f and the Hessian (scipy's nfev, njev, nhev), the start point's included.
    nfev: int = 0
    ngev: int = 0
    nhev: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        """True when the run did what was asked (converged, or all fixed steps done)."""
        return self.status in (Status.CONVERGED, Status.COMPLETED)
