"""Fuzzing the whole pipeline: random valid expressions and random junk only ever give our own answers."""

from __future__ import annotations

import json

from conftest import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUNCTIONS = ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "atan", "tanh", "sinh", "asin"]
LEAVES = st.sampled_from(["x", "y", "1", "2", "0.5", "3", "pi", "E", "1e-3", "10"])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "^"]), children).map(
        lambda t: f"({t[0]}){t[1]}({t[2]})"
    )
    call = st.tuples(st.sampled_from(FUNCTIONS), children).map(lambda t: f"{t[0]}({t[1]})")
    negate = children.map(lambda c: f"-({c})")
    return binary | call | negate


EXPRESSIONS = st.recursive(LEAVES, _combine, max_leaves=12)
NUMBERS = st.floats(-5, 5, allow_nan=False).map(lambda v: f"{v:.3g}")


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS, NUMBERS, NUMBERS, st.sampled_from(["0.001", "0.1", "1", "3"]))
def test_random_functions_run_to_a_documented_outcome(expr: str, x0: str, y0: str, lr: str) -> None:
    out = cli("run", expr, "--vars", "x,y", "--start", f"{x0},{y0}", "--lr", lr, "--steps", "30", "--format", "json")
    assert out.exit_code in (0, 2, 3, 4), out.stderr
    assert "Traceback" not in out.stderr
    if out.exit_code == 2:
        assert out.stderr.startswith("Error: ")
        assert out.stdout == ""
    else:
        data = json.loads(out.stdout)
        assert data["status"] in ("converged", "completed", "max_steps", "diverged", "unbounded", "stalled")
        assert data["steps"] == data["history"][-1]["step"] <= 30


TOKENS = [*"xy(),.*+-/^_[]'\"=<:;2e ", "**", "sin", "lambda", "\u00e9"]
JUNK = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@settings(max_examples=200, deadline=5000)
@given(JUNK)
def test_random_text_gives_an_error_or_a_result_never_a_crash(text: str) -> None:
    out = cli("grad", text, "--format", "json")
    assert out.exit_code in (0, 2), out.stderr
    assert "Traceback" not in out.stderr
    if out.exit_code == 0:
        assert "gradient" in json.loads(out.stdout)
    else:
        assert [line for line in out.stderr.splitlines() if line.startswith("Error: ")]


DOCUMENTED = {
    "explain": (0, 2),
    "analyze": (0, 2),
    "compare": (0, 2),
}


@settings(max_examples=15, deadline=8000, suppress_health_check=[HealthCheck.too_slow])
@given(
    EXPRESSIONS,
    NUMBERS,
    NUMBERS,
    st.sampled_from(["explain", "analyze", "compare"]),
    st.sampled_from(["gd,adam", "newton,cg", "backtracking,exact-line", "momentum,rmsprop,adagrad"]),
)
def test_random_functions_through_explain_analyze_compare(
    expr: str, x0: str, y0: str, command: str, methods: str
) -> None:
    """Random valid expressions through the newer commands: a documented exit code, never a traceback."""
    start = ["--vars", "x,y", "--start", f"{x0},{y0}"]
    if command == "explain":
        args = ["explain", expr, *start, "--lr", "0.1", "--format", "text", "--iterates", "3"]
    elif command == "analyze":
        args = ["analyze", expr, "--vars", "x,y", "--format", "json", "--timeout", "0.3"]
    else:
        args = ["compare", expr, *start, "--methods", methods, "--steps", "20", "--format", "json"]
    out = cli(*args)
    assert out.exit_code in DOCUMENTED[command], out.stderr
    assert "Traceback" not in out.stderr
    if out.exit_code == 2:
        assert out.stderr.startswith("Error: ")
        assert out.stdout == ""
    elif command != "explain":
        data = json.loads(out.stdout)
        assert "variables" in data
