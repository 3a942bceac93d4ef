"""``symdescent analyze``: Hessian, critical points, convexity and safe step sizes."""

from __future__ import annotations

import click

from symdescent.cli.arrays import data_option, wants_vectors
from symdescent.cli.capture import keep
from symdescent.cli.console import make_console
from symdescent.cli.plumbing import Streams, build_problem, expr_command, handle_errors, read_function
from symdescent.memory import memory_reported

EXAMPLES_ANALYZE = """
\b
Examples:
  symdescent analyze "x**3 - 3*x + y**2"
  symdescent analyze "(x+2*y-7)^2 + (2*x+y-5)^2" --format json
  symdescent analyze "x**4/4 + cos(x)" --timeout 2
  symdescent analyze "mean((a*t + b - T)^2)" --data temps.csv
"""


@expr_command("analyze", EXAMPLES_ANALYZE)
@click.option(
    "--format",
    "fmt",
    default="rich",
    show_default=True,
    type=click.Choice(["rich", "text", "json"]),
    help="rich (styled, on a terminal), text (plain Unicode) or json.",
)
@click.option(
    "--timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True, max=3600),
    metavar="SECONDS",
    help="Time SymPy may spend solving ∇f = 0 exactly before the numeric search takes over; for vector "
    "functions, the time for the Hessian's eigenvalues.",
)
@data_option
@click.option(
    "--start",
    default=None,
    metavar="V",
    help="Vector problems: the variables' sizes, e.g. x=zeros(3),b=0; without it they come from the data "
    "(the vector a matrix multiplies has its columns, every other variable is a scalar).",
)
@handle_errors
@memory_reported
def analyze(
    expr: str,
    variables: str | None,
    params: str | None,
    fmt: str,
    timeout: float,
    data: tuple[str, ...] = (),
    start: str | None = None,
) -> None:
    """The Hessian of EXPR, its critical points and their kind, convexity and safe step sizes.

    Critical points (∇f = 0) are solved exactly by SymPy within --timeout
    seconds; otherwise, and for functions that are not polynomial, Newton's
    method from a grid of seeds in [-3, 3]^n finds them numerically (marked
    ≈ in text, "numeric": true in JSON). Each is a minimum, maximum, saddle or
    degenerate by the eigenvalues of the Hessian there. For a constant
    Hessian: L = λ_max, the largest stable step 2/L and the best step
    2/(λ_min + λ_max). In JSON exact values are strings in SymPy syntax
    ("1/9") and numeric ones numbers.
    """
    import math

    from symdescent.analyze import analyze as analyze_function
    from symdescent.errors import InputError
    from symdescent.render.analyze import render_analysis

    if not math.isfinite(timeout):
        raise InputError(f"--timeout must be a finite number of seconds, got {timeout}")
    streams = Streams.current()
    if wants_vectors(expr, start, data):
        from symdescent.vectors.command import analyze_vectors

        analysis = analyze_vectors(read_function(expr, streams), start, data, params, timeout=timeout)
    else:
        analysis = analyze_function(build_problem(expr, variables, params, streams), timeout=timeout)
    keep(analysis)
    console = make_console(streams) if fmt == "rich" else None
    render_analysis(analysis, fmt, streams.stdout, console)
    if fmt != "json" and analysis.hessian is None and analysis.lambda_max is None and analysis.needs:
        given = " ".join(f"--data {name}=FILE" for name in analysis.needs)
        streams.stdout.write(f"Give the data to compute them: {given}\n")


COMMAND = analyze
