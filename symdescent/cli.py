"""The command line: options in, a library call, a renderer out, an exit code.

This is the only module that knows about terminals, streams and exit codes.
The heavy imports (SymPy, Rich) happen inside the commands, so ``--help``
and usage errors answer without loading them.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

import click

from symdescent import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from symdescent.problem import Problem
    from symdescent.render import Renderer
    from symdescent.render.numbers import Notation
    from symdescent.render.plot import PlotRenderer
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


class Streams(NamedTuple):
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
        from symdescent import budget
        from symdescent.errors import SymdescentError

        try:
            with budget.time_limit():  # parse, gradient, compile, explain and analyze; never the steps
                return command(*args, **kwargs)
        except SymdescentError as error:
            _traceback_if_debugging()
            fail(error.message, error.hint)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except BrokenPipeError:
            _quiet_broken_pipe()
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except RecursionError:
            _traceback_if_debugging()
            fail("the function is too deeply nested to process")
        except UnicodeEncodeError as error:
            _traceback_if_debugging()
            fail(
                f"the output cannot be written in this terminal's encoding ({error.encoding})",
                "set PYTHONIOENCODING=utf-8, or choose --format csv",
            )
        except Exception as error:
            _traceback_if_debugging()
            first_line = str(error).splitlines()[0] if str(error) else ""
            fail(
                f"internal error: {type(error).__name__}: {first_line}",
                "this is a bug in symdescent; please report it with the command you ran (--debug shows the traceback)",
                ExitCode.INTERNAL,
            )

    return wrapper


def _traceback_if_debugging() -> None:
    """With --debug, show the traceback; the exit code stays what it would be without it."""
    if _debug_enabled():
        import traceback

        traceback.print_exc()


def _quiet_broken_pipe() -> None:
    # Point stdout at devnull so the interpreter's final flush does not fail again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (e.g. under a test runner)
        pass
    sys.exit(ExitCode.BROKEN_PIPE)


# -- shared options -----------------------------------------------------------------

EXAMPLES_RUN = """
\b
Examples:
  symdescent run "x**2+y**2" --start 1,2 --lr 0.1
  symdescent run "(1-x)^2 + 100*(y-x^2)^2" --start -1.2,1 --lr 0.001 --steps 20000 --every 1000
  symdescent run "(1-x)^2 + 100*(y-x^2)^2" --start -1.2,1 --method newton
  symdescent run "x^2 + 10*y^2" --start 1,1 --method momentum --lr 0.05 --momentum 0.5
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
    from symdescent.budget import MAX_LENGTH
    from symdescent.errors import InputError

    if streams.stdin is None:
        raise InputError("the function should come from standard input ('-'), but standard input is closed")
    try:
        return streams.stdin.read(MAX_LENGTH + 1)
    except UnicodeDecodeError:
        raise InputError("standard input is not text in this terminal's encoding") from None


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

    class QuietOnBrokenPipe(Console):
        # Rich exits with 1 when the reader goes away; we document 141, like any command killed by SIGPIPE
        def on_broken_pipe(self) -> None:
            self.quiet = True
            _quiet_broken_pipe()

    out = streams.stderr if stderr else streams.stdout
    if streams.stdout_isatty and not stderr:
        return QuietOnBrokenPipe(file=out, highlight=False)
    return QuietOnBrokenPipe(
        file=out, width=100_000, force_terminal=False, no_color=True, highlight=False, soft_wrap=False
    )


def number_option(text: str, what: str, *, positive: bool) -> float:
    from symdescent.errors import InputError
    from symdescent.parsing import parse_constant

    value = float(parse_constant(text, what))
    if positive and value <= 0:
        raise InputError(f"{what} must be positive, got {text}")
    if value < 0:
        raise InputError(f"{what} must not be negative, got {text}")
    return value


METHODS = (
    "gd",
    "momentum",
    "nesterov",
    "adam",
    "rmsprop",
    "adagrad",
    "newton",
    "backtracking",
    "exact-line",
    "cg",
)

#: The methods' own options: CLI name -> (keyword, help).
METHOD_OPTIONS = {
    "--momentum": ("momentum", "μ for momentum and nesterov, in [0, 1) (default 0.9)."),
    "--beta1": ("beta1", "Adam's β₁, in [0, 1) (default 0.9)."),
    "--beta2": ("beta2", "Adam's β₂, in [0, 1) (default 0.999)."),
    "--decay": ("decay", "RMSprop's ρ (torch's alpha), in [0, 1) (default 0.99)."),
    "--eps": ("eps", "ε added to the denominator: adam, rmsprop 1e-8; adagrad 1e-10."),
}


def method_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--momentum, --beta1, --beta2, --decay, --eps: each method takes the ones it uses."""
    for flag, (name, text) in reversed(METHOD_OPTIONS.items()):
        command = click.option(flag, name, default=None, metavar="B", help=text)(command)
    return command


def hyperparameters(*, exact: bool = False, **given: str | None) -> dict[str, float | str]:
    """The options the user gave, as numbers (the methods supply their own defaults for the rest).

    With exact or working-precision arithmetic the checked text itself is
    passed on, so that the run can read ``0.1`` as exactly 1/10.
    """
    values: dict[str, float | str] = {}
    for name, text in given.items():
        if text is not None:
            number = number_option(text, f"--{name}", positive=name in ("lr", "eps"))
            values[name] = text if exact else number
    return values


def cleandoc(text: str) -> str:
    """A docstring without its indentation, like ``inspect.cleandoc`` (inspect costs 10 ms at start-up)."""
    first, _, rest = text.strip("\n").partition("\n")
    return (first.strip() + "\n" + textwrap.dedent(rest)).strip()


def methods_help(option: str = "--method") -> str:
    """Each method and its update rule, for --help (no SymPy needed)."""
    from symdescent.methods import UPDATE_RULES

    width = max(map(len, UPDATE_RULES))
    rules = "\n".join(f"  {name:<{width}}  {rule}" for name, rule in UPDATE_RULES.items())
    return f"\n\b\nMethods ({option}) and their update rules:\n{rules}\n"


# -- commands -------------------------------------------------------------------------


CONTEXT = {"help_option_names": ["-h", "--help"]}


_OPTION_NAME = re.compile(r"--[A-Za-z][-A-Za-z0-9]*")


class ExprCommand(click.Command):
    """A command whose EXPR may begin with '-' ("-x^2", "-(x+1)"), yet misspelt options still fail clearly.

    Click would read "-x^2" as a cluster of short options, so before parsing,
    any argument that starts with '-' but is neither one of our options nor
    the value of one is moved behind a "--" and so reaches EXPR untouched. A
    word that looks like a long option (``--stpes``) but is none of ours is
    refused with a suggestion.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        import difflib

        options = [p for p in self.get_params(ctx) if isinstance(p, click.Option)]
        with_value = {name for p in options if not p.is_flag for name in (*p.opts, *p.secondary_opts)}
        flags = {name for p in options if p.is_flag for name in (*p.opts, *p.secondary_opts)}
        kept: list[str] = []
        expressions: list[str] = []
        position = 0
        while position < len(args):
            arg = args[position]
            name = arg.split("=", 1)[0]
            if arg == "--":
                kept.extend(args[position:])
                break
            if arg in with_value:
                kept.extend(args[position : position + 2])
                position += 2
                continue
            if name in with_value or arg in flags:
                kept.append(arg)
            elif _OPTION_NAME.fullmatch(name):
                close = difflib.get_close_matches(name, sorted(with_value | flags), n=1)
                raise click.NoSuchOption(name, possibilities=close, ctx=ctx)
            elif arg.startswith("-") and arg != "-":
                expressions.append(arg)
            else:
                kept.append(arg)
            position += 1
        if expressions:
            if "--" in kept:
                cut = kept.index("--") + 1
                kept[cut:cut] = expressions
            else:
                kept += ["--", *expressions]
        return super().parse_args(ctx, kept)


class SymdescentGroup(click.Group):
    """The top-level group: Click's usage errors in our one-line ``Error:`` / ``Hint:`` form."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        from_command_line = not args and kwargs.get("args") is None
        try:
            try:
                code = super().main(*args, standalone_mode=False, **kwargs)
            finally:
                # Rich and print buffer: a reader that went away (| head -1) shows up only here
                try:
                    sys.stdout.flush()
                except BrokenPipeError:
                    _quiet_broken_pipe()
        except SystemExit as exit_:
            if exit_.code == ExitCode.INTERRUPTED and from_command_line:
                # The user has asked to stop and the output is complete: a second Ctrl-C
                # during interpreter shutdown must not turn exit 130 into death by SIGINT.
                import signal

                signal.signal(signal.SIGINT, signal.SIG_IGN)
            raise
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.format_message(), err=True)  # the help itself, for a bare "symdescent run"
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(f"Error: {error.format_message()}", err=True)
            context = getattr(error, "ctx", None)
            if context is not None:
                click.echo(f"Hint: see '{context.command_path} --help'", err=True)
            sys.exit(error.exit_code)
        except (click.exceptions.Abort, KeyboardInterrupt):
            # also a late second Ctrl-C, after the output is complete
            sys.exit(ExitCode.INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=SymdescentGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="symdescent")
@click.option("--debug", is_flag=True, help="Show tracebacks (also SYMDESCENT_DEBUG=1).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """See gradient descent work, step by step, on a function you type.

    \b
    Examples:
      symdescent run "x**2+y**2" --start 1,2 --lr 0.1
      symdescent grad "x**2+y**2+z**3" --at 1,1,2
      symdescent compare "(1-x)**2+100*(y-x**2)**2" --start -1.2,1 --methods all
      symdescent explain "x**2+y**2" --start 1,2 --lr 0.1
      symdescent analyze "x**3 - 3*x + y**2"

    \b
    Exit codes: 0 converged or done, 1 internal error, 2 bad input,
    3 diverged, 4 step limit reached, 5 exact numbers grew too big (--exact),
    130 interrupted, 141 output closed.
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
    "--lr",
    default=None,
    metavar="A",
    help="Learning rate α (step size), positive; 1/10 works. Default 0.1; backtracking starts from 1; "
    "newton, exact-line and cg choose their own steps.",
)
@click.option("--steps", default=1000, show_default=True, type=click.IntRange(min=0), help="At most this many updates.")
@click.option(
    "--tol", default="1e-6", show_default=True, metavar="T", help="Stop when ‖∇f‖ ≤ T; 0 runs exactly --steps updates."
)
@click.option(
    "--method",
    default="gd",
    show_default=True,
    type=click.Choice(METHODS),
    help="The optimiser; its update rule is listed below.",
)
@method_options
@click.option("--maximize", is_flag=True, help="Maximise f (every method then minimises −f; gd: x ← x + α∇f(x)).")
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
@click.option(
    "--plot",
    metavar="FILE",
    help='Also write a picture of the run to FILE.png, .svg or .pdf (needs: pip install "symdescent[plot]").',
)
@click.option(
    "--explain",
    "show_explanation",
    is_flag=True,
    help="Print the derivation (as the explain command does) before the steps; with csv, tsv, json, jsonl "
    "or -q it goes to stderr, so that stdout stays machine-readable.",
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
    plot: str | None,
    show_explanation: bool = False,
    **method_params: str | None,
) -> None:
    """Iterate an optimiser (gradient descent by default) on EXPR from --start and print every step.

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
    run_ = iterate(
        problem,
        start,
        method=method,
        **hyperparameters(lr=lr, exact=exact or working_precision is not None, **method_params),
        max_steps=steps,
        tol=number_option(tol, "--tol", positive=False),
        maximize=maximize,
        exact=exact,
        working_precision=working_precision,
    )
    if fmt == "auto":
        fmt = "table" if streams.stdout_isatty else "csv"
    plotter = _plotter(problem, plot)
    if show_explanation:
        _explain_before_run(problem, start, lr, method, maximize, streams, to_stderr=quiet or fmt != "table")
    if digits is None:
        digits = working_precision or 6
    notation = notation_for(run_.arithmetic)
    renderer = _renderer(
        "quiet" if quiet else fmt, streams, run_.problem, digits=digits, elide=every is None, notation=notation
    )
    shown: list[Step] = []
    try:
        for step in thinned(plotter.recording(run_) if plotter else run_, every or 1):
            renderer.step(step)
            shown.append(step)
    except KeyboardInterrupt:
        run_.interrupt()
        if not shown or shown[-1].step != run_.last.step:
            renderer.step(run_.last)
            shown.append(run_.last)
    result = run_.result(shown)
    with output_protected():
        renderer.finish(result)
        if (fmt != "table" or quiet) and not result.success:
            click.echo(f"{result.status}: {result.message}", err=True)
        if plotter:
            # Every step taken, also of a run that diverged, hit the limit or was interrupted.
            plotter.step(run_.last)
            plotter.finish(result)
            click.echo(f"Picture written to {plot}", err=True)
    sys.exit(exit_code_for(result.status))


@contextlib.contextmanager
def output_protected() -> Iterator[None]:
    """Ignore Ctrl-C while the results are written: a second, impatient Ctrl-C must not cut the JSON short."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _explain_before_run(
    problem: Problem, start: str, lr: str, method: str, maximize: bool, streams: Streams, *, to_stderr: bool
) -> None:
    """``run --explain``: the derivation first; on stderr when stdout carries machine-readable data."""
    from symdescent.errors import InputError
    from symdescent.explain import explain
    from symdescent.render.explain import render_explanation

    if maximize or method != "gd":
        raise InputError("--explain derives plain gradient descent (--method gd) and cannot be used with --maximize")
    explanation = explain(problem, start, lr if lr is not None else "0.1")  # gd's default step size
    out = streams.stderr if to_stderr else streams.stdout
    console = None if to_stderr or not streams.stdout_isatty else make_console(streams)
    render_explanation(explanation, "rich" if console else "text", out, console)
    out.write("\n")
    out.flush()


def _plotter(problem: Problem, path: str | None) -> PlotRenderer | None:
    """The --plot renderer, checked (format, matplotlib, directory) before the run starts."""
    if path is None:
        return None
    from symdescent.render.plot import PlotRenderer

    return PlotRenderer(problem, path)


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
    type=click.Choice(["rich", "text", "json", "latex"]),
    help="rich (styled, on a terminal), text (plain Unicode, with the rule-by-rule steps), json, "
    "or latex (a fragment with the steps; needs \\usepackage{amsmath}).",
)
@handle_errors
def grad(expr: str, variables: str | None, params: str | None, at: str | None, fmt: str) -> None:
    """The partial derivatives of EXPR and its gradient, optionally evaluated --at a point."""
    from symdescent.gradient import evaluate_gradient
    from symdescent.render.gradient import render_gradient

    streams = Streams.current()
    problem = build_problem(expr, variables, params, streams)
    report = evaluate_gradient(problem, at, steps=fmt in ("text", "latex"))
    console = make_console(streams) if fmt == "rich" else None
    render_gradient(report, fmt, streams.stdout, console)


EXAMPLES_COMPARE = """
\b
Examples:
  symdescent compare "(1-x)**2+100*(y-x**2)**2" --start -1.2,1 --methods all
  symdescent compare "x^2 + 10*y^2" --start 1,1 --methods gd,momentum,adam --lr 0.05
  symdescent compare "x^2 + 10*y^2" --start 1,1 --methods gd,adam --lr adam=0.1,gd=0.05 --format json
"""


@main.command(cls=ExprCommand, context_settings=CONTEXT, epilog=EXAMPLES_COMPARE)
@function_options
@click.option("--start", required=True, metavar="V", help="Start point of every run: 1,2 or x=1,y=2.")
@click.option(
    "--methods",
    default="all",
    show_default=True,
    metavar="M,M,...|all",
    help=f"The methods to compare, in this order: {', '.join(METHODS)}, or all.",
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
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    type=click.Choice(FORMATS),
    help="auto: table on a terminal, csv when piped; jsonl writes one line per method as it finishes.",
)
@click.option(
    "--digits", default=6, show_default=True, type=click.IntRange(1, 17), help="Significant digits in the table."
)
@click.option(
    "--plot",
    metavar="FILE",
    help='Also draw every method\'s path on one picture: FILE.png, .svg or .pdf (needs "symdescent[plot]").',
)
@handle_errors
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
    problem = build_problem(expr, variables, params, streams)
    chosen = parse_methods(methods)
    rates = parse_learning_rates(lr, chosen, _positive_number) if lr is not None else None
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
        start,
        chosen,
        lr=rates,
        max_steps=steps,
        tol=number_option(tol, "--tol", positive=False),
        maximize=maximize,
        on_run=renderer.run,
        keep=keep,
        **hyperparameters(**method_params),
    )
    with output_protected():
        renderer.finish(comparison)
        if plot is not None and comparison.runs:
            from symdescent.render.plot import plot_compare

            plot_compare(problem, comparison.runs, plot)
            click.echo(f"Picture written to {plot}", err=True)
    if comparison.interrupted:
        if fmt != "table":
            click.echo(f"interrupted: during {comparison.runs[-1].method}; the methods after it did not run", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(ExitCode.OK)


def _positive_number(text: str, what: str) -> float:
    return number_option(text, what, positive=True)


def _compare_renderer(fmt: str, streams: Streams, problem: Problem, digits: int) -> Any:
    from symdescent.render import compare as render

    if fmt == "table":
        return render.TableCompareRenderer(make_console(streams), problem, digits=digits)
    if fmt in ("csv", "tsv"):
        return render.DelimitedCompareRenderer(streams.stdout, problem.names, "," if fmt == "csv" else "\t")
    if fmt == "json":
        return render.JsonCompareRenderer(streams.stdout)
    return render.JsonLinesCompareRenderer(streams.stdout)


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
    import math

    from symdescent.analyze import analyze as analyze_function
    from symdescent.errors import InputError
    from symdescent.render.analyze import render_analysis

    if not math.isfinite(timeout):
        raise InputError(f"--timeout must be a finite number of seconds, got {timeout}")
    streams = Streams.current()
    problem = build_problem(expr, variables, params, streams)
    analysis = analyze_function(problem, timeout=timeout)
    console = make_console(streams) if fmt == "rich" else None
    render_analysis(analysis, fmt, streams.stdout, console)


EXAMPLES_EXPLAIN = """
\b
Examples:
  symdescent explain "x**2+y**2" --start 1,2 --lr 0.1
  symdescent explain "(x+2*y-7)**2+(2*x+y-5)**2" --start 0,0 --lr 1/10 --format markdown
  symdescent explain "x**4-3*x" --start 1 --lr 0.05 --format latex > derivation.tex
"""

EXPLAIN_FORMATS = ("auto", "rich", "text", "markdown", "latex")


@main.command("explain", cls=ExprCommand, context_settings=CONTEXT, epilog=EXAMPLES_EXPLAIN)
@function_options
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
@click.option(
    "--iterates",
    default=5,
    show_default=True,
    type=click.IntRange(0, 100),
    metavar="N",
    help="List the iterates x₀ … x_N.",
)
@handle_errors
def explain_command(
    expr: str, variables: str | None, params: str | None, start: str, lr: str, fmt: str, iterates: int
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
    problem = build_problem(expr, variables, params, streams)
    explanation = explain(problem, start, lr, iterates=iterates)
    if fmt == "auto":
        fmt = "rich" if streams.stdout_isatty else "text"
    console = make_console(streams) if fmt == "rich" else None
    render_explanation(explanation, fmt, streams.stdout, console)


run.help = cleandoc(run.help or "") + "\n" + methods_help() + FUNCTION_HELP
grad.help = cleandoc(grad.help or "") + "\n" + FUNCTION_HELP
compare.help = cleandoc(compare.help or "") + "\n" + methods_help("--methods") + FUNCTION_HELP
explain_command.help = cleandoc(explain_command.help or "") + "\n" + FUNCTION_HELP
analyze.help = cleandoc(analyze.help or "") + "\n" + FUNCTION_HELP
