"""Optimisers as pairs of pure functions, in the spirit of optax.

An :class:`Optimizer` is ``init(x) -> state`` and
``update(grad, state, x) -> (updates, state)``; the loop applies
``x <- x + updates``. State is a small immutable value; ``update`` never
mutates anything. Vectors are tuples of numbers, so the same code runs on
floats and, later, on exact rationals.

    opt = gd(lr=0.1)
    state = opt.init(x)
    updates, state = opt.update(grad, state, x)
    x = tuple(xi + ui for xi, ui in zip(x, updates))

Maximisation is the loop's business: it hands ``update`` the gradient of
``-f``. New methods register themselves in :data:`OPTIMIZERS` by name.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from symdescent.errors import InputError

Vector = tuple[float, ...]


class Optimizer(NamedTuple):
    """A named update rule with its hyperparameters."""

    name: str
    params: Mapping[str, Any]
    init: Callable[[Vector], Any]
    update: Callable[[Vector, Any, Vector], tuple[Vector, Any]]


def positive(name: str, value: float) -> float:
    """Check a hyperparameter is a positive finite number (a float, or an exact or mpmath number)."""
    if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive finite number, got {value}")
    return value


def gd(lr: float = 0.1) -> Optimizer:
    """Plain gradient descent: ``x <- x - lr * grad``."""
    lr = positive("the learning rate", lr)

    def init(x: Vector) -> tuple[()]:
        return ()

    def update(grad: Vector, state: tuple[()], x: Vector) -> tuple[Vector, tuple[()]]:
        return tuple(-lr * g for g in grad), state

    return Optimizer("gd", {"lr": lr}, init, update)


#: Optimiser constructors by the name ``--method`` uses.
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {"gd": gd}


def make_optimizer(method: str, **hyperparameters: Any) -> Optimizer:
    """Build a registered optimiser by name, e.g. ``make_optimizer("gd", lr=0.1)``."""
    try:
        constructor = OPTIMIZERS[method]
    except KeyError:
        known = ", ".join(OPTIMIZERS)
        raise InputError(f"unknown method {method!r}", hint=f"known methods: {known}") from None
    return constructor(**hyperparameters)
