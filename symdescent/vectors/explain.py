"""``grad`` and ``explain`` for vector problems, in vector notation (``analyze`` is in analysis.py).

The story of the seed in vector form: f(x) = xᵀx, ∇f = 2x,
xₜ₊₁ = xₜ − α·2xₜ = 0.8·xₜ, so xₜ = 0.8ᵗ·x₀. For quadratics the Hessian is
shown as a matrix formula (H = 2AᵀA) and its largest eigenvalue is computed
from the data, which gives the step-size bound α < 2/λₘₐₓ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

from symdescent.vectors.analysis import eigen_range, hessian_action, is_quadratic
from symdescent.vectors.gradient_text import GradientAt, VectorRule, gradient_at, vector_rules
from symdescent.vectors.gradient_text import gradient_report as gradient_report  # grad's text, also from here
from symdescent.vectors.problem import Formula, VectorProblem

if TYPE_CHECKING:
    from symdescent.explain import Curvature


def _number(value: float) -> str:
    return f"{value:.6g}"


#: Iterates listed by explain (t = 0 … ITERATES), as for scalar problems.
ITERATES = 5
#: A vector's iterates show all its entries up to this many, else the first three and the last.
SHOWN_ENTRIES = 6
#: The Hessian's eigenvalues are computed for explain while the point has at most this many entries.
EIGEN_ENTRIES = 10**6


@dataclass(frozen=True)
class VectorUpdate:
    """One variable's step: ``after = before − α·gradient`` = ``simplified``, in the variable's own symbols.

    For an index sum, ``entry`` is ``"j"``: the formulas are entry j's (x[j], x[j+1], …).
    The renderer writes the symbols at time t (x as xₜ).
    """

    name: str
    gradient: sp.Expr
    simplified: sp.Expr
    entry: str | None = None


@dataclass(frozen=True)
class VectorIterate:
    """xₜ and f(xₜ) from a real run; a long vector keeps its first entries and its last (``SHOWN_ENTRIES``)."""

    t: int
    x: dict[str, float | tuple[float, ...]]
    f: float


@dataclass(frozen=True)
class VectorExplanation:
    """Everything ``explain`` shows for a vector problem, in the scalar explanation's order.

    The same document (:mod:`symdescent.render.explain`) lays out both: the function, the gradient in
    vector form with its rules, its value at x₀, the update rule, the closed form or the curvature, the
    first iterates.
    """

    problem: VectorProblem
    lr: sp.Expr  # exact: 0.1 is 1/10
    decimal: bool  # the user wrote decimals: 4/5 is written 0.8
    rules: tuple[VectorRule, ...]
    at_start: GradientAt
    updates: tuple[VectorUpdate, ...]
    hessian: sp.Expr | None  # H as a formula (2I, 2AᵀA) when f is quadratic in its one vector
    scale: sp.Expr | None  # c when H = c·I
    minimizer: sp.Expr | None  # x* when H = c·I: 0, 3, c, …
    curvature: Curvature | None  # from the eigenvalues (exact for c·I; else floats, at the extremes)
    from_data: bool  # the eigenvalues came from numbers in the data
    iterates: tuple[VectorIterate, ...]
    run_note: str | None  # why the run stopped before the iterates wanted, if it did
    constant_hessian: bool = False  # f is quadratic in all its variables together, with no short formula for H

    @property
    def quadratic(self) -> bool:
        return self.hessian is not None

    def _repr_markdown_(self) -> str:
        """Jupyter shows the derivation as Markdown with LaTeX."""
        from symdescent.render.notebook import explanation_markdown

        return explanation_markdown(self)


def explain_vector(
    problem: VectorProblem, lr: str | float | sp.Expr = "0.1", *, iterates: int = ITERATES
) -> VectorExplanation:
    """The derivation of gradient descent on a vector problem from its start with step size ``lr``."""
    from symdescent.errors import InputError
    from symdescent.values import exact_number

    alpha, decimal = exact_number(repr(lr) if isinstance(lr, float) else lr, "lr")
    if not (alpha.is_real and alpha.is_finite and alpha > 0):
        raise InputError(f"lr must be a positive finite number, got {lr}", parameter="lr")
    formula = problem.formula
    at_start = gradient_at(problem)
    hessian = scale = minimizer = None
    if formula.is_quadratic and formula.hessian_action is not None:
        action = next(iter(formula.hessian_action.values()))
        direction = sp.Symbol("v_", real=True)
        hessian = action.xreplace({direction: sp.Symbol("I", real=True)})
        ratio = sp.simplify(action / direction)
        if ratio.is_Number:
            name = problem.names[0]
            scale = ratio
            minimizer = sp.simplify(-formula.gradient[name].xreplace({sp.Symbol(name, real=True): 0}) / ratio)
    quadratic = hessian is not None or is_quadratic(formula, hessian_action(formula))
    curvature = _vector_curvature(problem, alpha, scale, quadratic)
    steps, note = _run_iterates(problem, alpha, iterates)
    return VectorExplanation(
        problem=problem,
        lr=alpha,
        decimal=decimal,
        rules=tuple(vector_rules(formula.expr)),
        at_start=at_start,
        updates=tuple(_update(formula, name, alpha) for name in problem.names),
        hessian=hessian,
        scale=scale,
        minimizer=minimizer,
        curvature=curvature,
        from_data=bool(problem.data) and scale is None,
        iterates=steps,
        run_note=note,
        constant_hessian=quadratic,
    )


def _update(formula: Formula, name: str, alpha: sp.Expr) -> VectorUpdate:
    cases = formula.gradient_cases(name)
    if cases is not None:
        now = sp.Symbol(f"{name}[j]", real=True)
        gradient = cases[0][1]
        return VectorUpdate(name, gradient, sp.expand(now - alpha * gradient), "j")
    gradient = formula.gradient[name]
    return VectorUpdate(name, gradient, sp.Symbol(name, real=True) - alpha * gradient)


def _vector_curvature(
    problem: VectorProblem, alpha: sp.Expr, scale: sp.Expr | None, quadratic: bool
) -> Curvature | None:
    """H's extreme eigenvalues and what they say about α: exact for H = c·I, else computed at x₀."""
    from symdescent.explain import curvature_of

    where = "everywhere" if quadratic else "start"
    if scale is not None:
        return curvature_of(where, None, (scale,), True, alpha)
    bounds = eigen_range(problem, problem.flat_start()) if problem.size <= EIGEN_ENTRIES else None
    if bounds is None or not math.isfinite(bounds[1]):
        return None
    if math.isnan(bounds[0]):  # λmax alone (power iteration): no fastest step size without λmin
        return replace(curvature_of(where, None, (sp.Float(bounds[1]),), False, alpha), best_lr=None, best_rate=None)
    if abs(bounds[0]) <= 1e-10 * max(1.0, abs(bounds[1])):  # rounding's λ = 1e−16 is a flat direction, λ = 0
        bounds = (0.0, bounds[1])
    low, high = (sp.Float(float(f"{v:.9g}")) for v in bounds)  # finite differences: 9 digits at most
    curvature = curvature_of(where, None, (low, high) if low != high else (low,), False, alpha)
    if curvature.flat:  # the smallest λ that curves is not among the extremes: no fastest α from them
        return replace(curvature, best_lr=None, best_rate=None)
    return curvature


def _run_iterates(problem: VectorProblem, alpha: sp.Expr, count: int) -> tuple[tuple[VectorIterate, ...], str | None]:
    """x₀ … x_count from a real gradient-descent run (the engine ``run`` would pick), and a note if it stopped early."""
    from symdescent.vectors.engine import make_run

    run = make_run(problem, method="gd", max_steps=count, tol=0.0, lr=float(alpha))
    out = [VectorIterate(step.step, _preview(problem, np.asarray(step.x)), step.f) for step in run]
    result = run.result()
    note = None
    if out[-1].t < count:
        note = f"The run stopped after {out[-1].t} steps ({result.status}: {result.message})."
    return tuple(out), note


def _preview(problem: VectorProblem, z: np.ndarray) -> dict[str, float | tuple[float, ...]]:
    """Each variable's value; a long vector's first three entries and its last (the last only when the step has it:
    a step of the chunked engine carries the first entries of a long x only)."""
    if z.size < problem.size:  # a single long vector, its head only
        return {problem.names[0]: tuple(float(v) for v in z[:3])}
    values: dict[str, float | tuple[float, ...]] = {}
    for name, value in problem.unflatten(z).items():
        if isinstance(value, float):
            values[name] = value
            continue
        flat = np.ravel(value)
        kept = flat if flat.size <= SHOWN_ENTRIES else np.concatenate([flat[:3], flat[-1:]])
        values[name] = tuple(float(v) for v in kept)
    return values


def explain_text(problem: VectorProblem, lr: float | str = "0.1") -> str:
    """The explanation as plain text (what ``run --explain`` prints before a vector run)."""
    from symdescent.render.explain import text_lines

    return "\n".join(text_lines(explain_vector(problem, lr)))
