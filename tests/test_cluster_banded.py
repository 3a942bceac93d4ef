"""A long banded vector on a Dask cluster (map_overlap over chunks of x): the one-machine kernel run's steps.

The cluster is a LocalCluster of two in-process workers that this module starts and stops itself; x of 4000
entries in three Dask chunks of 1536 (the last one shorter) and kernel chunks of 500, so that chunks, halos and
both ends of x (j = 1 and j = n) are exercised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from symdescent.result import Status
from symdescent.vectors.banded import banded_terms
from symdescent.vectors.engine import make_run
from symdescent.vectors.problem import make_vector_problem

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.array")

from symdescent.vectors.cluster import LOOPBACK_HTTP  # noqa: E402
from symdescent.vectors.cluster_banded import DaskKernelRun  # noqa: E402

ROSENBROCK = "sum(100*(x[i+1]-x[i]^2)^2+(1-x[i])^2, i)"
# shifts both ways, up to 2: a halo of 2, and terms that are cut at both ends
BAND = "sum((x[i+2]-x[i])^2 + x[i-1]*x[i] + x[i]^4/4, i)"
N = 4_000


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None, silence_logs=50,
        scheduler_kwargs=LOOPBACK_HTTP,
    ) as local:  # fmt: skip
        yield local


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster.scheduler_address) as connected:
        yield connected


def start(n: int = N) -> np.ndarray:
    return 1 + 0.3 * np.random.default_rng(1).standard_normal(n)


def both(text: str, method: str, client: Any, n: int = N, block: int = 1536, **options: Any) -> tuple[Any, Any]:
    """The run on the cluster and the same run on one machine's kernel engine, both to the end."""
    problem = make_vector_problem(text, {"x": start(n)})
    banded = banded_terms(problem)
    assert banded is not None
    spread = DaskKernelRun(problem, banded, client, method=method, block=block, chunk=500, **options)
    alone = make_run(make_vector_problem(text, {"x": start(n)}), method=method, engine="kernel", **options)
    return spread, alone


def rosenbrock_gd(x: np.ndarray, lr: float, steps: int) -> np.ndarray:
    """Plain gradient descent on the chained Rosenbrock function, written with numpy by hand."""
    x = x.copy()
    for _ in range(steps):
        a, b = x[:-1], x[1:]
        g = np.zeros_like(x)
        g[:-1] += -400 * a * (b - a**2) - 2 * (1 - a)
        g[1:] += 200 * (b - a**2)
        x = x - lr * g
    return x


@pytest.mark.parametrize(
    ("text", "method", "options"),
    [
        (ROSENBROCK, "gd", {"lr": 1e-4}),
        (BAND, "adam", {"lr": 0.01}),
        (BAND, "adagrad", {"lr": 0.05}),
    ],
)
def test_each_step_equals_the_one_machine_kernel_run(client: Any, text: str, method: str, options: Any) -> None:
    spread, alone = both(text, method, client, max_steps=5, tol=0, **options)
    steps, reference = list(spread), list(alone)
    assert [s.step for s in steps] == [s.step for s in reference] == list(range(6))
    for got, want in zip(steps, reference, strict=True):
        assert got.f == pytest.approx(want.f, rel=1e-10, abs=0)
        assert got.grad_norm == pytest.approx(want.grad_norm, rel=1e-10, abs=0)
        np.testing.assert_allclose(got.x, want.x, rtol=1e-10, atol=0)  # the first 16 entries
    result, expected = spread.result(), alone.result()
    assert (result.status, result.params["engine"], expected.params["engine"]) == (expected.status, "dask", "kernel")
    np.testing.assert_allclose(result.x["x"], expected.x["x"], rtol=1e-10, atol=0)
    assert client.status == "running"  # closing is the caller's (the command line passes close=)


def test_both_ends_of_x_follow_a_numpy_gradient_descent(client: Any) -> None:
    spread, _ = both(ROSENBROCK, "gd", client, max_steps=5, tol=0, lr=1e-4)
    list(spread)
    got, want = spread.result().x["x"], rosenbrock_gd(start(), 1e-4, 5)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)
    # j = 1 has no left neighbour, j = n no right one; each Dask chunk's first and last entries use the halo
    edges = [0, 1, 1535, 1536, 1537, 3071, 3072, N - 2, N - 1]
    np.testing.assert_allclose(got[edges], want[edges], rtol=1e-12, atol=0)


def test_a_last_chunk_shorter_than_the_halo_joins_the_one_before(client: Any) -> None:
    spread, alone = both(BAND, "gd", client, n=3073, max_steps=3, tol=0, lr=0.01)  # chunks 1536, 1536 and 1
    list(spread), list(alone)
    assert spread.chunks == ((1536, 1537),)
    np.testing.assert_allclose(spread.result().x["x"], alone.result().x["x"], rtol=1e-12, atol=0)


def test_a_short_vector_carries_x_and_the_gradient_at_every_step(client: Any) -> None:
    """Up to 1000 entries a step holds all of x and ∇f, as on one machine (here 600 entries, Dask chunks of 1536)."""
    spread, alone = both(BAND, "gd", client, n=600, max_steps=4, tol=0, lr=0.01, maximize=True)
    for got, want in zip(spread, alone, strict=True):
        assert got.x.shape == got.grad.shape == (600,)
        np.testing.assert_allclose(got.x, want.x, rtol=1e-12, atol=0)
        np.testing.assert_allclose(got.grad, want.grad, rtol=1e-10, atol=1e-12)


def test_an_interrupted_run_ends_at_its_last_whole_step_and_closes_the_client(cluster: Any) -> None:
    client = distributed.Client(cluster.scheduler_address)
    problem = make_vector_problem(ROSENBROCK, {"x": start()})
    closed: list[bool] = []
    run = DaskKernelRun(
        problem, banded_terms(problem), client, lr=1e-4, block=2500, close=lambda: closed.append(client.close() is None)
    )  # fmt: skip
    for step in run:
        if step.step == 3:
            run.interrupt()
    result = run.result()
    assert result.status is Status.INTERRUPTED and closed == [True] and client.status == "closed"
    np.testing.assert_allclose(result.x["x"], rosenbrock_gd(start(), 1e-4, 3), rtol=1e-10, atol=0)


@pytest.fixture
def cli_on_cluster(cluster: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The command line, with ``--scheduler`` connecting to this module's cluster (in-process workers start fast)."""
    from conftest import cli

    import symdescent.vectors.cluster as cluster_module

    connected: list[str] = []

    def connect(address: str) -> Any:
        connected.append(address)
        return distributed.Client(cluster.scheduler_address)

    monkeypatch.setattr(cluster_module, "connect", connect)
    monkeypatch.setenv("SYMDESCENT_VECTOR_ENGINE", "kernel")  # 4000 entries: below the kernel engine's own threshold
    cli.connected = connected  # type: ignore[attr-defined]
    return cli


def test_the_command_line_prints_what_the_one_machine_run_prints(cli_on_cluster: Any, tmp_path: Any) -> None:
    np.save(tmp_path / "start.npy", start())
    args = ["run", ROSENBROCK, "--start", f"x=@{tmp_path / 'start.npy'}", "--lr", "1e-4", "--steps", "6", "--tol", "0"]
    spread = json.loads(cli_on_cluster(*args, "--format", "json", "--scheduler", "local:2").stdout)
    alone = json.loads(cli_on_cluster(*args, "--format", "json").stdout)
    assert cli_on_cluster.connected == ["local:2"]
    assert spread["params"].pop("engine") == "dask" and alone["params"].pop("engine") == "kernel"
    numbers = {"f", "grad_norm", "history"}
    assert {k: v for k, v in spread.items() if k not in numbers} == {k: v for k, v in alone.items() if k not in numbers}
    assert spread["f"] == pytest.approx(alone["f"], rel=1e-10) and spread["steps"] == 6
    for got, want in zip(spread["history"], alone["history"], strict=True):
        assert got.keys() == want.keys() and got["step"] == want["step"]
        assert got["f"] == pytest.approx(want["f"], rel=1e-10)
        assert got["grad_norm"] == pytest.approx(want["grad_norm"], rel=1e-10)
    saved = tmp_path / "end.npy"
    assert cli_on_cluster(*args, "-q", "--scheduler", "local:2", "--save", str(saved)).exit_code == 0
    np.testing.assert_allclose(np.load(saved), rosenbrock_gd(start(), 1e-4, 6), rtol=1e-10, atol=0)
    csv_spread = cli_on_cluster(*args, "--format", "csv", "--scheduler", "local:2").stdout.splitlines()
    csv_alone = cli_on_cluster(*args, "--format", "csv").stdout.splitlines()
    assert csv_spread[0] == csv_alone[0] and len(csv_spread) == len(csv_alone) == 8


def test_what_does_not_run_on_the_cluster_is_refused_in_one_line(cli_on_cluster: Any, monkeypatch: Any) -> None:
    lbfgs = cli_on_cluster("run", ROSENBROCK, "--start", "x=ones(100)", "--method", "lbfgs", "--scheduler", "local:2")
    assert lbfgs.exit_code == 2 and "with --method gd, momentum" in lbfgs.stderr
    assert len(lbfgs.stderr.strip().splitlines()) == 1
    monkeypatch.setenv("SYMDESCENT_VECTOR_ENGINE", "auto")
    small = cli_on_cluster("run", ROSENBROCK, "--start", "x=ones(100)", "--scheduler", "local:2")
    assert small.exit_code == 2 and "runs a vector on the kernel engine only" in small.stderr
    assert cli_on_cluster("run", "x^2", "--start", "1", "--scheduler", "local:2").exit_code == 2
    assert cli_on_cluster.connected == []
    # the variable applies where the kernel engine runs by itself; a short vector runs here, as before
    monkeypatch.setenv("SYMDESCENT_SCHEDULER", "local:2")
    quiet = cli_on_cluster("run", ROSENBROCK, "--start", "x=ones(100)", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "" and cli_on_cluster.connected == []


def test_an_unreachable_scheduler_is_one_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import cli

    from symdescent.vectors.cluster import CONNECT_TIMEOUT

    assert CONNECT_TIMEOUT <= 3  # was 8 s
    monkeypatch.setenv("SYMDESCENT_VECTOR_ENGINE", "kernel")
    out = cli("run", ROSENBROCK, "--start", "x=ones(100)", "--scheduler", "tcp://127.0.0.1:1")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr.startswith("Error: cannot reach the Dask scheduler at tcp://127.0.0.1:1")


def test_the_variable_sends_a_vector_the_kernel_engine_runs(cli_on_cluster: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("SYMDESCENT_SCHEDULER", "local:2")
    out = cli_on_cluster("run", ROSENBROCK, "--start", "x=zeros(10^4)", "--lr", "1e-3", "--steps", "2", "-q")
    assert out.exit_code == 4 and cli_on_cluster.connected == ["local:2"]  # max_steps
    assert cli_on_cluster("run", ROSENBROCK, "--start", "x=zeros(10^4)", "--method", "cg", "--steps", "3", "-q").stdout
    assert cli_on_cluster.connected == ["local:2"]  # cg: the variable does not apply, the run stays here
