"""``symdescent grad``: the partial derivatives, optionally evaluated at a point."""

from __future__ import annotations

import io

import click

from symdescent.cli.arrays import data_option, wants_vectors
from symdescent.cli.capture import keep
from symdescent.cli.console import make_console
from symdescent.cli.plumbing import Streams, build_problem, expr_command, handle_errors, read_function
from symdescent.memory import memory_reported

EXAMPLES_GRAD = """
\b
Examples:
  symdescent grad "x**2+y**2+z**3" --at 1,1,2
  symdescent grad "sin(x)*exp(y)" --format json
  symdescent grad "x @ x" --at "x=[1,2]"
  symdescent grad "norm(A @ x - b)^2" --data A=A.csv --data b=b.csv --at "x=zeros(3)"
"""


@expr_command("grad", EXAMPLES_GRAD)
@click.option(
    "--at",
    metavar="V",
    help='Evaluate the gradient at this point: 1,2 or x=1,y=2; vectors: "x=[1,2]", "w=zeros(3),b=0".',
)
@click.option(
    "--format",
    "fmt",
    default="rich",
    show_default=True,
    type=click.Choice(["rich", "text", "json", "latex"]),
    help="rich (styled, on a terminal), text (plain Unicode, with the rule-by-rule steps), json, "
    "or latex (a fragment with the steps; needs \\usepackage{amsmath}).",
)
@data_option
@handle_errors
@memory_reported
def grad(
    expr: str, variables: str | None, params: str | None, at: str | None, fmt: str, data: tuple[str, ...] = ()
) -> None:
    """The partial derivatives of EXPR and its gradient, optionally evaluated --at a point."""
    from symdescent.gradient import evaluate_gradient
    from symdescent.render.gradient import render_gradient

    streams = Streams.current()
    expr = read_function(expr, streams)
    if wants_vectors(expr, at, data):
        from symdescent.vectors.command import grad_vectors

        text = io.StringIO()
        grad_vectors(expr, variables, fmt, text, at, data, params)
        streams.stdout.write(_fitted(text.getvalue(), fmt, make_console(streams).width))
        return
    problem = build_problem(expr, variables, params, streams)
    report = evaluate_gradient(problem, at, steps=fmt in ("text", "latex"))
    keep(report)
    console = make_console(streams) if fmt == "rich" else None
    render_gradient(report, fmt, streams.stdout, console)


def _fitted(text: str, fmt: str, width: int) -> str:
    """The vector report's prose broken at spaces to the screen's width (json and latex stay as they are)."""
    if fmt in ("json", "latex"):
        return text
    from symdescent.render.fit import wrap

    lines = []
    for line in text.split("\n"):
        lead = line[: len(line) - len(line.lstrip())]
        hang = lead + ("  " if line.lstrip().startswith("• ") else "")
        lines.extend(wrap(line.strip(), width, indent=lead, hang=hang) if line.strip() else [""])
    return "\n".join(lines)


COMMAND = grad
