"""Beyond one machine: the data's part of each step on a Dask cluster (dask.distributed), never a home-made one.

The rows of the data are split into partitions and scattered to the workers
once; they stay there. Each evaluation of f and ∇f sends the point z (the
variables: small next to the data) to every partition, each worker computes
its partition's share (n_c/n)·(f_c, ∇f_c) with code it compiled once, and the
shares are added pairwise on the workers (a tree reduction) until one (f, ∇f)
comes back; the optimiser's update runs on the client. It needs what
streaming needs: f a mean or sum over the rows of its data plus terms without
data (:mod:`symdescent.vectors.batches` checks it).

``connect("local:2")`` starts a LocalCluster of 2 worker processes (and stops
it with the run); any other address is a running scheduler
(``tcp://host:8786``), e.g. one started by dask-jobqueue on a batch system or
by the Dask Kubernetes operator.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from symdescent.errors import InputError, install_hint
from symdescent.vectors.run import VectorRun

#: Seconds to wait for a scheduler before giving up (a scheduler that is up answers in milliseconds).
CONNECT_TIMEOUT = 3


#: The scheduler's own HTTP server (it starts one without a dashboard too) on a free loopback port: its
#: default, 8787, is taken by any other cluster on the machine, and Dask then warns on stderr.
LOOPBACK_HTTP = {"dashboard_address": "127.0.0.1:0"}


#: The warning multiprocessing's resource tracker prints (at its own exit, on our stderr) when a Ctrl-C stopped
#: the LocalCluster while its workers were starting: the tracker then removes those semaphores itself.
_TRACKER_WARNING = "ignore:resource_tracker:UserWarning"


def _quiet_resource_tracker() -> None:
    """The resource tracker is a process of its own, started with our environment: tell it in PYTHONWARNINGS."""
    given = os.environ.get("PYTHONWARNINGS", "")
    if _TRACKER_WARNING not in given.split(","):
        os.environ["PYTHONWARNINGS"] = f"{given},{_TRACKER_WARNING}" if given else _TRACKER_WARNING


def connect(address: str) -> Any:
    """A dask.distributed Client: ``local:N`` starts a LocalCluster of N processes, else the scheduler at address."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("running on a cluster needs dask.distributed", hint=install_hint("cluster")) from None
    text = address.strip()
    if text.startswith("local:"):
        count = text.partition(":")[2]
        cores = _cores()
        if not count.isdigit() or not 1 <= int(count) <= 4 * cores:
            raise InputError(
                f"scheduler {address!r}: write local:N with N workers from 1 to {4 * cores} "
                f"(this machine has {cores} core{'s' if cores != 1 else ''}), e.g. local:2"
            )
        _quiet_resource_tracker()
        cluster = LocalCluster(
            n_workers=int(count), threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50,
            scheduler_kwargs=LOOPBACK_HTTP,
        )  # fmt: skip
        return Client(cluster)
    if "://" not in text and ":" not in text:
        raise InputError(f"scheduler {address!r}: give an address such as tcp://10.0.0.5:8786, or local:N")
    try:
        return Client(text, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    except MemoryError:  # what answered is not a Dask scheduler: its bytes read as a huge message length
        raise InputError(f"cannot reach the Dask scheduler at {address}: what answers is no Dask scheduler") from None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def close(client: Any) -> None:
    """Stop the client, and the LocalCluster if the client started one."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


@dataclass(frozen=True)
class Spec:
    """What a worker needs to build the per-row problem itself: text, variables' shapes, constants, rows."""

    text: str
    start: dict[str, Any]  # the variables' values at build time: only their shapes matter
    constants: dict[str, Any]  # data that are not row data (small)
    rows: tuple[str, ...]
    n: int
    dtype: str


_BUILT: dict[tuple[int, int], Any] = {}  # on each worker: (id of the spec, chunk length) -> compiled problem


def _share(spec: Spec, z: np.ndarray, chunk: Mapping[str, np.ndarray]) -> tuple[float, np.ndarray]:
    """On a worker: this partition's (n_c/n)·(f_c, ∇f_c)."""
    from symdescent.vectors.batches import per_row
    from symdescent.vectors.problem import make_vector_problem

    length = len(next(iter(chunk.values())))
    key = (hash((spec.text, spec.rows, spec.n)), length)
    problem = _BUILT.get(key)
    if problem is None:
        built = make_vector_problem(spec.text, spec.start, {**spec.constants, **chunk}, dtype=spec.dtype)
        problem = _BUILT[key] = per_row(built, spec.rows, spec.n)
    f, g = problem.value_and_grad(z, {**spec.constants, **chunk})
    weight = length / spec.n
    return weight * f, weight * g


def _add(a: tuple[float, np.ndarray], b: tuple[float, np.ndarray]) -> tuple[float, np.ndarray]:
    return a[0] + b[0], a[1] + b[1]


class ClusterSums:
    """f and ∇f over partitions held by the cluster's workers, reduced pairwise on the workers."""

    def __init__(self, client: Any, spec: Spec, parts: Iterator[Mapping[str, np.ndarray]]) -> None:
        self.client, self.spec = client, spec
        # once: the data stay on the workers. Each partition goes as one object in a list: a dict given to
        # scatter is taken as {key: data}, and every partition would share the keys "X" and "y"
        self.partitions = [client.scatter([dict(part)], hash=False)[0] for part in parts]

    def value_and_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        # hash=False: two evaluations at the same z (a line search) must not share, and then release, one key
        point = self.client.scatter(z, broadcast=True, hash=False)
        level = [self.client.submit(_share, self.spec, point, part, pure=False) for part in self.partitions]
        while len(level) > 1:  # a tree: log₂(partitions) rounds of pairwise sums, on the workers
            paired = [self.client.submit(_add, a, b, pure=False) for a, b in zip(level[::2], level[1::2], strict=False)]
            level = paired + ([level[-1]] if len(level) % 2 else [])
        f, g = level[0].result()
        return float(f), np.asarray(g, dtype=float)


def partitions(data: Mapping[str, Any], rows: tuple[str, ...], count: int) -> Iterator[dict[str, np.ndarray]]:
    """In-memory row data cut into ``count`` partitions of about equal rows."""
    n = len(np.asarray(data[rows[0]]))
    bounds = np.linspace(0, n, count + 1).astype(int)
    for a, b in itertools.pairwise(bounds):
        if b > a:
            yield {name: np.asarray(data[name])[a:b] for name in rows}


def distribute(local: Any, client: Any) -> Any:
    """``local`` (a VectorProblem with its data in memory) with its row data partitioned over the cluster."""
    from symdescent.vectors.batches import check_rows, per_row, row_count
    from symdescent.vectors.stream import StreamedProblem

    n, rows = row_count(local, "running on a cluster needs")
    problem = per_row(local, rows, n)
    check_rows(problem, rows, n, "running on a cluster needs")
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    count = max(workers * 2, math.ceil(n / 2**20))  # two partitions a worker, at most about 10⁶ rows each
    constants = {k: v for k, v in problem.data.items() if k not in rows}
    start = {k: np.asarray(v) for k, v in problem.start.items()}
    spec = Spec(problem.formula.text, start, constants, rows, n, problem.dtype)
    return StreamedProblem(problem, ClusterSums(client, spec, partitions(problem.data, rows, count)))


def cluster_problem(
    text: str, start: Mapping[str, Any], data: Mapping[str, Any], client: Any, dtype: str = "float64"
) -> Any:
    """The problem of ``text`` whose row data are partitioned over the cluster (``data``: rows and constants)."""
    from symdescent.vectors.problem import make_vector_problem

    return distribute(make_vector_problem(text, start, data, dtype=dtype), client)


class ClusterRun(VectorRun):
    """A run whose f and ∇f are computed on a Dask cluster; the client (and a LocalCluster) stop when it ends."""

    engine = "dask"

    def __init__(self, problem: Any, scheduler: str, **options: Any) -> None:
        self._client = connect(scheduler)
        try:
            super().__init__(distribute(problem, self._client), **options)
        except BaseException:
            close(self._client)
            raise

    def _close(self) -> None:
        close(self._client)
