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
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sympy as sp

from symdescent import budget
from symdescent.compile import ValueAndGrad, compile_function, compile_functions
from symdescent.engine import Engine, choose_engine
from symdescent.errors import InputError
from symdescent.parsing import natural_key, parse, parse_constant

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)


@dataclass(frozen=True)
class Problem:
    """A differentiable function of named real variables, ready to iterate on."""

    expr: sp.Expr
    variables: tuple[sp.Symbol, ...]
    params: Mapping[str, sp.Expr]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    @property
    def dimension(self) -> int:
        return len(self.variables)

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

    @cached_property
    def hessian(self) -> tuple[tuple[sp.Expr, ...], ...]:
        """The symbolic Hessian, rows of ∂²f/∂xᵢ∂xⱼ (symmetric: each entry derived once)."""
        n = self.dimension
        rows: list[list[sp.Expr]] = [[sp.S.Zero] * n for _ in range(n)]
        for i, gi in enumerate(self.gradient):
            for j in range(i, n):
                # d/dx sign(x) = 2·δ(x): zero wherever the Hessian exists (abs is not twice differentiable at 0)
                second = sp.diff(gi, self.variables[j]).replace(sp.DiracDelta, lambda *args: sp.S.Zero)
                rows[i][j] = rows[j][i] = second
        return tuple(tuple(row) for row in rows)

    @cached_property
    def hessian_at(self) -> Callable[..., tuple[tuple[float, ...], ...]]:
        """``hessian_at(*x)`` -> the Hessian's rows over floats, compiled once on first use."""
        n = self.dimension
        flat = compile_functions([h for row in self.hessian for h in row], self.variables)

        def hessian_at(*x: float) -> tuple[tuple[float, ...], ...]:
            values = flat(*x)
            return tuple(tuple(float(v) for v in values[i * n : (i + 1) * n]) for i in range(n))

        return hessian_at

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
    expr = parse(function) if isinstance(function, str) else _as_expr(function)
    fixed = _fix_params(expr, params or {})
    expr = expr.xreplace({sp.Symbol(name, real=True): value for name, value in fixed.items()})
    symbols = _order_variables(expr, variables)
    return Problem(expr=expr, variables=symbols, params=fixed)


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
            by_variable[symbol].append(term)  # type: ignore[index]
    return tuple(sp.Add(*[_diff(term, v) for term in by_variable[v]]) for v in variables)


def _diff(term: sp.Expr, variable: sp.Symbol) -> sp.Expr:
    budget.tick("differentiating the function", 16)
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
    inner, exponent, others = None, None, []
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
        fixed[name] = (
            parse_constant(value, f"the value of --param {name}") if isinstance(value, str) else _as_expr(value)
        )
        if fixed[name].free_symbols or fixed[name].has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            raise InputError(f"the value of parameter {name} ({_short(value)}) is not a finite real number")
        budget.check_constant(fixed[name], f"the value of parameter {name}")
    return fixed


def _order_variables(expr: sp.Expr, variables: Sequence[str] | None) -> tuple[sp.Symbol, ...]:
    present = sorted((s.name for s in expr.free_symbols), key=natural_key)
    if variables is None:
        if not present:
            raise InputError("the function has no variables: there is nothing to optimise")
        return tuple(sp.Symbol(name, real=True) for name in present)
    names = list(variables)
    for name in names:
        if not _IDENTIFIER.fullmatch(name):
            raise InputError(f"bad variable name {name!r} in --vars")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"--vars names {', '.join(duplicates)} more than once")
    missing = [n for n in present if n not in names]
    if missing:
        raise InputError(
            f"the function uses {', '.join(missing)}, which --vars does not list",
            hint="list every variable in --vars, or fix the others with --param name=value",
        )
    if not names:
        raise InputError("--vars is empty")
    return tuple(sp.Symbol(name, real=True) for name in names)


def _as_expr(value: object) -> sp.Expr:
    """Library callers may pass SymPy expressions or plain numbers (never text to evaluate)."""
    if isinstance(value, sp.Expr):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected text, a number or a SymPy expression, not {type(value).__name__}")
    return sp.Integer(value) if isinstance(value, int) else sp.Float(value)


def _short(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def point_values(
    problem: Problem,
    values: Sequence[float | str | sp.Expr] | Mapping[str, float | str | sp.Expr] | str | float,
    what: str = "the start point",
) -> tuple[float, ...]:
    """A point as floats, from ``"1,2"``, ``"x=1,y=2"``, ``(1, 2)``, ``{"x": 1, "y": 2}`` or, in 1-D, ``1``.

    Values may be exact (``1/3``, ``pi/4``) and negative. ``what`` names the
    point in messages (``the start point``, ``the --at point``).
    """
    floats = []
    for name, (value, number) in zip(problem.names, _point_items(problem, values, what), strict=True):
        try:
            as_float = float(number)
        except (TypeError, OverflowError):
            raise InputError(f"the value of {name} ({value}) is not a finite real number") from None
        if not math.isfinite(as_float):
            raise InputError(f"the value of {name} ({value}) is not a finite real number")
        floats.append(as_float)
    return tuple(floats)


def point_constants(
    problem: Problem, values: Sequence[float | str | sp.Expr] | str, what: str = "the start point"
) -> tuple[sp.Expr, ...]:
    """A point as exact SymPy numbers (``"1/3,0.1"`` -> ``(1/3, 0.1)``), checked to be finite and real."""
    point_values(problem, values, what)
    return tuple(number for _, number in _point_items(problem, values, what))


def _point_items(problem: Problem, values: Any, what: str) -> list[tuple[Any, sp.Expr]]:
    """Each coordinate as given and as a SymPy number, in the order of the variables."""
    names = problem.names
    if isinstance(values, str):
        values = _split_point(values, names, what)
    elif isinstance(values, Mapping):
        values = _named_values(dict(values), names, what)
    elif isinstance(values, int | float | sp.Expr):
        values = (values,)
    if len(values) != len(names):
        listed = ", ".join(names) if len(names) <= 8 else f"{', '.join(names[:4])}, …, {names[-1]}"
        raise InputError(f"{what} has {len(values)} value(s) but the function has {len(names)} variable(s): {listed}")
    items = []
    for name, value in zip(names, values, strict=True):
        if isinstance(value, str) and not value.strip():
            raise InputError(f"{what} has no value for {name} (an empty item between commas)")
        items.append(
            (value, parse_constant(value, f"the value of {name}") if isinstance(value, str) else _as_expr(value))
        )
    return items


def _named_values(given: dict[str, object], names: Sequence[str], what: str) -> list[object]:
    unknown = [n for n in given if n not in names]
    if unknown:
        raise InputError(f"{unknown[0]!r} is not a variable of the function (variables: {', '.join(names)})")
    missing = [n for n in names if n not in given]
    if missing:
        raise InputError(f"{what} has no value for {', '.join(missing)}")
    return [given[n] for n in names]


def _split_point(text: str, names: Sequence[str], what: str) -> list[str]:
    parts = split_top_level(text)
    if not any("=" in part for part in parts):
        return parts
    given: dict[str, str] = {}
    for part in parts:
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            raise InputError(f"mix of named and unnamed values in {text!r}: write x=1,y=2 or 1,2")
        if name in given:
            raise InputError(f"{name} is given twice in {text!r}")
        given[name] = value
    return _named_values(given, names, what)  # type: ignore[return-value]


def split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets: ``"atan2(1,2),3"`` -> ``["atan2(1,2)", "3"]``."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += (char == "(") - (char == ")")
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]
