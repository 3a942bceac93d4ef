"""``symdescent explain`` output: the explanation's layout — which sections, in which order.

:func:`blocks` lays out an :class:`~symdescent.explain.Explanation` in the
textbook's order (the function, the partial derivatives rule by rule, the
gradient, the update rule, the closed form or the curvature, the first
iterates) as blocks of a maths document (:mod:`symdescent.render.document`),
with the mathematics written by a :class:`~symdescent.render.formulas.Notation`
— Unicode (``∂f/∂x = 2x``) or LaTeX (``\\frac{\\partial f}{\\partial x} = 2 x``).
The document layer then writes them as rich, plain text, Markdown or LaTeX.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import sympy as sp

from symdescent.explain import Curvature, Explanation
from symdescent.render import document
from symdescent.render.document import Block, Equations, Heading, Para, Steps, Table
from symdescent.render.formulas import DOTS, LATEX_DOTS, MAX_SHOWN_VARIABLES, Notation, abbreviate, step_rows
from symdescent.render.mathtext import signature
from symdescent.render.numbers import plural

if TYPE_CHECKING:
    from rich.console import Console

    from symdescent.vectors.explain import VectorExplanation

FORMATS = ("rich", "text", "markdown", "latex")


def blocks(ex: Explanation | VectorExplanation, latex: bool = False) -> list[Block]:
    """The derivation laid out for any format, in the textbook's order (a vector problem's too)."""
    if not isinstance(ex, Explanation):
        from symdescent.render.explain_vectors import vector_blocks

        return vector_blocks(ex, latex)
    problem = ex.problem
    variables = problem.variables
    n = Notation(latex=latex, decimal=ex.decimal, one_variable=len(variables) == 1)
    typed = n.as_typed  # f, its derivatives and the gradient as typed: x²/2 stays x²/2 when α = 0.1
    a = n.e(ex.lr)
    sig = signature(problem.names) if not latex else f"f({', '.join(n.e(v) for v in variables)})"
    dots = LATEX_DOTS if latex else DOTS
    out: list[Block] = [
        Heading("The function"),
        Equations((f"{sig} = {typed.e(abbreviate(problem.expr, dots))}",)),
        Para(
            f"Gradient descent with step size {n.inline(f'{n.alpha} = {a}')} from "
            f"{n.inline(n.t_names(variables, '0') + ' = ' + n.point(ex.start))}."
        ),
        Heading("Partial derivatives, rule by rule"),
    ]
    for p in ex.partials[: max(ex.derived_partials, MAX_SHOWN_VARIABLES)]:
        out.append(Equations((f"{n.partial(p.variable)} = {typed.e(p.result)}",)))
        if p.derivation is not None:
            out.append(Steps(step_rows(p.derivation, typed)))
            if p.derivation.elided:
                out.append(Para("Parts beyond the detail limit are differentiated without showing their steps."))
            if p.derivation.result != p.result:
                out.append(Para(f"Simplified: {n.inline(typed.e(p.derivation.result) + ' = ' + typed.e(p.result))}."))
    if ex.derived_partials < len(ex.partials):
        out.append(
            Para(
                f"Shown for the first {ex.derived_partials} of {len(ex.partials)} variables; "
                "the others go the same way."
            )
        )

    out.append(Heading("The gradient"))
    shown = [typed.e(abbreviate(p.result, dots)) for p in ex.partials]
    if len(shown) > MAX_SHOWN_VARIABLES:
        shown = [*shown[:3], r"\dots" if latex else "…", shown[-1]]
    out.append(Equations((f"{n.nabla} = {n.vector(shown)}",)))

    out.append(Heading("The update rule"))
    general = f"x_{{t+1}} = x_t - {n.alpha} \\nabla f(x_t)" if latex else "xₜ₊₁ = xₜ − α·∇f(xₜ)"
    out.append(Para(f"Each step moves against the gradient: {n.inline(general)}; with {n.inline(f'{n.alpha} = {a}')}:"))
    lines = []
    for u in ex.updates[:MAX_SHOWN_VARIABLES]:
        g = n.paren(u.gradient)
        lhs, before = n.e(u.after), n.e(u.before)
        raw = f"{before} {n.minus} {n.factor(ex.lr)}{n.dot}{g}"
        simplified = n.e(u.simplified)
        lines.append(f"{lhs} = {raw}" + (f" = {simplified}" if simplified != raw else ""))
    out.append(Equations(tuple(lines)))
    if len(ex.updates) > MAX_SHOWN_VARIABLES:
        others = plural(len(ex.updates) - MAX_SHOWN_VARIABLES, "variable")
        out.append(Para(f"… and the same for the other {others}."))

    out += _curvature_blocks(ex, n)

    out.append(Heading("The first iterates"))
    columns = len(variables) <= MAX_SHOWN_VARIABLES  # a column per variable
    header = ("t", *(n.e(sp.Symbol(f"{v.name}_t")) for v in variables if columns), "f")
    rows = []
    for it in ex.iterates:
        exact = it.exact if it.exact is not None else (None,) * len(it.x)
        values = [n.cell(v, fallback) for v, fallback in zip(exact, it.x, strict=True) if columns]
        rows.append((str(it.t), *values, n.cell(it.f_exact, it.f)))
    out.append(Table(header, tuple(rows)))
    if ex.exact and ex.iterates_exact_until < len(ex.iterates):
        out.append(
            Para(
                f"From {n.inline(f't = {ex.iterates_exact_until}')} on the exact numbers grow too long; "
                "the values are floats."
            )
        )
    elif ex.exact:
        shortened = any(
            n.cell(v, 0.0) != n.e(v) for it in ex.iterates if it.exact for v in (*it.exact, it.f_exact) if v is not None
        )
        out.append(Para("Long exact values are shown as floats." if shortened else "All values are exact."))
    return out


def _curvature_blocks(ex: Explanation, n: Notation) -> list[Block]:
    out: list[Block] = []
    a = n.e(ex.lr)
    if ex.quadratic is None:
        out.append(Heading("Step size"))
        out.append(Para(ex.hessian_note or f"With {len(ex.variables)} variables the Hessian is not analysed here."))
        return out
    if ex.quadratic:
        c = ex.curvature[0]
        out.append(Heading("Closed form"))
        out.append(
            Para(
                f"{n.inline('f')} is quadratic: its Hessian {n.inline('H')} is constant, so the update is affine "
                "and the iterates have a closed form:"
            )
        )
        if c.hessian is not None:
            out.append(Equations(_labelled("H = ", n.matrix(c.hessian))))
        out.append(Para(f"with eigenvalues {n.inline(_eigen_list(c, n))}."))
        closed = ex.closed_form
        if closed is None:
            out.append(Para("f has no minimum (it is unbounded below), so the iterates have no limit to approach."))
        else:
            general = r"x_t = x^* + (I - \alpha H)^t (x_0 - x^*)" if n.latex else "xₜ = x* + (I − αH)ᵗ·(x₀ − x*)"
            out.append(Equations((general,)))
            out.append(
                Equations(
                    _labelled(("I - \\alpha H = " if n.latex else "I − αH = "), n.matrix(closed.iteration_matrix))
                )
            )
            star = n.point(closed.minimizer)
            terms = []
            for factor, scale, direction in closed.terms:
                if factor == 0:
                    continue
                coefficient = n.power_t(factor)
                if direction == (1,):
                    term = _scaled(n, scale, coefficient)
                    terms.append(term)
                    continue
                vector = n.point(direction)
                if scale == -1:
                    term = f"{n.minus} {coefficient}{n.dot}{vector}"
                elif scale == 1:
                    term = f"+ {coefficient}{n.dot}{vector}"
                elif scale.is_negative:
                    term = f"{n.minus} {n.factor(-scale)}{n.dot}{coefficient}{n.dot}{vector}"
                else:
                    term = f"+ {n.factor(scale)}{n.dot}{coefficient}{n.dot}{vector}"
                terms.append(term)
            zero = all(v == 0 for v in closed.minimizer)
            body = " ".join(terms)
            if zero and terms:
                body = body.removeprefix("+ ")
                if body.startswith(n.minus + " "):
                    body = n.minus + body[len(n.minus) + 1 :]
            elif terms:
                body = f"{star} {body}"
            else:
                body = star
            lhs = n.t_names(ex.variables, "t")
            limit = f" {n.arrow} {star}" if closed.converges else ""
            out.append(Equations((f"{lhs} = {body}{limit}",)))
            vanished = [f for f, _, _ in closed.terms if f == 0]
            if vanished:
                out.append(
                    Para(
                        "A factor 1 − αλ = 0 means that part is gone after one step."
                        if not n.latex
                        else r"A factor $1 - \alpha\lambda = 0$ means that part is gone after one step."
                    )
                )
            if closed.converges:
                out.append(
                    Para(
                        f"The iterates approach the minimum {n.inline('x^* = ' + star if n.latex else 'x* = ' + star)}."
                    )
                )
            else:
                out.append(
                    Para(
                        f"With {n.inline(f'{n.alpha} = {a}')} the iterates do not converge: a factor has size ≥ 1."
                        if not n.latex
                        else f"With ${n.alpha} = {a}$ the iterates do not converge: a factor has size $\\geq 1$."
                    )
                )
        out += _step_size_blocks(c, n, "Step size")
        return out
    out.append(Heading("Curvature"))
    out.append(
        Para(
            f"{n.inline('f')} is not quadratic: its Hessian changes from point to point, so the update is not affine "
            "and there is no closed form. Near a point, the Hessian there tells how each step scales the error."
        )
    )
    for c in ex.curvature:
        where = "the start point" if c.where == "start" else "the minimum the run finds"
        point = n.point(c.point) if c.point is not None else ""
        if c.where == "minimum" and c.point is not None:
            point = n.vector([f"{float(v):.6g}" for v in c.point]) if len(c.point) > 1 else f"{float(c.point[0]):.6g}"
        out.append(Heading(f"At {where}, {n.inline(point)}"))
        if c.hessian is not None:
            out.append(Equations(_labelled("H = ", n.matrix(c.hessian))))
        out.append(Para(f"with eigenvalues {n.inline(_eigen_list(c, n))}."))
        out += _step_size_blocks(c, n, None)
    if ex.run_note:
        out.append(Para(_words(ex.run_note, n)))
    return out


def _scaled(n: Notation, scale: sp.Expr, coefficient: str) -> str:
    """+ 3·0.8ᵗ, − 0.8ᵗ: one term of a one-variable closed form."""
    if scale == 1:
        return f"+ {coefficient}"
    if scale == -1:
        return f"{n.minus} {coefficient}"
    if scale.is_negative:
        return f"{n.minus} {n.factor(-scale)}{n.dot}{coefficient}"
    return f"+ {n.factor(scale)}{n.dot}{coefficient}"


def _words(text: str, n: Notation) -> str:
    if not n.latex:
        return text
    return _latex_escape(text)


def _latex_escape(text: str) -> str:
    for char, repl in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        text = text.replace(char, repl)
    for char, repl in (("‖∇f‖", r"$\|\nabla f\|$"), ("≤", r"$\le$"), ("α", r"$\alpha$"), (">", r"$>$"), ("—", "---")):
        text = text.replace(char, repl)
    return text


def _labelled(label: str, lines: list[str]) -> tuple[str, ...]:
    """Put a label before a multi-line matrix, on its middle line."""
    if len(lines) == 1:
        return (label + lines[0],)
    middle = (len(lines) - 1) // 2
    pad = " " * len(label)
    return tuple((label if i == middle else pad) + line for i, line in enumerate(lines))


def _eigen_list(c: Curvature, n: Notation) -> str:
    values = ", ".join(n.num(v) for v in c.eigenvalues)
    return f"{n.lam} = {values}"


def _step_size_blocks(c: Curvature, n: Notation, heading: str | None, *, whole: bool = True) -> list[Block]:
    """What the eigenvalues say about α; ``whole=False``: only λmax is known, so no rate and no fastest α."""
    out: list[Block] = []
    if heading:
        out.append(Heading(heading))
    alpha, lam = n.alpha, n.lam
    one_minus = f"1 {n.minus} {alpha}{lam}"
    a = n.e(c.lr) if c.exact else n.num(c.lr)
    seen: dict[str, str] = {}
    for lam_value, factor in zip(c.eigenvalues, c.factors, strict=True):
        value = n.num(lam_value)
        product = f"{n.factor(c.lr) if c.exact else a}{n.dot}{n.paren(lam_value) if c.exact else value}"
        seen.setdefault(value, f"1 {n.minus} {product} = {n.num(factor)}")
    each = "; ".join(f"{n.inline(f'{lam} = {v}')}: {n.inline(f)}" for v, f in seen.items())
    out.append(
        Para(
            f"Along the eigenvector of each eigenvalue {n.inline(lam)}, a step multiplies the distance to the minimum "
            f"by {n.inline(one_minus)}"
            + (" (near this point)" if c.where != "everywhere" else "")
            + f". With {n.inline(f'{alpha} = {a}')}: {each}."
        )
    )
    rate_text = f"\\max_i {n.abs(f'1 - {alpha}{lam}_i')}" if n.latex else "max |1 − αλᵢ|"
    condition = f"{rate_text} < 1"
    high = n.lam_sub("max")
    stable = True  # a fastest step size is only named when some step size converges
    if c.max_stable_lr is not None and c.positive_definite:
        bound = f"0 < {alpha} < 2/{high} = {n.frac(c.max_stable_lr)}"
        out.append(Para(f"It converges when {n.inline(condition)}, that is {n.inline(bound)}."))
    elif c.max_stable_lr is not None and c.flat:
        bound = f"0 < {alpha} < 2/{high} = {n.frac(c.max_stable_lr)}"
        out.append(
            Para(
                f"It converges when {n.inline(condition)} in every direction that curves, that is {n.inline(bound)}; "
                f"along the flat direction ({n.inline(f'{lam} = 0')}) the error is not reduced"
                + (", and for a quadratic it is zero from the start." if c.where == "everywhere" else ".")
            )
        )
    else:
        stable = False
        out.append(
            Para(
                f"No step size makes {n.inline(condition)}: an eigenvalue "
                f"{n.inline(f'{lam} = 0' if c.flat else f'{lam} < 0')} "
                "means f curves downward or is flat there (a saddle or a maximum), and descent moves away along it."
            )
        )
    if not whole:
        return out
    rate = n.num(c.rate)
    verdict = "it converges" if c.converges else "it does not converge"
    out.append(
        Para(f"At {n.inline(f'{alpha} = {a}')} the rate is {n.inline(rate_text + ' = ' + rate)} per step: {verdict}.")
    )
    if stable and c.best_lr is not None and c.best_rate is not None:
        low = n.lam_sub("min")
        fastest = f"{alpha} = 2/({low} + {high}) = {n.frac(c.best_lr)}"
        every = "the factor of every direction that curves" if c.flat else "every factor"  # λₘᵢₙ: smallest that curves
        if c.best_rate.is_zero:
            tail = (
                f"; there {every} is 0 and one step lands on the minimum"
                if c.where == "everywhere"
                else f"; there {every} is 0 (Newton's step)"
            )
        else:
            tail = f", with rate {n.inline(f'({high} {n.minus} {low})/({high} + {low}) = {n.num(c.best_rate)}')}"
        out.append(Para(f"The fastest step size is {n.inline(fastest)}{tail}."))
    return out


# -- writers --------------------------------------------------------------------------


def text_lines(ex: Explanation | VectorExplanation, width: int | None = None) -> list[str]:
    """Plain Unicode, no markup: what ``--format text`` prints (fitted to ``width`` columns if given)."""
    return [line for _, line in document.text_lines(blocks(ex), width)]


def title(ex: Explanation | VectorExplanation) -> str:
    """The Markdown title: ``# Gradient descent on `f(x, y) = x² + y²```."""
    problem = ex.problem
    if isinstance(ex, Explanation):
        n = Notation(latex=False, decimal=False, one_variable=len(ex.problem.variables) == 1)
        function = f"{signature(ex.problem.names)} = {n.e(ex.problem.expr)}"
    else:
        from symdescent.vectors.printing import pretty

        function = f"f({', '.join(problem.names)}) = {pretty(ex.problem.expr)}"
    return f"# Gradient descent on `{function}`"


def markdown_lines(ex: Explanation | VectorExplanation) -> list[str]:
    """Markdown: headings and prose; the mathematics in Unicode, in code blocks."""
    return document.markdown_lines(blocks(ex), title(ex))


def latex_lines(ex: Explanation | VectorExplanation) -> list[str]:
    """A LaTeX fragment (needs ``\\usepackage{amsmath}``): sections, display maths and an array."""
    comment = r"symdescent explain: the derivation of a gradient-descent run (needs \usepackage{amsmath})"
    return document.latex_lines(blocks(ex, latex=True), comment)


def render_explanation(
    ex: Explanation | VectorExplanation, fmt: str, out: TextIO, console: Console | None = None
) -> None:
    """Write the explanation in ``fmt`` (rich needs a console; without one it falls back to text)."""
    plain = {"markdown": lambda: markdown_lines(ex), "latex": lambda: latex_lines(ex), "text": lambda: text_lines(ex)}
    console = document.rich_console(fmt, console, out, plain)
    if console is not None:
        document.print_rich(blocks(ex), console)
