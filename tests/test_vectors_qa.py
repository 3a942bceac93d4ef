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


# -- 4: analyze JSON on the SPEC's keys ----------------------------------------------------

SPEC_ANALYZE_KEYS = {
    "function", "variables", "gradient", "hessian", "critical_points", "convex", "lipschitz", "max_stable_lr",
    "best_lr",
}  # fmt: skip


def test_analyze_json_has_the_spec_keys_and_types(files):
    quadratic = json.loads(invoke("analyze", "x @ x", "--start", "x=[1,2]", "--format", "json").stdout)
    assert set(quadratic) >= SPEC_ANALYZE_KEYS
    assert quadratic["convex"] is True and quadratic["hessian"] == [[2.0, 0.0], [0.0, 2.0]]
    assert quadratic["gradient"] == ["2*x"] and quadratic["lipschitz"] == 2.0
    assert quadratic["critical_points"] == [
        {"point": {"x": [0.0, 0.0]}, "kind": "minimum", "f": 0.0, "numeric": True, "eigenvalues": [2.0, 2.0]}
    ]
    assert quadratic["max_stable_lr"] == 1.0 and quadratic["best_lr"] == 0.5
    saddle = json.loads(
        invoke("analyze", "sum(d * x^2)", "--data", "d=[1,-1]", "--start", "x=[1,2]", "--format", "json").stdout
    )
    assert saddle["convex"] is False and saddle["critical_points"][0]["kind"] == "saddle"
    other = json.loads(invoke("analyze", "sum(exp(x))", "--start", "x=[1,2]", "--format", "json").stdout)
    assert set(other) >= SPEC_ANALYZE_KEYS
    assert other["convex"] is None and other["hessian"] is None and other["critical_points"] is None
    assert other["max_stable_lr"] is None and other["best_lr"] is None and other["lipschitz"] is None


# -- 5: compare JSON and CSV with the scalar compare's shape -------------------------------


def test_compare_json_and_csv_have_the_scalar_shape(files):
    scalar = json.loads(
        invoke("compare", "x^2+y^2", "--start", "1,2", "--methods", "gd,adam", "--format", "json").stdout
    )
    args = ["compare", "sum((x-b)^2)", "--data", "b=b.csv", "--start", "x=zeros(4)", "--methods", "gd,adam"]
    data = json.loads(invoke(*args, "--format", "json").stdout)
    assert list(data) == ["function", "variables", "start", "runs"]
    assert data["start"] == {"x": [0.0] * 4}
    assert [run["method"] for run in data["runs"]] == ["gd", "adam"]
    for run in data["runs"]:
        assert set(scalar["runs"][0]) - {"engine"} <= set(run)
        assert "history" not in run
        assert np.allclose(run["x"]["x"], B, atol=1e-5)
    rows = invoke(*args, "--format", "csv").stdout.splitlines()
    assert rows[0] == "method,status,steps,f,x[1],x[2],x[3],x[4],grad_norm,nfev,ngev,nhev,seconds,lr,message"
    assert len(rows) == 3 and rows[1].startswith("gd,converged,")
    many = invoke("compare", "sum(x^2)", "--start", "x=ones(7)", "--methods", "gd", "--format", "csv").stdout
    assert many.splitlines()[0] == "method,status,steps,f,grad_norm,nfev,ngev,nhev,seconds,lr,message"


# -- 6: run JSON/JSONL ----------------------------------------------------------------------


def test_run_json_has_start_a_gradient_list_and_the_scalar_key_order():
    out = invoke("run", "x @ x", "--start", "x=[1,2]", "--steps", "2", "--format", "json").stdout
    data = json.loads(out)
    assert data["start"] == {"x": [1.0, 2.0]} and data["gradient"] == ["2*x"]
    keys = list(data)
    assert keys.index("function") < keys.index("start") < keys.index("history") < keys.index("x") < keys.index("f")
    assert "\n\n" not in out
    last = json.loads(invoke("run", "x @ x", "--start", "x=[1,2]", "--format", "jsonl").stdout.splitlines()[-1])
    assert last["event"] == "result" and last["start"] == {"x": [1.0, 2.0]} and last["gradient"] == ["2*x"]


# -- 7: grad JSON and LaTeX ------------------------------------------------------------------


def test_grad_json_has_partials_and_latex_works():
    data = json.loads(invoke("grad", "norm(A @ x - b)^2 + c^2", "--format", "json").stdout)
    assert data["partials"] == {"c": "2*c", "x": "2*transpose(A) @ (A @ x - b)"} or data["partials"]["x"]
    assert data["gradient"] == list(data["partials"].values())
    latex = invoke("grad", "norm(A @ x - b)^2", "--format", "latex")
    assert latex.exit_code == 0
    assert r"\nabla f = 2 A^{\top} \left(" in latex.stdout and r"\right\rVert^{2}" in latex.stdout
    band = invoke("grad", "sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)", "--format", "latex").stdout
    assert r"\begin{cases}" in band and "x_{j-1}" in band and "& j = n" in band


# -- 8: no numpy warnings --------------------------------------------------------------------


def test_overflow_at_the_start_is_one_error_line():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would be printed on a real stderr
        result = CliRunner().invoke(main, ["run", "sum(x^2)", "--start", "x=[1e200,1]"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: f is not a finite number") and "Warning" not in result.stderr


# -- 9: shape errors name what the user wrote --------------------------------------------------


def test_shape_errors_name_the_operands_as_written(files):
    minus = invoke("run", "sum((x-b)^2)", "--data", "b=b.csv", "--start", "x=zeros(3)")
    assert minus.exit_code == 2 and "x has 3 entries but b has 4 entries" in minus.stderr
    assert "-b" not in minus.stderr
    quadratic = invoke("run", "x @ A @ x", "--data", "A=A.csv", "--start", "x=zeros(3)")
    assert quadratic.exit_code == 2 and "x has 3 entries but A is 4×3" in quadratic.stderr
    assert "3×4" not in quadratic.stderr


# -- 10: --save for scalar runs ----------------------------------------------------------------


def test_save_writes_the_final_point_of_a_scalar_run(files):
    result = invoke("run", "x^2+y^2", "--start", "1,2", "--save", "p.npy", "-q")
    assert result.exit_code == 0
    quiet = [float(v) for v in result.stdout.split()]
    assert np.load("p.npy").tolist() == quiet
    invoke("run", "x^2+y^2", "--start", "1,2", "--save", "p.csv", "-q", "--steps", "3", "--tol", "0")
    lines = (files / "p.csv").read_text().splitlines()
    assert lines[0] == "name,value" and [line.split(",")[0] for line in lines[1:]] == ["x", "y"]
    assert [float(line.split(",")[1]) for line in lines[1:]] == pytest.approx([0.512, 1.024], rel=1e-14)


# -- 11: analyze without sizes ------------------------------------------------------------------


def test_analyze_without_data_reports_the_formulas():
    result = invoke("analyze", "norm(A @ x - b)^2")
    assert result.exit_code == 0
    assert "∇f = 2Aᵀ(Ax − b)" in result.stdout and "H = 2AᵀA" in result.stdout
    assert "--data A=FILE" in result.stdout and "start value" not in result.output
    data = json.loads(invoke("analyze", "norm(A @ x - b)^2", "--format", "json").stdout)
    assert data["hessian_formula"] == "2AᵀA" and data["convex"] is None and data["hessian"] is None


# -- 12: a path that is not a data file -----------------------------------------------------------


@pytest.mark.parametrize("value", ["/etc/hostname", "/tmp", "./nothing/here"])
def test_data_paths_of_unknown_type_are_not_parsed_as_values(value):
    result = invoke("run", "sum((x-b)^2)", "--data", f"b={value}", "--start", "x=zeros(3)")
    assert result.exit_code == 2
    assert "unexpected" not in result.stderr and value in result.stderr
    assert "not a readable data file" in result.stderr or "directory" in result.stderr


def test_data_values_with_a_slash_stay_values():
    result = invoke("run", "sum((x-b)^2)", "--data", "b=1/4", "--start", "x=zeros(2)", "-q", "--tol", "1e-12")
    assert [float(v) for v in result.stdout.split()] == pytest.approx([0.25, 0.25])


# -- 14: Unicode minus and 2·mean --------------------------------------------------------------


def test_formulas_use_the_unicode_minus_and_a_dot_before_a_function(files):
    out = invoke(
        "run", "mean((a*t + b - T)^2)", "--data", "temps.csv", "--start", "a=0,b=0", "--steps", "1", "--format", "table"
    ).stdout
    assert "2·mean(" in out and "2mean" not in out
    band = invoke("grad", "sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)", "--format", "text").stdout
    assert "x[j−1]" in band and "x[n−1]" in band and "-" not in band.split("Derived")[0]


# -- 3: the vector table fits the screen with every number whole ---------------------------------

WIDTHS = (60, 70, 80, 100, 200)
TABLE_RUNS = [
    ("sum((x-1)^2)+w^2", "x=zeros(100),w=3", "50"),
    ("x @ x", "x=[1,2,3,4,5,6]", None),
    ("sum((x-1)^2)+w^2", "x=[1e-9,-2e7,3.5],w=-123456.789", "7"),
]


@pytest.fixture
def terminal(monkeypatch):
    import click.testing

    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True, raising=False)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("function", "start", "every"), TABLE_RUNS)
def test_vector_table_fits_and_every_number_is_whole(terminal, width, function, start, every):
    import csv
    import io

    args = ["run", function, "--start", start, *(["--every", every] if every else [])]
    env = {"COLUMNS": str(width), "LINES": "50", "TERM": "dumb", "NO_COLOR": "1"}
    table = CliRunner().invoke(main, args, env=env).stdout
    assert not [line for line in table.splitlines() if len(line) > width]
    assert "─" in table  # the rule under the header, like the scalar table
    machine = list(csv.DictReader(io.StringIO(CliRunner().invoke(main, [*args, "--format", "csv"]).stdout)))
    by_step = {row["step"]: row for row in machine}
    lines = table.splitlines()
    header = next(line.split() for line in lines if line.split()[:1] == ["step"])
    rule = next(k for k, line in enumerate(lines) if "─" in line)
    end = next(k for k in range(rule, len(lines)) if not lines[k].strip())
    rows = [line.split() for line in lines[rule + 1 : end] if "⋮" not in line]
    assert rows and all(len(row) == len(header) for row in rows)
    names = {"f": "f", "‖∇f‖": "grad_norm"}
    for row in rows:
        for label, cell in zip(header[1:], row[1:], strict=True):
            if label == "…" or names.get(label, label) not in by_step[row[0]]:
                continue  # beyond 6 entries the csv has step, f and grad_norm only
            exact = float(by_step[row[0]][names.get(label, label)])
            assert float(cell.replace("−", "-")) == pytest.approx(exact, rel=1e-3, abs=1e-300), (label, cell, exact)
    summary = table.split("final point")[1]
    assert ", w = " in summary or "w" not in function


# -- 13: cg on the chained Rosenbrock function: as scipy's CG, and an honest step-limit message -----

CHAIN = "sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)"


def test_cg_on_the_chain_needs_no_more_iterations_than_scipy():
    optimize = pytest.importorskip("scipy.optimize")
    from symdescent.vectors.engine import minimize_vectors

    reference = optimize.minimize(
        optimize.rosen, np.zeros(100), jac=optimize.rosen_der, method="CG", options={"gtol": 1e-6, "maxiter": 10**5}
    )
    ours = minimize_vectors(CHAIN, {"x": np.zeros(100)}, method="cg", max_steps=10**5, keep_history=False)
    assert reference.success and ours.success
    assert np.allclose(ours.x["x"], 1.0, atol=1e-5)
    assert ours.steps <= reference.nit


def test_cg_at_the_step_limit_says_only_more_steps_help():
    result = invoke("run", CHAIN, "--start", "x=zeros(30)", "--method", "cg", "--steps", "5", "--format", "csv")
    assert result.exit_code == 4
    assert "cg chooses its own step lengths" in result.stderr and result.stderr.rstrip().endswith("allow more steps")
    assert "learning rate" not in result.stderr
