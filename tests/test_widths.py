"""Tables and text that fit the terminal with every number whole, and the table's bounded memory.

On a terminal the CLI gives Rich the terminal's width (``COLUMNS`` here); every
line must fit it, and every number must be printed whole and right: the run
table is read back and checked against ``--format csv`` of the same run; the
text of ``analyze`` and ``explain`` must be the same words as the unfitted
text output (fitting may only move line breaks).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterator
from decimal import Decimal

import click.testing
import pytest
import sympy as sp
from click.testing import CliRunner
from conftest import ROSENBROCK
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from symdescent import minimize
from symdescent.cli import main
from symdescent.problem import make_problem
from symdescent.render.fit import choose, table_width, wrap
from symdescent.render.numbers import FLOATS, ExactNotation, Notation, PrecisionNotation, plural
from symdescent.render.sparkline import SparkSampler, sparkline
from symdescent.render.table import HEAD_ROWS, SHOW_ALL_SLACK, TAIL_ROWS, THINNED_ROWS, TableRenderer
from symdescent.result import Step

WIDTHS = (60, 80, 100, 120, 200)
VARIABLES = (1, 2, 3, 6, 10)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """CliRunner's stdout claims to be a terminal, so the CLI draws for people at ``COLUMNS``."""
    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True, raising=False)
    yield


def on_screen(width: int, *args: str) -> str:
    result = CliRunner().invoke(
        main, list(args), env={"COLUMNS": str(width), "LINES": "50", "TERM": "dumb", "NO_COLOR": "1"}
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    out = ANSI.sub("", result.stdout)
    too_long = [line for line in out.splitlines() if len(line) > width]
    assert not too_long, f"lines wider than {width}: {too_long}"
    return out


def piped(*args: str) -> str:
    return CliRunner().invoke(main, list(args)).stdout


def quadratic(n: int) -> tuple[str, str, tuple[str, ...]]:
    names = ("x",) if n == 1 else ("x", "y") if n == 2 else ("x", "y", "z") if n == 3 else ()
    names = names or tuple(f"x{i}" for i in range(1, n + 1))
    expr = "+".join(f"{i + 1}*{v}**2" for i, v in enumerate(names))
    return expr, ",".join(str(i % 3 + 1) for i in range(n)), names


@functools.cache
def parsed(text: str) -> sp.Expr:
    return sp.sympify(text)  # test code reading our own output, never user input


@functools.cache
def value(cell: str) -> sp.Expr:
    """A table cell as a number: ``0.8``, ``≈1.2e-05``, ``16/25``, ``8√5/5``, ``√(x + 1)``, ``−3``."""
    text = re.sub(r"√(\d+)", r"sqrt(\1)", cell.removeprefix("≈").replace("−", "-")).replace("√(", "sqrt(")
    text = re.sub(r"(\d)(sqrt)", r"\1*\2", text)
    assert re.fullmatch(r"[-+0-9.e/*()sqrt]+", text), f"not a whole number: {cell!r}"
    return parsed(text)


def table_rows(out: str) -> tuple[list[str], list[list[str]], str]:
    """The header, the data rows (⋮ left out) and the notes below the table."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == ["step"])
    header = lines[start].split()
    rows = []
    i = start + 2
    while lines[i].strip():
        if lines[i].split()[0] != "⋮":
            rows.append(lines[i].split())
        i += 1
    notes = []
    while i + 1 < len(lines) and not lines[i + 1].startswith(("✔", "⚠", "✘", "■")):
        i += 1
        notes.append(lines[i].strip())
    return header, rows, " ".join(notes)


CSV_NAME = {"f": "f", "‖∇f‖": "grad_norm"}


def check_run_table(out: str, reference: str, exact: bool, asked: int = 6) -> None:
    """Each cell is the CSV's value, whole: exactly, or rounded to the digits the table says it shows."""
    header, rows, notes = table_rows(out)
    data = {int(r["step"]): r for r in csv.DictReader(io.StringIO(reference))}
    found = re.search(r"(\d+) digits", notes)
    digits = int(found.group(1)) if found else asked
    if header[-2:] == ["method", "used"]:
        header = [*header[:-2], "method used"]
    assert "step" in header and "f" in header and "‖∇f‖" in header
    for row in rows:
        assert len(row) >= len(header), f"a cell broke apart or was cut: {row}"
        truth = data[int(row[0])]
        for name, cell in zip(header[1:], row[1:], strict=False):
            if name == "method used":
                break
            column = CSV_NAME.get(name) or (f"df/d{name[4:]}" if name.startswith("∂f/∂") else name)
            shown = value(cell)
            if exact and not cell.startswith("≈"):
                expected = parsed(truth[column])
                assert shown == expected or sp.simplify(shown - expected) == 0, (name, cell, truth[column])
                continue
            # rounded to `digits` significant digits: within half a unit in the last place
            expected = Decimal(str(sp.N(parsed(truth[column]), 40))) if exact else Decimal(truth[column])
            printed = Decimal(cell.removeprefix("≈").replace("−", "-"))
            assert abs(printed - expected) <= abs(expected) * Decimal(10) ** (1 - digits), (name, cell, expected)


ARITHMETIC = {
    "float": ({}, FLOATS),
    "exact": ({"exact": True}, ExactNotation()),
    "precision": ({"working_precision": 30}, PrecisionNotation(30)),
}


def reference_csv(names: tuple[str, ...], steps: list[Step], notation: Notation) -> str:
    """The run's steps with every digit, as ``--format csv`` writes them."""
    lines = [",".join(["step", *names, "f", *(f"df/d{v}" for v in names), "grad_norm"])]
    for s in steps:
        values = [*s.x, s.f, *s.grad, s.grad_norm]
        lines.append(",".join([str(s.step), *(notation.machine(v) for v in values)]))
    return "\n".join(lines) + "\n"


def drawn(width: int, problem: object, result: object, notation: Notation, **options: object) -> str:
    """The table of ``result`` on a console ``width`` columns wide."""
    out = io.StringIO()
    table = TableRenderer(Console(width=width, file=out), problem, notation=notation, **options)  # type: ignore[arg-type]
    for step in result.history:  # type: ignore[attr-defined]
        table.step(step)
    table.finish(result)  # type: ignore[arg-type]
    text = out.getvalue()
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert not too_long, f"lines wider than {width}: {too_long}"
    return text


@pytest.mark.parametrize("n", VARIABLES)
@pytest.mark.parametrize("arithmetic", ARITHMETIC)
def test_run_table_fits_and_every_number_is_whole(n: int, arithmetic: str) -> None:
    expr, start, names = quadratic(n)
    options, notation = ARITHMETIC[arithmetic]
    steps = 30 if arithmetic == "float" else 12
    lr = 0.05 if arithmetic == "float" else sp.Rational(1, 20)
    result = minimize(expr, [sp.Integer(v) for v in start.split(",")], lr=lr, max_steps=steps, tol=0, **options)
    problem = make_problem(expr)
    reference = reference_csv(problem.names, list(result.history), notation)
    for width in WIDTHS:
        out = drawn(width, problem, result, notation, digits=30 if arithmetic == "precision" else 6)
        check_run_table(out, reference, exact=arithmetic == "exact", asked=30 if arithmetic == "precision" else 6)
        header, _, notes = table_rows(out)
        if n <= 6 and set(names) - set(header):
            assert f"to fit {width} columns" in notes and "hidden" in notes  # what was left out is said
        if width == 200 and n <= 3 and arithmetic == "float":
            assert f"∂f/∂{names[-1]}" in header  # room for everything: nothing hidden


@settings(max_examples=10, deadline=None)
@given(width=st.integers(60, 220), n=st.integers(1, 8), digits=st.integers(3, 12))
def test_any_width_any_digits(width: int, n: int, digits: int) -> None:
    expr, start, _ = quadratic(n)
    result = minimize(expr, [float(v) for v in start.split(",")], lr=0.05, max_steps=8, tol=0)
    problem = make_problem(expr)
    out = drawn(width, problem, result, FLOATS, digits=digits)
    check_run_table(out, reference_csv(problem.names, list(result.history), FLOATS), exact=False, asked=digits)


@pytest.mark.parametrize("width", [60, 200])
def test_the_cli_draws_for_the_terminal_width(terminal: None, width: int) -> None:
    args = ["run", "x**2+2*y**2+3*z**2", "--start", "1,2,3", "--lr", "0.05", "--steps", "30", "--tol", "0"]
    out = on_screen(width, *args, "--format", "table")
    check_run_table(out, piped(*args, "--format", "csv"), exact=False)
    assert ("to fit 60 columns" in out) == (width == 60)


def test_piped_table_keeps_every_digit_and_column() -> None:
    expr, start, names = quadratic(6)
    out = piped("run", expr, "--start", start, "--steps", "3", "--tol", "0", "--format", "table", "--digits", "17")
    header, _, notes = table_rows(out)
    assert header == ["step", *names, "f", *(f"∂f/∂{v}" for v in names), "‖∇f‖"]
    assert "hidden" not in notes


def test_newton_table_drops_partials_before_the_method_column() -> None:
    result = minimize(ROSENBROCK, (-1.2, 1), method="newton")
    problem = make_problem(ROSENBROCK)
    wide, narrow = drawn(200, problem, result, FLOATS), drawn(70, problem, result, FLOATS)
    assert table_rows(wide)[0][-2:] == ["method", "used"]
    header, _, notes = table_rows(narrow)
    assert "∂f/∂x" not in header and "to fit 70 columns: ∂f/∂x" in notes


@pytest.fixture(scope="module")
def comparison() -> tuple[object, object]:
    from symdescent.compare import compare

    problem = make_problem(ROSENBROCK)
    return problem, compare(problem, (-1.2, 1), ["gd", "newton", "cg", "rmsprop"], max_steps=3000)


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_fits_and_prints_each_result_whole(comparison: tuple[object, object], width: int) -> None:
    from symdescent.render.compare import TableCompareRenderer

    problem, result = comparison
    out = io.StringIO()
    TableCompareRenderer(Console(width=width, file=out), problem).finish(result)  # type: ignore[arg-type]
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    words = set(text.replace(",", " ").replace("(", " ").replace(")", " ").split())
    for run in result.runs:  # type: ignore[attr-defined]
        assert run.method in words and str(run.steps) in words
        # f whole, with the table's digits or fewer
        assert any(f"{run.f:.{d}g}" in words for d in range(4, 7)), (run.method, run.f)
    assert "conver" not in words and "ged" not in words  # `conver|ged` was the bug


def test_compare_cli_reaches_the_terminal_width(terminal: None) -> None:
    out = on_screen(80, "compare", "x**2+y**2", "--start", "1,2", "--methods", "gd,adam", "--format", "table")
    assert "gd" in out and "adam" in out


def words(text: str) -> list[str]:
    """The words of a text, without the heading rules (their length follows the wrapped title)."""
    return [w for w in text.split() if set(w) != {"─"}]


ANALYZE = ["x**3-3*x+y**2", "x**3-3*x+y**3-3*y", "(x+y)**2+z**4", ROSENBROCK + "+u**2+v**2+w**2+z**2"]


@pytest.mark.parametrize("expr", ANALYZE)
def test_analyze_fits_by_moving_line_breaks_only(expr: str) -> None:
    from symdescent.analyze import analyze
    from symdescent.render.analyze import render_analysis, text_lines

    analysis = analyze(make_problem(expr))
    text = "\n".join(text_lines(analysis))
    for width in WIDTHS:
        out = io.StringIO()
        render_analysis(analysis, "rich", out, Console(width=width, file=out))
        assert max(len(line) for line in out.getvalue().splitlines()) <= width
        assert words(out.getvalue()) == words(text)


def test_analyze_cli_reaches_the_terminal_width(terminal: None) -> None:
    assert "Critical points" in on_screen(60, "analyze", "x**3-3*x+y**2")


EXPLAIN = [
    ("x**2+y**2", "1,2", "0.1"),
    (ROSENBROCK, "-1.2,1", "0.001"),
    ("x**2", "3", "1/4"),
    ("x1**2+2*x2**2+3*x3**2", "1,1,1", "0.1"),
    ("x1**2+2*x2**2+3*x3**2+4*x4**2+5*x5**2+6*x6**2", "1,1,1,1,1,1", "1/13"),
    ("+".join(f"x{i}**2" for i in range(1, 11)), ",".join(["1"] * 10), "0.1"),
]


@pytest.mark.parametrize(("expr", "start", "lr"), EXPLAIN)
def test_explain_fits_by_moving_line_breaks_only(expr: str, start: str, lr: str) -> None:
    from symdescent.explain import explain
    from symdescent.render.explain import render_explanation, text_lines

    explanation = explain(make_problem(expr), start, lr)
    text = "\n".join(text_lines(explanation))
    text_head, _, text_table = text.partition("The first iterates")
    full = [line.split() for line in text_table.splitlines() if line.strip()[:1].isdigit()]
    for width in WIDTHS:
        out = io.StringIO()
        render_explanation(explanation, "rich", out, Console(width=width, file=out))
        assert max(len(line) for line in out.getvalue().splitlines()) <= width
        head, _, table = out.getvalue().partition("The first iterates")
        assert words(head) == words(text_head)
        # the iterates table may hide middle columns (and says so); each row keeps t and f and whole cells
        shown = [line.split() for line in table.splitlines() if line.strip()[:1].isdigit()]
        assert len(full) == len(shown)
        for a, b in zip(full, shown, strict=True):
            assert b[0] == a[0] and b[-1] == a[-1] and set(b) <= set(a)
        if any(len(a) != len(b) for a, b in zip(full, shown, strict=True)):
            assert f"hidden to fit {width - 4} columns" in " ".join(table.split())


def test_explain_cli_reaches_the_terminal_width(terminal: None) -> None:
    out = on_screen(60, "explain", "x**2+y**2", "--start", "1,2")
    assert "(xₜ, yₜ) = 0.8ᵗ·(1, 2) → (0, 0)" in out


# -- the pieces -------------------------------------------------------------------------------


@given(st.text(alphabet="ab \u00a0", max_size=80), st.integers(8, 40))
def test_wrap_breaks_only_at_spaces(text: str, width: int) -> None:
    lines = wrap(text, width)
    assert " ".join(" ".join(lines).split()) == " ".join(text.replace("\u00a0", " ").split())
    assert all(len(line) <= width or " " not in line.strip() for line in lines)


def test_choose_prefers_columns_then_digits() -> None:
    def measure(option: int, digits: int) -> int:
        return table_width([["x" * (digits + 6)] for _ in range(option)])

    assert choose([5, 4, 3], 6, 1000, measure).option == 5
    choice = choose([5, 4, 3], 6, measure(4, 6), measure, full_digits_only=1)
    assert (choice.option, choice.digits) == (4, 6)
    choice = choose([5, 4], 6, measure(4, 5), measure, full_digits_only=1)
    assert (choice.option, choice.digits) == (4, 5)


def test_table_width_is_what_rich_draws() -> None:
    from rich import box
    from rich.table import Table

    columns = [["step", "0", "10"], ["x", "0.25", "-1.5e-07"], ["‖∇f‖", "3"]]
    table = Table(box=box.SIMPLE_HEAD)
    for column in columns:
        table.add_column(column[0], no_wrap=True)
    table.add_row("0", "0.25", "3")
    table.add_row("10", "-1.5e-07", "")
    console = Console(width=500, file=io.StringIO())
    console.print(table)
    assert max(len(line) for line in console.file.getvalue().splitlines()) == table_width(columns)


def test_plural() -> None:
    assert [plural(k, "step") for k in (0, 1, 2)] == ["0 steps", "1 step", "2 steps"]


@given(st.lists(st.floats(-1e6, 1e6), max_size=700), st.integers(1, 60))
def test_sampler_draws_short_runs_exactly_and_long_ones_boundedly(values: list[float], width: int) -> None:
    sampler = SparkSampler(width)
    for v in values:
        sampler.add(v)
    sample, lowest = sampler.values()
    assert len(sample) <= 2 * width
    if len(values) <= 2 * width:
        assert sample == values
    if values:
        assert lowest == min(values) and max(sample) == max(values)
        assert len(sparkline(sample, width, lowest=lowest)) == min(len(sample), width)


def steps_of(count: int, table: TableRenderer) -> None:
    for k in range(count):
        table.step(Step(k, (1.0 / (k + 1),), 1.0 / (k + 1), (0.5,), 0.5))


@pytest.mark.parametrize("elide", [True, False])
def test_table_memory_is_bounded(elide: bool) -> None:
    problem = make_problem("x**2")
    table = TableRenderer(Console(width=80, file=io.StringIO()), problem, elide=elide)
    steps_of(200_000 if not elide else 50_000, table)
    kept = len(table._head) + len(table._tail)
    head = HEAD_ROWS if elide else THINNED_ROWS
    tail = TAIL_ROWS if elide else THINNED_ROWS
    assert kept == head + tail + SHOW_ALL_SLACK
    rows, hidden = table._rows()
    assert len(rows) == head + tail + 1 and hidden == table._count - head - tail


@pytest.mark.parametrize(("count", "hidden"), [(HEAD_ROWS + TAIL_ROWS + SHOW_ALL_SLACK, 0), (40, 40 - 20)])
def test_a_few_hidden_rows_are_shown_instead(count: int, hidden: int) -> None:
    out = io.StringIO()
    problem = make_problem("x**2")
    table = TableRenderer(Console(width=120, file=out), problem)
    steps_of(count, table)
    assert table._rows()[1] == hidden


def test_below_any_table_each_step_gets_its_own_lines() -> None:
    result = minimize("x**2+y**2", (1, 2), lr=0.1, max_steps=2, tol=0)
    out = drawn(20, make_problem("x**2+y**2"), result, FLOATS)
    assert "step 2" in out and "each step on its own lines" in " ".join(out.split())
    values = {}
    for line in out.splitlines():
        if not line.startswith("   "):  # the heading's formulas are not steps
            continue
        for name, number in re.findall(r"(\S+) = ([^,\s]+)", line):
            values.setdefault(name, []).append(float(number))
    assert values["x"] == [1, 0.8, 0.64] and values["‖∇f‖"][0] == pytest.approx(20**0.5, rel=1e-5)


def test_grad_keeps_its_values_whole_at_every_width() -> None:
    from symdescent.gradient import evaluate_gradient
    from symdescent.render.gradient import plain_number, render_gradient

    report = evaluate_gradient(make_problem("(1-x)**2+100*(y-x**2)**2+sin(x*y*z)"), "1.123456789,2.2,3.3")
    for width in WIDTHS:
        out = io.StringIO()
        render_gradient(report, "rich", out, Console(width=width, file=out))
        text = out.getvalue()
        assert max(len(line) for line in text.splitlines()) <= width
        tokens = set(text.replace(",", " ").replace("(", " ").replace(")", " ").split())
    assert {plain_number(v).replace("-", "−") for v in report.value} <= tokens  # people get the real minus sign
