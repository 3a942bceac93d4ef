"""A cheaper first SymPy sum for the command line: ``sympy.tensor.tensor`` loads only if really used.

``Add.flatten`` (every sum SymPy builds) starts with
``from sympy.tensor.tensor import TensExpr, TensAdd``, only to ask
``isinstance(term, TensExpr)``. That import pulls in ``sympy.combinatorics``
and builds its polyhedra: about 60 ms, a tenth of a cold run, that
``import sympy`` alone does not pay and that no symdescent function ever
needs (they have no tensors).

:func:`defer_tensor_module` puts a stand-in in ``sys.modules`` whose
``TensExpr`` and ``TensAdd`` are classes nothing is an instance of, so the
check answers False at once, as it would for any non-tensor term. Asking
the stand-in for any other name loads the real module in its place first,
so code that does use tensors gets the real thing (and from then on
``Add.flatten`` imports the real classes too: it imports them at each call).
Only the command line installs it, never the library, and only before
SymPy has loaded the real module.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

NAME = "sympy.tensor.tensor"


class _NoTensor:
    """Stands for ``TensExpr``/``TensAdd`` until the real module loads: nothing is an instance of it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("sympy.tensor.tensor was not loaded; this stand-in is never constructed")


class _Deferred(ModuleType):
    TensExpr = _NoTensor
    TensAdd = _NoTensor

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system asks for __path__, __spec__…: not a use of tensors
            raise AttributeError(name)
        return getattr(_load_real(), name)


def _load_real() -> ModuleType:
    if isinstance(sys.modules.get(NAME), _Deferred):
        del sys.modules[NAME]
    return importlib.import_module(NAME)


def defer_tensor_module() -> None:
    """Install the stand-in, unless SymPy's real tensor module is already loaded."""
    if NAME not in sys.modules:
        sys.modules[NAME] = _Deferred(NAME)
