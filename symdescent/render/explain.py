"""``symdescent explain`` output: rich, plain Unicode text, Markdown or a LaTeX fragment.

The renderers only format an :class:`~symdescent.explain.Explanation`. One
function, :func:`blocks`, lays out the derivation as a list of blocks
(headings, paragraphs, equations, rule steps, tables) with the mathematics
written by a :class:`Notation` — Unicode (``∂f/∂x = 2x``) or LaTeX
(``\\frac{\\partial f}{\\partial x} = 2 x``); each format then writes the
blocks its own way.

The LaTeX fragment needs ``\\usepackage{amsmath}`` in the document's preamble.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from symdescent.derivation import FUNCTION_RULE_NAMES, RuleStep
from symdescent.explain import Curvature, Explanation
from symdescent.functions import laws
from symdescent.render.mathtext import signature

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("rich", "text", "markdown", "latex")

#: Each rule's name and law, in Unicode and in LaTeX.
RULE_LAWS: dict[str, tuple[str, str, str]] = {
    "constant": ("constant", "c′ = 0", r"c' = 0"),
    "variable": ("variable", "x′ = 1", r"x' = 1"),
    "sum": ("sum rule", "(u + v)′ = u′ + v′", r"(u + v)' = u' + v'"),
    "constant multiple": ("constant multiple", "(c·u)′ = c·u′", r"(c u)' = c u'"),
    "product": ("product rule", "(u·v)′ = u′·v + u·v′", r"(u v)' = u' v + u v'"),
    "quotient": ("quotient rule", "(u/v)′ = (u′·v − u·v′)/v²", r"(u/v)' = (u' v - u v')/v^2"),
    "power": ("power rule", "(xⁿ)′ = n·xⁿ⁻¹", r"(x^n)' = n x^{n-1}"),
    "sqrt": ("square root", "(√x)′ = 1/(2√x)", r"(\sqrt{x})' = 1/(2\sqrt{x})"),
    "exponential": ("exponential", "(aˣ)′ = aˣ·ln a", r"(a^x)' = a^x \ln a"),
    "general power": ("general power", "(uᵛ)′ = uᵛ·(v′·ln u + v·u′/u)", r"(u^v)' = u^v (v' \ln u + v u'/u)"),
    **laws(),  # every function's rule, from symdescent.functions
    "chain": ("chain rule", "(g(u))′ = g′(u)·u′", r"(g(u))' = g'(u)\, u'"),
    "elided": ("(steps not shown)", "", ""),
    "sympy": ("SymPy", "", ""),
}

_SUPERSCRIPTS = str.maketrans("0123456789-t", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᵗ")
_SUBSCRIPTS = {"t": "ₜ", "{t+1}": "ₜ₊₁", "0": "₀"}


def _terminating(q: int) -> bool:
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    return q == 1


def _decimal(value: sp.Rational) -> str | None:
    """4/5 -> "0.8" when the decimal is exact and short, else None."""
    if value.q == 1:
        return str(value.p)
    if not _terminating(int(value.q)):
        return None
    digits = 0
    while (value * 10**digits).q != 1:
        digits += 1
    if digits > 12:
        return None
    text = f"{abs(value.p) * 10**digits // value.q:0{digits + 1}d}"
    text = text[:-digits] + "." + text[-digits:]
    return ("-" if value < 0 else "") + text


def _decimal_coefficient(expr: sp.Mul) -> tuple[str, sp.Expr] | None:
    """0.8·x for 4x/5 when decimals are wanted: the coefficient as a decimal, and the rest."""
    coefficient, rest = expr.as_coeff_Mul()
    if not (coefficient.is_Rational and not coefficient.is_Integer) or rest == 1:
        return None
    text = _decimal(coefficient)
    return (text, rest) if text is not None else None


class _UnicodePrinter(StrPrinter):
    def __init__(self, decimal: bool, one_variable: bool = False) -> None:
        super().__init__()
        self.decimal = decimal
        self.d = "d" if one_variable else "∂"

    def _print_Mul(self, expr: sp.Mul) -> str:
        split = _decimal_coefficient(expr) if self.decimal else None
        if split is None:
            return super()._print_Mul(expr)
        text, rest = split
        inner = self._print(rest)
        if rest.is_Add:
            inner = f"({inner})"
        return f"{text}*{inner}"

    def _print_Rational(self, expr: sp.Rational) -> str:
        if self.decimal:
            text = _decimal(expr)
            if text is not None:
                return text
        return super()._print_Rational(expr)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        # A rule's formula keeps its terms in the order the rule names them.
        return super()._print_Add(expr, "none" if expr.has(sp.Derivative, DOTS) else order)

    def _print_Float(self, expr: sp.Float) -> str:
        return f"{float(expr):.6g}"

    def _print_Pi(self, expr: sp.Expr) -> str:
        return "π"

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "e"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        name = expr.name
        base, sep, sub = name.partition("_")
        if sep and sub in _SUBSCRIPTS:
            return base + _SUBSCRIPTS[sub]
        return name

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        inner, (variable, _) = expr.expr, expr.variable_count[0]
        text = self._print(inner)
        if inner.is_Add or inner.is_Mul or (inner.is_Number and inner < 0):
            text = f"({text})"
        return f"{self.d}/{self.d}{self._print(variable)} {text}"

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if expr.exp == sp.Symbol("t"):
            base = self._print(expr.base)
            plain = (
                expr.base.is_Symbol
                or expr.base.is_Integer
                or (self.decimal and expr.base.is_Rational and _decimal(expr.base) is not None)
            )
            if not (plain and not expr.base.is_negative):
                base = f"({base})"
            return base + "ᵗ"
        return super()._print_Pow(expr, rational)


class _LatexPrinter(LatexPrinter):
    def __init__(self, decimal: bool, one_variable: bool = False) -> None:
        super().__init__()
        self.decimal = decimal
        self.d = "d" if one_variable else r"\partial"

    def _print_Float(self, expr: sp.Float) -> str:
        return f"{float(expr):.6g}"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        inner, (variable, _) = expr.expr, expr.variable_count[0]
        text = self._print(inner)
        if inner.is_Add or inner.is_Mul or (inner.is_Number and inner < 0):
            text = rf"\left({text}\right)"
        return rf"\frac{{{self.d}}}{{{self.d} {self._print(variable)}}} {text}"

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        return super()._print_Add(expr, "none" if expr.has(sp.Derivative, _LATEX_DOTS) else order)

    def _print_Mul(self, expr: sp.Mul) -> str:
        split = _decimal_coefficient(expr) if self.decimal else None
        if split is None:
            return super()._print_Mul(expr)
        text, rest = split
        inner = self._print(rest)
        if rest.is_Add:
            inner = rf"\left({inner}\right)"
        return f"{text} {inner}"

    def _print_Rational(self, expr: sp.Rational) -> str:
        if self.decimal:
            text = _decimal(expr)
            if text is not None:
                return text
        return super()._print_Rational(expr)


def _unicode(expr: sp.Expr, printer: StrPrinter, limit: int = 400) -> str:
    """Like ``mathtext.inline``: x**2 -> x², 2*x -> 2x, * -> ·, with a custom printer."""
    text = printer.doprint(expr)
    text = re.sub(r"\*\*(\d+)\b", lambda m: m.group(1).translate(_SUPERSCRIPTS), text)
    text = re.sub(r"\*\*\((-\d+)\)", lambda m: m.group(1).translate(_SUPERSCRIPTS), text)
    text = re.sub(r"(?<![\w.])(\d+)\*(?=[A-Za-zπ(])", r"\1", text)
    text = text.replace("**", "^").replace("*", "·").replace("sqrt(", "√(").replace("Abs(", "abs(")
    text = re.sub(r"(?<=[\w)²³¹⁰⁴⁵⁶⁷⁸⁹ᵗ]) - ", " − ", text).replace("(-", "(−")
    if text.startswith("-"):
        text = "−" + text[1:]
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Notation:
    """How mathematics is written: Unicode for text, rich and Markdown; LaTeX for LaTeX."""

    latex: bool
    decimal: bool
    one_variable: bool
    _printer: StrPrinter | LatexPrinter = field(init=False)

    def __post_init__(self) -> None:
        printer = _LatexPrinter if self.latex else _UnicodePrinter
        self._printer = printer(self.decimal, self.one_variable)

    def e(self, expr: sp.Expr) -> str:
        """An expression (a float with 6 significant digits)."""
        if isinstance(expr, sp.Float):
            return self.float(float(expr))
        if self.latex:
            return self._printer.doprint(expr)
        return _unicode(expr, self._printer)  # type: ignore[arg-type]

    def inline(self, math: str) -> str:
        """Math inside a sentence (in Unicode with no-break spaces, so that wrapping never splits it)."""
        return f"${math}$" if self.latex else math.replace(" ", "\u00a0")

    def frac(self, value: sp.Expr) -> str:
        """A derived step size as a fraction (1/2, 1/9) even when the user wrote decimals."""
        printer = self._printer
        old, printer.decimal = printer.decimal, False  # type: ignore[union-attr]
        try:
            return self.num(value)
        finally:
            printer.decimal = old  # type: ignore[union-attr]

    def factor(self, value: sp.Expr) -> str:
        """α inside a product: (1/10)·2, but 0.1·2."""
        text = self.e(value)
        if value.is_Rational and not value.is_Integer and "/" in text:
            return rf"\left({text}\right)" if self.latex else f"({text})"
        return text

    def num(self, value: sp.Expr) -> str:
        """A number; with ≈ and its float when it is not rational (e.g. 5/2 − √5/2 ≈ 1.38197)."""
        if value.is_Float:
            return self.float(float(value))
        text = self.e(value)
        if value.is_Rational or not value.is_number:
            return text
        approx = self.float(float(value))
        return f"{text} \\approx {approx}" if self.latex else f"{text} ≈ {approx}"

    def float(self, value: float) -> str:
        """A float with 6 significant digits (Unicode minus in text)."""
        text = f"{value:.6g}"
        return text if self.latex else text.replace("-", "−")

    def cell(self, value: sp.Expr | None, fallback: float) -> str:
        """A table cell: the exact value when it is short, else its float."""
        if value is not None:
            text = self.e(value)
            if len(text) <= 16:
                return text
        return self.float(fallback)

    def paren(self, expr: sp.Expr) -> str:
        """An expression as a factor: (x + 1), (−2y), but 2x."""
        text = self.e(expr)
        if expr.is_Add or expr.could_extract_minus_sign():
            return rf"\left({text}\right)" if self.latex else f"({text})"
        return text

    @property
    def alpha(self) -> str:
        return r"\alpha" if self.latex else "α"

    @property
    def lam(self) -> str:
        return r"\lambda" if self.latex else "λ"

    @property
    def arrow(self) -> str:
        return r"\to" if self.latex else "→"

    @property
    def minus(self) -> str:
        return "-" if self.latex else "−"

    @property
    def dot(self) -> str:
        return r"\cdot " if self.latex else "·"

    @property
    def nabla(self) -> str:
        return r"\nabla f" if self.latex else "∇f"

    def lam_sub(self, sub: str) -> str:
        return rf"\lambda_{{\mathrm{{{sub}}}}}" if self.latex else "λ" + {"max": "ₘₐₓ", "min": "ₘᵢₙ"}[sub]

    def abs(self, inner: str) -> str:
        return rf"\left|{inner}\right|" if self.latex else f"|{inner}|"

    def partial(self, variable: sp.Symbol) -> str:
        """∂f/∂x (df/dx for a function of one variable)."""
        v = self.e(variable)
        if self.latex:
            return rf"\frac{{d f}}{{d {v}}}" if self.one_variable else rf"\frac{{\partial f}}{{\partial {v}}}"
        return f"df/d{v}" if self.one_variable else f"∂f/∂{v}"

    def vector(self, items: Sequence[str]) -> str:
        inner = ", ".join(items)
        return rf"\left({inner}\right)" if self.latex else f"({inner})"

    def point(self, values: Sequence[sp.Expr]) -> str:
        if len(values) == 1:
            return self.e(values[0])
        return self.vector(self._few([self.e(v) for v in values]))

    def _few(self, items: list[str]) -> list[str]:
        """(a, b, c, …, z) for long vectors."""
        if len(items) <= MAX_SHOWN_VARIABLES:
            return items
        return [*items[:3], r"\dots" if self.latex else "…", items[-1]]

    def t_names(self, variables: Sequence[sp.Symbol], sub: str) -> str:
        """(xₜ, yₜ), or xₜ for one variable."""
        names = [self.e(sp.Symbol(f"{v.name}_{sub}")) for v in variables]
        return names[0] if len(names) == 1 else self.vector(self._few(names))

    def power_t(self, base: sp.Expr) -> str:
        text = self.e(base)
        plain = base.is_Integer or (self.decimal and base.is_Rational and _decimal(base) is not None)
        if not (plain and not base.is_negative):
            text = rf"\left({text}\right)" if self.latex else f"({text})"
        return f"{text}^{{t}}" if self.latex else f"{text}ᵗ"

    def matrix(self, matrix: sp.Matrix) -> list[str]:
        if self.latex:
            return [self.e(matrix)]
        return _pretty_matrix(matrix, self)

    def rule(self, step: RuleStep) -> str:
        name = RULE_LAWS[step.rule][0]
        if step.rule == "chain" and step.outer:
            outer = RULE_LAWS[step.outer][0].removesuffix(" rule")
            name = f"chain rule, outer {outer}"
        elif step.rule in FUNCTION_RULE_NAMES:
            name = f"{name} rule"
        if step.rule == "constant" and step.expr != 0 and step.expr.free_symbols:
            name = (
                f"constant: no {self.e(step.variable)} in it"
                if not self.latex
                else f"constant in ${self.e(step.variable)}$"
            )
        return name


def _pretty_matrix(matrix: sp.Matrix, notation: Notation) -> list[str]:
    """A matrix in Unicode brackets, one line per row: ⎡2  0⎤ / ⎣0  2⎦."""
    cells = [[notation.e(c) for c in row] for row in matrix.tolist()]
    widths = [max(len(row[j]) for row in cells) for j in range(len(cells[0]))]
    rows = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    if len(rows) == 1:
        return [f"[{rows[0]}]"]
    out = []
    for i, row in enumerate(rows):
        left, right = ("⎡", "⎤") if i == 0 else ("⎣", "⎦") if i == len(rows) - 1 else ("⎢", "⎥")
        out.append(f"{left}{row}{right}")
    return out


# -- blocks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Para:
    text: str  # words with inline math already delimited


@dataclass(frozen=True)
class Equations:
    lines: tuple[str, ...]  # display math, one equation per line


@dataclass(frozen=True)
class Steps:
    rows: tuple[tuple[int, str, str], ...]  # (depth, math, rule)


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]  # math
    rows: tuple[tuple[str, ...], ...]  # math


Block = Heading | Para | Equations | Steps | Table

#: Beyond this many variables, the update rule is written for the first ones and the iterates show f only.
MAX_SHOWN_VARIABLES = 6
#: Rule-step rows shown per partial derivative before the rest is summarised.
MAX_STEP_ROWS = 30


#: A sum with more terms than this is written with its first and last terms and … between.
MAX_TERMS = 6
DOTS = sp.Symbol("…")
_LATEX_DOTS = sp.Symbol(r"\dots")


def abbreviate(expr: sp.Expr, dots: sp.Symbol = DOTS) -> sp.Expr:
    """x1² + x2² + x3² + … + x1000²: long sums cut in the middle, for display only."""
    if expr.is_Atom or sp.count_ops(expr, visual=False) < 3 * MAX_TERMS:
        return expr
    if expr.is_Add and len(expr.args) > MAX_TERMS:
        terms = sp.Add.make_args(expr)
        if not expr.has(sp.Derivative):
            terms = tuple(sp.Add(*terms).as_ordered_terms())
        head = [abbreviate(t, dots) for t in terms[:3]]
        return sp.Add(*head, dots, abbreviate(terms[-1], dots), evaluate=False)
    if isinstance(expr, sp.Derivative):
        return sp.Derivative(abbreviate(expr.expr, dots), *expr.variables, evaluate=False)
    if expr.is_Add or expr.is_Mul or expr.is_Pow:
        return expr.func(*[abbreviate(a, dots) for a in expr.args], evaluate=False)
    return expr


def step_rows(step: RuleStep, n: Notation, limit: int = MAX_STEP_ROWS) -> tuple[tuple[int, str, str], ...]:
    """One row per rule: (depth, "∂/∂x (x² + y²) = ∂/∂x x² + ∂/∂x y² = 2x", "sum rule")."""
    rows = []
    walked = list(step.walk())
    dots = _LATEX_DOTS if n.latex else DOTS
    for depth, s in walked[:limit]:
        lhs = n.e(abbreviate(sp.Derivative(s.expr, s.variable, evaluate=False), dots))
        parts = [lhs]
        if s.formula is not None:
            parts.append(n.e(abbreviate(s.formula, dots)))
        result = n.e(abbreviate(s.result, dots))
        if parts[-1] != result:
            parts.append(result)
        rows.append((depth, " = ".join(parts), n.rule(s)))
    if len(walked) > limit:
        rows.append((1, f"… {len(walked) - limit} more steps not shown", ""))
    return tuple(rows)


def blocks(ex: Explanation, latex: bool = False) -> list[Block]:
    """The derivation laid out for any format, in the textbook's order."""
    problem = ex.problem
    variables = problem.variables
    n = Notation(latex=latex, decimal=ex.decimal, one_variable=len(variables) == 1)
    a = n.e(ex.lr)
    sig = signature(problem.names) if not latex else f"f({', '.join(n.e(v) for v in variables)})"
    dots = _LATEX_DOTS if latex else DOTS
    out: list[Block] = [
        Heading("The function"),
        Equations((f"{sig} = {n.e(abbreviate(problem.expr, dots))}",)),
        Para(
            f"Gradient descent with step size {n.inline(f'{n.alpha} = {a}')} from "
            f"{n.inline(n.t_names(variables, '0') + ' = ' + n.point(ex.start))}."
        ),
        Heading("Partial derivatives, rule by rule"),
    ]
    for p in ex.partials[: max(ex.derived_partials, MAX_SHOWN_VARIABLES)]:
        out.append(Equations((f"{n.partial(p.variable)} = {n.e(p.result)}",)))
        if p.derivation is not None:
            out.append(Steps(step_rows(p.derivation, n)))
            if p.derivation.elided:
                out.append(Para("Parts beyond the detail limit are differentiated without showing their steps."))
            if p.derivation.result != p.result:
                out.append(Para(f"Simplified: {n.inline(n.e(p.derivation.result) + ' = ' + n.e(p.result))}."))
    if ex.derived_partials < len(ex.partials):
        out.append(
            Para(
                f"Shown for the first {ex.derived_partials} of {len(ex.partials)} variables; "
                "the others go the same way."
            )
        )

    out.append(Heading("The gradient"))
    shown = [n.e(abbreviate(p.result, dots)) for p in ex.partials]
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
        out.append(Para(f"… and the same for the other {len(ex.updates) - MAX_SHOWN_VARIABLES} variables."))

    out += _curvature_blocks(ex, n)

    out.append(Heading("The first iterates"))
    shown = len(variables) <= MAX_SHOWN_VARIABLES
    header = ("t", *(n.e(sp.Symbol(f"{v.name}_t")) for v in variables if shown), "f")
    rows = []
    for it in ex.iterates:
        exact = it.exact if it.exact is not None else (None,) * len(it.x)
        values = [n.cell(v, fallback) for v, fallback in zip(exact, it.x, strict=True) if shown]
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
        out.append(Para(f"With {len(ex.variables)} variables the Hessian is not analysed here."))
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


def _step_size_blocks(c: Curvature, n: Notation, heading: str | None) -> list[Block]:
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
    if c.max_stable_lr is not None and c.positive_definite:
        bound = f"0 < {alpha} < 2/{high} = {n.frac(c.max_stable_lr)}"
        out.append(Para(f"It converges when {n.inline(condition)}, that is {n.inline(bound)}."))
    elif c.max_stable_lr is not None and c.lowest == 0:
        bound = f"0 < {alpha} < 2/{high} = {n.frac(c.max_stable_lr)}"
        out.append(
            Para(
                f"It converges when {n.inline(condition)} in every direction that curves, that is {n.inline(bound)}; "
                f"along the flat direction ({n.inline(f'{lam} = 0')}) the error is not reduced"
                + (", and for a quadratic it is zero from the start." if c.where == "everywhere" else ".")
            )
        )
    else:
        out.append(
            Para(
                f"No step size makes {n.inline(condition)}: an eigenvalue "
                f"{n.inline(f'{lam} < 0' if c.lowest < 0 else f'{lam} = 0')} "
                "means f curves downward or is flat there (a saddle or a maximum), and descent moves away along it."
            )
        )
    rate = n.num(c.rate)
    verdict = "it converges" if c.converges else "it does not converge"
    out.append(
        Para(f"At {n.inline(f'{alpha} = {a}')} the rate is {n.inline(rate_text + ' = ' + rate)} per step: {verdict}.")
    )
    if c.best_lr is not None and c.best_rate is not None:
        low = n.lam_sub("min")
        fastest = f"{alpha} = 2/({low} + {high}) = {n.frac(c.best_lr)}"
        if c.best_rate == 0:
            tail = (
                "; there every factor is 0 and one step lands on the minimum"
                if c.where == "everywhere"
                else ("; there every factor is 0 (Newton's step)")
            )
        else:
            tail = f", with rate {n.inline(f'({high} {n.minus} {low})/({high} + {low}) = {n.num(c.best_rate)}')}"
        out.append(Para(f"The fastest step size is {n.inline(fastest)}{tail}."))
    return out


# -- writers --------------------------------------------------------------------------


def text_lines(ex: Explanation) -> list[str]:
    """Plain Unicode, no markup: what ``--format text`` prints."""
    return [line for _, line in _styled_lines(ex)]


def _styled_lines(ex: Explanation) -> list[tuple[str, str]]:
    """(kind, line) pairs: the text output, with what each line is, so rich can style it."""
    lines: list[tuple[str, str]] = []
    number = 0
    for block in blocks(ex):
        if isinstance(block, Heading):
            if block.text.startswith("At "):
                lines += [("blank", ""), ("subheading", f"  {block.text}:")]
                continue
            number += 1
            title = f"{number}. {block.text}"
            if lines:
                lines.append(("blank", ""))
            lines += [("heading", title), ("rule", "─" * len(title))]
        elif isinstance(block, Para):
            lines += [("para", "  " + line.replace("\u00a0", " ")) for line in _wrap(block.text, 96)]
        elif isinstance(block, Equations):
            lines += [("equation", "    " + line) for line in block.lines]
        elif isinstance(block, Steps):
            lines += [("step", line) for line in format_steps(block)]
        elif isinstance(block, Table):
            table = _table_lines(block)
            lines += [("header" if i == 0 else "table", "    " + line) for i, line in enumerate(table)]
    return lines


def format_steps(block: Steps, indent: int = 6) -> list[str]:
    left = [" " * (indent + 2 * depth) + math for depth, math, _ in block.rows]
    width = min(max(len(line) for line in left), 72)
    out = []
    for line, (_, _, rule) in zip(left, block.rows, strict=True):
        if not rule:
            out.append(line)
        elif len(line) <= width:
            out.append(f"{line.ljust(width)}   {rule}")
        else:
            out.append(f"{line}   {rule}")
    return out


def _table_lines(block: Table) -> list[str]:
    rows = [block.header, *block.rows]
    widths = [max(len(r[j]) for r in rows) for j in range(len(block.header))]
    out = []
    for i, row in enumerate(rows):
        out.append("   ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            out.append("   ".join("─" * w for w in widths))
    return out


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def markdown_lines(ex: Explanation) -> list[str]:
    """Markdown: headings and prose; the mathematics in Unicode, in code blocks (neighbouring ones merged)."""
    problem = ex.problem
    title = f"# Gradient descent on `{signature(problem.names)} = {_unicode(problem.expr, _UnicodePrinter(False))}`"
    lines = [title]
    code: list[str] = []

    def flush() -> None:
        if code:
            lines.extend(["", "```", *code, "```"])
            code.clear()

    for block in blocks(ex):
        if isinstance(block, Equations):
            code.extend(block.lines)
            continue
        if isinstance(block, Steps):
            code.extend(format_steps(block, indent=2))
            continue
        flush()
        if isinstance(block, Heading):
            lines += ["", ("### " if block.text.startswith("At ") else "## ") + block.text]
        elif isinstance(block, Para):
            lines += ["", block.text.replace("\u00a0", " ")]
        elif isinstance(block, Table):
            lines.append("")
            lines.append("| " + " | ".join(block.header) + " |")
            lines.append("|" + "|".join("---:" for _ in block.header) + "|")
            lines += ["| " + " | ".join(row) + " |" for row in block.rows]
    flush()
    return lines


def latex_lines(ex: Explanation) -> list[str]:
    """A LaTeX fragment (needs ``\\usepackage{amsmath}``): sections, display maths and an array."""
    lines = [r"% symdescent explain: the derivation of a gradient-descent run (needs \usepackage{amsmath})"]
    for block in blocks(ex, latex=True):
        lines += latex_block(block)
    return lines


def latex_block(block: Block) -> list[str]:
    """One block as LaTeX lines."""
    if isinstance(block, Heading):
        command = r"\paragraph" if block.text.startswith("At ") else r"\subsection*"
        return ["", f"{command}{{{block.text}}}"]
    if isinstance(block, Para):
        return [r"\noindent " + block.text, ""]
    if isinstance(block, Equations):
        if len(block.lines) == 1:
            return [r"\[", "  " + block.lines[0], r"\]"]
        return [r"\begin{gather*}", " \\\\\n".join("  " + line for line in block.lines), r"\end{gather*}"]
    if isinstance(block, Steps):
        # The rule first, then the step: long steps wrap like text instead of pushing the rule off the line.
        lines = [r"\begin{flushleft}"]
        for depth, math, rule in block.rows:
            label = rf"\mbox{{\small\itshape {rule}:}}\enspace " if rule else ""
            math_text = f"$\\displaystyle {math}$" if not math.startswith("…") else math.replace("…", r"\dots")
            lines.append(rf"\hspace*{{{2 * depth + 1}em}}{label}{math_text}\\[2pt]")
        lines.append(r"\end{flushleft}")
        return lines
    columns = "r" * len(block.header)
    return [
        r"\[",
        rf"\begin{{array}}{{{columns}}}",
        " & ".join(block.header) + r" \\ \hline",
        *(" & ".join(row) + r" \\" for row in block.rows),
        r"\end{array}",
        r"\]",
    ]


def render_explanation(ex: Explanation, fmt: str, out: TextIO, console: Console | None = None) -> None:
    """Write the explanation in ``fmt`` (rich needs a console; without one it falls back to text)."""
    if fmt == "markdown":
        out.write("\n".join(markdown_lines(ex)) + "\n")
    elif fmt == "latex":
        out.write("\n".join(latex_lines(ex)) + "\n")
    elif fmt == "rich" and console is not None:
        _rich(ex, console)
    else:
        out.write("\n".join(text_lines(ex)) + "\n")


def _rich(ex: Explanation, console: Console) -> None:
    """The text layout, styled: headings, the key equations in bold, rule names dimmed."""
    from rich.text import Text

    styles = {
        "heading": "bold cyan",
        "subheading": "bold",
        "rule": "dim",
        "equation": "bold",
        "header": "bold",
    }
    for kind, line in _styled_lines(ex):
        if kind == "step" and "   " in line.strip():
            math, _, rule = line.rpartition("   ")
            text = Text(math + "   ")
            text.append(rule, style="dim italic")
        else:
            text = Text(line, style=styles.get(kind, ""))
        console.print(text, soft_wrap=True)
