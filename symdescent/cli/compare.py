"""``symdescent compare``: several optimisers from one start point, one row per method."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from symdescent.cli import capture
from symdescent.cli.arrays import data_option, note, wants_vectors
from symdescent.cli.console import draw_picture, make_console
from symdescent.cli.plumbing import (
    METHOD_NAMES,
    ExitCode,
    Streams,
    build_problem,
    expr_command,
    format_option,
    handle_errors,
    interrupted_code,
    method_options,
    methods_help,
    number_option,
    option_numbers,
    output_protected,
    positive_number,
    read_function,
    say,
)
from symdescent.cli.typos import complete_methods
from symdescent.memory import memory_reported

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from symdescent.problem import Problem
    from symdescent.render.compare import CompareRenderer
    from symdescent.result import Result

EXAMPLES_COMPARE = """
\b
Examples:
  symdescent compare "(1-x)**2+100*(y-x**2)**2" --start -1.2,1 --methods all
  symdescent compare "x^2 + 10*y^2" --start 1,1 --methods gd,momentum,adam --lr 0.05
  symdescent compare "x^2 + 10*y^2" --start 1,1 --methods gd,adam --lr adam=0.1,gd=0.05 --format json
"""


@expr_command("compare", EXAMPLES_COMPARE, methods_help("--methods"))
@click.option("--start", required=True, metavar="V", help="Start point of every run: 1,2 or x=1,y=2.")
@click.option(
    "--methods",
    default="all",
    show_default=True,
    metavar="M,M,...|all",
    shell_complete=complete_methods,
    help=f"The methods to compare, in this order: {', '.join(METHOD_NAMES)}, or all.",
)
@click.option(
    "--lr",
    default=None,
    metavar="A|M=A,...",
    help="Learning rate for every method that has one, or per method: adam=0.1,gd=0.05. Default per method: "
    "1e-3 gd, momentum, nesterov, rmsprop; 1e-2 adam; 1 adagrad; backtracking starts from 1.",
)
@click.option(
    "--steps",
    default=None,
    type=click.IntRange(min=0),
    help="At most this many updates per method (default 50000).",
)
@click.option("--tol", default="1e-6", show_default=True, metavar="T", help="Each run stops when ‖∇f‖ ≤ T.")
@method_options
@click.option("--maximize", is_flag=True, help="Maximise f with every method.")
@format_option("auto: table on a terminal, csv when piped; jsonl writes one line per method as it finishes.")
@click.option(
    "--digits", default=6, show_default=True, type=click.IntRange(1, 17), help="Significant digits in the table."
)
@click.option(
    "--plot",
    metavar="FILE",
    help='Also draw every method\'s path on one picture: FILE.png, .svg or .pdf; FILE.gif races them '
    '(needs the plot extra).',
)
@data_option
@handle_errors
@memory_reported
def compare(
    expr: str,
    variables: str | None,
    params: str | None,
    start: str,
    methods: str,
    lr: str | None,
    steps: int | None,
    tol: str,
    maximize: bool,
    fmt: str,
    digits: int,
    plot: str | None,
    data: tuple[str, ...] = (),
    **method_params: str | None,
) -> None:
    """Run several optimisers on EXPR from the same --start and compare them, one row per method.

    Each row: the step size used, how the run ended (status), steps, final f,
    final point, ‖∇f‖, evaluations of f and ∇f (and of the Hessian, for
    newton) and wall time. A method that fails (step limit, divergence) says
    so in its row and below the table; the others still run.

    \b
    Exit codes: 0 when the comparison ran, whatever each method's status
    (read it from the table or the JSON); 2 for bad input; 130 interrupted.
    """
    from symdescent.compare import compare as compare_methods
    from symdescent.compare import parse_learning_rates, parse_methods

    streams = Streams.current()
    if wants_vectors(expr, start, data):
        from symdescent.errors import InputError
        from symdescent.vectors.command import build

        if plot is not None:
            raise InputError("compare --plot is not available for vector problems", hint="run --plot draws one run")
        problem: Any = build(read_function(expr, streams), start, data, params, note=note)
        start_point = None
    else:
        problem = build_problem(expr, variables, params, streams)
        start_point = start
    chosen = parse_methods(methods)
    rates = parse_learning_rates(lr, chosen, positive_number) if lr is not None else None
    if fmt == "auto":
        fmt = "table" if streams.stdout_isatty else "csv"
    renderer = _compare_renderer(fmt, streams, problem, digits)
    keep = None
    if plot is not None:
        from symdescent.render.plot import check_plot_file, keep_for_picture

        check_plot_file(plot)  # before the runs: a bad path or a missing matplotlib costs nothing
        keep = keep_for_picture
    comparison = compare_methods(
        problem,
        start_point,
        chosen,
        lr=rates,
        max_steps=steps,
        tol=number_option(tol, "--tol", positive=False),
        maximize=maximize,
        on_run=renderer.run,
        keep=keep,
        **option_numbers(method_params),
    )
    capture.keep(comparison)
    with output_protected():
        renderer.finish(comparison)
        if fmt == "table":
            _say_chosen_learning_rates(comparison.runs, rates)
    if plot is not None and comparison.runs:
        from symdescent.render.plot import plot_compare

        draw_picture(lambda: plot_compare(problem, comparison.runs, plot), plot)
    if comparison.interrupted:
        if fmt != "table":
            click.echo(f"interrupted: during {comparison.runs[-1].method}; the methods after it did not run", err=True)
        sys.exit(interrupted_code())
    sys.exit(ExitCode.OK)


def _say_chosen_learning_rates(runs: Sequence[Result], given: Mapping[str, float] | None) -> None:
    """The learning rates compare chose itself, and why they are not run's default 0.1."""
    chosen = [f"{r.method} {r.params['lr']:g}" for r in runs if "lr" in r.params and r.method not in (given or {})]
    if chosen:
        say(
            f"Note: learning rates compare chose (run's default is 0.1): {', '.join(chosen)}; picked so that each "
            "method survives steep valleys such as Rosenbrock's (curvature up to 2000). Set them with --lr 0.1 "
            "or --lr gd=0.1."
        )


def _compare_renderer(fmt: str, streams: Streams, problem: Problem, digits: int) -> CompareRenderer:
    from symdescent.render import compare as render

    if fmt == "table":
        return render.TableCompareRenderer(make_console(streams), problem, digits=digits)
    if fmt in ("csv", "tsv"):
        return render.DelimitedCompareRenderer(streams.stdout, problem.entry_layout, "," if fmt == "csv" else "\t")
    if fmt == "json":
        return render.JsonCompareRenderer(streams.stdout)
    return render.JsonLinesCompareRenderer(streams.stdout)


COMMAND = compare
