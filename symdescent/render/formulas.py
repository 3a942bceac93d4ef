"""How formulas are written: Unicode for text, rich and Markdown, LaTeX for LaTeX.

A :class:`Notation` turns SymPy expressions into ``∂f/∂x = 2x`` or
``\\frac{\\partial f}{\\partial x} = 2 x``, with decimals where the user
wrote decimals (``0.8ᵗ``) and fractions for derived step sizes (``1/2``).
:func:`step_rows` writes a derivation rule by rule, and :data:`RULE_LAWS`
names each rule. Used by ``explain`` and ``grad --steps``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from symdescent.derivation import FUNCTION_RULE_NAMES, RuleStep
from symdescent.functions import laws
from symdescent.render.mathtext import tidy
from symdescent.render.numbers import plural

#: Beyond this many variables, the update rule is written for the first ones and the iterates show f only.
MAX_SHOWN_VARIABLES = 6
#: Rule-step rows shown per partial derivative before the rest is summarised.
MAX_STEP_ROWS = 30
#: A sum with more terms than this is written with its first and last terms and … between.
MAX_TERMS = 6
DOTS = sp.Symbol("…")
LATEX_DOTS = sp.Symbol(r"\dots")

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


class _NotationMixin:
    """What both printers share: decimals where the user wrote them, floats to 6 digits, d/dx written out.

    Each printer says how it brackets (``_brackets``), multiplies by a decimal (``_times``) and writes d/dx.
    """

    decimal: bool
    d: str
    if TYPE_CHECKING:

        def _print(self, expr: sp.Expr) -> str: ...  # the printer's own, from the class it is mixed into

    def _brackets(self, text: str) -> str:
        return f"({text})"

    def _times(self, coefficient: str, rest: str) -> str:
        return f"{coefficient}*{rest}"

    def _derivative(self, variable: str, text: str) -> str:
        return f"{self.d}/{self.d}{variable} {text}"

    def _print_Mul(self, expr: sp.Mul) -> str:
        split = _decimal_coefficient(expr) if self.decimal else None
        if split is None:
            return super()._print_Mul(expr)  # type: ignore[misc]  # StrPrinter or LatexPrinter, after the mixin
        text, rest = split
        inner = self._print(rest)
        return self._times(text, self._brackets(inner) if rest.is_Add else inner)

    def _print_Rational(self, expr: sp.Rational) -> str:
        if self.decimal:
            text = _decimal(expr)
            if text is not None:
                return text
        return super()._print_Rational(expr)  # type: ignore[misc]  # as above

    def _print_Float(self, expr: sp.Float) -> str:
        return f"{float(expr):.6g}"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        inner, (variable, _) = expr.expr, expr.variable_count[0]
        text = self._print(inner)
        if inner.is_Add or inner.is_Mul or (inner.is_Number and inner < 0):
            text = self._brackets(text)
        return self._derivative(self._print(variable), text)


class _UnicodePrinter(_NotationMixin, StrPrinter):
    def __init__(self, decimal: bool, one_variable: bool = False) -> None:
        super().__init__()
        self.decimal = decimal
        self.d = "d" if one_variable else "∂"

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        # A rule's formula keeps its terms in the order the rule names them.
        return super()._print_Add(expr, "none" if expr.has(sp.Derivative, DOTS) else order)

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


class _LatexPrinter(_NotationMixin, LatexPrinter):
    def __init__(self, decimal: bool, one_variable: bool = False) -> None:
        super().__init__()
        self.decimal = decimal
        self.d = "d" if one_variable else r"\partial"

    def _brackets(self, text: str) -> str:
        return rf"\left({text}\right)"

    def _times(self, coefficient: str, rest: str) -> str:
        return f"{coefficient} {rest}"

    def _derivative(self, variable: str, text: str) -> str:
        return rf"\frac{{{self.d}}}{{{self.d} {variable}}} {text}"

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        return super()._print_Add(expr, "none" if expr.has(sp.Derivative, LATEX_DOTS) else order)


def _unicode(expr: sp.Expr, printer: StrPrinter, limit: int = 400) -> str:
    """Like ``mathtext.inline``: x**2 -> x², 2*x -> 2x, * -> ·, with a custom printer (0.5·x keeps its dot)."""
    return tidy(printer.doprint(expr), limit, coefficient=r"(?<![\w.])(\d+)\*(?=[A-Za-zπ(])")


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
        return _unicode(expr, self._printer)

    @property
    def as_typed(self) -> Notation:
        """The notation for f and its derivatives: fractions stay fractions (x²/2, not 0.5·x²).

        Decimals are for the numbers the user wrote as decimals (α = 0.1, the iterates 0.9ᵗ);
        the function keeps the numbers it was typed with (a typed 0.5 is a float and stays 0.5).
        """
        return self if not self.decimal else Notation(self.latex, False, self.one_variable)

    def inline(self, math: str) -> str:
        """Math inside a sentence (in Unicode with no-break spaces, so that wrapping never splits it)."""
        return f"${math}$" if self.latex else math.replace(" ", "\u00a0")

    def frac(self, value: sp.Expr) -> str:
        """A derived step size as a fraction (1/2, 1/9) even when the user wrote decimals."""
        printer = self._printer
        old, printer.decimal = printer.decimal, False
        try:
            return self.num(value)
        finally:
            printer.decimal = old

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
        from sympy.core.evalf import PrecisionExhausted

        try:  # strict: a sum that cancels past SymPy's working precision has no 15 digits to show
            approx = self.float(float(value.evalf(15, strict=True)))
        except PrecisionExhausted:
            return text  # no ≈ rather than a wrong one (π^ε − 1 with ε = 1e−235 came out as 1e−143)
        return f"{text} \\approx {approx}" if self.latex else f"{text} ≈ {approx}"

    def float(self, value: float) -> str:
        """A float with 6 significant digits (Unicode minus in text)."""
        text = f"{value:.6g}"
        return text if self.latex else text.replace("-", "−")

    def cell(self, value: sp.Expr | None, fallback: builtins.float) -> str:  # builtins: .float is a method here
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


def abbreviate(expr: sp.Expr, dots: sp.Symbol = DOTS) -> sp.Expr:
    """x1² + x2² + x3² + … + x1000²: long sums cut in the middle, for display only."""
    if expr.is_Atom or (not _larger_than(expr, 200) and sp.count_ops(expr, visual=False) < 3 * MAX_TERMS):
        return expr  # count_ops only on small ones: on a 3,000-term sum it cost seconds per call
    if expr.is_Add and len(expr.args) > MAX_TERMS:
        terms = sp.Add.make_args(expr)
        if not expr.has(sp.Derivative) and len(terms) <= 200:
            # SymPy's printing order compares each term's monomial over ALL the variables: n² for a
            # long sum of n variables (3,000 of them: minutes). Beyond 200 terms the stored order.
            terms = tuple(sp.Add(*terms).as_ordered_terms())
        head = [abbreviate(t, dots) for t in terms[:3]]
        return sp.Add(*head, dots, abbreviate(terms[-1], dots), evaluate=False)
    if isinstance(expr, sp.Derivative):
        return sp.Derivative(abbreviate(expr.expr, dots), *expr.variables, evaluate=False)
    if expr.is_Add or expr.is_Mul or expr.is_Pow:
        return expr.func(*[abbreviate(a, dots) for a in expr.args], evaluate=False)
    return expr


def _larger_than(expr: sp.Expr, nodes: int) -> bool:
    """Whether ``expr`` has more than ``nodes`` nodes (it then has far more than 3·MAX_TERMS operations)."""
    return any(count > nodes for count, _ in enumerate(sp.preorder_traversal(expr), 1))


def step_rows(step: RuleStep, n: Notation, limit: int = MAX_STEP_ROWS) -> tuple[tuple[int, str, str], ...]:
    """One row per rule: (depth, "∂/∂x (x² + y²) = ∂/∂x x² + ∂/∂x y² = 2x", "sum rule")."""
    rows = []
    walked = list(step.walk())
    dots = LATEX_DOTS if n.latex else DOTS
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
        rows.append((1, f"… {plural(len(walked) - limit, 'more step')} not shown", ""))
    return tuple(rows)
