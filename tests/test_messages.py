"""Messages that finish the job: each says what the user needs to do next, or what really happened.

A misspelt method gets "did you mean"; a method's name in capitals is the
method; a function without a minimum ends ``unbounded`` (exit 3) and says so,
with the direction; a method that no longer moves ends ``stalled`` (exit 4)
at once; divergence on a quadratic names the stable learning rate; a note
that points at another output points at one that holds what it promises.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import cli
from rich.console import Console

from symdescent import minimize
from symdescent.errors import InputError
from symdescent.result import Status

# -- method names --------------------------------------------------------------------


def test_a_misspelt_method_gets_did_you_mean() -> None:
    out = cli("run", "x^2", "--start", "1", "--method", "adma")
    assert out.exit_code == 2
    assert "unknown method 'adma': did you mean adam?" in out.stderr
    with pytest.raises(InputError, match="did you mean nesterov"):
        minimize("x^2", (1,), method="nesterv")


def test_method_names_ignore_case() -> None:
    out = cli("run", "x^2", "--start", "1", "--method", "Adam", "-q")
    assert out.exit_code == 0, out.stderr
    assert out.stdout == cli("run", "x^2", "--start", "1", "--method", "adam", "-q").stdout
    result = minimize("x^2", (1,), method="NEWTON")
    assert (result.method, result.status) == ("newton", Status.CONVERGED)


# -- unbounded, stalled, divergence ------------------------------------------------------------


def test_newton_on_xy_is_unbounded_not_a_step_limit() -> None:
    """x·y has no minimum: Newton's iterates run off along x = −y until f = −1.01e308 (it said "max_steps …
    makes no progress"); now it is ``unbounded``, exit 3, with the direction."""
    out = cli("run", "x*y", "--start", "1,2", "--method", "newton", "--format", "json")
    assert out.exit_code == 3
    assert '"status": "unbounded"' in out.stdout
    assert "f is unbounded below" in out.stderr and "along (−0.71, 0.71)" in out.stderr
    assert "makes no progress" not in out.stderr


def test_gd_on_an_unbounded_function_is_not_told_to_shrink_the_learning_rate() -> None:
    """−x² from 1 with α = 0.1: x grows by 1.2 each step, f reaches −2.3e158 after 1000 steps."""
    result = minimize("-x^2", (1,), lr=0.1)
    assert result.status is Status.UNBOUNDED and result.steps == 1000
    assert "f → −∞ as x → +∞" in result.message and "learning rate helps" in result.message
    assert "smaller learning rate" not in result.message
    linear = minimize("x", (1,), lr=0.1, max_steps=10)
    assert linear.status is Status.UNBOUNDED
    assert "f is linear in x, so it has no minimum (f → −∞ as x → −∞)" in linear.message
    overflow = minimize("-x^4", (1,), lr=0.01)  # f reaches −inf at step 21
    assert (overflow.status, overflow.steps) == (Status.UNBOUNDED, 21)
    maximum = minimize("x^2", (1,), lr=0.1, maximize=True)
    assert maximum.status is Status.UNBOUNDED and "f is unbounded above" in maximum.message


def test_unbounded_vector_run() -> None:
    result = minimize("-(x @ x)", {"x": np.array([1.0, 2.0])}, lr=0.1)
    assert result.status is Status.UNBOUNDED
    assert "along (0.45, 0.89)" in result.message  # (1, 2)/√5


def test_a_quadratic_curving_the_wrong_way_is_unbounded_after_a_few_steps() -> None:
    """Maximising x² + y² for 3 steps said "‖∇f‖ did not go down … try a smaller learning rate": wrong advice,
    since no learning rate helps. Its constant Hessian has the eigenvalue 2 > 0, so f has no maximum; the
    same for minimising the saddle x² − y² (eigenvalue −2) and for the vector form."""
    scalars = minimize("x^2 + y^2", (1, 2), lr=0.1, max_steps=3, maximize=True)
    assert scalars.status is Status.UNBOUNDED
    assert "Hessian has the eigenvalue 2, so it has no maximum (f → +∞ along (0.45, 0.89))" in scalars.message
    assert "smaller learning rate" not in scalars.message
    vector = minimize("x @ x", {"x": np.array([1.0, 2.0])}, lr=0.1, max_steps=3, maximize=True)
    assert vector.status is Status.UNBOUNDED and "eigenvalue 2, so it has no maximum" in vector.message
    saddle = cli("run", "x^2 - y^2", "--start", "1,2", "--steps", "3", "-q")
    assert saddle.exit_code == 3 and "eigenvalue −2, so it has no minimum" in saddle.stderr
    # A convex quadratic with too large a step is still told about the stability limit, not "unbounded".
    overshoot = minimize("x^2 + y^2", (1, 2), lr=1.5, max_steps=3)
    assert overshoot.status is Status.MAX_STEPS and "2/λmax = 1: try a smaller learning rate" in overshoot.message
    # Walking towards the saddle point (y stays 0) is not stuck: the step limit keeps its advice.
    towards = minimize("x^2 - y^2", (1, 0), lr=0.1, max_steps=3)
    assert towards.status is Status.MAX_STEPS


def test_cg_at_the_precision_limit_stops_at_once_as_stalled() -> None:
    """cg on an ill-conditioned least squares (κ ≈ 10⁶) cannot get ‖∇f‖ below 1e-12: its line search leaves
    x and f as they are; it ran every step and advised more, now it stops within 5 steps of that."""
    out = cli(
        "run", "(1000*x+y-3001)^2 + (x-1)^2", "--start", "0,0", "--method", "cg", "--tol", "1e-12",
        "--steps", "2000", "--format", "json",
    )  # fmt: skip
    assert out.exit_code == 4
    assert '"status": "stalled"' in out.stdout
    assert "the precision limit is reached" in out.stderr and "more steps cannot help" in out.stderr
    result = minimize("(1000*x+y-3001)^2 + (x-1)^2", (0, 0), method="cg", tol=1e-12, max_steps=2000)
    assert result.status is Status.STALLED and result.steps < 40


def test_cg_on_an_ill_conditioned_data_fit_stalls_at_once() -> None:
    """A straight line through 50 points with t up to 300 (κ ≈ 1.2·10⁵): the array back-end's cg stops when x and
    f stop changing, like scipy's "precision loss", instead of running all 20,000 steps."""
    t = np.linspace(0, 300, 50)
    data = {"t": t, "T": t / 10 + 1 + 0.1 * np.sin(0.7 * t)}
    result = minimize("mean((a*t + b - T)^2)", {"a": 0.0, "b": 0.0}, data=data, method="cg", tol=1e-13, max_steps=20000)
    assert result.status is Status.STALLED and result.steps < 100
    assert "the precision limit is reached" in result.message
    fit = np.polyfit(t, data["T"], 1)
    assert [result.x["a"], result.x["b"]] == pytest.approx(fit, rel=1e-6)


def test_divergence_names_the_stability_limit() -> None:
    """On x² + y² the Hessian is 2I: gd is stable for α < 2/λmax = 1."""
    result = minimize("x^2 + y^2", (1, 1), lr=1.5)
    assert result.status is Status.DIVERGED
    assert "α = 1.5 exceeds the stability limit 2/λmax = 1: try a smaller learning rate" in result.message
    slow = minimize("x^2 + y^2", (1, 1), lr=1.2)  # ‖∇f‖ grows 1.4× a step: still finite after 1000
    assert "α = 1.2 exceeds the stability limit 2/λmax = 1" in slow.message
    heavy = minimize("x^2 + 3*y^2", (1, 1), method="momentum", lr=0.7)  # λmax = 6: 2(1 + 0.9)/6
    assert "stability limit 2(1 + μ)/λmax = 0.633333" in heavy.message
    ahead = minimize("x^2 + 3*y^2", (1, 1), method="nesterov", lr=0.3)  # 2(1 + 0.9)/((1 + 1.8)·6)
    assert "stability limit 2(1 + μ)/((1 + 2μ)λmax) = 0.22619" in ahead.message
    fit = minimize("mean((a*t + b - y)^2)", {"a": 0.0, "b": 0.0}, data={"t": [0, 1, 2, 3], "y": [1, 3, 5, 7]}, lr=0.5)
    # H = [[7, 3], [3, 2]]: λmax = (9 + √61)/2
    limit = 2 / ((9 + 61**0.5) / 2)
    assert result.status is Status.DIVERGED
    assert f"2/λmax = {limit:.6g}" in fit.message


# -- the table's note ----------------------------------------------------------------------


def test_the_note_for_hidden_entries_points_at_what_holds_them() -> None:
    """Past 6 entries CSV has only step, f and grad_norm: a hidden entry column is in the final point (--save)."""
    from symdescent.render.table import TableRenderer
    from symdescent.vectors.problem import make_vector_problem

    start = {"x": np.arange(1.0, 8.0), "y": 1.0}
    result = minimize("x@x + y^2", start, max_steps=3, lr=0.1)
    out = io.StringIO()
    table = TableRenderer(Console(width=50, file=out), make_vector_problem("x@x + y^2", start))
    for step in result.history:
        table.step(step)
    table.finish(result)
    text = " ".join(out.getvalue().split())
    assert "y hidden" in text and "--format csv has" not in text
    assert "--save FILE writes all 8 entries of the result" in text
    csv = cli("run", "x@x + y^2", "--start", "x=[1,2,3,4,5,6,7],y=1", "--steps", "3", "--format", "csv").stdout
    assert csv.splitlines()[0] == "step,f,grad_norm"


def test_methods_of_compare_ignore_case_and_get_did_you_mean() -> None:
    out = cli("compare", "x^2", "--start", "1", "--methods", "GD,Adam", "--format", "csv")
    assert out.exit_code == 0 and [line.split(",")[0] for line in out.stdout.splitlines()[1:]] == ["gd", "adam"]
    out = cli("compare", "x^2", "--start", "1", "--methods", "gd,adma")
    assert out.exit_code == 2 and "unknown method 'adma' in --methods: did you mean adam?" in out.stderr


# -- how values and formulas are written ---------------------------------------------------------


def test_a_start_point_in_brackets_is_explained() -> None:
    out = cli("run", "x^2+y^2", "--start", "(1,2)")
    assert out.exit_code == 2
    assert out.stderr.splitlines() == [
        "Error: the start point is written 1,2, without brackets, not (1,2)",
        "Hint: one value per variable, separated by commas: 1,2, or by name: x=1,y=2",
    ]
    assert "1 value(s)" in cli("run", "x^2+y^2+z^2", "--start", "(1,2)").stderr  # a count that does not match


def test_grad_at_an_exact_point_shows_it_exactly_with_its_float() -> None:
    out = cli("grad", "x*sin(x)+y^2", "--at", "pi/4,-1", "--format", "text").stdout
    assert "at (π/4 ≈ 0.7853981633974483, −1):" in out
    assert "f    = √2·π/8 + 1 ≈ 1.5553603672697958" in out  # sin(π/4)·π/4 + 1
    assert "∇f   = (√2·π/8 + √2/2 ≈ 1.2624671484563432, −2)" in out
    rich = cli("grad", "sin(x)+y^2", "--at", "pi/2,0").stdout
    assert "at (π/2 ≈ 1.5707963267948966, 0)" in rich
    machine = cli("grad", "sin(x)+y^2", "--at", "pi/2,0", "--format", "json").stdout
    assert '"x": 1.5707963267948966' in machine and "π" not in machine  # machines get the float


def test_explain_writes_the_function_as_typed() -> None:
    """With α = 0.1 the iterates are decimals (0.9ᵗ), but x**2/2 stays x²/2 (it was 0.5·x²)."""
    out = cli("explain", "x**2/2", "--start", "1", "--lr", "0.1", "--format", "text").stdout
    assert "f(x) = x²/2" in out and "0.5·x²" not in out
    assert "xₜ₊₁ = xₜ − 0.1·xₜ = 0.9·xₜ" in out


def test_roots_without_needless_brackets() -> None:
    import sympy as sp

    from symdescent.render.mathtext import inline
    from symdescent.render.numbers import ExactNotation

    x = sp.Symbol("x")
    assert [inline(e) for e in (2 * sp.sqrt(5), 8 * sp.sqrt(5) / 5, sp.sqrt(x + 1), sp.sqrt(x) * x)] == [
        "2√5",
        "8√5/5",
        "√(x + 1)",
        "x^(3/2)",
    ]
    assert ExactNotation().human(2 * sp.sqrt(5), 6) == "2√5"


def test_one_minus_sign_per_output_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table (for people) writes −2.6 like its formulas and exact values; CSV and JSON write -2.6."""
    import click.testing

    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True, raising=False)
    args = ["run", "(x+1)^2+y^2", "--start", "-3,-2", "--steps", "3"]
    screen = cli(*args).stdout
    assert "−2.6" in screen and "x = −2.024, y = −1.024" in screen
    ascii_numbers = [w for w in screen.split() if w[:1] == "-" and w[1:2].isdigit()]
    assert not ascii_numbers, ascii_numbers
    monkeypatch.undo()
    assert "1,-2.6,-1.6," in cli(*args, "--format", "csv").stdout
    assert '"x": -2.6' in cli(*args, "--format", "json").stdout


def test_grad_latex_writes_an_exact_point_exactly() -> None:
    out = cli("grad", "sin(x)*y", "--at", "pi/2,1", "--format", "latex")
    assert r"\nabla f\left(\frac{\pi}{2}, 1\right) = \left(0, 1\right)" in out.stdout
    assert "1.5707963267948966" not in out.stdout


def test_a_start_point_in_square_brackets_for_scalars_is_explained() -> None:
    out = cli("run", "x**2+y**2", "--start", "[1,2]")
    assert out.exit_code == 2
    assert out.stderr.splitlines() == [
        "Error: the start point [1,2] in brackets names no variable",
        "Hint: scalar variables are written without brackets, 1,2 (or x=1,y=2); a vector by name, x=[1,2]",
    ]
