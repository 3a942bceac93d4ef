"""``grad``, ``explain`` and ``analyze`` for vector problems, in vector notation.

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

from symdescent.vectors.gradient_text import GradientAt, VectorRule, gradient_at, gradient_lines, vector_rules
from symdescent.vectors.gradient_text import gradient_report as gradient_report  # grad's text, also from here
from symdescent.vectors.printing import plain, pretty
from symdescent.vectors.problem import Formula, VectorProblem

if TYPE_CHECKING:
    from symdescent.explain import Curvature


def hessian_text(formula: Formula) -> str | None:
    """``H = 2AᵀA`` for a quadratic in one vector, else None."""
    if not formula.is_quadratic or formula.hessian_action is None:
        return None
    action = next(iter(formula.hessian_action.values()))
    return pretty(action.xreplace({sp.Symbol("v_", real=True): sp.Symbol("I", real=True)}))


def eigen_range(problem: VectorProblem, z: np.ndarray) -> tuple[float, float] | None:
    """(λmin, λmax) of the Hessian at z: dense while small, else λmax alone by power iteration on H·v."""
    if problem.size <= 500:
        values = np.linalg.eigvalsh(problem.hessian(z))
        return float(values[0]), float(values[-1])
    product = problem.hessian_vector
    if product is None:
        return None
    v = np.random.default_rng(0).normal(size=problem.size)
    value = 0.0
    for _ in range(200):
        w = product(z, v / np.linalg.norm(v))
        value, v = float(np.linalg.norm(w)), w
    return float("nan"), value


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
    iterates_wanted: int
    run_note: str | None  # why the run stopped before the iterates wanted, if it did

    @property
    def quadratic(self) -> bool:
        return self.hessian is not None


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
    curvature = _vector_curvature(problem, alpha, scale, hessian is not None)
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
        iterates_wanted=iterates,
        run_note=note,
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
    out = [VectorIterate(step.step, _preview(problem, step.x), step.f) for step in run]
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


#: analyze --format json lists the Hessian's entries while the point has at most this many entries.
HESSIAN_ENTRIES = 50


def analysis(problem: VectorProblem) -> dict[str, object]:
    """SPEC's analyze keys (null where unknown) and the vector extras (λmin, λmax, the Hessian's formula).

    Step sizes (max_stable_lr, best_lr) and the Lipschitz constant of ∇f are given only where the
    Hessian is constant (quadratics); elsewhere the eigenvalues hold at the start point only.
    """
    formula = problem.formula
    hessian = hessian_text(formula)
    quadratic = hessian is not None
    z = problem.flat_start()
    bounds = eigen_range(problem, z) if problem.size <= 10**6 else None
    low, high = bounds if bounds is not None else (math.nan, math.nan)
    known = not math.isnan(low)
    matrix = None
    if quadratic and problem.size <= HESSIAN_ENTRIES:
        matrix = problem.hessian(z)
    convex = None
    if quadratic and known:
        convex = bool(low >= -1e-12 * max(1.0, abs(high)))
    critical = None
    if quadratic and known and problem.size <= 500 and abs(low) > 1e-12 * max(1.0, abs(high)):
        full = problem.hessian(z)
        point = z - np.linalg.solve(full, problem.value_and_grad(z)[1])
        kind = "minimum" if low > 0 else ("maximum" if high < 0 else "saddle")
        critical = [{"point": [float(v) for v in point], "kind": kind, "f": problem.value(point)}]
    stable = quadratic and high > 0
    return {
        "function": plain(formula.expr),
        "variables": list(problem.names),
        "gradient": [plain(formula.gradient[n]) for n in problem.names],
        "hessian": None if matrix is None else [[float(v) for v in row] for row in matrix],
        "hessian_formula": hessian,
        "critical_points": critical,
        "convex": convex,
        "lipschitz": max(abs(low), abs(high)) if quadratic and known else None,
        "max_stable_lr": 2 / high if stable else None,
        "best_lr": 2 / (high + low) if stable and low > 0 else None,
        "quadratic": quadratic,
        "where": "everywhere" if quadratic else "at the start point",
        "lambda_min": None if math.isnan(low) else low,
        "lambda_max": None if math.isnan(high) else high,
        "strictly_convex": None if convex is None else bool(low > 1e-12 * max(1.0, high)),
        "condition_number": high / low if high > 0 and low > 0 else None,
    }


def symbolic_analysis(formula: Formula) -> tuple[dict[str, object], str]:
    """analyze without sizes (no --data, no --start): the formulas; every number is null."""
    hessian = hessian_text(formula)
    facts: dict[str, object] = {
        "function": plain(formula.expr),
        "variables": list(formula.variables),
        "gradient": [plain(formula.gradient[n]) for n in formula.variables],
        "hessian": None,
        "hessian_formula": hessian,
        "critical_points": None,
        "convex": None,
        "lipschitz": None,
        "max_stable_lr": None,
        "best_lr": None,
        "quadratic": hessian is not None,
        "where": "everywhere" if hessian is not None else None,
        "lambda_min": None,
        "lambda_max": None,
    }
    lines = [f"f({', '.join(formula.variables)}) = {pretty(formula.expr)}", *gradient_lines(formula)]
    if hessian is not None:
        lines.append(f"f is quadratic in {formula.variables[0]}: H = {hessian}, the same at every point")
    data = sorted({n for n in formula.kinds if n not in formula.variables})
    first = formula.variables[0] if formula.variables else "x"
    given = " ".join(f"--data {n}=FILE" for n in data) or f'the sizes with --start "{first}=zeros(3)"'
    lines.append(
        f"The eigenvalues, convexity and step sizes need numbers: give {given}. Only the formulas are shown here."
    )
    return facts, "\n".join(lines)


def analyze_text(problem: VectorProblem) -> str:
    """:func:`analysis` as lines of text."""
    facts = analysis(problem)
    lines = [f"f({', '.join(problem.names)}) = {pretty(problem.formula.expr)}"]
    if facts["quadratic"]:
        lines.append(f"f is quadratic in {problem.names[0]}: H = {facts['hessian_formula']}, the same at every point")
    else:
        lines.append(
            "f is not a quadratic in one vector: the eigenvalues below are those of the Hessian at the start point only"
        )
    low, high = facts["lambda_min"], facts["lambda_max"]
    if high is None:
        lines.append("The Hessian is too large to analyse here.")
        return "\n".join(lines)
    if low is None:
        lines.append(f"λmax = {_number(high)} (power iteration); λmin needs the full matrix, which is too large")
    else:
        lines.append(f"λmin = {_number(low)}, λmax = {_number(high)}")
    if facts["convex"] is not None:
        if facts["strictly_convex"]:
            lines.append("f is strictly convex (one minimum)")
        else:
            lines.append("f is convex" if facts["convex"] else "f is not convex (a saddle or unbounded below)")
    local = "" if facts["quadratic"] else " (near the start point only)"
    if high > 0:
        lines.append(f"gradient descent is stable for α < 2/λmax = {_number(2 / high)}{local}")
    if high > 0 and low is not None and low > 0:
        lines.append(
            f"best fixed α = 2/(λmax + λmin) = {_number(2 / (high + low))}; condition number "
            f"λmax/λmin = {_number(high / low)}{local}"
        )
    return "\n".join(lines)
