"""Vector formulas as text: ``plain`` (our own input syntax, parseable again) and ``pretty`` (2Aᵀ(Ax − b)).

Index-sum gradients are written entry by entry with their boundary cases
(:func:`symdescent.vectors.calculus.band_cases`), because a banded gradient has no compact matrix form.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from symdescent.vectors.calculus import band_cases
from symdescent.vectors.nodes import VDot, VIndexSum, VMatMul, VTranspose


class PlainPrinter(StrPrinter):
    """Our input syntax: ``2*transpose(A) @ (A @ x - b)``, ``sum(x[i+1]^2, i)``.

    ``@`` binds like ``*`` (left to right), so a matrix product is bracketed as a factor, a power's base
    or a right operand: ``q*(P @ w)``, ``(A @ x)^2``, ``A @ (B @ x)``. What f can contain reads back as
    the same expression (tests/test_vector_language.py checks it over a grammar of vector functions).
    """

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return expr.name.replace("[i+0]", "[i]")

    def parenthesize(self, item: sp.Basic, level: int, strict: bool = False) -> str:
        if _is_product(item):
            text = self._print(item)
            return f"({text})" if PRECEDENCE["Mul"] < level or (not strict and PRECEDENCE["Mul"] <= level) else text
        return super().parenthesize(item, level, strict)

    def _print_Mul(self, expr: sp.Mul) -> str:
        """A matrix product among the factors is bracketed: ``-ys*(X @ w)``, never ``-ys*X @ w``."""
        products = [f for f in expr.args if _is_product(f)]
        if not products:
            return super()._print_Mul(expr)
        coefficient, rest = expr.as_coeff_Mul()
        sign = "-" if coefficient < 0 else ""
        others = abs(coefficient) * sp.Mul(*(f for f in sp.Mul.make_args(rest) if not _is_product(f)))
        texts = [] if others == 1 else [self.parenthesize(others, PRECEDENCE["Mul"], strict=True)]
        texts += [f"({self._print(p)})" for p in products]
        return sign + "*".join(texts)

    def _operand(self, expr: sp.Expr, right: bool = True) -> str:
        text = self._print(expr)
        bare = (isinstance(expr, sp.Symbol | sp.Function) and not _is_product(expr)) or (
            expr.is_Atom and not expr.could_extract_minus_sign()
        )
        return text if bare or (not right and isinstance(expr, VMatMul)) else f"({text})"

    def _print_VMatMul(self, expr: sp.Expr) -> str:
        return f"{self._operand(expr.args[0], right=False)} @ {self._operand(expr.args[1])}"

    def _print_VTranspose(self, expr: sp.Expr) -> str:
        return f"transpose({self._print(expr.args[0])})"

    def _print_VSum(self, expr: sp.Expr) -> str:
        return f"sum({self._print(expr.args[0])})"

    def _print_VMean(self, expr: sp.Expr) -> str:
        return f"mean({self._print(expr.args[0])})"

    def _print_VNorm(self, expr: sp.Expr) -> str:
        return f"norm({self._print(expr.args[0])})"

    def _print_VMax(self, expr: sp.Expr) -> str:
        return f"max({self._print(expr.args[0])})"

    def _print_VMin(self, expr: sp.Expr) -> str:
        return f"min({self._print(expr.args[0])})"

    def _print_VProd(self, expr: sp.Expr) -> str:
        return f"prod({self._print(expr.args[0])})"

    def _print_VEntry(self, expr: sp.Expr) -> str:
        return f"{expr.args[0]}[{expr.args[1]}]"

    def _print_VUnit(self, expr: sp.Expr) -> str:
        return f"unit({expr.args[0]}, {expr.args[1]})"

    def _print_VPick(self, expr: sp.Expr) -> str:
        return f"onehot(arg{'max' if expr.args[1] > 0 else 'min'}({self._print(expr.args[0])}))"

    def _print_VProdOthers(self, expr: sp.Expr) -> str:
        return f"prod_others({self._print(expr.args[0])})"

    def _print_Abs(self, expr: sp.Expr) -> str:
        return f"abs({self._print(expr.args[0])})"

    def _print_VDot(self, expr: sp.Expr) -> str:
        u, v = expr.args
        return f"{u} @ {v}" if u == v and isinstance(u, sp.Symbol) else f"dot({self._print(u)}, {self._print(v)})"

    def _print_VSize(self, expr: sp.Expr) -> str:
        return "n"

    def _print_VIndexSum(self, expr: sp.Expr) -> str:
        body, lo, hi = expr.args
        bounds = f"i={lo}..{hi}" if lo else "i"
        return f"sum({self._print(body)}, {bounds})"

    def _print_VBandGrad(self, expr: sp.Expr) -> str:
        """The gradient of an index sum entry by entry: ``[x[j+1] + x[j-1] (general j); x[2] (j = 1); …]``."""
        lo, hi = expr.args[2:]
        cases = band_cases(expr)
        parts = [f"{self._print(cases[0][1])} (general j{f', i = {lo}..{hi}' if lo else ''})"]
        parts += [f"{self._print(formula)} ({label})" for label, formula in cases[1:]]
        return "[" + "; ".join(parts) + "]"

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        return super()._print_Pow(expr, rational).replace("**", "^")

    def _print_Float(self, expr: sp.Float) -> str:
        """A double as its shortest exact decimal (0.1, 1.4142135623730951), so it reads back as itself."""
        return repr(float(expr)) if expr._prec == 53 else super()._print_Float(expr)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        terms = sorted(expr.args, key=lambda t: (t.could_extract_minus_sign(), t.is_Number, sp.default_sort_key(t)))
        text = self._print(terms[0])
        for term in terms[1:]:
            if term.could_extract_minus_sign():
                text += " - " + self.parenthesize(-term, PRECEDENCE["Add"])
            else:
                text += " + " + self.parenthesize(term, PRECEDENCE["Add"])
        return text


def _is_product(expr: sp.Basic) -> bool:
    """A matrix product (or uᵀu, printed ``u @ u``): it binds like ``*``, not like a function call."""
    return isinstance(expr, VMatMul) or (isinstance(expr, VDot) and expr.args[0] == expr.args[1])


class PrettyPrinter(PlainPrinter):
    """Maths notation: ``2Aᵀ(Ax − b)``, ``‖x‖``, ``xᵀy``, ``Σᵢ``."""

    def _operand(self, expr: sp.Expr, right: bool = True) -> str:  # either side: juxtaposition binds alike
        text = self._print(expr)
        simple = isinstance(expr, sp.Symbol | VTranspose | VMatMul) or expr.is_Atom
        return text if simple else f"({text})"

    def _print_VMatMul(self, expr: sp.Expr) -> str:
        if expr.args[1] == sp.Symbol("I", real=True):  # the Hessian's matrix form: M·I is M
            return self._print(expr.args[0])
        return f"{self._operand(expr.args[0])}{self._operand(expr.args[1])}"

    def _print_Rational(self, expr: sp.Rational) -> str:
        return _decimal(expr) or super()._print_Rational(expr)

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if expr.exp in (2, 3):
            return self.parenthesize(expr.base, PRECEDENCE["Pow"]) + ("²" if expr.exp == 2 else "³")
        return super()._print_Pow(expr, rational)

    def _print_VTranspose(self, expr: sp.Expr) -> str:
        return f"{self._operand(expr.args[0])}ᵀ"

    def _print_VSum(self, expr: sp.Expr) -> str:
        return f"Σ({self._print(expr.args[0])})"

    def _print_VNorm(self, expr: sp.Expr) -> str:
        return f"‖{self._print(expr.args[0])}‖"

    def _print_VDot(self, expr: sp.Expr) -> str:
        u, v = expr.args
        left = f"({self._print(u)})" if isinstance(u, VMatMul) else self._operand(u)
        return f"{left}ᵀ{self._operand(v)}"

    def _print_VIndexSum(self, expr: sp.Expr) -> str:
        body, lo, hi = expr.args
        bounds = f"i={lo}..{hi}" if lo else "i"
        return f"Σ_{bounds} ({self._print(body)})"

    def _print_Mul(self, expr: sp.Mul) -> str:
        coefficient, rest = expr.as_coeff_Mul()
        decimal = _decimal(coefficient) if coefficient.is_Rational and not coefficient.is_Integer else None
        if decimal and rest != 1:
            return f"{decimal}·{self._factor(rest)}"
        if coefficient.is_Integer and coefficient not in (1, -1) and rest != 1:
            sign = "-" if coefficient < 0 else ""
            factor = self._factor(rest)
            dot = "·" if _CALL.match(factor) else ""  # 2·mean(…), 2·exp(…); but 2x, 2Aᵀ(Ax − b), 2(x − 1)
            return f"{sign}{abs(coefficient)}{dot}{factor}"
        if coefficient == -1 and _is_product(rest):
            return f"-{self._factor(rest)}"
        return super()._print_Mul(expr)

    def _factor(self, rest: sp.Expr) -> str:
        """After a number, a product needs no bracket (2Aᵀ(Ax − b), −Xᵀ(…)); after anything else it does: q·(Pw)."""
        return self._print(rest) if _is_product(rest) else self.parenthesize(rest, PRECEDENCE["Mul"])

    def _print_VMax(self, expr: sp.Expr) -> str:
        return f"max({self._print(expr.args[0])})"

    def _print_VEntry(self, expr: sp.Expr) -> str:
        return f"{expr.args[0]}[{expr.args[1]}]"

    def _print_VUnit(self, expr: sp.Expr) -> str:
        return f"e{str(expr.args[1]).translate(_SUBSCRIPTS)}"

    def _print_VPick(self, expr: sp.Expr) -> str:
        return f"e_arg{'max' if expr.args[1] > 0 else 'min'} {self._operand(expr.args[0])}"

    def _print_VProdOthers(self, expr: sp.Expr) -> str:
        return f"∏_(k≠j) {self._operand(expr.args[0])}[k]"

    def _print_Abs(self, expr: sp.Expr) -> str:
        return f"|{self._print(expr.args[0])}|"


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

#: A function call: a name of two or more letters, then a bracket.
_CALL = re.compile(r"[A-Za-z]{2,}\(")


def _decimal(value: sp.Expr) -> str | None:
    """4/5 -> "0.8" when the decimal terminates within a few digits; else None."""
    if not value.is_Rational:
        return None
    q = int(value.q)
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    text = f"{float(value):.12g}"
    return text if q == 1 and len(text) <= 12 else None


_PLAIN = PlainPrinter({"order": "none"})
_PRETTY = PrettyPrinter({"order": "none"})


def plain(expr: sp.Expr) -> str:
    """Text in the input language (parseable by :func:`symdescent.vectors.parse.parse_vector` again)."""
    return _PLAIN.doprint(expr)


#: The logistic function, for display: σ(u) = eᵘ/(1 + eᵘ).
SIGMA = sp.Function("σ")


def _sigmoid_pair(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    """In a product, the factors eᵘ and 1/(eᵘ + 1) with their u, if both are there."""
    if not expr.is_Mul:
        return None
    for factor in expr.args:
        if isinstance(factor, sp.exp):
            denominator = sp.Pow(factor + 1, -1)
            if denominator in expr.args:
                return factor, denominator, factor.args[0]
    return None


def _sigmoids(expr: sp.Expr) -> sp.Expr:
    """Write eᵘ/(eᵘ + 1) as σ(u): the logistic-regression gradient reads −Xᵀ(y·σ(−y·Xw))."""

    def rewrite(product: sp.Expr) -> sp.Expr:
        pair = _sigmoid_pair(product)
        assert pair is not None  # replace() calls this only where the query below found the pair
        exp, denominator, u = pair
        rest = [f for f in product.args if f not in (exp, denominator)]
        return sp.Mul(*rest, SIGMA(u))

    return expr.replace(lambda e: _sigmoid_pair(e) is not None, rewrite)


def pretty(expr: sp.Expr) -> str:
    """Text in maths notation, for tables and derivations."""
    text = _PRETTY.doprint(_sigmoids(expr))
    text = text.replace(" - ", " − ").replace("*", "·")
    text = re.sub(r"(?<![\w.])-", "−", text)
    return re.sub(r"\[([jni])-", r"[\1−", text)  # x[j−1], x[n−1]


class LatexVectorPrinter(LatexPrinter):
    """LaTeX of vector formulas: ``2 A^{\\top} \\left(A x - b\\right)``, ``\\lVert x \\rVert``, ``x_{i+1}``."""

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)\[(.+)\]", expr.name)
        if match:
            name, index = match.groups()
            index = index.replace("+0", "")
            return f"{super()._print_Symbol(sp.Symbol(name))}_{{{index}}}"
        return super()._print_Symbol(expr, style)

    def _print_VBandGrad(self, expr: sp.Expr, exp: str | None = None) -> str:
        return _power(f"\\nabla_{{{self._print(expr.args[0])}}} {self._vindexsum(VIndexSum(*expr.args[1:]))}", exp)

    def _print_Function(self, expr: sp.Expr, exp: str | None = None) -> str:
        if expr.func == SIGMA:
            return _power(f"\\sigma\\left({self._print(expr.args[0])}\\right)", exp)
        return super()._print_Function(expr, exp)

    def _operand(self, expr: sp.Expr) -> str:
        text = self._print(expr)
        simple = isinstance(expr, sp.Symbol | VTranspose | VMatMul) or expr.is_Atom
        return text if simple else f"\\left({text}\\right)"

    def _print_VMatMul(self, expr: sp.Expr, exp: str | None = None) -> str:
        return _power(self._vmatmul(expr), exp)

    def _vmatmul(self, expr: sp.Expr) -> str:
        if expr.args[1] == sp.Symbol("I", real=True):
            return self._print(expr.args[0])
        return f"{self._operand(expr.args[0])} {self._operand(expr.args[1])}"

    def _print_VTranspose(self, expr: sp.Expr, exp: str | None = None) -> str:
        return _power(self._vtranspose(expr), exp)

    def _vtranspose(self, expr: sp.Expr) -> str:
        return f"{self._operand(expr.args[0])}^{{\\top}}"

    def _print_VSum(self, expr: sp.Expr, exp: str | None = None) -> str:
        return _power(self._vsum(expr), exp)

    def _vsum(self, expr: sp.Expr) -> str:
        return f"\\sum \\left({self._print(expr.args[0])}\\right)"

    def _print_VMean(self, expr: sp.Expr, exp: str | None = None) -> str:
        return _power(self._vmean(expr), exp)

    def _vmean(self, expr: sp.Expr) -> str:
        return f"\\operatorname{{mean}}\\left({self._print(expr.args[0])}\\right)"

    def _print_VNorm(self, expr: sp.Expr, exp: str | None = None) -> str:
        return self._vnorm(expr) + ("" if exp is None else f"^{{{exp}}}")

    def _vnorm(self, expr: sp.Expr) -> str:
        return f"\\left\\lVert {self._print(expr.args[0])} \\right\\rVert"

    def _print_VDot(self, expr: sp.Expr, exp: str | None = None) -> str:
        return _power(self._vdot(expr), exp)

    def _vdot(self, expr: sp.Expr) -> str:
        u, v = expr.args
        return f"{self._operand(u)}^{{\\top}} {self._operand(v)}"

    def _print_VSize(self, expr: sp.Expr, exp: str | None = None) -> str:
        return _power(self._vsize(expr), exp)

    def _vsize(self, expr: sp.Expr) -> str:
        return "n"

    def _print_VIndexSum(self, expr: sp.Expr, exp: str | None = None) -> str:
        return _power(self._vindexsum(expr), exp)

    def _vindexsum(self, expr: sp.Expr) -> str:
        body, lo, hi = expr.args
        bounds = f"_{{i={lo}}}^{{{hi}}}" if lo else "_{i}"
        return f"\\sum{bounds} \\left({self._print(body)}\\right)"


def _power(text: str, exp: str | None) -> str:
    return text if exp is None else f"\\left({text}\\right)^{{{exp}}}"


_LATEX = LatexVectorPrinter({"order": "none"})


def latex(expr: sp.Expr) -> str:
    """LaTeX of a vector formula (σ for the logistic function, as :func:`pretty` writes it)."""
    return _LATEX.doprint(_sigmoids(expr))
