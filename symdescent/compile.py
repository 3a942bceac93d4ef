"""Compile SymPy expressions once into plain Python functions for the loop.

Why not ``.subs``/``evalf``: they cost milliseconds per call. Why a custom
printer: ``x*x`` is faster than ``x**2`` in CPython, and common
subexpressions shared by f and its gradient are computed once (``cse``).

``value_and_grad = compile_value_and_grad(f, grad, variables)`` returns a
function ``value_and_grad(*x) -> [f, df/dx1, ..., df/dxn]`` over floats (one
flat list, because SymPy's ``cse`` only looks across a flat list), using the
``math`` module, so a domain error raises ``ValueError`` and an overflow
``OverflowError`` rather than returning a silent NaN.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pycode import PythonCodePrinter

from symdescent.errors import InputError

ValueAndGrad = Callable[..., list[float]]

_MODULES = [{"math": math, "cmath": cmath}, "math"]


class FastMathPrinter(PythonCodePrinter):
    """Python source for the ``math`` module, with small integer powers unrolled."""

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

    def _print_DiracDelta(self, expr: sp.Expr) -> str:
        # d/dx sign(x): zero wherever it is defined, undefined (nan) at the kink
        return f"(0.0 if {self._print(expr.args[0])} != 0 else math.nan)"


def compile_value_and_grad(expr: sp.Expr, gradient: Sequence[sp.Expr], variables: Sequence[sp.Symbol]) -> ValueAndGrad:
    """f and its gradient as one float function that shares common subexpressions."""
    return _lambdify(variables, [expr, *gradient])


def compile_function(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> Callable[..., float]:
    """A single expression as a float function of the variables."""
    return _lambdify(variables, expr)


def _lambdify(variables: Sequence[sp.Symbol], exprs: sp.Expr | list[sp.Expr]) -> Callable[..., Any]:
    try:
        return sp.lambdify(
            list(variables),
            exprs,
            modules=_MODULES,
            printer=FastMathPrinter,
            cse=True,
            dummify=True,
            docstring_limit=0,
        )
    except PrintMethodNotImplementedError as error:
        what = str(error).split("\n")[0].rsplit(":", 1)[-1].strip() or "a function"
        raise InputError(
            f"the function or its gradient uses {what}(...), which symdescent cannot evaluate numerically",
            hint="rewrite the function without it",
        ) from None
