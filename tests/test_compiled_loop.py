"""The compiled gd loop (symdescent/compiled.py) takes the Python loop's steps bit for bit, and hands back in time."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys

import pytest

from symdescent import compiled
from symdescent.generated import Lowered
from symdescent.loopcode import MATH, block_source
from symdescent.problem import make_problem
from symdescent.run import iterate

numba = pytest.importorskip("numba")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own cache folder, and no loop remembered from another test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SYMDESCENT_CACHE", raising=False)
    monkeypatch.setattr(compiled, "_LOADED", {})


def final(monkeypatch: pytest.MonkeyPatch, loop: str, function: str, start, **options) -> tuple:
    """Run with ``-q``'s drain under SYMDESCENT_LOOP=loop: which loop ran, the last step, status and message."""
    monkeypatch.setenv("SYMDESCENT_LOOP", loop)
    run = iterate(make_problem(function), start, **options)
    run.drain()
    return run.loop, run.last, run.status, run.message


CASES = [
    # (function, start, options): long runs, endings of every kind, and each operation the rewrite changes
    ("(1-x)**2 + 100*(y-x**2)**2", (-1.2, 1.0), {"lr": 0.0002, "tol": 0, "max_steps": 200_000}),
    ("(1-x)**2 + 100*(y-x**2)**2", (-1.2, 1.0), {"lr": 0.001, "tol": 1e-6, "max_steps": 100_000}),  # converges
    ("(1-x)**2 + 100*(y-x**2)**2", (-1.2, 1.0), {"lr": 0.01, "max_steps": 10_000}),  # diverges
    ("x**2 + 3*y**2 + z**2/7 - x*z", (1.0, -2.0, 3.0), {"lr": 0.05, "tol": 1e-12, "max_steps": 50_000}),
    ("exp(x/3) + exp(-x) + sin(y)**2 + cos(x*y)", (1.5, 0.3), {"lr": 0.01, "tol": 0, "max_steps": 20_000}),
    ("sqrt(x**2 + 1) + log(y**2 + 2) + atan(x - y)", (2.0, -1.0), {"lr": 0.1, "tol": 1e-10, "max_steps": 20_000}),
    ("x**4 - 3*x**3 + x**(3/2) + tanh(y) + y**6/5", (2.0, 0.5), {"lr": 0.001, "tol": 0, "max_steps": 20_000}),
    ("log(x) + 1/x**5", (2.0,), {"lr": 0.5, "max_steps": 10_000}),  # log of a negative x: a domain error
    ("x*y + 1/(x**2 + y**2)", (1.0, 2.0), {"lr": 0.01, "tol": 1e-8, "max_steps": 5_000, "maximize": True}),
    ("-x**2 + y**2", (1.0, 1.0), {"lr": 0.1, "max_steps": 100_000}),  # unbounded below
    ("exp(x) - x", (3.0,), {"lr": 1.0, "max_steps": 1000}),  # exp overflows in CPython: diverges
]


@pytest.mark.parametrize(("function", "start", "options"), CASES)
def test_the_compiled_loop_ends_where_the_python_loop_does(function, start, options, monkeypatch) -> None:
    python = final(monkeypatch, "python", function, start, **options)
    numba_ = final(monkeypatch, "numba", function, start, **options)
    assert python[0] == "fused" and numba_[0] == "compiled"
    assert numba_[1:] == python[1:]  # Step equality is float equality of x, f, ∇f and ‖∇f‖: bit for bit
    assert [v.hex() for v in numba_[1].x] == [v.hex() for v in python[1].x]


METHOD_CASES = [
    ("(1-x)**2 + 100*(y-x**2)**2", (-1.2, 1.0), {"lr": 0.0005, "tol": 0, "max_steps": 3_000}),
    ("(1-x)**2 + 100*(y-x**2)**2", (-1.2, 1.0), {"lr": 0.002, "tol": 1e-5, "max_steps": 10_000}),  # adam: 9,800
    ("exp(x/3) + exp(-x) + sin(y)**2 + log(y**2 + 2)", (1.5, 0.3), {"lr": 0.01, "tol": 1e-9, "max_steps": 2_000}),
    ("x*y + 1/(x**2 + y**2)", (1.0, 2.0), {"lr": 0.01, "tol": 1e-8, "max_steps": 5_000, "maximize": True}),
    ("x**2 + 3*y**2", (1.0, -2.0), {"lr": 0.05, "tol": 0, "max_steps": 20_000}),  # ends still, or at 1e-323
    ("log(x) + 1/x**5", (2.0,), {"lr": 0.5, "max_steps": 10_000}),  # log of a negative x
    ("x**4 - 3*x", (2.0,), {"lr": 3.0, "max_steps": 1_000}),  # diverges
]


# Each cell compiles a loop of its own (about 0.7 s of CPU), so not the whole 7 × 5 product (35 loops) but 21
# cells: every method meets at least three cases and every case at least two methods, and every ending the
# product reaches (completed, converged, max_steps, unbounded, stalled, diverged) is still reached by a method
# with a velocity (momentum, nesterov) and, where the product has one, by one with per-coordinate scales.
METHODS_OF_CASE = [
    ("momentum", "nesterov", "rmsprop"),
    ("adam", "adagrad"),
    ("nesterov", "adam", "adagrad"),
    ("momentum", "adam", "rmsprop"),
    ("nesterov", "adam", "rmsprop"),
    ("momentum", "nesterov", "rmsprop", "adagrad"),
    ("momentum", "adam", "adagrad"),
]
METHOD_CELLS = [
    (method, *case) for case, methods in zip(METHOD_CASES, METHODS_OF_CASE, strict=True) for method in methods
]


@pytest.mark.parametrize(("method", "function", "start", "options"), METHOD_CELLS)
def test_every_plain_method_ends_where_the_generic_loop_does(method, function, start, options, monkeypatch) -> None:
    python = final(monkeypatch, "python", function, start, method=method, **options)
    numba_ = final(monkeypatch, "numba", function, start, method=method, **options)
    assert python[0] == "generic" and numba_[0] == "compiled"
    assert numba_[1:] == python[1:]


def test_only_the_recipes_themselves_are_recognised() -> None:
    from symdescent.loopcode import plain_rule
    from symdescent.optimizers import make_optimizer

    assert plain_rule(make_optimizer("adam", lr=0.5, beta1=0.8)) == ("adam", [-0.5, 0.8, 0.999, 1e-8])
    assert plain_rule(make_optimizer("nesterov", lr=0.1)) == ("nesterov", [-0.1, 0.9])
    assert plain_rule(make_optimizer("gd", lr=0.1)) == ("gd", [-0.1])
    adam = make_optimizer("adam")
    assert plain_rule(adam._replace(update=lambda g, s, x, _u=adam.update: _u(g, s, x))) is None
    assert plain_rule(make_optimizer("lbfgs")) is None and plain_rule(make_optimizer("newton")) is None


def test_the_math_functions_are_the_c_library_ones() -> None:
    """Each function the loop may call gives CPython's bits (numba calls the same libm)."""
    rng = random.Random(23)
    inputs = [rng.uniform(-3, 3) for _ in range(2_000)] + [rng.uniform(-700, 700) for _ in range(500)]
    for name in MATH:
        scope: dict = {"math": math}
        exec(f"def call(u):\n    return math.{name}(u)\n", scope)
        jitted = numba.njit(scope["call"])
        for u in inputs:
            try:
                expected = getattr(math, name)(u)
            except (ValueError, OverflowError):
                continue
            assert jitted(u) == expected or (math.isnan(expected) and math.isnan(jitted(u))), (name, u)


def test_what_the_loop_cannot_reproduce_keeps_the_python_loop(monkeypatch) -> None:
    assert block_source(make_problem("sigmoid(x) + y**2").engine.lowered, cache=False) is None
    assert final(monkeypatch, "numba", "sigmoid(x) + y**2", (1.0, 1.0), max_steps=10)[0] == "fused"
    assert block_source(Lowered(("_x0",), (), ("min(_x0, 1)", "1")), cache=False) is None
    assert block_source(Lowered(("_x0",), (), ("_x0*" + str(2**60), "1")), "adam", cache=False) is None


def test_auto_takes_over_after_the_probe_when_the_rest_is_long(monkeypatch) -> None:
    monkeypatch.setattr(compiled, "PROBE_STEPS", 1_000)
    monkeypatch.setattr(compiled, "MIN_SECONDS_TO_COMPILE", 0.0)
    monkeypatch.setattr(compiled, "MIN_SECONDS", 0.0)
    options = {"lr": 0.0002, "tol": 0, "max_steps": 30_000}
    auto = final(monkeypatch, "auto", "(1-x)**2 + 100*(y-x**2)**2", (-1.2, 1.0), **options)
    python = final(monkeypatch, "python", "(1-x)**2 + 100*(y-x**2)**2", (-1.2, 1.0), **options)
    assert auto[0] == "compiled" and auto[1:] == python[1:]


@pytest.mark.parametrize("method", ["momentum", "adam"])
def test_auto_hands_a_method_over_after_the_probe_with_its_state(method, monkeypatch) -> None:
    monkeypatch.setattr(compiled, "PROBE_STEPS", 1_000)
    monkeypatch.setattr(compiled, "MIN_SECONDS_TO_COMPILE", 0.0)
    monkeypatch.setattr(compiled, "MIN_SECONDS", 0.0)
    options = {"lr": 0.0005, "tol": 0, "max_steps": 30_000, "method": method}
    auto = final(monkeypatch, "auto", "(1-x)**2 + 100*(y-x**2)**2", (-1.2, 1.0), **options)
    python = final(monkeypatch, "python", "(1-x)**2 + 100*(y-x**2)**2", (-1.2, 1.0), **options)
    assert auto[0] == "compiled" and auto[1:] == python[1:]


def test_auto_keeps_the_python_loop_for_short_runs(monkeypatch) -> None:
    run = final(monkeypatch, "auto", "(1-x)**2 + 100*(y-x**2)**2", (-1.2, 1.0), lr=0.0002, max_steps=200_000)
    assert run[0] == "fused"  # 10⁵ steps probed, then too little left to be worth numba


def test_without_numba_auto_keeps_the_python_loop_and_forcing_it_is_refused(monkeypatch) -> None:
    from symdescent.errors import InputError

    monkeypatch.setattr(compiled, "have_numba", lambda: False)
    assert final(monkeypatch, "auto", "x**2", (1.0,), lr=0.1, max_steps=10)[0] == "fused"
    with pytest.raises(InputError, match="SYMDESCENT_LOOP=numba needs numba"):
        final(monkeypatch, "numba", "x**2", (1.0,), lr=0.1, max_steps=10)


def test_a_short_run_does_not_import_numba() -> None:
    code = (
        "import sys; from symdescent.run import iterate\n"
        "r = iterate('(1-x)**2 + 100*(y-x**2)**2', (-1.2, 1.0), lr=0.0002, max_steps=50_000); r.drain()\n"
        "print(r.loop, 'numba' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "SYMDESCENT_LOOP": "auto"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["fused", "False"]


def test_ctrl_c_between_blocks_leaves_the_last_whole_step(monkeypatch) -> None:
    """A stop arrives between blocks: run.last is the step a Python loop has after as many steps."""
    real = compiled.block_for
    calls = 0

    def interrupted(lowered, method):
        block = real(lowered, method)

        def once_then_stop(*args):
            nonlocal calls
            calls += 1
            if calls == 3:
                raise KeyboardInterrupt
            return block(*args)

        return once_then_stop

    monkeypatch.setattr(compiled, "block_for", interrupted)
    monkeypatch.setenv("SYMDESCENT_LOOP", "numba")
    run = iterate(make_problem("(1-x)**2 + 100*(y-x**2)**2"), (-1.2, 1.0), lr=0.0002, tol=0, max_steps=10**7)
    with pytest.raises(KeyboardInterrupt):
        run.drain()
    run.interrupt()
    reached = run.last
    assert 0 < reached.step < 10**7 and run.status.value == "interrupted"
    monkeypatch.setenv("SYMDESCENT_LOOP", "python")
    same = iterate(make_problem("(1-x)**2 + 100*(y-x**2)**2"), (-1.2, 1.0), lr=0.0002, tol=0, max_steps=reached.step)
    same.drain()
    assert same.last == reached


def test_the_loop_is_cached_on_disk_and_a_changed_file_is_written_again(monkeypatch, tmp_path) -> None:
    lowered = make_problem("(1-x)**2 + 100*(y-x**2)**2").engine.lowered
    assert not compiled._in_cache(lowered)
    block = compiled.block_for(lowered)
    import numpy as np

    state = [-1.2, 1.0, -215.6, -88.0, 24.2]
    a, b = np.array(state), np.array(state)
    assert block(a, 0, 100, -1.0, np.array([-0.0002])) == (
        100,
        0,
    )  # compiled now, and numba's code saved beside the module
    assert compiled._in_cache(lowered)
    (path,) = [p for p in os.listdir(compiled.folder()) if p.endswith(".py")]
    assert oct(os.stat(compiled.folder()).st_mode & 0o777) == "0o700"
    full = os.path.join(compiled.folder(), path)
    with open(full, "a", encoding="utf-8") as file:
        file.write("raise SystemExit('not ours')\n")
    assert not compiled._in_cache(lowered)
    monkeypatch.setattr(compiled, "_LOADED", {})
    again = compiled.block_for(lowered)  # the file is compared with the generated text, and written again
    with open(full, encoding="utf-8") as file:
        assert "not ours" not in file.read()
    assert again(b, 0, 100, -1.0, np.array([-0.0002])) == (100, 0) and np.array_equal(a, b)


def test_a_loop_numba_cannot_compile_leaves_the_python_loop(monkeypatch) -> None:
    def broken(lowered, method):
        raise numba.core.errors.TypingError("no")

    monkeypatch.setattr(compiled, "block_for", broken)
    options = {"lr": 0.01, "tol": 0, "max_steps": 1000}
    fallen_back = final(monkeypatch, "numba", "x**2 + y**2", (1.0, 2.0), **options)
    assert fallen_back == final(monkeypatch, "python", "x**2 + y**2", (1.0, 2.0), **options)  # "fused" too


def test_without_the_cache_the_loop_is_compiled_in_memory(monkeypatch) -> None:
    monkeypatch.setenv("SYMDESCENT_CACHE", "0")
    run = final(monkeypatch, "numba", "x**2 + y**2", (1.0, 2.0), lr=0.01, tol=0, max_steps=1000)
    assert run[0] == "compiled" and not os.path.exists(compiled.folder())


def test_the_command_line_prints_the_same_final_point(monkeypatch) -> None:
    from click.testing import CliRunner

    from symdescent.cli import main

    args = ["run", "(1-x)^2 + 100*(y-x^2)^2", "--start", "-1.2,1", "--lr", "0.0002", "--steps", "100000", "-q"]
    outs = []
    for loop in ("python", "numba"):
        out = CliRunner().invoke(main, args, env={"SYMDESCENT_LOOP": loop}, catch_exceptions=False)
        outs.append((out.exit_code, out.stdout, out.stderr))
    assert outs[0] == outs[1] and outs[0][0] == 4  # max_steps


def test_a_warm_run_takes_the_compiled_loop_without_importing_sympy(tmp_path) -> None:
    """The function from the cache, the loop from the cache: SymPy is never imported, the point is the same."""
    args = ["run", "(1-x)^2 + 100*(y-x^2)^2", "--start", "-1.2,1", "--lr", "0.0002", "--steps", "20000", "-q"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "XDG_CACHE_HOME": str(tmp_path / "warm")}
    cold = subprocess.run([sys.executable, "-m", "symdescent", *args], capture_output=True, text=True, env=env)
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['symdescent', *{args!r}]\n"
        "try:\n    runpy.run_module('symdescent', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('sympy' in sys.modules, 'numba' in sys.modules, file=sys.stderr)\n"
    )
    warm = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**env, "SYMDESCENT_LOOP": "numba"}
    )
    assert warm.stdout == cold.stdout and cold.stdout.strip()
    assert warm.stderr.split()[-2:] == ["False", "True"]
