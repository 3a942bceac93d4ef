"""Pictures: each format written whole, the path really drawn, every kind of run survives ``--plot``."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROSENBROCK, SEED, cli, run_installed

from symdescent import minimize
from symdescent.problem import make_problem
from symdescent.render.plot import (
    RECORD_BITS,
    PlotRenderer,
    compare_figure,
    keep_for_picture,
    plot_compare,
    plot_run,
    run_figure,
)
from symdescent.result import Status, Step

SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "svg": b"<svg", "pdf": b"%PDF-"}
MANY = "+".join(f"{i}*x{i}**2" for i in range(1, 6))


def lines(figure, gid: str = "path"):
    return [line for ax in figure.axes for line in ax.get_lines() if line.get_gid() == gid]


def assert_valid_picture(path: Path, fmt: str) -> None:
    data = path.read_bytes()
    assert len(data) > 10_000, f"{path} is suspiciously small ({len(data)} bytes)"
    if fmt == "svg":
        assert SIGNATURES["svg"] in data[:1000] and data.rstrip().endswith(b"</svg>")
    else:
        assert data.startswith(SIGNATURES[fmt])
    if fmt == "pdf":
        assert data.rstrip().endswith(b"%%EOF")


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


# -- through the command line ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_each_format_is_written_and_valid(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"seed.{fmt}"
    out = cli("run", SEED, "--start", "1,2", "--lr", "0.1", "--plot", str(target))
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("step,x,y,f,")  # the steps are printed as usual
    assert f"Picture written to {target}" in out.stderr
    assert_valid_picture(target, fmt)
    assert leftovers(tmp_path) == []


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    target = tmp_path / "seed.PNG"
    assert cli("run", SEED, "--start", "1,2", "--plot", str(target)).exit_code == 0
    assert_valid_picture(target, "png")


@pytest.mark.parametrize(
    ("expr", "start"),
    [("x**4 - 3*x**2 + x", "2"), (ROSENBROCK, "-1.2,1"), (MANY, "1,1,1,1,1")],
    ids=["one variable", "two variables", "five variables"],
)
def test_one_two_and_many_variables(tmp_path: Path, expr: str, start: str) -> None:
    target = tmp_path / "run.png"
    out = cli("run", expr, "--start", start, "--lr", "0.001" if expr == ROSENBROCK else "0.05", "--plot", str(target))
    assert out.exit_code in (0, 4), out.stderr
    assert_valid_picture(target, "png")


@pytest.mark.parametrize(("lr", "code"), [("1.5", 3), ("1.05", 4)], ids=["diverged", "max_steps while blowing up"])
def test_a_run_that_blows_up_still_gets_its_picture(tmp_path: Path, lr: str, code: int) -> None:
    target = tmp_path / "blowup.svg"
    out = cli("run", SEED, "--start", "1,2", "--lr", lr, "--plot", str(target))
    assert out.exit_code == code  # the run's exit code, not the plot's
    assert_valid_picture(target, "svg")


def test_the_step_limit_keeps_its_exit_code(tmp_path: Path) -> None:
    target = tmp_path / "limit.png"
    out = cli("run", ROSENBROCK, "--start", "-1.2,1", "--lr", "0.001", "--steps", "50", "--plot", str(target))
    assert out.exit_code == 4
    assert_valid_picture(target, "png")


def test_an_interrupted_run_gets_its_picture_and_exit_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import symdescent.cli.run

    original = symdescent.cli.run.thinned

    def interrupted_at_step_5(steps, every):
        for step in original(steps, every):
            if step.step == 5:
                raise KeyboardInterrupt
            yield step

    monkeypatch.setattr(symdescent.cli.run, "thinned", interrupted_at_step_5)
    target = tmp_path / "interrupted.png"
    out = cli("run", SEED, "--start", "1,2", "--tol", "0", "--steps", "100", "--plot", str(target))
    assert out.exit_code == 130
    assert "interrupted" in out.stderr
    assert_valid_picture(target, "png")


def test_every_thins_the_table_not_the_picture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[tuple[Step, ...]] = []
    monkeypatch.setattr("symdescent.render.plot.plot_run", lambda problem, result, path: drawn.append(result.history))
    out = cli("run", SEED, "--start", "1,2", "--every", "10", "--plot", str(tmp_path / "p.png"), "--format", "json")
    assert out.exit_code == 0
    assert [s.step for s in drawn[0]] == list(range(70))
    assert drawn[0] == minimize(SEED, (1, 2), lr=0.1).history


@pytest.mark.parametrize("name", ["seed.jpg", "seed", "seed.png.txt"])
def test_an_unknown_extension_is_refused_before_the_run(tmp_path: Path, name: str) -> None:
    out = cli("run", SEED, "--start", "1,2", "--plot", str(tmp_path / name))
    assert out.exit_code == 2
    assert out.stdout == ""
    assert "Error: cannot tell the picture format" in out.stderr
    assert ".png, .svg, .pdf or .gif" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_refused_before_the_run(tmp_path: Path) -> None:
    out = cli("run", SEED, "--start", "1,2", "--plot", str(tmp_path / "no" / "such.png"))
    assert out.exit_code == 2
    assert out.stdout == ""
    assert "does not exist" in out.stderr


def test_without_matplotlib_plot_exits_2_naming_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    target = tmp_path / "seed.png"
    out = cli("run", SEED, "--start", "1,2", "--plot", str(target))
    assert out.exit_code == 2
    assert out.stdout == ""
    assert out.stderr.splitlines() == [
        "Error: drawing a plot needs matplotlib, which is not installed",
        'Hint: install it with: pip install "symdescent[plot]" (in a checkout: pip install ".[plot]")',
    ]
    assert list(tmp_path.iterdir()) == []


def test_without_matplotlib_runs_without_plot_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = cli("run", SEED, "--start", "1,2", "--format", "table")
    assert out.exit_code == 0
    assert "f − min f" in out.stdout


def test_matplotlib_is_imported_only_for_a_picture() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from symdescent.cli import main\n"
        "CliRunner().invoke(main, ['run', 'x**2+y**2', '--start', '1,2', '--format', 'table'])\n"
        "print('matplotlib' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "False", proc.stderr


def test_installed_program_writes_the_picture(executable: Path, tmp_path: Path) -> None:
    target = tmp_path / "rosenbrock.pdf"
    args = ["run", ROSENBROCK, "--start", "-1.2,1", "--lr", "0.001", "--steps", "300", "-q", "--plot", str(target)]
    proc = run_installed(executable, *args)
    assert proc.returncode == 4
    assert len(proc.stdout.split()) == 2
    assert_valid_picture(target, "pdf")


def test_help_documents_plot() -> None:
    assert "--plot FILE" in cli("run", "--help").stdout


# -- the picture's content ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed():
    problem = make_problem(SEED)
    return problem, minimize(problem, (1, 2), lr=0.1)


def test_two_variables_the_path_is_the_history(seed) -> None:
    problem, result = seed
    figure = run_figure(problem, result)
    (path,) = lines(figure)
    assert list(path.get_xdata()) == [s.x[0] for s in result.history]
    assert list(path.get_ydata()) == [s.x[1] for s in result.history]
    ax = path.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x$", "$y$")
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert x0 < min(path.get_xdata()) and max(path.get_xdata()) < x1
    assert y0 < min(path.get_ydata()) and max(path.get_ydata()) < y1
    title = figure.get_suptitle()
    assert "$f(x, y) = x^{2} + y^{2}$" in title and "α = 0.1" in title and "converged after 69 steps" in title
    labels = [line.get_label() for line in ax.get_lines()]
    assert "start: (1, 2)" in labels
    assert any(label.startswith("end, step 69: (2.057e−07, 4.114e−07)") for label in labels)
    assert ax.collections, "the contours are drawn"
    colour_bar = figure.axes[1]
    assert colour_bar.get_ylabel() == "f"  # a round bowl: evenly spaced levels


def test_rosenbrock_gets_log_spaced_levels() -> None:
    problem = make_problem(ROSENBROCK)
    figure = run_figure(problem, minimize(problem, (-1.2, 1), lr=0.001, max_steps=500))
    assert "log-spaced" in figure.axes[1].get_ylabel()
    assert "step limit reached after 500 steps" in figure.get_suptitle()


def test_one_variable_the_iterates_lie_on_the_curve() -> None:
    problem = make_problem("x**4 - 3*x**2 + x")
    result = minimize(problem, (2,), lr=0.05)
    figure = run_figure(problem, result)
    (path,) = lines(figure)
    assert list(path.get_xdata()) == [s.x[0] for s in result.history]
    assert list(path.get_ydata()) == [s.f for s in result.history]
    assert path.axes.get_xlabel() == "$x$"
    curve = next(line for line in path.axes.get_lines() if line.get_label() == "$f(x)$")
    xs, fs = curve.get_xdata(), curve.get_ydata()
    assert min(xs) < 0.9 and max(xs) > 2  # the curve spans the iterates
    assert all(math.isclose(f, x**4 - 3 * x**2 + x, abs_tol=1e-9) for x, f in zip(xs[::50], fs[::50], strict=True))


def test_many_variables_gap_to_the_best_and_gradient_norm_on_log_scales() -> None:
    problem = make_problem(MANY)
    result = minimize(problem, (1, 1, 1, 1, 1), lr=0.05)
    figure = run_figure(problem, result)
    (gap,) = lines(figure, "path")
    (norm,) = lines(figure, "grad_norm")
    best = min(s.f for s in result.history)
    expected = [(s.step, s.f - best) for s in result.history if s.f - best > 0]  # zeros have no logarithm
    assert list(zip(gap.get_xdata(), gap.get_ydata(), strict=True)) == expected
    assert list(norm.get_ydata()) == [s.grad_norm for s in result.history]
    assert gap.axes.get_yscale() == norm.axes.get_yscale() == "log"


def test_a_diverged_path_has_no_non_finite_points() -> None:
    problem = make_problem(SEED)
    result = minimize(problem, (1, 2), lr=1.5)
    assert result.status is Status.DIVERGED
    assert not math.isfinite(result.history[-1].f)
    figure = run_figure(problem, result)
    (path,) = lines(figure)
    xs, ys = list(path.get_xdata()), list(path.get_ydata())
    assert 2 < len(xs) < len(result.history)
    assert all(math.isfinite(v) for v in xs + ys)
    assert (xs, ys) == ([s.x[0] for s in result.history[: len(xs)]], [s.x[1] for s in result.history[: len(xs)]])
    assert all(math.isfinite(v) for ax in figure.axes for v in (*ax.get_xlim(), *ax.get_ylim()))
    assert any("leaves the picture" in line.get_label() for line in path.axes.get_lines())


def test_a_diverged_run_with_many_variables() -> None:
    problem = make_problem(MANY)
    result = minimize(problem, (1, 1, 1, 1, 1), lr=0.5)
    assert result.status is Status.DIVERGED
    figure = run_figure(problem, result)
    for line in lines(figure, "path") + lines(figure, "grad_norm"):
        assert all(math.isfinite(v) for v in line.get_ydata())


def test_plot_run_writes_the_file(seed, tmp_path: Path) -> None:
    problem, result = seed
    plot_run(problem, result, tmp_path / "seed.svg")
    assert_valid_picture(tmp_path / "seed.svg", "svg")


# -- compare --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "start", "rates"),
    [
        (SEED, (1, 2), (0.05, 0.1, 0.4)),
        ("x**4 - 3*x**2 + x", (2,), (0.01, 0.05, 0.1)),
        (MANY, (1,) * 5, (0.01, 0.05, 0.09)),
    ],
    ids=["two variables", "one variable", "five variables"],
)
def test_compare_three_runs_one_colour_and_legend_entry_each(tmp_path: Path, expr, start, rates) -> None:
    problem = make_problem(expr)
    results = [minimize(problem, start, lr=lr) for lr in rates]
    figure = compare_figure(problem, results)
    paths = lines(figure)
    assert [line.get_label() for line in paths] == [f"gd, α = {lr:g}" for lr in rates]
    assert len({line.get_color() for line in paths}) == 3
    for line, result in zip(paths, results, strict=True):
        if problem.dimension <= 2:
            assert list(line.get_xdata()) == [s.x[0] for s in result.history]
    legend_texts = [t.get_text() for legend in figure.legends for t in legend.get_texts()] + [
        t.get_text() for ax in figure.axes if ax.get_legend() for t in ax.get_legend().get_texts()
    ]
    assert all(f"α = {lr:g}" in " ".join(legend_texts) for lr in rates)
    plot_compare(problem, results, tmp_path / "compare.png")
    assert_valid_picture(tmp_path / "compare.png", "png")


def test_compare_frames_the_tame_runs_when_one_runs_away() -> None:
    problem = make_problem("x**2 + 10*y**2")
    results = [minimize(problem, (3, 1), lr=lr, max_steps=200) for lr in (0.05, 0.09, 0.11)]
    figure = compare_figure(problem, results)
    tame, _, wild = lines(figure)
    ax = tame.axes
    assert ax.get_ylim()[1] - ax.get_ylim()[0] < 5  # the window fits the runs that converge
    assert "runs away" in wild.get_label()


# -- recording and writing ------------------------------------------------------------------------


def test_the_recorder_keeps_early_steps_and_thins_late_ones_logarithmically(tmp_path: Path) -> None:
    recorder = PlotRenderer(make_problem(SEED), tmp_path / "never.png")
    total = 200_000
    for k in range(total + 1):
        recorder.step(Step(k, (0.0, 0.0), 0.0, (0.0, 0.0), 0.0))
    kept = [s.step for s in recorder.history]
    dense = 1 << (RECORD_BITS + 1)
    assert kept[:dense] == list(range(dense))
    assert kept[-1] == total
    assert len(kept) < dense + (1 << RECORD_BITS) * (math.log2(total) - RECORD_BITS)
    assert kept == sorted(set(kept))
    assert all(keep_for_picture(k) for k in kept[:-1])


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    seed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    problem, result = seed
    target = tmp_path / "seed.png"
    target.write_bytes(b"the old picture")

    def broken_savefig(self, file, **kwargs):
        file.write(b"\x89PNG half a picture")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk on fire"):
        plot_run(problem, result, target)
    assert target.read_bytes() == b"the old picture"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("expr", "start", "variables"),
    [
        (SEED, (0, 0), None),  # converged at the start: a single point
        ("x**2", (0,), None),
        ("x**2 + y**2 + z**2", (0, 0, 0), None),  # nothing positive for the log scales
        ("x**2", (1, 1), ("x", "y")),  # f does not depend on y
        ("sqrt(x) + abs(y)", (1, 1), None),  # undefined left of x = 0, and the run falls off the edge
    ],
)
def test_edge_cases_still_make_a_picture(expr: str, start, variables, tmp_path: Path) -> None:
    problem = make_problem(expr, variables=variables)
    result = minimize(problem, start, lr=0.1, max_steps=50)
    figure = run_figure(problem, result)
    (path,) = lines(figure)
    assert all(math.isfinite(v) for v in path.get_ydata())
    plot_run(problem, result, tmp_path / "edge.png")
    assert_valid_picture(tmp_path / "edge.png", "png")


def test_functions_numpy_cannot_evaluate_fall_back_to_the_math_module(seed, monkeypatch: pytest.MonkeyPatch) -> None:
    import sympy

    problem, result = seed
    real_lambdify = sympy.lambdify

    def no_numpy(*args, **kwargs):
        if kwargs.get("modules") == "numpy":
            raise NameError("no NumPy counterpart")
        return real_lambdify(*args, **kwargs)

    monkeypatch.setattr(sympy, "lambdify", no_numpy)
    figure = run_figure(problem, result)
    assert figure.axes[0].collections, "the contours are drawn all the same"
    assert figure.axes[1].get_ylabel() == "f"
