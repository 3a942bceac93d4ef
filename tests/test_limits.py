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
    extra = {"run": ["--format", "json"], "compare": ["--methods", "gd,cg"]}.get(command, [])
    result = cli(command, "sum(x[i+2]^2, i)", "--start", "x=[1,2,3]", *extra)
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
    real = budget.remaining

    def remaining() -> float:
        clock[0] += 0.0001  # each look at the budget "takes" 0.1 ms of CPU: half of 2 ms is gone after 10
        return real()

    monkeypatch.setattr(budget, "remaining", remaining)
    with budget.time_limit(0.002):
        analysis = analyze_arrays(problem, timeout=5.0)
    assert any("not computed within half of the time limit left" in note for note in analysis.notes)


# -- memory: estimated from the texts before anything is allocated ---------------------------------

GIB = 1024**3


@pytest.fixture
def no_big_allocation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a start value or constant of more than 10⁶ entries is ever built."""
    import symdescent.vectors.data as data

    real = np.full

    def full(count: int, *args: object, **kwargs: object) -> np.ndarray:
        assert count <= 10**6, f"allocated {count} entries before the memory check"
        return real(count, *args, **kwargs)

    monkeypatch.setattr(data.np, "full", full)


@pytest.mark.parametrize(
    ("options", "what"),
    [
        (["--start", "x=ones(3*10^8)"], "the start values would take about 2.2 GiB"),
        (["--start", "x=2*ones(2500000000)"], "the start values would take about 18.6 GiB"),
        (["--start", "x=zeros(3)", "--data", "b=ones(10^9)"], "the data would take about 7.5 GiB"),
        (["--start", "x=zeros(3)", "--param", "b=ones(10^9)"], "the data would take about 7.5 GiB"),
    ],
)
@pytest.mark.parametrize("command", ["run", "analyze", "explain", "compare"])
def test_sizes_in_values_are_refused_with_both_figures_before_allocating(
    monkeypatch: pytest.MonkeyPatch, no_big_allocation: None, command: str, options: list[str], what: str
) -> None:
    monkeypatch.setenv("SYMDESCENT_MEMORY_LIMIT", "1G")
    result = cli(command, "sum((x-b)^2)" if "b=" in " ".join(options) else "sum((x-1)^2)", *options)
    assert result.exit_code == 2, result.output
    line = result.stderr.splitlines()[0]
    assert line.startswith(f"Error: not enough memory: {what}; ") and "left under SYMDESCENT_MEMORY_LIMIT" in line


def test_grad_at_a_huge_point_is_refused_before_allocating(monkeypatch: pytest.MonkeyPatch, no_big_allocation) -> None:
    monkeypatch.setenv("SYMDESCENT_MEMORY_LIMIT", "500M")
    result = cli("grad", "sum(x^2)", "--at", "x=ones(10^8)")
    assert result.exit_code == 2 and "would take about 762.9 MiB" in result.stderr


def test_a_npy_header_claiming_10_to_the_12_entries_is_refused_from_the_header(tmp_path) -> None:
    """209 bytes that claim 8 TB: refused from the header, exit 2, never MemoryError 'a bug'."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    header += " " * (117 - len(header)) + "\n"
    path = tmp_path / "huge.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
    for options in (["--start", f"x=@{path}"], ["--start", "x=zeros(3)", "--data", f"b={path}"]):
        result = cli("run", "sum((x-b)^2)" if "--data" in options else "sum(x^2)", *options)
        assert result.exit_code == 2, result.output
        assert "not enough memory" in result.stderr and "would take about 7.3 TiB" in result.stderr


def test_the_seed_two_billion_run_fits_a_24_gb_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunked engine's gd holds x alone: 14.9 GiB of 2·10⁹ float64 entries pass with 23 GiB available."""
    from symdescent import memory

    monkeypatch.setattr(memory, "available", lambda: (23 * GIB, "available"))
    memory.check_inputs("x=ones(2*10^9)", (), None)
    memory.check_run(2 * 10**9, "float64", "gd", "kernel")
    assert memory.run_bytes(2 * 10**9, "float64", "gd", "kernel") == 0
    assert memory.run_bytes(2 * 10**9, "float64", "adam", "kernel") == 2 * 8 * 2 * 10**9
    with pytest.raises(
        memory.OutOfMemory, match=r"adam on 2,000,000,000 entries .* about 29.8 GiB; 23.0 GiB available"
    ):
        memory.check_run(2 * 10**9, "float64", "adam", "kernel")


def test_an_address_space_limit_is_honoured(executable) -> None:
    """ulimit -v 3 GB and ones(2*10^9): exit 2 with both figures (was 'internal error … a bug')."""
    import resource
    import subprocess

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 * 10**9, 3 * 10**9))

    out = subprocess.run(
        [str(executable), "run", "sum((x-1)^2)", "--start", "x=ones(2*10^9)", "--steps", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("Error: not enough memory: the start values would take about 14.9 GiB; ")
    assert "left under the address-space limit" in out.stderr and "Traceback" not in out.stderr


def test_a_memory_error_mid_run_closes_the_json_object(monkeypatch: pytest.MonkeyPatch) -> None:
    from symdescent.vectors.run import VectorRun

    real = VectorRun._next_step

    def failing(self: VectorRun, step: object) -> object:
        if self.last.step == 3:
            raise MemoryError
        return real(self, step)

    monkeypatch.setattr(VectorRun, "_next_step", failing)
    result = cli("run", "x @ x", "--start", "x=[1,2]", "--format", "json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)  # whole: not left inside "history": [
    assert [s["step"] for s in data["history"]] == [0, 1, 2, 3]
    assert data["error"].startswith("not enough memory")
    assert result.stderr.startswith("Error: not enough memory") and "bug" not in result.stderr


@pytest.mark.parametrize("command", ["run", "grad", "analyze", "explain", "compare"])
def test_a_memory_error_anywhere_is_one_clean_line(monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    import symdescent.vectors.command as vector_command

    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(vector_command, "build", exhausted)
    at = "--at" if command == "grad" else "--start"
    result = cli(command, "x @ x", at, "x=[1,2]")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "Error: not enough memory: an allocation failed while the command ran"
    assert "bug" not in result.stderr


# -- settings that are refused, and threads capped to the cores ------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SYMDESCENT_THREADS", "0"),
        ("SYMDESCENT_THREADS", "-1"),
        ("SYMDESCENT_THREADS", "abc"),
        ("SYMDESCENT_THREADS", "1.5"),
        ("SYMDESCENT_KERNEL", "bogus"),
        ("SYMDESCENT_MEMORY_LIMIT", "lots"),
    ],
)
def test_a_bad_setting_is_one_line_exit_2(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    result = cli("run", "sum((x-1)^2)", "--start", "x=ones(10)", "--steps", "1")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {name} must be ") and "bug" not in result.stderr


def test_numba_asked_for_without_numba_is_one_line_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    from symdescent.kernels import jit

    monkeypatch.setattr(jit, "have_numba", lambda: False)
    monkeypatch.setenv("SYMDESCENT_KERNEL", "numba")
    monkeypatch.setenv("SYMDESCENT_VECTOR_ENGINE", "kernel")
    result = cli("run", "sum((x-1)^2)", "--start", "x=ones(10)", "--steps", "1")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: the numba kernel needs numba, which is not installed")


def test_a_huge_thread_count_is_capped_to_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    import sympy as sp

    from symdescent.kernels import chunks
    from symdescent.kernels.banded import compile_banded
    from symdescent.kernels.terms import BandTerm

    monkeypatch.setenv("SYMDESCENT_THREADS", "1000000000")
    a = sp.Symbol("a", real=True)
    function = compile_banded([BandTerm((a - 1) ** 2, {0: a})])
    assert function.threads == chunks.usable_cores()
    assert len(function.sweeper.blocks(10**8)) <= chunks.usable_cores()


# -- Ctrl-C while the program loads, and just after its output --------------------------------------

_LOADING = """
import builtins, os, signal, sys
sys.argv = ["symdescent", "run", "x^2", "--start", "1", "--steps", "2", "--format", "csv"]
real_import = builtins.__import__

def importing(name, *args, **kwargs):
    if name == "click":
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the program is still loading
    return real_import(name, *args, **kwargs)

builtins.__import__ = importing
from symdescent.cli import main
sys.exit(main())
"""

_AFTER_OUTPUT = """
import os, signal, sys
sys.argv = ["symdescent", "run", "x^2", "--start", "1", "--steps", "2", "--tol", "0", "--format", "csv"]
from symdescent.cli import main
try:
    main()
except SystemExit:
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C just after the output is complete
    raise
"""


@pytest.mark.parametrize(("code", "expected"), [(_LOADING, 130), (_AFTER_OUTPUT, 0)])
def test_ctrl_c_while_loading_or_after_the_output_is_quiet(code: str, expected: int) -> None:
    """Was: a KeyboardInterrupt traceback while loading; exit 0 turned into death by SIGINT after the output."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in out.stderr and "KeyboardInterrupt" not in out.stderr, out.stderr
    assert out.returncode == expected, out.stderr
    if expected == 0:
        assert out.stdout.startswith("step,x,f,df/dx,grad_norm\n") and out.stdout.count("\n") == 4


# -- the scalar path's big inputs ------------------------------------------------------------------


def test_a_long_sum_is_shown_without_sorting_all_its_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    """grad of a 50,000-variable quadratic passed 4 GB: SymPy's printing order compares every term's
    monomial over all the variables (n² exponents) to show 240 characters. The first terms suffice."""
    import sympy as sp

    from symdescent.render.mathtext import inline

    def refuse(self: object, *args: object, **kwargs: object) -> object:
        raise AssertionError("sorted every term of a long sum")

    xs = sp.symbols("x1:1001", real=True)
    long_sum = sp.Add(*(k * x**2 for k, x in enumerate(xs, 1)))
    monkeypatch.setattr(sp.Add, "as_ordered_terms", refuse)
    text = inline(long_sum)
    assert len(text) == 240 and text.endswith("…") and "x1²" in text
    monkeypatch.undo()
    assert inline(sp.Symbol("x") ** 2 + 2 * sp.Symbol("y")) == "x² + 2y"  # short sums keep SymPy's order


def test_grad_of_many_variables_is_answered_in_little_memory() -> None:
    text = "+".join(f"x{k}^2" for k in range(1, 401))
    result = cli("grad", text, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert len(data["gradient"]) == 400


@pytest.mark.parametrize("version", [1, 2])
def test_a_containers_memory_limit_counts(tmp_path, monkeypatch: pytest.MonkeyPatch, version: int) -> None:
    """MemAvailable is the machine's: a container's cgroup limit (v1 or v2) is what the kernel enforces."""
    from symdescent import memory

    proc = tmp_path / "cgroup"
    if version == 2:
        proc.write_text("0::/box\n")
        (tmp_path / "box").mkdir()
        (tmp_path / "box" / "memory.max").write_text(f"{3 * GIB}\n")
        (tmp_path / "box" / "memory.current").write_text(f"{GIB}\n")
    else:
        proc.write_text("5:cpu:/\n4:memory:/box\n")
        (tmp_path / "memory" / "box").mkdir(parents=True)
        (tmp_path / "memory" / "box" / "memory.limit_in_bytes").write_text(f"{3 * GIB}\n")
        (tmp_path / "memory" / "box" / "memory.usage_in_bytes").write_text(f"{GIB}\n")
    assert memory._cgroup_left(str(proc), str(tmp_path)) == 2 * GIB
    monkeypatch.setattr(memory, "_cgroup_left", lambda: 2 * GIB)
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 20 * GIB)
    with pytest.raises(memory.OutOfMemory, match=r"about 7.5 GiB; 2.0 GiB left under the memory limit of this"):
        memory.check_inputs("x=ones(10^9)", (), None)


def test_checking_many_rules_at_one_point_measures_the_point_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """explain checks each of n update rules at one point: measuring its n coordinates each time was n²."""
    import sympy as sp

    point = tuple(sp.Rational(1, k) for k in range(1, 301))
    x = sp.Symbol("x")
    calls = []
    real = budget._growth_bits
    monkeypatch.setattr(budget, "_growth_bits", lambda value: calls.append(value) or real(value))
    for _ in range(50):
        budget.check_exact_evaluation(x**2, point)
    assert len(calls) == 300  # once per coordinate, not once per rule


def test_explain_shortens_a_long_sum_without_measuring_it_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule table of a 3,000-variable quadratic: count_ops only on small pieces, no whole-sum ordering."""
    import sympy as sp

    from symdescent.render.formulas import DOTS, abbreviate

    xs = sp.symbols("x1:301", real=True)
    long_sum = sp.Add(*(k * x**2 for k, x in enumerate(xs, 1)))
    real = sp.count_ops

    def counting(expr: object, *args: object, **kwargs: object) -> object:
        assert len(sp.Add.make_args(expr)) < 300, "count_ops on the whole sum"
        return real(expr, *args, **kwargs)

    monkeypatch.setattr(sp, "count_ops", counting)
    shown = abbreviate(long_sum)
    assert DOTS in shown.args and len(shown.args) == 5


def test_a_constant_below_every_float_runs_as_zero_with_a_warning() -> None:
    """Issue 19, item 18: 1e-400 (a literal, or a product of two small ones) is the 0.0 a float would be."""
    for text in ("1e-400*x^2 + x^2 + y^2", "1e-200*1e-200*x^2 + x^2 + y^2"):
        out = cli("run", text, "--start", "1,2", "--lr", "0.1", "-q")
        assert out.exit_code == 0, out.stderr
        assert [float(v) for v in out.stdout.split()] == pytest.approx([2.0568806966515085e-07, 4.113761393303017e-07])
        assert out.stderr.startswith("Warning: ") and "taken as 0" in out.stderr and "Traceback" not in out.stderr
        again = cli("run", text, "--start", "1,2", "--lr", "0.1", "-q")  # warm from the cache: the same warning
        assert again.stderr == out.stderr
    assert cli("run", "1e400*x", "--start", "1").exit_code == 2  # too large stays refused: it is no float at all
