"""The learning-rate sweep: the grid, gd's edge at 2/λmax, steps from the closed form, every output, Ctrl-C."""

from __future__ import annotations

import io
import itertools
import json
import math
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED, cli
from hypothesis import given
from hypothesis import strategies as st

from symdescent.errors import InputError
from symdescent.notebook import symdescent_magic
from symdescent.problem import make_problem
from symdescent.render.sweep import DelimitedSweepRenderer
from symdescent.result import Status
from symdescent.sweep import Sweep, SweepPoint, grid, parse_range, stability, sweep


@given(st.floats(1e-6, 1e3), st.floats(1.01, 1e4), st.integers(2, 200))
def test_the_grid_is_even_on_a_log_scale_and_keeps_both_ends(low: float, factor: float, points: int) -> None:
    values = grid(low, low * factor, points)
    assert len(values) == points and values[0] == low and values[-1] == low * factor
    ratios = [b / a for a, b in itertools.pairwise(values)]
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-9)


@pytest.mark.parametrize("text", ["0.1", "1..", "..2", "2..1", "0..1", "-1..1", "1..1"])
def test_a_bad_range_is_refused(text: str) -> None:
    with pytest.raises(InputError):
        grid(*parse_range(text), 5)


def test_on_the_bowl_every_rate_below_one_converges_and_every_rate_above_does_not() -> None:
    result = sweep(make_problem(SEED), "1,2", grid(0.05, 3, 15), workers=2)
    assert (result.max_stable_lr, result.best_lr) == (1.0, 0.5)  # H = 2I: 2/λmax = 1, 2/(λmin+λmax) = 1/2
    assert [p.lr for p in result.points] == sorted(p.lr for p in result.points)
    for point in result.points:
        if point.lr < 1:
            assert point.outcome == "converged"
            # ∇f_t = 2(1 − 2α)^t (1, 2): ‖∇f_t‖ = 2√5·|1 − 2α|^t first ≤ 1e-6 at this t
            t = math.ceil(math.log(1e-6 / (2 * math.sqrt(5))) / math.log(abs(1 - 2 * point.lr)))
            assert point.steps in (t - 1, t, t + 1)  # rounding at the boundary
        else:
            assert point.outcome in ("diverged", "diverging")


def test_parallel_and_serial_sweeps_agree_exactly() -> None:
    problem, rates = make_problem("(1-x)**2+100*(y-x**2)**2"), grid(1e-4, 3e-3, 6)
    one = sweep(problem, "-1.2,1", rates, workers=1, max_steps=300)
    two = sweep(problem, "-1.2,1", rates, workers=2, max_steps=300)
    assert [(p.lr, p.status, p.steps, p.f) for p in one.points] == [(p.lr, p.status, p.steps, p.f) for p in two.points]
    assert stability(problem) == (None, None)  # not a quadratic: no edge is claimed


def test_a_method_without_a_learning_rate_is_refused() -> None:
    with pytest.raises(InputError, match="no learning rate"):
        sweep(make_problem(SEED), "1,2", (0.1, 0.2), method="newton")


def test_csv_json_and_table_say_the_same() -> None:
    args = ["sweep", SEED, "--start", "1,2", "--lr", "0.25..4", "--points", "5"]
    rows = cli(*args, "--format", "csv").stdout.splitlines()
    assert rows[0] == "lr,outcome,status,steps,f,grad_norm,seconds"
    assert [r.split(",")[:2] for r in rows[1:]] == [
        ["0.25", "converged"],
        ["0.5", "converged"],
        ["1.0", "max_steps"],
        ["2.0", "diverged"],
        ["4.0", "diverged"],
    ]  # α = 1: x ← −x forever, neither converging nor growing
    assert rows[2].split(",")[3] == "1"  # α = 1/2 lands on the minimum in one step
    data = json.loads(cli(*args, "--format", "json").stdout)
    assert data["max_stable_lr"] == 1.0 and data["best_lr"] == 0.5
    assert [p["outcome"] for p in data["points"]] == ["converged", "converged", "max_steps", "diverged", "diverged"]
    table = cli(*args, "--format", "table").stdout
    assert "converges for α < 2/λmax = 1" in table and "fastest α is 2/(λmin + λmax) = 0.5" in table


def test_vectors_and_data_sweep_too() -> None:
    out = cli("sweep", "x @ x", "--start", "x=[1,2]", "--lr", "0.5..2", "--points", "3", "--format", "json")
    data = json.loads(out.stdout)
    assert data["max_stable_lr"] == pytest.approx(1.0)
    assert [p["outcome"] for p in data["points"]] == ["converged", "max_steps", "diverged"]  # α = 1/2, 1, 2
    fit = cli(
        "sweep", "mean((a*t + b - y)^2)", "--data", "t=[0,1,2,3]", "--data", "y=[1,3,5,7]", "--start", "a=0,b=0",
        "--lr", "0.01..1", "--points", "4", "--format", "json", "--steps", "5000",
    )  # fmt: skip
    fitted = json.loads(fit.stdout)
    assert fitted["max_stable_lr"] is not None and fitted["points"][0]["outcome"] == "converged"


def test_the_picture_marks_the_edge(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from symdescent.render.plot_sweep import sweep_figure

    result = sweep(make_problem(SEED), "1,2", grid(0.1, 2, 6), workers=1)
    figure = sweep_figure(result, 1000)
    lines = [line.get_xdata()[0] for line in figure.axes[0].lines if len(line.get_xdata())]
    assert 1.0 in lines and 0.5 in lines  # 2/λmax and the best α
    out = cli("sweep", SEED, "--start", "1,2", "--lr", "0.1..2", "--points", "4", "--plot", str(tmp_path / "s.png"))
    assert out.exit_code == 0 and (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_magic_returns_the_sweep() -> None:
    result = symdescent_magic('sweep "x**2+y**2" --start 1,2 --lr 0.1..2 --points 3')
    assert len(result.points) == 3 and "2/λmax = 1" in result._repr_html_()


def _children(pid: int) -> list[str]:
    """The processes ``pid`` has forked (Linux's /proc; elsewhere none are seen and the wait times out)."""
    try:
        return [c for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    except OSError:
        return []


def test_ctrl_c_stops_every_worker_and_keeps_the_rows_so_far(executable: Path) -> None:
    process = subprocess.Popen(
        [str(executable), "sweep", "(1-x)^2+100*(y-x^2)^2", "--start", "-1.2,1", "--lr", "1e-4..1e-3",
         "--points", "8", "--steps", "100000000", "--tol", "0", "--format", "csv"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # the workers forked, however loaded the machine: the sweep is running (without /proc: 2.5 s)
    deadline = time.monotonic() + (120 if Path("/proc/self/task").exists() else 2.5)
    while not _children(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 130
    assert out.startswith("lr,outcome") and "Traceback" not in err
    assert "interrupted" in err


def test_the_issue_grid_every_rate_below_one_converges_every_rate_above_diverges() -> None:
    rows = cli("sweep", SEED, "--start", "1,2", "--lr", "0.01..10", "--points", "60", "--format", "csv").stdout
    points = [(float(r.split(",")[0]), r.split(",")[1]) for r in rows.splitlines()[1:]]
    assert len(points) == 60
    assert all(outcome == ("converged" if lr < 1 else "diverged") for lr, outcome in points)


def test_on_a_data_fit_the_edge_is_two_over_the_largest_eigenvalue_of_the_datas_hessian() -> None:
    t = np.array([0.0, 1, 2, 3, 4, 5])  # the Hessian of a least-squares fit does not depend on y
    out = cli(
        "sweep", "mean((a*t + b - y)^2)", "--data", "t=[0,1,2,3,4,5]", "--data", "y=[1,2.9,5.2,7.1,8.8,11.2]",
        "--start", "a=0,b=0", "--lr", "0.01..0.2", "--points", "5", "--format", "json",
    )  # fmt: skip
    data = json.loads(out.stdout)
    hessian = 2 / len(t) * np.array([[t @ t, t.sum()], [t.sum(), len(t)]])  # of mean((a t + b − y)²) in (a, b)
    low, high = np.linalg.eigvalsh(hessian)
    assert data["max_stable_lr"] == pytest.approx(2 / high, rel=1e-9)
    assert data["best_lr"] == pytest.approx(2 / (low + high), rel=1e-9)


def test_maximising_up_is_the_right_way_and_ctrl_c_keeps_every_finished_row_in_csv() -> None:
    args = ["sweep", "-(x^2+y^2)", "--start", "1,2", "--lr", "0.00001..0.0001", "--points", "2", "--maximize"]
    up = json.loads(cli(*args, "--format", "json").stdout)
    assert [p["outcome"] for p in up["points"]] == ["max_steps", "max_steps"]  # f rose towards 0: not diverging
    out = io.StringIO()
    renderer = DelimitedSweepRenderer(out)
    assert out.getvalue() == ""  # no header before the first row: a refused input prints nothing
    late = tuple(SweepPoint(lr, Status.DIVERGED, 5, math.inf, math.inf, 5.0, 0.1) for lr in (2.0, 4.0))
    renderer.finish(Sweep("x", "gd", late, 1.0, 0.5, interrupted=True))  # the run at α = 1 never ended
    assert [r.split(",")[0] for r in out.getvalue().splitlines()] == ["lr", "2.0", "4.0"]


def test_a_refused_sweep_prints_nothing_on_stdout() -> None:
    out = cli("sweep", "x**2", "--start", "1", "--lr", "0.1..1", "--method", "newton", "--format", "csv")
    assert out.exit_code == 2 and out.stdout == ""
