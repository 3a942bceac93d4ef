"""grad --at and explain for vector problems (issue #18, points 5, 6 and 8), in every format, with exact numbers.

The seed in vector form: f(x) = xᵀx from x₀ = (1, 2) with α = 0.1: ∇f = 2x = (2, 4) at x₀,
xₜ₊₁ = 0.8·xₜ, so xₜ = 0.8ᵗ·(1, 2) and f(xₜ) = 5·0.64ᵗ.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from conftest import cli

A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
B = np.array([1.0, 2.0, 3.0])


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savetxt("A.csv", A, delimiter=",")
    np.savetxt("b.csv", B, delimiter=",")
    return tmp_path


def balanced(latex: str) -> bool:
    depth = 0
    for char in re.sub(r"\\[{}]", "", latex):
        depth += (char == "{") - (char == "}")
        if depth < 0:
            return False
    return depth == 0 and latex.count(r"\left") == latex.count(r"\right") and latex.count("$") % 2 == 0


# -- point 5: grad --at, --data and --param for vector functions ------------------------------


def test_grad_at_a_vector_point_in_every_format():
    text = cli("grad", "x @ x", "--at", "x=[1,2]", "--format", "text")
    assert text.exit_code == 0, text.output
    assert "at x = [1, 2]:" in text.stdout
    assert "  ∇f   = [2, 4]" in text.stdout
    assert "  f    = 5" in text.stdout
    assert f"  ‖∇f‖ = {math.sqrt(20)!r}" in text.stdout
    rich = cli("grad", "x @ x", "--at", "x=[1,2]")
    assert rich.exit_code == 0 and "∇f   = [2, 4]" in rich.stdout
    data = json.loads(cli("grad", "x @ x", "--at", "x=[1,2]", "--format", "json").stdout)
    assert data["at"] == {"x": [1.0, 2.0]}
    assert data["value"] == {"x": [2.0, 4.0]}
    assert data["f"] == 5.0 and data["norm"] == math.sqrt(20)
    latex = cli("grad", "x @ x", "--at", "x=[1,2]", "--format", "latex").stdout
    assert r"\nabla f = \left(2, 4\right)" in latex and r"f(x) = x^{\top} x" in latex
    assert balanced(latex)


def test_grad_at_an_unnamed_point_of_a_one_vector_function():
    data = json.loads(cli("grad", "x @ x", "--at", "[3,4]", "--format", "json").stdout)
    assert data["value"] == {"x": [6.0, 8.0]} and data["f"] == 25.0


def test_grad_at_with_data_is_two_a_transpose_times_the_residual(data):
    result = cli(
        "grad", "norm(A @ x - b)^2", "--data", "A=A.csv", "--data", "b=b.csv", "--at", "x=[0,1]", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    x = np.array([0.0, 1.0])
    assert out["value"]["x"] == pytest.approx(list(2 * A.T @ (A @ x - B)), abs=1e-12)  # (54, 76)
    assert out["value"]["x"] == [54.0, 76.0]
    assert out["f"] == pytest.approx(float(np.sum((A @ x - B) ** 2)))  # 21


def test_grad_at_scalars_and_a_vector_together():
    out = json.loads(cli("grad", "w@w + b^2", "--at", "w=[1,2],b=3", "--format", "json").stdout)
    assert out["partials"] == {"w": "2*w", "b": "2*b"}
    assert out["value"] == {"w": [2.0, 4.0], "b": 6.0}
    assert out["norm"] == math.sqrt(56)


def test_grad_param_is_a_constant_not_a_variable():
    out = json.loads(cli("grad", "sum(a*x^2)", "--param", "a=3", "--format", "json").stdout)
    assert out["variables"] == ["x"] and out["partials"] == {"x": "6*x"}
    at = json.loads(cli("grad", "sum(a*x^2)", "--param", "a=3", "--at", "x=[1,2]", "--format", "json").stdout)
    assert at["value"] == {"x": [6.0, 12.0]} and at["f"] == 15.0


def test_grad_vars_must_be_the_names_of_the_point():
    result = cli("grad", "x @ x", "--at", "x=[1,2]", "--vars", "y")
    assert result.exit_code == 2 and "Error:" in result.stderr


# -- point 8: an index sum's gradient text is its formula, with the boundary entries -------------

BAND = "4*x[j] - 2*x[j+1] - 2*x[j-1] (general j); 2*x[1] - 2*x[2] (j = 1); 2*x[n] - 2*x[n-1] (j = n)"


@pytest.mark.parametrize("engine", ["array", "kernel"])
def test_run_json_gradient_of_an_index_sum_on_either_engine(monkeypatch, engine):
    monkeypatch.setenv("SYMDESCENT_VECTOR_ENGINE", engine)
    result = cli("run", "sum((x[i+1]-x[i])^2, i)", "--start", "x=[1,2,3,4]", "--steps", "1", "--format", "json")
    out = json.loads(result.stdout)
    assert out["gradient"] == [BAND]
    assert out["history"][0]["grad"] == {"x": [-2.0, 0.0, 0.0, 2.0]}  # the formula's cases at (1, 2, 3, 4)


def test_grad_json_of_an_index_sum_shows_the_cases():
    out = json.loads(cli("grad", "sum((x[i+1]-x[i])^2, i)", "--format", "json").stdout)
    assert out["gradient"] == [BAND]
    assert "grad_x" not in json.dumps(out)


# -- point 6: explain for vectors is the scalar document ----------------------------------------

SECTIONS = [
    "1. The function",
    "2. The gradient in vector form, rule by rule",
    "3. The gradient",
    "4. The update rule",
    "5. Closed form",
    "6. Step size",
    "7. The first iterates",
]


def explain(*args: str, fmt: str = "text") -> str:
    result = cli("explain", "x @ x", "--start", "x=[1,2]", "--lr", "0.1", "--format", fmt, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_explain_text_has_the_numbered_sections_closed_form_and_iterates():
    text = explain()
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "∇f = 2x" in text
    assert "xₜ₊₁ = xₜ − 0.1·2xₜ = 0.8·xₜ" in text
    assert "xₜ = 0.8ᵗ·x₀ = 0.8ᵗ·(1, 2) → 0" in text
    assert "Every eigenvalue of H = 2I is λ = 2." in text
    assert "0 < α < 2/λₘₐₓ = 1" in text
    assert "At x₀: ∇f = (2, 4), ‖∇f‖ = 4.47214." in text
    rows = [line.split() for line in text.split("7. The first iterates")[1].splitlines()[4:10]]
    assert rows[0] == ["0", "(1,", "2)", "5"]
    assert rows[1] == ["1", "(0.8,", "1.6)", "3.2"]
    assert rows[2] == ["2", "(0.64,", "1.28)", "2.048"]
    assert rows[5] == ["5", "(0.32768,", "0.65536)", f"{5 * 0.64**5:.6g}"]
    assert "computed from the data" not in text


def test_explain_rich_is_the_same_document():
    rich = explain(fmt="rich")
    assert all(section in rich for section in SECTIONS)
    assert "0.8ᵗ·(1, 2)" in rich


def test_explain_markdown_for_vectors():
    markdown = explain(fmt="markdown")
    assert markdown.startswith("# Gradient descent on `f(x) = xᵀx`")
    for section in SECTIONS:
        assert "## " + section.split(". ", 1)[1] in markdown
    assert "| 1 | (0.8, 1.6) | 3.2 |" in markdown


def test_explain_latex_for_vectors_is_valid():
    latex = explain(fmt="latex")
    assert balanced(latex)
    assert r"f(x) = x^{\top} x" in latex
    assert r"x_{t} = 0.8^{t}\cdot x_{0} = 0.8^{t}\cdot \left(1, 2\right)" in latex
    assert r"1 & \left(0.8, 1.6\right) & 3.2 \\" in latex
    assert not re.search(r"[ᵀₜ−…‖]", latex)


def test_explain_iterates_and_vars_apply_to_vectors():
    text = explain("--iterates", "2")
    table = text.split("7. The first iterates")[1]
    assert "  2  " in table and "\n    3 " not in table
    assert cli("explain", "x @ x", "--start", "x=[1,2]", "--vars", "x").exit_code == 0
    wrong = cli("explain", "x @ x", "--start", "x=[1,2]", "--vars", "y")
    assert wrong.exit_code == 2 and wrong.stderr.startswith("Error: ")


def test_explain_with_data_says_so_and_its_iterates_are_a_real_run(data):
    result = cli(
        "explain", "norm(A @ x - b)^2", "--data", "A=A.csv", "--data", "b=b.csv", "--start", "x=[0,0]",
        "--lr", "0.005", "--format", "text", "--iterates", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.stdout
    eigenvalues = np.linalg.eigvalsh(2 * A.T @ A)
    assert "(computed from the data)" in text
    assert f"λₘₐₓ = {eigenvalues[-1]:.6g}" in text
    assert f"2/λₘₐₓ = {2 / eigenvalues[-1]:.6g}" in text
    x = np.zeros(2)
    for _ in range(2):
        x = x - 0.005 * 2 * A.T @ (A @ x - B)
    row = text.split("7. The first iterates")[1].splitlines()[6]
    assert row.split()[0] == "2" and f"{x[0]:.6g}".replace("-", "−") in row
    assert row.split()[-1] == f"{np.sum((A @ x - B) ** 2):.6g}"


def test_explain_band_gives_the_entry_update_and_no_data_claim():
    result = cli("explain", "sum((x[i+1]-x[i])^2, i)", "--start", "x=[1,2,4,8]", "--format", "text", "--iterates", "1")
    text = result.stdout
    assert "xₜ₊₁[j] = xₜ[j] − 0.1·(4xₜ[j] − 2xₜ[j+1] − 2xₜ[j−1]) = 0.2·xₜ[j+1] + 0.2·xₜ[j−1] + 0.6·xₜ[j]" in text
    assert "    j = 1 : 2x[1] − 2x[2]" in text
    assert "At x₀: ∇f = (−2, −2, −4, 8)" in text
    assert "(1.2, 2.2, 4.4, 7.2)" in text  # one step: x − 0.1·(−2, −2, −4, 8)
    assert "computed from the data" not in text
    latex = cli("explain", "sum((x[i+1]-x[i])^2, i)", "--start", "x=[1,2,4,8]", "--format", "latex").stdout
    assert balanced(latex) and r"x_{t+1,j} = x_{t,j}" in latex


def test_explain_latex_on_the_command_line():
    # in-process: test_explain.py's test_installed_executable_piped runs explain through the installed program
    done = cli("explain", "x @ x", "--start", "x=[1,2]", "--lr", "0.1", "--format", "latex")
    assert done.exit_code == 0, done.stderr
    assert balanced(done.stdout)
    assert r"\subsection*{The first iterates}" in done.stdout
    assert r"0.8^{t}\cdot \left(1, 2\right)" in done.stdout
