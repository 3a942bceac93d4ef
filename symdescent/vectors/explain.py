"""``grad`` and ``explain`` for vector problems, in vector notation (``analyze`` is in analysis.py).

The story of the seed in vector form: f(x) = xᵀx, ∇f = 2x,
xₜ₊₁ = xₜ − α·2xₜ = 0.8·xₜ, so xₜ = 0.8ᵗ·x₀. For quadratics the Hessian is
shown as a matrix formula (H = 2AᵀA) and its largest eigenvalue is computed
from the data, which gives the step-size bound α < 2/λₘₐₓ.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sympy as sp

from symdescent.vectors.analysis import eigen_range, hessian_text
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
