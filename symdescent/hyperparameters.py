"""A method's hyperparameters in the run's arithmetic: ``lr=0.1`` is exactly 1/10 in exact arithmetic.

Floats need nothing: the optimiser checks its own arguments. Exact and
D-digit runs need every hyperparameter, given or default, as a number of
that arithmetic, and a method whose update stays in it
(:data:`symdescent.methods.EXACT_METHODS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sympy as sp

from symdescent.errors import InputError
from symdescent.methods import EXACT_METHODS, method_spec

if TYPE_CHECKING:
    from symdescent.arithmetic import Arithmetic
    from symdescent.optimizers import Optimizer
    from symdescent.problem import Problem

#: Largest exponent exact or D-digit arithmetic will take on (x**(10**100) would never finish).
MAX_EXACT_EXPONENT = 1000


def check_arithmetic(arithmetic: Arithmetic, problem: Problem, method: str) -> None:
    """Refuse what the arithmetic cannot do: a method that leaves it, or numbers that would never finish."""
    what = "exact arithmetic" if arithmetic.name == "exact" else "a working precision"
    parameter = "exact" if arithmetic.name == "exact" else "working_precision"
    if method not in EXACT_METHODS:
        raise InputError(
            f"{parameter} works with the methods {', '.join(EXACT_METHODS)}; "
            f"{method} uses square roots or float line searches",
            hint="use another method, or floats",
            parameter=parameter,
        )
    if arithmetic.name == "exact" and not all(g.is_rational_function(*problem.variables) for g in problem.gradient):
        raise InputError(
            "exact needs a gradient made of polynomials and fractions: with exp, log, sqrt or trigonometric "
            "functions the exact iterates become ever longer formulas",
            hint="use working_precision D for many exact digits instead",
            parameter="exact",
        )
    huge = [p for p in problem.expr.atoms(sp.Pow) if p.exp.is_Number and abs(p.exp) > MAX_EXACT_EXPONENT]
    if huge:
        raise InputError(
            f"{what} cannot raise to the power {huge[0].exp}: "
            f"the numbers would have astronomically many digits (the limit is {MAX_EXACT_EXPONENT})",
            hint="run it in floats",
        )


def in_arithmetic(
    arithmetic: Arithmetic, problem: Problem, method: str | Optimizer, given: Mapping[str, Any]
) -> dict[str, Any]:
    """Every hyperparameter of the method, given or default, as a number of ``arithmetic``.

    A default such as lr = 0.1 is read from its decimal text, so that it is 1/10 exactly.
    """
    from symdescent.optimizers import Optimizer

    name = method.name if isinstance(method, Optimizer) else method
    spec = method_spec(name)
    check_arithmetic(arithmetic, problem, spec.name)
    if isinstance(method, Optimizer):
        return {k: number_in(arithmetic, k, v) for k, v in given.items()}
    unused = [k for k in given if k not in spec.defaults]
    if unused:
        raise InputError(f"{name} does not use {', '.join(map(str, unused))}", parameter=str(unused[0]))
    values = {**spec.defaults, **given}
    return {
        k: number_in(arithmetic, k, repr(v) if isinstance(v, float) and k not in given else v)
        for k, v in values.items()
    }


def number_in(arithmetic: Arithmetic, name: str, value: Any) -> Any:
    """One hyperparameter (text, int, float or SymPy number) as a number of ``arithmetic``; others unchanged."""
    from symdescent.values import number

    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float | sp.Expr):
        return value
    return arithmetic.number(number(value, name))
