"""analyze on every kind of problem: scalars with data, vectors and scalars together, one result shape.

A function quadratic in all its variables together has one constant Hessian over all of them; its
eigenvalues are checked against numpy.linalg.eigvalsh of that Hessian built here, independently:
mean((a·t + b − T)²) has H = 2·[[mean t², mean t], [mean t, 1]]; least squares mean((X w + b − y)²)
has H = 2/n·[X 1]ᵀ[X 1].
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import BOOTH, cli

from symdescent.vectors.analysis import analyze_arrays
from symdescent.vectors.problem import make_vector_problem

T_DATA = np.arange(7.0)
TEMPS = np.array([11.8, 13.1, 14.2, 14.9, 16.3, 17.0, 18.4])
LINE = "mean((a*t + b - T)^2)"

RNG = np.random.default_rng(7)
X = RNG.normal(size=(9, 3))
Y = RNG.normal(size=9)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The README's temps.csv, and X.csv (9×3) and y.csv for least squares, in the working directory."""
    rows = "\n".join(f"{t:g},{v:g}" for t, v in zip(T_DATA, TEMPS, strict=True))
    (tmp_path / "temps.csv").write_text(f"t,T\n{rows}\n")
    np.savetxt(tmp_path / "X.csv", X, delimiter=",", fmt="%.17g")
    np.savetxt(tmp_path / "y.csv", Y, fmt="%.17g")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def line_hessian() -> np.ndarray:
    return 2 * np.array([[np.mean(T_DATA**2), np.mean(T_DATA)], [np.mean(T_DATA), 1.0]])


def analyze_json(*args: str) -> dict[str, object]:
    out = cli("analyze", *args, "--format", "json")
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout)


def check_quadratic(facts: dict, hessian: np.ndarray) -> None:
    """λmin, λmax, L and the step sizes of ``facts`` are those of ``hessian`` (numpy's eigvalsh)."""
    low, high = np.linalg.eigvalsh(hessian)[[0, -1]]
    assert facts["quadratic"] is True and facts["where"] == "everywhere" and facts["convex"] is True
    assert facts["lambda_min"] == pytest.approx(low, rel=1e-12)
    assert facts["lambda_max"] == pytest.approx(high, rel=1e-12)
    assert facts["lipschitz"] == pytest.approx(high, rel=1e-12)
    assert facts["max_stable_lr"] == pytest.approx(2 / high, rel=1e-12)
    assert facts["best_lr"] == pytest.approx(2 / (low + high), rel=1e-12)
    assert facts["hessian_eigenvalues"] == pytest.approx(list(np.linalg.eigvalsh(hessian)), rel=1e-12)
    assert np.allclose(facts["hessian"], hessian, rtol=1e-12, atol=1e-12)


# -- issue #18, points 2 and 3: the README's line fit ------------------------------------------------


def test_line_fit_without_start_takes_a_and_b_as_scalars_and_is_a_quadratic_in_both(files: Path) -> None:
    facts = analyze_json(LINE, "--data", "temps.csv")  # was: "T is given both as data and as a start value"
    assert facts["variables"] == ["a", "b"]
    check_quadratic(facts, line_hessian())
    assert facts["hessian_formula"] == "[[2·mean(t²), 2·mean(t)], [2·mean(t), 2]]"
    ((point),) = facts["critical_points"]
    slope, intercept = np.polyfit(T_DATA, TEMPS, 1)
    assert point["kind"] == "minimum" and point["numeric"] is True
    assert point["point"]["a"] == pytest.approx(slope, rel=1e-12)
    assert point["point"]["b"] == pytest.approx(intercept, rel=1e-12)
    assert point["f"] == pytest.approx(np.mean((slope * T_DATA + intercept - TEMPS) ** 2), rel=1e-9)


def test_line_fit_with_start_is_the_same_analysis(files: Path) -> None:
    with_start = analyze_json(LINE, "--data", "temps.csv", "--start", "a=0,b=0")  # was: "quadratic": false
    assert with_start == analyze_json(LINE, "--data", "temps.csv")
    text = cli("analyze", LINE, "--data", "temps.csv", "--format", "text").stdout
    assert "f is quadratic in (a, b) together" in text
    assert "Convex: yes" in text and " minimum " in text
    assert f"best α = 2/(λ_min + λ_max) = {2 / sum(np.linalg.eigvalsh(line_hessian())):.10g}" in text


# -- vectors and scalars together ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "scale"),
    [("sum((X @ w + b - y)^2)", 2.0), ("mean((X @ w + b - y)^2)", 2.0 / len(Y))],
)
def test_least_squares_in_a_vector_and_a_scalar(files: Path, function: str, scale: float) -> None:
    design = np.hstack([X, np.ones((len(Y), 1))])  # [X 1]: the unknowns (w, b) in this order
    facts = analyze_json(function, "--data", "X=X.csv", "--data", "y=y.csv", "--start", "w=zeros(3),b=0")
    assert facts["variables"] == ["w", "b"]
    check_quadratic(facts, scale * design.T @ design)
    ((point),) = facts["critical_points"]
    solution = np.linalg.lstsq(design, Y, rcond=None)[0]
    assert np.allclose(point["point"]["w"], solution[:3], rtol=1e-10, atol=1e-12)
    assert point["point"]["b"] == pytest.approx(solution[3], rel=1e-10, abs=1e-12)


def test_least_squares_sizes_come_from_the_data(files: Path) -> None:
    facts = analyze_json("sum((X @ w + b - y)^2)", "--data", "X=X.csv", "--data", "y=y.csv")
    assert facts["variables"] == ["b", "w"]  # w has X's 3 columns, b is a scalar
    design = np.hstack([np.ones((len(Y), 1)), X])  # [1 X] for the order (b, w)
    check_quadratic(facts, 2 * design.T @ design)
    assert len(facts["critical_points"][0]["point"]["w"]) == 3


def test_library_call_gives_the_joint_hessian() -> None:
    data = {"X": X, "y": Y}
    problem = make_vector_problem("sum((X @ w + b - y)^2)", {"w": np.zeros(3), "b": 0.0}, data)
    analysis = analyze_arrays(problem)
    design = np.hstack([X, np.ones((len(Y), 1))])
    assert analysis.quadratic and analysis.hessian is not None
    assert np.allclose(analysis.hessian, 2 * design.T @ design, rtol=1e-12)
    assert analysis.lambda_min == pytest.approx(np.linalg.eigvalsh(2 * design.T @ design)[0], rel=1e-12)


def test_a_negative_eigenvalue_at_the_start_point_shows_f_is_not_convex() -> None:
    facts = analyze_json("sum(cos(x))", "--start", "x=[0,0]")  # H = −I at 0
    assert facts["quadratic"] is False and facts["where"] == "at the start point"
    assert facts["convex"] is False and "at the start point" in facts["convex_reason"]
    assert facts["lambda_min"] == pytest.approx(-1.0) and facts["lambda_max"] == pytest.approx(-1.0)
    assert facts["hessian"] is None and facts["critical_points"] is None and facts["best_lr"] is None


# -- one shape --------------------------------------------------------------------------------------


def test_scalar_and_vector_analyses_have_the_same_keys(files: Path) -> None:
    scalar = analyze_json(BOOTH)
    vector = analyze_json(LINE, "--data", "temps.csv")
    formulas = analyze_json("norm(A @ x - b)^2")
    assert set(scalar) == set(vector) == set(formulas)
    assert set(scalar["critical_points"][0]) == set(vector["critical_points"][0])
    assert scalar["critical_points"][0]["point"] == {"x": "1", "y": "3"}  # SPEC: {name: value}
    assert (scalar["quadratic"], scalar["lambda_min"], scalar["lambda_max"]) == (True, 2.0, 18.0)
    assert scalar["where"] == vector["where"] == "everywhere"


# -- --timeout applies to vector problems too ---------------------------------------------------------


def test_timeout_bounds_the_vector_analysis() -> None:
    args = ("sum(x^2)", "--start", "x=zeros(600)")
    assert analyze_json(*args)["lambda_max"] == pytest.approx(2.0)
    # another point (λmax found once for a problem and point is kept): was ignored
    late = analyze_json("sum(x^2)", "--start", "x=ones(600)", "--timeout", "1e-6")
    assert late["lambda_max"] is None and late["max_stable_lr"] is None
    assert any("timeout" in note for note in late["notes"])


# -- the real executable --------------------------------------------------------------------------------


def test_the_command_line_analyzes_the_readme_line_fit(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # in-process, from the data's directory: test_analyze.py runs analyze through the installed program
    monkeypatch.chdir(files)
    done = cli("analyze", LINE, "--data", "temps.csv", "--format", "json")
    assert done.exit_code == 0, done.stderr
    facts = json.loads(done.stdout)
    check_quadratic(facts, line_hessian())


def test_an_index_sum_of_squares_is_a_quadratic_with_the_laplacian_spectrum() -> None:
    """sum((x[i+1]-x[i])^2, i) + sum((x-1)^2): H = 2L + 2I (L the path graph's Laplacian), the same everywhere."""
    import json

    import numpy as np

    n = 6
    out = cli("analyze", "sum((x[i+1]-x[i])^2, i) + sum((x-1)^2)", "--start", f"x=zeros({n})", "--format", "json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    laplacian = np.diag([1.0] + [2.0] * (n - 2) + [1.0]) - np.eye(n, k=1) - np.eye(n, k=-1)
    eigenvalues = np.linalg.eigvalsh(2 * laplacian + 2 * np.eye(n))
    assert (data["quadratic"], data["convex"]) == (True, True)
    assert [data["lambda_min"], data["lambda_max"]] == pytest.approx([eigenvalues[0], eigenvalues[-1]], rel=1e-9)
    assert data["best_lr"] == pytest.approx(2 / (eigenvalues[0] + eigenvalues[-1]), rel=1e-9)
    explained = cli("explain", "sum((x[i+1]-x[i])^2, i) + sum((x-1)^2)", "--start", f"x=zeros({n})", "--format", "text")
    assert "quadratic in all its entries together" in " ".join(explained.stdout.split())
    assert "at the start point" not in explained.stdout
    bent = cli("analyze", "sum((x[i+1]-x[i]^2)^2, i)", "--start", f"x=zeros({n})", "--format", "json")
    assert json.loads(bent.stdout)["quadratic"] is False
