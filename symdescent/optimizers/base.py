"""The pieces optimisers are built from: transforms, ``chain`` and small vector helpers.

A :class:`Transform` is optax's ``GradientTransformation``: ``init(x) ->
state`` and ``update(updates, state, x, **extra) -> (updates, state)``.
Pieces are chained: each one's output updates are the next one's input. The
first piece sees the gradient; the last one's output is added to x.

``extra`` is what the loop knows about the current point, passed by keyword
to every piece (a piece takes what it needs and ignores the rest):

``value``            f(x)
``grad``             ∇f(x) (the same numbers the chain started from)
``value_fn``         x -> f(x), ``inf`` where f is undefined
``value_and_grad_fn`` x -> (f(x), ∇f(x))
``hessian_fn``       x -> the Hessian at x, as a tuple of rows
``symbolic``         () -> (f as a SymPy expression, its symbols), built on first call

With ``--maximize`` all of these describe −f: every method minimises.

A piece whose state has an ``info`` field reports through it what it did
in the last update (a step length, a fallback); the loop puts the merged
infos of all pieces in :attr:`symdescent.result.Step.info`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard

from symdescent.errors import InputError

if TYPE_CHECKING:
    import numbers

Vector = tuple[float, ...]


class Transform(NamedTuple):
    """A pair of pure functions that turn incoming updates into outgoing ones."""

    init: Callable[[Vector], Any]
    update: Callable[..., tuple[Vector, Any]]


class Optimizer(NamedTuple):
    """A named update rule with its hyperparameters: what ``--method`` selects.

    ``needs_extra`` says whether ``update`` reads the loop's extra arguments
    (line searches, Newton); the loop skips building them for the others.
    An optimiser whose ``update`` is a bare :class:`Scale` is plain gradient
    descent, x ← x − lr·∇f, which the engine may run as a fused, generated
    loop (see :mod:`symdescent.engine`); any wrapper hides the Scale, and with
    it the fast path.
    """

    name: str
    params: Mapping[str, Any]
    init: Callable[[Vector], Any]
    update: Callable[..., tuple[Vector, Any]]
    needs_extra: bool = False


def named(name: str, params: Mapping[str, Any], transform: Transform, *, needs_extra: bool = False) -> Optimizer:
    """Give a transform the name and hyperparameters the output reports."""
    return Optimizer(name, dict(params), transform.init, transform.update, needs_extra)


class EmptyState(NamedTuple):
    pass


class ChainState(NamedTuple):
    """The states of a chain's pieces, in order."""

    inner: tuple[Any, ...]

    @property
    def info(self) -> dict[str, Any] | None:
        merged: dict[str, Any] = {}
        for state in self.inner:
            merged.update(getattr(state, "info", None) or {})
        return merged or None


def chain(*transforms: Transform) -> Transform:
    """Apply ``transforms`` one after the other, like ``optax.chain``."""

    def init(x: Vector) -> ChainState:
        return ChainState(tuple(t.init(x) for t in transforms))

    def update(updates: Vector, state: ChainState, x: Vector, **extra: Any) -> tuple[Vector, ChainState]:
        new_states = []
        for transform, inner in zip(transforms, state.inner, strict=True):
            updates, inner = transform.update(updates, inner, x, **extra)
            new_states.append(inner)
        return updates, ChainState(tuple(new_states))

    return Transform(init, update)


class Scale:
    """The update ``u -> factor · u`` (no state), with its factor in view.

    A class rather than a closure so that the engine can see that an
    optimiser is exactly this and nothing more, and read its factor.
    """

    __slots__ = ("factor",)

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def __call__(self, updates: Vector, state: Any, x: Vector, **extra: Any) -> tuple[Vector, Any]:
        factor = self.factor
        return tuple(factor * ui for ui in updates), state


def _empty(x: Vector) -> EmptyState:
    return EmptyState()


def scale(factor: float) -> Transform:
    """``u -> factor · u``."""
    return Transform(_empty, Scale(factor))


def scale_by_learning_rate(lr: float) -> Transform:
    """``u -> −lr · u``: turns a direction of ascent into a descent step."""
    return scale(-lr)


# -- small vector helpers (tuples, so exact numbers would work too) -----------------


def dot(a: Vector, b: Vector) -> float:
    # sum, not fsum: far from a minimum an overflow should give inf, not raise
    return sum(ai * bi for ai, bi in zip(a, b, strict=True))


def axpy(alpha: float, x: Vector, y: Vector) -> Vector:
    """``alpha · x + y``."""
    return tuple(alpha * xi + yi for xi, yi in zip(x, y, strict=True))


def times(alpha: float, x: Vector) -> Vector:
    return tuple(alpha * xi for xi in x)


# -- hyperparameter checks -----------------------------------------------------------


def real(value: object) -> TypeGuard[numbers.Real]:
    """``isinstance(value, numbers.Real)``, with floats and ints answered before the numbers module is imported."""
    if type(value) in (float, int):
        return True
    import numbers  # its abstract classes cost a warm run's start-up a little: only exact or numpy numbers get here

    return isinstance(value, numbers.Real)


def finite_real(value: object) -> bool:
    """A finite real number (not a bool); an int too big for a float is not finite here."""
    if isinstance(value, bool) or not real(value):
        return False
    try:
        return math.isfinite(value)
    except (OverflowError, TypeError, ValueError):
        return False


def positive(name: str, value: float) -> float:
    """Check a hyperparameter is a positive finite number (a float, or an exact or mpmath number)."""
    if not (finite_real(value) and value > 0):
        raise InputError(f"{name} must be a positive finite number, got {_shown(value)}", parameter=name)
    return value


def _shown(value: object) -> str:
    text = repr(value) if not real(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def fraction(name: str, value: float, *, open_low: bool = False) -> float:
    """Check a decay rate lies in [0, 1) (or (0, 1) when ``open_low``)."""
    ok = finite_real(value) and 0 <= value < 1
    if not ok or (open_low and value == 0):
        low = "(0" if open_low else "[0"
        raise InputError(f"{name} must lie in {low}, 1), got {_shown(value)}", parameter=name)
    return value


def nonnegative(name: str, value: float) -> float:
    if not (finite_real(value) and value >= 0):
        raise InputError(f"{name} must be 0 or a positive finite number, got {_shown(value)}", parameter=name)
    return value
