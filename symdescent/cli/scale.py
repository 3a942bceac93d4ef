"""``run``'s options for data at scale: mini-batches (``--batch-size``, ``--epochs``, ``--seed``) and a Dask
cluster (``--scheduler``), and the runs they make of an array problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from symdescent.cli.plumbing import count_option
from symdescent.cli.run_options import RunOptions
from symdescent.errors import InputError


def scale_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        count_option(
            "--batch-size",
            "B",
            "Mini-batch SGD: each step uses B rows of the data (f a mean or sum over rows), in the order of "
            "numpy's default_rng(--seed), a new permutation each epoch; the table shows a row per epoch.",
        ),
        count_option("--epochs", "E", "With --batch-size: passes over the data (default 10)."),
        count_option("--seed", "S", "With --batch-size: the order's seed (default 0).", low=0),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="Run the data's part of each step on a Dask cluster, or a long banded vector chunked over it "
            "(map_overlap): local:N starts N local workers; tcp://host:8786 is a running scheduler "
            "(default: SYMDESCENT_SCHEDULER).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def checked(
    batch_size: int | None,
    epochs: int | None,
    seed: int | None,
    scheduler: str | None,
    *,
    has_data: bool,
    vectors: bool = False,
    method: str = "gd",
    in_arithmetic: bool,
    dtype: str | None,
    steps_given: bool,
) -> str | None:
    """The scheduler to use, and a refusal for every option that does not go with the others.

    ``SYMDESCENT_SCHEDULER`` applies only where ``--scheduler`` could: a float run on data, without batches,
    or a float run of one long vector on the kernel engine (:func:`scaled_run` decides that last case).
    """
    from symdescent import settings

    if batch_size is None and (epochs is not None or seed is not None):
        raise InputError("--epochs and --seed go with --batch-size (mini-batches); full-batch runs count --steps")
    if batch_size is not None and not has_data:
        raise InputError("--batch-size works on data: give it with --data")
    if scheduler and not has_data and not vectors:
        raise InputError("--scheduler works on data (--data) or on a long vector (--start x=ones(10^7))")
    if scheduler and not has_data and method not in _vector_methods():
        raise InputError(
            f"a vector on a cluster runs with --method {', '.join(_vector_methods())}, not {method}; "
            "other methods run on one machine or on data"
        )
    if batch_size is not None and scheduler:
        raise InputError("--batch-size and --scheduler do not go together: mini-batches run on this machine")
    if batch_size is not None and steps_given:
        raise InputError("--batch-size counts passes over the data with --epochs, not --steps")
    if in_arithmetic and (batch_size is not None or scheduler):
        what = "mini-batches" if batch_size is not None else "a cluster"
        raise InputError(f"{what} run in floats: --exact and --working-precision do not go with them")
    if scheduler and dtype == "float32":
        raise InputError("a cluster run is in float64: --dtype float32 does not go with --scheduler")
    if scheduler:
        return scheduler
    from_environment = settings.scheduler()  # read (and checked) always, used where it applies
    if not from_environment or batch_size is not None or in_arithmetic or dtype == "float32":
        return None
    if has_data or (vectors and method in _vector_methods()):
        return from_environment
    return None


def _vector_methods() -> tuple[str, ...]:
    """The methods of the kernel engine (imported only when asked: a warm scalar run imports no SymPy)."""
    from symdescent.kernels.steps import ARRAY_STEPS

    return tuple(ARRAY_STEPS)


def scaled_run(problem: Any, options: RunOptions, hyper: dict[str, Any], *, has_data: bool = True) -> Any:
    """The run of a mini-batch or cluster problem (a cluster run stops its LocalCluster when it ends).

    None for a vector without data that the kernel engine would not run: then ``SYMDESCENT_SCHEDULER`` does
    not apply (the run is on this machine), and ``--scheduler`` is refused.
    """
    from symdescent.vectors.stream import StreamedProblem

    if not has_data:
        return _banded_on_cluster(problem, options, hyper)
    if isinstance(problem, StreamedProblem) and options.batch_size is None:
        raise InputError("a cluster takes data in memory; a data file this large is read here a chunk at a time")
    if options.batch_size is not None:
        from symdescent.vectors.batches import BatchRun

        return BatchRun(
            problem, batch_size=options.batch_size, epochs=options.epochs or 10, seed=options.seed or 0,
            per_batch=options.per_batch, method=options.method, tol=options.tol, maximize=options.maximize, **hyper,
        )  # fmt: skip
    from symdescent.vectors.cluster import ClusterRun

    assert options.scheduler is not None
    return ClusterRun(
        problem, options.scheduler, method=options.method, max_steps=options.steps, tol=options.tol,
        maximize=options.maximize, **hyper,
    )  # fmt: skip


def _banded_on_cluster(problem: Any, options: RunOptions, hyper: dict[str, Any]) -> Any:
    """A banded vector chunked over the cluster, where the kernel engine runs it (the same steps, to rounding)."""
    from symdescent.vectors.cluster import close, connect
    from symdescent.vectors.engine import choose_engine

    chosen, banded = choose_engine(problem, options.method)
    if chosen != "kernel":
        if not options.scheduler_given:
            return None
        raise InputError(
            "--scheduler runs a vector on the kernel engine only: one vector of at least 100000 entries (or "
            "SYMDESCENT_VECTOR_ENGINE=kernel) and f made of elementwise terms or index sums, such as "
            "sum(100*(x[i+1]-x[i]^2)^2+(1-x[i])^2, i)"
        )
    from symdescent.vectors.cluster_banded import DaskKernelRun

    assert options.scheduler is not None
    client = connect(options.scheduler)
    try:
        return DaskKernelRun(
            problem, banded, client, method=options.method, max_steps=options.steps, tol=options.tol,
            maximize=options.maximize, close=lambda: close(client), **hyper,
        )  # fmt: skip
    except BaseException:
        close(client)
        raise
