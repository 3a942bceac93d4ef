"""Optimisers as pairs of pure functions, in the spirit of optax.

An :class:`Optimizer` is ``init(x) -> state`` and
``update(grad, state, x, **extra) -> (updates, state)``; the loop applies
``x <- x + updates``. State is a small immutable value; ``update`` never
mutates anything. Vectors are tuples of numbers.

    opt = make_optimizer("adam", lr=0.1)
    state = opt.init(x)
    updates, state = opt.update(grad, state, x, value=f, grad=grad, value_fn=f_of)
    x = tuple(xi + ui for xi, ui in zip(x, updates))

``extra`` carries what line searches and Newton need (f, the value
function, the Hessian, the symbolic f): see :mod:`symdescent.optimizers.base`.
Methods that need none of it ignore it. If the final state has an ``info``
field, the loop reports it in each step (for example the step length a line
search chose).

Maximisation is the loop's business: it hands ``update`` the gradient of
``-f`` and, for line searches, the value of ``-f``. Named methods are
recipes that ``chain`` small pieces; each is registered, with its name,
update rule and defaults, in :data:`symdescent.methods.METHODS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from symdescent.errors import InputError
from symdescent.methods import METHODS, UPDATE_RULES, method_spec
from symdescent.optimizers.base import (
    Optimizer,
    Transform,
    Vector,
    chain,
    named,
    positive,
    scale,
)
from symdescent.optimizers.first_order import adagrad, adam, gd, momentum, nesterov, rmsprop
from symdescent.optimizers.lbfgs import lbfgs_direction  # here: importing it later would rebind lbfgs below

# The line searches and Newton (with its Cholesky) are imported by the recipes that use them:
# a gd run, warm from the cache, starts without them.

__all__ = [
    "OPTIMIZERS",
    "UPDATE_RULES",
    "Optimizer",
    "Transform",
    "Vector",
    "adagrad",
    "adam",
    "backtracking",
    "cg",
    "chain",
    "exact_line",
    "gd",
    "hyperparameters_of",
    "lbfgs",
    "make_optimizer",
    "momentum",
    "nesterov",
    "newton",
    "positive",
    "rmsprop",
]


def backtracking(lr: float = 1.0, c1: float = 1e-4, shrink: float = 0.5) -> Optimizer:
    """Steepest descent with Armijo backtracking: α = lr, lr/2, … until f(x − α∇f) ≤ f − c₁ α ‖∇f‖²."""
    from symdescent.optimizers.linesearch import scale_by_backtracking

    lr = positive("lr", lr)
    params = {"lr": lr, "c1": c1, "shrink": shrink}
    transform = chain(scale(-1.0), scale_by_backtracking(lr, c1, shrink))
    return named("backtracking", params, transform, needs_extra=True)


def exact_line() -> Optimizer:
    """Steepest descent with exact line search: α = argmin_{α>0} f(x − α∇f)."""
    from symdescent.optimizers.linesearch import scale_by_exact_line

    return named("exact-line", {}, chain(scale(-1.0), scale_by_exact_line()), needs_extra=True)


def newton(c1: float = 1e-4, shrink: float = 0.5) -> Optimizer:
    """Newton's method: solve H d = −∇f, x ← x + α d, α from Armijo backtracking starting at 1.

    Where H is not positive definite, d = −∇f (reported as a fallback).
    """
    from symdescent.optimizers.linesearch import scale_by_backtracking
    from symdescent.optimizers.second_order import newton_direction

    transform = chain(scale(-1.0), newton_direction(), scale_by_backtracking(1.0, c1, shrink))
    return named("newton", {"c1": c1, "shrink": shrink}, transform, needs_extra=True)


def cg(c1: float = 1e-4, c2: float = 0.1, restart_every: int | None = None) -> Optimizer:
    """Nonlinear conjugate gradient, Polak–Ribière+, with a strong-Wolfe line search."""
    from symdescent.optimizers.linesearch import scale_by_strong_wolfe
    from symdescent.optimizers.second_order import polak_ribiere_direction

    params: dict[str, Any] = {"c1": c1, "c2": c2, "restart_every": restart_every or "n"}
    transform = chain(scale(-1.0), polak_ribiere_direction(restart_every), scale_by_strong_wolfe(c1, c2))
    return named("cg", params, transform, needs_extra=True)


def lbfgs(history: int = 10, c1: float = 1e-4, c2: float = 0.9) -> Optimizer:
    """L-BFGS: the two-loop recursion over the last ``history`` steps, then a strong-Wolfe search from α = 1."""
    from symdescent.optimizers.linesearch import scale_by_strong_wolfe

    whole = isinstance(history, int | float) and not isinstance(history, bool) and float(history).is_integer()
    if not whole or not 1 <= history <= 1000:
        raise InputError(f"history must be a whole number from 1 to 1000, got {history!r}", parameter="history")
    history = int(history)  # the command line gives numbers as floats
    params: dict[str, Any] = {"history": history, "c1": c1, "c2": c2}
    transform = chain(scale(-1.0), lbfgs_direction(history), scale_by_strong_wolfe(c1, c2, from_one=True))
    return named("lbfgs", params, transform, needs_extra=True)


#: Optimiser constructors by the name ``--method`` uses (read from :data:`symdescent.methods.METHODS`).
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {name: spec.builder() for name, spec in METHODS.items()}


def hyperparameters_of(method: str) -> tuple[str, ...]:
    """The keyword arguments a registered method accepts, e.g. ``("lr", "momentum")``."""
    return method_spec(method).hyperparameters


def make_optimizer(method: str, **hyperparameters: Any) -> Optimizer:
    """Build a registered optimiser by name, e.g. ``make_optimizer("gd", lr=0.1)``.

    Hyperparameters the method does not use are refused, so that a typo or
    a misunderstanding (``momentum`` for Adam) is not silently ignored.
    """
    spec = method_spec(method)
    accepted = spec.hyperparameters
    unused = [name for name in hyperparameters if name not in accepted]
    if unused:
        uses = ", ".join(accepted) if accepted else "no hyperparameters"
        raise InputError(
            f"{method} does not use {', '.join(map(str, unused))}",
            hint=f"{method} uses {uses}",
            parameter=str(unused[0]),
        )
    return OPTIMIZERS[spec.name](**hyperparameters)
