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

import math
from collections.abc import Callable, Sequence

import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pycode import PythonCodePrinter

ValueAndGrad = Callable[..., list[float]]

_MODULES = [{"math": math}, "math"]


class FastMathPrinter(PythonCodePrinter):
    """Python source for the ``math`` module, with small integer powers unrolled."""

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        exponent = expr.exp
        if exponent.is_Integer and 2 <= int(exponent) <= 4:
            base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
            return "*".join([base] * int(exponent))
        return super()._print_Pow(expr, rational=rational)


def compile_value_and_grad(expr: sp.Expr, gradient: Sequence[sp.Expr], variables: Sequence[sp.Symbol]) -> ValueAndGrad:
    """f and its gradient as one float function that shares common subexpressions."""
    return sp.lambdify(
        list(variables),
        [expr, *gradient],
        modules=_MODULES,
        printer=FastMathPrinter,
        cse=True,
        dummify=True,
        docstring_limit=0,
    )


def compile_function(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> Callable[..., float]:
    """A single expression as a float function of the variables."""
    return sp.lambdify(
        list(variables), expr, modules=_MODULES, printer=FastMathPrinter, cse=True, dummify=True, docstring_limit=0
    )
