"""Newton's method and nonlinear conjugate gradients: pieces that choose a direction.

Each takes the descent direction −∇f(x) as its input updates and returns a
better direction; a line search piece after it chooses the step length.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from symdescent.errors import InputError
from symdescent.hessian import cholesky, cholesky_solve
from symdescent.optimizers.base import Transform, Vector, axpy, dot

#: Beyond this, deriving the Hessian symbolically and factoring it in pure Python each step is too slow to wait for.
MAX_NEWTON_VARIABLES = 100


class NewtonState(NamedTuple):
    info: dict[str, Any] | None


def newton_direction() -> Transform:
    """The Newton direction d = −H⁻¹∇f, from solving H d = −∇f by Cholesky.

    Where the Hessian H is not clearly positive definite (a pivot below a
    relative threshold, see :func:`symdescent.hessian.cholesky`), d is not a
    reliable descent direction: the incoming −∇f is kept and ``info`` says so
    (``{"fallback": "gradient"}``).
    """

    def init(x: Vector) -> NewtonState:
        if len(x) > MAX_NEWTON_VARIABLES:
            raise InputError(
                f"newton needs the {len(x)}×{len(x)} Hessian at every step: at most {MAX_NEWTON_VARIABLES} variables",
                hint="try the method cg, which needs only the gradient",
            )
        return NewtonState(None)

    def update(minus_grad: Vector, state: NewtonState, x: Vector, **extra: Any) -> tuple[Vector, NewtonState]:
        hessian = extra["hessian_fn"](x)
        lower = cholesky(hessian)
        if lower is None:
            return minus_grad, NewtonState({"fallback": "gradient"})
        return cholesky_solve(lower, minus_grad), NewtonState(None)

    return Transform(init, update)


class ConjugateState(NamedTuple):
    steps: int  # updates so far (not "count": that would hide tuple.count)
    previous_grad: Vector | None
    previous_direction: Vector | None
    info: dict[str, Any] | None


def polak_ribiere_direction(restart_every: int | None = None) -> Transform:
    """Polak–Ribière+ conjugate directions (Nocedal & Wright, equation 5.45).

    β = max(0, ∇fₖᵀ(∇fₖ − ∇fₖ₋₁) / ‖∇fₖ₋₁‖²);  dₖ = −∇fₖ + β dₖ₋₁.
    Restarts with d = −∇f every n steps (n = number of variables unless
    given) and whenever dₖ is not a descent direction.
    """

    def init(x: Vector) -> ConjugateState:
        return ConjugateState(0, None, None, None)

    def update(minus_grad: Vector, state: ConjugateState, x: Vector, **extra: Any) -> tuple[Vector, ConjugateState]:
        grad = tuple(-g for g in minus_grad)
        every = restart_every or len(x)
        restart, beta, direction = True, 0.0, minus_grad
        if state.previous_grad is not None and state.previous_direction is not None and state.steps % every != 0:
            previous = state.previous_grad
            denominator = dot(previous, previous)
            if denominator > 0:
                beta = max(0.0, dot(grad, tuple(g - p for g, p in zip(grad, previous, strict=True))) / denominator)
                candidate = axpy(beta, state.previous_direction, minus_grad)
                if dot(grad, candidate) < 0:
                    restart, direction = False, candidate
                else:
                    beta = 0.0
        info = {"beta": beta, "restart": restart}
        return direction, ConjugateState(state.steps + 1, grad, direction, info)

    return Transform(init, update)
