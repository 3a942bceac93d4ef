"""Small array problems written out entry by entry: the Python-scalar back-end for exact and D-digit runs.

The array back-ends compute in float64 (numpy, the chunked kernel). Exact
and D-digit arithmetic run on the scalar loop (:mod:`symdescent.run`), whose
numbers are SymPy or mpmath values. :func:`expand` turns a
:class:`~symdescent.vectors.problem.VectorProblem` into a SymPy expression of
scalars: each vector variable becomes its entries (internal symbols such as
``x__1``), each datum its exact value, and every vector node (``@``, sums,
``mean``, ``dot``, ``norm``, index sums, entries, ``max``/``min``/``prod``)
plain SymPy arithmetic::

    x @ x, x = [1, 2]                      ->  x__1**2 + x__2**2
    sum((A @ w - b)^2), A = [[1, 2]], …    ->  (w__1 + 2*w__2 - b_1)**2

:func:`expanded_problem` wraps the result in a scalar :class:`Problem` that
keeps the vector problem's layout (``x`` of shape ``(2,)``) and its formulas
in vector form, so the renderers show ``x = [4/5, 8/5]`` and ``∇ₓf = 2·x``.

Exact values: a number or ``[a, b, …]`` written in the text (start values,
``--data NAME=…``, ``--param``) is read again exactly (``0.1`` is 1/10,
``1/3`` is 1/3) when given to :func:`expand` as ``values``; every other
value (files, ``ones(n)``) is the decimal its shortest float text spells
(a file's ``0.1`` is 1/10).

The one refusal (:func:`check_expandable`): more than
:data:`MAX_EXACT_ENTRIES` variable entries, or more than
:data:`MAX_EXACT_WORK` variable entries × data entries (the written-out f and
its gradient grow with both).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from symdescent.errors import InputError
from symdescent.layout import Layout
from symdescent.problem import Problem, make_problem
from symdescent.vectors import nodes as vn
from symdescent.vectors.nodes import entries
from symdescent.vectors.problem import VectorProblem
from symdescent.vectors.shapes import index_range

#: Exact and D-digit arithmetic run array problems of at most this many variable entries …
MAX_EXACT_ENTRIES = 100
#: … and of at most this many variable entries × data entries (∇f written out grows with both:
#: 20 entries × 1,000 data run in about 2 s, 100 × 1,000 would take 20 s).
MAX_EXACT_WORK = 20_000

#: A value while expanding: a SymPy scalar, or a numpy object array of SymPy scalars.
Value = Any


def check_expandable(problem: VectorProblem) -> None:
    """Refuse, in one message, an array problem too large to write out entry by entry."""
    entries_ = problem.entry_layout.size
    data = sum(int(np.size(v)) for v in problem.data.values())
    if entries_ > MAX_EXACT_ENTRIES or entries_ * max(data, 1) > MAX_EXACT_WORK:
        raise InputError(
            f"exact arithmetic runs problems of at most {MAX_EXACT_ENTRIES} variable entries and at most "
            f"{MAX_EXACT_WORK:,} variable entries × data entries; this one has {entries_:,} × {data:,}"
        )


class EntrySymbol(sp.Symbol):
    """One entry of a vector variable: an identifier inside (``x__2``, what generated code names), ``x[2]`` written.

    Messages about f (``log(x[2]) is not real at x = [1, -1]``) then speak of the entries as the user does.
    """

    label: str | None

    def __new__(cls, name: str, label: str | None = None, **assumptions: bool) -> EntrySymbol:
        symbol = super().__new__(cls, name, real=True)
        if label is not None:
            symbol.label = label
        return symbol

    def _sympystr(self, printer: object) -> str:
        return getattr(self, "label", None) or self.name


def entry_symbols(layout: Layout, taken: Collection[str] = ()) -> dict[str, Value]:
    """Each variable's symbols: a scalar keeps its name; a vector ``x`` gets ``x__1, x__2, …`` (unused names)."""
    separator = "__"
    while any(f"{slot.name}{separator}" in name for slot in layout.slots if slot.shape for name in taken):
        separator += "_"
    out: dict[str, Value] = {}
    for slot in layout.slots:
        if not slot.shape:
            out[slot.name] = sp.Symbol(slot.name, real=True)
            continue
        symbols = [
            EntrySymbol(f"{slot.name}{separator}{k}", f"{slot.name}[{k}]") for k in range(1, slot.end - slot.first + 1)
        ]
        out[slot.name] = np.array(symbols, dtype=object).reshape(slot.shape)
    return out


def expand(problem: VectorProblem, values: Mapping[str, Any] | None = None) -> sp.Expr:
    """f as a SymPy expression of the variables' entries, every datum an exact number.

    ``values`` gives exact values for some data by name (a SymPy number, or a sequence of them in the
    datum's shape, as :func:`literal_values` reads them); the others are read from their floats.
    """
    check_expandable(problem)
    return _expand(problem, values or {})[0]


def _expand(problem: VectorProblem, values: Mapping[str, Any]) -> tuple[sp.Expr, dict[str, Value], dict[str, Value]]:
    symbols = entry_symbols(problem.entry_layout, set(problem.data) | set(problem.names))
    known: dict[str, Value] = dict(symbols)
    for name, datum in problem.data.items():
        known[name] = _exact_datum(datum, values.get(name))
    result = _evaluate(problem.formula.expr, known, problem.shapes)
    if isinstance(result, np.ndarray):  # a shape check upstream makes f a scalar; this is a guard
        raise InputError("f must be a scalar")
    return _as_expr(result), symbols, known


def _as_expr(value: object) -> sp.Expr:
    """A computed value as a SymPy expression, never through ``sympify`` (which would evaluate text)."""
    if isinstance(value, sp.Expr):
        return value
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return sp.Integer(int(value))
    if isinstance(value, float | np.floating):
        return sp.Float(float(value))
    raise TypeError(f"not a number or a SymPy expression: {type(value).__name__}")


def expanded_problem(problem: VectorProblem, values: Mapping[str, Any] | None = None) -> ExpandedProblem:
    """The scalar problem the Python-scalar back-end iterates, with the vector problem's layout and texts."""
    check_expandable(problem)
    from symdescent.arithmetic import exact_decimals

    expr, symbols, known = _expand(problem, values or {})
    layout = problem.entry_layout
    variables = tuple(
        s for slot in layout.slots for s in (np.ravel(symbols[slot.name]) if slot.shape else [symbols[slot.name]])
    )
    # make_problem checks and orders the names; the problem keeps the entry symbols themselves (they print x[2])
    make_problem(expr.xreplace({v: sp.Symbol(v.name, real=True) for v in variables}), [v.name for v in variables])
    texts = VectorTexts(problem.function_text, problem.gradient_text, problem.function_inline, problem.gradient_inline)
    gradient = _entry_gradient(problem, known)
    # decimal literals exact now, in f and ∇f alike (exact and D-digit arithmetic would make f's alone exact)
    expr = exact_decimals(expr)
    if gradient is not None:
        gradient = tuple(exact_decimals(g) for g in gradient)
    return ExpandedProblem(expr, variables, {}, layout, texts, gradient)


def _entry_gradient(problem: VectorProblem, known: Mapping[str, Value]) -> tuple[sp.Expr, ...] | None:
    """∇f entry by entry from the gradient in vector form (2·Aᵀ(Aw − b) written out), or None where it has a
    node with no entry form (∇ max picks an entry by value): SymPy then differentiates the written-out f.

    Differentiating the written-out f instead costs a chain rule per entry and term: seconds at 100 × 1,000.
    """
    out: list[sp.Expr] = []
    for slot in problem.entry_layout.slots:
        try:
            value = _evaluate(problem.formula.gradient[slot.name], known, problem.shapes)
        except _NoEntryForm:
            return None
        if not slot.shape:
            if isinstance(value, np.ndarray):
                return None
            out.append(_as_expr(value))
        elif isinstance(value, np.ndarray):
            out.extend(_as_expr(v) for v in np.ravel(value))
        else:  # a scalar formula for every entry
            out.extend([_as_expr(value)] * (slot.end - slot.first))
    return tuple(out)


@dataclass(frozen=True)
class VectorTexts:
    """The vector problem's formulas (f and each variable's gradient), as the renderers write them."""

    function_text: str
    gradient_text: tuple[str, ...]
    function_inline: str
    gradient_inline: tuple[str, ...]


@dataclass(frozen=True)
class ExpandedProblem(Problem):
    """A problem of scalars that came from named arrays: it keeps their layout and their vector formulas.

    Its ``variables`` are the entries (``x__1, x__2``), which the loop iterates on; everything shown to
    people (``entry_layout``, the formulas, the point in messages) speaks of the arrays.
    """

    layout: Layout
    texts: VectorTexts
    entry_gradient: tuple[sp.Expr, ...] | None = None

    @cached_property
    def gradient(self) -> tuple[sp.Expr, ...]:
        """∇f written out from its vector form when it has one (fast), else differentiated."""
        if self.entry_gradient is not None:
            return self.entry_gradient
        return Problem.gradient.func(self)  # type: ignore[attr-defined]  # the cached_property's own function

    @property
    def entry_layout(self) -> Layout:
        return self.layout

    @property
    def function_text(self) -> str:
        return self.texts.function_text

    @property
    def gradient_text(self) -> tuple[str, ...]:
        return self.texts.gradient_text

    @property
    def function_inline(self) -> str:
        return self.texts.function_inline

    @property
    def gradient_inline(self) -> tuple[str, ...]:
        return self.texts.gradient_inline

    def point(self, values: Any) -> str:
        return self.layout.point_text(values, lambda v: f"{v:.6g}" if isinstance(v, float) else str(v))


def literal_values(texts: Mapping[str, str]) -> dict[str, Any]:
    """The values written as a number or ``[a, b, …]``, read exactly: ``0.1`` -> 1/10, ``[1/3, 2]`` -> (1/3, 2).

    Anything else (a file, ``zeros(n)``) is left out: its floats are what there is.
    """
    from symdescent.values import exact_number
    from symdescent.vectors.data import split_items

    out: dict[str, Any] = {}
    for name, text in texts.items():
        text = text.strip()
        try:
            if text.startswith("[") and text.endswith("]"):
                out[name] = tuple(exact_number(item, f"the value of {name}")[0] for item in split_items(text[1:-1]))
            else:
                out[name] = exact_number(text, f"the value of {name}")[0]
        except InputError:
            continue
    return out


def _exact_datum(datum: Any, literal: Any) -> Value:
    """A datum as exact SymPy numbers: its literal text where it was given as one, else its floats' decimals."""
    if isinstance(datum, np.ndarray):
        if literal is not None and isinstance(literal, tuple) and len(literal) == datum.size:
            return np.array(literal, dtype=object).reshape(datum.shape)
        return np.array([_decimal(v) for v in datum.reshape(-1)], dtype=object).reshape(datum.shape)
    if literal is not None and not isinstance(literal, tuple):
        return literal
    return _decimal(datum)


def _decimal(value: Any) -> sp.Rational:
    """The exact decimal a float's shortest text spells: 0.1 -> 1/10 (not the binary float nearest 0.1)."""
    return sp.Rational(repr(float(value)))


def exact_start(problem: VectorProblem, values: Mapping[str, Any] | None = None) -> tuple[sp.Expr, ...]:
    """The flat start point as exact numbers: literal text where given (``values``), else the floats' decimals."""
    values = values or {}
    flat: list[sp.Expr] = []
    for slot in problem.entry_layout.slots:
        given = problem.start[slot.name]
        literal = values.get(slot.name)
        size = slot.end - slot.first
        if slot.shape and isinstance(literal, tuple) and len(literal) == size:
            flat.extend(literal)
        elif not slot.shape and literal is not None and not isinstance(literal, tuple):
            flat.append(literal)
        else:
            flat.extend(_decimal(v) for v in np.ravel(given))
    return tuple(flat)


# -- evaluating the vector nodes ------------------------------------------------------------


def _evaluate(expr: sp.Expr, known: Mapping[str, Value], shapes: Mapping[str, tuple[int, ...]]) -> Value:
    """``expr`` with each name's value put in, every vector node worked out (entries stay SymPy)."""
    if isinstance(expr, sp.Symbol):
        if expr.name not in known:
            raise InputError(f"{expr.name} has no value: give it a start value or a value in the data")
        return known[expr.name]
    if not expr.args or not expr.free_symbols:
        return expr
    if isinstance(expr, vn.VNode):
        return _node(expr, known, shapes)
    args = [_evaluate(arg, known, shapes) for arg in expr.args]
    if not any(isinstance(a, np.ndarray) for a in args):
        return expr.func(*args)
    func = expr.func
    return np.frompyfunc(lambda *a: func(*a), len(args), 1)(*args)  # elementwise, scalars broadcast


class _NoEntryForm(Exception):
    """A gradient node whose entries depend on the point's values (∇ max), not on a formula."""


def _node(expr: sp.Expr, known: Mapping[str, Value], shapes: Mapping[str, tuple[int, ...]]) -> Value:
    if isinstance(expr, vn.VIndexSum):
        return _index_sum(expr, known, shapes)
    if isinstance(expr, vn.VBandGrad):
        return _band_gradient(expr, known, shapes)
    if isinstance(expr, vn.VEntry | vn.VUnit):
        vector = _evaluate(expr.args[0], known, shapes)
        if isinstance(expr, vn.VEntry):
            return vector[int(expr.args[1]) - 1]
        unit = np.array([sp.S.Zero] * len(vector), dtype=object)
        unit[int(expr.args[1]) - 1] = sp.S.One
        return unit
    args = [_evaluate(arg, known, shapes) for arg in expr.args]
    if isinstance(expr, vn.VMatMul):
        return _matmul(*args)
    if isinstance(expr, vn.VTranspose):
        return np.transpose(args[0])
    if isinstance(expr, vn.VDot):
        return sp.Add(*[u * v for u, v in zip(np.ravel(args[0]), np.ravel(args[1]), strict=True)])
    flat = list(np.ravel(args[0]))
    reductions = {
        vn.VSum: lambda: sp.Add(*flat),
        vn.VMean: lambda: sp.Add(*flat) / len(flat),
        vn.VNorm: lambda: sp.sqrt(sp.Add(*[v**2 for v in flat])),
        vn.VMax: lambda: sp.Max(*flat),
        vn.VMin: lambda: sp.Min(*flat),
        vn.VProd: lambda: sp.Mul(*flat),
        vn.VSize: lambda: sp.Integer(len(flat)),
    }
    for node, reduce in reductions.items():
        if isinstance(expr, node):
            return reduce()
    if isinstance(expr, vn.VProdOthers):
        return np.array([sp.Mul(*flat[:j], *flat[j + 1 :]) for j in range(len(flat))], dtype=object)
    raise _NoEntryForm(type(expr).__name__)


def _matmul(left: Value, right: Value) -> Value:
    """``A @ v`` or ``A @ B`` with each entry one SymPy sum (a chain of binary sums would be quadratic)."""
    a = np.asarray(left, dtype=object)
    if not isinstance(right, np.ndarray):  # Aᵀ @ c in a gradient: c stands for c times a vector of ones
        return np.array([sp.Add(*row) * right for row in a], dtype=object)
    b = np.asarray(right, dtype=object)
    if a.ndim == 1:
        a = a.reshape(1, -1)
        return _matmul(a, b)[0]
    vector = b.ndim == 1
    b2 = b.reshape(-1, 1) if vector else b
    out = np.empty((a.shape[0], b2.shape[1]), dtype=object)
    for i in range(a.shape[0]):
        for j in range(b2.shape[1]):
            out[i, j] = sp.Add(*[a[i, k] * b2[k, j] for k in range(a.shape[1])])
    return out[:, 0] if vector else out


def _index_sum(expr: sp.Expr, known: Mapping[str, Value], shapes: Mapping[str, tuple[int, ...]]) -> sp.Expr:
    """``sum(body, i)``: the body once per i in range, each ``x[i+k]`` the entry it names."""
    body = expr.args[0]
    first, last = index_range(expr, shapes)
    found = entries(body)
    terms = []
    for i in range(first, last + 1):
        at = dict(known)
        for symbol, (name, offset) in found.items():
            at[symbol.name] = np.ravel(known[name])[i + offset - 1]
        terms.append(_evaluate(body, at, shapes))
    return sp.Add(*terms)


def _band_gradient(expr: sp.Expr, known: Mapping[str, Value], shapes: Mapping[str, tuple[int, ...]]) -> Value:
    """∇ of ``sum(body, i)`` by the vector ``var``: each term's derivative by each entry it uses, added up."""
    var, body = expr.args[0], expr.args[1]
    vector = np.ravel(known[var.name])
    out = [sp.S.Zero] * len(vector)
    first, last = index_range(expr, shapes)
    found = entries(body)
    partials = {symbol: sp.diff(body, symbol) for symbol, (name, _) in found.items() if name == var.name}
    for i in range(first, last + 1):
        at = dict(known)
        for symbol, (name, offset) in found.items():
            at[symbol.name] = np.ravel(known[name])[i + offset - 1]
        for symbol, partial in partials.items():
            out[i + found[symbol][1] - 1] += _evaluate(partial, at, shapes)
    return np.array(out, dtype=object)
