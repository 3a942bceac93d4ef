"""Data at scale: full-batch gd on a Parquet file read a chunk at a time, its peak memory, and a Dask cluster.

Run from a checkout with the test extra installed: ``python bench/bench_data_scale.py [--rows N]``.

1. Writes a Parquet file of N rows × 10 columns (9 features and y; N = 10⁷ by default, 800 MB of numbers;
   ``--rows 100000000`` is the issue's 8 GB) in row groups of 2²⁰ rows, and a 1-column file for y.
2. Runs 3 steps of gd on ``mean((X @ w - y)^2)`` streaming the files, in a child process, and prints its
   wall time and peak RSS beside the file's size: memory is bounded by the chunk, not the file; then one
   epoch of mini-batch adam (batches of 10,000 rows, shuffled within each chunk) the same way.
3. The same least-squares steps by a hand-written numpy loop over the same row groups (pyarrow), as the
   fastest equivalent: the ratio is symdescent's cost of reading, evaluating and reducing.
4. With ``--cluster``: the same 3 steps with the rows on a LocalCluster of 2 workers (10⁶ rows),
   against the same steps on one machine, and the ratio.
5. With ``--banded``: 10 gd steps of the chained Rosenbrock function on a vector of ``--banded-n`` entries
   (10⁷ by default) chunked over a LocalCluster of 2 workers (map_overlap, x kept on the workers), against
   the same steps on one machine's kernel engine, and the ratio; the set-up (start the cluster, send x,
   compile the kernel on each worker) is timed apart.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

FEATURES = 9
GROUP = 1 << 20

CHILD = """
import resource, sys, time
import numpy as np
from symdescent.vectors.stream import open_columnar, streamed_problem
from symdescent.vectors.run import VectorRun
x_path, y_path = sys.argv[1], sys.argv[2]
began = time.perf_counter()
files = [open_columnar(x_path, "X"), open_columnar(y_path, "y")]
run = VectorRun(streamed_problem("mean((X @ w - y)^2)", {"w": np.zeros(FEATURES_HERE)}, {}, files), method="gd", lr=0.1,
                max_steps=3, tol=0)
for _ in run:
    pass
print(time.perf_counter() - began, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, run.last.f)
""".replace("FEATURES_HERE", str(FEATURES))

BATCHED = """
import resource, sys, time
import numpy as np
from symdescent.vectors.stream import open_columnar, streamed_problem
from symdescent.vectors.batches import BatchRun
x_path, y_path = sys.argv[1], sys.argv[2]
began = time.perf_counter()
files = [open_columnar(x_path, "X"), open_columnar(y_path, "y")]
problem = streamed_problem("mean((X @ w - y)^2)", {"w": np.zeros(FEATURES_HERE)}, {}, files)
run = BatchRun(problem, batch_size=10000, epochs=1, method="adam", lr=0.01, tol=0)
for _ in run:
    pass
print(time.perf_counter() - began, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, run.last.f)
""".replace("FEATURES_HERE", str(FEATURES))

HAND = """
import resource, sys, time
import numpy as np, pyarrow.parquet as pq
x_file = pq.ParquetFile(sys.argv[1], pre_buffer=False, buffer_size=1 << 20)  # as symdescent reads it
y_file = pq.ParquetFile(sys.argv[2], pre_buffer=False, buffer_size=1 << 20)
n = x_file.metadata.num_rows
began = time.perf_counter()
w = np.zeros(FEATURES_HERE)
for _ in range(4):  # f and the gradient at the start and after each of 3 steps, as the run evaluates them
    f, g = 0.0, np.zeros_like(w)
    for xb, yb in zip(x_file.iter_batches(batch_size=1 << 18), y_file.iter_batches(batch_size=1 << 18)):
        X = np.column_stack([c.to_numpy() for c in xb.columns]); y = yb.column(0).to_numpy()
        r = X @ w - y
        f += r @ r / n
        g += 2 * X.T @ r / n
    w = w - 0.1 * g
print(time.perf_counter() - began, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, f)
""".replace("FEATURES_HERE", str(FEATURES))


def write(folder: str, rows: int) -> tuple[str, str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    x_path, y_path = os.path.join(folder, "X.parquet"), os.path.join(folder, "y.parquet")
    rng = np.random.default_rng(0)
    truth = rng.normal(size=FEATURES)
    with pq.ParquetWriter(x_path, pa.schema([(f"x{i}", pa.float64()) for i in range(FEATURES)])) as xw, \
         pq.ParquetWriter(y_path, pa.schema([("y", pa.float64())])) as yw:  # fmt: skip
        for start in range(0, rows, GROUP):
            count = min(GROUP, rows - start)
            X = rng.normal(size=(count, FEATURES))
            y = X @ truth + 0.1 * rng.normal(size=count)
            xw.write_table(pa.table({f"x{i}": X[:, i] for i in range(FEATURES)}))
            yw.write_table(pa.table({"y": y}))
    return x_path, y_path


def child(code: str, *args: str) -> tuple[float, int, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True).stdout
    seconds, rss, f = out.split()
    return float(seconds), int(rss), float(f)


def cluster_ratio(rows: int) -> None:
    from symdescent.vectors.cluster import close, cluster_problem, connect
    from symdescent.vectors.problem import make_vector_problem
    from symdescent.vectors.run import VectorRun

    rng = np.random.default_rng(1)
    X = rng.normal(size=(rows, FEATURES))
    y = X @ rng.normal(size=FEATURES)
    text = "mean((X @ w - y)^2)"
    began = time.perf_counter()
    alone = VectorRun(
        make_vector_problem(text, {"w": np.zeros(FEATURES)}, {"X": X, "y": y}), lr=0.1, max_steps=3, tol=0
    )
    list(alone)
    single = time.perf_counter() - began
    client = connect("local:2")
    try:
        began = time.perf_counter()
        spread = VectorRun(cluster_problem(text, {"w": np.zeros(FEATURES)}, {"X": X, "y": y}, client), lr=0.1,
                           max_steps=3, tol=0)  # fmt: skip
        list(spread)
        cluster = time.perf_counter() - began
    finally:
        close(client)
    gap = np.max(np.abs(spread.result().x["w"] - alone.result().x["w"]) / np.abs(alone.result().x["w"]))
    print(f"cluster (local:2, {rows:,} rows, 3 gd steps, scatter included): {cluster:.2f} s against {single:.2f} s on "
          f"one machine, ratio {cluster / single:.1f}×; largest relative difference {gap:.1e}")  # fmt: skip


def banded_ratio(n: int, steps: int = 10) -> None:
    from symdescent.vectors.banded import banded_terms
    from symdescent.vectors.cluster import close, connect
    from symdescent.vectors.cluster_banded import DaskKernelRun
    from symdescent.vectors.engine import make_run
    from symdescent.vectors.problem import make_vector_problem

    text = "sum(100*(x[i+1]-x[i]^2)^2+(1-x[i])^2, i)"
    x0 = 1 + 0.1 * np.random.default_rng(1).standard_normal(n)
    problem = make_vector_problem(text, {"x": x0.copy()})
    alone = make_run(problem, lr=1e-4, max_steps=steps, tol=0, in_place=True)
    next(alone)  # step 0: the first evaluation (and the kernel's compilation) is set-up on both sides
    began = time.perf_counter()
    for _ in alone:
        pass
    single = time.perf_counter() - began
    here = alone.result().x["x"].copy()
    del alone, problem
    began = time.perf_counter()
    client = connect("local:2")
    try:
        problem = make_vector_problem(text, {"x": x0})
        spread = DaskKernelRun(problem, banded_terms(problem), client, lr=1e-4, max_steps=steps, tol=0)
        next(spread)
        setup = time.perf_counter() - began
        began = time.perf_counter()
        for _ in spread:
            pass
        cluster = time.perf_counter() - began
        there = spread.result().x["x"]
        chunks = len(spread.chunks[0])
        workers = sorted(client.run(_peak_rss).values())
    finally:
        close(client)
    gap = float(np.max(np.abs(there - here) / np.abs(here)))
    print(f"banded vector on a cluster (chained Rosenbrock, n = {n:,}, {steps} gd steps, local:2, {chunks} chunks, "
          f"map_overlap): {cluster:.2f} s against {single:.2f} s on one machine's kernel engine, ratio "
          f"{cluster / single:.1f}×; set-up {setup:.1f} s (cluster, x sent, kernel built on each worker); largest "
          f"relative difference of x {gap:.1e}")  # fmt: skip
    print(f"peak RSS: {_peak_rss() / 2**20:.0f} MiB here (x's start, the one-machine run, the final point), "
          f"{', '.join(f'{w / 2**20:.0f}' for w in workers)} MiB on the workers")  # fmt: skip


def _peak_rss() -> int:
    """This process's peak resident memory in bytes (run on each worker too)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def file_figures(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        x_path, y_path = write(folder, rows)
        size = os.path.getsize(x_path) + os.path.getsize(y_path)
        ours = child(CHILD, x_path, y_path)
        hand = child(HAND, x_path, y_path)
        batched = child(BATCHED, x_path, y_path)
    numbers = rows * (FEATURES + 1) * 8
    print(f"{rows:,} rows × {FEATURES + 1} columns: {numbers / 2**30:.2f} GiB of numbers, {size / 2**30:.2f} "
          f"GiB on disk (Parquet)")  # fmt: skip
    print(f"symdescent, 3 gd steps streamed: {ours[0]:.2f} s, peak RSS {ours[1] / 2**20:.0f} MiB, f = {ours[2]:.6g}")
    print(f"hand-written numpy over row groups: {hand[0]:.2f} s, peak RSS {hand[1] / 2**20:.0f} MiB, f = {hand[2]:.6g}")
    print(f"ratio: {ours[0] / hand[0]:.2f}× the time, {ours[1] / hand[1]:.2f}× the memory")
    print(
        f"symdescent, one epoch of adam in batches of 10,000 rows (the file read three times: f at the start, the "
        f"batches, f at the end): {batched[0]:.2f} s, peak RSS {batched[1] / 2**20:.0f} MiB, f = {batched[2]:.6g}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10**7)
    parser.add_argument("--cluster", action="store_true")
    parser.add_argument("--cluster-rows", type=int, default=10**7, help="rows of the cluster comparison")
    parser.add_argument("--banded", action="store_true", help="a banded vector on a LocalCluster (map_overlap)")
    parser.add_argument("--banded-n", type=int, default=10**7, help="entries of the banded vector")
    parser.add_argument("--markdown", metavar="FILE", help="also write what is printed as Markdown, for the docs")
    options = parser.parse_args()
    if options.rows:  # --rows 0: the cluster comparison alone
        file_figures(options.rows)
    if options.cluster:
        cluster_ratio(options.cluster_rows)
    if options.banded:
        banded_ratio(options.banded_n)


if __name__ == "__main__":
    from report import printed_as_markdown

    printed_as_markdown(__file__, "Data at scale: a Parquet file read a chunk at a time, and a Dask cluster", main)
