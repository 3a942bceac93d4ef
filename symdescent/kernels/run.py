"""``run_banded``: the optimisation loop on the kernel engine, without the vectors front end.

    for step, f, grad_norm in run_banded(terms, x0, method="gd", lr=0.1, steps=100, tol=1e-6):
        ...

x0 is updated IN PLACE (pass a copy to keep it): the loop holds x, the
optimiser's state arrays and chunk-sized scratch, nothing else of size n.
Step k reports f and ‖∇f‖ at x_k, like :func:`symdescent.iterate` (:mod:`symdescent.run`); the last
report is step ``steps`` (an evaluation without an update) unless ‖∇f‖ ≤ tol
or f stops being finite first. Each step is ONE pass over x: f, ∇f and the
update are fused, so when step k converges (‖∇f(x_k)‖ ≤ tol) x already holds
x_{k+1} = x_k − (update), which moves it by at most lr·tol for gd.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from symdescent.kernels.banded import BandedFunction, compile_banded
from symdescent.kernels.chunks import Progress
from symdescent.kernels.steps import make_step
from symdescent.kernels.terms import BandTerm


def run_banded(
    terms: Sequence[BandTerm] | BandedFunction,
    x0: np.ndarray,
    *,
    method: str = "gd",
    steps: int = 1000,
    tol: float = 1e-6,
    constant: float = 0.0,
    threads: int | None = None,
    params: Mapping[sp.Symbol, float] | None = None,
    progress: Progress | None = None,
    **hyperparameters: Any,
) -> Iterator[tuple[int, float, float]]:
    """Yield (step, f, ‖∇f‖) while updating ``x0`` in place; ``hyperparameters`` as for ``--method``.

    ``progress(fraction)`` is called between chunks with how far through the current step it is.
    """
    if steps < 0 or not (math.isfinite(tol) and tol >= 0):
        raise ValueError("steps must be >= 0 and tol a finite number >= 0")
    if isinstance(terms, BandedFunction):
        function = terms
    else:
        function = compile_banded(terms, constant, dtype=str(x0.dtype), threads=threads, params=params)
    function.check(x0)
    update = make_step(method, x0.shape[0], x0.dtype, **hyperparameters)
    for k in range(steps + 1):
        if k == steps:
            f, grad_norm = function.value_and_grad_norm(x0, progress=progress)
        else:
            f, grad_norm = function.step(x0, update, progress=progress)
        yield k, f, grad_norm
        if not (math.isfinite(f) and math.isfinite(grad_norm)) or (tol > 0 and grad_norm <= tol):
            return
