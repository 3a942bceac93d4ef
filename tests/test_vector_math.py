"""The branch-free exp and log of the row pass (kernels/vector_math.py): 1 ulp from the C library's, its edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, log_expit

from symdescent.generated import define
from symdescent.kernels import vector_math
from symdescent.vectors import rows
from symdescent.vectors.problem import make_vector_problem

numba = pytest.importorskip("numba")

LOGISTIC = "mean(log(1 + exp(-y * (X @ w))))"

SOURCE = f"""
import numba
import numpy
CACHE = False
{vector_math.numba_source()}

@numba.njit(error_model="numpy")
def both(x, e, lg):
    for i in range(x.shape[0]):
        e[i] = _vexp(x[i])
        lg[i] = _vlog(x[i])
    return e, lg
"""
_both = define(SOURCE, "both")


def vexp(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=float)
    return _both(x, np.empty_like(x), np.empty_like(x))[0]


def vlog(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=float)
    return _both(x, np.empty_like(x), np.empty_like(x))[1]


def ulps(got: np.ndarray, want: np.ndarray) -> float:
    """The largest distance in units of the last place, where want is finite (the rest must be equal)."""
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite])
    return float(np.max(np.abs(got[finite] - want[finite]) / np.spacing(np.abs(want[finite]))))


def test_exp_within_one_ulp_over_its_whole_range() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.uniform(-760, 720, 400_000),  # overflow, the subnormals and underflow to 0 included
            rng.uniform(-1, 1, 100_000),
            rng.normal(size=100_000) * 1e-8,
            np.arange(-1100, 1100) * math.log(2) / 2,  # the reduction's boundaries
            np.nextafter(np.log(np.finfo(float).max), [-np.inf, np.inf]),
        ]
    )
    with np.errstate(over="ignore"):
        want = np.exp(x)
    assert ulps(vexp(x), want) <= 1.0
    assert np.array_equal(vexp(x) == 0, want == 0)


def test_log_within_one_ulp_over_its_whole_range() -> None:
    rng = np.random.default_rng(1)
    tiny = np.finfo(float).smallest_subnormal
    x = np.concatenate(
        [
            np.exp(rng.uniform(-745, 709.7, 400_000)),
            rng.uniform(0, 4, 100_000),
            1 + rng.normal(size=100_000) * 1e-9,  # log near 1, where the answer is small
            np.sqrt([0.5, 2.0]),
            np.nextafter(np.sqrt([0.5, 2.0]), [[-np.inf], [np.inf]]).ravel(),
            tiny * rng.integers(1, 2**52, 10_000),  # subnormals
            [tiny, np.finfo(float).tiny, np.finfo(float).max, 1.0, 2.0, 0.5],
        ]
    )
    assert ulps(vlog(x), np.log(x)) <= 1.0
    assert vlog(np.array([1.0]))[0] == 0.0


@pytest.mark.parametrize(
    ("x", "exp", "log"),
    [
        (np.inf, np.inf, np.inf),
        (-np.inf, 0.0, np.nan),
        (np.nan, np.nan, np.nan),
        (0.0, 1.0, -np.inf),
        (-0.0, 1.0, -np.inf),
        (-1.0, math.exp(-1.0), np.nan),
        (-1e-300, 1.0, np.nan),
        (709.8, np.inf, math.log(709.8)),
        (1000.0, np.inf, math.log(1000.0)),
        (-745.2, 0.0, np.nan),
        (-745.1, 5e-324, np.nan),
        (-1e6, 0.0, np.nan),
    ],
)
def test_the_edges_are_the_c_librarys(x: float, exp: float, log: float) -> None:
    got_exp, got_log = float(vexp(np.array([x]))[0]), float(vlog(np.array([x]))[0])
    np.testing.assert_equal([got_exp, got_log], [exp, log])


def test_the_python_functions_are_as_close() -> None:
    """The module's functions run on numpy scalars too (without fused multiply-adds): as close, the same edges."""
    x = np.random.default_rng(2).uniform(-760, 720, 300)
    x = np.concatenate([x, [np.inf, -np.inf, np.nan, 0.0, 1e-310]])
    with np.errstate(all="ignore"):
        assert ulps(np.array([vector_math.vexp(np.float64(v)) for v in x]), np.exp(x)) <= 1.0
        positive = np.abs(x)
        assert ulps(np.array([vector_math.vlog(np.float64(v)) for v in positive]), np.log(positive)) <= 1.0


exponents = st.integers(-350 * 2**20, 350 * 2**20).map(lambda k: k / 2**20)  # a + b exact


@settings(max_examples=300, deadline=None)
@given(exponents, exponents)
def test_exp_of_a_sum_is_the_product(a: float, b: float) -> None:
    got, want = vexp(np.array([a, b, a + b])), math.exp(a + b)
    assert abs(got[0] * got[1] - want) <= 3 * math.ulp(want)


@settings(max_examples=300, deadline=None)
@given(st.floats(-700, 700))
def test_log_undoes_exp(x: float) -> None:
    back = vlog(vexp(np.array([x])))[0]
    assert abs(back - x) <= 2 * math.ulp(x) + 2 * math.ulp(1.0)


@settings(max_examples=300, deadline=None)
@given(st.floats(1e-150, 1e150), st.floats(1e-150, 1e150))
def test_log_of_a_product_is_the_sum(a: float, b: float) -> None:
    logs = vlog(np.array([a, b, a * b]))
    assert abs(logs[0] + logs[1] - logs[2]) <= 3 * math.ulp(max(abs(logs[0]), abs(logs[1]))) + 2 * math.ulp(1.0)


def test_the_logistic_kernel_calls_them_and_is_vectorised(monkeypatch: pytest.MonkeyPatch) -> None:
    """exp and log of φ are the functions above; on an AVX2 machine the φ loop divides four doubles at once."""
    monkeypatch.setenv("SYMDESCENT_KERNEL", "numba")
    X = np.random.default_rng(3).normal(size=(300, 4))
    problem = make_vector_problem(LOGISTIC, {"w": np.zeros(4)}, {"X": X, "y": np.sign(X[:, 0])})
    form = rows.row_form(problem)
    assert form is not None
    source = rows.kernel_source(form)
    assert source is not None and "_vexp(" in source and "_vlog(" in source
    assert "math.exp" not in source and "math.log" not in source
    import llvmlite.binding

    if not llvmlite.binding.get_host_cpu_features().get("avx2"):
        pytest.skip("no AVX2 here")
    from symdescent.generated import define

    kernel = define(source.replace("CACHE = True", "CACHE = False"), "block")  # in memory: a cached kernel has no asm
    kernel(X, np.zeros(4), 1.0, np.empty(4), np.empty((rows.BLOCKS, 4)), np.empty(rows.BLOCKS), problem.data["y"])
    assembly = kernel.inspect_asm(kernel.signatures[0])
    assert "vdivpd\t%ymm" in assembly  # e^r's and log's divisions, four rows at a time


def test_large_margins_against_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Margins out to ±600, where e^-m is near the ends of the range: f and ∇f are scipy's log_expit and expit."""
    monkeypatch.setenv("SYMDESCENT_KERNEL", "numba")
    rng = np.random.default_rng(4)
    X = rng.normal(size=(3001, 7))
    y = np.where(rng.random(3001) < 0.5, 1.0, -1.0)
    problem = make_vector_problem(LOGISTIC, {"w": np.zeros(7)}, {"X": X, "y": y})
    evaluate = rows.rows_evaluator(problem, 1)
    assert evaluate is not None
    for largest in (1e-3, 1.0, 30.0, 600.0):
        w = rng.normal(size=7)
        w *= largest / np.max(np.abs(X @ w))
        margin = y * (X @ w)
        f, g = evaluate(w)
        np.testing.assert_allclose(f, np.mean(-log_expit(margin)), rtol=1e-12)
        want = -(X.T @ (y * expit(-margin))) / len(y)
        np.testing.assert_allclose(g, want, rtol=1e-11, atol=1e-14 * np.max(np.abs(want)))


@pytest.mark.parametrize(
    "text",
    [
        "sum(exp(-(X @ w - y)^2))",
        "mean(log(1 + (X @ w - y)^2))",
        "mean(s * log(1 + exp(X @ w)) - y * (X @ w))",
        "sum(log(exp(X @ w) + exp(-(X @ w))))",
    ],
)
def test_other_losses_with_exp_and_log_agree_with_numpy(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("SYMDESCENT_KERNEL", "numba")
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(777, 6)), rng.normal(size=777)
    problem = make_vector_problem(text, {"w": np.zeros(6)}, {"X": X, "y": y, "s": rng.uniform(0.5, 2, 777)})
    form = rows.row_form(problem)
    assert form is not None
    source = rows.kernel_source(form)
    assert source is not None and "math.exp(" not in source and "math.log(" not in source
    evaluate = rows.rows_evaluator(problem, 1)
    assert evaluate is not None
    for w in (np.zeros(6), rng.normal(size=6)):
        f, g = evaluate(w)
        f0, g0 = problem.value_and_grad(w)
        np.testing.assert_allclose(f, f0, rtol=1e-12)
        np.testing.assert_allclose(g, g0, rtol=1e-11, atol=1e-14 * np.max(np.abs(g0)))


def test_without_their_source_the_kernel_keeps_the_c_librarys(monkeypatch: pytest.MonkeyPatch) -> None:
    """An install of bytecode only has no source to copy into the generated module: no error, the C library's."""
    import inspect

    def missing(fn: object) -> str:
        raise OSError("could not get source code")

    form = rows.RowForm("X", 1.0, ("y",), (), vector_math_phi())
    assert "_vexp(" in (rows.kernel_source(form) or "")
    monkeypatch.setattr(inspect, "getsource", missing)
    assert vector_math.numba_source() is None
    source = rows.kernel_source(form)
    assert source is not None and "math.exp(" in source and "_vexp" not in source


def vector_math_phi() -> sp.Expr:
    """The logistic loss's φ(u, d0), as rows.row_form gives it."""
    u, d0 = sp.symbols("u d0", real=True)
    return sp.log(1 + sp.exp(-d0 * u))
