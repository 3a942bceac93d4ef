"""Warm problems (symdescent.warm): loaded from the cache, they run exactly as the cold problem does."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from symdescent import cache, warm
from symdescent.parsing import parse_constant
from symdescent.problem import make_problem
from symdescent.run import iterate

ROSENBROCK = "(1-x)**2+100*(y-x**2)**2"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "symdescent"


def warm_problem(text: str, variables: str | None = None, params: str | None = None) -> warm.CachedProblem:
    """Build cold, remember, load warm (the two runs of a shell loop, in one process)."""
    names = variables.split(",") if variables else None
    fixed = dict(item.split("=") for item in params.split(",")) if params else None

    def rebuild() -> object:
        return make_problem(text, variables=names, params=fixed)

    key = warm.key(text, variables, params)
    assert warm.load(key, rebuild) is None
    cold = rebuild()
    cold.value_and_grad  # noqa: B018 - compile, as a run would
    warm.remember(cold, key)
    loaded = warm.load(key, rebuild)
    assert loaded is not None
    return loaded


def steps_of(problem: object, start: tuple[float, ...], **options: object) -> tuple[list[object], object]:
    run = iterate(problem, start, **options)  # type: ignore[arg-type]
    steps = list(run)
    return steps, run.result(steps)


@pytest.mark.parametrize(
    ("text", "start", "options"),
    [
        ("x**2+y**2", (1.0, 2.0), {"lr": 0.1}),
        (ROSENBROCK, (-1.2, 1.0), {"lr": 0.001, "max_steps": 300}),
        (ROSENBROCK, (-1.2, 1.0), {"method": "adam", "lr": 0.01, "max_steps": 200}),
        (ROSENBROCK, (-1.2, 1.0), {"method": "momentum", "lr": 0.0005, "max_steps": 200}),
        (ROSENBROCK, (-1.2, 1.0), {"method": "newton"}),
        (ROSENBROCK, (-1.2, 1.0), {"method": "backtracking"}),
        (ROSENBROCK, (-1.2, 1.0), {"method": "cg"}),
        (ROSENBROCK, (-1.2, 1.0), {"method": "exact-line", "max_steps": 50}),
        ("x**4-3*x", (1.0,), {"lr": 0.1, "maximize": False}),
        ("-(x-1)**2-y**2", (0.0, 1.0), {"lr": 0.1, "maximize": True}),
        ("log(x)", (1.0,), {"lr": 1.0}),  # diverges on a domain error: the message names log(x)
        ("exp(x)", (1.0,), {"lr": 10.0, "max_steps": 100}),  # overflows
        ("sin(x)*cos(y)+abs(x*y)+sqrt(x**2+1)", (0.5, 0.25), {"lr": 0.1}),
    ],
)
def test_a_warm_problem_runs_exactly_as_the_cold_one(text: str, start: tuple[float, ...], options: dict) -> None:
    cold_steps, cold_result = steps_of(make_problem(text), start, **options)
    warm_steps, warm_result = steps_of(warm_problem(text), start, **options)
    assert warm_steps == cold_steps
    assert warm_result == cold_result


def test_a_warm_problem_carries_the_texts_the_output_shows() -> None:
    cold = make_problem(ROSENBROCK)
    loaded = warm_problem(ROSENBROCK)
    assert loaded.names == cold.names == ("x", "y")
    assert loaded.function_text == cold.function_text
    assert loaded.gradient_text == cold.gradient_text
    assert loaded.engine.name == "python"
    assert "cold" not in loaded.__dict__  # nothing so far needed SymPy


def test_vars_and_params_are_part_of_the_key() -> None:
    assert warm.key("a*x**2+y", None, None) != warm.key("a*x**2+y", "y,x", None)
    assert warm.key("a*x**2+y", None, "a=2") != warm.key("a*x**2+y", None, "a=3")
    loaded = warm_problem("a*x**2+y**2", variables="y,x", params="a=3")
    assert loaded.names == ("y", "x")
    assert loaded.value_and_grad(1.0, 2.0) == [13.0, 2.0, 12.0]


def test_the_engine_and_sympy_version_are_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = warm.key("x**2", None, None)
    monkeypatch.setenv("SYMDESCENT_ENGINE", "python")
    assert warm.key("x**2", None, None) != before
    import sympy

    assert warm.sympy_version() == sympy.__version__


def test_a_newton_run_adds_its_hessian_to_the_entry() -> None:
    loaded = warm_problem(ROSENBROCK)
    assert "hessian" not in loaded.lowered
    steps_of(loaded, (-1.2, 1.0), method="newton")  # builds the Hessian the cold way
    key = warm.key(ROSENBROCK, None, None)
    warm.remember(loaded, key)
    again = warm.load(key, lambda: make_problem(ROSENBROCK))
    assert again is not None and "hessian" in again.lowered
    assert steps_of(again, (-1.2, 1.0), method="newton") == steps_of(
        make_problem(ROSENBROCK), (-1.2, 1.0), method="newton"
    )
    assert "cold" not in again.__dict__
    warm.remember(make_problem(ROSENBROCK), key)  # a later cold run without newton keeps the Hessian
    assert "hessian" in warm.load(key, lambda: make_problem(ROSENBROCK)).lowered  # type: ignore[union-attr]


def test_an_entry_with_foreign_code_is_refused(private_cache: Path) -> None:
    warm_problem("x**2")
    key = warm.key("x**2", None, None)
    entry = cache.load(key)
    assert entry is not None
    entry["lowered"]["value_and_grad"]["outputs"][0] = "__import__('os').system('false')"
    cache.store(key, entry)  # a verified file, written by this user, with code our printer never writes
    assert warm.load(key, lambda: make_problem("x**2")) is None


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "open('/etc/passwd')",
        "math.__loader__",
        "(_x0).__class__",
        "eval('1')",
        "[c for c in ()]",
        "lambda: 1",
        "'text'",
        "getattr(math, 'sin')",
        "sys",
        "abs",
    ],
)
def test_only_arithmetic_passes_the_code_check(source: str) -> None:
    assert not warm._arithmetic_only(source)


def test_everything_the_printer_writes_passes_the_code_check() -> None:
    text = "sin(x)*cos(y)+tan(x)+cot(y)+sec(x)+csc(y)+asin(x/3)+acos(y/3)+atan(x)+atan2(y,x)+sinh(x)+cosh(y)"
    text += "+tanh(x)+asinh(y)+acosh(x+3)+atanh(y/9)+exp(x)+log(y)+sqrt(y)+abs(x*y)+pi+E+x**1.5+y**(-3)+2**x"
    problem = make_problem(text)
    lowered = problem.engine.lowered
    assert all(warm._arithmetic_only(s, True) for s in lowered.statements)
    assert all(warm._arithmetic_only(s) for s in lowered.outputs)
    assert warm_problem(text).value_and_grad(0.5, 0.25) == problem.value_and_grad(0.5, 0.25)


# -- numbers read without SymPy -------------------------------------------------------------


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["r", "e", "g", ".3e", "f"]))
def test_plain_float_reads_what_the_parser_reads(value: float, style: str) -> None:
    text = repr(value) if style == "r" else format(value, style)
    plain = warm.plain_float(text)
    if plain is not None:
        parsed = float(parse_constant(text))
        assert plain == parsed and math.copysign(1, plain) == math.copysign(1, parsed), text


@given(st.from_regex(r"[+-]?[0-9]{1,20}(\.[0-9]{0,20})?([eE][+-]?[0-9]{1,3})?", fullmatch=True))
def test_plain_float_agrees_with_the_parser_on_decimal_literals(text: str) -> None:
    plain = warm.plain_float(text)
    try:
        parsed = float(parse_constant(text))
    except Exception:
        assert plain is None
        return
    if plain is not None:
        assert plain == parsed and math.copysign(1, plain) == math.copysign(1, parsed), text


@pytest.mark.parametrize("text", ["1/3", "pi/4", "1e999", "0.30000000000000004", "nan", "inf", "2x", "", "1,2"])
def test_anything_else_is_left_to_the_parser(text: str) -> None:
    assert warm.plain_float(text) is None


def test_plain_points() -> None:
    assert warm.plain_point("1,2", ("x", "y")) == (1.0, 2.0)
    assert warm.plain_point(" y = -2 , x=1", ("x", "y")) == (1.0, -2.0)
    assert warm.plain_point("-0", ("x",)) == (0.0,)
    for text in ("1", "1,2,3", "x=1,x=2", "x=1,z=2", "x=1,2", "pi,1", "1/3,1"):
        assert warm.plain_point(text, ("x", "y")) is None, text


# -- -q: the run drained without a Step per step --------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "options"),
    [
        ("x**2+y**2", (1.0, 2.0), {"lr": 0.1}),  # converges
        (ROSENBROCK, (-1.2, 1.0), {"lr": 0.001, "max_steps": 500}),  # step limit
        (ROSENBROCK, (-1.2, 1.0), {"lr": 0.001, "max_steps": 50, "tol": 0}),  # completed
        ("x**4", (3.0,), {"lr": 1.0}),  # overflows to inf: diverged, the last good step kept
        ("log(x)", (1.0,), {"lr": 1.0}),  # a math domain error at step 1
        ("sqrt(x)", (4.0,), {"lr": 20.0}),  # a domain error after a few steps
        ("-(x-1)**2-y**2", (0.0, 1.0), {"lr": 0.1, "maximize": True}),
        ("x**2", (0.0,), {"lr": 0.1}),  # converged at the start
        ("x**2", (1.0,), {"lr": 0.1, "max_steps": 0}),
    ],
)
def test_draining_a_run_ends_exactly_as_iterating_it(text: str, start: tuple[float, ...], options: dict) -> None:
    for problem in (make_problem(text), warm_problem(text)):
        iterated = iterate(problem, start, **options)
        steps = list(iterated)
        drained = iterate(problem, start, **options)
        drained.drain()
        assert drained.last == steps[-1]
        assert drained.result() == iterated.result()
