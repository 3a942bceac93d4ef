"""``explain``: the derivation of a run, exact — the blog example, Booth, a non-quadratic f — and every format."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp
from conftest import BOOTH, SEED, cli, run_installed

from symdescent.explain import explain
from symdescent.problem import make_problem
from symdescent.render.explain import text_lines

R = sp.Rational
t = sp.Symbol("t")


@pytest.fixture(scope="module")
def blog():
    return explain(make_problem(SEED), "1,2", "0.1")


@pytest.fixture(scope="module")
def booth():
    return explain(make_problem(BOOTH), "0,0", "1/10")


# -- the blog example: f = x² + y², α = 0.1, start (1, 2) --------------------------------


def test_blog_rule_steps(blog) -> None:
    x, y = blog.variables
    dx, dy = blog.partials
    assert (dx.result, dy.result) == (2 * x, 2 * y)
    assert [(s.rule, s.expr, s.result) for _, s in dx.derivation.walk()] == [
        ("sum", x**2 + y**2, 2 * x),
        ("power", x**2, 2 * x),
        ("constant", y**2, 0),
    ]


def test_blog_update_rule_and_exact_inputs(blog) -> None:
    assert blog.lr == R(1, 10)  # 0.1 is the decimal 1/10 exactly
    assert blog.exact and blog.decimal
    assert blog.start == (1, 2)
    for update in blog.updates:
        assert update.simplified == R(4, 5) * update.before


def test_blog_closed_form_bound_and_best_step(blog) -> None:
    assert blog.quadratic is True
    closed = blog.closed_form
    assert closed.minimizer == (0, 0)
    assert closed.terms == ((R(4, 5), 1, (1, 2)),)  # xₜ = (4/5)ᵗ·(1, 2)
    assert closed.converges
    (curvature,) = blog.curvature
    assert curvature.eigenvalues == (2, 2)
    assert curvature.factors == (R(4, 5), R(4, 5))
    assert curvature.rate == R(4, 5)
    assert curvature.max_stable_lr == 1  # 0 < α < 1
    assert curvature.best_lr == R(1, 2)
    assert curvature.best_rate == 0  # one step lands on the minimum


def test_blog_exact_iterates(blog) -> None:
    assert blog.iterates_exact_until == len(blog.iterates) == 6
    for it in blog.iterates:
        assert it.exact == (R(4, 5) ** it.t, 2 * R(4, 5) ** it.t)
        assert it.f_exact == 5 * R(16, 25) ** it.t
    assert blog.iterates[2].exact == (R(16, 25), R(32, 25))


def test_blog_text_reads_like_the_blackboard(blog) -> None:
    text = "\n".join(text_lines(blog))
    for line in [
        "∂f/∂x = 2x",
        "∂/∂x (x² + y²) = ∂/∂x x² + ∂/∂x y² = 2x   sum rule",
        "power rule",
        "∇f = (2x, 2y)",
        "xₜ₊₁ = xₜ − 0.1·2xₜ = 0.8·xₜ",
        "(xₜ, yₜ) = 0.8ᵗ·(1, 2) → (0, 0)",
        "It converges when max |1 − αλᵢ| < 1, that is 0 < α < 2/λₘₐₓ = 1.",
        "The fastest step size is α = 2/(λₘᵢₙ + λₘₐₓ) = 1/2; there every factor is 0 and one step lands",
        "    2      0.64      1.28         2.048",
    ]:
        assert line in text, line


def test_fraction_input_gives_fractions() -> None:
    text = "\n".join(text_lines(explain(make_problem(SEED), "1,2", "1/10")))
    assert "xₜ₊₁ = xₜ − (1/10)·2xₜ = 4xₜ/5" in text
    assert "(xₜ, yₜ) = (4/5)ᵗ·(1, 2) → (0, 0)" in text
    assert "    2       16/25       32/25           256/125" in text


# -- Booth: (x + 2y − 7)² + (2x + y − 5)² -----------------------------------------------------


def test_booth_hessian_and_step_sizes(booth) -> None:
    (curvature,) = booth.curvature
    assert curvature.hessian == sp.Matrix([[10, 8], [8, 10]])
    assert curvature.eigenvalues == (2, 18)
    assert curvature.max_stable_lr == R(1, 9)  # 2/λ_max
    assert curvature.best_lr == R(1, 10)  # 2/(2 + 18)
    assert curvature.best_rate == R(4, 5)  # (18 − 2)/(18 + 2)
    assert curvature.factors == (R(4, 5), R(-4, 5))


def test_booth_closed_form_is_exact(booth) -> None:
    closed = booth.closed_form
    assert closed.minimizer == (1, 3)
    assert closed.terms == ((R(4, 5), 1, (1, -1)), (R(-4, 5), -2, (1, 1)))
    # xₜ = (1, 3) + (4/5)ᵗ(1, −1) − 2(−4/5)ᵗ(1, 1) reproduces every exact iterate
    for it in booth.iterates:
        expected = [
            star + sum(f**it.t * scale * d[i] for f, scale, d in closed.terms)
            for i, star in enumerate(closed.minimizer)
        ]
        assert list(it.exact) == expected
    text = "\n".join(text_lines(booth))
    assert "(xₜ, yₜ) = (1, 3) + (4/5)ᵗ·(1, −1) − 2·(−4/5)ᵗ·(1, 1) → (1, 3)" in text
    assert "with eigenvalues λ = 2, 18." in text
    assert "0 < α < 2/λₘₐₓ = 1/9" in text
    assert "α = 2/(λₘᵢₙ + λₘₐₓ) = 1/10" in text


def test_booth_diverges_beyond_the_bound() -> None:
    ex = explain(make_problem(BOOTH), "0,0", "0.12")
    assert not ex.closed_form.converges
    assert not ex.curvature[0].converges
    assert "it does not converge" in "\n".join(text_lines(ex))


# -- not quadratic ----------------------------------------------------------------------------


def test_non_quadratic_uses_the_hessian_at_the_start_and_at_the_minimum() -> None:
    ex = explain(make_problem("x**4 - 3*x"), "1", "1/20")
    assert ex.quadratic is False and ex.closed_form is None
    start, minimum = ex.curvature
    assert (start.where, start.eigenvalues, start.max_stable_lr) == ("start", (12,), R(1, 6))
    assert minimum.where == "minimum"
    x_star = (3 / 4) ** (1 / 3)  # f'(x) = 4x³ − 3 = 0
    assert minimum.point[0] == pytest.approx(x_star, rel=1e-5)
    assert float(minimum.eigenvalues[0]) == pytest.approx(12 * x_star**2, rel=1e-4)
    text = "\n".join(text_lines(ex))
    assert "f is not quadratic" in text
    assert "At the start point, 1:" in text
    assert "df/dx = 4x³ − 3" in text  # one variable: d, not ∂


def test_saddle_has_no_stable_step() -> None:
    ex = explain(make_problem("x**2 - y**2"), "1,1", "0.1")
    assert ex.curvature[0].eigenvalues == (-2, 2)
    assert not ex.curvature[0].converges
    assert "No step size makes max |1 − αλᵢ| < 1" in "\n".join(text_lines(ex))


def test_singular_quadratic_goes_to_the_nearest_minimum() -> None:
    ex = explain(make_problem("(x+y)**2"), "1,0", "1/10")
    assert ex.closed_form.minimizer == (R(1, 2), R(-1, 2))
    assert ex.closed_form.terms == ((R(3, 5), R(1, 2), (1, 1)),)


def test_many_variables_do_not_explode() -> None:
    text = "+".join(f"(x{i}-{i % 5})**2" for i in range(1, 41))
    ex = explain(make_problem(text), ",".join(["1"] * 40), "0.1")
    lines = text_lines(ex)
    assert len(lines) < 120
    assert "Shown for the first 6 of 40 variables; the others go the same way." in "\n".join(lines)


# -- the CLI -----------------------------------------------------------------------------------

BLOG_ARGS = ("explain", SEED, "--start", "1,2", "--lr", "0.1")


def test_cli_text_is_the_default_when_piped() -> None:
    out = cli(*BLOG_ARGS)
    assert out.exit_code == 0, out.stderr
    assert out.stdout == cli(*BLOG_ARGS, "--format", "text").stdout
    assert out.stdout.startswith("1. The function\n")
    assert "\x1b[" not in out.stdout
    assert "(xₜ, yₜ) = 0.8ᵗ·(1, 2) → (0, 0)" in out.stdout


def test_cli_rich() -> None:
    out = cli(*BLOG_ARGS, "--format", "rich")
    assert out.exit_code == 0
    assert "(xₜ, yₜ) = 0.8ᵗ·(1, 2) → (0, 0)" in out.stdout


def test_cli_markdown() -> None:
    out = cli(*BLOG_ARGS, "--format", "markdown")
    assert out.exit_code == 0
    assert out.stdout.startswith("# Gradient descent on `f(x, y) = x² + y²`")
    assert "## Closed form" in out.stdout
    assert "| t | xₜ | yₜ | f |" in out.stdout
    assert "| 2 | 0.64 | 1.28 | 2.048 |" in out.stdout


def test_cli_latex() -> None:
    out = cli(*BLOG_ARGS, "--format", "latex")
    assert out.exit_code == 0
    tex = out.stdout
    assert r"\left(x_{t}, y_{t}\right) = 0.8^{t}\cdot \left(1, 2\right) \to \left(0, 0\right)" in tex
    assert r"2/\lambda_{\mathrm{max}} = 1" in tex
    assert tex.count("{") == tex.count("}")
    lines = tex.splitlines()
    assert lines.count(r"\[") == lines.count(r"\]") > 5


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no LaTeX engine installed")
@pytest.mark.parametrize(
    "args",
    [
        BLOG_ARGS,
        ("explain", BOOTH, "--start", "0,0", "--lr", "1/10"),
        ("explain", "(1-x)**2+100*(y-x**2)**2", "--start", "-1.2,1", "--lr", "0.001"),
        ("explain", "sin(x)*exp(y)/(1+x**2) + abs(y)", "--start", "1/2,pi/4", "--lr", "1/10"),
        ("grad", "x**x + atan2(y, x) + sqrt(x*y)", "--at", "1,2"),
    ],
)
def test_latex_compiles(tmp_path: Path, args: tuple[str, ...]) -> None:
    out = cli(*args, "--format", "latex")
    assert out.exit_code == 0, out.stderr
    (tmp_path / "fragment.tex").write_text(out.stdout, encoding="utf-8")
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n\\input{fragment.tex}\n\\end{document}\n"
    )
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "doc.pdf").exists()


def test_cli_exact_start_and_lr() -> None:
    out = cli("explain", "x**2", "--start", "1/3", "--lr", "1/4", "--format", "text")
    assert "xₜ₊₁ = xₜ − (1/4)·2xₜ = xₜ/2" in out.stdout
    assert "xₜ = (1/3)·(1/2)ᵗ → 0" in out.stdout
    assert "    1    1/6     1/36" in out.stdout


def test_cli_errors() -> None:
    out = cli("explain", SEED, "--start", "1", "--lr", "0.1")
    assert out.exit_code == 2
    assert "Error: the start point has 1 value(s)" in out.stderr
    out = cli("explain", SEED, "--start", "1,2", "--lr", "-1")
    assert out.exit_code == 2
    assert "Error: --lr must be a positive finite number" in out.stderr
    assert cli("explain", SEED, "--start", "1,2", "--format", "html").exit_code == 2


def test_installed_executable_piped(executable) -> None:
    done = run_installed(executable, *BLOG_ARGS)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "(xₜ, yₜ) = 0.8ᵗ·(1, 2) → (0, 0)" in done.stdout
    assert "0 < α < 2/λₘₐₓ = 1." in done.stdout


# -- grad and run --explain ------------------------------------------------------------------


def test_grad_text_has_rule_steps() -> None:
    out = cli("grad", SEED, "--format", "text")
    assert out.exit_code == 0
    assert out.stdout.splitlines()[:6] == [
        "f(x, y) = x² + y²",
        "",
        "∂f/∂x = 2x",
        "  ∂/∂x (x² + y²) = ∂/∂x x² + ∂/∂x y² = 2x   sum rule",
        "    ∂/∂x x² = 2x                            power rule",
        "    ∂/∂x y² = 0                             constant: no x in it",
    ]
    assert "∇f = (2x, 2y)" in out.stdout


def test_grad_latex() -> None:
    out = cli("grad", SEED, "--at", "1,2", "--format", "latex")
    assert out.exit_code == 0
    assert r"\frac{\partial f}{\partial x} = 2 x" in out.stdout
    assert r"\nabla f\left(1, 2\right) = \left(2, 4\right)" in out.stdout


def test_run_explain_table_prints_the_derivation_first() -> None:
    out = cli("run", SEED, "--start", "1,2", "--lr", "0.1", "--format", "table", "--explain")
    assert out.exit_code == 0
    assert out.stdout.startswith("1. The function\n")
    assert out.stdout.index("(xₜ, yₜ) = 0.8ᵗ·(1, 2)") < out.stdout.index("Gradient descent on f(x, y)")
    assert out.stderr == ""


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "tsv"])
def test_run_explain_machine_formats_send_it_to_stderr(fmt: str) -> None:
    plain = cli("run", SEED, "--start", "1,2", "--lr", "0.1", "--format", fmt)
    out = cli("run", SEED, "--start", "1,2", "--lr", "0.1", "--format", fmt, "--explain")
    assert out.exit_code == 0
    assert out.stdout == plain.stdout  # stdout stays machine-readable
    assert out.stderr.startswith("1. The function\n")
    assert "(xₜ, yₜ) = 0.8ᵗ·(1, 2) → (0, 0)" in out.stderr


def test_run_explain_refuses_ascent() -> None:
    out = cli("run", SEED, "--start", "1,2", "--explain", "--maximize")
    assert out.exit_code == 2
    assert "--explain derives plain gradient descent" in out.stderr


TANH_POWER = "(tanh(10))^(-((1e-3)+(x)))"  # f'' = log(tanh(10))²·… with log(tanh(10)) ≈ −4.1e−9


def test_an_exact_zero_eigenvalue_from_floats_is_flat_not_a_saddle() -> None:
    """λ = 0.0 (a SymPy Float, not == 0 since SymPy 1.13) is a flat direction, as for an exact 0."""
    ex = explain(make_problem(TANH_POWER, ("x", "y")), "6.1e-05,0.252", "0.1")
    start = ex.curvature[0]
    assert start.eigenvalues[0].is_zero and start.flat
    lam = math.log(math.tanh(10)) ** 2 * math.tanh(10) ** -(1e-3 + 6.1e-05)  # ∂²f/∂x², by hand
    assert float(start.eigenvalues[1]) == pytest.approx(lam, rel=1e-6)
    text = " ".join(" ".join(text_lines(ex)).split())  # the paragraphs unwrapped
    assert "No step size makes" not in text
    assert "along the flat direction (λ = 0) the error is not reduced" in text


def test_rounding_level_eigenvalue_of_a_singular_float_hessian_is_zero() -> None:
    """H = 1.5·[[2, 2], [2, 2]]·e^(0.1x) at 0 is singular; the solver's 4e−31 is rounding, reported as 0."""
    ex = explain(make_problem("1.5*(x+y)^2*exp(0.1*x)"), "0,0", "0.1")
    start = ex.curvature[0]
    assert start.eigenvalues[0] == 0 and float(start.eigenvalues[1]) == pytest.approx(6.0)
    assert start.max_stable_lr == pytest.approx(2 / 6) and start.converges
    assert start.best_lr == pytest.approx(2 / (6 + 6))  # λ_min: the smallest eigenvalue that curves
    text = " ".join(" ".join(text_lines(ex)).split())  # the paragraphs unwrapped
    assert "eigenvalues λ = 0, 6." in text
    assert "there the factor of every direction that curves is 0" in text


def test_sympys_non_real_comparison_in_the_hessian_leaves_curvature_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """SymPy can cache log(tanh(10)) as non-real (its sign from 2 digits is 0) and then fail in its own diff.

    Whether it does depends on the order of its assumption queries (hash seed, earlier commands in the
    process), so the failure is simulated: explain must leave the curvature out, not exit 1.
    """
    from symdescent import problem as problem_module

    def non_real(self: object) -> None:
        raise TypeError("Invalid comparison of non-real log(tanh(10))")

    monkeypatch.setattr(problem_module.Problem, "hessian", property(non_real))
    out = cli("explain", TANH_POWER, "--vars", "x,y", "--start", "6.1e-05,0.252", "--format", "text", "--iterates", "3")
    assert out.exit_code == 0, out.stderr
    assert "the Hessian is not analysed" in out.stdout
    assert "The first iterates" in out.stdout


def test_a_rate_sympy_cannot_compare_with_1_is_no_internal_error() -> None:
    """Found by the fuzz tests: at x = 2.35e−235, f'' of −atan(π^x) is ~1e−235 and its exact rate 1 − αλ
    cannot be told from 1 by SymPy (TypeError). Nor can λ be evaluated: no ≈ rather than a wrong one."""
    out = cli("explain", "-(atan((pi)**(x)))", "--vars", "x,y", "--start", "2.35e-235,-1.6", "--format", "text")
    assert out.exit_code == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "it does not converge" in text  # the rate is 1 to every digit: not < 1
    assert "≈ −" not in text  # 2/λ_max of a λ > 0 was shown as ≈ −3.46667e+133
