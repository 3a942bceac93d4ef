"""Mini-batch (stochastic) gradient descent: each step on B rows of the data, as every ML library does.

It applies to a function that is a mean or sum over the rows of its data plus
terms without data (a penalty): ``mean((X @ w - y)^2) + 0.01*(w @ w)``. The
rows are the first axis of every data array of the common length n. Each step
uses the function on one batch: a ``mean`` becomes the batch's mean, a ``sum``
over rows n times the batch's mean (so that its expected value is the full
sum), the other terms as they are. That the function has this form is checked
numerically before the run (:func:`check_rows`): for any split of the rows into
parts of n₁ and n₂ rows, n₁·f(part 1) + n₂·f(part 2) = n·f(all rows) must hold,
and so it does exactly for such a function.

The order is documented, so that anyone can reproduce a run with numpy:
epoch e (from 1) visits the rows in the order ``rng.permutation(n)``, where
``rng = numpy.random.default_rng(seed)`` is made once and draws a new
permutation each epoch; batch k is rows ``order[k·B:(k+1)·B]``, the last batch
shorter. Data streamed from a file too large to load (:mod:`symdescent.vectors.stream`)
cannot be permuted whole: each epoch reads its chunks in file order and visits
each chunk's rows in the order ``rng.permutation(len(chunk))``, B at a time (the
last batch of a chunk shorter), so memory stays one chunk. Each batch is one
step of the method (its update rule unchanged).
The run yields step 0 (all rows) and, by default, one step per epoch whose f
and ∇f are over all rows; ``per_batch=True`` yields every batch's step, with
the batch's f and ∇f (``info`` says which epoch and batch).
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp

from symdescent.errors import InputError, StartPointError
from symdescent.result import Status, Step
from symdescent.vectors.nodes import VMean, VSum, names_in
from symdescent.vectors.optim import FUSED, make_array_method
from symdescent.vectors.problem import Formula, VectorProblem
from symdescent.vectors.run import ArrayRun

#: f grown this many times past its start (over all rows, at an epoch's end) is a divergence.
RUNAWAY = 1e12
#: The check that f is a mean or sum over rows: relative agreement of n₁f₁ + n₂f₂ with n·f.
ROWS_RELATIVE = 1e-8


def row_count(problem: VectorProblem, purpose: str = "mini-batches need") -> tuple[int, tuple[str, ...]]:
    """n and the data arrays indexed by row: those whose first axis has the length of the longest data."""
    lengths = {name: np.shape(v)[0] for name, v in problem.data.items() if np.ndim(v) >= 1}
    if not lengths:
        raise InputError(f"{purpose} data with rows (a vector or a matrix of data), not only scalars")
    n = max(lengths.values())
    return n, tuple(sorted(name for name, length in lengths.items() if length == n))


def per_row(problem: VectorProblem, rows: tuple[str, ...], n: int) -> VectorProblem:
    """The problem with every sum over rows written as n·mean: on a batch it is then the unbiased estimate."""
    row_names = set(rows)

    def over_rows(node: sp.Basic) -> bool:
        return isinstance(node, VSum) and bool(names_in(node) & row_names)

    expr = problem.formula.expr.replace(over_rows, lambda node: n * VMean(*node.args))
    formula = problem.formula
    return replace(problem, formula=Formula(formula.text, expr, formula.variables, formula.kinds), _compiled=[])


def on_rows(
    problem: VectorProblem,
    rows: tuple[str, ...],
    index: np.ndarray | slice,
    source: Mapping[str, np.ndarray] | None = None,
) -> VectorProblem:
    """The same function on the chosen rows of the row data (a new problem: its code fits the batch's shapes).

    ``source`` holds the row arrays already cut (a chunk read from a file); else they are cut from the data.
    """
    data = {
        name: (source[name] if source is not None else np.asarray(value)[index]) if name in rows else value
        for name, value in problem.data.items()
    }
    shapes = {**problem.shapes, **{name: np.shape(data[name]) for name in rows}}
    return replace(problem, data=data, shapes=shapes, _compiled=[])


def check_rows(problem: VectorProblem, rows: tuple[str, ...], n: int, purpose: str = "mini-batches need") -> None:
    """:class:`InputError` unless f is a mean or sum over the rows plus terms without data (see the module)."""
    if n < 2:
        raise InputError(f"{purpose} at least 2 rows of data")
    rng = np.random.default_rng(0)
    z = problem.flat_start() + rng.normal(scale=0.1, size=problem.size)
    order = rng.permutation(n)
    first, second = order[: n // 2], order[n // 2 :]
    with np.errstate(all="ignore"):
        f, g = problem.value_and_grad(z)
        f1, g1 = on_rows(problem, rows, first).value_and_grad(z)
        f2, g2 = on_rows(problem, rows, second).value_and_grad(z)
    combined = (len(first) * f1 + len(second) * f2) / n
    gradient = (len(first) * g1 + len(second) * g2) / n
    scale = max(abs(f), 1e-300)
    if not (abs(combined - f) <= ROWS_RELATIVE * scale and np.allclose(gradient, g, rtol=1e-7, atol=1e-12 * scale)):
        raise InputError(
            f"{purpose} f to be a mean or sum over the rows of its data, plus terms without data",
            hint="e.g. mean((X @ w - y)^2) + 0.01*(w @ w); the rows are the first axis of the data",
        )


class BatchRun(ArrayRun):
    """A mini-batch run: the same stopping rules and Result as every run; a step is one batch."""

    engine = "array"

    def __init__(
        self,
        problem: VectorProblem,
        *,
        batch_size: int,
        epochs: int = 10,
        seed: int = 0,
        per_batch: bool = False,
        method: str = "gd",
        tol: float = 1e-6,
        maximize: bool = False,
        **hyperparameters: Any,
    ) -> None:
        if method not in FUSED:
            raise InputError(
                f"{method} takes whole steps along its own line search: mini-batches work with {', '.join(FUSED)}",
                parameter="method",
            )
        streamed = getattr(problem, "sums", None)  # a StreamedProblem: rows read from a file a chunk at a time
        if streamed is not None and not hasattr(streamed, "chunks"):
            raise InputError("mini-batches run on this machine, not on a cluster")
        n, rows = (streamed.n, streamed.rows) if streamed is not None else row_count(problem)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= n:
            raise InputError(
                f"the batch size must be a whole number from 1 to the {n} rows of the data, got {batch_size!r}",
                parameter="batch_size",
            )
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise InputError(f"epochs must be a whole number, 1 or more, got {epochs!r}", parameter="epochs")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InputError(f"the seed must be a whole number, 0 or more, got {seed!r}", parameter="seed")
        self._chunks = streamed.chunks if streamed is not None else None
        self.batches = self._count_batches(n, batch_size)
        self._limits(epochs * self.batches, tol, maximize)
        self.problem = problem if streamed is not None else per_row(problem, rows, n)  # a file's: per row already
        if streamed is None:
            check_rows(self.problem, rows, n)
        self.rows, self.n, self.batch_size, self.epochs, self.seed = rows, n, batch_size, epochs, seed
        self.per_batch = per_batch
        self._keep_start()
        self._sign = -1.0 if maximize else 1.0
        self._compiled: dict[int, VectorProblem] = {}  # one problem per batch length (the last may be shorter)

        def value(z: np.ndarray) -> float:  # the fused rules take no line search: never called
            raise AssertionError("mini-batch methods do not evaluate f along a line")

        def value_and_grad(z: np.ndarray) -> tuple[float, np.ndarray]:
            raise AssertionError("mini-batch methods do not evaluate f along a line")

        self.method = make_array_method(method, value, value_and_grad, None, self.problem.size, **hyperparameters)
        self.evaluations = self.method.evaluations
        z = self.problem.flat_start()
        f, g = self._full(z)
        norm = float(np.linalg.norm(g))
        if not (math.isfinite(f) and math.isfinite(norm)):
            raise StartPointError(f"f or ∇f is not a finite number at the start point ({problem.point_text(z)})")
        self.last = Step(0, z, f, g, norm)
        self.start_norm, self.start_f = norm, f
        self._steps = self._paused()

    @property
    def params(self) -> dict[str, Any]:
        return {**super().params, "batch_size": self.batch_size, "epochs": self.epochs, "seed": self.seed}

    def _full(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            return self.problem.value_and_grad(z)

    def _count_batches(self, n: int, size: int) -> int:
        """Batches in an epoch: of all rows, or of each chunk of a file (a batch never spans two chunks)."""
        if self._chunks is None:
            return math.ceil(n / size)
        from symdescent.vectors.stream import CHUNK_ROWS

        whole, rest = divmod(n, CHUNK_ROWS)
        return whole * math.ceil(CHUNK_ROWS / size) + math.ceil(rest / size)

    def _epoch(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        """One epoch's batches, as the row data of each, in the documented order (see the module)."""
        size = self.batch_size
        if self._chunks is None:
            rows = {name: np.asarray(self.problem.data[name]) for name in self.rows}
            order = rng.permutation(self.n)
            for k in range(0, self.n, size):
                index = order[k : k + size]
                yield {name: values[index] for name, values in rows.items()}
            return
        for chunk in self._chunks():  # a file too large to load: its chunks in order, rows shuffled within each
            length = len(next(iter(chunk.values())))
            order = rng.permutation(length)
            for k in range(0, length, size):
                index = order[k : k + size]
                yield {name: np.asarray(values)[index] for name, values in chunk.items() if name in self.rows}

    def _on_batch(self, z: np.ndarray, batch: Mapping[str, np.ndarray]) -> tuple[float, np.ndarray]:
        """f and ∇f on one batch's rows, by the code compiled for batches of that many rows."""
        length = len(next(iter(batch.values())))
        shaped = self._compiled.get(length)
        if shaped is None:
            base = getattr(self.problem, "problem", self.problem)  # a streamed problem's own VectorProblem
            shaped = self._compiled[length] = on_rows(base, self.rows, slice(0, length), batch)
        with np.errstate(all="ignore"):
            return shaped.value_and_grad(z, {**self.problem.data, **batch})

    def _paused(self) -> Generator[Step, None, None]:
        from symdescent import budget

        with budget.paused():  # the epochs bound the steps, not the time limit on the input's work
            yield from self._batched()

    def _batched(self) -> Generator[Step, None, None]:
        rng = np.random.default_rng(self.seed)
        step = self.last
        if self._stop(step):
            yield step
            return
        yield step
        t, z = 0, np.asarray(step.x)
        with np.errstate(all="ignore"):  # an overflow is a divergence, reported as one, not a numpy warning
            yield from self._epochs(rng, t, z, step)

    def _epochs(self, rng: np.random.Generator, t: int, z: np.ndarray, step: Step) -> Generator[Step, None, None]:
        for epoch in range(1, self.epochs + 1):
            for k, batch in enumerate(self._epoch(rng)):
                f, g = self._on_batch(z, batch)
                self.method.info = None
                with np.errstate(all="ignore"):
                    z = self.method.step(z, self._sign * f, self._sign * g)
                t += 1
                info = {"epoch": epoch, "batch": k + 1}
                if self.per_batch and k + 1 < self.batches:
                    step = self.last = Step(t, z, f, g, float(np.linalg.norm(g)), info)
                    if not (math.isfinite(f) and math.isfinite(step.grad_norm)):
                        self._finish(Status.DIVERGED, "f or ∇f on a batch is not a finite number")
                        yield step
                        return
                    yield step
                else:
                    step = self.last = Step(t, z, step.f, step.grad, step.grad_norm, info)
            f, g = self._full(z)
            step = self.last = Step(t, z, f, g, float(np.linalg.norm(g)), {"epoch": epoch})
            if self._stop(step):
                yield step
                return
            yield step

    def _finish(self, status: Status, reason: str = "") -> None:
        super()._finish(status, reason)
        if status == Status.MAX_STEPS:  # the limit is the epochs, not a step count the user gave
            self.message = (
                f"all {self.epochs} epoch{'s' if self.epochs != 1 else ''} done ({self.last.step} batches) "
                f"with ‖∇f‖ = {self.last.grad_norm:.3g} > "
                f"tol = {self.tol:g}; allow more epochs, or a larger learning rate"
            )

    def _stop(self, step: Step) -> bool:
        """The rules of every run, at each epoch's end: converged, diverged, or all epochs done.

        Diverged also when f (over all rows) has grown :data:`RUNAWAY` times past its start while
        minimising (fallen as far while maximising): a few epochs of too large a step make 10¹²⁰, not ∞.
        """
        if not (math.isfinite(step.f) and math.isfinite(step.grad_norm)):
            self._finish(Status.DIVERGED, "f is not a finite number" if not math.isfinite(step.f) else "∇f is not")
            return True
        start = self.start_f
        if self._sign * (step.f - start) > RUNAWAY * max(abs(start), 1.0):
            self._finish(Status.DIVERGED, f"f went from {start:.3g} to {step.f:.3g}")
            return True
        return self._ends_at(step.grad_norm, step.step, 0)

    def interrupt(self) -> None:
        """Ctrl-C: the point in hand gets its f and ∇f over all rows (between epochs it has only a batch's)."""
        if self.status is None and self.last.info and "batch" in self.last.info:
            with np.errstate(all="ignore"):
                f, g = self._full(np.asarray(self.last.x))
            self.last = Step(self.last.step, self.last.x, f, g, float(np.linalg.norm(g)), self.last.info)
        super().interrupt()
