"""Vector formulas -> one whole-array numpy function, generated once (shared subexpressions, no loop over entries).

Index sums become slices: with i = 1 … 999 over x of 1000 entries, ``x[i+1]``
is ``x[1:1000]`` and ``x[i]`` is ``x[0:999]``; their gradient adds each
offset's part, padded into place (``np.pad``). The generated source is
printed from SymPy trees by our printer, never from user text.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from symdescent import budget, interruptible
from symdescent.compile import define
from symdescent.errors import InputError
from symdescent.functions import array_functions, array_namespace
from symdescent.vectors.calculus import band_parts
from symdescent.vectors.nodes import VBandGrad, VIndexSum, VMatMul, VMean, VPad, VSize, VSum, entries
from symdescent.vectors.shapes import Shapes, index_range, shape_of


class ArrayPrinter(NumPyPrinter):
    """numpy source for the vector nodes, and for every registry function from its one table.

    Each function of :data:`symdescent.functions.FUNCTIONS` prints as the array function the registry names
    (``numpy.arcsin(u)``, ``_af_sigmoid(u)``): SymPy's own numpy names are never consulted, so a function
    the registry lists is never "unsupported" and ``erf`` never becomes the scalar ``math.erf``.
    """

    def _print(self, expr: object, **kwargs: object) -> str:
        entry = array_functions().get(type(expr))
        if entry is not None and isinstance(expr, sp.Basic):
            return f"{entry[0]}({', '.join(self._print(a) for a in expr.args)})"
        return super()._print(expr, **kwargs)

    def _print_VMatMul(self, expr: sp.Expr) -> str:
        return f"(({self._print(expr.args[0])}) @ ({self._print(expr.args[1])}))"

    #: the arguments that are data matrices: their transposes go through ``_transposed`` (see :class:`Transposed`)
    matrices: frozenset[str] = frozenset()

    def _print_VTranspose(self, expr: sp.Expr) -> str:
        inner = expr.args[0]
        if isinstance(inner, sp.Symbol) and inner.name in self.matrices:
            return f"_transposed({inner.name})"
        return f"({self._print(inner)}).T"

    def _print_VSum(self, expr: sp.Expr) -> str:
        return f"numpy.sum({self._print(expr.args[0])})"

    def _print_VMean(self, expr: sp.Expr) -> str:
        return f"numpy.mean({self._print(expr.args[0])})"

    def _print_VNorm(self, expr: sp.Expr) -> str:
        return f"numpy.linalg.norm({self._print(expr.args[0])})"

    def _print_VDot(self, expr: sp.Expr) -> str:
        return f"numpy.dot({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_VMax(self, expr: sp.Expr) -> str:
        return f"numpy.max({self._print(expr.args[0])})"

    def _print_VMin(self, expr: sp.Expr) -> str:
        return f"numpy.min({self._print(expr.args[0])})"

    def _print_VProd(self, expr: sp.Expr) -> str:
        return f"numpy.prod({self._print(expr.args[0])})"

    def _print_VEntry(self, expr: sp.Expr) -> str:
        return f"({self._print(expr.args[0])})[{int(expr.args[1]) - 1}]"

    def _print_VUnit(self, expr: sp.Expr) -> str:
        return f"numpy.eye(1, numpy.size({self._print(expr.args[0])}), {int(expr.args[1]) - 1})[0]"

    def _print_VPick(self, expr: sp.Expr) -> str:
        v = self._print(expr.args[0])
        arg = "argmax" if expr.args[1] > 0 else "argmin"
        return f"numpy.eye(1, numpy.size({v}), numpy.{arg}({v}))[0]"

    def _print_VProdOthers(self, expr: sp.Expr) -> str:
        # entry j: the product of the entries before j times the product of those after it (exact at zeros)
        return (
            "(lambda _v: numpy.concatenate(([1.0], numpy.cumprod(_v[:-1])))"
            " * numpy.concatenate((numpy.cumprod(_v[::-1][:-1])[::-1], [1.0])))"
            f"(numpy.asarray({self._print(expr.args[0])}, dtype=float))"
        )

    def _print_VPad(self, expr: sp.Expr) -> str:
        body, before, after = expr.args
        return f"numpy.pad({self._print(body)}, ({int(before)}, {int(after)}))"


#: A data matrix up to this size gets a C-ordered copy of its transpose (the copy's memory is the matrix's again).
TRANSPOSE_BYTES = 1 << 26


class Transposed:
    """``A.T`` of a data matrix, as a C-ordered copy of it from the second evaluation with the same A on.

    Why: numpy's ``A.T @ v`` on a C-ordered A (BLAS's transposed matrix-vector product) ran 1.5–6× slower
    on two threads than the same product on a C-ordered copy of Aᵀ (10000×50, 2000×500), and a gd
    step on data does one per step. The copy is made once per matrix, when the same array comes a second
    time, so mini-batches (a new array each time) are never copied; at most :data:`TRANSPOSE_BYTES`.
    The data must not change during a run (they never do: the run only reads them).
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[weakref.ref[np.ndarray], np.ndarray | None]] = {}

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        if not (isinstance(matrix, np.ndarray) and matrix.ndim == 2 and matrix.flags.c_contiguous):
            return np.asarray(matrix).T
        if matrix.nbytes > TRANSPOSE_BYTES:
            return matrix.T
        kept = self._kept.get(id(matrix))
        if kept is None or kept[0]() is not matrix:
            if len(self._kept) >= 8:
                self._kept.clear()
            self._kept[id(matrix)] = (weakref.ref(matrix), None)
            return matrix.T
        copy = kept[1]
        if copy is None:
            copy = np.ascontiguousarray(matrix.T)
            self._kept[id(matrix)] = (kept[0], copy)
        return copy


class Lowering:
    """Turns index sums and their gradients into slices and pads, for the given shapes."""

    def __init__(self, shapes: Shapes) -> None:
        self.shapes = shapes
        self.slices: dict[str, str] = {}  # slice symbol name -> source, e.g. "x[1:1000]"
        self._keys: dict[tuple[str, int, int, int], str] = {}  # (name, offset, first, last) -> "_s3"

    def __call__(self, expr: sp.Expr) -> sp.Expr:
        if not isinstance(expr, sp.Basic) or not expr.args:
            return expr
        if isinstance(expr, VIndexSum):
            return VSum(self._sliced(expr.args[0], index_range(expr, self.shapes)))
        if isinstance(expr, VBandGrad):
            return self._band(expr)
        if isinstance(expr, VSize):
            shape = shape_of(expr.args[0], self.shapes)
            return sp.Integer(int(np.prod(shape)) if shape else 1)
        if isinstance(expr, VMatMul):
            return self._matmul(expr)
        if isinstance(expr, VMean):
            inner = self(expr.args[0])
            shape = shape_of(expr.args[0], self.shapes)
            return VSum(inner) / sp.Integer(int(np.prod(shape)) if shape else 1)
        return expr.func(*(self(a) for a in expr.args))

    def _matmul(self, expr: sp.Expr) -> sp.Expr:
        """``Aᵀ @ c`` with a scalar c (the gradient of sum(A @ x)) is ``Aᵀ @ (c·1)``: numpy needs the ones."""
        matrix, operand = (self(a) for a in expr.args)
        if not shape_of(expr.args[1], self.shapes):
            columns = shape_of(expr.args[0], self.shapes)[1]
            operand = operand * sp.Symbol(self._ones(columns), real=True)
        return VMatMul(matrix, operand)

    def _sliced(self, body: sp.Expr, bounds: tuple[int, int]) -> sp.Expr:
        first, last = bounds
        mapping = {}
        for symbol, (name, offset) in entries(body).items():
            # the program's own name (_s0, _s1 …): a user's name never reaches the generated source
            key = self._keys.setdefault((name, offset, first, last), f"_s{len(self._keys)}")
            self.slices[key] = f"{name}[{first + offset - 1}:{last + offset}]"
            mapping[symbol] = sp.Symbol(key, real=True)
        return body.xreplace(mapping)

    def _band(self, grad: sp.Expr) -> sp.Expr:
        var = grad.args[0].name
        first, last = index_range(grad, self.shapes)
        n = self.shapes[var][0]
        total = sp.S.Zero
        for offset, part in band_parts(grad).items():
            start = first + offset - 1  # 0-based position of i = first
            piece = self._sliced(part, (first, last))
            if not piece.free_symbols:
                piece = piece * sp.Symbol(self._ones(last - first + 1), real=True)
            total += VPad(piece, sp.Integer(start), sp.Integer(n - (start + last - first + 1)))
        return total

    def _ones(self, length: int) -> str:
        key = f"_ones_{length}"
        self.slices[key] = f"numpy.ones({length})"
        return key


def compile_arrays(
    exprs: Sequence[sp.Expr],
    names: Sequence[str],
    shapes: Shapes,
    out_shapes: Sequence[tuple[int, ...]],
) -> Callable[..., list[np.ndarray | float]]:
    """``fn(*arrays) -> [value of each expr]`` over numpy arrays named ``names`` (variables and data).

    An output whose formula is a scalar but whose wanted shape is a vector
    (∇ of sum(x) is 1 in every entry) is broadcast to that shape.
    """
    budget.check("generating the array code")
    lowering = Lowering(shapes)
    lowered = [lowering(e) for e in exprs]
    args = [f"_a{k}" for k in range(len(names))]
    renamed = {sp.Symbol(n, real=True): sp.Symbol(a, real=True) for n, a in zip(names, args, strict=True)}
    slice_names = {}
    for key, source in lowering.slices.items():
        base, _, rest = source.partition("[")
        arg = args[list(names).index(base)] if base in names else base
        slice_names[key] = f"{arg}[{rest}" if rest else source
    lowered = [sp.factor_terms(e.xreplace(renamed)) for e in lowered]  # 200*(b - a²), so that cse sees b - a²
    budget.check("generating the array code")
    symbols = (sp.Symbol(f"_c{i}") for i in itertools.count())
    replacements, finals = sp.cse(lowered, symbols=symbols, order="none")
    printer = ArrayPrinter({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})
    printer.matrices = frozenset(a for a, n in zip(args, names, strict=True) if len(shapes.get(n, ())) == 2)
    lines = [f"{key} = {source}" for key, source in slice_names.items()]
    try:
        for s, e in replacements:
            budget.tick("generating the array code", 64)
            lines.append(f"{printer.doprint(s)} = {printer.doprint(e)}")
        outputs = []
        for k, final in enumerate(finals):
            pieces = sp.Add.make_args(final)
            if out_shapes[k] and all(isinstance(p, VPad) for p in pieces):
                # a banded gradient: add each shifted piece into one array, without padded copies
                size = out_shapes[k][0]
                lines.append(f"_o{k} = numpy.zeros({size})")
                for piece in pieces:
                    body, before, after = piece.args
                    lines.append(f"_o{k}[{int(before)}:{size - int(after)}] += {printer.doprint(body)}")
                outputs.append(f"_o{k}")
            else:
                outputs.append(printer.doprint(final))
    except budget.BudgetError:
        raise
    except Exception as error:  # a function numpy cannot print
        raise InputError(f"the function or its gradient cannot be evaluated with numpy: {error}") from None
    for k, (expr, shape) in enumerate(zip(exprs, out_shapes, strict=True)):
        if shape and not _shape_safe(expr, shapes):
            outputs[k] = f"numpy.broadcast_to({outputs[k]}, {tuple(shape)!r}).astype(float)"
    source = f"def _vector_function({', '.join(args)}):\n"
    source += "".join(f"    {line}\n" for line in lines)
    source += f"    return [{', '.join(outputs)}]\n"
    # in a worker thread when the arrays are large: a Ctrl-C then stops it within milliseconds, not after
    # the numpy call over the whole array in progress (up to a second at 10⁸ entries)
    return interruptible.wrap(
        define(source, "_vector_function", {**array_namespace(), "numpy": np, "_transposed": Transposed()})
    )


def _shape_safe(expr: sp.Expr, shapes: Shapes) -> bool:
    """True when the formula has the full shape by itself (no broadcast needed)."""
    try:
        return bool(shape_of(expr, shapes))
    except InputError:
        return False
