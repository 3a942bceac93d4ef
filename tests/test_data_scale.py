"""Data at scale: Parquet and Arrow files read a chunk at a time, and the same sums on a Dask LocalCluster.

f and ∇f over all rows are sums of their values on chunks (or partitions), for a function that is a mean or sum
over the rows of its data plus terms without data; each must equal the in-memory problem's to rounding.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from symdescent.errors import InputError
from symdescent.vectors.problem import make_vector_problem
from symdescent.vectors.run import VectorRun

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
feather = pytest.importorskip("pyarrow.feather")

from symdescent.vectors.stream import open_columnar, streamed_problem  # noqa: E402

RNG = np.random.default_rng(5)
X = RNG.normal(size=(5000, 3))
Y = X @ np.array([1.0, -2.0, 3.0]) + 0.1 * RNG.normal(size=5000)
LINE = "mean((X @ w - y)^2) + 0.01*(w @ w)"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    x_path, y_path = tmp_path / "X.parquet", tmp_path / "y.feather"
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2]}), x_path, row_group_size=1700)
    feather.write_feather(pa.table({"y": Y}), y_path)
    return x_path, y_path


@pytest.mark.parametrize("text", [LINE, "sum((X @ w - y)^2)", "mean(log(1 + exp(-y*(X @ w))))"])
def test_chunked_sums_equal_the_whole_data(files: tuple[Path, Path], text: str) -> None:
    columns = [open_columnar(str(files[0]), "X"), open_columnar(str(files[1]), "y")]
    assert (columns[0].rows, columns[0].columns) == (5000, ("a", "b", "c"))
    streamed = streamed_problem(text, {"w": np.zeros(3)}, {}, columns, rows=1024)  # 5 chunks, the last of 904 rows
    whole = make_vector_problem(text, {"w": np.zeros(3)}, {"X": X, "y": Y})
    for z in (np.zeros(3), np.array([0.3, -0.2, 1.1])):
        f, g = streamed.value_and_grad(z)
        f0, g0 = whole.value_and_grad(z)
        assert f == pytest.approx(f0, rel=1e-12) and np.allclose(g, g0, rtol=1e-12, atol=0)


def test_a_run_on_streamed_data_ends_where_the_in_memory_run_ends(files: tuple[Path, Path]) -> None:
    columns = [open_columnar(str(files[0]), "X"), open_columnar(str(files[1]), "y")]
    streamed = VectorRun(streamed_problem(LINE, {"w": np.zeros(3)}, {}, columns, rows=1024), method="cg")
    whole = VectorRun(make_vector_problem(LINE, {"w": np.zeros(3)}, {"X": X, "y": Y}), method="cg")
    list(streamed), list(whole)
    assert streamed.last.step == whole.last.step
    assert np.allclose(streamed.result().x["w"], whole.result().x["w"], rtol=1e-10)


def test_columnar_files_are_checked(tmp_path: Path, files: tuple[Path, Path]) -> None:
    text_column = tmp_path / "names.parquet"
    pq.write_table(pa.table({"t": [1.0, 2.0], "name": ["a", "b"]}), text_column)
    with pytest.raises(InputError, match=r"'name' .* not numbers"):
        open_columnar(str(text_column))
    with pytest.raises(InputError, match="no such file"):
        open_columnar(str(tmp_path / "missing.parquet"))
    short = tmp_path / "short.parquet"
    pq.write_table(pa.table({"y": Y[:10]}), short)
    with pytest.raises(InputError, match="as many rows"):
        streamed_problem(
            LINE, {"w": np.zeros(3)}, {}, [open_columnar(str(files[0]), "X"), open_columnar(str(short), "y")]
        )
    with pytest.raises(InputError, match="mean or sum over the rows"):
        columns = [open_columnar(str(files[0]), "X"), open_columnar(str(files[1]), "y")]
        streamed_problem("mean(X @ w - y)^2", {"w": np.zeros(3)}, {}, columns, rows=1024)


def test_a_local_dask_cluster_gives_the_single_machine_result(tmp_path: Path) -> None:
    """The command line starts a LocalCluster of two processes, runs on it and stops it."""
    pytest.importorskip("distributed")
    from conftest import cli

    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", Y)
    args = ["run", LINE, "--data", f"X={tmp_path / 'X.npy'}", "--data", f"y={tmp_path / 'y.npy'}"]
    args += ["--start", "w=zeros(3)", "--method", "cg", "--format", "json"]
    import json

    spread = json.loads(cli(*args, "--scheduler", "local:2").stdout)
    alone = json.loads(cli(*args).stdout)
    assert spread["params"]["engine"] == "dask" and spread["steps"] == alone["steps"]
    assert np.allclose(spread["x"]["w"], alone["x"]["w"], rtol=1e-10, atol=0)


def test_parquet_data_on_the_command_line_loaded_or_streamed(files: tuple[Path, Path], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from conftest import cli

    import symdescent.vectors.stream as stream

    args = ["run", LINE, "--data", f"X={files[0]}", "--data", f"y={files[1]}", "--start", "w=zeros(3)", "-q"]
    loaded = cli(*args)
    monkeypatch.setattr(stream, "LOAD_BYTES", 1000)  # larger than this: read a chunk at a time
    monkeypatch.setattr(stream, "CHUNK_ROWS", 700)
    streamed = cli(*args)
    assert loaded.exit_code == streamed.exit_code == 0
    assert np.allclose(
        [float(v) for v in streamed.stdout.split()], [float(v) for v in loaded.stdout.split()], rtol=1e-12
    )
    assert "a cluster takes data in memory" in cli(*args, "--scheduler", "local:1").stderr
    # mini-batches on a streamed file: its chunks in file order, each chunk's rows shuffled (documented)
    batched = cli(*args, "--batch-size", "64", "--epochs", "2", "--seed", "3", "--lr", "0.05", "--tol", "0")
    w, rng = np.zeros(3), np.random.default_rng(3)
    for _ in range(2):
        for first in range(0, 5000, 700):
            chunk = np.arange(first, min(first + 700, 5000))
            order = chunk[rng.permutation(len(chunk))]
            for k in range(0, len(order), 64):
                rows = order[k : k + 64]
                w = w - 0.05 * (2 * X[rows].T @ (X[rows] @ w - Y[rows]) / len(rows) + 0.02 * w)
    assert batched.exit_code == 0
    assert np.allclose([float(v) for v in batched.stdout.split()], w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("address", ["local:0", "local:x", "nonsense"])
def test_bad_scheduler_addresses_are_one_line_errors(address: str) -> None:
    pytest.importorskip("distributed")
    from symdescent.vectors.cluster import connect

    with pytest.raises(InputError, match="scheduler"):
        connect(address)


def test_scheduler_settings_apply_only_where_a_cluster_could_run(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from conftest import cli

    monkeypatch.setenv("SYMDESCENT_SCHEDULER", "local:1")
    out = cli("run", "x**2", "--start", "1", "-q")  # no data: the variable does not apply
    assert out.exit_code == 0 and out.stderr == ""
    assert "works on data" in cli("run", "x**2", "--start", "1", "--scheduler", "local:1").stderr
    assert "--exact and --working-precision" in cli(
        "run", LINE, "--data", "X=[[1,2,3],[4,5,6]]", "--data", "y=[1,2]", "--start", "w=zeros(3)",
        "--scheduler", "local:1", "--working-precision", "20",
    ).stderr  # fmt: skip


def test_a_parquet_column_title_that_is_no_name_is_refused(tmp_path: Path) -> None:
    from conftest import cli

    path = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"my col": [1.0, 2.0], "t": [0.0, 1.0]}), path)
    out = cli("run", "mean((a*t - 1)^2)", "--data", str(path), "--start", "a=0", "-q")
    assert out.exit_code == 2 and "the column title 'my col' is not a usable name" in out.stderr


def test_a_local_cluster_tells_the_resource_tracker_not_to_warn(monkeypatch) -> None:
    """Ctrl-C while the workers start left the tracker printing 'leaked semaphore objects' under 'Interrupted.'"""
    from symdescent.vectors import cluster

    monkeypatch.setenv("PYTHONWARNINGS", "error::DeprecationWarning")
    cluster._quiet_resource_tracker()
    cluster._quiet_resource_tracker()  # once only
    assert os.environ["PYTHONWARNINGS"] == "error::DeprecationWarning,ignore:resource_tracker:UserWarning"
    monkeypatch.delenv("PYTHONWARNINGS")
    cluster._quiet_resource_tracker()
    assert os.environ["PYTHONWARNINGS"] == "ignore:resource_tracker:UserWarning"
