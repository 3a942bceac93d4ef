"""``grad``, ``explain`` and ``analyze`` for vector problems, in vector notation.

The story of the seed in vector form: f(x) = xᵀx, ∇f = 2x,
xₜ₊₁ = xₜ − α·2xₜ = 0.8·xₜ, so xₜ = 0.8ᵗ·x₀. For quadratics the Hessian is
shown as a matrix formula (H = 2AᵀA) and its largest eigenvalue is computed
from the data, which gives the step-size bound α < 2/λₘₐₓ.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import sympy as sp

from symdescent.vectors.calculus import band_cases
from symdescent.vectors.nodes import VDot, VIndexSum, VMatMul, VMean, VNorm, VSum, VTranspose
from symdescent.vectors.printing import plain, pretty
from symdescent.vectors.problem import Formula, VectorProblem, make_formula

#: Each rule the derivation may use, by the node that calls for it.
RULES: tuple[tuple[type, str], ...] = (
    (VSum, "Σ: ∇ₓ Σᵢ g(xᵢ) = g′(x), entry by entry"),
    (VMean, "mean: mean(v) = Σv / n, so every entry's share is 1/n"),
    (VNorm, "norm: ∇‖v‖ = v/‖v‖, so ∇‖v‖² = 2v"),
    (VDot, "dot: ∇ₓ(uᵀx) = u and ∇ₓ(xᵀx) = 2x"),
    (VMatMul, "@: a product by M on the way in is a product by Mᵀ on the way back: ∇ₓ g(Mx) = Mᵀ∇g"),
    (VTranspose, "transpose: (Mᵀ)ᵀ = M"),
    (VIndexSum, "index sum: ∂/∂xⱼ collects the partials of every term in which xⱼ appears (i = j, j−1, …)"),
)
CHAIN_RULE = "elementwise chain rule: ∇ h(u) = h′(u) ⊙ ∇u for every function applied entry by entry"


def rules_for(expr: sp.Expr) -> list[str]:
    found = {type(node) for node in sp.preorder_traversal(expr)}
    lines = [text for node, text in RULES if node in found]
    if any(
        (isinstance(n, sp.Function) and not hasattr(n, "nargs")) or isinstance(n, sp.exp | sp.log)
        for n in sp.preorder_traversal(expr)
    ) or any(isinstance(n, sp.Pow) for n in sp.preorder_traversal(expr)):
        lines.append(CHAIN_RULE)
    return lines


def gradient_lines(formula: Formula, length: int | None = None) -> list[str]:
    lines = []
    one = len(formula.variables) == 1
    for name, grad in formula.gradient.items():
        if formula.kinds.get(name) == 0:
            lines.append(f"∂f/∂{name} = {pretty(grad)}")
            continue
        label = "∇f" if one else f"∇_{name} f"
        if isinstance(grad, sp.Mul | sp.Function) and _band(grad) is not None:
            band = _band(grad)
            assert band is not None
            factor = sp.simplify(grad / band)
            cases = band_cases(band, length)
            prefix = "" if factor == 1 else f"{pretty(factor)} · "
            lines.append(f"∂f/∂{name}[j] = {prefix}{pretty(cases[0][1])}   (general j)")
            lines.extend(f"    {label_} : {prefix}{pretty(formula_)}" for label_, formula_ in cases[1:])
        else:
            lines.append(f"{label} = {pretty(grad)}")
    return lines


def _band(grad: sp.Expr) -> sp.Expr | None:
    from symdescent.vectors.nodes import VBandGrad

    bands = [n for n in sp.preorder_traversal(grad) if isinstance(n, VBandGrad)]
    return bands[0] if len(bands) == 1 else None


def gradient_report(text: str, variables: Sequence[str] | None, fmt: str) -> str:
    """``symdescent grad "norm(A @ x - b)^2"``: the gradient formula, no data needed."""
    formula = make_formula(text, variables=variables)
    if fmt == "json":
        return json.dumps(
            {
                "function": plain(formula.expr),
                "variables": list(formula.variables),
                "partials": {n: plain(g) for n, g in formula.gradient.items()},
                "gradient": [plain(g) for g in formula.gradient.values()],
                "gradient_pretty": {n: pretty(g) for n, g in formula.gradient.items()},
            },
            ensure_ascii=False,
            indent=2,
        )
    if fmt == "latex":
        return latex_report(formula)
    lines = [f"f({', '.join(formula.variables)}) = {pretty(formula.expr)}", *gradient_lines(formula)]
    if fmt in ("text", "latex", "rich"):
        lines += ["", "Derived once in vector form (the work does not grow with n), by these rules:"]
        lines += [f"  • {rule}" for rule in rules_for(formula.expr)]
    return "\n".join(lines)


def latex_report(formula: Formula) -> str:
    """``grad --format latex``: f and its gradient as display maths (index sums: the general entry and the ends)."""
    from symdescent.vectors.printing import latex

    lines = ["% symdescent grad (needs \\usepackage{amsmath})"]
    lines += ["\\[", f"  f({', '.join(formula.variables)}) = {latex(formula.expr)}", "\\]"]
    one = len(formula.variables) == 1
    for name, grad in formula.gradient.items():
        if formula.kinds.get(name) == 0:
            lines += ["\\[", f"  \\frac{{\\partial f}}{{\\partial {name}}} = {latex(grad)}", "\\]"]
            continue
        band = _band(grad) if isinstance(grad, sp.Mul | sp.Function) else None
        if band is not None:
            factor = sp.simplify(grad / band)
            prefix = "" if factor == 1 else f"{latex(factor)} \\cdot "
            cases = [
                f"{prefix}{latex(formula_)} & "
                + ("\\text{general } j" if label == "general" else label.replace("−", "-"))
                for label, formula_ in band_cases(band)
            ]
            body = " \\\\\n    ".join(cases)
            lines += [
                "\\[",
                f"  \\frac{{\\partial f}}{{\\partial {name}_j}} = \\begin{{cases}}",
                f"    {body}",
                "  \\end{cases}",
                "\\]",
            ]
        else:
            label = "\\nabla f" if one else f"\\nabla_{{{name}}} f"
            lines += ["\\[", f"  {label} = {latex(grad)}", "\\]"]
    return "\n".join(lines)


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


def explain_text(problem: VectorProblem, lr: float) -> str:
    """The derivation and the update rule in vector form, with the closed form where there is one."""
    formula = problem.formula
    sizes = ", ".join(
        f"{n}: {problem.shapes[n][0]} entries" if problem.shapes[n] else f"{n}: scalar" for n in problem.names
    )
    lines = [f"f({', '.join(problem.names)}) = {pretty(formula.expr)}    ({sizes})", "", "Gradient, in vector form:"]
    lines += [f"  {line}" for line in gradient_lines(formula)]
    lines += ["", "Rules used:"] + [f"  • {rule}" for rule in rules_for(formula.expr)]
    alpha = sp.Rational(str(lr)) if len(str(lr)) < 20 else sp.Float(lr)
    lines += ["", f"Gradient descent, α = {lr:g}:"]
    for name in problem.names:
        now = sp.Symbol(f"{name}ₜ", real=True)
        grad = formula.gradient[name]
        if _band(grad) is not None:
            lines.append(f"  {name}ₜ₊₁ = {name}ₜ − α·∇f({name}ₜ)   (entry j: {name}ₜ[j] − α·∂f/∂{name}[j])")
            continue
        moved = grad.xreplace({sp.Symbol(n, real=True): sp.Symbol(f"{n}ₜ", real=True) for n in problem.names})
        update = now - alpha * moved
        lines.append(f"  {name}ₜ₊₁ = {name}ₜ − α·{_paren(pretty(moved))} = {pretty(update)}")
    hessian = hessian_text(formula)
    if hessian is not None:
        name = problem.names[0]
        action = next(iter(formula.hessian_action.values()))  # type: ignore[union-attr]
        c = action / sp.Symbol("v_", real=True)
        lines += ["", f"Hessian (f is quadratic, so it is the same everywhere): H = {hessian}"]
        if c.is_Number:
            q = 1 - alpha * c
            rest = formula.gradient[name].xreplace({sp.Symbol(name, real=True): 0})
            if rest == 0:
                lines.append(
                    f"Closed form: {name}ₜ = {_paren(pretty(q))}ᵗ·{name}₀, since {name}ₜ₊₁ = {pretty(q)}·{name}ₜ"
                )
            else:
                star = pretty(-rest / c)
                lines.append(f"Closed form: {name}ₜ = {star} + {_paren(pretty(q))}ᵗ·({name}₀ − {star})")
            verdict = "converges" if abs(float(q)) < 1 else "does not converge"
            lines.append(f"  |{pretty(q)}| {'<' if abs(float(q)) < 1 else '≥'} 1, so gradient descent {verdict}")
    bounds = eigen_range(problem, problem.flat_start()) if problem.size <= 10**6 else None
    if bounds is not None and bounds[1] > 0:
        where = "" if hessian is not None else " at the start point"
        lines += [
            "",
            f"λmax of the Hessian{where} = {_number(bounds[1])} (computed from the data): "
            f"gradient descent is stable for α < 2/λmax = {_number(2 / bounds[1])}"
            + ("" if lr < 2 / bounds[1] else f" — α = {lr:g} is too large"),
        ]
    return "\n".join(lines)


def _paren(text: str) -> str:
    simple = text.replace("·", "").replace(".", "").isalnum()
    return text if simple or (" " not in text and not text.startswith("−")) else f"({text})"


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
