"""Fused, chunked optimiser steps with their state in arrays updated in place.

Each method is a small class: ``__init__`` allocates its state arrays ONCE
(x's length and dtype), ``begin()`` sets the per-step scalars (Adam's bias
corrections), and ``__call__(xv, g, a, b, ws)`` updates the chunk x[a:b] and
the state's [a:b] in place from the chunk's gradient g, using only the
chunk-sized scratch in ``ws``. The rules and defaults are those of
:mod:`symdescent.optimizers` (torch.optim's), which the tests replay step by
step.

Memory on top of x (arrays of n entries): gd 0, momentum 1, nesterov 1,
rmsprop 1, adagrad 1, adam 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symdescent.kernels.chunks import Workspace


class ArrayStep:
    """Base: hyperparameters from the scalar optimiser registry, state arrays of x's length."""

    name = ""
    state_arrays = 0

    def __init__(self, n: int, dtype: np.dtype, **hyper: Any) -> None:
        from symdescent.optimizers import make_optimizer  # validates and fills in the defaults

        self.params = dict(make_optimizer(self.name, **hyper).params)
        self.lr = float(self.params["lr"])
        self.state = [np.zeros(n, dtype) for _ in range(self.state_arrays)]
        self.count = 0

    def begin(self) -> None:
        self.count += 1

    def __call__(self, xv: np.ndarray, g: np.ndarray, a: int, b: int, ws: Workspace) -> None:
        raise NotImplementedError


class GD(ArrayStep):
    """x ← x − α g."""

    name = "gd"

    def __call__(self, xv, g, a, b, ws):
        u = ws.temp[: b - a]
        np.multiply(g, self.lr, out=u)
        np.subtract(xv, u, out=xv)


class Momentum(ArrayStep):
    """v ← μ v + g;  x ← x − α v  (nesterov: x ← x − α (g + μ v))."""

    name = "momentum"
    state_arrays = 1
    nesterov = False

    def __call__(self, xv, g, a, b, ws):
        mu = self.params["momentum"]
        v, u = self.state[0][a:b], ws.temp[: b - a]
        np.multiply(v, mu, out=v)
        np.add(v, g, out=v)
        if self.nesterov:
            np.multiply(v, mu, out=u)
            np.add(g, u, out=u)
            np.multiply(u, self.lr, out=u)
        else:
            np.multiply(v, self.lr, out=u)
        np.subtract(xv, u, out=xv)


class Nesterov(Momentum):
    name = "nesterov"
    nesterov = True


class Adam(ArrayStep):
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  x ← x − α m̂ / (√v̂ + ε)."""

    name = "adam"
    state_arrays = 2

    def begin(self) -> None:
        super().begin()
        self.c1 = 1 - self.params["beta1"] ** self.count
        self.c2 = 1 - self.params["beta2"] ** self.count

    def __call__(self, xv, g, a, b, ws):
        b1, b2, eps = self.params["beta1"], self.params["beta2"], self.params["eps"]
        m, v = self.state[0][a:b], self.state[1][a:b]
        u, w = ws.temp[: b - a], ws.temp2[: b - a]
        np.multiply(m, b1, out=m)
        np.multiply(g, 1 - b1, out=u)
        np.add(m, u, out=m)
        np.multiply(v, b2, out=v)
        np.square(g, out=u)
        np.multiply(u, 1 - b2, out=u)
        np.add(v, u, out=v)
        np.divide(v, self.c2, out=u)
        np.sqrt(u, out=u)
        np.add(u, eps, out=u)
        np.divide(m, self.c1, out=w)
        np.divide(w, u, out=w)
        np.multiply(w, self.lr, out=w)
        np.subtract(xv, w, out=xv)


class RMSprop(ArrayStep):
    """v ← ρv + (1−ρ)g²;  x ← x − α g / (√v + ε)."""

    name = "rmsprop"
    state_arrays = 1

    def __call__(self, xv, g, a, b, ws):
        rho, eps = self.params["decay"], self.params["eps"]
        v, u = self.state[0][a:b], ws.temp[: b - a]
        np.multiply(v, rho, out=v)
        np.square(g, out=u)
        np.multiply(u, 1 - rho, out=u)
        np.add(v, u, out=v)
        _scaled_descent(xv, g, v, u, self.lr, eps)


class Adagrad(ArrayStep):
    """G ← G + g²;  x ← x − α g / (√G + ε)."""

    name = "adagrad"
    state_arrays = 1

    def __init__(self, n: int, dtype: np.dtype, **hyper: Any) -> None:
        super().__init__(n, dtype, **hyper)
        self.state[0].fill(self.params["initial_accumulator_value"])

    def __call__(self, xv, g, a, b, ws):
        total, u = self.state[0][a:b], ws.temp[: b - a]
        np.square(g, out=u)
        np.add(total, u, out=total)
        _scaled_descent(xv, g, total, u, self.lr, self.params["eps"])


def _scaled_descent(xv: np.ndarray, g: np.ndarray, acc: np.ndarray, u: np.ndarray, lr: float, eps: float) -> None:
    """x ← x − lr · g / (√acc + eps), through the scratch u."""
    np.sqrt(acc, out=u)
    np.add(u, eps, out=u)
    np.divide(g, u, out=u)
    np.multiply(u, lr, out=u)
    np.subtract(xv, u, out=xv)


#: The methods the kernel engine runs, by the name ``--method`` uses.
ARRAY_STEPS: dict[str, type[ArrayStep]] = {cls.name: cls for cls in (GD, Momentum, Nesterov, Adam, RMSprop, Adagrad)}


def make_step(method: str, n: int, dtype: np.dtype | str = "float64", **hyper: Any) -> ArrayStep:
    """The fused step for ``method`` with state for n entries, e.g. ``make_step("adam", n, lr=0.01)``."""
    try:
        cls = ARRAY_STEPS[method]
    except KeyError:
        known = ", ".join(ARRAY_STEPS)
        raise ValueError(f"the kernel engine runs {known}, not {method!r}") from None
    return cls(n, np.dtype(dtype), **hyper)


def state_bytes(method: str, n: int, dtype: np.dtype | str = "float64") -> int:
    """Bytes of optimiser state for n entries (x itself not counted)."""
    return ARRAY_STEPS[method].state_arrays * n * np.dtype(dtype).itemsize
