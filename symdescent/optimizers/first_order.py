"""First-order pieces and recipes: momentum, Nesterov, Adam, RMSprop, Adagrad.

The update rules and default hyperparameters are torch.optim's (which agree
with optax where both define them). Each recipe is a chain: a piece that
rescales the gradient, then ``scale_by_learning_rate``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from symdescent.optimizers.base import (
    Optimizer,
    Transform,
    Vector,
    chain,
    fraction,
    named,
    nonnegative,
    positive,
    scale_by_learning_rate,
)


def gd(lr: float = 0.1) -> Optimizer:
    """Gradient descent (Cauchy 1847): x ← x − α ∇f(x)."""
    lr = positive("lr", lr)
    return named("gd", {"lr": lr}, scale_by_learning_rate(lr))


class TraceState(NamedTuple):
    velocity: Vector


def trace(decay: float, nesterov: bool = False) -> Transform:
    """Heavy-ball velocity, as torch.optim.SGD (dampening 0).

    v ← μ v + g;  out = v, or with Nesterov out = g + μ v.
    """

    def init(x: Vector) -> TraceState:
        return TraceState(tuple(0.0 for _ in x))

    def update(updates: Vector, state: TraceState, x: Vector, **extra: Any) -> tuple[Vector, TraceState]:
        v = tuple(decay * vi + g for vi, g in zip(state.velocity, updates, strict=True))
        out = tuple(g + decay * vi for g, vi in zip(updates, v, strict=True)) if nesterov else v
        return out, TraceState(v)

    return Transform(init, update)


def momentum(lr: float = 0.1, momentum: float = 0.9) -> Optimizer:
    """Heavy ball (Polyak 1964): v ← μ v + ∇f(x);  x ← x − α v."""
    lr, momentum = positive("lr", lr), fraction("momentum", momentum)
    return named("momentum", {"lr": lr, "momentum": momentum}, chain(trace(momentum), scale_by_learning_rate(lr)))


def nesterov(lr: float = 0.1, momentum: float = 0.9) -> Optimizer:
    """Nesterov momentum (Sutskever et al. 2013, torch form): v ← μ v + ∇f(x);  x ← x − α (∇f(x) + μ v)."""
    lr, momentum = positive("lr", lr), fraction("momentum", momentum)
    transform = chain(trace(momentum, nesterov=True), scale_by_learning_rate(lr))
    return named("nesterov", {"lr": lr, "momentum": momentum}, transform)


class AdamState(NamedTuple):
    steps: int  # updates so far (not "count": that would hide tuple.count)
    mu: Vector
    nu: Vector


def scale_by_adam(b1: float, b2: float, eps: float) -> Transform:
    """Adam's rescaling (Kingma & Ba 2015, Algorithm 1).

    m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;
    m̂ = m / (1 − β₁ᵗ);  v̂ = v / (1 − β₂ᵗ);  out = m̂ / (√v̂ + ε).
    """

    def init(x: Vector) -> AdamState:
        zeros = tuple(0.0 for _ in x)
        return AdamState(0, zeros, zeros)

    def update(updates: Vector, state: AdamState, x: Vector, **extra: Any) -> tuple[Vector, AdamState]:
        t = state.steps + 1
        m = tuple(b1 * mi + (1 - b1) * g for mi, g in zip(state.mu, updates, strict=True))
        v = tuple(b2 * vi + (1 - b2) * g * g for vi, g in zip(state.nu, updates, strict=True))
        m_hat = tuple(mi / (1 - b1**t) for mi in m)
        v_hat = tuple(vi / (1 - b2**t) for vi in v)
        out = tuple(mh / (math.sqrt(vh) + eps) for mh, vh in zip(m_hat, v_hat, strict=True))
        return out, AdamState(t, m, v)

    return Transform(init, update)


def adam(lr: float = 0.1, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam: x ← x − α m̂ / (√v̂ + ε), with bias-corrected moment estimates m̂, v̂."""
    lr, eps = positive("lr", lr), positive("eps", eps)
    beta1, beta2 = fraction("beta1", beta1), fraction("beta2", beta2)
    params = {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps}
    return named("adam", params, chain(scale_by_adam(beta1, beta2, eps), scale_by_learning_rate(lr)))


class RmsState(NamedTuple):
    square_avg: Vector


def scale_by_rms(decay: float, eps: float) -> Transform:
    """RMSprop's rescaling (Hinton 2012; torch.optim.RMSprop): v ← ρ v + (1 − ρ) g²;  out = g / (√v + ε)."""

    def init(x: Vector) -> RmsState:
        return RmsState(tuple(0.0 for _ in x))

    def update(updates: Vector, state: RmsState, x: Vector, **extra: Any) -> tuple[Vector, RmsState]:
        v = tuple(decay * vi + (1 - decay) * g * g for vi, g in zip(state.square_avg, updates, strict=True))
        return tuple(g / (math.sqrt(vi) + eps) for g, vi in zip(updates, v, strict=True)), RmsState(v)

    return Transform(init, update)


def rmsprop(lr: float = 0.1, decay: float = 0.99, eps: float = 1e-8) -> Optimizer:
    """RMSprop: v ← ρ v + (1 − ρ) ∇f²;  x ← x − α ∇f / (√v + ε)."""
    lr, eps = positive("lr", lr), positive("eps", eps)
    decay = fraction("decay", decay)
    params = {"lr": lr, "decay": decay, "eps": eps}
    return named("rmsprop", params, chain(scale_by_rms(decay, eps), scale_by_learning_rate(lr)))


class SumOfSquaresState(NamedTuple):
    sum_of_squares: Vector


def scale_by_adagrad(eps: float, initial_accumulator_value: float = 0.0) -> Transform:
    """Adagrad's rescaling (Duchi et al. 2011; torch.optim.Adagrad): G ← G + g²;  out = g / (√G + ε)."""

    def init(x: Vector) -> SumOfSquaresState:
        return SumOfSquaresState(tuple(initial_accumulator_value for _ in x))

    def update(updates: Vector, state: SumOfSquaresState, x: Vector, **extra: Any) -> tuple[Vector, SumOfSquaresState]:
        total = tuple(s + g * g for s, g in zip(state.sum_of_squares, updates, strict=True))
        return tuple(g / (math.sqrt(s) + eps) for g, s in zip(updates, total, strict=True)), SumOfSquaresState(total)

    return Transform(init, update)


def adagrad(lr: float = 0.1, eps: float = 1e-10, initial_accumulator_value: float = 0.0) -> Optimizer:
    """Adagrad: G ← G + ∇f²;  x ← x − α ∇f / (√G + ε)."""
    lr, eps = positive("lr", lr), positive("eps", eps)
    initial = nonnegative("initial_accumulator_value", initial_accumulator_value)
    params = {"lr": lr, "eps": eps, "initial_accumulator_value": initial}
    return named("adagrad", params, chain(scale_by_adagrad(eps, initial), scale_by_learning_rate(lr)))
