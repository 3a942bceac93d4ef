"""analyze: Hessian, critical points and their kinds, convexity and step sizes, with exact maths."""

from __future__ import annotations

import json
import math
import time

import pytest
import sympy as sp
from conftest import BOOTH, cli, run_installed

from symdescent import analyze as analyze_module
from symdescent.analyze import Analysis, analyze
from symdescent.problem import make_problem

SPEC_KEYS = {
    "function",
    "variables",
    "gradient",
    "hessian",
    "critical_points",
    "convex",
    "lipschitz",
    "max_stable_lr",
    "best_lr",
}


def run_analyze(text: str, timeout: float = 20) -> Analysis:
    return analyze(make_problem(text), timeout=timeout)


def by_point(analysis: Analysis) -> dict[tuple[object, ...], str]:
    return {p.point: p.kind for p in analysis.critical_points}


def test_saddle_of_x2_minus_y2() -> None:
    a = run_analyze("x**2 - y**2")
    assert by_point(a) == {(0, 0): "saddle"}
    (point,) = a.critical_points
    assert not point.numeric and point.f == 0
    assert point.eigenvalues == (-2.0, 2.0)
    assert a.hessian == ((2, 0), (0, -2))
    assert a.convex is False
    assert a.eigenvalues == (-2, 2)
    assert a.max_stable_lr is None and a.best_lr is None  # descent runs away along y
    assert a.complete


def test_minimum_and_saddle_of_cubic() -> None:
    a = run_analyze("x**3 - 3*x + y**2")
    assert by_point(a) == {(1, 0): "minimum", (-1, 0): "saddle"}
    values = {p.point: p.f for p in a.critical_points}
    assert values == {(1, 0): -2, (-1, 0): 2}
    assert all(isinstance(c, sp.Integer) for p in a.critical_points for c in p.point)
    x = sp.Symbol("x", real=True)
    assert a.hessian == ((6 * x, 0), (0, 2))
    assert a.convex is False
    assert a.lipschitz is None and a.max_stable_lr is None and a.best_lr is None
    assert a.search == "symbolic" and a.complete


def test_booth_function() -> None:
    a = run_analyze(BOOTH)
    assert by_point(a) == {(1, 3): "minimum"}
    assert a.critical_points[0].f == 0
    assert a.hessian == ((10, 8), (8, 10))
    assert a.eigenvalues == (2, 18)
    assert a.convex is True
    assert a.lipschitz == 18
    assert a.max_stable_lr == sp.Rational(1, 9)
    assert a.best_lr == sp.Rational(1, 10)


def test_cli_json_for_booth_is_the_spec_object_with_exact_strings() -> None:
    out = cli("analyze", BOOTH, "--format", "json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= SPEC_KEYS
    assert data["variables"] == ["x", "y"]
    assert data["gradient"] == ["10*x + 8*y - 34", "8*x + 10*y - 38"]
    assert data["hessian"] == [["10", "8"], ["8", "10"]]
    assert data["critical_points"] == [
        {"point": {"x": "1", "y": "3"}, "kind": "minimum", "f": "0", "numeric": False, "eigenvalues": [2.0, 18.0]}
    ]
    assert data["convex"] is True
    assert (data["lipschitz"], data["max_stable_lr"], data["best_lr"]) == ("18", "1/9", "1/10")
    assert data["hessian_eigenvalues"] == ["2", "18"]
    # the step sizes are usable as they are
    run = cli("run", BOOTH, "--start", "0,0", "--lr", data["best_lr"], "-q")
    assert run.exit_code == 0


def test_numeric_critical_points_when_sympy_cannot_solve() -> None:
    a = run_analyze("x**4/4 + cos(x)")  # x**3 = sin(x) has no closed form
    assert a.search == "numeric" and not a.complete
    assert all(p.numeric for p in a.critical_points)
    kinds = {round(p.point[0], 9): p.kind for p in a.critical_points}
    assert kinds == {-0.928626309: "minimum", 0.0: "maximum", 0.928626309: "minimum"}
    for p in a.critical_points:
        (x,) = p.point
        assert math.isclose(x**3, math.sin(x), abs_tol=1e-14)
        assert math.isclose(p.f, x**4 / 4 + math.cos(x), rel_tol=1e-15)
    assert a.convex is False  # f'' = -1 at 0
    assert any("SymPy" in note for note in a.notes)
    data = json.loads(cli("analyze", "x**4/4 + cos(x)", "--format", "json").stdout)
    assert [p["numeric"] for p in data["critical_points"]] == [True, True, True]
    assert all(isinstance(p["point"]["x"], float) for p in data["critical_points"])


def test_transcendental_solution_stays_exact_and_convexity_is_proved() -> None:
    a = run_analyze("exp(x) + x**2 + y**2")
    (point,) = a.critical_points
    assert point.kind == "minimum" and not point.numeric
    assert point.point == (-sp.LambertW(sp.Rational(1, 2)), 0)
    assert math.isclose(float(point.point[0]), -0.35173371124919584)
    assert a.convex is True


def test_family_of_critical_points_is_degenerate() -> None:
    a = run_analyze("(x - y)**2")
    y = sp.Symbol("y", real=True)
    assert [(p.point, p.kind) for p in a.critical_points] == [((y, y), "degenerate")]
    assert a.eigenvalues == (0, 4)
    assert a.convex is True
    assert a.max_stable_lr == sp.Rational(1, 2)
    assert a.best_lr == sp.Rational(1, 4)  # λ_min is the smallest nonzero eigenvalue: one step lands on x = y


def test_periodic_function_adds_numeric_points() -> None:
    a = run_analyze("sin(x) + y**2")
    exact = [p for p in a.critical_points if not p.numeric]
    numeric = [p for p in a.critical_points if p.numeric]
    assert {p.point for p in exact} >= {(sp.pi / 2, 0)}
    assert numeric and all(math.isclose(math.cos(p.point[0]), 0, abs_tol=1e-12) for p in numeric)
    assert a.search == "symbolic+numeric" and not a.complete


def test_degenerate_minimum() -> None:
    a = run_analyze("x**4 + y**4")
    assert by_point(a) == {(0, 0): "degenerate"}
    assert a.convex is True


def test_solve_is_bounded_by_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def endless(*args: object) -> None:
        time.sleep(600)

    monkeypatch.setattr(analyze_module, "_solve", endless)  # the forked child inherits it
    started = time.monotonic()
    a = run_analyze("x**3 - 3*x + y**2", timeout=0.5)
    assert time.monotonic() - started < 10
    assert a.search == "numeric"
    assert any("within 0.5 s" in note for note in a.notes)
    assert {tuple(round(c, 9) for c in p.point): p.kind for p in a.critical_points} == {
        (1.0, 0.0): "minimum",
        (-1.0, 0.0): "saddle",
    }


def test_cli_text_output() -> None:
    out = cli("analyze", "x**3-3*x+y**2", "--format", "text")
    assert out.exit_code == 0
    assert out.stdout.splitlines()[:8] == [
        "f(x, y) = x³ − 3x + y²",
        "",
        "∇f = (3x² − 3, 2y)",
        "H  = [[6x, 0], [0, 2]]",
        "",
        "Critical points (∇f = 0), solved exactly by SymPy:",
        "  (x, y) = (−1, 0)   saddle    f = 2    eigenvalues of H ≈ −6, 2",
        "  (x, y) = (1, 0)    minimum   f = −2   eigenvalues of H ≈ 2, 6",
    ]


def test_cli_bad_input_and_timeout_option() -> None:
    assert cli("analyze", "x.y").exit_code == 2
    out = cli("analyze", "x**2", "--timeout", "0")
    assert out.exit_code == 2 and "--timeout" in out.stderr


def test_installed_executable_analyze(executable: object) -> None:
    done = run_installed(executable, "analyze", "x**2 - y**2", "--format", "json")  # type: ignore[arg-type]
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["critical_points"] == [
        {"point": {"x": "0", "y": "0"}, "kind": "saddle", "f": "0", "numeric": False, "eigenvalues": [-2.0, 2.0]}
    ]
    assert data["convex"] is False


def test_too_many_variables_is_refused_with_a_hint() -> None:
    out = cli("analyze", "+".join(f"x{i}**2" for i in range(11)))
    assert out.exit_code == 2
    assert out.stderr.splitlines() == [
        "Error: analyze handles functions of at most 10 variables; this one has 11",
        "Hint: fix some of them with --param name=value",
    ]


def test_local_step_sizes_at_a_minimum_of_a_non_quadratic_function() -> None:
    a = run_analyze("x**3 - 3*x + y**2")
    minimum = next(p for p in a.critical_points if p.kind == "minimum")
    assert minimum.local_step_sizes == (2 / 6, 2 / (2 + 6))  # H = diag(6, 2) at (1, 0)
    data = json.loads(cli("analyze", "x**3 - 3*x + y**2", "--format", "json").stdout)
    by_kind = {p["kind"]: p for p in data["critical_points"]}
    assert by_kind["minimum"]["local_max_stable_lr"] == 1 / 3
    assert by_kind["minimum"]["local_best_lr"] == 0.25
    assert "local_max_stable_lr" not in by_kind["saddle"]
    text = cli("analyze", "x**3 - 3*x + y**2", "--format", "text").stdout
    assert "near the minimum (1, 0): stable for α < 0.333333, fastest at α ≈ 0.25" in text


def test_a_family_of_minima_reports_the_constant_hessians_eigenvalues() -> None:
    import json

    out = cli("analyze", "(x+y)**2", "--format", "json")
    [point] = json.loads(out.stdout)["critical_points"]
    assert point["kind"] == "degenerate" and point["eigenvalues"] == [0.0, 4.0]
    text = cli("analyze", "(x+y)**2", "--format", "text").stdout
    assert "best α = 2/(λ_min + λ_max) = 1/4  (λ_min: the smallest eigenvalue that is not 0)" in text


def test_explain_does_not_claim_the_flat_factor_is_zero() -> None:
    out = cli("explain", "(x+y)**2", "--start", "1,2", "--lr", "0.1", "--format", "text").stdout
    assert "every factor is 0" not in out
    assert "the factor of every direction that" in out


def test_sympys_non_real_comparison_in_the_hessian_is_a_clear_refusal(monkeypatch) -> None:
    """The SymPy failure explain works around (see test_explain): analyze needs the Hessian, so it says so."""
    from symdescent import problem as problem_module

    def non_real(self: object) -> None:
        raise TypeError("Invalid comparison of non-real log(tanh(10))")

    monkeypatch.setattr(problem_module.Problem, "hessian", property(non_real))
    out = cli("analyze", "(tanh(10))^(-((1e-3)+(x)))")
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: SymPy could not differentiate ∇f again")
    assert "internal error" not in out.stderr
