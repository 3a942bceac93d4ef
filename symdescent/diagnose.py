"""Why a run failed, in the user's terms: ``log(x) is undefined at x = 0``.

Only called once something went wrong (an exception or a non-finite value
at the start point or during a run), so it may be slow: it walks f and ∇f
bottom-up with SymPy numbers, bounded by :data:`DIAGNOSE_NODES`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sympy as sp

from symdescent.layout import layout_of

if TYPE_CHECKING:
    from symdescent.problem import Problem

#: Stop diagnosing after this many subexpressions: a message is not worth a hang.
DIAGNOSE_NODES = 20_000


def nonfinite_reason(f: float, norm: float) -> str:
    if not math.isfinite(f):
        return f"f became {f}"
    return f"the gradient became {'infinite' if math.isinf(norm) else 'not a number'}"


def diagnose(problem: Problem, x: Sequence[float], error: Exception | None = None) -> str:
    """Say which part of f or ∇f fails at x, e.g. ``log(x) is undefined at x = 0``.

    Walks the expression bottom-up with SymPy numbers; only used on failure,
    and bounded by :data:`DIAGNOSE_NODES`, so it may fall back to a generic
    reason taken from the exception.
    """
    where = problem.point(x)
    values = {v: xi if isinstance(xi, sp.Basic) else sp.Float(xi) for v, xi in zip(problem.variables, x, strict=True)}
    labelled = [("f", problem.expr)] + [
        (f"∂f/∂{name} = {g}", g) for name, g in zip(layout_of(problem).labels(), problem.gradient, strict=True)
    ]
    seen = 0
    for label, expr in labelled:
        for node in sp.postorder_traversal(expr):
            seen += 1
            if seen > DIAGNOSE_NODES:
                break
            if node.is_Atom or not (node.is_Function or node.is_Pow):
                continue
            try:
                problem_found = _node_failure(node, values)
            except Exception:
                continue
            if problem_found:
                failure, detail = problem_found
                return _in(label, f"{node} {failure} at {where}{detail}")
    if isinstance(error, OverflowError):
        return f"a value overflows a float at {where}"
    if isinstance(error, TypeError):
        return f"a value is not real at {where}"
    if isinstance(error, ZeroDivisionError):
        return f"division by zero at {where}"
    return f"f or its gradient is undefined at {where}"


def _node_failure(node: sp.Expr, values: dict[sp.Symbol, sp.Float]) -> tuple[str, str] | None:
    """Why one subexpression has no float value at the point (and a detail), or None if it has one."""
    value = node.xreplace(values)
    if value.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        return "is undefined", ""
    if value.is_number and value.is_extended_real is False:
        return "is not real", ""
    if value.is_Number and abs(value) > sys.float_info.max:
        return "overflows a float", f" (it is about {sp.Float(value, 3)})"
    return None


def _in(label: str, reason: str) -> str:
    return reason if label == "f" else f"the gradient fails: {reason}, in {label}"
