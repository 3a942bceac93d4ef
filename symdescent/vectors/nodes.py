"""The vector operations as opaque SymPy functions, and the kind (scalar, vector, matrix) of an expression.

Elementwise arithmetic on arrays of one shape is commutative algebra, so
``+ - * / ^`` and every function stay ordinary SymPy expressions whose
symbols stand for whole vectors; SymPy simplifies them (``x + x = 2x``).
Only what is *not* elementwise gets a node of its own: the matrix product,
the transpose, the reductions and the index sums. The derivative rules for
those nodes live in :mod:`symdescent.vectors.calculus`.

Kinds: 0 scalar, 1 vector, 2 matrix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import sympy as sp

#: Entry symbols inside index sums are named ``x[i+1]``, ``x[i+0]``, ``y[i-1]``.
_ENTRY = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\[i([+-]\d+)\]$")


class VNode(sp.Function):
    """Base of the vector nodes: never evaluated numerically by SymPy."""

    is_real = True


class VMatMul(VNode):
    """``M @ v``: a matrix times a vector (or matrix); ``c*v`` keeps its number outside."""

    nargs = 2

    @classmethod
    def eval(cls, matrix: sp.Expr, operand: sp.Expr) -> sp.Expr | None:
        if operand == 0 or matrix == 0:
            return sp.S.Zero
        coefficient, rest = _content(operand)
        if coefficient != 1:
            return coefficient * cls(matrix, rest)
        return None


class VTranspose(VNode):
    nargs = 1

    @classmethod
    def eval(cls, matrix: sp.Expr) -> sp.Expr | None:
        if isinstance(matrix, VTranspose):
            return matrix.args[0]
        return None


class _Reduction(VNode):
    nargs = 1

    @classmethod
    def eval(cls, operand: sp.Expr) -> sp.Expr | None:
        if operand == 0:
            return sp.S.Zero
        coefficient, rest = _content(operand)
        if coefficient != 1 and cls is not VNorm:
            return coefficient * cls(rest)
        return None


class VSum(_Reduction):
    """Σ of a vector's entries."""


class VMean(_Reduction):
    """The mean of a vector's entries."""


class VNorm(_Reduction):
    """The Euclidean norm ‖v‖."""


class _Extreme(VNode):
    """max(v) or min(v): a positive number comes out, a negative one swaps them (max(-v) = -min(v))."""

    nargs = 1

    @classmethod
    def eval(cls, operand: sp.Expr) -> sp.Expr | None:
        coefficient, rest = _content(operand)
        if coefficient == 1 or not coefficient.is_Number:
            return None
        other = cls if coefficient > 0 else (VMin if cls is VMax else VMax)
        return coefficient * other(rest)


class VMax(_Extreme):
    """The largest entry (its gradient picks the first largest entry)."""


class VMin(_Extreme):
    """The smallest entry (its gradient picks the first smallest entry)."""


class VProd(VNode):
    """∏ of a vector's entries (a coefficient does not come out: it would be raised to the n-th power)."""

    nargs = 1


class VEntry(VNode):
    """``x[k]``: one fixed entry of a vector (1-based), outside an index sum."""

    nargs = 2  # (vector symbol, k)


class VUnit(VNode):
    """The unit vector eₖ as long as the vector ``x`` (the gradient of ``x[k]``)."""

    nargs = 2  # (vector symbol, k)


class VPick(VNode):
    """The one-hot vector at the first largest (``which`` = 1) or smallest (-1) entry: ∇ max(v), ∇ min(v)."""

    nargs = 2  # (vector, which)


class VProdOthers(VNode):
    """Entry j is the product of every other entry (∇ prod(v), also where entries are 0)."""

    nargs = 1


class VSize(VNode):
    """How many entries a vector has (printed ``n``)."""

    nargs = 1


class VDot(VNode):
    """uᵀv."""

    nargs = 2

    @classmethod
    def eval(cls, u: sp.Expr, v: sp.Expr) -> sp.Expr | None:
        if u == 0 or v == 0:
            return sp.S.Zero
        cu, ru = _content(u)
        cv, rv = _content(v)
        if cu != 1 or cv != 1:
            return cu * cv * cls(ru, rv)
        if sp.default_sort_key(ru) > sp.default_sort_key(rv):
            return cls(rv, ru)
        return None


class VIndexSum(VNode):
    """``sum(body, i=lo..hi)``: body is a scalar expression in entry symbols ``x[i+o]``.

    ``lo`` and ``hi`` are 1-based and inclusive; 0 means "every i for which every entry exists".
    """

    nargs = 3


class VBandGrad(VNode):
    """The gradient of ``VIndexSum(body, lo, hi)`` with respect to the vector named ``var``."""

    nargs = 4  # (var symbol, body, lo, hi)


class VPad(VNode):
    """``np.pad(v, (before, after))``: a shifted piece of a banded gradient (code generation only)."""

    nargs = 3


def _content(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """``2*a - 2*b`` -> ``(2, a - b)``; ``-x`` -> ``(-1, x)``: the number a linear node can take outside."""
    coefficient, rest = expr.as_content_primitive() if expr.is_Add else expr.as_coeff_Mul()
    if rest.is_Add:
        first = rest.as_ordered_terms()[0]
        if first.could_extract_minus_sign() and all(t.could_extract_minus_sign() for t in rest.args):
            return -coefficient, -rest
    return coefficient, rest


def entry(name: str, offset: int) -> sp.Symbol:
    """The symbol for ``name[i+offset]`` inside an index sum."""
    return sp.Symbol(f"{name}[i{offset:+d}]", real=True)


def parse_entry(symbol: sp.Basic) -> tuple[str, int] | None:
    """``x[i+1]`` -> ``("x", 1)``; None for an ordinary symbol."""
    match = _ENTRY.match(getattr(symbol, "name", ""))
    return (match.group(1), int(match.group(2))) if match else None


def entries(body: sp.Expr) -> dict[sp.Symbol, tuple[str, int]]:
    """The entry symbols of an index sum's body, with their vector names and offsets."""
    found = {}
    for symbol in body.free_symbols:
        parsed = parse_entry(symbol)
        if parsed:
            found[symbol] = parsed
    return found


def names_in(expr: sp.Expr) -> set[str]:
    """Every vector, matrix and scalar name an expression uses (entries count for their vector)."""
    names = set()
    for symbol in expr.free_symbols:
        parsed = parse_entry(symbol)
        names.add(parsed[0] if parsed else symbol.name)
    return names


def depends_on(expr: sp.Expr, name: str) -> bool:
    return name in names_in(expr)


#: Nodes whose value is a scalar whatever their arguments.
SCALAR_NODES = (VSum, VMean, VNorm, VDot, VIndexSum, VSize, VMax, VMin, VProd, VEntry)


def kind(expr: sp.Expr, kinds: Mapping[str, int]) -> int:
    """0, 1 or 2: the kind of ``expr`` given the kind of every name (entries are scalars)."""
    if isinstance(expr, sp.Symbol):
        return 0 if parse_entry(expr) else kinds.get(expr.name, 0)
    if isinstance(expr, SCALAR_NODES) or not expr.free_symbols:
        return 0
    if isinstance(expr, VMatMul):
        return kind(expr.args[1], kinds)
    if isinstance(expr, VTranspose):
        return kind(expr.args[0], kinds)
    if isinstance(expr, VBandGrad | VPad | VUnit):
        return 1
    if isinstance(expr, VPick | VProdOthers):
        return kind(expr.args[0], kinds)
    return max(kind(arg, kinds) for arg in expr.args)


def leaves(expr: sp.Expr) -> set[sp.Expr]:
    """The symbols and vector nodes an elementwise expression is built from (not looking inside nodes)."""
    if isinstance(expr, sp.Symbol | VNode):
        return {expr}
    found: set[sp.Expr] = set()
    for arg in expr.args:
        found |= leaves(arg)
    return found
