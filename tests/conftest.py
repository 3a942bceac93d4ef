"""Shared problems and two ways of running the CLI: in-process and as a real program."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# One OpenBLAS thread per process (before NumPy is first imported; the programs the tests start inherit it):
# pytest-xdist already runs a worker per core, and BLAS threads on top only wait for each other, burning CPU
# (a Lanczos iteration on 10⁵ entries took four times the CPU). The kernel's own threads are unaffected.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

from symdescent.cli import main

# The suite is a spec that must give the same answer on every run: Hypothesis draws the same examples each
# time (a fixed seed). HYPOTHESIS_PROFILE=explore draws new ones, for hunting bugs beyond what CI checks.
# No deadline in CI: a test's own time is no behaviour, and on a loaded machine one slow example fails it.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


SEED = "x**2+y**2"
ROSENBROCK = "(1-x)**2+100*(y-x**2)**2"
BOOTH = "(x+2*y-7)**2+(2*x+y-5)**2"


def cli(*args: str, input: str | None = None) -> Result:
    """Run ``symdescent ARGS`` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.fixture(scope="session")
def executable() -> Path:
    """The installed ``symdescent`` console script next to this interpreter."""
    path = Path(sys.executable).parent / ("symdescent.exe" if os.name == "nt" else "symdescent")
    assert path.exists(), f"symdescent is not installed next to {sys.executable}; run the README's install step"
    return path


def run_installed(
    executable: Path,
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(executable), *args], input=input, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd
    )


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The compiled-function cache in a temporary directory, never the user's (also for subprocesses).

    Shared by the session, so most commands after the first of a function run warm (from the cache):
    the whole suite then also checks that warm runs print what cold runs print. Under pytest-xdist the
    workers share one directory too (entries are written atomically, test_cache_cli.py), so a function is
    differentiated and compiled once per suite, not once per worker.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "xdg-cache"  # the parent of every worker's basetemp
        shared.mkdir(exist_ok=True)
        os.environ["XDG_CACHE_HOME"] = str(shared)
    else:
        os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
