"""``symdescent explain``: the derivation of gradient descent, as a textbook would write it."""

from __future__ import annotations

from typing import Any

import click

from symdescent.cli.arrays import data_option, wants_vectors
from symdescent.cli.capture import keep
from symdescent.cli.console import make_console
from symdescent.cli.plumbing import Streams, build_problem, count_option, expr_command, handle_errors, read_function
from symdescent.memory import memory_reported

EXAMPLES_EXPLAIN = """
\b
Examples:
  symdescent explain "x**2+y**2" --start 1,2 --lr 0.1
  symdescent explain "(x+2*y-7)**2+(2*x+y-5)**2" --start 0,0 --lr 1/10 --format markdown
  symdescent explain "x**4-3*x" --start 1 --lr 0.05 --format latex > derivation.tex
  symdescent explain "x @ x" --start "x=[1,2]" --lr 0.1 --format markdown
"""

EXPLAIN_FORMATS = ("auto", "rich", "text", "markdown", "latex")


@expr_command("explain", EXAMPLES_EXPLAIN)
@click.option(
    "--start", required=True, metavar="V", help="Start point: 1,2 or x=1,y=2; exact values like 1/3 or pi/4 work."
)
@click.option(
    "--lr",
    default="0.1",
    show_default=True,
    metavar="A",
    help="Learning rate α, positive; exact: 0.1 is taken as 1/10, and 1/3 or pi/10 work.",
)
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    type=click.Choice(EXPLAIN_FORMATS),
    help="auto: rich on a terminal, text when piped; text is plain Unicode; latex is a fragment "
    "that needs \\usepackage{amsmath}.",
)
@count_option("--iterates", "N", "List the iterates x₀ … x_N.", low=0, high=100, default=5, show_default=True)
@data_option
@handle_errors
@memory_reported
def explain_command(
    expr: str,
    variables: str | None,
    params: str | None,
    start: str,
    lr: str,
    fmt: str,
    iterates: int,
    data: tuple[str, ...] = (),
) -> None:
    """The derivation of gradient descent on EXPR, as a textbook would write it.

    \b
    In order: the function; each partial derivative, rule by rule (sum,
    power, product, quotient, chain, and each function's rule); the
    gradient; the update rule with α substituted and simplified; for a
    quadratic f, the closed form of the iterates, when they converge
    (0 < α < 2/λ_max) and the fastest α = 2/(λ_min + λ_max); otherwise the
    same analysis of the Hessian at the start point and at the minimum the
    run finds; then the first iterates, exact when --start and --lr are.
    """
    from symdescent.explain import explain
    from symdescent.render.explain import render_explanation

    streams = Streams.current()
    explanation: Any
    if wants_vectors(expr, start, data):
        from symdescent.vectors.command import explain_vectors

        text = read_function(expr, streams)
        explanation = explain_vectors(text, start, data, params, lr, iterates=iterates, variables=variables)
    else:
        problem = build_problem(expr, variables, params, streams)
        explanation = explain(problem, start, lr, iterates=iterates)
    keep(explanation)
    if fmt == "auto":
        fmt = "rich" if streams.stdout_isatty else "text"
    console = make_console(streams) if fmt == "rich" else None
    render_explanation(explanation, fmt, streams.stdout, console)


COMMAND = explain_command
