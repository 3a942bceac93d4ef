"""symdescent: see gradient descent work, step by step, on a function you type.

The public API::

    from symdescent import minimize, iterate, make_problem, parse

    result = minimize("x**2 + y**2", start=(1, 2), lr=0.1)
    result.x, result.f, result.steps, result.status, result.history

Names are loaded lazily so that ``symdescent --help`` does not pay for SymPy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Problem",
    "Result",
    "Run",
    "Status",
    "Step",
    "SymdescentError",
    "iterate",
    "make_problem",
    "minimize",
    "parse",
]

_HOMES = {
    "Problem": "symdescent.problem",
    "make_problem": "symdescent.problem",
    "Result": "symdescent.result",
    "Status": "symdescent.result",
    "Step": "symdescent.result",
    "Run": "symdescent.run",
    "iterate": "symdescent.run",
    "minimize": "symdescent.run",
    "parse": "symdescent.parsing",
    "SymdescentError": "symdescent.errors",
}

if TYPE_CHECKING:
    from symdescent.errors import SymdescentError
    from symdescent.parsing import parse
    from symdescent.problem import Problem, make_problem
    from symdescent.result import Result, Status, Step
    from symdescent.run import Run, iterate, minimize


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext symdescent`` in Jupyter: the ``%symdescent`` magic (see :mod:`symdescent.notebook`)."""
    from symdescent.notebook import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'symdescent' has no attribute {name!r}")
