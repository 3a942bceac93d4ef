"""Compile SymPy expressions once into plain Python functions for the loop.

Why not ``.subs``/``evalf``: they cost milliseconds per call. Why a custom
printer: ``x*x`` is faster than ``x**2`` in CPython, and common
subexpressions shared by f and its gradient are computed once (``cse``).

``value_and_grad_from(lower([f, *grad], variables))`` returns a
function ``value_and_grad(*x) -> [f, df/dx1, ..., df/dxn]`` over floats (one
flat list, because SymPy's ``cse`` only looks across a flat list), using the
``math`` module, so a domain error raises ``ValueError`` and an overflow
``OverflowError`` rather than returning a silent NaN.

Both this function and the fused loop of :mod:`symdescent.engine` are built
from one :class:`Lowered` (the same printed statements), so they compute
bitwise the same numbers.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Sequence

import sympy as sp
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pycode import PythonCodePrinter

from symdescent import budget
from symdescent.errors import InputError
from symdescent.generated import Lowered, ValueAndGrad, define, function_from, functions_from, value_and_grad_from
from symdescent.special import FLOAT_SOURCE

__all__ = ["Lowered", "ValueAndGrad", "define", "lower", "value_and_grad_from"]


#: Above this many variables SymPy's ``cse`` (superlinear) costs more than it saves.
CSE_MAX_VARIABLES = 60
#: ... and at most this many terms in f and ∇f together (cse is quadratic-ish in the size and uninterruptible
#: by the deadline; a sum of thousands of distinct terms has little to share anyway).
CSE_MAX_TERMS = 2_000

_PRINTER_SETTINGS = {"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False}


class FastMathPrinter(PythonCodePrinter):
    """Python source for the ``math`` module, with small integer powers unrolled."""

    #: What each variable is called in the generated source (``_x0`` …).
    names: dict[sp.Symbol, str] = {}  # noqa: RUF012 - replaced per instance, never mutated

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        name = self.names.get(expr)
        return name if name is not None else str(super()._print_Symbol(expr))

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        exponent = expr.exp
        if exponent.is_Integer and 2 <= int(exponent) <= 4:
            base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
            # bracketed, because the printer places a power where only an atom
            # is safe: 2/x**3 must not become 2/x*x*x
            return "(" + "*".join([base] * int(exponent)) + ")"
        return super()._print_Pow(expr, rational=rational)

    # SymPy differentiates abs(u), for a u not known to be real, with re(),
    # im() and arg(). On a float they are .real, .imag and cmath.phase; a
    # complex value fails later, as it should, in the finiteness check.
    def _print_re(self, expr: sp.Expr) -> str:
        return f"({self._print(expr.args[0])}).real"

    def _print_im(self, expr: sp.Expr) -> str:
        return f"({self._print(expr.args[0])}).imag"

    def _print_arg(self, expr: sp.Expr) -> str:
        return f"cmath.phase({self._print(expr.args[0])})"

    def _print_special(self, expr: sp.Expr) -> str:
        # log10, cbrt, sigmoid…: math functions or careful helpers (symdescent.special)
        return FLOAT_SOURCE[type(expr).__name__].format(self._print(expr.args[0]))

    def _print_DiracDelta(self, expr: sp.Expr) -> str:
        # d/dx sign(x): zero wherever it is defined, undefined (nan) at the kink
        return f"(0.0 if {self._print(expr.args[0])} != 0 else math.nan)"


# SymPy's printer looks a function up by its own class name only (``_print_cbrt``), not its base class.
for _name in FLOAT_SOURCE:
    setattr(FastMathPrinter, f"_print_{_name}", FastMathPrinter._print_special)


def lower(exprs: Sequence[sp.Expr], variables: Sequence[sp.Symbol], *, cse: bool | None = None) -> Lowered:
    """Print ``exprs`` as Python statements, sharing common subexpressions (``cse``)."""
    args = tuple(f"_x{i}" for i in range(len(variables)))
    # the variables print as _x0, _x1 … (never a user's name): renamed by the printer, not by xreplace, which
    # rebuilt every term with new symbols and asked SymPy's assumptions of each again (3 s of 4 at 2,000 terms)
    exprs = [e if isinstance(e, sp.Basic) else sp.Float(e) for e in exprs]
    if cse is None:
        # cse has no time bound we can check from outside: only for the sizes where it pays and is quick
        cse = len(variables) <= CSE_MAX_VARIABLES and sum(len(e.args) for e in exprs) <= CSE_MAX_TERMS
    replacements: list[tuple[sp.Symbol, sp.Expr]] = []
    budget.check("compiling the function")
    if cse:
        symbols = (sp.Symbol(f"_c{i}") for i in itertools.count())
        replacements, exprs = sp.cse(exprs, symbols=symbols)
    replacements, exprs = _name_powered_sums(replacements, list(exprs))
    replacements, exprs = _split_long_sums(replacements, exprs)
    printer = FastMathPrinter(_PRINTER_SETTINGS)
    printer.names = dict(zip(variables, args, strict=True))
    try:
        with _quick_mul_precedence():
            statements = tuple(f"{_source(printer, s)} = {_source(printer, e)}" for s, e in replacements)
            outputs = tuple(_source(printer, e) for e in exprs)
    except PrintMethodNotImplementedError as error:
        what = str(error).split("\n")[0].rsplit(":", 1)[-1].strip() or "a function"
        raise InputError(
            f"the function or its gradient uses {what}(...), which symdescent cannot evaluate numerically",
            hint="rewrite the function without it",
        ) from None
    return Lowered(args, statements, outputs)


def _name_powered_sums(
    replacements: list[tuple[sp.Symbol, sp.Expr]], exprs: list[sp.Expr]
) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """Give ``(1 - x)`` in ``(1 - x)**2`` a name, so that ``b*b`` does not compute ``b`` twice.

    ``cse`` does not name it (it occurs once, as a base); the printer unrolls small powers.
    """
    names = (sp.Symbol(f"_p{i}") for i in itertools.count())
    named: dict[sp.Expr, sp.Symbol] = {}
    out: list[tuple[sp.Symbol, sp.Expr]] = []

    def name_bases(expr: sp.Expr) -> sp.Expr:
        powers = [p for p in expr.atoms(sp.Pow) if p.exp.is_Integer and 2 <= int(p.exp) <= 4 and not p.base.is_Atom]
        mapping = {}
        for power in powers:
            if power.base not in named:
                named[power.base] = next(names)
                out.append((named[power.base], power.base))
            mapping[power] = sp.Pow(named[power.base], power.exp, evaluate=False)
        return expr.xreplace(mapping) if mapping else expr

    for symbol, expr in replacements:
        expr = name_bases(expr)
        out.append((symbol, expr))
    final = [name_bases(expr) for expr in exprs]
    return out, final


#: Terms per generated statement: Python's compiler recurses once per ``+`` of a chained sum.
SUM_CHUNK = 256


def _split_long_sums(
    replacements: list[tuple[sp.Symbol, sp.Expr]], exprs: list[sp.Expr]
) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """Write a sum of thousands of terms as partial sums of :data:`SUM_CHUNK` terms each."""
    names = (sp.Symbol(f"_s{i}") for i in itertools.count())
    out: list[tuple[sp.Symbol, sp.Expr]] = []

    def split(expr: sp.Expr) -> sp.Expr:
        if not (expr.is_Add and len(expr.args) > SUM_CHUNK):
            return expr
        parts = []
        for start in range(0, len(expr.args), SUM_CHUNK):
            budget.tick("compiling the function", 16)
            name = next(names)
            out.append((name, sp.Add._from_args(expr.args[start : start + SUM_CHUNK])))
            parts.append(name)
        return split(sp.Add._from_args(parts))

    for symbol, expr in replacements:
        out.append((symbol, split(expr)))
    final = [split(expr) for expr in exprs]
    return out, final


def _precedence_mul(item: sp.Mul) -> int:
    """SymPy's precedence of a product, without building ``-item`` to compare it with ``item``.

    ``Mul.could_extract_minus_sign`` does (for ``zoo·x``), and each new product asks SymPy's assumptions
    again: half of the printing time of a 2,000-term polynomial. A canonical product's sign is its coefficient's.
    """
    from sympy.printing.precedence import PRECEDENCE

    if any(
        isinstance(a, sp.Function) and getattr(a, "precedence", PRECEDENCE["Mul"]) < PRECEDENCE["Mul"]
        for a in item.args
    ):
        return PRECEDENCE["Mul"]
    c = item.args[0]
    if c.is_Rational:  # p < 0: asking a new Rational is_extended_negative deduces all its facts (0.5 ms)
        negative = c.p < 0
    else:
        negative = c.is_Number and c is not sp.S.ComplexInfinity and bool(c.is_extended_negative)
    return PRECEDENCE["Add"] if negative else PRECEDENCE["Mul"]


@contextlib.contextmanager
def _quick_mul_precedence() -> Iterator[None]:
    """:func:`_precedence_mul` for our printing only: SymPy's table is restored after it."""
    from sympy.printing import precedence

    table = precedence.PRECEDENCE_FUNCTIONS
    before = table["Mul"]
    table["Mul"] = _precedence_mul
    try:
        yield
    finally:
        table["Mul"] = before


def _source(printer: FastMathPrinter, expr: sp.Expr) -> str:
    """``printer.doprint(expr)`` without its set-up, which imports ``sympy.codegen`` (25 ms at start-up)."""
    printer._not_supported = set()
    printer._number_symbols = set()
    budget.tick("compiling the function", 64)
    text = printer._print(expr)
    return text if not printer._not_supported else printer.doprint(expr)


def compile_function(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> Callable[..., float]:
    """A single expression as a float function of the variables."""
    return function_from(lower([expr], variables))


def compile_functions(exprs: Sequence[sp.Expr], variables: Sequence[sp.Symbol]) -> Callable[..., list[float]]:
    """Several expressions as one float function returning their values in a list (shared ``cse``)."""
    return functions_from(lower(list(exprs), variables))
