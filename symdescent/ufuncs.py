"""numpy forms of the registry's functions that numpy has no ufunc for: ``sigmoid``, ``softplus``, ``erf``, ``sec``…

Each takes arrays (or numbers) and an optional ``out=`` array, like a numpy
ufunc, so that both array back-ends call them the way they call ``np.sin``:
the whole-array engine as ``f(u)``, the chunked kernel as ``f(u, out=t0)``
into its scratch buffer. The dtype of ``u`` is kept (float32 stays float32).
:data:`symdescent.functions.FUNCTIONS` names, for each function, either a
numpy ufunc or one of these (its ``array`` field).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

Array = Any  # a numpy array or a number


def _result(value: Array, out: Array | None) -> Array:
    if out is None:
        return value[()] if isinstance(value, np.ndarray) else value  # a number stays a number
    np.copyto(out, value, casting="unsafe")
    return out


def sigmoid(u: Array, out: Array | None = None) -> Array:
    """1/(1 + e^(−u)) without overflow: with e = e^(−|u|) ≤ 1 it is 1/(1 + e) for u ≥ 0 and e/(1 + e) below."""
    u = np.asarray(u)
    e = np.exp(-np.abs(u))
    return _result(np.where(u >= 0, 1.0, e) / (1.0 + e), out)


def softplus(u: Array, out: Array | None = None) -> Array:
    """ln(1 + eᵘ) = logaddexp(0, u): no overflow for large u, no loss for very negative u."""
    return _result(np.logaddexp(0.0, np.asarray(u)), out)


def sec(u: Array, out: Array | None = None) -> Array:
    return _result(1.0 / np.cos(u), out)


def csc(u: Array, out: Array | None = None) -> Array:
    return _result(1.0 / np.sin(u), out)


def cot(u: Array, out: Array | None = None) -> Array:
    """cos/sin rather than 1/tan: finite (0) at π/2, where tan is huge."""
    return _result(np.cos(u) / np.sin(u), out)


@functools.cache
def _special(name: str) -> Callable[[Array], Array]:
    """scipy's erf or erfc (ufuncs: fast, to the last bit); without scipy, math's, entry by entry.

    Imported on first use: scipy.special costs about 0.2 s to import, which every array problem
    would pay at start-up otherwise.
    """
    try:
        import scipy.special
    except ImportError:  # pragma: no cover - scipy is an optional extra
        return np.frompyfunc(getattr(math, name), 1, 1)
    return getattr(scipy.special, name)


def _exact_dtype(value: Array, like: Array) -> Array:
    dtype = like.dtype if isinstance(like, np.ndarray) and like.dtype.kind == "f" else np.float64
    return np.asarray(value).astype(dtype, copy=False)


def erf(u: Array, out: Array | None = None) -> Array:
    """The error function (2/√π)∫₀ᵘ e^(−t²) dt."""
    u = np.asarray(u)
    return _result(_exact_dtype(_special("erf")(u), u), out)


def erfc(u: Array, out: Array | None = None) -> Array:
    """1 − erf(u), accurate where erf(u) is near 1."""
    u = np.asarray(u)
    return _result(_exact_dtype(_special("erfc")(u), u), out)


def dirac_delta(u: Array, *order: Array, out: Array | None = None) -> Array:
    """δ(u) (or a derivative of it) on floats, as the scalar code has it: 0 where u ≠ 0, undefined (nan) at 0."""
    u = np.asarray(u)
    return _result(np.where(u != 0, 0.0, np.nan).astype(_exact_dtype(u, u).dtype, copy=False), out)
