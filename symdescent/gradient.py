"""The gradient on its own: the partial derivatives, and their values at a point.

``gradient_report(problem, "1,1,2")`` for x²+y²+z³ gives partials
(2x, 2y, 3z²), value (2, 2, 12) and norm √152.
"""

from __future__ import annotations

from dataclasses import dataclass

from symdescent.iterate import evaluate
from symdescent.problem import Problem, point_values


@dataclass(frozen=True)
class GradientReport:
    """What ``symdescent grad`` shows."""

    problem: Problem
    at: tuple[float, ...] | None = None
    value: tuple[float, ...] | None = None
    norm: float | None = None
    f: float | None = None


def evaluate_gradient(problem: Problem, at: str | None) -> GradientReport:
    """The symbolic gradient, evaluated at ``at`` (text like ``1,2``) when given."""
    if at is None:
        return GradientReport(problem)
    point = point_values(problem, at, what="the --at point")
    step = evaluate(problem, point, hint="choose another --at point")
    return GradientReport(problem, point, tuple(float(g) for g in step.grad), step.grad_norm, float(step.f))
