"""The fused numba step (kernels/fused.py) against the numpy kernel and the plain vector engine, step by step.

Small n, but chunks of 5 entries, two threads and segments of 7 entries, so that every halo the fused
pass keeps (tile, segment, block, both ends of x) is crossed; each case compiles once (about 2 s).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symdescent.kernels import ARRAY_STEPS, BandTerm, compile_banded, make_step
from symdescent.kernels import chunks as chunks_module
from symdescent.kernels import fused as fused_module
from symdescent.vectors.engine import make_run
from symdescent.vectors.problem import make_vector_problem

pytest.importorskip("numba")

x0, x1, x2, x3 = sp.symbols("x0 x1 x2 x3")
# (terms, the same function in the vector language): halo 0, 1, and 3 with a gap and no offset 0
CASES = {
    "square": ([BandTerm((x0 - 1) ** 2, {0: x0})], "sum((x-1)^2)"),
    "rosenbrock": (
        [BandTerm(100 * (x1 - x0**2) ** 2 + (1 - x0) ** 2, {0: x0, 1: x1})],
        "sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)",
    ),
    "band": (
        [
            BandTerm(x0 * x1 * x2 + (x2 - x0) ** 2 + sp.cos(x1), {0: x0, 1: x1, 2: x2}),
            BandTerm(x1 * x3**2 / 2, {1: x1, 3: x3}),
        ],
        # the language starts x[i+1] at x_0, the band at x_1: the first term is taken away
        "sum(x[i]*x[i+1]*x[i+2] + (x[i+2]-x[i])^2 + cos(x[i+1]), i) + sum(x[i+1]*x[i+3]^2/2, i) - x[1]*x[3]^2/2",
    ),
    # exp and log: the kernel's own branch-free ones (kernels/vector_math.py), not the C library's
    "exp_log": (
        [BandTerm(sp.exp(x0 - x1) + sp.log(1 + x0**2), {0: x0, 1: x1})],
        "sum(exp(x[i] - x[i+1]) + log(1 + x[i]^2), i)",
    ),
}
SIZES = (1, 2, 3, 4, 6, 11, 23, 37)
STEPS = 6
LR = 1e-3
_compiled: dict[tuple[str, str, str], object] = {}


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    monkeypatch.setattr(chunks_module, "MIN_PER_THREAD", 1)  # two threads even for a few entries
    monkeypatch.setattr(fused_module, "SEGMENT", 7)


def function(case: str, backend: str, dtype: str = "float64"):
    """One compiled function per case and backend for the whole module (numba compiles once)."""
    key = (case, backend, dtype)
    if key not in _compiled:
        _compiled[key] = compile_banded(CASES[case][0], chunk=5, threads=2, backend=backend, dtype=dtype)
    return _compiled[key]


def close(got: np.ndarray | float, want: np.ndarray | float, scale: float) -> None:
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * scale)


@pytest.mark.parametrize("method", list(ARRAY_STEPS))
@pytest.mark.parametrize("case", list(CASES))
def test_fused_step_is_the_numpy_kernel_and_the_vector_engine_step_by_step(case, method):
    fused, plain = function(case, "numba"), function(case, "numpy")
    for n in SIZES:
        start = np.random.default_rng(n).uniform(-1, 1, n)
        x, y = start.copy(), start.copy()
        steps_x, steps_y = make_step(method, n, lr=LR), make_step(method, n, lr=LR)
        engine = None  # the vector language refuses an index sum with no terms (n ≤ the halo)
        if n > fused.halo:
            problem = make_vector_problem(CASES[case][1], {"x": start.copy()})
            engine = list(make_run(problem, engine="array", method=method, lr=LR, max_steps=STEPS, tol=0))
        for k in range(STEPS):
            f, norm = fused.step(x, steps_x)
            assert fused.last_fused and fused.last_backend == "numba"
            want_f, want_norm = plain.step(y, steps_y)
            assert not plain.last_fused
            close(f, want_f, 1.0)
            close(norm, want_norm, 1.0)
            close(x, y, 1.0)
            if engine is not None:
                close(f, engine[k].f, 1.0)
                close(norm, engine[k].grad_norm, 1.0)
                close(x, engine[k + 1].x, 1.0)
            for mine, theirs in zip(steps_x.state, steps_y.state, strict=True):  # velocity, m, v, G
                close(mine, theirs, float(np.max(np.abs(theirs), initial=1.0)))


def test_fused_step_and_evaluation_after_it_in_one_pass():
    fused, plain = function("square", "numba"), function("square", "numpy")
    for n in (1, 9, 37):
        x = np.linspace(-2, 3, n)
        y = x.copy()
        got = fused.step_and_evaluate(x, make_step("adam", n, lr=0.1))
        want = plain.step_and_evaluate(y, make_step("adam", n, lr=0.1))
        assert fused.last_fused
        close(np.array(got), np.array(want), 1.0)
        close(x, y, 1.0)
    with pytest.raises(ValueError, match="halo 0"):  # refused before x changes
        z = np.ones(5)
        function("rosenbrock", "numba").step_and_evaluate(z, make_step("gd", 5))
    assert (z == 1).all()


def test_fused_float32_matches_the_numpy_kernel_to_float32_rounding():
    fused, plain = function("square", "numba", "float32"), function("square", "numpy", "float32")
    x = np.linspace(-2, 3, 37, dtype=np.float32)
    y = x.copy()
    for _ in range(3):
        got = fused.step(x, make_step("momentum", 37, "float32", lr=0.1))
        want = plain.step(y, make_step("momentum", 37, "float32", lr=0.1))
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, y, rtol=1e-6)


def test_exp_and_log_are_the_vectorised_ones_in_float64_and_float32(monkeypatch):
    """The kernel calls vector_math's exp and log (LLVM vectorises its tile loops); float32 agrees to its rounding."""
    sources: list[str] = []
    load = fused_module.load_numba
    monkeypatch.setattr(fused_module, "load_numba", lambda body, name: sources.append(body) or load(body, name))
    for dtype, rtol in (("float64", 1e-12), ("float32", 1e-5)):
        fused = compile_banded(CASES["exp_log"][0], chunk=5, threads=2, backend="numba", dtype=dtype)
        plain = function("exp_log", "numpy", dtype)
        x = np.linspace(-2, 3, 37, dtype=dtype)
        y = x.copy()
        for _ in range(3):
            got = fused.step(x, make_step("adam", 37, dtype, lr=0.1))
            want = plain.step(y, make_step("adam", 37, dtype, lr=0.1))
            np.testing.assert_allclose(got, want, rtol=rtol)
        assert x.dtype == np.dtype(dtype) and fused.last_fused
        np.testing.assert_allclose(x, y, rtol=rtol)
    assert sources and all("_vexp(" in body and "_vlog(" in body and "math.exp(" not in body for body in sources)


def test_a_division_by_zero_gives_inf_as_in_the_numpy_kernel_not_an_exception():
    """numba's Python error model raised ZeroDivisionError (an "internal error", exit 1) where numpy gives inf."""
    terms = [BandTerm(1 / x0 + x0**2, {0: x0})]
    numba_kernels = compile_banded(terms, chunk=5, threads=2, backend="numba")
    numpy_kernels = compile_banded(terms, chunk=5, threads=2, backend="numpy")
    x = np.array([1.0, 0.0, 2.0, -1.0, 3.0, 0.5, 4.0])
    ends = []
    with np.errstate(all="ignore"):
        for kernels in (numba_kernels, numpy_kernels):
            f, norm = kernels.value_and_grad_norm(x.copy())
            assert f == np.inf and norm == np.inf
            z = x.copy()
            f, norm = kernels.step(z, make_step("gd", z.size, lr=0.1))
            assert f == np.inf and norm == np.inf and z[1] == np.inf  # 0 − 0.1·(−1/0² + 0)
            ends.append(z)
    assert numba_kernels.last_fused and not numpy_kernels.last_fused
    np.testing.assert_allclose(ends[0], ends[1], rtol=1e-15)


def test_auto_runs_numpy_below_the_jit_length_and_the_environment_forces_the_fused_step(monkeypatch):
    auto = compile_banded(CASES["square"][0], chunk=5, threads=2)
    auto.step(np.ones(10), make_step("gd", 10))
    assert auto.last_backend == "numpy" and not auto.last_fused
    # a run on the kernel engine (3000 entries: steps carry x's head, x_{k+1} evaluated in the update pass)
    monkeypatch.setenv("SYMDESCENT_KERNEL", "numba")
    start = np.linspace(-1, 2, 3000)
    problem = make_vector_problem("sum((x-1)^2)", {"x": start})
    run = make_run(problem, engine="kernel", method="adam", lr=0.01, max_steps=4, tol=0)
    rows = list(run)
    assert run.function.last_fused
    monkeypatch.setenv("SYMDESCENT_KERNEL", "numpy")
    plain = list(make_run(problem, engine="kernel", method="adam", lr=0.01, max_steps=4, tol=0))
    for a, b in zip(rows, plain, strict=True):
        close(np.array([a.f, a.grad_norm]), np.array([b.f, b.grad_norm]), 1.0)
        close(a.x, b.x, 1.0)


PROBE = """
import numpy as np, sympy as sp
from symdescent.kernels import BandTerm, compile_banded, make_step
x0 = sp.Symbol("x0")
function = compile_banded([BandTerm((x0 - 1) ** 2, {0: x0})], chunk=5, threads=2, backend="numba")
x = np.zeros(10)
function.step(x, make_step("gd", 10, lr=0.25))
stats = function._fused.kernel.stats
print(x[0], sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def test_the_fused_kernel_is_compiled_once_and_then_loaded_from_the_cache(tmp_path):
    """numba caches only code read from a file: the kernel's module is written to the cache folder, so a
    second process loads its machine code (a cache hit, no miss); with the cache off nothing is written."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def probe(**extra: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", PROBE], env={**env, **extra}, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert probe() == ["0.5", "0", "1"]  # x ← 0 − 0.25·2(0 − 1): compiled, and written
    kernels = tmp_path / "cache" / "symdescent" / "kernels"
    assert list(kernels.glob("kernel_*.py")) and list((kernels / "__pycache__").glob("kernel_*.fused-*.nbi"))
    assert probe() == ["0.5", "1", "0"]  # loaded
    assert probe(SYMDESCENT_CACHE="0", XDG_CACHE_HOME=str(tmp_path / "off")) == ["0.5", "0", "1"]
    assert not (tmp_path / "off").exists()
