"""One budget for every path, and every failure a clean line (time, memory, threads, signals).

Each test here failed on the code before its fix. They stay fast: small budgets are set through
the settings variables or by patching the budget's clock, never by really slow inputs.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import cli

from symdescent import budget

# -- index sums: the meaning of the range, and names in generated code ------------------------------


@pytest.mark.parametrize("command", ["run", "explain", "analyze", "compare"])
def test_a_shifted_index_sum_runs_over_every_i_whose_entries_exist(command: str) -> None:
    """sum(x[i+2]^2, i) over x of 3 entries is x₁² + x₂² + x₃² (i = −1 … 1), as VECTORS.md says: not exit 1."""
    result = cli(command, "sum(x[i+2]^2, i)", "--start", "x=[1,2,3]", *(["--format", "json"] * (command == "run")))
    assert result.exit_code == 0, result.output
    if command == "run":
        assert json.loads(result.stdout)["history"][0]["f"] == 14.0
    if command == "explain":
        assert "∇f = (2, 4, 6)" in result.stdout


def test_grad_of_a_shifted_index_sum() -> None:
    result = cli("grad", "sum(x[i+2]^2, i)", "--at", "x=[1,2,3]", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["f"] == 14.0


@pytest.mark.parametrize("command", ["run", "explain", "analyze", "compare"])
def test_an_index_sum_with_no_valid_i_is_one_clean_refusal(command: str) -> None:
    result = cli(command, "sum(x[i+5]*x[i], i)", "--start", "x=[1,2,3]")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the index sum") and "has no terms" in result.stderr


@pytest.mark.parametrize("name", ["import_", "exec_", "lambda_", "numpy_", "os"])
def test_generated_array_code_never_contains_a_users_name(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole-array code names slices _s0, _s1 … and arguments _a0 …: never the user's names."""
    from symdescent.vectors import codegen
    from symdescent.vectors.problem import make_vector_problem

    sources: list[str] = []
    real = codegen.define

    def capture(source: str, *args: object) -> object:
        sources.append(source)
        return real(source, *args)

    monkeypatch.setattr(codegen, "define", capture)
    text = f"sum(({name}[i+1] - {name}[i]^2)^2 + (1 - {name}[i])^2, i) + {name} @ w"
    problem = make_vector_problem(text, {name: np.arange(1.0, 6.0)}, {"w": np.ones(5)})
    f, _ = problem.value_and_grad(problem.flat_start())
    x = np.arange(1.0, 6.0)
    assert f == pytest.approx(float(np.sum((x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2) + x.sum()))
    word = re.compile(rf"\b{name}\b")
    assert sources and not any(word.search(source) for source in sources)


# -- the time budget: the steps do not count, the work before them does ----------------------------


def test_a_long_vector_run_is_not_refused_by_the_time_limit_at_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """The steps are bounded by --steps: the cases of the gradient written after them keep the budget left."""
    from symdescent.vectors.engine import make_run
    from symdescent.vectors.problem import make_vector_problem

    clock = [0.0]
    monkeypatch.setattr(budget, "_clock", lambda: clock[0])
    problem = make_vector_problem("sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)", {"x": np.zeros(5)})
    with budget.time_limit(1.0):
        run = make_run(problem, method="gd", lr=0.001, max_steps=20)
        steps = []
        for step in run:
            clock[0] += 1.0  # each step "takes" a second: far past the limit
            steps.append(step)
        result = run.result(tuple(steps))
    assert result.steps == 20 and any("x" in line for line in result.gradient)


def _expired(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A budget clock the test moves by hand (CPU time never fires in a fast test)."""
    clock = [0.0]
    monkeypatch.setattr(budget, "_clock", lambda: clock[0])
    return clock


def _stage_refused(monkeypatch: pytest.MonkeyPatch, work: object, stage: str) -> None:
    clock = _expired(monkeypatch)
    with budget.time_limit(1.0):
        clock[0] = 2.0  # past the deadline: the stage's first check must refuse
        with pytest.raises(budget.BudgetError, match=stage):
            work()  # type: ignore[operator]


def test_the_kernel_engine_checks_the_deadline_while_differentiating_and_generating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sympy as sp

    from symdescent.kernels.codegen import generate
    from symdescent.kernels.terms import BandTerm, differentiate

    a, b = sp.symbols("a b", real=True)
    terms = [BandTerm(100 * (b - a**2) ** 2 + (1 - a) ** 2, {0: a, 1: b})]
    _stage_refused(monkeypatch, lambda: differentiate(terms), "differentiating the function")
    done = differentiate(terms)
    _stage_refused(monkeypatch, lambda: generate(done), "generating the kernel")


def test_the_whole_array_engine_checks_the_deadline_while_generating_code(monkeypatch: pytest.MonkeyPatch) -> None:
    from symdescent.vectors.banded import banded_terms
    from symdescent.vectors.codegen import compile_arrays
    from symdescent.vectors.problem import make_vector_problem

    text = "sum((x[i+1]-x[i])^2, i) + sum(sin(x))"
    problem = make_vector_problem(text, {"x": np.ones(5)})
    expr = problem.formula.expr
    _stage_refused(monkeypatch, lambda: compile_arrays([expr], ["x"], {"x": (5,)}, [()]), "generating the array code")
    _stage_refused(monkeypatch, lambda: banded_terms(problem), "preparing the chunked engine")


def test_the_analysis_leaves_half_the_budget_for_what_follows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eigenvalues of a long vector stop at half of the time left, with a note; the command is not refused."""
    from symdescent.vectors.analysis import analyze_arrays
    from symdescent.vectors.problem import make_vector_problem

    problem = make_vector_problem("sum((x[i+1]-x[i])^2, i)", {"x": np.ones(20_000)})
    clock = _expired(monkeypatch)
    with budget.time_limit(0.002):
        clock[0] = 0.001
        analysis = analyze_arrays(problem, timeout=5.0)
    assert any("not computed within 0.0005 s" in note for note in analysis.notes), analysis.notes
