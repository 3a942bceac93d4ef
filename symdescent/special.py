"""Functions SymPy has no class for, as SymPy functions with their own derivative rules.

``log10``, ``log2``, ``cbrt`` (the real cube root), ``sigmoid`` and
``softplus`` stay named in f, its gradient and ``explain`` (SymPy would
write ``log(x)/log(10)`` or ``1/(1 + exp(-x))``). Each says:

* its derivative (``fdiff``), written with these same functions;
* :meth:`standard`, the same function in SymPy's own terms, used to evaluate
  it exactly, at D digits, with symengine or for a constant argument;
* how generated float code evaluates it (its registry entry's ``scalar``, gathered
  in :data:`FLOAT_SOURCE`, with the numerically careful helpers in :data:`FLOAT_HELPERS`);
  on arrays, its entry's ``array`` (:mod:`symdescent.ufuncs`).
"""

from __future__ import annotations

import sympy as sp

from symdescent import generated
from symdescent.functions import FUNCTIONS


class Special(sp.Function):
    """A one-argument function with a SymPy rewrite (:meth:`standard_of`)."""

    nargs = 1

    @staticmethod
    def standard_of(u: sp.Expr) -> sp.Expr:
        raise NotImplementedError

    def standard(self) -> sp.Expr:
        return self.standard_of(self.args[0])

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        # a constant argument: the value in SymPy's terms (log10(0) is zoo, which the parser refuses)
        return cls.standard_of(arg) if arg.is_Number else None

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return self.standard()._eval_evalf(prec)

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_real


class log10(Special):
    @staticmethod
    def standard_of(u: sp.Expr) -> sp.Expr:
        return sp.log(u) / sp.log(10)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (self.args[0] * sp.log(10))

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_positive


class log2(Special):
    @staticmethod
    def standard_of(u: sp.Expr) -> sp.Expr:
        return sp.log(u) / sp.log(2)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (self.args[0] * sp.log(2))

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_positive


class cbrt(Special):
    """The real cube root: cbrt(−8) = −2 (SymPy's cbrt is the principal, complex, root)."""

    @staticmethod
    def standard_of(u: sp.Expr) -> sp.Expr:
        return sp.sign(u) * sp.Abs(u) ** sp.Rational(1, 3)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (3 * cbrt(self.args[0]) ** 2)


class sigmoid(Special):
    """The logistic function σ(x) = 1/(1 + e^(−x))."""

    @staticmethod
    def standard_of(u: sp.Expr) -> sp.Expr:
        return 1 / (1 + sp.exp(-u))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))


class softplus(Special):
    """softplus(x) = ln(1 + eˣ), a smooth max(0, x)."""

    @staticmethod
    def standard_of(u: sp.Expr) -> sp.Expr:
        return sp.log(1 + sp.exp(u))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])


def standard(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every special function written in SymPy's own terms (for exact, mpmath and symengine)."""
    if not expr.has(Special):
        return expr
    return expr.replace(lambda node: isinstance(node, Special), lambda node: node.standard())


#: Float source for each special function (``{0}`` is the argument's source), from the registry.
FLOAT_SOURCE: dict[str, str] = {name: spec.scalar for name, spec in FUNCTIONS.items() if spec.scalar}

#: Names the generated float code may call besides ``math`` (kept with the code that runs it, without SymPy).
FLOAT_HELPERS = generated.FLOAT_HELPERS
