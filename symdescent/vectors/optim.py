"""The optimisers on numpy arrays: the same update rules and defaults as :mod:`symdescent.optimizers`.

The scalar optimisers keep their state in tuples of Python floats, one per
entry; here every state is an array. gd, momentum, nesterov, adam, rmsprop
and adagrad are NOT defined here: they run the kernel engine's fused steps
(:mod:`symdescent.kernels.steps`) on the whole array as one chunk, so the
two engines share one definition of each rule. Tests check each method against its scalar twin step by step on small
problems. ``make_array_method("adam", lr=0.1)`` returns an object with
``step(z, f, g) -> new z`` (z, g flat arrays) and ``info`` about the last step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from symdescent.errors import InputError
from symdescent.methods import METHODS
from symdescent.optimizers import hyperparameters_of, make_optimizer
from symdescent.optimizers.linesearch import armijo

ValueFn = Callable[[np.ndarray], float]
ValueAndGradFn = Callable[[np.ndarray], tuple[float, np.ndarray]]

#: Methods that work on arrays, from the one registry (exact-line needs a polynomial in named scalars;
#: newton only while the Hessian is small).
ARRAY_METHODS = tuple(name for name, spec in METHODS.items() if "array" in spec.backends)
#: The methods whose rule lives in :mod:`symdescent.kernels.steps` (one definition for both engines).
FUSED = tuple(name for name, spec in METHODS.items() if "kernel" in spec.backends)
#: Newton forms the dense Hessian: at most this many entries in all.
MAX_NEWTON_ENTRIES = 500


class ArrayMethod:
    """One optimiser run: its hyperparameters, its array state and what its last step did."""

    def __init__(
        self,
        name: str,
        params: dict[str, Any],
        value: ValueFn,
        value_and_grad: ValueAndGradFn,
        hessian: Callable[[np.ndarray], np.ndarray] | None,
    ) -> None:
        self.name, self.params = name, params
        self.value, self.value_and_grad, self.hessian = value, value_and_grad, hessian
        self.state: dict[str, Any] = {"t": 0}
        self.info: dict[str, Any] | None = None
        self.evaluations = {"f": 0, "grad": 0, "hessian": 0}
        self._update: Any = None
        self._workspace: Any = None

    def step(self, z: np.ndarray, f: float, g: np.ndarray) -> np.ndarray:
        self.state["t"] += 1
        if self.name in FUSED:
            return self._fused(z, g)
        return getattr(self, "_" + self.name.replace("-", "_"))(z, f, g, **self.params)

    def _zeros(self, key: str, like: np.ndarray, fill: float = 0.0) -> np.ndarray:
        if key not in self.state:
            self.state[key] = np.full_like(like, fill)
        return self.state[key]

    def _fused(self, z: np.ndarray, g: np.ndarray) -> np.ndarray:
        """gd, momentum, nesterov, adam, rmsprop, adagrad: the kernel engine's rule (kernels/steps.py) on the
        whole array as one chunk, so that each rule has ONE definition whichever engine runs it."""
        if self._update is None:
            from symdescent.kernels.chunks import Workspace
            from symdescent.kernels.steps import make_step

            self._update = make_step(self.name, z.size, z.dtype, **self.params)
            self._workspace = Workspace([], z[:0], z[:1], z[:0], np.empty_like(z), np.empty_like(z))
        new = z.copy()
        self._update.begin()
        self._update(new, g, 0, z.size, self._workspace)
        return new

    def _phi(self, z: np.ndarray, d: np.ndarray) -> Callable[[float], float]:
        """f along z + α·d, counted: what the line searches of :mod:`symdescent.optimizers.linesearch` take."""

        def phi(alpha: float) -> float:
            self.evaluations["f"] += 1
            return self.value(z + alpha * d)

        return phi

    def _backtracking(self, z: np.ndarray, f: float, g: np.ndarray, lr: float, c1: float, shrink: float) -> np.ndarray:
        alpha, count, ok = armijo(self._phi(z, -g), f, -float(g @ g), lr, c1, shrink)
        self.info = {"alpha": alpha, "nfev": count, **({} if ok else {"armijo": False})}
        return z - alpha * g

    def _newton(self, z: np.ndarray, f: float, g: np.ndarray, c1: float, shrink: float) -> np.ndarray:
        assert self.hessian is not None
        self.evaluations["hessian"] += 1
        matrix = self.hessian(z)
        try:
            lower = np.linalg.cholesky(matrix)
            direction = -np.linalg.solve(lower.T, np.linalg.solve(lower, g))
            fallback = None
        except np.linalg.LinAlgError:
            direction, fallback = -g, {"fallback": "gradient"}
        alpha, count, ok = armijo(self._phi(z, direction), f, float(g @ direction), 1.0, c1, shrink)
        self.info = {"alpha": alpha, "nfev": count, **(fallback or {}), **({} if ok else {"armijo": False})}
        return z + alpha * direction

    def _cg(
        self, z: np.ndarray, f: float, g: np.ndarray, c1: float, c2: float, restart_every: int | str | None
    ) -> np.ndarray:
        state = self.state
        every = restart_every if isinstance(restart_every, int) else z.size
        direction, beta, restart = -g, 0.0, True
        previous, last = state.get("g"), state.get("d")
        if previous is not None and last is not None and (state["t"] - 1) % every != 0:
            denominator = float(previous @ previous)
            if denominator > 0:
                beta = max(0.0, float(g @ (g - previous)) / denominator)
                candidate = -g + beta * last
                if float(g @ candidate) < 0:
                    direction, restart = candidate, False
                else:
                    beta = 0.0
        slope = float(g @ direction)
        if math.isfinite(state.get("alpha", math.nan)) and slope < 0:
            initial = min(1.0, 1.01 * state["alpha"] * state["slope"] / slope)
        else:
            initial = min(1.0, 1.0 / max(float(np.linalg.norm(direction)), 1e-300))
        alpha, count, ok = self._strong_wolfe(z, direction, f, slope, initial, c1, c2)
        state.update(g=g.copy(), d=direction, alpha=alpha, slope=slope)
        self.info = {"beta": beta, "restart": restart, "alpha": alpha, "nfev": count, "ngev": count}
        if not ok:
            self.info["wolfe"] = False
        return z + alpha * direction

    def _lbfgs(self, z: np.ndarray, f: float, g: np.ndarray, history: int, c1: float, c2: float) -> np.ndarray:
        """L-BFGS: the recursion of :mod:`symdescent.optimizers.lbfgs` (one definition) on arrays."""
        from symdescent.optimizers.lbfgs import ARRAYS, first_trial, next_direction

        state = self.state
        direction, state["pairs"], info = next_direction(
            g, z, state.get("previous"), state.get("pairs", ()), int(history), ARRAYS
        )
        slope = float(g @ direction)
        initial = first_trial(direction, state["t"] - 1, lambda v: float(np.linalg.norm(v)))
        alpha, count, ok = self._strong_wolfe(z, direction, f, slope, initial, c1, c2)
        state["previous"] = (z.copy(), g.copy())
        self.info = {**info, "alpha": alpha, "nfev": count, "ngev": count}
        if not ok:
            self.info["wolfe"] = False
        return z + alpha * direction

    def _strong_wolfe(
        self,
        z: np.ndarray,
        d: np.ndarray,
        f0: float,
        slope0: float,
        initial: float,
        c1: float,
        c2: float,
        max_evaluations: int = 40,
    ) -> tuple[float, int, bool]:
        """Nocedal & Wright, Algorithms 3.5 and 3.6: :func:`symdescent.optimizers.linesearch.wolfe_search`."""
        from symdescent.optimizers.linesearch import wolfe_search

        def phi(alpha: float) -> tuple[float, float]:
            self.evaluations["f"] += 1
            self.evaluations["grad"] += 1
            f, g = self.value_and_grad(z + alpha * d)
            return f, (float(g @ d) if math.isfinite(f) else math.nan)

        return wolfe_search(phi, f0, slope0, initial, c1, c2, max_evaluations)


def make_array_method(
    method: str,
    value: ValueFn,
    value_and_grad: ValueAndGradFn,
    hessian: Callable[[np.ndarray], np.ndarray] | None = None,
    size: int = 0,
    **hyperparameters: Any,
) -> ArrayMethod:
    """The array twin of ``make_optimizer(method, **hyperparameters)``: same checks, same defaults."""
    if method not in ARRAY_METHODS:
        raise InputError(
            f"method {method} is not available for vector problems",
            hint=f"vector problems can use {', '.join(ARRAY_METHODS)}",
            parameter="method",
        )
    if method == "newton" and size > MAX_NEWTON_ENTRIES:
        raise InputError(
            f"newton needs the {size}×{size} Hessian at every step: at most {MAX_NEWTON_ENTRIES} entries",
            hint="try method cg, which needs only the gradient",
            parameter="method",
        )
    scalar = make_optimizer(method, **hyperparameters)  # validates and fills in the defaults
    params = {k: v for k, v in scalar.params.items() if k in hyperparameters_of(method)}
    return ArrayMethod(method, params, value, value_and_grad, hessian)
