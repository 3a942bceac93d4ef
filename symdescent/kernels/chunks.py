"""Drive a chunk kernel over a whole vector: chunks, halos, threads, progress.

x is split into one contiguous block per thread and each block into chunks
of :data:`CHUNK` entries (small enough that a chunk's scratch buffers stay
in cache). Every chunk is evaluated from a window of x that
reaches ``halo`` entries to either side.

In-place updates are the subtle part: a chunk's gradient needs the OLD
values of its neighbours, but the chunk before it has already written its
new ones. So each thread keeps the old values of the last ``halo`` entries
of the chunk it just read (the carry) and builds the next window from the
carry, the untouched entries of x and, at the end of its block, a copy of
the next block's first ``halo`` entries taken before any thread started.
With halo 0 (elementwise functions) the window is x itself.

Progress: between chunks the calling thread sets :attr:`Sweeper.fraction_done` (for a display that
polls, such as the live line in ``render/progress.py``) and calls the ``progress`` callback if one is given.

Threads: numpy releases the GIL inside ufuncs, so a plain thread pool over
blocks uses every core. :func:`max_threads` reads ``SYMDESCENT_THREADS``;
a sweep uses one thread per :data:`MIN_PER_THREAD` entries, at most that.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from symdescent import settings
from symdescent.errors import InputError

#: Entries per chunk: 32768 float64 = 256 KB per buffer; a chunk's buffers stay in L2/L3 cache, and the
#: numpy call overhead (about 1 µs per ufunc call) is small next to the work (measured: 8192 to 65536).
CHUNK = 32768

#: Below this many entries per thread, starting a thread costs more than it saves.
MIN_PER_THREAD = 1 << 18

#: The environment variable that limits the number of threads.
THREADS_ENV = "SYMDESCENT_THREADS"

#: ``update(x[a:b], g, a, b, workspace)``: write the new x[a:b] in place from the chunk's gradient g.
Update = Callable[[np.ndarray, np.ndarray, int, int, "Workspace"], None]
Progress = Callable[[float], None]
T = TypeVar("T")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def max_threads(requested: int | None = None) -> int:
    """Threads to use at most: ``requested``, else ``$SYMDESCENT_THREADS``, else the cores we may run on.

    The variable never gives more than those cores: a thread beyond them only waits for one (10⁹ asked for would start
    one thread per 2¹⁸ entries, hundreds, each with its scratch buffers, for no speed).
    """
    if requested is None:
        wanted = settings.threads()
        return usable_cores() if wanted is None else min(wanted, usable_cores())
    if requested < 1:
        raise InputError(f"threads must be at least 1, got {requested}", parameter="threads")
    return requested  # a caller's own number (tests split small vectors on purpose)


#: np.dot on at most this many entries at a time: OpenBLAS runs a longer dot product on threads of its
#: own (above 10000 entries), which fight ours; below it, dot is the fastest sum of squares numpy has.
DOT_PIECE = 8192


def sum_of_squares(g: np.ndarray, temp: np.ndarray) -> float:
    """Σ g², accumulated in float64 (float32 entries are squared and summed in float64)."""
    if g.dtype != np.float64:
        return float(np.square(g, out=temp[: g.shape[0]]).sum(dtype=np.float64))
    total = 0.0
    for start in range(0, g.shape[0], DOT_PIECE):
        piece = g[start : start + DOT_PIECE]
        total += float(np.dot(piece, piece))
    return total


@dataclass
class Workspace:
    """One thread's scratch: kernel buffers, the window, the carry, a gradient chunk and update temporaries."""

    buffers: list[np.ndarray]
    window: np.ndarray
    carry: np.ndarray
    grad: np.ndarray
    temp: np.ndarray
    temp2: np.ndarray

    @classmethod
    def allocate(cls, count: int, chunk: int, halo: int, dtype: np.dtype) -> Workspace:
        size = chunk + 2 * halo
        return cls(
            [np.empty(size, dtype) for _ in range(count)],
            np.empty(size, dtype),
            np.empty(max(halo, 1), dtype),
            np.empty(chunk, dtype),
            np.empty(chunk, dtype),
            np.empty(chunk, dtype),
        )


@dataclass(frozen=True)
class Kernel:
    """The generated chunk functions with what the driver needs to know about them."""

    grad: Callable[..., float]
    value: Callable[..., float]
    buffers: int
    halo: int


class Sweeper:
    """Runs a :class:`Kernel` over x in chunks and blocks; owns the threads and the scratch memory."""

    def __init__(
        self,
        kernel: Kernel,
        dtype: np.dtype,
        threads: int | None = None,
        chunk: int = CHUNK,
        select: Callable[[int], Kernel] | None = None,
    ) -> None:
        self.kernel = kernel
        self.select = select  # n -> the kernel to use for that length (the numpy one by default)
        self.dtype = np.dtype(dtype)
        self.threads = max_threads(threads)
        self.chunk = chunk
        self._workspaces: list[Workspace] = []
        #: how far the sweep in progress has got (0..1), None between sweeps: for a display that polls
        self.fraction_done: float | None = None
        self._pool: ThreadPoolExecutor | None = None

    def threads_for(self, n: int) -> int:
        return max(1, min(self.threads, n // MIN_PER_THREAD))

    def workspace(self, index: int) -> Workspace:
        while len(self._workspaces) <= index:
            self._workspaces.append(Workspace.allocate(self.kernel.buffers, self.chunk, self.kernel.halo, self.dtype))
        return self._workspaces[index]

    def blocks(self, n: int) -> list[tuple[int, int]]:
        """One contiguous block per thread, on chunk boundaries."""
        chunks = -(-n // self.chunk)
        count = max(1, min(self.threads_for(n), chunks))
        edges = [min(n, (chunks * k // count) * self.chunk) for k in range(count + 1)]
        return [(edges[k], edges[k + 1]) for k in range(count) if edges[k + 1] > edges[k]]

    def sweep(
        self,
        x: np.ndarray,
        *,
        want_grad: bool = True,
        grad_out: np.ndarray | None = None,
        update: Update | None = None,
        progress: Progress | None = None,
        after: list[float] | None = None,
    ) -> tuple[float, float]:
        """Sum of the bodies and Σ g² over x; g into ``grad_out`` and/or x updated in place by ``update``.

        ``after`` (halo 0 with an update only): a list that receives [f, Σ g²] at the UPDATED x, computed
        chunk by chunk while the chunk is still in cache, so that a run knows ‖∇f(x_{k+1})‖ after one pass.
        """
        if after is not None and (update is None or self.kernel.halo):
            raise ValueError("evaluation after the update needs an update and an elementwise function (halo 0)")
        n = x.shape[0]
        halo = self.kernel.halo
        kernel = self.select(n) if self.select is not None else self.kernel
        blocks = self.blocks(n)
        # old values at block edges, copied before any thread writes (only needed when x changes)
        saved = None
        if update is not None and halo:
            saved = [(x[max(0, a - halo) : a].copy(), x[b : min(n, b + halo)].copy()) for a, b in blocks]
        total = sum(-(-(b - a) // self.chunk) for a, b in blocks)
        done = [0] * len(blocks)

        def report() -> None:
            self.fraction_done = min(1.0, sum(done) / total)
            if progress is not None:
                progress(self.fraction_done)

        def run(index: int) -> tuple[float, float, float, float]:
            a, b = blocks[index]
            edges = saved[index] if saved is not None else None
            tick = report if index == 0 else None  # only the calling thread reports
            with np.errstate(all="ignore"):  # overflow is reported as inf/nan in f, as the scalar loop does
                return self._block(
                    kernel,
                    x,
                    a,
                    b,
                    edges,
                    self.workspace(index),
                    want_grad,
                    grad_out,
                    update,
                    done,
                    index,
                    tick,
                    after is not None,
                )

        results = self.on_threads(run, len(blocks))
        self.fraction_done = None
        if progress is not None:
            progress(1.0)
        if after is not None:
            after[:] = [sum(r[2] for r in results), sum(r[3] for r in results)]
        return sum(r[0] for r in results), sum(r[1] for r in results)

    def on_threads(self, run: Callable[[int], T], count: int) -> list[T]:
        """[run(0), …, run(count − 1)], run(0) on the calling thread and the others on the pool."""
        if count == 1:
            return [run(0)]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.threads - 1, thread_name_prefix="symdescent")
        futures = [self._pool.submit(run, k) for k in range(1, count)]
        return [run(0)] + [fut.result() for fut in futures]

    def _block(
        self,
        kernel: Kernel,
        x: np.ndarray,
        start: int,
        stop: int,
        edges: tuple[np.ndarray, np.ndarray] | None,
        ws: Workspace,
        want_grad: bool,
        grad_out: np.ndarray | None,
        update: Update | None,
        done: list[int],
        index: int,
        tick: Callable[[], None] | None,
        after: bool = False,
    ) -> tuple[float, float, float, float]:
        n, halo, chunk = x.shape[0], self.kernel.halo, self.chunk
        grad_kernel, value_kernel, buffers = kernel.grad, kernel.value, ws.buffers
        f = gsq = f_after = gsq_after = 0.0
        copy_window = update is not None and halo > 0
        carry = edges[0] if edges is not None else None
        for a in range(start, stop, chunk):
            b = min(a + chunk, stop)
            lo, hi = max(0, a - halo), min(n, b + halo)
            if copy_window:
                xw = self._window(x, ws, a, b, lo, hi, stop, carry, edges)
                keep = max(0, b - halo)
                ws.carry[: b - keep] = xw[keep - lo : b - lo]
                carry = ws.carry[: b - keep]
            else:
                xw = x[lo:hi]
            if want_grad:
                g = grad_out[a:b] if grad_out is not None else ws.grad[: b - a]
                f += grad_kernel(xw, lo, a, b, n, g, buffers)
                gsq += sum_of_squares(g, ws.temp)
                if update is not None:
                    update(x[a:b], g, a, b, ws)
                    if after:  # halo 0: the window is x[a:b] itself, now holding the new values
                        f_after += grad_kernel(x[a:b], a, a, b, n, g, buffers)
                        gsq_after += sum_of_squares(g, ws.temp)
            else:
                f += value_kernel(xw, lo, a, b, n, buffers)
            done[index] += 1
            if tick is not None:
                tick()
        return f, gsq, f_after, gsq_after

    @staticmethod
    def _window(x, ws, a, b, lo, hi, stop, carry, edges) -> np.ndarray:
        """Old x[lo:hi]: the carry (old left neighbours), x itself, then the saved right edge of the block."""
        w = ws.window
        left = a - lo
        if left:
            w[:left] = carry[carry.shape[0] - left :]
        top = min(hi, stop)
        w[left : top - lo] = x[a:top]
        if hi > stop:
            w[top - lo : hi - lo] = edges[1][: hi - stop]
        return w[: hi - lo]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
