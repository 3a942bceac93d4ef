"""symdescent: see gradient descent work, step by step, on a function you type.

The public API::

    from symdescent import minimize, iterate, make_problem, parse

    result = minimize("x**2 + y**2", start=(1, 2), lr=0.1)
    result.x, result.f, result.steps, result.status, result.history

Names are loaded lazily so that ``symdescent --help`` does not pay for SymPy.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
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
    "Run": "symdescent.iterate",
    "iterate": "symdescent.iterate",
    "minimize": "symdescent.iterate",
    "parse": "symdescent.parsing",
    "SymdescentError": "symdescent.errors",
}

if TYPE_CHECKING:
    from symdescent.errors import SymdescentError
    from symdescent.iterate import Run, iterate, minimize
    from symdescent.parsing import parse
    from symdescent.problem import Problem, make_problem
    from symdescent.result import Result, Status, Step


class _Package(ModuleType):
    """Keeps ``symdescent.iterate`` the function once the submodule of the same name is imported.

    Importing ``symdescent.iterate`` (the module) makes Python set the
    package attribute ``iterate`` to that module, which would shadow the
    function for every later ``from symdescent import iterate``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOMES and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        module = import_module(_HOMES[name])
        # Bind every public name from that module now: importing ``symdescent.iterate`` has just
        # set the package attribute ``iterate`` to the module, which must not hide the function.
        globals().update({n: getattr(module, n) for n, home in _HOMES.items() if home == module.__name__})
        return globals()[name]
    raise AttributeError(f"module 'symdescent' has no attribute {name!r}")
