"""The terminal side of a run: streamed JSON, live progress, names that look like typos, grad's exact values."""

from __future__ import annotations

import io
import json
import math
import time

import pytest
from conftest import ROSENBROCK, SEED, cli
from rich.console import Console

from symdescent import minimize
from symdescent.cli.typos import lookalikes
from symdescent.problem import make_problem
from symdescent.render.json import JsonRenderer, head_dict, pretty, result_dict
from symdescent.render.plot_paths import STYLES
from symdescent.render.progress import LiveProgress, Tracker
from symdescent.result import Step
from symdescent.run import linear_variables


def test_streamed_json_is_the_same_object_as_the_json_written_at_once() -> None:
    result = minimize(SEED, (1, 2), lr=0.1)
    out = io.StringIO()
    head = head_dict(result.function, result.layout, result.gradient, result.method, result.params, result.start)
    renderer = JsonRenderer(out, result.layout, head=head)
    for step in result.history:
        renderer.step(step)
        assert out.getvalue().endswith(f'"grad_norm": {step.grad_norm!r}}}')  # written as it comes, not kept
    renderer.finish(result)
    assert out.getvalue() == pretty(result_dict(result)) + "\n"


def test_streamed_json_of_a_run_without_steps_is_valid() -> None:
    result = minimize(SEED, (1, 2), lr=0.1)
    out = io.StringIO()
    head = head_dict(result.function, result.layout, result.gradient, result.method, {}, result.start)
    JsonRenderer(out, result.layout, head=head).finish(result)
    assert json.loads(out.getvalue())["history"] == []


def test_cli_json_history_is_every_step_once() -> None:
    out = cli("run", ROSENBROCK, "--start", "-1.2,1", "--lr", "1e-3", "--steps", "300", "--format", "json")
    data = json.loads(out.stdout)
    assert [h["step"] for h in data["history"]] == list(range(301))
    assert data["history"][-1]["x"] == data["x"]


def test_the_progress_line_says_step_values_rate_and_time_left() -> None:
    tracker = Tracker(lambda: Step(0, (1.0,), 5.0, (2.0,), 2.0), total=100)
    tracker.line()  # the clock starts at step 0
    tracker.latest = lambda: Step(50, (0.5,), 0.25, (1.0,), 1.0)
    tracker.started -= 1.0  # as if one second had passed
    words, bar = tracker.line()
    assert words.startswith("step 50/100")
    assert "f = 0.25" in words and "‖∇f‖ = 1" in words
    rate = float(words.split("/s")[0].split()[-1].replace(",", ""))
    assert 0 < rate <= 50  # 50 steps in at least one second
    assert "left" in words
    assert bar == 0.5


def test_the_progress_line_shows_the_fraction_within_a_long_step() -> None:
    tracker = Tracker(lambda: Step(3, (1.0,), 1.0, (1.0,), 1.0), total=10, within=lambda: 0.5)
    words, bar = tracker.line()
    assert "this step 50%" in words
    assert bar == pytest.approx(0.35)


def test_live_progress_appears_after_its_delay_and_is_erased() -> None:
    file = io.StringIO()
    console = Console(file=file, force_terminal=True, width=100)
    with LiveProgress(console, Tracker(lambda: Step(7, (1.0,), 2.0, (1.0,), 1.0), total=10), delay=0.0):
        time.sleep(0.4)
    assert "step 7/10" in file.getvalue()
    quiet = io.StringIO()
    with LiveProgress(Console(file=quiet, force_terminal=True), Tracker(lambda: None), delay=30.0):
        pass
    assert quiet.getvalue() == ""  # a short run never shows it


def test_no_progress_into_a_pipe() -> None:
    out = cli("run", ROSENBROCK, "--start", "-1.2,1", "--lr", "1e-3", "--steps", "2000", "--format", "table")
    assert "/s " not in out.stdout + out.stderr and " left" not in out.stderr


@pytest.mark.parametrize(
    ("name", "other", "expected"),
    [("yy", "y", True), ("sinx", "sin", True), ("cosy", "cos", True), ("x2", "x", False), ("y", "x", False)],
)
def test_one_letter_more_is_a_lookalike(name: str, other: str, expected: bool) -> None:
    assert bool(lookalikes((other, name), [])) is expected


def test_lookalikes_name_the_variable_and_what_it_resembles() -> None:
    assert lookalikes(("x", "x1", "x2", "x10", "y"), ["sin"]) == []
    [warning] = lookalikes(("y", "yy"), [])
    assert "'yy'" in warning and "'y'" in warning
    [warning] = lookalikes(("sinx",), ["sin", "sinh"])
    assert "sin(x)" in warning


def test_a_typo_is_a_warning_and_vars_silences_it() -> None:
    out = cli("run", "x**2+y**2+yy", "--start", "1,1,1", "-q", "--steps", "5")
    assert out.exit_code == 3  # unbounded: f is linear in yy
    assert "Warning: 'yy' and 'y' are two different variables" in out.stderr
    assert "f is linear in yy, so it has no minimum" in out.stderr
    assert "larger learning rate" not in out.stderr
    silent = cli("run", "x**2+y**2+yy", "--start", "1,1,1", "-q", "--steps", "5", "--vars", "x,y,yy")
    assert "Warning" not in silent.stderr
    assert cli("grad", "sinx*cosy").stderr.count("Warning: ") == 2


def test_linear_in_finds_the_constant_partials() -> None:
    problem = make_problem("x**2 + 3*z - y")
    assert linear_variables(problem) == ["y", "z"]


def test_grad_at_an_exact_point_is_exact_and_shows_f() -> None:
    data = json.loads(cli("grad", "sin(x)*exp(y)", "--at", "pi/2,0", "--format", "json").stdout)
    assert data["value"] == {"x": 0.0, "y": 1.0}
    assert (data["f"], data["norm"]) == (1.0, 1.0)
    text = cli("grad", "sin(x)*exp(y)", "--at", "pi/2,0", "--format", "text").stdout
    assert "f    = 1" in text and "(0, 1)" in text
    floats = json.loads(cli("grad", "sin(x)*exp(y)", "--at", "1.5707963267948966,0", "--format", "json").stdout)
    assert floats["value"]["x"] == math.cos(1.5707963267948966)  # a decimal point is a float: evaluated in floats


def test_compare_says_which_learning_rates_it_chose() -> None:
    out = cli("compare", SEED, "--start", "1,2", "--methods", "gd,adam,newton", "--lr", "adam=0.1", "--format", "table")
    assert "Note: learning rates compare chose (run's default is 0.1): gd 0.001;" in out.stderr


def test_every_compared_method_has_its_own_colour_dashes_and_marker() -> None:
    from symdescent.methods import METHODS

    assert len(STYLES) >= len(METHODS)  # compare runs every method at once
    for field in ("colour", "dashes", "marker"):
        values = [getattr(style, field) for style in STYLES]
        assert len(set(map(str, values))) == len(values), field


def test_explain_with_another_method_names_that_method_not_maximize() -> None:
    out = cli("run", "x^2", "--start", "1", "--explain", "--method", "adam")
    assert out.exit_code == 2
    assert "not adam" in out.stderr and "--maximize" not in out.stderr


def test_a_linear_function_that_diverges_is_not_told_to_shrink_the_learning_rate() -> None:
    out = cli("run", "x - y^2", "--start", "0,1", "--format", "csv", "--steps", "100000", "--lr", "0.5")
    assert out.exit_code in (3, 4)
    assert "f is linear in x, so it has no minimum" in out.stderr
    assert "smaller learning rate" not in out.stderr
