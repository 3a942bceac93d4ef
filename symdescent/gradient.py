"""The gradient on its own: the partial derivatives, and their values at a point.

``gradient_report(problem, "1,1,2")`` for x²+y²+z³ gives partials
(2x, 2y, 3z²), value (2, 2, 12) and norm √152.
"""

from __future__ import annotations

from dataclasses import dataclass

from symdescent.derivation import RuleStep, derive
from symdescent.problem import Problem
from symdescent.run import evaluate
from symdescent.values import float_point


@dataclass(frozen=True)
class GradientReport:
    """What ``symdescent grad`` shows."""

    problem: Problem
    at: tuple[float, ...] | None = None
    value: tuple[float, ...] | None = None
    norm: float | None = None
    f: float | None = None
    #: Rule-by-rule derivations of the first :data:`MAX_DERIVED_PARTIALS` partials, when asked for.
    derivations: tuple[RuleStep, ...] = ()


#: Rule steps are derived for at most this many partial derivatives.
MAX_DERIVED_PARTIALS = 6


def evaluate_gradient(problem: Problem, at: str | None, *, steps: bool = False) -> GradientReport:
    """The symbolic gradient, evaluated at ``at`` (text like ``1,2``) when given; with ``steps``, rule by rule."""
    derivations = tuple(derive(problem.expr, v) for v in problem.variables[:MAX_DERIVED_PARTIALS]) if steps else ()
    if at is None:
        return GradientReport(problem, derivations=derivations)
    point = float_point(problem.names, at, what="the point")
    step = evaluate(problem, point, hint="choose another point")
    return GradientReport(
        problem, point, tuple(float(g) for g in step.grad), step.grad_norm, float(step.f), derivations
    )
