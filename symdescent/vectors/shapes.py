"""Shapes, checked before the first step, with messages that name both sides of a mismatch.

``shape_of(expr, shapes)`` returns ``()``, ``(n,)`` or ``(m, n)`` and raises
:class:`~symdescent.errors.InputError` where numpy would fail or, worse,
would broadcast silently into something the user did not mean (a matrix
times a vector elementwise).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import sympy as sp

from symdescent.errors import InputError
from symdescent.vectors import nodes as vn
from symdescent.vectors.nodes import entries, parse_entry

Shape = tuple[int, ...]
Shapes = Mapping[str, Shape]


def describe(name: str, shape: Shape) -> str:
    """``A is 100×3``, ``x has 4 entries``, ``a is a scalar``."""
    if len(shape) == 2:
        return f"{name} is {shape[0]}×{shape[1]}"
    if len(shape) == 1:
        return f"{name} has {shape[0]} entr{'y' if shape[0] == 1 else 'ies'}"
    return f"{name} is a scalar"


def _label(expr: sp.Expr) -> str:
    from symdescent.vectors.printing import plain

    return plain(expr)


def index_range(expr: sp.Expr, shapes: Shapes) -> tuple[int, int]:
    """The 1-based, inclusive range of i of an index sum (or of its gradient), checked against the lengths."""
    body, lo, hi = expr.args[-3:]
    found = entries(body)
    for name, _ in found.values():
        if name not in shapes:
            raise InputError(f"{name} in {name}[i] has no value: give it a start value or a value in the data")
        if len(shapes[name]) != 1:
            raise InputError(f"{name}[i] needs a vector, but {describe(name, shapes[name])}")
    if lo == 0:
        first = max(1 - offset for _, offset in found.values())
        last = min(shapes[name][0] - offset for name, offset in found.values())
        if last < first:
            raise InputError(
                f"the index sum {_label(vn.VIndexSum(body, lo, hi))} has no terms: the vectors are too short"
            )
        return first, last
    first, last = int(lo), int(hi)
    for name, offset in found.values():
        for i in (first, last):
            if not 1 <= i + offset <= shapes[name][0]:
                where = "i" if offset == 0 else f"i{offset:+d}"
                raise InputError(
                    f"{name}[{where}] at i = {i} is outside {name}, which has {shapes[name][0]} entries",
                    hint=f"give a range inside 1..{shapes[name][0]}, or write sum(..., i) for every i that fits",
                )
    return first, last


def shape_of(expr: sp.Expr, shapes: Shapes) -> Shape:
    """The shape of ``expr``; raise a user-facing error where the shapes do not fit."""
    if isinstance(expr, sp.Symbol):
        if parse_entry(expr):
            return ()
        if expr.name not in shapes:
            raise InputError(f"{expr.name} has no value: give it a start value or a value in the data")
        return shapes[expr.name]
    if not expr.free_symbols:
        return ()
    if isinstance(expr, vn.VSum | vn.VMean | vn.VNorm):
        shape_of(expr.args[0], shapes)
        return ()
    if isinstance(expr, vn.VSize):
        return ()
    if isinstance(expr, vn.VMax | vn.VMin | vn.VProd | vn.VPick | vn.VProdOthers):
        return _of_vector(expr, shapes)
    if isinstance(expr, vn.VEntry | vn.VUnit):
        return _entry(expr, shapes)
    if isinstance(expr, vn.VDot):
        u, v = (shape_of(a, shapes) for a in expr.args)
        if len(u) != 1 or len(v) != 1 or u != v:
            raise InputError(
                f"dot needs two vectors of one length, but {describe(_label(expr.args[0]), u)} "
                f"and {describe(_label(expr.args[1]), v)}"
            )
        return ()
    if isinstance(expr, vn.VMatMul):
        return _matmul(expr, shapes)
    if isinstance(expr, vn.VTranspose):
        inner = shape_of(expr.args[0], shapes)
        return inner[::-1]
    if isinstance(expr, vn.VIndexSum):
        _check_body(expr.args[0], shapes)
        index_range(expr, shapes)
        return ()
    if isinstance(expr, vn.VBandGrad):
        return shapes[expr.args[0].name]
    if isinstance(expr, vn.VPad):
        return (int(expr.args[1]) + shape_of(expr.args[0], shapes)[0] + int(expr.args[2]),)
    if isinstance(expr, vn.VNode):
        raise InputError(f"unexpected {type(expr).__name__}")
    return _elementwise(expr, shapes)


_REDUCTIONS = {vn.VMax: "max", vn.VMin: "min", vn.VProd: "prod", vn.VPick: "max", vn.VProdOthers: "prod"}


def _of_vector(expr: sp.Expr, shapes: Shapes) -> Shape:
    """max(v), min(v), prod(v) need a vector; their gradients' nodes are as long as v."""
    inner = shape_of(expr.args[0], shapes)
    if len(inner) != 1:
        name = _REDUCTIONS[type(expr)]
        raise InputError(f"{name}() needs a vector, but {describe(_label(expr.args[0]), inner)}")
    return inner if isinstance(expr, vn.VPick | vn.VProdOthers) else ()


def _entry(expr: sp.Expr, shapes: Shapes) -> Shape:
    """x[k] needs a vector x with at least k entries; eₖ is as long as x."""
    vector, k = expr.args
    shape = shape_of(vector, shapes)
    if len(shape) != 1:
        raise InputError(f"{vector}[{k}] needs a vector, but {describe(str(vector), shape)}")
    if int(k) > shape[0]:
        raise InputError(f"{vector}[{k}] is outside {vector}, which has {shape[0]} entries")
    return () if isinstance(expr, vn.VEntry) else shape


def _matmul(expr: sp.Expr, shapes: Shapes) -> Shape:
    left, right = expr.args
    a, b = shape_of(left, shapes), shape_of(right, shapes)
    if len(a) == 2 and not b:
        return (a[0],)  # Aᵀ @ c in a gradient: c stands for c times a vector of ones
    if len(a) != 2:
        raise InputError(f"'@' needs a matrix on its left here, but {describe(_label(left), a)}")
    if a[1] != b[0] and isinstance(left, vn.VTranspose) and len(b) == 1:
        # x @ A (or transpose(A) @ x): name A as the user wrote it, with its own shape
        matrix, vector = _label(left.args[0]), _label(right)
        raise InputError(
            f"{describe(vector, b)} but {describe(matrix, a[::-1])}",
            hint=f"{vector} @ {matrix} and transpose({matrix}) @ {vector} need as many entries in {vector} "
            f"as {matrix} has rows",
        )
    if a[1] != b[0]:
        return _mismatch(_label(left), a, _label(right), b)
    return (a[0],) if len(b) == 1 else (a[0], b[1])


def _mismatch(left: str, a: Shape, right: str, b: Shape) -> Shape:
    raise InputError(
        f"{describe(left, a)} but {describe(right, b)}",
        hint=f"{left} @ {right} needs as many columns in {left} as {right} has {'entries' if len(b) == 1 else 'rows'}",
    )


def _elementwise(expr: sp.Expr, shapes: Shapes) -> Shape:
    shaped = [(_operand(arg), shape_of(arg, shapes)) for arg in expr.args]
    vectors = [(a, s) for a, s in shaped if len(s) == 1]
    matrices = [(a, s) for a, s in shaped if len(s) == 2]
    if matrices and vectors:
        (m, ms), (v, vs) = matrices[0], vectors[0]
        hint = f"{_label(m)} @ {_label(v)} is the matrix product" if expr.is_Mul else None
        raise InputError(
            f"{describe(_label(m), ms)} and {describe(_label(v), vs)}: elementwise "
            f"{'*' if expr.is_Mul else 'arithmetic'} of a matrix and a vector is ambiguous",
            hint=hint,
        )
    for group in (vectors, matrices):
        for (a, s), (b, t) in itertools.pairwise(group):
            if s != t:
                raise InputError(
                    f"{describe(_label(a), s)} but {describe(_label(b), t)}",
                    hint="elementwise operations need vectors of the same length",
                )
    if matrices:
        return matrices[0][1]
    return vectors[0][1] if vectors else ()


def _operand(arg: sp.Expr) -> sp.Expr:
    """What the user wrote: ``b`` for the ``-b`` of ``x - b``, ``b`` for ``2*b``."""
    coefficient, rest = arg.as_coeff_Mul()
    return rest if coefficient.is_Number and coefficient != 1 else arg


def _check_body(body: sp.Expr, shapes: Shapes) -> None:
    for symbol in body.free_symbols:
        if parse_entry(symbol):
            continue
        shape = shapes.get(symbol.name)
        if shape:
            raise InputError(f"inside sum(..., i), {symbol} is a whole vector: write {symbol}[i] for its entries")
