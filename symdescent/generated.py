"""Generated code, apart from SymPy: the lowered form of f and ∇f, and the one place it is executed.

:mod:`symdescent.compile` prints SymPy expressions into a :class:`Lowered`;
:mod:`symdescent.cache` stores a :class:`Lowered` and :mod:`symdescent.warm`
loads it again. Keeping this module free of SymPy is what lets a warm run
start without importing SymPy at all. Everything :func:`define` executes is
text our own printer wrote (or a loop built from it), never the user's text.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable
from typing import Any, NamedTuple

ValueAndGrad = Callable[..., list[float]]


# A NamedTuple, not a frozen dataclass: a warm run defines it at start-up, ~7x cheaper.
class Lowered(NamedTuple):
    """Expressions as Python statements over the arguments ``_x0, _x1, …``.

    ``statements`` assign the common subexpressions; ``outputs`` are the
    expressions' source, in order, using them.
    """

    args: tuple[str, ...]
    statements: tuple[str, ...]
    outputs: tuple[str, ...]

    def source(self, name: str, result: str) -> str:
        """A ``def name(args): statements; return result`` where result formats ``{outputs}``."""
        body = [*self.statements, f"return {result.format(outputs=', '.join(self.outputs))}"]
        return f"def {name}({', '.join(self.args)}):\n" + "".join(f"    {line}\n" for line in body)


def _sigmoid(u: float) -> float:
    if u >= 0:
        return 1.0 / (1.0 + math.exp(-u))
    e = math.exp(u)  # no overflow for very negative u
    return e / (1.0 + e)


def _softplus(u: float) -> float:
    return max(u, 0.0) + math.log1p(math.exp(-abs(u)))


#: Names the generated float code may call besides ``math`` (see :mod:`symdescent.special`).
FLOAT_HELPERS: dict[str, Callable[[float], float]] = {"_sigmoid": _sigmoid, "_softplus": _softplus}


def define(source: str, name: str, namespace: dict[str, object] | None = None) -> Any:
    """Execute generated ``source`` (our printer's output, never user text) and return ``name``.

    ``Any``: what ``name`` is bound to (a function, or a tuple of them) is known only to the generated source;
    each caller states the type it built.
    """
    scope: dict[str, Any] = {"math": math, "cmath": cmath, **FLOAT_HELPERS, **(namespace or {})}
    exec(compile(source, f"<symdescent {name}>", "exec"), scope)
    return scope[name]


def value_and_grad_from(lowered: Lowered) -> ValueAndGrad:
    """``value_and_grad(*x) -> [f, df/dx1, …]`` from f and ∇f lowered together."""
    return define(lowered.source("value_and_grad", "[{outputs}]"), "value_and_grad")


def function_from(lowered: Lowered) -> Callable[..., float]:
    """One lowered expression as a float function."""
    return define(lowered.source("function", "{outputs}"), "function")


def functions_from(lowered: Lowered) -> Callable[..., list[float]]:
    """Several lowered expressions as one float function returning their values in a list."""
    return define(lowered.source("functions", "[{outputs}]"), "functions")


def rows_from(lowered: Lowered, n: int) -> Callable[..., tuple[tuple[float, ...], ...]]:
    """An n×n matrix (the Hessian), lowered row by row into one flat list, as a function returning its rows."""
    flat = functions_from(lowered)

    def rows(*x: float) -> tuple[tuple[float, ...], ...]:
        values = flat(*x)
        return tuple(tuple(float(v) for v in values[i * n : (i + 1) * n]) for i in range(n))

    return rows
