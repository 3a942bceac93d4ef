"""The kernel engine against plain numpy: f, ∇f, in-place steps, chunk and thread boundaries."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symdescent.errors import InputError
from symdescent.kernels import BandTerm, compile_banded, run_banded
from symdescent.kernels import chunks as chunks_module

x0, x1, x2, x3 = sp.symbols("x0 x1 x2 x3")

# Each case: the terms, and a plain numpy reference (f, gradient) written by hand, not by SymPy.
SQUARE = [BandTerm((x0 - 1) ** 2, {0: x0})]
ROSENBROCK = [BandTerm(100 * (x1 - x0**2) ** 2 + (1 - x0) ** 2, {0: x0, 1: x1})]
# a 3-offset band plus a term with a gap and no offset 0, so both ends have boundary cases
BAND = [
    BandTerm(x0 * x1 * x2 + (x2 - x0) ** 2 + sp.cos(x1), {0: x0, 1: x1, 2: x2}),
    BandTerm(x1 * x3**2 / 2, {1: x1, 3: x3}),
]


def square_ref(x):
    return float(np.sum((x - 1) ** 2)), 2 * (x - 1)


def rosenbrock_ref(x):
    g = np.zeros_like(x)
    if x.size < 2:
        return 0.0, g
    a, b = x[:-1], x[1:]
    g[:-1] += -400 * a * (b - a**2) - 2 * (1 - a)
    g[1:] += 200 * (b - a**2)
    return float(np.sum(100 * (b - a**2) ** 2 + (1 - a) ** 2)), g


def band_ref(x):
    n, f, g = x.size, 0.0, np.zeros_like(x)
    if n >= 3:
        a, b, c = x[: n - 2], x[1 : n - 1], x[2:]
        f += float(np.sum(a * b * c + (c - a) ** 2 + np.cos(b)))
        g[: n - 2] += b * c - 2 * (c - a)
        g[1 : n - 1] += a * c - np.sin(b)
        g[2:] += a * b + 2 * (c - a)
    if n >= 4:
        p, q = x[1 : n - 2], x[3:]
        f += float(np.sum(p * q**2 / 2))
        g[1 : n - 2] += q**2 / 2
        g[3:] += p * q
    return f, g


CASES = {"square": (SQUARE, square_ref), "rosenbrock": (ROSENBROCK, rosenbrock_ref), "band": (BAND, band_ref)}


def start(n, seed=0, dtype="float64"):
    return np.random.default_rng(seed).uniform(-1.5, 1.5, n).astype(dtype)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8, 9, 17, 33])
def test_value_and_grad_match_numpy_around_chunk_edges(case, n):
    terms, ref = CASES[case]
    f = compile_banded(terms, 0.5, chunk=8)  # n below, at and one past one and several chunks
    x = start(n)
    want_f, want_g = ref(x)
    g = np.empty(n)
    assert f.value_and_grad(x, g) == pytest.approx(want_f + 0.5, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(g, want_g, rtol=1e-12, atol=1e-12)
    assert f.value(x) == pytest.approx(want_f + 0.5, rel=1e-12, abs=1e-12)
    _, grad_norm = f.value_and_grad_norm(x)
    assert grad_norm == pytest.approx(np.linalg.norm(want_g), rel=1e-12, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    case=st.sampled_from(sorted(CASES)),
    n=st.integers(1, 70),
    chunk=st.integers(1, 25),
    threads=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_in_place_step_is_the_out_of_place_update_for_any_chunking(case, n, chunk, threads, seed):
    terms, ref = CASES[case]
    original = chunks_module.MIN_PER_THREAD
    chunks_module.MIN_PER_THREAD = 1  # let tiny vectors use several blocks, to cross block edges too
    try:
        f = compile_banded(terms, chunk=chunk, threads=threads)
        x = start(n, seed)
        want_f, want_g = ref(x)
        g = np.empty_like(x)
        assert f.value_and_grad(x, g) == pytest.approx(want_f, rel=1e-12, abs=1e-12)
        value, grad_norm = f.gd_step(x_new := x.copy(), 0.01)
    finally:
        chunks_module.MIN_PER_THREAD = original
    np.testing.assert_allclose(g, want_g, rtol=1e-12, atol=1e-12)
    assert value == pytest.approx(want_f, rel=1e-12, abs=1e-12)
    assert grad_norm == pytest.approx(np.linalg.norm(want_g), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(x_new, x - 0.01 * want_g, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("case", CASES)
def test_gd_step_is_bitwise_the_update_from_value_and_grad(case):
    terms, _ = CASES[case]
    f = compile_banded(terms, chunk=16)
    x = start(100)
    g = np.empty_like(x)
    f.value_and_grad(x, g)
    y = x.copy()
    f.gd_step(y, 0.003)
    np.testing.assert_array_equal(y, x - g * 0.003)


def test_two_threads_give_the_one_thread_result_to_rounding(monkeypatch):
    monkeypatch.setattr(chunks_module, "MIN_PER_THREAD", 1)
    one, two = (compile_banded(ROSENBROCK, chunk=7, threads=k) for k in (1, 2))
    assert len(two.sweeper.blocks(200)) == 2
    a, b = start(200), start(200)
    for _ in range(5):
        fa, ga = one.gd_step(a, 1e-3)
        fb, gb = two.gd_step(b, 1e-3)
        assert fb == pytest.approx(fa, rel=1e-13) and gb == pytest.approx(ga, rel=1e-13)
    np.testing.assert_array_equal(a, b)  # the entries themselves do not depend on the split


def test_threads_env_limits_and_small_n_uses_one_thread(monkeypatch):
    monkeypatch.setenv("SYMDESCENT_THREADS", "1")
    assert compile_banded(SQUARE).threads == 1
    monkeypatch.setenv("SYMDESCENT_THREADS", "3")
    monkeypatch.setattr(chunks_module, "usable_cores", lambda: 4)  # the variable is capped to the cores
    f = compile_banded(SQUARE)
    assert f.threads == 3
    assert len(f.sweeper.blocks(1000)) == 1
    assert len(f.sweeper.blocks(10 * chunks_module.MIN_PER_THREAD)) == 3
    monkeypatch.setenv("SYMDESCENT_THREADS", "many")
    with pytest.raises(InputError, match="SYMDESCENT_THREADS"):
        compile_banded(SQUARE)


def test_temporaries_are_bounded_by_the_chunk_not_by_n():
    n = 200_000
    f = compile_banded(ROSENBROCK, chunk=1024, threads=1)
    x = start(n)
    f.gd_step(x, 1e-4)  # scratch buffers are allocated on the first sweep
    tracemalloc.start()
    try:
        f.gd_step(x, 1e-4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes / 10  # one full-size temporary would be 1.6 MB


def test_float32_halves_memory_and_agrees_to_single_precision():
    f32 = compile_banded(ROSENBROCK, dtype="float32")
    x = start(1000, dtype="float32")
    want_f, want_g = rosenbrock_ref(x.astype(np.float64))
    g = np.empty_like(x)
    assert f32.value_and_grad(x, g) == pytest.approx(want_f, rel=1e-5)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, want_g, rtol=1e-4, atol=1e-3)
    with pytest.raises(TypeError, match="float32"):
        f32.gd_step(x.astype(np.float64), 0.1)


def test_progress_reports_fractions_of_the_step_between_chunks():
    seen, polled = [], []
    f = compile_banded(SQUARE, chunk=10)
    f.gd_step(np.zeros(95), 0.1, progress=lambda fraction: (seen.append(fraction), polled.append(f.fraction_done)))
    assert seen[-1] == 1.0 and len(seen) >= 10
    assert seen == sorted(seen) and 0 < seen[0] < 1
    assert polled[:-1] == seen[:-1] and f.fraction_done is None  # a display may poll instead


def test_run_banded_on_the_seed_function_follows_the_closed_form():
    # sum(x^2) with lr 0.1: x_k = 0.8^k x_0, so f_k = 0.64^k f_0
    x = np.full(1000, 2.0)
    rows = list(run_banded([BandTerm(x0**2, {0: x0})], x, lr=0.1, steps=20, tol=0))
    assert [k for k, _, _ in rows] == list(range(21))
    for k, value, grad_norm in rows:
        assert value == pytest.approx(4000 * 0.64**k, rel=1e-12)
        assert grad_norm == pytest.approx(2 * np.sqrt(4000 * 0.64**k), rel=1e-12)
    np.testing.assert_allclose(x, 2 * 0.8**20, rtol=1e-12)


def test_run_banded_stops_at_tolerance_and_on_divergence():
    rows = list(run_banded(SQUARE, np.zeros(10), lr=0.1, steps=1000, tol=1e-6))
    assert rows[-1][2] <= 1e-6 < rows[-2][2] and len(rows) < 1000
    rows = list(run_banded(SQUARE, np.zeros(10), lr=1.5, steps=10_000, tol=0))
    assert not np.isfinite(rows[-1][1:]).all() and len(rows) < 10_000


def test_constant_partials_parameters_and_an_offset_free_of_zero():
    a = sp.Symbol("a")
    f = compile_banded([BandTerm(a * x1, {1: x1}), BandTerm(sp.Integer(2), {0: x0})], 1.0, params={a: 3.0})
    x = start(6)
    g = np.empty(6)
    # sum over i = 0..4 of 3 x[i+1] + sum over i = 0..5 of 2, plus 1
    assert f.value_and_grad(x, g) == pytest.approx(3 * x[1:].sum() + 12 + 1)
    np.testing.assert_array_equal(g, [0, 3, 3, 3, 3, 3])


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ([BandTerm(x0, {-1: x0})], "offsets"),
        ([BandTerm(x0 * x1, {0: x0})], "x1"),
        ([BandTerm(x0, {})], "no offsets"),
        ([BandTerm(sp.gamma(x0), {0: x0})], "gamma"),
        ([BandTerm(x0 + x1, {0: x0, 1: x0})], "share"),
    ],
)
def test_terms_outside_the_banded_form_are_refused(terms, message):
    with pytest.raises(ValueError, match=message):
        compile_banded(terms)


def test_bad_arrays_and_dtypes_are_refused():
    f = compile_banded(SQUARE)
    with pytest.raises(TypeError, match="contiguous"):
        f.value(np.zeros(10)[::2])
    with pytest.raises(TypeError, match="one-dimensional"):
        f.value(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="entries"):
        f.value_and_grad(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="dtype"):
        compile_banded(SQUARE, dtype="int8")


# -- optimisers: the fused array steps replay the scalar optimisers of symdescent.optimizers ------------

OPTIMISERS = {
    "gd": {"lr": 1e-3},
    "momentum": {"lr": 1e-3, "momentum": 0.8},
    "nesterov": {"lr": 1e-3},
    "adam": {"lr": 0.05, "beta1": 0.8},
    "rmsprop": {"lr": 0.01},
    "adagrad": {"lr": 0.1, "initial_accumulator_value": 0.1},
}


@pytest.mark.parametrize("method", OPTIMISERS)
@pytest.mark.parametrize("case", ["rosenbrock", "band"])
def test_each_optimiser_matches_the_scalar_optimiser_step_for_step(method, case, monkeypatch):
    from symdescent.optimizers import make_optimizer

    monkeypatch.setattr(chunks_module, "MIN_PER_THREAD", 1)
    terms, ref = CASES[case]
    x = start(9, seed=3)
    scalar = make_optimizer(method, **OPTIMISERS[method])
    state = scalar.init(tuple(x))
    y = x.copy()
    function = compile_banded(terms, chunk=4, threads=2)
    rows = run_banded(function, y, method=method, steps=12, tol=0, **OPTIMISERS[method])
    for k, value, grad_norm in rows:
        want_f, want_g = ref(x)
        assert value == pytest.approx(want_f, rel=1e-10), k
        assert grad_norm == pytest.approx(np.linalg.norm(want_g), rel=1e-10), k
        if k < 12:
            updates, state = scalar.update(tuple(want_g), state, tuple(x))
            x = x + np.array(updates)
    np.testing.assert_allclose(y, x, rtol=1e-10, atol=1e-12)


def test_optimiser_state_is_arrays_of_x_length_and_dtype():
    from symdescent.kernels import make_step, state_bytes

    adam = make_step("adam", 10, "float32")
    assert [(s.shape, s.dtype) for s in adam.state] == [((10,), np.float32)] * 2
    assert state_bytes("adam", 10**9) == 16 * 10**9 and state_bytes("gd", 10**9) == 0
    with pytest.raises(ValueError, match="cg"):
        make_step("cg", 10)


# -- backends ------------------------------------------------------------------------------------------


def test_the_numba_kernel_gives_the_numpy_kernel_results(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(chunks_module, "MIN_PER_THREAD", 1)
    jit = compile_banded(BAND, 0.25, chunk=5, threads=2, backend="numba")  # compiled once, on first use
    for n in (1, 3, 4, 5, 6, 11, 23):
        x = start(n, seed=n)
        want_f, want_g = band_ref(x)
        g = np.empty(n)
        assert jit.value_and_grad(x, g) == pytest.approx(want_f + 0.25, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(g, want_g, rtol=1e-12, atol=1e-12)
        assert jit.value(x) == pytest.approx(want_f + 0.25, rel=1e-12, abs=1e-12)
        y = x.copy()
        jit.gd_step(y, 0.01)
        np.testing.assert_allclose(y, x - 0.01 * want_g, rtol=1e-13, atol=1e-15)
    assert jit.last_backend == "numba"


def test_backend_choice_by_length_and_environment(monkeypatch):
    from symdescent.kernels.jit import JIT_MIN_ENTRIES, choose_backend, have_numba

    monkeypatch.delenv("SYMDESCENT_KERNEL", raising=False)
    assert choose_backend("auto", 1000) == "numpy"
    assert choose_backend("auto", JIT_MIN_ENTRIES) == ("numba" if have_numba() else "numpy")
    monkeypatch.setenv("SYMDESCENT_KERNEL", "numpy")
    assert choose_backend("auto", JIT_MIN_ENTRIES) == "numpy"
    assert choose_backend("numpy", 10) == "numpy"
    monkeypatch.setenv("SYMDESCENT_KERNEL", "fortran")
    with pytest.raises(InputError, match="SYMDESCENT_KERNEL"):
        choose_backend("auto", 10)
    with pytest.raises(ValueError, match="backend"):
        compile_banded(SQUARE, backend="fortran")


def test_float32_optimiser_runs_keep_float32_state_and_follow_float64():
    x32, x64 = start(50, dtype="float32"), start(50).astype(np.float32).astype(np.float64)
    rows32 = list(run_banded(ROSENBROCK, x32, method="adam", lr=0.01, steps=20, tol=0))
    rows64 = list(run_banded(ROSENBROCK, x64, method="adam", lr=0.01, steps=20, tol=0))
    assert x32.dtype == np.float32
    np.testing.assert_allclose(x32, x64, rtol=1e-4, atol=1e-5)
    for (_, f32, g32), (_, f64, g64) in zip(rows32, rows64, strict=True):
        assert f32 == pytest.approx(f64, rel=1e-4) and g32 == pytest.approx(g64, rel=1e-3)


def test_a_body_given_as_text_is_refused_not_parsed() -> None:
    import sympy

    from symdescent.kernels import BandTerm, compile_banded

    a = sympy.Symbol("a")
    with pytest.raises(ValueError, match="must be a SymPy expression, not str"):
        compile_banded([BandTerm("__import__('os').system('true')", {0: a})])  # type: ignore[arg-type]
