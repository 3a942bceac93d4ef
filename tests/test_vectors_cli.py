"""The vector contract through the CLI: the seven examples, data files, output rules, --save and errors."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from symdescent.cli import main

RNG = np.random.default_rng(11)
A = RNG.normal(size=(12, 3))
B = RNG.normal(size=12)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savetxt("A.csv", A, delimiter=",")
    np.savetxt("b.csv", B, delimiter=",")
    (tmp_path / "temps.csv").write_text("t,T\n0,11.8\n1,13.1\n2,14.2\n3,14.9\n4,16.3\n5,17.0\n6,18.4\n")
    rng = np.random.default_rng(3)  # its own generator: the data must not depend on the order of the tests
    features = rng.normal(size=(40, 3))
    labels = np.where(features @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=40) > 0, 1.0, -1.0)
    np.savetxt("X.csv", features, delimiter=",")
    np.savetxt("y.csv", labels, delimiter=",")
    return tmp_path


# -- the seven examples of the contract ------------------------------------------------


def test_example_1_seed_in_vector_form_converges_at_step_69():
    result = invoke("run", "x @ x", "--start", "x=[1,2]", "--lr", "0.1", "--format", "csv")
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines[0] == "step,x[1],x[2],f,df/dx[1],df/dx[2],grad_norm"
    last = lines[-1].split(",")
    assert last[0] == "69"
    scalar = invoke("run", "x**2+y**2", "--start", "1,2", "--lr", "0.1", "--format", "csv")
    assert scalar.output.strip().splitlines()[-1].split(",")[:3] == last[:3]


def test_example_2_a_million_entries_quietly_saved(files):
    result = CliRunner().invoke(
        main, ["run", "sum(x^2)", "--start", "x=ones(10^6)", "--lr", "0.1", "-q", "--save", "x.npy"]
    )
    assert result.exit_code == 0
    assert float(result.stdout.strip()) < 1e-12
    assert "--save" in result.stderr or "Point written" in result.stderr
    saved = np.load(files / "x.npy")
    assert saved.shape == (10**6,)
    assert np.allclose(saved, 0.8**96)


def test_example_3_least_squares_from_csv_files(files):
    result = invoke(
        "run",
        "norm(A @ x - b)^2",
        "--data",
        "A=A.csv",
        "--data",
        "b=b.csv",
        "--start",
        "x=zeros(3)",
        "--lr",
        "0.02",
        "--tol",
        "1e-9",
        "--steps",
        "20000",
        "-q",
    )
    assert result.exit_code == 0
    x = np.array([float(v) for v in result.output.split()])
    assert np.allclose(x, np.linalg.lstsq(A, B, rcond=None)[0], atol=1e-6)


def test_example_3_with_the_default_learning_rate_diverges_or_reaches_lstsq(files):
    result = invoke("run", "norm(A @ x - b)^2", "--data", "A=A.csv", "--data", "b=b.csv", "--start", "x=zeros(3)")
    assert result.exit_code in (0, 3, 4)


def test_example_4_line_fit_from_a_headed_csv(files):
    result = invoke(
        "run",
        "mean((a*t + b - T)^2)",
        "--data",
        "temps.csv",
        "--start",
        "a=0,b=0",
        "--lr",
        "0.05",
        "--tol",
        "1e-9",
        "--steps",
        "20000",
        "--format",
        "json",
    )
    assert result.exit_code == 0
    data = json.loads(result.output)
    t = np.arange(7.0)
    temps = np.array([11.8, 13.1, 14.2, 14.9, 16.3, 17.0, 18.4])
    assert [data["x"]["a"], data["x"]["b"]] == pytest.approx(list(np.polyfit(t, temps, 1)), abs=1e-6)
    assert data["history"][0] == {
        "step": 0,
        "x": {"a": 0.0, "b": 0.0},
        "f": pytest.approx(np.mean(temps**2)),
        "grad": data["history"][0]["grad"],
        "grad_norm": data["history"][0]["grad_norm"],
    }


def test_example_5_logistic_regression(files):
    result = invoke(
        "run",
        "sum(log(1 + exp(-y * (X @ w))))",
        "--data",
        "X=X.csv",
        "--data",
        "y=y.csv",
        "--start",
        "w=zeros(3)",
        "-q",
    )
    assert result.exit_code == 0
    assert len(result.output.split()) == 3


def test_example_6_chained_rosenbrock_with_cg():
    result = invoke(
        "run",
        "sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)",
        "--start",
        "x=zeros(1000)",
        "--method",
        "cg",
        "--steps",
        "20000",
        "--format",
        "csv",
    )
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines[0] == "step,f,grad_norm"
    assert float(lines[-1].split(",")[1]) < 1e-10


def test_example_7_grad_without_data_and_explain():
    grad = invoke("grad", "norm(A @ x - b)^2", "--format", "text")
    assert grad.exit_code == 0
    assert "∇f = 2Aᵀ(Ax − b)" in grad.output
    explain = invoke("explain", "x @ x", "--start", "x=[1,2]", "--lr", "0.1")
    assert explain.exit_code == 0
    assert "∇f = 2x" in explain.output
    assert "0.8·xₜ" in explain.output
    assert "xₜ = 0.8ᵗ·x₀" in explain.output


# -- output rules ----------------------------------------------------------------------------


def test_large_vectors_show_only_step_f_and_grad_norm_in_every_format():
    for fmt in ("csv", "tsv", "jsonl"):
        result = invoke("run", "sum((x-1)^2)", "--start", "x=zeros(7)", "--steps", "3", "--tol", "0", "--format", fmt)
        assert result.exit_code == 0
        first = result.output.splitlines()[0 if fmt == "jsonl" else 1]
        if fmt == "jsonl":
            assert set(json.loads(first)) == {"event", "step", "f", "grad_norm"}
        else:
            assert len(first.split("," if fmt == "csv" else "\t")) == 3


def test_table_shows_the_first_entries_then_an_ellipsis():
    result = invoke("run", "sum((x-1)^2)", "--start", "x=zeros(50)", "--format", "table")
    assert result.exit_code == 0
    assert "x[1]" in result.output and "x[3]" in result.output and "…" in result.output
    assert "x[4]" not in result.output.splitlines()[3]


def test_quiet_prints_f_and_a_hint_beyond_a_thousand_entries():
    result = CliRunner().invoke(main, ["run", "sum(x^2)", "--start", "x=ones(1001)", "-q"])
    assert result.exit_code == 0
    assert len(result.stdout.split()) == 1
    assert "--save" in result.stderr


def test_save_csv_writes_the_point(tmp_path):
    path = tmp_path / "w.csv"
    result = invoke("run", "sum((w - 2)^2)", "--start", "w=[0,1,3]", "--save", str(path), "-q")
    assert result.exit_code == 0
    assert np.allclose(np.loadtxt(path), 2.0, atol=1e-6)


def test_start_from_a_file_and_scalars_mixed(tmp_path):
    np.save(tmp_path / "x0.npy", np.array([3.0, -1.0]))
    result = invoke(
        "run", "sum((x - c)^2) + (s - 1)^2", "--start", f"x=@{tmp_path / 'x0.npy'},s=0", "--param", "c=2", "-q"
    )
    assert result.exit_code == 0
    assert [float(v) for v in result.output.split()] == pytest.approx([2, 2, 1], abs=1e-6)


def test_scalar_functions_are_unchanged():
    result = invoke("run", "x**2+y**2", "--start", "1,2", "-q")
    assert result.output.split() == ["2.0568806966515085e-07", "4.113761393303017e-07"]


# -- bad input: exit 2, one line, file and line named -----------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1,2\n3\n", "bad.csv, line 2: 1 values, but the lines before have 2"),
        ("1,2\n3,abc\n", "bad.csv, line 2, column 2: 'abc' is not a number"),
        ("", "bad.csv: no numbers in the file"),
    ],
)
def test_bad_data_files_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = CliRunner().invoke(main, ["run", "norm(A @ x)^2", "--data", f"A={path}", "--start", "x=zeros(2)"])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_and_shape_mismatch_are_exit_2(files):
    missing = CliRunner().invoke(main, ["run", "norm(A @ x)^2", "--data", "A=nothere.csv", "--start", "x=zeros(2)"])
    assert missing.exit_code == 2 and "nothere.csv: no such file" in missing.stderr
    shapes = CliRunner().invoke(
        main, ["run", "norm(A @ x - b)^2", "--data", "A=A.csv", "--data", "b=b.csv", "--start", "x=zeros(4)"]
    )
    assert shapes.exit_code == 2 and "A is 12×3 but x has 4 entries" in shapes.stderr


def test_vector_valued_f_and_matrix_star_vector_are_exit_2_with_hints(files):
    vector = CliRunner().invoke(main, ["run", "x^2", "--start", "x=[1,2]"])
    assert vector.exit_code == 2 and "f must be a scalar" in vector.stderr and "sum(...)" in vector.stderr
    star = CliRunner().invoke(main, ["run", "sum(A*x)", "--data", "A=A.csv", "--start", "x=zeros(3)"])
    assert star.exit_code == 2 and "Hint: A @ x is the matrix product" in star.stderr


def test_plot_of_a_line_fit(files):
    pytest.importorskip("matplotlib")
    result = invoke(
        "run",
        "mean((a*t + b - T)^2)",
        "--data",
        "temps.csv",
        "--start",
        "a=0,b=0",
        "--lr",
        "0.05",
        "--plot",
        "fit.png",
        "-q",
    )
    assert result.exit_code == 0
    assert (files / "fit.png").stat().st_size > 10_000


def test_real_subprocess_run_and_exit_code(files):
    done = subprocess.run(
        ["symdescent", "run", "x @ x", "--start", "x=[1,2]", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1].startswith("69,")
    bad = subprocess.run(
        ["symdescent", "run", "sum(x^2)", "--start", "x=[1,2]", "--data", "A=nothere.csv"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("Error: ")


def test_compare_runs_every_array_method_from_the_same_start():
    result = invoke("compare", "x @ x", "--start", "x=[1,2]", "--format", "json")
    assert result.exit_code == 0
    runs = {run["method"]: run for run in json.loads(result.output)["runs"]}
    every = {"gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad", "backtracking", "cg", "newton", "lbfgs"}
    assert set(runs) == every
    assert runs["newton"]["steps"] == 1 and runs["newton"]["status"] == "converged"


def test_explain_and_analyze_with_data(files):
    explain = invoke(
        "explain",
        "norm(A @ x - b)^2",
        "--data",
        "A=A.csv",
        "--data",
        "b=b.csv",
        "--start",
        "x=zeros(3)",
        "--lr",
        "0.01",
    )
    assert explain.exit_code == 0 and "H = 2AᵀA" in explain.output
    bound = 2 / np.linalg.eigvalsh(2 * A.T @ A)[-1]
    assert f"{bound:.6g}" in explain.output
    analyze = invoke("analyze", "norm(A @ x - b)^2", "--data", "A=A.csv", "--data", "b=b.csv")
    assert analyze.exit_code == 0 and "Convex: yes" in analyze.output and " minimum " in analyze.output


def test_exact_arithmetic_runs_small_vectors_and_refuses_large_ones():
    result = CliRunner().invoke(main, ["run", "sum(x^2)", "--start", "x=[1,2]", "--exact", "-q"])
    assert result.exit_code == 0 and result.stdout.startswith("348449143727040986586495598010130648530944/")
    result = CliRunner().invoke(main, ["run", "sum(x^2)", "--start", "x=ones(101)", "--exact"])
    assert result.exit_code == 2 and "exact arithmetic runs problems of at most 100 variable entries" in result.stderr


def test_without_numpy_a_vector_problem_is_exit_2_with_the_install_hint(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "numpy", None)
    result = CliRunner().invoke(main, ["run", "sum(x^2)", "--start", "x=[1,2]"])
    assert result.exit_code == 2
    assert 'pip install "symdescent[fast]"' in result.stderr


def test_run_explain_for_vectors_goes_to_stderr_with_csv():
    result = CliRunner().invoke(main, ["run", "x @ x", "--start", "x=[1,2]", "--explain", "--format", "csv"])
    assert result.exit_code == 0
    assert "0.8·xₜ" in result.stderr and result.stdout.startswith("step,")


def test_tsv_columns_and_npy_matrices(tmp_path):
    (tmp_path / "d.tsv").write_text("u\tv\n1\t2\n3\t4\n")
    np.save(tmp_path / "M.npy", np.array([[2.0, 0.0], [0.0, 4.0]]))
    result = invoke(
        "run",
        "norm(M @ x - u)^2 + sum(v*x)",
        "--data",
        str(tmp_path / "d.tsv"),
        "--data",
        f"M={tmp_path / 'M.npy'}",
        "--start",
        "x=zeros(n)",
        "--lr",
        "0.05",
        "--tol",
        "1e-10",
        "-q",
    )
    assert result.exit_code == 0
    # ∇f = 2Mᵀ(Mx − u) + v = 0  =>  x = (MᵀM)⁻¹(Mᵀu − v/2)
    m, u, v = np.diag([2.0, 4.0]), np.array([1.0, 3.0]), np.array([2.0, 4.0])
    expected = np.linalg.solve(m.T @ m, m.T @ u - v / 2)
    assert [float(t) for t in result.output.split()] == pytest.approx(list(expected), abs=1e-8)


def test_analyze_json_for_a_quadratic(files):
    result = invoke("analyze", "norm(A @ x - b)^2", "--data", "A=A.csv", "--data", "b=b.csv", "--format", "json")
    assert result.exit_code == 0
    facts = json.loads(result.output)
    eigenvalues = np.linalg.eigvalsh(2 * A.T @ A)
    assert facts["quadratic"] is True and facts["hessian_formula"] == "2AᵀA" and facts["convex"] is True
    assert np.allclose(facts["hessian"], 2 * A.T @ A, rtol=1e-12)
    assert facts["lipschitz"] == pytest.approx(eigenvalues[-1], rel=1e-10)
    (minimum,) = facts["critical_points"]
    assert minimum["kind"] == "minimum"
    assert np.allclose(minimum["point"]["x"], np.linalg.lstsq(A, B, rcond=None)[0], rtol=1e-9, atol=1e-12)
    assert facts["lambda_max"] == pytest.approx(eigenvalues[-1], rel=1e-10)
    assert facts["best_lr"] == pytest.approx(2 / (eigenvalues[0] + eigenvalues[-1]), rel=1e-10)


def test_an_inline_matrix_is_data_and_never_a_start_value():
    """``--data A=[[2,0],[0,1]]`` is the matrix a file would give: the run equals the one from a CSV file."""
    runner = CliRunner()
    inline = runner.invoke(main, ["run", "x @ A @ x", "--start", "x=[1,2]", "--data", "A=[[2,0],[0,1]]", "-q"])
    assert inline.exit_code == 0, inline.output
    # f = 2x₁² + x₂²: each gd step multiplies x₁ by 1 − 0.1·4 = 0.6 and x₂ by 1 − 0.1·2 = 0.8
    args = ["run", "x @ A @ x", "--start", "x=[1,2]", "--param", "A=[[2,0],[0,1]]", "--steps", "2", "--format", "csv"]
    steps = runner.invoke(main, args)
    rows = [line.split(",") for line in steps.stdout.splitlines()]
    assert [float(v) for v in rows[-1][1:3]] == pytest.approx([0.6**2, 2 * 0.8**2], rel=1e-15)
    for value, message in [
        ("A=[[2,0],[0,1,3]]", "the rows have different lengths (2, 3)"),
        ("A=[[2,0],3]", "mixes numbers and rows"),
    ]:
        bad = runner.invoke(main, ["run", "x @ A @ x", "--start", "x=[1,2]", "--data", value])
        assert bad.exit_code == 2 and message in bad.output, bad.output
    start = runner.invoke(main, ["run", "x @ A @ x", "--start", "x=[[1,2]]", "--data", "A=[[2,0],[0,1]]"])
    assert start.exit_code == 2
    assert "the value of x is a matrix; a variable is a number or a vector" in start.output


@pytest.mark.parametrize(
    ("function", "start", "data", "linear"),
    [
        ("sum(q*(P @ w))", "w=[1,2]", ["q=[1,1]", "P=[[1,0],[0,1]]"], "w"),
        ("sum(x) + y^2", "x=[1,2],y=1", [], "x"),
        ("x @ x + 3*y", "x=[1,2],y=1", [], "y"),
    ],
)
def test_a_vector_function_linear_in_a_variable_is_unbounded_not_a_learning_rate_problem(function, start, data, linear):
    args = ["run", function, "--start", start, "--steps", "50", "-q"]
    for item in data:
        args += ["--data", item]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output
    assert f"f is linear in {linear}, so it has no minimum" in result.stderr
    assert "try a smaller learning rate" not in result.stderr
