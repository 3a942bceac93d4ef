"""The explanation of a vector problem laid out as the scalar one is: the same numbered sections and blocks.

:func:`vector_blocks` turns a :class:`~symdescent.vectors.explain.VectorExplanation`
into the blocks of :mod:`symdescent.render.document` — the function, the gradient in
vector form with its rules, the gradient, the update rule, the closed form (or the
curvature), the step size and the first iterates — so the one writer serves both
kinds of problem in rich, text, Markdown and LaTeX. Numbers and the step-size
paragraphs are written by the scalar layout's own helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

from symdescent.render.document import Block, Equations, Heading, Para, Steps, Table
from symdescent.render.formulas import Notation
from symdescent.vectors.explain import VectorExplanation
from symdescent.vectors.gradient_text import gradient_equations, gradient_label
from symdescent.vectors.printing import latex as latex_of
from symdescent.vectors.printing import pretty

if TYPE_CHECKING:
    from symdescent.vectors.problem import VectorProblem

#: Subscript t in Unicode.
_T = "ₜ"


class _Vectors:
    """Vector formulas in the document's notation: ``2Aᵀ(Ax − b)`` or ``2 A^{\\top} \\left(A x - b\\right)``."""

    def __init__(self, n: Notation, names: tuple[str, ...]) -> None:
        self.n, self.names = n, names

    def e(self, expr: sp.Expr) -> str:
        if self.n.latex:
            return latex_of(_decimals(expr) if self.n.decimal else expr)
        return pretty(expr)

    def at_t(self, expr: sp.Expr, sub: str = "t") -> sp.Expr:
        """Each variable x (and entry x[j]) at time ``sub``: xₜ, xₜ[j]; in LaTeX x_{t}, x_{t,j}."""
        moved: dict[sp.Symbol, sp.Symbol] = {}
        for symbol in expr.free_symbols:
            if not isinstance(symbol, sp.Symbol):
                continue
            name, _, index = symbol.name.partition("[")
            if name not in self.names:
                continue
            if self.n.latex:
                text = f"{name}[{sub},{index[:-1]}]" if index else f"{name}_{{{sub}}}"
            else:
                text = f"{name}{_sub(sub)}" + (f"[{index}" if index else "")
            moved[symbol] = sp.Symbol(text, real=True)
        return expr.xreplace(moved)

    def name_t(self, name: str, sub: str) -> str:
        return f"{name}_{{{sub}}}" if self.n.latex else f"{name}{_sub(sub)}"

    def values(self, value: float | tuple[float, ...], length: int) -> str:
        """3, (1, 2) or (1, 1, 1, …, 1) for a long vector (``value`` keeps its first three entries and the last)."""
        n = self.n
        if isinstance(value, float):
            return n.float(value)
        items = [n.float(v) for v in value]
        if length > 6:  # the first three entries, and the last when it is known
            items = [*items[:3], r"\dots" if n.latex else "…", *items[3:4]]
        return n.vector(items)


def _sub(sub: str) -> str:
    return {"t": "ₜ", "0": "₀", "t+1": "ₜ₊₁"}[sub]


def _decimals(expr: sp.Expr) -> sp.Expr:
    """4/5 as 0.8 (the user wrote decimals): a terminating fraction becomes the decimal it is."""
    from symdescent.render.formulas import _decimal

    swap = {}
    for value in expr.atoms(sp.Rational):
        if not value.is_Integer:
            text = _decimal(value)
            if text is not None:
                swap[value] = sp.Float(text, len(text))
    return expr.xreplace(swap)


def vector_blocks(ex: VectorExplanation, latex: bool = False) -> list[Block]:
    """The derivation of gradient descent on a vector problem, in the scalar document's order."""
    problem = ex.problem
    formula = problem.formula
    names = problem.names
    n = Notation(latex=latex, decimal=ex.decimal, one_variable=len(names) == 1)
    v = _Vectors(n, names)
    a = n.e(ex.lr)
    sig = f"f({', '.join(names)})"
    start = ", ".join(f"{v.name_t(name, '0')} = {v.values(x, _length(problem, name))}" for name, x in _start(ex))
    out: list[Block] = [
        Heading("The function"),
        Equations((f"{sig} = {v.e(formula.expr)}",)),
        Para(_sizes(ex, n)),
        Para(f"Gradient descent with step size {n.inline(f'{n.alpha} = {a}')} from {n.inline(start)}."),
        Heading("The gradient in vector form, rule by rule"),
    ]
    for name in names:
        cases = formula.gradient_cases(name)
        if cases is None:
            out.append(Equations((f"{gradient_label(formula, name, latex)} = {v.e(formula.gradient[name])}",)))
        else:
            lhs = rf"\frac{{\partial f}}{{\partial {name}_j}}" if latex else f"∂f/∂{name}[j]"
            out.append(Equations((f"{lhs} = {v.e(cases[0][1])}",)))
    out.append(Steps(tuple((0, rule.latex if latex else rule.law, rule.name) for rule in ex.rules)))
    out.append(Para("Derived once, in vector form: the work does not grow with the number of entries."))

    out.append(Heading("The gradient"))
    out.append(Equations(tuple(line for name in names for line in gradient_equations(formula, name, latex))))
    values = problem.unflatten(ex.at_start.grad)
    at_x0 = [
        f"{gradient_label(formula, name, latex)} = {v.values(_kept(values[name]), _length(problem, name))}"
        for name in names
    ]
    norm = r"\lVert \nabla f \rVert" if latex else "‖∇f‖"
    at_x0.append(f"{norm} = {n.float(ex.at_start.norm)}")
    where = "the start point" if len(names) > 1 else n.inline(v.name_t(names[0], "0"))
    out.append(Para(f"At {where}: {', '.join(n.inline(item) for item in at_x0)}."))

    out.append(Heading("The update rule"))
    general = f"x_{{t+1}} = x_t - {n.alpha} \\nabla f(x_t)" if latex else "xₜ₊₁ = xₜ − α·∇f(xₜ)"
    out.append(Para(f"Each step moves against the gradient: {n.inline(general)}; with {n.inline(f'{n.alpha} = {a}')}:"))
    lines = []
    for u in ex.updates:
        after, before = v.name_t(u.name, "t+1"), v.name_t(u.name, "t")
        if u.entry is not None:
            after, before = (
                (f"{after}[j]", f"{before}[j]") if not latex else (f"{u.name}_{{t+1,j}}", f"{u.name}_{{t,j}}")
            )
        raw = f"{before} {n.minus} {n.factor(ex.lr)}{n.dot}{_paren(v, v.at_t(u.gradient))}"
        simplified = v.e(v.at_t(u.simplified))
        lines.append(
            f"{after} = {raw}" + (f" = {simplified}" if simplified not in (raw, f"{before} {n.minus} {raw}") else "")
        )
    out.append(Equations(tuple(lines)))
    if any(u.entry for u in ex.updates):
        out.append(Para("The first and last entries step with their own formulas, those of the gradient above."))

    out += _curvature_blocks(ex, n, v)

    out.append(Heading("The first iterates"))
    header = ("t", *(n.e(sp.Symbol(f"{name}_t")) if not latex else v.name_t(name, "t") for name in names), "f")
    rows = [
        (str(it.t), *(v.values(it.x[name], _length(problem, name)) for name in names), n.float(it.f))
        for it in ex.iterates
    ]
    out.append(Table(header, tuple(rows)))
    out.append(Para("Computed by a gradient-descent run in floating point (float64)."))
    if ex.run_note:
        out.append(Para(ex.run_note if not latex else _latex_words(ex.run_note)))
    return out


def _curvature_blocks(ex: VectorExplanation, n: Notation, v: _Vectors) -> list[Block]:
    from symdescent.render.explain import _step_size_blocks

    out: list[Block] = []
    name = ex.problem.names[0]
    c = ex.curvature
    where = " (computed from the data)" if ex.from_data else ""
    if ex.hessian is not None:
        out.append(Heading("Closed form"))
        h = v.e(ex.hessian)
        out.append(
            Para(
                f"{n.inline('f')} is quadratic: its Hessian {n.inline(f'H = {h}')} is constant, so the update is "
                "affine and the iterates have a closed form:"
            )
        )
        general = r"x_t = x^* + (I - \alpha H)^t (x_0 - x^*)" if n.latex else "xₜ = x* + (I − αH)ᵗ·(x₀ − x*)"
        out.append(Equations((general,)))
        if ex.scale is not None and ex.minimizer is not None:
            q = sp.simplify(1 - ex.lr * ex.scale)
            power = n.power_t(q)
            x_t, x_0 = v.name_t(name, "t"), v.name_t(name, "0")
            start = v.values(ex.iterates[0].x[name], _length(ex.problem, name))
            if ex.minimizer == 0:
                line = f"{x_t} = {power}{n.dot}{x_0} = {power}{n.dot}{start}"
            else:
                star = v.e(ex.minimizer)
                line = f"{x_t} = {star} + {power}{n.dot}({x_0} {n.minus} {star})"
            converges = abs(float(q)) < 1
            out.append(Equations((line + (f" {n.arrow} {v.e(ex.minimizer)}" if converges else ""),)))
            star_text = "x^* = " if n.latex else "x* = "
            if converges:
                out.append(Para(f"The iterates approach the minimum {n.inline(star_text + v.e(ex.minimizer))}."))
            else:
                out.append(Para(f"With {n.inline(f'{n.alpha} = {n.e(ex.lr)}')} the iterates do not converge."))
    elif ex.constant_hessian:
        out.append(Heading("Curvature"))
        out.append(
            Para(
                f"{n.inline('f')} is quadratic in all its entries together: its Hessian is the same at every "
                "point, so the eigenvalues below hold everywhere and tell how each step scales the error."
            )
        )
    else:
        out.append(Heading("Curvature"))
        out.append(
            Para(
                f"{n.inline('f')} is not a quadratic in one vector here, so the Hessian may change from point to "
                "point and there is no closed form. Near a point, the Hessian there tells how each step scales "
                "the error."
            )
        )
    if c is None:
        out.append(Heading("Step size"))
        out.append(Para("The Hessian is too large to analyse here."))
        return out
    low, high = n.lam_sub("min"), n.lam_sub("max")
    if c.exact and ex.hessian is not None:
        extremes = f"{n.lam} = {n.num(c.eigenvalues[0])}"
        told = f"Every eigenvalue of {n.inline('H = ' + v.e(ex.hessian))} is {n.inline(extremes)}."
    else:
        at = "" if ex.hessian is not None or ex.constant_hessian else " at the start point"
        if len(c.eigenvalues) == 1 and c.best_lr is None:  # λmax alone, by power iteration
            told = f"The largest eigenvalue of the Hessian{at}{where}: {n.inline(f'{high} = {n.num(c.highest)}')}."
        else:
            values = f"{low} = {n.num(c.lowest)}, {high} = {n.num(c.highest)}"
            told = f"The extreme eigenvalues of the Hessian{at}{where}: {n.inline(values)}."
    # from λmax alone, or with λmin = 0, the rate over the directions that curve is not known
    known = c.exact or not (c.flat or (len(c.eigenvalues) == 1 and c.best_lr is None))
    blocks = _step_size_blocks(c, n, "Step size", whole=known)
    return [*out, blocks[0], Para(told), *blocks[1:]]


def _start(ex: VectorExplanation) -> list[tuple[str, float | tuple[float, ...]]]:
    first = ex.iterates[0].x if ex.iterates else {}
    return list(first.items())


def _length(problem: VectorProblem, name: str) -> int:
    shape = problem.shapes[name]
    return int(shape[0]) if shape else 1


def _kept(value: float | np.ndarray) -> float | tuple[float, ...]:
    if isinstance(value, float):
        return value
    flat = np.ravel(value)
    kept = flat if flat.size <= 6 else np.concatenate([flat[:3], flat[-1:]])
    return tuple(float(x) for x in kept)


def _paren(v: _Vectors, expr: sp.Expr) -> str:
    text = v.e(expr)
    if expr.is_Add or expr.could_extract_minus_sign():
        return rf"\left({text}\right)" if v.n.latex else f"({text})"
    return text


def _sizes(ex: VectorExplanation, n: Notation) -> str:
    """x is a vector of 2 entries; b is a number; the data: A (3×2), y (3 entries)."""
    problem = ex.problem
    parts = []
    for name in problem.names:
        shape = problem.shapes[name]
        parts.append(
            f"{n.inline(name)} is a vector of {shape[0]} entries" if shape else f"{n.inline(name)} is a number"
        )
    text = "; ".join(parts)
    if problem.data:
        data = []
        for name in sorted(problem.data):
            shape = problem.shapes[name]
            size = (
                "×".join(str(s) for s in shape) if len(shape) == 2 else f"{shape[0]} entries" if shape else "a number"
            )
            data.append(f"{n.inline(name)} ({_times(size) if n.latex else size})")
        text += "; the data: " + ", ".join(data)
    return f"Here {text}."


def _times(size: str) -> str:
    return size.replace("×", r"$\times$")


def _latex_words(text: str) -> str:
    from symdescent.render.explain import _latex_escape

    return _latex_escape(text)
