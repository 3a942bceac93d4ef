"""The command line: options in, a library call, a renderer out, an exit code.

This is the only module that knows about terminals, streams and exit codes.
The heavy imports (SymPy, Rich) happen inside the commands, so ``--help``
and usage errors answer without loading them.
"""

from __future__ import annotations

import enum
import inspect
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import click

from symdescent import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from symdescent.problem import Problem
    from symdescent.render import Renderer
    from symdescent.render.numbers import Notation
    from symdescent.result import Status, Step


class ExitCode(enum.IntEnum):
    """The documented exit codes (README, SPEC)."""

    OK = 0  # converged, fixed-step run completed, or other command succeeded
    INTERNAL = 1  # a bug
    BAD_INPUT = 2  # usage, parse error, bad start point
    DIVERGED = 3
    MAX_STEPS = 4
    TOO_SLOW = 5  # --exact: the exact numbers grew so big that the next step would take over a second
    BROKEN_PIPE = 141  # the reader went away (like a process killed by SIGPIPE)
    INTERRUPTED = 130  # Ctrl-C


def exit_code_for(status: Status) -> ExitCode:
    from symdescent.result import Status

    return {
        Status.CONVERGED: ExitCode.OK,
        Status.COMPLETED: ExitCode.OK,
        Status.MAX_STEPS: ExitCode.MAX_STEPS,
        Status.DIVERGED: ExitCode.DIVERGED,
        Status.INTERRUPTED: ExitCode.INTERRUPTED,
        Status.TOO_SLOW: ExitCode.TOO_SLOW,
    }[status]


@dataclass(frozen=True)
class Streams:
    """The standard streams and whether stdout is a terminal (swappable in tests)."""

    stdin: TextIO
    stdout: TextIO
    stderr: TextIO

    @property
    def stdout_isatty(self) -> bool:
        isatty = getattr(self.stdout, "isatty", None)
        return bool(isatty and isatty())

    @classmethod
    def current(cls) -> Streams:
        return cls(sys.stdin, sys.stdout, sys.stderr)


def _debug_enabled() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    flag = bool(root and root.obj and root.obj.get("debug"))
    return flag or os.environ.get("SYMDESCENT_DEBUG", "") not in ("", "0")


def fail(message: str, hint: str | None = None, code: ExitCode = ExitCode.BAD_INPUT) -> None:
    """Print ``Error: …`` (and a hint) on stderr and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    if hint:
        click.echo(f"Hint: {hint}", err=True)
    sys.exit(code)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into one-line messages and exit codes; bugs into exit 1."""
    import functools

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from symdescent.errors import SymdescentError

        try:
            return command(*args, **kwargs)
        except SymdescentError as error:
            if _debug_enabled():
                raise
            fail(error.message, error.hint)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except BrokenPipeError:
            _quiet_broken_pipe()
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except RecursionError:
            if _debug_enabled():
                raise
            fail("the function is too deeply nested to process")
        except Exception as error:
            if _debug_enabled():
                raise
            fail(
                f"internal error: {type(error).__name__}: {error}",
                "this is a bug in symdescent; please report it with the command you ran (--debug shows the traceback)",
                ExitCode.INTERNAL,
            )

    return wrapper


def _quiet_broken_pipe() -> None:
    # Point stdout at devnull so the interpreter's final flush does not fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(ExitCode.BROKEN_PIPE)


# -- shared options -----------------------------------------------------------------

EXAMPLES_RUN = """
\b
Examples:
  symdescent run "x**2+y**2" --start 1,2 --lr 0.1
  symdescent run "(1-x)^2 + 100*(y-x^2)^2" --start -1.2,1 --lr 0.001 --steps 20000 --every 1000
  symdescent run "a*x^2 + y^2" --param a=3 --start x=1,y=-1 --format json
  echo "x^4 - 3*x" | symdescent run - --start 1 -q
"""

EXAMPLES_GRAD = """
\b
Examples:
  symdescent grad "x**2+y**2+z**3" --at 1,1,2
  symdescent grad "sin(x)*exp(y)" --format json
"""

FUNCTION_HELP = """
\b
EXPR is the function, or - to read it from standard input
(an EXPR that starts with '-' works: symdescent run "-x^2" ...):
  operators + - * / ** ^, brackets, numbers like 2, 0.5, 1e-3;
  functions sin cos tan cot sec csc asin acos atan atan2 sinh cosh tanh
  asinh acosh atanh exp log ln sqrt abs; constants pi and E.
  Every other name is a variable (ordered x2 before x10 unless --vars).
"""


def function_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """EXPR plus --vars and --param, shared by every command that takes a function."""
    command = click.option(
        "--param",
        "params",
        metavar="NAME=VALUE,...",
        help="Fix symbols that are parameters, not variables: --param a=2,b=0.5.",
    )(command)
    command = click.option(
        "--vars",
        "variables",
        metavar="X,Y,...",
        help="The variables and their order (default: every free name, x2 before x10).",
    )(command)
    return click.argument("expr", metavar="EXPR")(command)


def read_function(expr: str, streams: Streams) -> str:
    if expr != "-":
        return expr
    from symdescent.parsing import MAX_LENGTH

    text = streams.stdin.read(MAX_LENGTH + 1)
    return text


def build_problem(expr: str, variables: str | None, params: str | None, streams: Streams) -> Problem:
    from symdescent.errors import InputError
    from symdescent.problem import make_problem, split_top_level

    names = [v.strip() for v in variables.split(",")] if variables is not None else None
    fixed: dict[str, str] = {}
    for item in split_top_level(params) if params else []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"bad --param {item!r}: write name=value, e.g. --param a=2")
        fixed[name.strip()] = value.strip()
    return make_problem(read_function(expr, streams), variables=names, params=fixed)


def make_console(streams: Streams, *, stderr: bool = False) -> Console:
    """A Rich console: styled on a terminal; plain and never width-limited when piped."""
    from rich.console import Console

    out = streams.stderr if stderr else streams.stdout
    if streams.stdout_isatty and not stderr:
        return Console(file=out, highlight=False)
    return Console(file=out, width=100_000, force_terminal=False, no_color=True, highlight=False, soft_wrap=False)


def number_option(text: str, what: str, *, positive: bool) -> float:
    from symdescent.errors import InputError
    from symdescent.parsing import parse_constant

    value = float(parse_constant(text, what))
    if positive and value <= 0:
        raise InputError(f"{what} must be positive, got {text}")
    if value < 0:
        raise InputError(f"{what} must not be negative, got {text}")
    return value


# -- commands -------------------------------------------------------------------------


CONTEXT = {"help_option_names": ["-h", "--help"], "ignore_unknown_options": True}


class ExprCommand(click.Command):
    """A command whose EXPR may begin with '-' ("-x^2"), yet misspelt options still fail clearly.

    Unknown options are let through (``ignore_unknown_options``) so that an
    expression like ``-x^2`` reaches EXPR; a word starting with ``--`` that
    is no option of ours is still refused, with a suggestion.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        import difflib

        known = {opt for param in self.get_params(ctx) for opt in (*param.opts, *param.secondary_opts)}
        for arg in args:
            if arg == "--":
                break
            name = arg.split("=", 1)[0]
            if name.startswith("--") and name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=3)
                raise click.NoSuchOption(name, possibilities=close, ctx=ctx)
        return super().parse_args(ctx, args)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="symdescent")
@click.option("--debug", is_flag=True, help="Show tracebacks (also SYMDESCENT_DEBUG=1).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """See gradient descent work, step by step, on a function you type.

    \b
    Examples:
      symdescent run "x**2+y**2" --start 1,2 --lr 0.1
      symdescent grad "x**2+y**2+z**3" --at 1,1,2
      symdescent analyze "x**3 - 3*x + y**2"

    \b
    Exit codes: 0 converged or done, 1 internal error, 2 bad input,
    3 diverged, 4 step limit reached, 5 exact numbers grew too big (--exact),
    130 interrupted.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


FORMATS = ("auto", "table", "csv", "tsv", "json", "jsonl")


@main.command(cls=ExprCommand, context_settings=CONTEXT, epilog=EXAMPLES_RUN)
@function_options
@click.option(
    "--start", required=True, metavar="V", help="Start point: 1,2 or x=1,y=2; exact values like 1/3 or pi/4 work."
)
@click.option(
    "--lr", default="0.1", show_default=True, metavar="A", help="Learning rate α (step size), positive; 1/10 works."
)
@click.option("--steps", default=1000, show_default=True, type=click.IntRange(min=0), help="At most this many updates.")
@click.option(
    "--tol", default="1e-6", show_default=True, metavar="T", help="Stop when ‖∇f‖ ≤ T; 0 runs exactly --steps updates."
)
@click.option("--method", default="gd", show_default=True, type=click.Choice(["gd"]), help="gd: x ← x − α∇f(x).")
@click.option("--maximize", is_flag=True, help="Gradient ascent: x ← x + α∇f(x).")
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    type=click.Choice(FORMATS),
    help="auto: table on a terminal, csv when piped.",
)
@click.option(
    "--every",
    default=None,
    type=click.IntRange(min=1),
    metavar="K",
    help="Print every K-th step (first and last always).",
)
@click.option(
    "--digits",
    default=None,
    type=click.IntRange(1, 17),
    help="Significant digits in the table  [default: 6; D with --working-precision D]",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the final point, values separated by spaces.")
@click.option(
    "--exact",
    is_flag=True,
    help="Exact arithmetic: 1/10 and 0.1 stay 1/10, iterates are fractions (4/5, 16/25, …); "
    "stops with exit 5 when the numbers grow too big to continue quickly.",
)
@click.option(
    "--working-precision",
    type=click.IntRange(1, 100_000),
    metavar="D",
    help="Compute every value with D significant digits (mpmath floats) and print D digits.",
)
@handle_errors
def run(
    expr: str,
    variables: str | None,
    params: str | None,
    start: str,
    lr: str,
    steps: int,
    tol: str,
    method: str,
    maximize: bool,
    fmt: str,
    every: int | None,
    digits: int | None,
    quiet: bool,
    exact: bool,
    working_precision: int | None,
) -> None:
    """Iterate gradient descent on EXPR from --start and print every step.

    Step 0 is the start point; step k is the point after k updates. The
    table hides the middle of long runs (unless --every); machine formats
    (csv, tsv, json, jsonl) print floats exactly (shortest round-trip) and
    never hide rows; jsonl streams one line per step as it is computed.

    With --exact every number is exact: the table shows fractions, csv
    SymPy syntax (4/5), json strings ("4/5"). With --working-precision D
    every value has D significant digits; csv, json and the table print
    them with D digits (json as strings).
    """
    from symdescent.iterate import iterate
    from symdescent.render.numbers import notation_for

    streams = Streams.current()
    problem = build_problem(expr, variables, params, streams)
    number_option(lr, "--lr", positive=True)
    run_ = iterate(
        problem,
        start,
        method=method,
        lr=lr if exact or working_precision is not None else number_option(lr, "--lr", positive=True),
        max_steps=steps,
        tol=number_option(tol, "--tol", positive=False),
        maximize=maximize,
        exact=exact,
        working_precision=working_precision,
    )
    if fmt == "auto":
        fmt = "table" if streams.stdout_isatty else "csv"
    if digits is None:
        digits = working_precision or 6
    notation = notation_for(run_.arithmetic)
    renderer = _renderer(
        "quiet" if quiet else fmt, streams, run_.problem, digits=digits, elide=every is None, notation=notation
    )
    shown: list[Step] = []
    try:
        for step in thinned(run_, every or 1):
            renderer.step(step)
            shown.append(step)
    except KeyboardInterrupt:
        run_.interrupt()
        if not shown or shown[-1].step != run_.last.step:
            renderer.step(run_.last)
            shown.append(run_.last)
    result = run_.result(shown)
    renderer.finish(result)
    if (fmt != "table" or quiet) and not result.success:
        click.echo(f"{result.status}: {result.message}", err=True)
    sys.exit(exit_code_for(result.status))


def thinned(steps: Iterable[Step], every: int) -> Iterator[Step]:
    """Every ``every``-th step, plus always the first and the last."""
    pending = None
    for step in steps:
        if step.step % every == 0:
            pending = None
            yield step
        else:
            pending = step
    if pending is not None:
        yield pending


def _renderer(
    fmt: str, streams: Streams, problem: Problem, *, digits: int, elide: bool, notation: Notation | None = None
) -> Renderer:
    from symdescent.render.numbers import FLOATS

    notation = notation or FLOATS
    out = streams.stdout
    if fmt == "table":
        from symdescent.render.table import TableRenderer

        return TableRenderer(make_console(streams), problem, digits=digits, elide=elide, notation=notation)
    if fmt in ("csv", "tsv"):
        from symdescent.render.delimited import DelimitedRenderer

        return DelimitedRenderer(out, problem.names, "," if fmt == "csv" else "\t", notation)
    if fmt == "json":
        from symdescent.render.json import JsonRenderer

        return JsonRenderer(out, notation)
    if fmt == "jsonl":
        from symdescent.render.json import JsonLinesRenderer

        return JsonLinesRenderer(out, notation)
    from symdescent.render.quiet import QuietRenderer

    return QuietRenderer(out, notation)


@main.command(cls=ExprCommand, context_settings=CONTEXT, epilog=EXAMPLES_GRAD)
@function_options
@click.option("--at", metavar="V", help="Evaluate the gradient at this point: 1,2 or x=1,y=2.")
@click.option(
    "--format",
    "fmt",
    default="rich",
    show_default=True,
    type=click.Choice(["rich", "text", "json"]),
    help="rich (styled, on a terminal), text (plain Unicode) or json.",
)
@handle_errors
def grad(expr: str, variables: str | None, params: str | None, at: str | None, fmt: str) -> None:
    """The partial derivatives of EXPR and its gradient, optionally evaluated --at a point."""
    from symdescent.gradient import evaluate_gradient
    from symdescent.render.gradient import render_gradient

    streams = Streams.current()
    problem = build_problem(expr, variables, params, streams)
    report = evaluate_gradient(problem, at)
    console = make_console(streams) if fmt == "rich" else None
    render_gradient(report, fmt, streams.stdout, console)


EXAMPLES_ANALYZE = """
\b
Examples:
  symdescent analyze "x**3 - 3*x + y**2"
  symdescent analyze "(x+2*y-7)^2 + (2*x+y-5)^2" --format json
  symdescent analyze "x**4/4 + cos(x)" --timeout 2
"""


@main.command(cls=ExprCommand, context_settings=CONTEXT, epilog=EXAMPLES_ANALYZE)
@function_options
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
    help="Time SymPy may spend solving ∇f = 0 exactly before the numeric search takes over.",
)
@handle_errors
def analyze(expr: str, variables: str | None, params: str | None, fmt: str, timeout: float) -> None:
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
    from symdescent.analyze import analyze as analyze_function
    from symdescent.render.analyze import render_analysis

    streams = Streams.current()
    problem = build_problem(expr, variables, params, streams)
    analysis = analyze_function(problem, timeout=timeout)
    console = make_console(streams) if fmt == "rich" else None
    render_analysis(analysis, fmt, streams.stdout, console)


run.help = inspect.cleandoc(run.help or "") + "\n" + FUNCTION_HELP
analyze.help = inspect.cleandoc(analyze.help or "") + "\n" + FUNCTION_HELP
grad.help = inspect.cleandoc(grad.help or "") + "\n" + FUNCTION_HELP
