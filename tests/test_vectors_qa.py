"""Defects a first pass as a new user found in the vector path, each pinned by a test that failed before."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from symdescent.cli import main
from symdescent.vectors.problem import make_vector_problem

RNG = np.random.default_rng(5)
A = RNG.normal(size=(4, 3))
B = RNG.normal(size=4)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savetxt("A.csv", A, delimiter=",")
    np.savetxt("b.csv", B, delimiter=",")
    (tmp_path / "temps.csv").write_text("t,T,humidity\n0,11.8,3\n1,13.1,4\n2,14.2,5\n3,14.9,1\n")
    return tmp_path


def finite_difference(problem, z, h=1e-6):
    grad = np.empty_like(z)
    for k in range(z.size):
        e = np.zeros_like(z)
        e[k] = h
        grad[k] = (problem.value(z + e) - problem.value(z - e)) / (2 * h)
    return grad


# -- 1: gradients of the form Aᵀ·1 (A @ x inside a plain sum or mean) --------------------

ONES_GRADIENTS = [
    "sum(A @ x)",
    "mean(A @ x)",
    "sum(A @ x + 1)",
    "sum(A @ (x-1))",
    "sum(A @ x)^2",
    "mean(b - A @ x)",
    "sum(A @ x) + x@x",
    "3*sum(A @ x) - mean(A @ x)^2 + sum(b * (A @ x))",
    "sum(transpose(A) @ y)",
    "sum(transpose(A) @ y) * sum(A @ x)",
]


@settings(max_examples=15, deadline=None)
@given(
    text=st.sampled_from(ONES_GRADIENTS),
    rows=st.integers(1, 5),
    cols=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_ones_gradients_match_finite_differences(text, rows, cols, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(rows, cols))
    start = {"x": rng.normal(size=cols)} if "x" in text else {}
    if "y" in text:
        start["y"] = rng.normal(size=rows)
    problem = make_vector_problem(text, start, {"A": a, "b": rng.normal(size=rows)})
    z = problem.flat_start()
    _, grad = problem.value_and_grad(z)
    assert np.allclose(grad, finite_difference(problem, z), rtol=1e-5, atol=1e-5 * (1 + np.abs(grad).max()))


@pytest.mark.parametrize("text", ["sum(A @ x)", "mean(b - A @ x)", "sum(A @ x)^2"])
def test_ones_gradients_run_and_compare(files, text):
    run = invoke("run", text, "--data", "A=A.csv", "--data", "b=b.csv", "--start", "x=ones(3)", "--steps", "3")
    assert run.exit_code in (0, 3, 4), run.output
    assert "internal error" not in run.output
    compare = invoke(
        "compare", text, "--data", "A=A.csv", "--data", "b=b.csv", "--start", "x=ones(3)", "--steps", "3",
        "--format", "json",
    )  # fmt: skip
    assert compare.exit_code == 0, compare.output
    ones = np.ones(3)
    first = np.asarray(json.loads(compare.stdout)["runs"][0]["x"]["x"])
    assert first.shape == ones.shape


# -- 2: a data file's unused columns -----------------------------------------------------


def test_unused_columns_of_a_data_file_are_fine(files):
    result = invoke("run", "mean((a*t + b - T)^2)", "--data", "temps.csv", "--start", "a=0,b=0", "--lr", "0.05")
    assert result.exit_code == 0, result.output
    assert "humidity" not in result.stderr


def test_an_unused_named_data_file_gets_a_note(files):
    result = invoke("run", "sum(A @ x)^2", "--data", "A=A.csv", "--data", "b=b.csv", "--start", "x=zeros(3)")
    assert "b is not used" in result.stderr
