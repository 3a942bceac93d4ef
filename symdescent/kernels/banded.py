"""``compile_banded``: banded terms -> a :class:`BandedFunction` evaluated chunk by chunk.

    f = compile_banded([BandTerm((x0 - 1)**2, {0: x0})])
    x = np.full(10**7, 3.0)
    value, grad_norm = f.gd_step(x, 0.1)      # f, ‖∇f‖ at x; then x ← x − 0.1 ∇f(x), in place

The symbolic work (differentiating each body by its offset symbols, printing
the kernel) is done here, once, on the terms: it does not depend on n.
Evaluation never makes an array of n entries besides those the caller
passes (x, ``grad_out``) and the optimiser's own state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import sympy as sp

from symdescent.kernels.chunks import CHUNK, Kernel, Progress, Sweeper
from symdescent.kernels.codegen import generate
from symdescent.kernels.fused import RULES, FusedStepper
from symdescent.kernels.jit import BACKENDS, choose_backend, compile_numba
from symdescent.kernels.steps import GD, ArrayStep
from symdescent.kernels.terms import BandTerm, differentiate, halo

#: The dtypes the engine evaluates in.
DTYPES = ("float64", "float32")


class BandedFunction:
    """f(x) = constant + Σ banded terms, with chunked, threaded, in-place evaluation."""

    def __init__(
        self,
        terms: Sequence[BandTerm],
        constant: float = 0.0,
        *,
        dtype: str = "float64",
        threads: int | None = None,
        params: Mapping[sp.Symbol, float] | None = None,
        chunk: int = CHUNK,
        backend: str = "auto",
    ) -> None:
        """Differentiate the terms and generate the chunk kernels once.

        ``threads`` limits the threads (default: ``$SYMDESCENT_THREADS``, else every core this process
        may use); ``params`` gives values to parameter symbols in the bodies; ``chunk`` is for tests;
        ``backend`` is ``numpy``, ``numba`` (optional extra) or ``auto`` (numba for long vectors when installed,
        ``$SYMDESCENT_KERNEL`` overrides).
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if str(dtype) not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        if chunk < 1:
            raise ValueError(f"the chunk size must be at least 1, got {chunk}")
        self.terms = differentiate(terms, params)
        self.constant = float(constant)
        self.dtype = np.dtype(dtype)
        self.halo = halo(self.terms)
        kernels = generate(self.terms)
        self.source = kernels.source
        self.backend = backend
        self._kernels = {"numpy": Kernel(kernels.grad, kernels.value, kernels.buffers, self.halo)}
        self.sweeper = Sweeper(self._kernels["numpy"], self.dtype, threads, chunk, select=self.kernel_for)
        self.last_backend = ""
        #: whether the last step ran the fused numba pass (:mod:`symdescent.kernels.fused`)
        self.last_fused = False
        self._fused: FusedStepper | None = None

    def kernel_for(self, n: int) -> Kernel:
        """The numpy kernel, or the numba one (compiled on first use) where :func:`choose_backend` says so."""
        name = choose_backend(self.backend, n)
        if name not in self._kernels:
            grad, value = compile_numba(self.terms)
            self._kernels[name] = Kernel(grad, value, self._kernels["numpy"].buffers, self.halo)
        self.last_backend = name
        return self._kernels[name]

    @property
    def fraction_done(self) -> float | None:
        """How far the evaluation or step in progress has got (0..1); None when none is running."""
        if self._fused is not None and self._fused.fraction_done is not None:
            return self._fused.fraction_done
        return self.sweeper.fraction_done

    def _fused_step(
        self, x: np.ndarray, update: ArrayStep, progress: Progress | None, after: bool
    ) -> tuple[float, float, float, float] | None:
        """The step as ONE numba pass when the numba backend is chosen for x's length, else None."""
        self.last_fused = False
        if self.kernel_for(x.shape[0]) is self._kernels["numpy"] or update.name not in RULES:
            return None
        if self._fused is None:
            self._fused = FusedStepper(self.terms, self.halo, self.sweeper)
        self.last_fused = True
        return self._fused.step(x, update, after=after, progress=progress)

    @property
    def threads(self) -> int:
        """The most threads a sweep uses (one per :data:`~symdescent.kernels.chunks.MIN_PER_THREAD` entries)."""
        return self.sweeper.threads

    def check(self, x: np.ndarray) -> None:
        """Refuse what the kernels cannot work on in place: wrong dtype, not 1-D, not contiguous."""
        if not isinstance(x, np.ndarray) or x.ndim != 1:
            raise TypeError("x must be a one-dimensional numpy array")
        if x.dtype != self.dtype:
            raise TypeError(f"x must have dtype {self.dtype}, got {x.dtype}")
        if not x.flags.c_contiguous:
            raise TypeError("x must be contiguous (np.ascontiguousarray)")

    def value(self, x: np.ndarray, *, progress: Progress | None = None) -> float:
        """f(x)."""
        self.check(x)
        f, _ = self.sweeper.sweep(x, want_grad=False, progress=progress)
        return self.constant + f

    def value_and_grad(self, x: np.ndarray, grad_out: np.ndarray, *, progress: Progress | None = None) -> float:
        """f(x), with ∇f(x) written into ``grad_out`` (same shape and dtype as x)."""
        self.check(x)
        self.check(grad_out)
        if grad_out.shape != x.shape:
            raise ValueError(f"grad_out has {grad_out.shape[0]} entries but x has {x.shape[0]}")
        f, _ = self.sweeper.sweep(x, grad_out=grad_out, progress=progress)
        return self.constant + f

    def value_and_grad_norm(self, x: np.ndarray, *, progress: Progress | None = None) -> tuple[float, float]:
        """f(x) and ‖∇f(x)‖ without storing the gradient."""
        self.check(x)
        f, gsq = self.sweeper.sweep(x, progress=progress)
        return self.constant + f, float(np.sqrt(gsq))

    def step(self, x: np.ndarray, update: ArrayStep, *, progress: Progress | None = None) -> tuple[float, float]:
        """f and ‖∇f‖ at x, then x updated in place by the optimiser step ``update`` (one pass)."""
        self.check(x)
        update.begin()
        fused = self._fused_step(x, update, progress, after=False)
        f, gsq = fused[:2] if fused is not None else self.sweeper.sweep(x, update=update, progress=progress)
        return self.constant + f, float(np.sqrt(gsq))

    def step_and_evaluate(
        self, x: np.ndarray, update: ArrayStep, *, progress: Progress | None = None
    ) -> tuple[float, float, float, float]:
        """As :meth:`step`, and f and ‖∇f‖ at the UPDATED x too, in the same pass (elementwise f, halo 0, only).

        Returns (f(x_k), ‖∇f(x_k)‖, f(x_{k+1}), ‖∇f(x_{k+1})‖): a run can test convergence at x_{k+1} before it
        applies the next update, at the cost of a second kernel call per chunk (in cache), not a second pass.
        """
        self.check(x)
        if self.halo:
            raise ValueError("evaluation after the update needs an update and an elementwise function (halo 0)")
        update.begin()
        after: list[float] = []
        fused = self._fused_step(x, update, progress, after=True)
        if fused is not None:
            f, gsq, *after = fused
        else:
            f, gsq = self.sweeper.sweep(x, update=update, progress=progress, after=after)
        return self.constant + f, float(np.sqrt(gsq)), self.constant + after[0], float(np.sqrt(after[1]))

    def gd_step(self, x: np.ndarray, lr: float, *, progress: Progress | None = None) -> tuple[float, float]:
        """f and ‖∇f‖ at x, then x ← x − lr·∇f(x) in place, without a full-size gradient array."""
        return self.step(x, GD(0, self.dtype, lr=lr), progress=progress)

    def close(self) -> None:
        """Stop the worker threads (they are also stopped at exit)."""
        self.sweeper.close()


#: Differentiate the terms and generate the chunk kernels once (the name the engines call it by).
compile_banded = BandedFunction
