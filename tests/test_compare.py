"""compare: the core, every output format read back, the CLI in-process and installed, and `run` with every method."""

from __future__ import annotations

import csv
import importlib
import io
import json

import pytest
from conftest import ROSENBROCK, cli, run_installed

from symdescent import Status
from symdescent.compare import DEFAULT_LR, compare, parse_learning_rates, parse_methods
from symdescent.errors import InputError
from symdescent.optimizers import OPTIMIZERS, UPDATE_RULES
from symdescent.problem import make_problem

ELLIPSE = "x**2 + 10*y**2"


def number(text: str, what: str) -> float:
    return float(text)


# -- core --------------------------------------------------------------------------------


def test_runs_come_back_in_the_order_given_with_their_own_settings() -> None:
    comparison = compare(make_problem(ELLIPSE), (1, 1), ["newton", "gd", "adam"], lr={"adam": 0.05})
    assert [r.method for r in comparison.runs] == ["newton", "gd", "adam"]
    assert [r.params.get("lr") for r in comparison.runs] == [None, DEFAULT_LR["gd"], 0.05]
    assert all(r.status is Status.CONVERGED for r in comparison.runs)
    assert all(len(r.history) == 1 for r in comparison.runs)
    assert len(comparison.seconds) == 3 and all(s >= 0 for s in comparison.seconds)
    assert comparison.start == (1.0, 1.0)
    assert comparison.variables == ("x", "y")


def test_a_failing_method_keeps_its_status_and_the_others_still_run() -> None:
    comparison = compare(make_problem("x**2"), (1,), ["gd", "newton"], lr=1.5)
    gd, newton = comparison.runs
    assert gd.status is Status.DIVERGED
    assert newton.status is Status.CONVERGED


def test_shared_hyperparameters_go_to_the_methods_that_use_them() -> None:
    comparison = compare(make_problem(ELLIPSE), (1, 1), ["momentum", "adam", "cg"], momentum=0.5, eps=1e-6)
    momentum, adam, cg = comparison.runs
    assert momentum.params["momentum"] == 0.5
    assert adam.params["eps"] == 1e-6
    assert "momentum" not in adam.params and "eps" not in cg.params
    with pytest.raises(InputError, match="none of the methods compared uses momentum"):
        compare(make_problem(ELLIPSE), (1, 1), ["adam"], momentum=0.5)


def test_rosenbrock_tells_the_story_of_the_issue() -> None:
    comparison = compare(make_problem(ROSENBROCK), (-1.2, 1), parse_methods("all"))
    status = {r.method: r.status for r in comparison.runs}
    # constant-step RMSprop circles the minimum; every other method converges with its default settings
    assert status.pop("rmsprop") is Status.MAX_STEPS
    assert set(status.values()) == {Status.CONVERGED}
    steps = {r.method: r.steps for r in comparison.runs}
    # second-order information pays: Newton and cg need tens of steps, gradient descent tens of thousands
    assert steps["newton"] < 50 and steps["cg"] < 100
    assert steps["gd"] > 10_000
    assert steps["momentum"] < steps["gd"] / 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [("gd", ("gd",)), (" adam , gd ", ("adam", "gd")), ("all", tuple(OPTIMIZERS))],
)
def test_parse_methods(text: str, expected: tuple[str, ...]) -> None:
    assert parse_methods(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("gd,sgd", "unknown method 'sgd'"), ("gd,gd", "more than once"), (",", "empty")],
)
def test_parse_methods_refuses(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_methods(text)


def test_parse_learning_rates() -> None:
    methods = ("gd", "adam", "newton")
    assert parse_learning_rates("0.5", methods, number) == {"gd": 0.5, "adam": 0.5}
    assert parse_learning_rates("adam=0.1,gd=0.05", methods, number) == {"adam": 0.1, "gd": 0.05}
    with pytest.raises(InputError, match="newton has no learning rate"):
        parse_learning_rates("newton=1", methods, number)
    with pytest.raises(InputError, match="not among the methods"):
        parse_learning_rates("cg=1", methods, number)
    with pytest.raises(InputError, match="mix of"):
        parse_learning_rates("adam=0.1,0.2", methods, number)


# -- output formats, read back -------------------------------------------------------------

ARGS = ("compare", ELLIPSE, "--start", "1,1", "--methods", "gd,newton,adam", "--lr", "gd=0.05,adam=0.1")


def test_json_has_the_spec_keys_and_one_run_per_method() -> None:
    out = cli(*ARGS, "--format", "json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert list(data) == ["function", "variables", "start", "runs"]
    assert data["function"] == "x**2 + 10*y**2"
    assert data["variables"] == ["x", "y"]
    assert data["start"] == {"x": 1.0, "y": 1.0}
    assert [r["method"] for r in data["runs"]] == ["gd", "newton", "adam"]
    for run in data["runs"]:
        assert "history" not in run
        assert {"x", "f", "grad_norm", "steps", "status", "message", "params", "nfev", "ngev", "seconds"} <= set(run)
        assert run["status"] == "converged"
    assert data["runs"][0]["params"] == {"lr": 0.05, "engine": "python"}
    assert data["runs"][1]["steps"] == 1 and data["runs"][1]["nhev"] == 1
    assert data["runs"][2]["params"] == {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "engine": "python"}


@pytest.mark.parametrize(("fmt", "delimiter"), [("csv", ","), ("tsv", "\t")])
def test_delimited_rows_read_back(fmt: str, delimiter: str) -> None:
    out = cli(*ARGS, "--format", fmt)
    assert out.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.stdout), delimiter=delimiter))
    assert [r["method"] for r in rows] == ["gd", "newton", "adam"]
    data = json.loads(cli(*ARGS, "--format", "json").stdout)
    for row, run in zip(rows, data["runs"], strict=True):
        assert row["status"] == run["status"]
        assert int(row["steps"]) == run["steps"]
        assert {"x": float(row["x"]), "y": float(row["y"])} == run["x"]
        assert float(row["f"]) == run["f"]
        assert int(row["nfev"]) == run["nfev"] and int(row["ngev"]) == run["ngev"]
    assert rows[1]["lr"] == "" and float(rows[0]["lr"]) == 0.05


def test_auto_is_csv_when_piped() -> None:
    assert cli(*ARGS).stdout.startswith("method,status,steps,f,x,y,grad_norm,")


def test_jsonl_is_one_run_per_line() -> None:
    out = cli(*ARGS, "--format", "jsonl")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(line["event"], line["method"]) for line in lines] == [("run", "gd"), ("run", "newton"), ("run", "adam")]


def test_table_has_a_row_per_method_and_says_why_one_failed() -> None:
    out = cli("compare", ELLIPSE, "--start", "1,1", "--methods", "gd,cg", "--lr", "gd=0.2", "--format", "table")
    assert out.exit_code == 0  # the comparison ran; gd's divergence is data
    lines = out.stdout.splitlines()
    assert lines[0] == "Minimising f(x, y) = x² + 10y²"
    gd_row = next(line for line in lines if line.lstrip().startswith("gd "))
    assert "diverged" in gd_row and "0.2" in gd_row
    cg_row = next(line for line in lines if line.lstrip().startswith("cg "))
    assert "converged" in cg_row and "strong Wolfe" in cg_row
    assert any(line.startswith("✘ gd: at step") for line in lines)
    assert "\x1b[" not in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--methods", "gd,sgd"], "Error: unknown method 'sgd' in --methods"),
        (["--lr", "newton=1", "--methods", "gd,newton"], "Error: newton has no learning rate"),
        (["--lr", "0"], "Error: --lr must be positive"),
        (["--momentum", "0.9", "--methods", "adam"], "Error: none of the methods compared uses momentum"),
        (["--steps", "-1"], "Invalid value for '--steps'"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str) -> None:
    out = cli("compare", ELLIPSE, "--start", "1,1", *args)
    assert out.exit_code == 2
    assert message in out.stderr
    assert out.stdout == ""


def test_maximize_compares_climbers() -> None:
    args = ["--methods", "gd,newton,cg", "--maximize", "--format", "json"]
    out = cli("compare", "-(x-1)**2 - y**2", "--start", "0,1", *args)
    runs = json.loads(out.stdout)["runs"]
    assert all(r["maximize"] and r["status"] == "converged" for r in runs)
    assert all(list(r["x"].values()) == pytest.approx([1, 0], abs=1e-6) for r in runs)


def test_help_lists_every_method_with_its_update_rule() -> None:
    for command in ("run", "compare"):
        out = cli(command, "--help")
        shown = " ".join(out.stdout.split())  # a long rule continues on the next line, broken at a space
        for method, rule in UPDATE_RULES.items():
            assert f"{method}" in out.stdout
            assert " ".join(rule.split(";")[0].split()) in shown


def test_installed_compare_json(executable) -> None:
    proc = run_installed(executable, *ARGS, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert [r["status"] for r in json.loads(proc.stdout)["runs"]] == ["converged"] * 3


# -- run with every method ------------------------------------------------------------------


@pytest.mark.parametrize("method", list(OPTIMIZERS))
def test_run_every_method_from_the_cli(method: str) -> None:
    lr = {"gd": "0.05", "momentum": "0.02", "nesterov": "0.02", "adam": "0.1", "rmsprop": "0.01", "adagrad": "1"}
    args = ["--lr", lr[method]] if method in lr else []
    out = cli("run", ELLIPSE, "--start", "1,1", "--method", method, "--steps", "5000", *args, "--format", "json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["method"] == method and data["status"] == "converged"
    if method in ("newton", "backtracking", "exact-line", "cg"):
        assert "info" in data["history"][1]
    if method == "cg":
        info = data["history"][1]["info"]
        assert info["restart"] is True and isinstance(info["nfev"], int) and isinstance(info["alpha"], float)


def test_run_table_shows_what_the_line_search_chose() -> None:
    out = cli("run", "x**2", "--start", "1", "--method", "backtracking", "--format", "table")
    assert "α = 0.5, f evals = 2" in out.stdout
    assert "evaluations  f 4, ∇f 2" in out.stdout


def test_run_refuses_options_the_method_does_not_use() -> None:
    out = cli("run", ELLIPSE, "--start", "1,1", "--method", "adam", "--momentum", "0.5")
    assert out.exit_code == 2
    assert "Error: adam does not use --momentum" in out.stderr
    out = cli("run", ELLIPSE, "--start", "1,1", "--method", "newton", "--lr", "0.5")
    assert out.exit_code == 2


def test_run_newton_maximize() -> None:
    # in-process: test_installed_compare_json above and test_cli.py's installed exit codes run the real program
    args = ["--method", "newton", "--maximize", "-q"]
    proc = cli("run", "-x^2 - (y-1)^2", "--start", "3,4", *args)
    assert proc.exit_code == 0, proc.stderr
    assert [float(v) for v in proc.stdout.split()] == pytest.approx([0, 1], abs=1e-12)


def test_the_docs_document_every_method_and_compare() -> None:
    from pathlib import Path

    reference = Path(__file__).parent.parent / "docs" / "reference"
    methods = (reference / "methods.md").read_text(encoding="utf-8")
    for method in OPTIMIZERS:
        assert f"| `{method}` |" in methods
    output = (reference / "output.md").read_text(encoding="utf-8")
    assert "## `compare`" in output  # compare's options are generated from the command itself (commands.md)


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_ctrl_c_keeps_the_runs_so_far_and_exits_130(monkeypatch, fmt: str) -> None:
    from symdescent import problem as problem_module

    # the generic loop evaluates through Problem.value_and_grad; the fused gd loop would not
    monkeypatch.setattr(importlib.import_module("symdescent.run"), "fast_steps", lambda run, first: None)
    original = problem_module.Problem.value_and_grad.fget
    calls = {"n": 0}

    def interrupted_after_twenty(self):
        compiled = original(self)

        def value_and_grad(*x):
            calls["n"] += 1
            if calls["n"] > 20:
                raise KeyboardInterrupt
            return compiled(*x)

        return value_and_grad

    monkeypatch.setattr(problem_module.Problem, "value_and_grad", property(interrupted_after_twenty))
    out = cli("compare", ELLIPSE, "--start", "1,1", "--methods", "newton,gd,cg", "--format", fmt)
    assert out.exit_code == 130
    if fmt == "json":
        runs = json.loads(out.stdout)["runs"]
        assert [(r["method"], r["status"]) for r in runs] == [("newton", "converged"), ("gd", "interrupted")]
        assert "interrupted: during gd" in out.stderr
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out.stdout)))
        assert [r["status"] for r in rows] == ["converged", "interrupted"]
    else:
        assert "■ gd: stopped by the user" in out.stdout
        assert "the methods after the last row did not run" in out.stdout
        assert not any(line.lstrip().startswith("cg ") for line in out.stdout.splitlines())


def test_compare_plot_draws_every_run(tmp_path) -> None:
    from symdescent.compare import compare
    from symdescent.problem import make_problem
    from symdescent.render.plot import keep_for_picture

    problem = make_problem("x**2 + 10*y**2")
    comparison = compare(problem, (1, 1), ["gd", "momentum", "cg"], lr=0.05, keep=keep_for_picture)
    for result in comparison.runs:
        assert result.history[0].step == 0
        assert result.history[-1].step == result.steps
    path = tmp_path / "compare.png"
    out = cli(
        "compare",
        "x**2 + 10*y**2",
        "--start",
        "1,1",
        "--methods",
        "gd,momentum,cg",
        "--lr",
        "0.05",
        "--format",
        "json",
        "--plot",
        str(path),
    )
    assert out.exit_code == 0, out.stderr
    assert path.read_bytes().startswith(b"\x89PNG")
    assert "Picture written to" in out.stderr


def test_compare_plot_bad_extension_runs_nothing(tmp_path) -> None:
    out = cli("compare", "x**2", "--start", "1", "--methods", "gd", "--plot", str(tmp_path / "a.bmp"))
    assert out.exit_code == 2
    assert out.stdout == ""
    assert list(tmp_path.iterdir()) == []
