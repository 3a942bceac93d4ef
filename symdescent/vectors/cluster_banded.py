"""A long banded vector on a Dask cluster: x chunked over the workers, each step a ``map_overlap``.

The kernel engine's form (:mod:`symdescent.kernels`: f = constant + Σ_i body(x[i+o])) needs, for the
gradient of the entries in a chunk, only the ``halo`` entries on either side of it (the largest index
shift). So x is a ``dask.array`` chunked along its axis that stays on the workers (never gathered during
the run), and each step is ONE ``da.map_overlap`` with depth = halo and ``boundary="none"`` whose
per-chunk function is the existing chunk kernel (the window it gets is exactly the kernel's
``xw = x[lo:hi]``). Each chunk returns its new entries x − (update), its optimiser state (chunked like
x, depth 0), and its shares of f and Σ(∂f)²; the shares are added by a tree sum (``da.sum``).

Order of work (the same steps as :class:`~symdescent.vectors.engine.KernelRun`): the pass at x_k gives
f(x_k), ‖∇f(x_k)‖ and a candidate x_{k+1}, persisted (so the graph never grows) but only taken when
the run goes on; a run that ends at step k ends at x_k. Peak memory on the workers: about three
copies of x (x_k, the candidate, the windows with their halos) and two of each state array.
Numbers: each entry's gradient and update are computed by the same code, in the same order, as on
one machine; only f's sum is added in another order (rounding).

The final point is gathered to this machine when the run ends (the result and ``--save`` need it).
"""

from __future__ import annotations

import itertools
import math
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np

from symdescent import budget
from symdescent.errors import StartPointError
from symdescent.kernels.chunks import CHUNK, Workspace, sum_of_squares
from symdescent.result import Step
from symdescent.vectors.engine import HEAD, SMALL, KernelMethod
from symdescent.vectors.problem import VectorProblem
from symdescent.vectors.run import ArrayRun

#: Entries per Dask chunk, at least: a task per 2²⁰ entries (8 MB of float64) keeps the scheduler's
#: overhead (milliseconds a task) small next to the kernel's work.
BLOCK = 1 << 20


@dataclass(frozen=True)
class BlockSpec:
    """What a worker needs to build the kernel and the optimiser step itself (once per worker thread)."""

    key: str  # one per run: the workers' cache key
    terms: tuple[Any, ...]  # BandTerm: SymPy bodies, pickled
    dtype: str
    backend: str  # numpy or numba, chosen here for n (the workers may not see this machine's settings)
    n: int
    starts: tuple[int, ...]  # the global index of each chunk's first entry, and n at the end
    method: str
    params: dict[str, Any]
    chunk: int  # the kernel's own chunk inside a Dask chunk (cache-sized buffers)
    small: bool  # steps carry the whole gradient


#: Kernels a worker keeps (for this many runs or threads), built once each.
KEEP = 16
_BUILT: dict[tuple[str, int], tuple[Any, Any, Workspace]] = {}  # on a worker: (run, thread) -> kernel, step, scratch


def _built(spec: BlockSpec) -> tuple[Any, Any, Workspace]:
    key = (spec.key, threading.get_ident())  # scratch buffers are per thread: a worker may run several
    if key not in _BUILT:
        while len(_BUILT) >= KEEP:  # a long-lived worker serves run after run: forget the oldest
            del _BUILT[next(iter(_BUILT))]
        from symdescent.kernels.banded import compile_banded
        from symdescent.kernels.steps import ARRAY_STEPS

        function = compile_banded(list(spec.terms), 0.0, dtype=spec.dtype, threads=1, backend=spec.backend)
        kernel = function.kernel_for(spec.n)
        step = ARRAY_STEPS[spec.method](0, np.dtype(spec.dtype), **spec.params)
        _BUILT[key] = kernel, step, Workspace.allocate(kernel.buffers, spec.chunk, kernel.halo, np.dtype(spec.dtype))
    return _BUILT[key]


def block_step(window: np.ndarray, *state: np.ndarray, spec: BlockSpec, count: int, block_id: Any = None) -> Any:
    """On a worker: one Dask chunk [a, b) of x from its window x[lo:hi] → (new x, new state, f share, Σg², g).

    The window is never written (Dask owns it): the new entries go into a copy, which the optimiser's
    update — the one-machine code — writes chunk by kernel chunk.
    """
    kernel, step, ws = _built(spec)
    index = block_id[0]
    a, b = spec.starts[index], spec.starts[index + 1]
    lo, n, halo = max(0, a - kernel.halo), spec.n, kernel.halo
    x = window[a - lo : b - lo].copy()
    step.state = [s.copy() for s in state]
    step.count = count - 1
    step.begin()  # Adam's bias corrections for update number ``count``
    grad = np.empty(b - a, window.dtype) if spec.small else None
    f = gsq = 0.0
    with np.errstate(all="ignore"):  # overflow is reported as inf/nan in f, as on one machine
        for c in range(a, b, spec.chunk):
            d = min(c + spec.chunk, b)
            clo, chi = max(0, c - halo), min(n, d + halo)
            g = ws.grad[: d - c]
            f += kernel.grad(window[clo - lo : chi - lo], clo, c, d, n, g, ws.buffers)
            gsq += sum_of_squares(g, ws.temp)
            if grad is not None:
                grad[c - a : d - a] = g
            step(x[c - a : d - a], g, c - a, d - a, ws)
    out = np.empty(1, object)
    out[0] = (x, step.state, f, gsq, grad)
    return out


def _part(blocks: np.ndarray, item: int, row: int = 0) -> np.ndarray:
    """One array of a chunk's result tuple (``row`` picks a state array)."""
    value = blocks[0][item]
    return np.asarray(value[row] if isinstance(value, list) else value)


def _shares(blocks: np.ndarray) -> np.ndarray:
    """A chunk's [f share, Σg²] as a row, for one tree sum of both."""
    return np.array([[blocks[0][2], blocks[0][3]]], dtype=float)


#: The next x and state (persisted on the workers) and the first entries of that x.
Candidate = tuple[Any, list[Any], np.ndarray]


class DaskKernelRun(ArrayRun):
    """A banded vector run whose x and optimiser state live chunked on a Dask cluster (see the module).

    ``client`` is a dask.distributed Client (closed, with a LocalCluster it started, when the run ends:
    pass ``close``); ``block`` is the entries per Dask chunk and ``chunk`` the kernel's own chunk (tests
    make both small so that many chunks and halos are exercised).
    """

    engine = "dask"

    def __init__(
        self,
        problem: VectorProblem,
        banded: tuple[list[Any], float],
        client: Any,
        *,
        method: str = "gd",
        max_steps: int = 1000,
        tol: float = 1e-6,
        maximize: bool = False,
        block: int | None = None,
        chunk: int = CHUNK,
        close: Any = None,
        **hyperparameters: Any,
    ) -> None:
        import dask.array as da

        from symdescent.kernels import BandTerm, make_step
        from symdescent.kernels.jit import choose_backend
        from symdescent.kernels.terms import differentiate, halo
        from symdescent.optimizers import hyperparameters_of

        self._limits(max_steps, tol, maximize)
        self.problem, self.client, self._closer = problem, client, close
        self.evaluations = {"f": 0, "grad": 0, "hessian": 0}
        self.sign = -1.0 if maximize else 1.0
        terms, constant = banded
        if maximize:  # minimise −f: the kernels see −f, the steps report f
            terms, constant = [BandTerm(-t.body, t.offsets) for t in terms], -constant
        self.constant = float(constant)
        start = problem.start[problem.names[0]]
        assert isinstance(start, np.ndarray)
        n = start.shape[0]
        depth = halo(differentiate(terms))
        update = make_step(method, 1, problem.dtype, **hyperparameters)  # checks them; its state: the initial values
        self.method = KernelMethod(method, {k: v for k, v in update.params.items() if k in hyperparameters_of(method)})
        size = max(block or _block_for(n, client), depth, 1)
        firsts = list(range(0, n, size))
        if len(firsts) > 1 and n - firsts[-1] < depth:  # Dask's overlap needs every chunk at least the depth long
            firsts.pop()
        starts = (*firsts, n)
        chunks = (tuple(b - a for a, b in itertools.pairwise(starts)),)
        backend = choose_backend("auto", n)
        self.spec = BlockSpec(
            uuid.uuid4().hex, tuple(terms), problem.dtype, backend, n, starts, method, dict(update.params),
            max(chunk, depth, 1), n <= SMALL,
        )  # fmt: skip
        self.depth, self.chunks, self.small = depth, chunks, n <= SMALL
        self.start = start.copy() if self.small else start
        self._final: np.ndarray | None = None
        # each chunk sent to a worker directly (not inside the graph, through the scheduler)
        pairs = list(itertools.pairwise(starts))
        parts = client.scatter([start[a:b] for a, b in pairs])
        blocks = [
            da.from_delayed(part, (b - a,), start.dtype, meta=start[:0])
            for part, (a, b) in zip(parts, pairs, strict=True)
        ]
        self.x = client.persist(da.concatenate(blocks))
        del parts, blocks
        self.state = [client.persist(da.full(n, s[0], chunks=chunks, dtype=problem.dtype)) for s in update.state]
        self.count, self.head = 1, n if self.small else HEAD  # count: the update made by the pass at x
        with budget.paused():
            f, norm, grad, self._candidate = self._pass(self.x, self.state, 1)
        if not (math.isfinite(f) and math.isfinite(norm)):  # the caller closes the client
            what = "f" if not math.isfinite(f) else "∇f"
            raise StartPointError(f"{what} is not a finite number at the start point ({problem.point_text(start)})")
        self.last = self._step(0, start[: self.head].copy(), f, norm, grad)
        self.start_norm = norm
        self._steps = self._loop()

    def _pass(self, x: Any, state: list[Any], count: int) -> tuple[float, float, np.ndarray | None, Candidate]:
        """f, ‖∇f‖ (and ∇f when small) at x; and the candidate x and state after update number ``count``, persisted.

        Nothing of the run changes here: a Ctrl-C while the cluster works leaves the run at its last whole step.
        """
        import dask.array as da

        blocks = (1,) * len(self.chunks[0])
        out = da.map_overlap(
            block_step, x, *state, depth=[self.depth] + [0] * len(state), boundary="none", trim=False,
            chunks=(blocks,), dtype=object, meta=np.empty(0, object), spec=self.spec, count=count,
        )  # fmt: skip
        like = {"chunks": self.chunks, "dtype": np.dtype(self.spec.dtype), "meta": np.empty(0, self.spec.dtype)}
        new_x = out.map_blocks(_part, 0, **like)
        new_state = [out.map_blocks(_part, 1, row, **like) for row in range(len(state))]
        sums = out.map_blocks(_shares, chunks=(blocks, (2,)), new_axis=1, dtype=float, meta=np.empty((0, 0)))
        wanted: list[Any] = [sums.sum(axis=0), new_x[: self.head]]
        if self.small:
            wanted.append(out.map_blocks(_part, 4, **like))
        kept_x, *kept_state = self.client.persist([new_x, *new_state])
        (f, gsq), head, *grad = self.client.compute(wanted, sync=True)
        return self.constant + float(f), float(np.sqrt(gsq)), (grad[0] if grad else None), (kept_x, kept_state, head)

    def _step(self, k: int, head: np.ndarray, f: float, norm: float, grad: np.ndarray | None) -> Step:
        g = self.sign * grad if grad is not None else np.empty(0, head.dtype)
        return Step(k, np.asarray(head), self.sign * f, g, norm)

    def _next_step(self, step: Step) -> Step:
        # the candidate x_{k+1} (and its state) becomes the run's only once its pass is whole: then x, the
        # state, the count and ``last`` change together (the old arrays are released)
        x, state, head = self._candidate
        f, norm, grad, candidate = self._pass(x, state, self.count + 1)
        self.x, self.state, self.count, self._candidate = x, state, self.count + 1, candidate
        self.last = self._step(step.step + 1, head, f, norm, grad)
        return self.last

    def _close(self) -> None:
        """Gather the final point while the cluster is still there, then stop the client (and cluster)."""
        try:
            if self._final is None:
                self._final = np.asarray(self.x.compute())
        finally:
            self._candidate = (None, [], np.empty(0))
            if self._closer is not None:
                self._closer()
                self._closer = None

    def _final_point(self) -> np.ndarray:
        assert self._final is not None, "the run has not ended"
        return self._final


def _block_for(n: int, client: Any) -> int:
    """Entries per Dask chunk: about four chunks a worker, each at least :data:`BLOCK` long (or all of x)."""
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    return max(BLOCK, -(-n // (4 * workers)))
