"""Every output format, read back with the standard library and compared with the library's result."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from conftest import SEED, cli

from symdescent import minimize


@pytest.fixture(scope="module")
def seed_result():
    return minimize(SEED, (1, 2), lr=0.1)


@pytest.mark.parametrize(("fmt", "delimiter"), [("csv", ","), ("tsv", "\t")])
def test_delimited_round_trip(seed_result, fmt: str, delimiter: str) -> None:
    out = cli("run", SEED, "--start", "1,2", "--lr", "0.1", "--format", fmt)
    assert out.exit_code == 0
    rows = list(csv.reader(io.StringIO(out.stdout), delimiter=delimiter))
    assert rows[0] == ["step", "x", "y", "f", "df/dx", "df/dy", "grad_norm"]
    assert len(rows) - 1 == len(seed_result.history)
    for row, step in zip(rows[1:], seed_result.history, strict=True):
        assert int(row[0]) == step.step
        assert [float(v) for v in row[1:]] == [*step.x, step.f, *step.grad, step.grad_norm]


def test_auto_is_csv_when_piped() -> None:
    assert cli("run", SEED, "--start", "1,2").stdout.startswith("step,x,y,f,")


def test_json_round_trip(seed_result) -> None:
    out = cli("run", SEED, "--start", "1,2", "--lr", "0.1", "--format", "json")
    data = json.loads(out.stdout)
    assert data["function"] == "x**2 + y**2"
    assert data["variables"] == ["x", "y"]
    assert data["gradient"] == ["2*x", "2*y"]
    assert data["method"] == "gd"
    assert data["params"] == {"lr": 0.1, "engine": "python"}
    assert data["start"] == {"x": 1.0, "y": 2.0}
    assert data["shapes"] == {"x": [], "y": []}
    assert data["status"] == "converged"
    assert data["steps"] == seed_result.steps == 69
    assert data["x"] == dict(seed_result.x) == dict(zip("xy", seed_result.flat, strict=True))
    assert data["f"] == seed_result.f
    assert data["grad_norm"] == seed_result.grad_norm
    assert data["message"] == seed_result.message
    first = {"step": 0, "x": {"x": 1.0, "y": 2.0}, "f": 5.0, "grad": {"x": 2.0, "y": 4.0}, "grad_norm": math.sqrt(20)}
    assert data["history"][0] == first
    assert [h["x"] for h in data["history"]] == [dict(zip("xy", s.x, strict=True)) for s in seed_result.history]


def test_jsonl_round_trip(seed_result) -> None:
    out = cli("run", SEED, "--start", "1,2", "--lr", "0.1", "--format", "jsonl")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    steps, last = lines[:-1], lines[-1]
    assert all(line["event"] == "step" for line in steps)
    assert [line["x"] for line in steps] == [dict(zip("xy", s.x, strict=True)) for s in seed_result.history]
    assert last["event"] == "result"
    assert "history" not in last
    assert (last["status"], last["steps"], last["x"]) == ("converged", 69, dict(seed_result.x))


def test_json_writes_null_for_non_finite_values() -> None:
    out = cli("run", "x**2", "--start", "1", "--lr", "1.5", "--format", "json")
    assert out.exit_code == 3
    data = json.loads(out.stdout)  # strict JSON: no NaN or Infinity tokens
    assert data["status"] == "diverged"
    assert data["f"] is None
    assert data["history"][-1]["f"] is None


def test_every_thins_but_keeps_first_and_last() -> None:
    out = cli("run", SEED, "--start", "1,2", "--every", "10", "--format", "json")
    steps = [h["step"] for h in json.loads(out.stdout)["history"]]
    assert steps == [0, 10, 20, 30, 40, 50, 60, 69]


def test_quiet_prints_the_final_point(seed_result) -> None:
    out = cli("run", SEED, "--start", "1,2", "-q")
    assert out.stdout == f"{seed_result.flat[0]!r} {seed_result.flat[1]!r}\n"


def test_table_keeps_every_digit_when_piped() -> None:
    out = cli("run", SEED, "--start", "1,2", "--format", "table", "--digits", "17", "--steps", "3", "--tol", "0")
    assert out.exit_code == 0
    assert "…" not in out.stdout and "\x1b[" not in out.stdout
    assert "3.2000000000000006" in out.stdout  # f at step 1, all 17 digits
    assert "Gradient descent on f(x, y) = x² + y²" in out.stdout
    assert "∇f = (2x, 2y)" in out.stdout
    assert "✔ completed" in out.stdout


def test_table_hides_the_middle_of_long_runs_unless_every() -> None:
    long_run = cli("run", SEED, "--start", "1,2", "--format", "table")
    assert "50 steps hidden" in long_run.stdout
    assert "⋮" in long_run.stdout
    thinned = cli("run", SEED, "--start", "1,2", "--format", "table", "--every", "5")
    assert "hidden" not in thinned.stdout


def test_many_variables_table_shows_f_and_norm_only() -> None:
    expr = "+".join(f"x{i}**2" for i in range(1, 11))
    out = cli("run", expr, "--start", ",".join(["1"] * 10), "--format", "table", "--steps", "2", "--tol", "0")
    assert out.exit_code == 0
    header = next(line for line in out.stdout.splitlines() if "step" in line and "‖∇f‖" in line)
    assert header.split() == ["step", "f", "‖∇f‖"]
    assert "f(x1, …, x10)" in out.stdout
