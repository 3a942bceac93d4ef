"""The gradient of a vector function as text: its formula in vector form, its rules, its value at a point.

What ``symdescent grad`` prints for vector syntax, and the gradient sections of ``explain``: ``∇f = 2Aᵀ(Ax − b)``,
for an index sum entry j's formula with the j = 1 and j = n cases, the rules of vector calculus that
gave it (each in Unicode and LaTeX), and with ``--at`` f, ∇f and ‖∇f‖ at a point.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symdescent.vectors.nodes import VDot, VIndexSum, VMatMul, VMean, VNorm, VSum, VTranspose
from symdescent.vectors.printing import plain, pretty
from symdescent.vectors.problem import Formula, VectorProblem, make_formula


@dataclass(frozen=True)
class VectorRule:
    """A rule of vector calculus the derivation used: its name and its law in Unicode and in LaTeX."""

    name: str
    law: str
    latex: str


#: Each rule the derivation may use, by the node that calls for it.
RULES: tuple[tuple[type, VectorRule], ...] = (
    (VSum, VectorRule("sum", "∇ₓ Σᵢ g(xᵢ) = g′(x), entry by entry", r"\nabla_x \sum_i g(x_i) = g'(x)")),
    (
        VMean,
        VectorRule(
            "mean", "mean(v) = Σv / n: every entry's share is 1/n", r"\operatorname{mean}(v) = \frac{1}{n} \sum v"
        ),
    ),
    (
        VNorm,
        VectorRule(
            "norm",
            "∇‖v‖ = v/‖v‖, so ∇‖v‖² = 2v",
            r"\nabla \lVert v \rVert = \frac{v}{\lVert v \rVert}, \quad \nabla \lVert v \rVert^{2} = 2 v",
        ),
    ),
    (
        VDot,
        VectorRule(
            "dot product",
            "∇ₓ(uᵀx) = u and ∇ₓ(xᵀx) = 2x",
            r"\nabla_x \left(u^{\top} x\right) = u, \quad \nabla_x \left(x^{\top} x\right) = 2 x",
        ),
    ),
    (
        VMatMul,
        VectorRule(
            "matrix product",
            "a product by M on the way in is a product by Mᵀ on the way back: ∇ₓ g(Mx) = Mᵀ∇g",
            r"\nabla_x g(M x) = M^{\top} \nabla g",
        ),
    ),
    (VTranspose, VectorRule("transpose", "(Mᵀ)ᵀ = M", r"\left(M^{\top}\right)^{\top} = M")),
    (
        VIndexSum,
        VectorRule(
            "index sum",
            "∂/∂xⱼ collects the partials of every term in which xⱼ appears (i = j, j−1, …)",
            r"\frac{\partial}{\partial x_j} \sum_i g_i = \sum_{i:\, x_j \in g_i} \frac{\partial g_i}{\partial x_j}",
        ),
    ),
)
CHAIN_RULE = VectorRule(
    "elementwise chain rule",
    "∇ h(u) = h′(u) ⊙ ∇u for every function applied entry by entry",
    r"\nabla h(u) = h'(u) \odot \nabla u",
)


def vector_rules(expr: sp.Expr) -> list[VectorRule]:
    """The rules the gradient of ``expr`` takes, in the order they are listed above."""
    nodes = list(sp.preorder_traversal(expr))
    found = {type(node) for node in nodes}
    rules = [rule for node, rule in RULES if node in found]
    if any(
        (isinstance(n, sp.Function) and not hasattr(n, "nargs")) or isinstance(n, sp.exp | sp.log | sp.Pow)
        for n in nodes
    ):
        rules.append(CHAIN_RULE)
    return rules


def rules_for(expr: sp.Expr) -> list[str]:
    return [f"{rule.name}: {rule.law}" for rule in vector_rules(expr)]


def gradient_label(formula: Formula, name: str, latex: bool = False) -> str:
    """∂f/∂a for a scalar, ∇f for the only variable, ∇_w f for one of several."""
    if formula.kinds.get(name) == 0:
        return rf"\frac{{\partial f}}{{\partial {name}}}" if latex else f"∂f/∂{name}"
    if len(formula.variables) == 1:
        return r"\nabla f" if latex else "∇f"
    return rf"\nabla_{{{name}}} f" if latex else f"∇_{name} f"


def gradient_equations(formula: Formula, name: str, latex: bool = False, length: int | None = None) -> list[str]:
    """The gradient in ``name`` as display lines: one formula, or entry j's and the boundary entries' (cases)."""
    from symdescent.vectors.printing import latex as latex_of

    cases = formula.gradient_cases(name, length)
    if cases is None:
        write = latex_of if latex else pretty
        return [f"{gradient_label(formula, name, latex)} = {write(formula.gradient[name])}"]
    if latex:
        rows = [
            f"{latex_of(f)} & " + (r"\text{general } j" if label == "general" else label.replace("−", "-"))
            for label, f in cases
        ]
        body = " \\\\ ".join(rows)
        return [rf"\frac{{\partial f}}{{\partial {name}_j}} = \begin{{cases}} {body} \end{{cases}}"]
    lines = [f"∂f/∂{name}[j] = {pretty(cases[0][1])}   (general j)"]
    lines += [f"    {label} : {pretty(f)}" for label, f in cases[1:]]
    return lines


def gradient_lines(formula: Formula, length: int | None = None) -> list[str]:
    return [line for name in formula.variables for line in gradient_equations(formula, name, length=length)]


@dataclass(frozen=True)
class GradientAt:
    """f and ∇f at a point of a bound problem (``grad --at``)."""

    problem: VectorProblem
    f: float
    grad: np.ndarray  # flat, every variable's entries

    @property
    def norm(self) -> float:
        return float(np.linalg.norm(self.grad))


def gradient_at(problem: VectorProblem) -> GradientAt:
    z = problem.flat_start()
    f, grad = problem.value_and_grad(z)
    return GradientAt(problem, f, np.array(grad, dtype=float))


def _entries(value: np.ndarray | float) -> object:
    """A number, or the list of a vector's entries (JSON: non-finite values as text)."""
    if np.ndim(value) == 0:
        return _json(float(value))
    return [_json(float(v)) for v in np.ravel(value)]


def _json(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def _shown(value: np.ndarray | float, limit: int = 6) -> str:
    """``[1, 2]``, ``3``, ``[1, 2, 3, …]`` (shortest round-trip numbers)."""
    from symdescent.render.gradient import plain_number

    if np.ndim(value) == 0:
        return plain_number(float(value))
    flat = np.ravel(value)
    items = [plain_number(float(v)) for v in flat[:limit]]
    return "[" + ", ".join(items) + (", …" if flat.size > limit else "") + "]"


#: grad --format json lists a point's entries while all variables together have at most this many.
JSON_ENTRIES = 1000


def gradient_report(
    text: str | Formula, variables: Sequence[str] | None, fmt: str, at: GradientAt | None = None
) -> str:
    """``symdescent grad "norm(A @ x - b)^2"``: the gradient formula (no data needed), and its value ``at`` a point."""
    formula = text if isinstance(text, Formula) else make_formula(text, variables=variables)
    if fmt == "json":
        data: dict[str, object] = {
            "function": plain(formula.expr),
            "variables": list(formula.variables),
            "partials": {n: formula.gradient_text(n, fancy=False) for n in formula.variables},
            "gradient": [formula.gradient_text(n, fancy=False) for n in formula.variables],
        }
        if at is not None:
            whole = at.problem.size <= JSON_ENTRIES
            gradient = at.problem.unflatten(at.grad)
            if whole:
                data["at"] = {n: _entries(v) for n, v in at.problem.start.items()}
                data["value"] = {n: _entries(v) for n, v in gradient.items()}
            data["norm"] = _json(at.norm)
            data["f"] = _json(at.f)
        return json.dumps(data, ensure_ascii=False, indent=2)
    if fmt == "latex":
        return latex_report(formula, at)
    lines = [f"f({', '.join(formula.variables)}) = {pretty(formula.expr)}", *gradient_lines(formula)]
    lines += ["", "Derived once in vector form (the work does not grow with n), by these rules:"]
    lines += [f"  • {rule}" for rule in rules_for(formula.expr)]
    if at is not None:
        point = "; ".join(f"{n} = {_shown(v)}" for n, v in at.problem.start.items())
        rows = [("f", _shown(at.f))]
        rows += [(gradient_label(formula, n), _shown(v)) for n, v in at.problem.unflatten(at.grad).items()]
        rows.append(("‖∇f‖", _shown(at.norm)))
        width = max(len(label) for label, _ in rows)
        lines += ["", f"at {point}:", *(f"  {label:<{width}} = {value}" for label, value in rows)]
    return "\n".join(lines)


def latex_report(formula: Formula, at: GradientAt | None = None) -> str:
    """``grad --format latex``: f and its gradient as display maths (index sums: the general entry and the ends)."""
    from symdescent.vectors.printing import latex

    lines = ["% symdescent grad (needs \\usepackage{amsmath})"]
    lines += ["\\[", f"  f({', '.join(formula.variables)}) = {latex(formula.expr)}", "\\]"]
    for name in formula.variables:
        lines += ["\\[", *(f"  {line}" for line in gradient_equations(formula, name, latex=True)), "\\]"]
    if at is not None:
        values = []
        for name, value in at.problem.unflatten(at.grad).items():
            shown = _shown(value).replace("…", r"\dots").replace("[", r"\left(").replace("]", r"\right)")
            values.append(f"{gradient_label(formula, name, latex=True)} = {shown}")
        point = ", ".join(
            f"{n} = " + _shown(v).replace("…", r"\dots").replace("[", r"\left(").replace("]", r"\right)")
            for n, v in at.problem.start.items()
        )
        lines += [
            r"\noindent At $" + point + "$:",
            "\\[",
            "  " + r", \qquad ".join([f"f = {_shown(at.f)}", *values, rf"\lVert \nabla f \rVert = {_shown(at.norm)}"]),
            "\\]",
        ]
    return "\n".join(lines)
