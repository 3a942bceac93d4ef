"""``banded_terms(problem)``: hand a function of one long vector to the chunked kernel engine.

The kernel engine (``symdescent.kernels``) evaluates
f(x) = constant + Σ_terms Σ_i body(x[i+o] for o in offsets) chunk by chunk,
in place. This module recognises that form in a vector problem: sums and
means of elementwise expressions in x, ``x @ x``, ``norm(x)^2`` and index
sums over every i, scaled and added, plus constants. Anything else (data
vectors, matrix products, explicit index ranges, a function of a reduction such as
``log(1 + x @ x)``) gives None, and the whole-array engine runs it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from symdescent import budget
from symdescent.vectors.nodes import VDot, VIndexSum, VMean, VNode, VNorm, VSum, entries
from symdescent.vectors.problem import VectorProblem

try:  # the kernel engine's own class, when it is installed alongside
    from symdescent.kernels.terms import BandTerm
except ImportError:  # pragma: no cover - the same form, for a checkout without the kernel engine

    @dataclass(frozen=True)
    class BandTerm:  # type: ignore[no-redef]  # the same class, defined here only when the import above failed
        """One term of f(x) = constant + sum over terms of  sum_i body(x[i+o] for o in offsets)."""

        body: sp.Expr
        offsets: Mapping[int, sp.Symbol]


def banded_terms(problem: VectorProblem) -> tuple[list[BandTerm], float] | None:
    """The problem as ``(terms, constant)`` of the banded form, or None when it is not of that form."""
    vectors = [n for n in problem.names if len(problem.shapes[n]) == 1]
    if len(problem.names) != 1 or len(vectors) != 1:
        return None
    name = vectors[0]
    n = problem.shapes[name][0]
    scalars = {sp.Symbol(k, real=True): sp.Float(v) for k, v in problem.data.items() if isinstance(v, float)}
    expr = problem.formula.expr.xreplace(scalars)
    terms: list[BandTerm] = []
    constant = 0.0
    for addend in sp.Add.make_args(
        sp.expand(expr, deep=False, mul=True, power_base=False, power_exp=False, log=False, multinomial=False)
    ):
        budget.tick("preparing the chunked engine", 16)
        if not addend.free_symbols and not addend.has(VNode):
            value = _number(addend)
            if value is None:
                return None
            constant += value
            continue
        # a term is (a number) × (one reduction of the banded form); a function OF a reduction, such as
        # log(1 + x @ x) or exp(sum(x)), couples every entry with every other: not banded
        nodes = _nodes(addend)
        if not nodes:
            return None
        coefficient, rest = addend.as_independent(*nodes, as_Add=False)
        if coefficient.free_symbols or coefficient.has(VNode):
            return None
        term = _term(rest, name, n)
        if term is None:
            return None
        body, offsets = term
        terms.append(BandTerm(body=coefficient * body, offsets=offsets))
    return terms, constant


def _number(expr: sp.Expr) -> float | None:
    """A constant addend as a float; None for one that is not a finite real number (zoo, nan, I)."""
    try:
        value = float(expr)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _nodes(expr: sp.Expr) -> list[sp.Expr]:
    return [a for a in sp.Mul.make_args(expr) if isinstance(a, VNode) or (a.is_Pow and isinstance(a.base, VNode))]


def _term(node: sp.Expr, name: str, n: int) -> tuple[sp.Expr, dict[int, sp.Symbol]] | None:
    x = sp.Symbol(name, real=True)
    own = sp.Symbol(f"{name}_0", real=True)
    if node.is_Pow and isinstance(node.base, VNorm) and node.exp == 2:
        node = VSum(node.base.args[0] ** 2)
    if isinstance(node, VDot) and node.args[0] == node.args[1]:
        node = VSum(node.args[0] ** 2)
    if isinstance(node, VSum | VMean):
        body = node.args[0]
        if body.free_symbols - {x} or any(isinstance(a, VNode) for a in sp.preorder_traversal(body)):
            return None
        scale = sp.Rational(1, n) if isinstance(node, VMean) else 1
        return scale * body.xreplace({x: own}), {0: own}
    if isinstance(node, VIndexSum):
        body, lo, _ = node.args
        found = entries(body)
        if lo != 0 or {v[0] for v in found.values()} != {name}:
            return None
        if body.free_symbols - set(found):
            return None
        low = min(offset for _, offset in found.values())
        symbols = {offset - low: sp.Symbol(f"{name}_{offset - low}", real=True) for _, offset in found.values()}
        mapping = {s: symbols[offset - low] for s, (_, offset) in found.items()}
        return body.xreplace(mapping), symbols
    return None
