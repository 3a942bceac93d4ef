"""``analyze`` for vector problems: the Hessian's formula, its eigenvalues from the data, step sizes.

For a quadratic in one vector the Hessian is shown as a matrix formula
(H = 2AᵀA) and is the same everywhere; λmin and λmax come from the data
(a dense eigendecomposition while small, else power iteration on H·v).
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from symdescent.vectors.printing import plain, pretty
from symdescent.vectors.problem import Formula, VectorProblem


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
    from symdescent.vectors.explain import gradient_lines  # the text moves to render/analyze.py

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
