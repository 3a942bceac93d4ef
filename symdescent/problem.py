"""The problem: a function, its ordered variables and its gradient, compiled once.

``make_problem("x**2 + y**2")`` parses the text, orders the variables
naturally (``x2`` before ``x10``), differentiates once with SymPy and
compiles f and ∇f into one float function for the loop. Everything
downstream (optimisers, renderers, ``explain``) reads the same frozen object.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from symdescent import budget
from symdescent.compile import ValueAndGrad, compile_function, lower
from symdescent.engine import Engine, choose_engine
from symdescent.errors import NUMERIC_ERRORS, InputError
from symdescent.generated import Lowered, rows_from
from symdescent.layout import Layout
from symdescent.parsing import natural_key, parse_with_notes
from symdescent.values import number

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)


@dataclass(frozen=True)
class Problem:
    """A differentiable function of named real variables, ready to iterate on."""

    expr: sp.Expr
    variables: tuple[sp.Symbol, ...]
    params: Mapping[str, sp.Expr]
    #: How the text was read that the user should know (a constant below every float taken as 0).
    parse_notes: tuple[str, ...] = field(default=(), compare=False, kw_only=True)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    @property
    def dimension(self) -> int:
        return len(self.variables)

    @property
    def entry_layout(self) -> Layout:
        """Every variable a scalar, in order (the one :class:`~symdescent.layout.Layout` of every problem)."""
        return Layout.of(self.names)

    @cached_property
    def gradient(self) -> tuple[sp.Expr, ...]:
        """∇f as SymPy expressions, differentiated on first use (large problems may never need it)."""
        with budget.time_limit():
            return gradient(self.expr, self.variables)

    @cached_property
    def engine(self) -> Engine:
        """How f and ∇f are evaluated: chosen by size on first use (see :mod:`symdescent.engine`)."""
        return choose_engine(self)

    @property
    def value_and_grad(self) -> ValueAndGrad:
        """``value_and_grad(*x) -> [f, df/dx1, …]`` over floats, compiled on first use."""
        return self.engine.value_and_grad

    @property
    def function_text(self) -> str:
        """f as text, from whichever engine holds it."""
        return self.engine.function_text

    @property
    def gradient_text(self) -> tuple[str, ...]:
        """Each partial derivative as text, from whichever engine differentiated."""
        return self.engine.gradient_text

    @cached_property
    def value(self) -> Callable[..., float]:
        """``value(*x) -> f`` over floats (no gradient), for line searches; compiled on first use."""
        return compile_function(self.expr, self.variables)

    def values_at(self, x: Sequence[float], *, sympy: bool) -> list[float]:
        """f and ∇f at x as floats (nan where undefined): by SymPy's substitution (for a few points of a short f:
        compiling costs more than it saves) or by the compiled function (0.7 s less per point at 2,000 terms)."""
        if not sympy:
            try:
                return [float(v) for v in self.value_and_grad(*x)]
            except NUMERIC_ERRORS:
                return [math.nan] * (1 + len(x))
        values = {v: sp.Float(xi) for v, xi in zip(self.variables, x, strict=True)}
        return [float_or_nan(e.xreplace(values)) for e in (self.expr, *self.gradient)]

    @cached_property
    def hessian(self) -> tuple[tuple[sp.Expr, ...], ...]:
        """The symbolic Hessian, rows of ∂²f/∂xᵢ∂xⱼ (symmetric: each entry derived once)."""
        n = self.dimension
        rows: list[list[sp.Expr]] = [[sp.S.Zero] * n for _ in range(n)]
        position = {v: k for k, v in enumerate(self.variables)}
        for i, gi in enumerate(self.gradient):
            # term by term, only by the variables each term holds (as :func:`gradient`): one diff of a
            # 2,000-term ∂f/∂x walked the whole sum at once, for 60 s and past every deadline
            by_variable: dict[sp.Symbol, list[sp.Expr]] = {}
            for term in gi.args if gi.is_Add else (gi,):
                for symbol in term.free_symbols:
                    if position.get(symbol, -1) >= i:
                        by_variable.setdefault(symbol, []).append(term)
            for symbol, terms in by_variable.items():
                second = sp.Add(*[_diff(term, symbol) for term in terms])
                if second.has(sp.DiracDelta):
                    # d/dx sign(x) = 2·δ(x): zero wherever the Hessian exists (abs is not twice differentiable at 0)
                    second = second.replace(sp.DiracDelta, lambda *args: sp.S.Zero)
                j = position[symbol]
                rows[i][j] = rows[j][i] = second
        return tuple(tuple(row) for row in rows)

    @cached_property
    def hessian_at(self) -> Callable[..., tuple[tuple[float, ...], ...]]:
        """``hessian_at(*x)`` -> the Hessian's rows over floats, compiled once on first use."""
        return rows_from(self.lowered_hessian, self.dimension)

    @cached_property
    def lowered_hessian(self) -> Lowered:
        """The Hessian's entries, row by row, as generated statements (what :attr:`hessian_at` runs)."""
        return lower([h for row in self.hessian for h in row], self.variables)

    def point(self, values: Sequence[float]) -> str:
        """``x = 1, y = 2``: a point written for messages."""
        return ", ".join(f"{n} = {_short(v)}" for n, v in zip(self.names, values, strict=True))


def make_problem(
    function: str | sp.Expr,
    variables: Sequence[str] | None = None,
    params: Mapping[str, str | float | sp.Expr] | None = None,
) -> Problem:
    """Parse (if text), fix parameters, order variables and differentiate.

    >>> make_problem("a*x**2 + y**2", params={"a": "3"}).gradient
    (6*x, 2*y)
    """
    with budget.time_limit():
        return _make_problem(function, variables, params)


def _make_problem(
    function: str | sp.Expr, variables: Sequence[str] | None, params: Mapping[str, str | float | sp.Expr] | None
) -> Problem:
    expr, notes = parse_with_notes(function) if isinstance(function, str) else (_as_expr(function), ())
    if params is not None and not isinstance(params, Mapping):
        raise InputError(f"params must be a mapping of names to values, not {type(params).__name__}")
    if variables is not None and (isinstance(variables, str) or not isinstance(variables, Sequence)):
        raise InputError(f"variables must be a sequence of names, not {type(variables).__name__}")
    fixed = _fix_params(expr, params or {})
    expr = expr.xreplace({sp.Symbol(name, real=True): value for name, value in fixed.items()})
    try:
        symbols = _order_variables(expr, variables)
    except InputError as error:
        if notes and error.hint is None:  # "no variables" because a term became 0: say which
            raise InputError(error.message, hint=notes[0], parameter=error.parameter) from None
        raise
    return Problem(expr=expr, variables=symbols, params=fixed, parse_notes=notes)


def gradient(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> tuple[sp.Expr, ...]:
    """∇f, differentiating each term of a sum only by the variables it contains.

    Equal to ``[diff(expr, v) for v in variables]``, but for a sum of many
    terms in many variables it is linear rather than quadratic: each
    ``diff`` would otherwise walk the whole sum.
    """
    terms = expr.args if expr.is_Add else (expr,)
    wanted = set(variables)
    by_variable: dict[sp.Symbol, list[sp.Expr]] = {v: [] for v in variables}
    for term in terms:
        for symbol in term.free_symbols & wanted:
            by_variable[symbol].append(term)
    return tuple(sp.Add(*[_diff(term, v) for term in by_variable[v]]) for v in variables)


def _diff(term: sp.Expr, variable: sp.Symbol) -> sp.Expr:
    budget.tick("differentiating the function", 16)
    fast = _monomial_diff(term, variable)
    return sp.diff(term, variable) if fast is None else fast


def float_or_nan(value: sp.Expr) -> float:
    """float(value), nan where SymPy has no real number (zoo, a complex value, a free symbol)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def quick_diff(term: sp.Expr, variable: sp.Symbol) -> sp.Expr:
    """``diff(term, variable)``, by the power rule when the term is a monomial (see :func:`_monomial_diff`)."""
    fast = _monomial_diff(term, variable)
    return sp.diff(term, variable) if fast is None else fast


def _monomial_diff(term: sp.Expr, variable: sp.Symbol) -> sp.Expr | None:
    """d/dv of ``c*u**e*rest`` (rest free of v, u a sum or monomial) by the power rule; None otherwise.

    SymPy's ``diff`` asks each factor about its assumptions: milliseconds per
    term, minutes for the 55,000 monomials a 1 MB input can hold.
    """
    if term.is_Symbol:
        return sp.S.One if term == variable else sp.S.Zero
    if term.is_Number:
        return sp.S.Zero
    if term.is_Add:
        parts = [_monomial_diff(arg, variable) for arg in term.args]
        return None if any(p is None for p in parts) else sp.Add(*parts)
    coefficient, rest = term.as_coeff_Mul()
    inner: sp.Expr | None = None
    exponent: sp.Expr = sp.S.Zero  # set together with inner
    others: list[sp.Expr] = []
    for factor in sp.Mul.make_args(rest):
        base, power = factor.as_base_exp()
        if variable not in factor.free_symbols:
            others.append(factor)
        elif inner is None and power.is_Number and (base.is_Symbol or base.is_Add):
            inner, exponent = base, power
        else:
            return None
    if inner is None:
        return sp.S.Zero
    derivative = _monomial_diff(inner, variable)
    if derivative is None:
        return None
    return sp.Mul(coefficient * exponent, sp.Pow(inner, exponent - 1), derivative, *others)


def _fix_params(expr: sp.Expr, params: Mapping[str, str | float | sp.Expr]) -> dict[str, sp.Expr]:
    present = {s.name for s in expr.free_symbols}
    fixed: dict[str, sp.Expr] = {}
    for name, value in params.items():
        if name not in present:
            raise InputError(f"parameter {name!r} does not appear in the function")
        fixed[name] = number(value, f"the value of {name}")
    return fixed


def _order_variables(expr: sp.Expr, variables: Sequence[str] | None) -> tuple[sp.Symbol, ...]:
    present = sorted((s.name for s in expr.free_symbols), key=natural_key)
    if variables is None:
        if not present:
            raise InputError("the function has no variables: there is nothing to optimise")
        return tuple(sp.Symbol(name, real=True) for name in present)
    names = list(variables)
    for name in names:
        if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
            raise InputError(f"bad variable name {name!r} in variables", parameter="variables")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"variables names {', '.join(duplicates)} more than once", parameter="variables")
    missing = [n for n in present if n not in names]
    if missing:
        raise InputError(
            f"the function uses {', '.join(missing)}, which variables does not list",
            hint="list every variable, or fix the others as parameters",
            parameter="variables",
        )
    if not names:
        raise InputError("variables is empty", parameter="variables")
    return tuple(sp.Symbol(name, real=True) for name in names)


def _as_expr(value: object) -> sp.Expr:
    """Library callers may pass SymPy expressions or plain numbers (never text to evaluate)."""
    if isinstance(value, sp.Expr) and not isinstance(value, sp.logic.boolalg.Boolean):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"the function must be text or a SymPy expression, not {type(value).__name__}")
    return number(value, "the function")


def _short(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
