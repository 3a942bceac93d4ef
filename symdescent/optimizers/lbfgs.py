"""L-BFGS: quasi-Newton steps from the last few gradients, the method scipy and torch users reach for first.

The direction is −Hₖ∇fₖ, where Hₖ approximates the inverse Hessian from the
last ``history`` pairs sₖ = xₖ₊₁ − xₖ, yₖ = ∇fₖ₊₁ − ∇fₖ by the two-loop
recursion (Nocedal & Wright, Algorithm 7.4), scaled by γ = sᵀy / yᵀy; the step
length comes from the strong-Wolfe line search, trying α = 1 first (the
direction is already scaled). A pair with sᵀy ≤ ε‖s‖‖y‖ (no positive
curvature along s) is skipped, as scipy does, so that Hₖ stays positive
definite; if the direction is nevertheless not downhill the memory is cleared
and the step is steepest descent.

The recursion is written once, over :class:`Ops` (dot, a·x + y, a·x), and
used both by the python back-end (tuples of numbers) and by the array
back-end (numpy arrays): one definition of the rule for every problem kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from symdescent.optimizers.base import Transform, Vector, axpy, dot, times

#: A pair is kept only if sᵀy > CURVATURE · ‖s‖·‖y‖ (scipy's L-BFGS-B uses eps·yᵀy; this is scale-free).
CURVATURE = 1e-10


class Ops(NamedTuple):
    """The vector arithmetic the recursion needs, for tuples or arrays."""

    dot: Callable[[Any, Any], float]
    axpy: Callable[[float, Any, Any], Any]  # a·x + y
    times: Callable[[float, Any], Any]  # a·x


TUPLES = Ops(dot, axpy, times)
ARRAYS = Ops(lambda a, b: float(a @ b), lambda a, x, y: a * x + y, lambda a, x: a * x)

Pair = tuple[Any, Any, float]  # s, y, 1/(sᵀy)


def two_loop(grad: Any, pairs: Sequence[Pair], ops: Ops) -> Any:
    """−Hₖ∇f by the two-loop recursion; −∇f when there are no pairs yet."""
    q = grad
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * ops.dot(s, q)
        q = ops.axpy(-a, y, q)
        alphas.append(a)
    gamma = 1.0
    if pairs:
        s, y, _ = pairs[-1]
        gamma = ops.dot(s, y) / ops.dot(y, y)
    r = ops.times(gamma, q)
    for (s, y, rho), a in zip(pairs, reversed(alphas), strict=True):
        b = rho * ops.dot(y, r)
        r = ops.axpy(a - b, s, r)
    return ops.times(-1.0, r)


def remember(pairs: Sequence[Pair], s: Any, y: Any, history: int, ops: Ops) -> tuple[tuple[Pair, ...], bool]:
    """The memory with (s, y) added (the oldest dropped beyond ``history``), unless it lacks curvature."""
    sy = ops.dot(s, y)
    if not (math.isfinite(sy) and sy > CURVATURE * math.sqrt(ops.dot(s, s) * ops.dot(y, y))):
        return tuple(pairs), False
    return (*pairs, (s, y, 1.0 / sy))[-history:], True


def next_direction(
    grad: Any, x: Any, previous: tuple[Any, Any] | None, pairs: Sequence[Pair], history: int, ops: Ops
) -> tuple[Any, tuple[Pair, ...], dict[str, Any]]:
    """One L-BFGS direction: the memory updated with the last step, then the two-loop recursion.

    ``previous`` is (x, ∇f) of the last point, None at the start. Returns the direction, the new memory
    and what happened (``{"memory": m}``, ``"skipped": True`` for a pair without curvature,
    ``"restart": True`` when the direction was not downhill and the memory was cleared).
    """
    info: dict[str, Any] = {}
    kept = tuple(pairs)
    if previous is not None:
        last_x, last_grad = previous
        kept, accepted = remember(kept, ops.axpy(-1.0, last_x, x), ops.axpy(-1.0, last_grad, grad), history, ops)
        if not accepted:
            info["skipped"] = True
    direction = two_loop(grad, kept, ops)
    if kept and not ops.dot(grad, direction) < 0:
        kept, direction = (), ops.times(-1.0, grad)
        info["restart"] = True
    info["memory"] = len(kept)
    return direction, kept, info


class LbfgsState(NamedTuple):
    previous: tuple[Vector, Vector] | None  # x and ∇f of the last point
    pairs: tuple[Pair, ...]
    info: dict[str, Any] | None


def lbfgs_direction(history: int = 10) -> Transform:
    """The python back-end's piece: −∇f in, the L-BFGS direction out (a line search piece follows)."""

    def init(x: Vector) -> LbfgsState:
        return LbfgsState(None, (), None)

    def update(minus_grad: Vector, state: LbfgsState, x: Vector, **extra: Any) -> tuple[Vector, LbfgsState]:
        grad = tuple(-g for g in minus_grad)
        direction, pairs, info = next_direction(grad, tuple(x), state.previous, state.pairs, history, TUPLES)
        return direction, LbfgsState((tuple(x), grad), pairs, info)

    return Transform(init, update)


def first_trial(d: Any, steps: int, norm: Callable[[Any], float]) -> float:
    """α to try first: 1 (the direction is scaled already), but at most 1/‖d‖ on the very first step."""
    return 1.0 if steps else min(1.0, 1.0 / max(norm(d), 1e-300))
