"""``symdescent sweep``: one run per learning rate on a log grid; α → outcome, steps, final f."""

from __future__ import annotations

import sys
from typing import Any

import click

from symdescent.cli import capture
from symdescent.cli.arrays import data_option, note, wants_vectors
from symdescent.cli.console import draw_picture, make_console
from symdescent.cli.plumbing import (
    ExitCode,
    Streams,
    count_option,
    expr_command,
    handle_errors,
    interrupted_code,
    method_options,
    number_option,
    option_numbers,
    output_protected,
    problem_from_text,
    read_function,
)
from symdescent.cli.typos import method_option

EXAMPLES_SWEEP = """
\b
Examples:
  symdescent sweep "x**2+y**2" --start 1,2 --lr 0.01..2 --points 12
  symdescent sweep "x^2 + 10*y^2" --start 1,1 --lr 0.001..0.5 --method momentum --plot sweep.png
  symdescent sweep "x @ x" --start "x=[1,2]" --lr 0.1..1.5 --format json
"""


@expr_command("sweep", EXAMPLES_SWEEP)
@click.option("--start", required=True, metavar="V", help="Start point of every run: 1,2 or x=1,y=2.")
@click.option("--lr", "lr_range", required=True, metavar="A..B", help="The learning rates: A to B on a log scale.")
@click.option("--points", default=20, show_default=True, type=click.IntRange(2, 200), metavar="K", help="How many α.")
@method_option(
    "The optimiser (one with a learning rate): gd, momentum, nesterov, adam, rmsprop, adagrad, backtracking."
)
@click.option("--steps", default=1000, show_default=True, type=click.IntRange(min=0), help="At most this many updates.")
@click.option("--tol", default="1e-6", show_default=True, metavar="T", help="Each run stops when ‖∇f‖ ≤ T.")
@method_options
@click.option("--maximize", is_flag=True, help="Maximise f.")
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    type=click.Choice(("auto", "table", "csv", "tsv", "json")),
    help="auto: table on a terminal, csv when piped (a row as each run ends).",
)
@click.option(
    "--plot",
    metavar="FILE",
    help='Also draw steps and final f against α: FILE.png, .svg, .pdf or .gif (needs "symdescent[plot]").',
)
@count_option("--workers", "N", "Runs in parallel (default: one per core).", high=256)
@data_option
@handle_errors
def sweep(
    expr: str,
    variables: str | None,
    params: str | None,
    start: str,
    lr_range: str,
    points: int,
    method: str,
    steps: int,
    tol: str,
    maximize: bool,
    fmt: str,
    plot: str | None,
    workers: int | None,
    data: tuple[str, ...] = (),
    **method_params: str | None,
) -> None:
    """Run EXPR from --start once per learning rate α on a log grid from A to B and tabulate how each run ended.

    Each row: α, the outcome (converged, diverged, max_steps; or diverging:
    the step limit came while f was above its start value), the steps, the
    final f and ‖∇f‖. For gradient descent on a function whose Hessian is
    constant, the stability edge 2/λmax and the fastest α = 2/(λmin + λmax)
    are printed below the table and marked on the picture. The runs are
    independent and run in parallel, one process per core.

    \b
    Exit codes: 0 when the sweep ran, whatever each run's outcome; 2 for
    bad input; 130 interrupted (the rows finished so far are printed).
    """
    from symdescent.sweep import grid, parse_range
    from symdescent.sweep import sweep as run_sweep

    streams = Streams.current()
    low, high = parse_range(lr_range)
    lrs = grid(low, high, points)
    if plot is not None:
        from symdescent.render.plot import check_plot_file

        check_plot_file(plot)  # before the runs: a bad path or a missing matplotlib costs nothing
    problem: Any
    text = read_function(expr, streams)
    if wants_vectors(text, start, data):
        from symdescent.vectors.command import build

        problem, start_point = build(text, start, data, params, note=note), None
    else:
        problem, start_point = problem_from_text(text, variables, params), start
    if fmt == "auto":
        fmt = "table" if streams.stdout_isatty else "csv"
    renderer = _renderer(fmt, streams, text)
    result = run_sweep(
        problem,
        start_point,
        lrs,
        method=method,
        max_steps=steps,
        tol=number_option(tol, "--tol", positive=False),
        maximize=maximize,
        workers=workers,
        on_point=renderer.point,
        **option_numbers(method_params),
    )
    capture.keep(result)
    with output_protected():
        renderer.finish(result)
    if plot is not None and result.points:
        from symdescent.render.plot_sweep import plot_sweep

        draw_picture(lambda: plot_sweep(result, plot, steps), plot)
    if result.interrupted:
        if fmt != "table":
            click.echo(f"interrupted: after {len(result.points)} of {len(lrs)} learning rates", err=True)
        sys.exit(interrupted_code())
    sys.exit(ExitCode.OK)


def _renderer(fmt: str, streams: Streams, text: str) -> Any:
    from symdescent.render import sweep as render

    if fmt == "table":
        return render.TableSweepRenderer(make_console(streams), title=" ".join(text.split()))
    if fmt in ("csv", "tsv"):
        return render.DelimitedSweepRenderer(streams.stdout, "," if fmt == "csv" else "\t")
    return render.JsonSweepRenderer(streams.stdout)


COMMAND = sweep
