"""run --exact and --working-precision D: exact iterates, D-digit iterates, the stop before exact numbers explode."""

from __future__ import annotations

import json
import time

import mpmath
import pytest
import sympy as sp
from conftest import ROSENBROCK, SEED, cli, run_installed

from symdescent import iterate, minimize
from symdescent.arithmetic import Exact, WorkingPrecision, exact_decimals, make_arithmetic
from symdescent.errors import InputError
from symdescent.optimizers import gd
from symdescent.problem import make_problem
from symdescent.result import Status
from symdescent.run import Run

FOUR_FIFTHS = sp.Rational(4, 5)


@pytest.mark.parametrize("lr", ["1/10", "0.1", sp.Rational(1, 10)])
def test_blog_example_iterates_are_exactly_four_fifths_to_the_t(lr: object) -> None:
    run = iterate(SEED, ["1", "2"], lr=lr, exact=True, tol=0, max_steps=10)
    steps = list(run)
    assert len(steps) == 11
    for step in steps:
        t = step.step
        assert step.x == (FOUR_FIFTHS**t, 2 * FOUR_FIFTHS**t)
        assert all(isinstance(v, sp.Rational) for v in step.x)
        assert step.f == 5 * FOUR_FIFTHS ** (2 * t)
        assert step.grad == (2 * FOUR_FIFTHS**t, 4 * FOUR_FIFTHS**t)
        assert sp.simplify(step.grad_norm - 2 * sp.sqrt(5) * FOUR_FIFTHS**t) == 0
    assert steps[1].x == (sp.Rational(4, 5), sp.Rational(8, 5))
    assert steps[2].x == (sp.Rational(16, 25), sp.Rational(32, 25))
    assert run.status is Status.COMPLETED


def test_exact_run_converges_at_the_same_step_as_floats() -> None:
    exact = minimize(SEED, start=("1", "2"), lr="1/10", exact=True)
    floats = minimize(SEED, start=(1, 2), lr=0.1)
    assert exact.status is Status.CONVERGED
    assert exact.steps == floats.steps == 69
    assert exact.flat == (FOUR_FIFTHS**69, 2 * FOUR_FIFTHS**69)


def test_decimal_literals_become_exact_decimals() -> None:
    assert exact_decimals(sp.Float("0.1") * sp.Symbol("x")) == sp.Symbol("x") / 10
    assert exact_decimals(sp.Float("1e-3")) == sp.Rational(1, 1000)
    run = iterate("0.5*x**2", ["0.3"], lr="0.1", exact=True, tol=0, max_steps=1)
    steps = list(run)
    assert steps[1].x == (sp.Rational(3, 10) * sp.Rational(9, 10),)
    assert str(run.problem.expr) == "x**2/2"


def test_exact_start_may_be_symbolic() -> None:
    steps = list(iterate(SEED, ["pi/4", "0"], lr="1/10", exact=True, tol=0, max_steps=2))
    assert steps[2].x == (sp.pi / 4 * FOUR_FIFTHS**2, 0)


def test_exact_on_rosenbrock_stops_quickly_with_a_clear_message() -> None:
    started = time.monotonic()
    run = iterate(ROSENBROCK, ["-1.2", "1"], lr="0.001", exact=True, tol=0, max_steps=1000)
    steps = list(run)
    elapsed = time.monotonic() - started
    assert run.status is Status.TOO_SLOW
    assert 3 <= steps[-1].step < 20
    assert "digits" in run.message and "--working-precision" in run.message
    assert elapsed < 60  # about 2 s on an idle machine; the steps are timed in CPU time
    assert all(isinstance(v, sp.Rational) for v in steps[-1].x)


def test_exact_time_budget_is_a_parameter() -> None:
    strict = Exact(step_seconds=1e-9)  # any step is too slow
    run = Run(make_problem(ROSENBROCK), ("-6/5", "1"), gd(lr=strict.number(sp.Rational(1, 1000))), arithmetic=strict)
    steps = list(run)
    assert run.status is Status.TOO_SLOW
    assert steps[-1].step == 1


def test_exact_division_by_zero_is_a_divergence_with_the_culprit() -> None:
    run = iterate("log(x)", ["1"], lr="1", exact=True, tol=0, max_steps=5)
    steps = list(run)
    assert run.status is Status.DIVERGED
    assert steps[-1].x == (0,)
    assert "log(x) is undefined at x = 0" in run.message


def test_working_precision_50_agrees_with_exact_arithmetic_to_50_digits() -> None:
    steps = 6
    exact = list(iterate(ROSENBROCK, ["-1.2", "1"], lr="0.001", exact=True, tol=0, max_steps=steps))
    precise = list(iterate(ROSENBROCK, ["-1.2", "1"], lr="0.001", working_precision=50, tol=0, max_steps=steps))
    assert len(exact) == len(precise) == steps + 1
    with mpmath.workdps(80):
        for e, p in zip(exact, precise, strict=True):
            for exact_value, value in zip((*e.x, e.f, *e.grad), (*p.x, p.f, *p.grad), strict=True):
                assert isinstance(value, mpmath.mpf)
                truth = mpmath.mpf(exact_value.p) / exact_value.q
                assert abs(value - truth) <= mpmath.mpf(10) ** -47 * max(1, abs(truth))
            # and it really carries more digits than a float
            assert abs(p.x[0] - mpmath.mpf(float(p.x[0]))) > 0 or p.step == 0


def test_working_precision_validation() -> None:
    with pytest.raises(InputError):
        WorkingPrecision(0)
    with pytest.raises(InputError):
        make_arithmetic(exact=True, working_precision=30)


# -- through the CLI ---------------------------------------------------------------------


def test_cli_exact_json_gives_strings_in_sympy_syntax() -> None:
    out = cli("run", SEED, "--start", "1,2", "--lr", "0.1", "--exact", "--steps", "3", "--tol", "0", "--format", "json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["arithmetic"] == "exact"
    assert data["params"] == {"lr": "1/10"}
    assert data["start"] == {"x": "1", "y": "2"}
    points = [["1", "2"], ["4/5", "8/5"], ["16/25", "32/25"], ["64/125", "128/125"]]
    assert [h["x"] for h in data["history"]] == [{"x": a, "y": b} for a, b in points]
    assert data["history"][1]["f"] == "16/5"
    assert data["history"][0]["grad_norm"] == "2*sqrt(5)"
    assert data["x"] == {"x": "64/125", "y": "128/125"}
    assert all(sp.Rational(v) == FOUR_FIFTHS**3 * (i + 1) for i, v in enumerate(data["x"].values()))


def test_cli_exact_csv_and_table_show_fractions() -> None:
    out = cli("run", SEED, "--start", "1,2", "--lr", "1/10", "--exact", "--steps", "2", "--tol", "0", "--format", "csv")
    assert out.stdout.splitlines() == [
        "step,x,y,f,df/dx,df/dy,grad_norm",
        "0,1,2,5,2,4,2*sqrt(5)",
        "1,4/5,8/5,16/5,8/5,16/5,8*sqrt(5)/5",
        "2,16/25,32/25,256/125,32/25,64/25,32*sqrt(5)/25",
    ]
    args = ["run", SEED, "--start", "1,2", "--lr", "1/10", "--exact", "--steps", "5", "--tol", "0"]
    out = cli(*args, "--format", "table")
    assert out.exit_code == 0
    assert "α = 1/10" in out.stdout and "exact arithmetic" in out.stdout
    row = next(line for line in out.stdout.splitlines() if line.strip().startswith("2 "))
    assert row.split()[:4] == ["2", "16/25", "32/25", "256/125"]
    assert "final point  x = 1024/3125, y = 2048/3125" in out.stdout


def test_cli_exact_quiet_prints_exact_values() -> None:
    out = cli("run", SEED, "--start", "1,2", "--lr", "1/10", "--exact", "--steps", "2", "--tol", "0", "-q")
    assert out.stdout == "16/25 32/25\n"


def test_cli_exact_rosenbrock_exits_5_with_status_and_hint() -> None:
    out = cli("run", ROSENBROCK, "--start", "-1.2,1", "--lr", "0.001", "--exact", "--format", "jsonl")
    assert out.exit_code == 5
    last = json.loads(out.stdout.splitlines()[-1])
    assert last["event"] == "result" and last["status"] == "too_slow"
    assert "too_slow: stopped after" in out.stderr
    assert "--working-precision" in out.stderr


def test_cli_working_precision_prints_d_digits_as_strings() -> None:
    args = ["run", SEED, "--start", "1,2", "--lr", "0.1", "--working-precision", "50", "--steps", "2", "--tol", "0"]
    data = json.loads(cli(*args, "--format", "json").stdout)
    assert data["arithmetic"] == "mpmath" and data["working_precision"] == 50
    assert data["history"][1]["x"] == {"x": "0.8", "y": "1.6"}
    assert data["params"] == {"lr": "0.1"}
    norm = data["history"][0]["grad_norm"]
    with mpmath.workdps(60):
        assert abs(mpmath.mpf(norm) - mpmath.sqrt(20)) < mpmath.mpf(10) ** -48
    assert len(norm.replace(".", "")) == 50
    table = cli(*args, "--format", "table").stdout
    assert "4.4721359549995793928183473374625524708812367192231" in table  # 50 digits by default
    assert "50-digit working precision" in table


def test_cli_exact_and_working_precision_exclude_each_other() -> None:
    out = cli("run", SEED, "--start", "1,2", "--exact", "--working-precision", "20")
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: --exact and --working-precision exclude each other")


def test_installed_executable_runs_exact(executable: object) -> None:
    done = run_installed(
        executable,  # type: ignore[arg-type]
        "run",
        SEED,
        "--start",
        "1,2",
        "--lr",
        "1/10",
        "--exact",
        "--steps",
        "10",
        "--tol",
        "0",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert list(data["x"].values()) == [str(FOUR_FIFTHS**10), str(2 * FOUR_FIFTHS**10)]
    assert data["x"] == {"x": "1048576/9765625", "y": "2097152/9765625"}


def test_default_learning_rate_is_exact_too() -> None:
    out = cli("run", "x^2", "--start", "1", "--exact", "--steps", "2", "--tol", "0", "--format", "csv")
    assert out.exit_code == 0, out.stderr
    assert [row.split(",")[1] for row in out.stdout.splitlines()[1:]] == ["1", "4/5", "16/25"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x^2", "--start", "1", "--exact", "--method", "newton"], "works with the methods gd, momentum, nesterov"),
        (["x^2", "--start", "1", "--working-precision", "30", "--method", "cg"], "works with the methods"),
        (["exp(x^2)", "--start", "3", "--lr", "1", "--exact"], "polynomials and fractions"),
    ],
)
def test_exact_arithmetic_refuses_what_it_cannot_keep_exact(args: list[str], message: str) -> None:
    out = cli("run", *args)
    assert out.exit_code == 2
    assert message in out.stderr


def test_exact_momentum_by_hand() -> None:
    out = cli(
        "run",
        "x^2+y^2",
        "--start",
        "1,2",
        "--exact",
        "--method",
        "momentum",
        "--steps",
        "2",
        "--tol",
        "0",
        "--format",
        "csv",
    )
    # v1 = 2, x1 = 1 - 2/10 = 4/5; v2 = 9/10*2 + 8/5 = 17/5, x2 = 4/5 - 17/50 = 23/50
    assert [row.split(",")[1] for row in out.stdout.splitlines()[1:]] == ["1", "4/5", "23/50"]


def test_astronomical_powers_are_refused_in_exact_arithmetic() -> None:
    out = cli("run", "x**(10**100)", "--start", "2", "--exact")
    assert out.exit_code == 2
    assert "astronomically many digits" in out.stderr


def test_working_precision_values_beyond_a_bound_count_as_divergence() -> None:
    out = cli("run", "x**4", "--start", "10", "--lr", "1", "--working-precision", "30", "--format", "json")
    assert out.exit_code == 3
    assert json.loads(out.stdout)["status"] == "diverged"
