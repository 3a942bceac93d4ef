"""Exact and D-digit arithmetic for small array problems (issue #18 point 6): written out entry by entry.

``x @ x`` from x = (1, 2) with α = 1/10 is the seed's own example in vector form: x_t = (4/5)ᵗ·(1, 2)
exactly at every step. The references are closed forms and SymPy's own linear solve.
"""

from __future__ import annotations

import json
from pathlib import Path

import mpmath
import pytest
import sympy as sp
from conftest import cli

from symdescent.problem import Problem
from symdescent.run import minimize
from symdescent.vectors.expand import MAX_EXACT_ENTRIES, expand, expanded_problem
from symdescent.vectors.problem import VectorProblem

SEED = ("run", "x @ x", "--start", "x=[1,2]", "--lr", "1/10")
A = sp.Matrix([[1, 2], [3, 4], [5, 7]])
B = sp.Matrix([1, 2, 4])


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A.csv (3×2, integers) and the README's temps.csv, in the working directory."""
    (tmp_path / "A.csv").write_text("\n".join(",".join(str(v) for v in A.row(i)) for i in range(A.rows)) + "\n")
    (tmp_path / "temps.csv").write_text("t,T\n0,11.8\n1,13.1\n2,14.2\n3,14.9\n4,16.3\n5,17.0\n6,18.4\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_json(*args: str) -> dict:
    result = cli(*args, "--format", "json")
    assert result.exit_code in (0, 4), result.stderr
    return json.loads(result.stdout)


def test_seed_in_vector_form_is_exactly_four_fifths_to_the_t() -> None:
    out = run_json(*SEED, "--exact")  # was: "--exact works with scalar variables only"
    assert out["variables"] == ["x"] and out["shapes"] == {"x": [2]} and out["gradient"] == ["2*x"]
    assert out["start"] == {"x": ["1", "2"]} and out["arithmetic"] == "exact"
    assert out["history"][1]["x"] == {"x": ["4/5", "8/5"]}
    for step in out["history"]:
        factor = sp.Rational(4, 5) ** step["step"]
        assert step["x"] == {"x": [str(factor), str(2 * factor)]}
        assert step["grad"] == {"x": [str(2 * factor), str(4 * factor)]}
        assert sp.Rational(step["f"]) == 5 * factor**2
    scalar = run_json("run", "x^2 + y^2", "--start", "1,2", "--lr", "1/10", "--exact")
    assert out["status"] == scalar["status"] == "converged"
    assert out["steps"] == scalar["steps"] == 69
    assert out["x"] == {"x": [scalar["x"]["x"], scalar["x"]["y"]]}


def test_working_precision_gives_d_digits() -> None:
    out = run_json(*SEED, "--working-precision", "30", "--steps", "3", "--tol", "0")
    assert out["arithmetic"] == "mpmath" and out["status"] == "completed"
    norm = out["history"][0]["grad_norm"]
    with mpmath.workdps(40):
        assert norm == mpmath.nstr(mpmath.sqrt(20), 30) == "4.47213595499957939281834733746"  # 30 digits
    assert out["x"] == {"x": ["0.512", "1.024"]}


def test_least_squares_iterates_match_the_closed_form_from_sympys_solve(files: Path) -> None:
    """w_t = w* + (I − 2αAᵀA)ᵗ(w₀ − w*), w* from SymPy's exact linear solve, at every one of 10 steps."""
    lr = sp.Rational(1, 200)
    out = run_json(
        "run", "sum((A @ w - b)^2)", "--data", "A=A.csv", "--data", "b=[1,2,4]", "--start", "w=[0,0]",
        "--lr", "1/200", "--exact", "--steps", "10", "--tol", "0",
    )  # fmt: skip
    best = (A.T * A).solve(A.T * B)
    step = sp.eye(2) - 2 * lr * A.T * A
    for entry in out["history"]:
        expected = best + step ** entry["step"] * (sp.zeros(2, 1) - best)
        assert entry["x"] == {"w": [str(v) for v in expected]}


def test_least_squares_with_the_best_step_lands_on_the_exact_solution() -> None:
    """AᵀA = 5I: with α = 1/10 one step reaches w* = A⁻¹b exactly (and ∇f is exactly 0 there)."""
    matrix, rhs = sp.Matrix([[1, 2], [2, -1]]), sp.Matrix([1, 3])
    best = matrix.solve(rhs)
    result = minimize(expanded_problem(_orthogonal()), (0, 0), lr="1/10", exact=True)
    assert result.status.value == "converged" and result.steps == 1
    assert result.x == {"w": tuple(best)} and result.grad_norm == 0
    assert result.variables == ("w",) and result.shapes == {"w": (2,)}
    assert tuple(result.flat) == tuple(best)


def _orthogonal() -> VectorProblem:
    import numpy as np

    from symdescent.vectors.problem import make_vector_problem

    return make_vector_problem(
        "sum((M @ w - c)^2)", {"w": np.zeros(2)}, {"M": np.array([[1.0, 2.0], [2.0, -1.0]]), "c": np.array([1.0, 3.0])}
    )


def test_line_fit_with_data_from_a_file_reads_its_decimals_exactly(files: Path) -> None:
    """mean((a·t + b − T)²): the first step is α·2·mean(t·T), α·2·mean(T) with T's decimals (11.8 = 59/5)."""
    out = run_json(
        "run", "mean((a*t + b - T)^2)", "--data", "temps.csv", "--start", "a=0,b=0", "--lr", "0.05",
        "--exact", "--steps", "2",
    )  # fmt: skip
    temps = [sp.Rational(v) for v in ("11.8", "13.1", "14.2", "14.9", "16.3", "17.0", "18.4")]
    lr = sp.Rational(1, 20)
    a1 = lr * 2 * sum(t * v for t, v in enumerate(temps)) / 7
    b1 = lr * 2 * sum(temps) / 7
    assert out["history"][1]["x"] == {"a": str(a1), "b": str(b1)} == {"a": "867/175", "b": "151/100"}
    assert out["params"] == {"lr": "1/20"} and out["shapes"] == {"a": [], "b": []}


def test_numbers_written_on_the_command_line_stay_exact() -> None:
    """--data c=[1/3, 0.1] is 1/3 and 1/10, not their floats: one step of α = 1/2 lands on them."""
    out = run_json("run", "sum((x - c)^2)", "--data", "c=[1/3, 0.1]", "--start", "x=[0, 1/7]", "--lr", "1/2", "--exact")
    assert out["start"] == {"x": ["0", "1/7"]}
    assert out["x"] == {"x": ["1/3", "1/10"]} and out["steps"] == 1 and out["status"] == "converged"


def test_a_vector_and_a_scalar_stay_exact_in_every_output(files: Path) -> None:
    args = (
        "run", "sum((A @ w + c - b)^2)", "--data", "A=A.csv", "--data", "b=[1,2,4]", "--start", "w=[0,0],c=0",
        "--lr", "1/100", "--exact", "--steps", "2",
    )  # fmt: skip
    out = run_json(*args)
    assert out["x"] == {"w": ["-17/250", "-59/625"], "c": "-29/1250"}
    assert cli(*args, "-q").stdout == "-17/250 -59/625 -29/1250\n"


def test_every_format() -> None:
    args = (*SEED, "--exact", "--steps", "3")
    csv = cli(*args, "--format", "csv")
    assert csv.exit_code == 4
    assert csv.stdout.splitlines()[:3] == [
        "step,x[1],x[2],f,df/dx[1],df/dx[2],grad_norm",
        "0,1,2,5,2,4,2*sqrt(5)",
        "1,4/5,8/5,16/5,8/5,16/5,8*sqrt(5)/5",
    ]
    tsv = cli(*args, "--format", "tsv")
    assert tsv.stdout.splitlines()[1] == "0\t1\t2\t5\t2\t4\t2*sqrt(5)"
    lines = [json.loads(line) for line in cli(*args, "--format", "jsonl").stdout.splitlines()]
    assert [line["event"] for line in lines] == ["step"] * 4 + ["result"]
    assert lines[3]["x"] == {"x": ["64/125", "128/125"]} and lines[-1]["x"] == {"x": ["64/125", "128/125"]}
    quiet = cli(*args, "-q")
    assert quiet.exit_code == 4 and quiet.stdout == "64/125 128/125\n"
    table = cli(*args, "--format", "table")
    assert table.exit_code == 4
    assert "f(x) = xᵀx" in table.stdout and "exact arithmetic" in table.stdout
    assert "16/25" in table.stdout and "x = [64/125, 128/125]" in table.stdout
    assert "x__" not in table.stdout + table.stderr


def test_too_large_for_exact_arithmetic_is_one_refusal() -> None:
    for option in (("--exact",), ("--working-precision", "30")):
        result = cli("run", "x @ x", "--start", f"x=ones({MAX_EXACT_ENTRIES + 1})", *option)
        assert result.exit_code == 2
        assert result.stderr.strip().splitlines() == [
            "Error: exact arithmetic runs problems of at most 100 variable entries and at most "
            "20,000 variable entries × data entries; this one has 101 × 0"
        ]


def test_too_much_data_for_exact_arithmetic(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("\n".join("1" for _ in range(2001)) + "\n")
    result = cli("run", "sum((x[1]*d - 1)^2) + x @ x", "--data", f"d={tmp_path / 'd.csv'}", "--start",
                 "x=[1,2,3,4,5,6,7,8,9,10]", "--exact")  # fmt: skip
    assert result.exit_code == 2 and "this one has 10 × 2,001" in result.stderr


def test_messages_name_entries_as_the_user_writes_them() -> None:
    result = cli("run", "sum(log(x))", "--start", "x=[1,-1]", "--working-precision", "20")
    assert result.exit_code == 2
    assert "log(x[2]) is not real at x = [1.0, -1.0]" in result.stderr and "x__" not in result.stderr


@pytest.mark.parametrize(
    "function, start",
    [
        ("x @ x", "x=[1,2]"),
        ("sum((M @ w + c - y)^2)", "w=[0,1],c=2"),
        ("sum(x[i]*x[i+1], i) + sum(x^2)", "x=[1,2,3,4]"),
        ("sum((x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)", "x=[1,2,3,4]"),
        ("norm(x)^2 + x[1] + prod(x) + mean(x)", "x=[1,2,3]"),
        ("transpose(x) @ M @ x + dot(x, x)", "x=[1,2]"),
        ("sum(sigmoid(x)) + sum(softplus(x)) + log(1 + x @ x)", "x=[1,2]"),
        ("max(x) + min(x)", "x=[1,2,3]"),
        ("sum(x[i]^2, i=2..3)", "x=[1,2,3]"),
    ],
)
def test_gradient_written_out_from_its_vector_form_is_sympys_derivative(function: str, start: str) -> None:
    import numpy as np

    from symdescent.vectors.data import parse_start
    from symdescent.vectors.problem import make_vector_problem

    matrices = {"M": np.array([[2.0, 1.0], [1.0, 3.0]]), "y": np.array([1.0, 2.0])} if "M" in function else {}
    problem = make_vector_problem(function, parse_start(start, matrices, function), matrices)
    expanded = expanded_problem(problem)
    derived = Problem.gradient.func(expanded)  # SymPy differentiating the written-out f
    assert all(sp.simplify(a - b) == 0 for a, b in zip(expanded.gradient, derived, strict=True))
    assert expand(problem) == expanded.expr


def test_expand_writes_entries_and_exact_data() -> None:
    problem = _orthogonal()
    w1, w2 = expanded_problem(problem).variables
    assert str(w1) == "w[1]" and w1.name == "w__1"  # an identifier inside, the user's notation outside
    assert expand(problem) == (w1 + 2 * w2 - 1) ** 2 + (2 * w1 - w2 - 3) ** 2


def test_a_partial_derivative_that_is_identically_zero_stays_exact() -> None:
    """A variable f does not use: its partial is the SymPy 0 (was: "f or its gradient is undefined")."""
    result = cli("run", "x^2", "--vars", "x,y", "--start", "1,2", "--exact", "--steps", "1", "--format", "csv")
    assert result.stdout.splitlines()[1:] == ["0,1,2,1,2,0,2", "1,4/5,2,16/25,8/5,0,8/5"]


def test_scalar_results_keep_their_shape() -> None:
    result = minimize("x^2 + y^2", (1, 2), lr="1/10", exact=True, max_steps=1)
    assert result.x == {"x": sp.Rational(4, 5), "y": sp.Rational(8, 5)} and result.shapes == {}


def test_the_command_line_runs_the_seed_in_vector_form_exactly() -> None:
    # in-process: test_exact.py runs --exact through the installed program, test_plot.py its exit code 4
    done = cli(*SEED, "--exact", "--steps", "2", "--format", "json")
    assert done.exit_code == 4, done.stderr
    assert json.loads(done.stdout)["x"] == {"x": ["16/25", "32/25"]}
