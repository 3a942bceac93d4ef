"""Banded terms: the one form the kernel engine evaluates, and their derivatives.

f(x) = constant + Σ_terms Σ_i body(x[i+o] for o in offsets), i = 0 … n−1−max(offsets).

Each body is a tiny SymPy expression in a few offset symbols; differentiating
it by those symbols is all the symbolic work, and it does not depend on n:

    ∂f/∂x_j = Σ_terms Σ_{o in offsets} ∂body/∂(x[i+o]) at i = j − o,

where only the i inside the term's range contribute (that is the boundary:
x_0 of the chained Rosenbrock gets no ∂/∂x[i+1] part, x_{n−1} no ∂/∂x[i]).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from symdescent import budget


@dataclass(frozen=True)
class BandTerm:
    """One term of f(x) = constant + sum over terms of  sum_i body(x[i+o] for o in offsets)."""

    body: sp.Expr
    #: offset o >= 0  ->  the scalar symbol that stands for x[i+o]
    offsets: Mapping[int, sp.Symbol]


@dataclass(frozen=True)
class DifferentiatedTerm:
    """A term made ready for code generation: sorted offsets, numeric body and its partials."""

    offsets: tuple[int, ...]
    symbols: tuple[sp.Symbol, ...]
    body: sp.Expr
    partials: tuple[sp.Expr, ...]  # ∂body/∂symbols[k], in the order of ``offsets``

    @property
    def reach(self) -> int:
        """max(offsets): the term sums over i = 0 … n−1−reach."""
        return self.offsets[-1]


def differentiate(
    terms: Sequence[BandTerm], params: Mapping[sp.Symbol, float] | None = None
) -> tuple[DifferentiatedTerm, ...]:
    """Check each term, substitute ``params`` and differentiate by the offset symbols.

    Raises ValueError for a term that is not of the banded form: a negative or
    repeated offset, no offsets, or a free symbol that is neither an offset
    symbol nor a given parameter.
    """
    params = dict(params or {})
    out = []
    for index, term in enumerate(terms):
        budget.check("differentiating the function")
        if not term.offsets:
            raise ValueError(f"term {index} has no offsets")
        offsets = tuple(sorted(term.offsets))
        if any(not isinstance(o, int) or isinstance(o, bool) or o < 0 for o in offsets):
            raise ValueError(f"term {index}: offsets must be integers >= 0, got {offsets}")
        symbols = tuple(term.offsets[o] for o in offsets)
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"term {index}: two offsets share one symbol")
        body = _expression(term.body, index)
        body = body.subs(params) if params else body
        stray = body.free_symbols - set(symbols)
        if stray:
            names = ", ".join(sorted(str(s) for s in stray))
            raise ValueError(f"term {index}: {names} is neither an offset symbol nor a given parameter")
        # factor_terms undoes diff's distribution of numbers over sums (200*(b - a**2), not
        # -200*a**2 + 200*b), so cse can share the body's subexpressions with the partials
        partials = tuple(sp.factor_terms(sp.diff(body, s)) for s in symbols)
        out.append(DifferentiatedTerm(offsets, symbols, body, partials))
    return tuple(out)


def _expression(body: object, index: int) -> sp.Expr:
    """A term's body as a SymPy expression; text is refused, never parsed (no sympify: it would eval)."""
    if isinstance(body, sp.Expr):
        return body
    if isinstance(body, int | float) and not isinstance(body, bool):
        return sp.Float(body) if isinstance(body, float) else sp.Integer(body)
    raise ValueError(f"term {index}: the body must be a SymPy expression, not {type(body).__name__}")


def halo(terms: Sequence[DifferentiatedTerm]) -> int:
    """How far a gradient entry looks to either side: the largest offset of any term."""
    return max((t.reach for t in terms), default=0)
