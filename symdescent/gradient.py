"""The gradient on its own: the partial derivatives, and their values at a point.

``gradient_report(problem, "1,1,2")`` for x²+y²+z³ gives partials
(2x, 2y, 3z²), value (2, 2, 12) and norm √152.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from symdescent.derivation import RuleStep, derive
from symdescent.problem import Problem
from symdescent.run import evaluate
from symdescent.values import float_point, read_point


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
    #: The point, f and ∇f as exact numbers (π/2, √2/2) when the point was written exactly; for people.
    exact_at: tuple[sp.Expr, ...] | None = None
    exact_f: sp.Expr | None = None
    exact_value: tuple[sp.Expr, ...] | None = None

    def _repr_markdown_(self) -> str:
        """Jupyter shows the gradient in LaTeX."""
        from symdescent.render.notebook import gradient_markdown

        return gradient_markdown(self)


#: Rule steps are derived for at most this many partial derivatives.
MAX_DERIVED_PARTIALS = 6


def evaluate_gradient(problem: Problem, at: str | None, *, steps: bool = False) -> GradientReport:
    """The symbolic gradient, evaluated at ``at`` (text like ``1,2``) when given; with ``steps``, rule by rule."""
    derivations = tuple(derive(problem.expr, v) for v in problem.variables[:MAX_DERIVED_PARTIALS]) if steps else ()
    if at is None:
        return GradientReport(problem, derivations=derivations)
    point = float_point(problem.names, at, what="the point")
    step = evaluate(problem, point, hint="choose another point")  # checks f is defined and real there
    exact = _exact_values(problem, at)
    if exact is not None:
        exact_point, (exact_f, *exact_grad) = exact
        f, *grad = (float(value.evalf(30)) for value in (exact_f, *exact_grad))
        return GradientReport(
            problem, point, tuple(grad), math.hypot(*grad), f, derivations, exact_point, exact_f, tuple(exact_grad)
        )
    return GradientReport(
        problem, point, tuple(float(g) for g in step.grad), step.grad_norm, float(step.f), derivations
    )


#: Exact evaluation only for functions up to this long (as text) and this many variables.
EXACT_LENGTH = 2000
EXACT_VARIABLES = 20


def _exact_values(problem: Problem, at: str) -> tuple[tuple[sp.Expr, ...], tuple[sp.Expr, ...]] | None:
    """The exact point (``pi/2,0``), and f and ∇f there evaluated exactly: sin(pi/2)·0 is 0, not 6e-17.

    None when the point has a decimal (``0.1`` is a float), the function is
    large, or a value is not a finite real number (the float path words that).
    """
    if problem.dimension > EXACT_VARIABLES or len(problem.function_text) > EXACT_LENGTH:
        return None
    point = read_point(problem.names, at, what="the point")
    if any(value.has(sp.Float) for value in point):
        return None
    at_point = dict(zip(problem.variables, point, strict=True))
    values = []
    for expr in (problem.expr, *problem.gradient):
        value = expr.xreplace(at_point)
        if not (value.is_number and value.is_real and value.is_finite):
            return None
        values.append(value)
    return point, tuple(values)
