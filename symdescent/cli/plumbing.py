"""What every command shares: streams, errors, options, number parsing (exit codes: :mod:`symdescent.cli.exits`).

The heavy imports (SymPy, Rich) happen inside functions, so ``--help``
and usage errors answer without loading them.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

import click

from symdescent import settings
from symdescent.cli.exits import (
    ExitCode,
    fail,
    interrupted_code,
    output_failed,
)
from symdescent.cli.helptext import FittingContext
from symdescent.cli.signals import INTERRUPTS, Terminated
from symdescent.errors import InputError
from symdescent.methods import METHODS as METHOD_SPECS

if TYPE_CHECKING:
    from symdescent.problem import Problem
    from symdescent.result import Status


def exit_code_for(status: Status) -> ExitCode:
    """The exit code of a run's status (from :data:`symdescent.result.STATUSES`)."""
    from symdescent.result import STATUSES, Status

    if status is Status.INTERRUPTED:
        return interrupted_code()
    return ExitCode(STATUSES[status].exit_code)


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
    try:
        return flag or settings.debug()
    except InputError:  # a bad SYMDESCENT_DEBUG is reported by check_all; no traceback meanwhile
        return False


def say(text: str) -> None:
    """A warning or note on stderr: on a terminal wrapped at spaces to its width, else one line for grep."""
    isatty = getattr(sys.stderr, "isatty", None)
    if isatty and isatty():
        import shutil
        import textwrap

        width = shutil.get_terminal_size().columns
        text = textwrap.fill(
            text, width=max(width - 1, 40), subsequent_indent="  ", break_on_hyphens=False, break_long_words=False
        )
    click.echo(text, err=True)


#: The library's keyword arguments by the names of this CLI's options: the core's errors name the
#: keyword (``momentum must lie in [0, 1)``), the CLI says ``--momentum`` (:func:`symdescent.errors.worded`).
OPTION_NAMES = {
    "lr": "--lr",
    "tol": "--tol",
    "max_steps": "--steps",
    "exact": "--exact",
    "working_precision": "--working-precision",
    "variables": "--vars",
    "methods": "--methods",
    "momentum": "--momentum",
    "beta1": "--beta1",
    "beta2": "--beta2",
    "decay": "--decay",
    "eps": "--eps",
    "params": "--param",
    "method": "--method",
    "start": "--start",
    "data": "--data",
    "dtype": "--dtype",
}


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into one-line messages and exit codes; bugs into exit 1."""
    import functools

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from symdescent.errors import SymdescentError, worded

        try:
            settings.check_all()  # every SYMDESCENT_* variable: a bad one is refused before any work
            from symdescent import budget  # reads SYMDESCENT_TIME_LIMIT once, on first import

            with budget.time_limit():  # parse, gradient, compile, explain and analyze; never the steps
                return command(*args, **kwargs)
        except SymdescentError as error:
            _traceback_if_debugging()
            fail(*worded(error, OPTION_NAMES))
        except KeyboardInterrupt as stop:
            code = ExitCode.TERMINATED if isinstance(stop, Terminated) else interrupted_code()
            click.echo("Terminated." if code == ExitCode.TERMINATED else "Interrupted.", err=True)
            sys.exit(code)
        except OSError as error:
            output_failed(error)
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


# -- shared options -----------------------------------------------------------------

_FUNCTION_HELP = """
\b
EXPR is the function, or - to read it from standard input
(an EXPR that starts with '-' works: symdescent run "-x^2" ...):
  operators + - * / ** ^, brackets, numbers like 2, 0.5, 1e-3;
  functions {functions};
  constants pi and E.
  Every other name is a variable (ordered x2 before x10 unless --vars).
"""


def function_help() -> str:
    """EXPR's syntax, the end of every such command's help (one line of functions: ExprCommand breaks it)."""
    from symdescent.functions import FUNCTIONS

    return _FUNCTION_HELP.format(functions=" ".join(FUNCTIONS))


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
    return problem_from_text(read_function(expr, streams), variables, params)


def problem_from_text(text: str, variables: str | None, params: str | None) -> Problem:
    """The problem for a function already read (``run`` reads it once, to look it up in the cache too)."""
    from symdescent.problem import make_problem
    from symdescent.values import assignments

    names = [v.strip() for v in variables.split(",")] if variables is not None else None
    fixed = assignments(params, "--param", "--param a=2") if params else {}
    problem = make_problem(text, variables=names, params=fixed)
    for note in problem.parse_notes:  # a constant taken as 0 (below every float)
        say(f"Warning: {note}")
    if names is None:
        warn_about_lookalikes(problem.names)
    return problem


def lookalike_warnings(names: Sequence[str]) -> list[str]:
    """The stderr lines for names one letter from another variable or a function (``yy``, ``sinx``)."""
    from symdescent.cli.typos import lookalikes
    from symdescent.functions import FUNCTIONS
    from symdescent.parsing import CONSTANTS

    warnings = lookalikes(names, [*FUNCTIONS, *CONSTANTS])
    if not warnings:
        return []
    hint = f"Hint: --vars {','.join(names)} says these names are meant (and silences this)"
    return [*(f"Warning: {warning}" for warning in warnings), hint]


def warn_about_lookalikes(names: Sequence[str]) -> None:
    """A warning each on stderr (``run`` keeps them in the cache too, to repeat them without SymPy)."""
    for line in lookalike_warnings(names):
        say(line)


def number_option(text: str, what: str, *, positive: bool) -> float:
    from symdescent.errors import InputError
    from symdescent.warm import plain_float

    value = plain_float(text)  # 0.1 or 1e-3 need no SymPy (a warm run never imports it)
    if value is None:
        from symdescent.parsing import parse_constant

        value = float(parse_constant(text, what))
    if positive and value <= 0:
        raise InputError(f"{what} must be positive, got {text}", parameter=what)
    if value < 0:
        raise InputError(f"{what} must not be negative, got {text}", parameter=what)
    return value


#: --method's choices, from the method registry (cheap to import: no SymPy).
METHOD_NAMES = tuple(METHOD_SPECS)


#: The methods' own options: CLI name -> (keyword, help).
METHOD_OPTIONS = {
    "--momentum": ("momentum", "μ for momentum and nesterov, in [0, 1) (default 0.9)."),
    "--beta1": ("beta1", "Adam's β₁, in [0, 1) (default 0.9)."),
    "--beta2": ("beta2", "Adam's β₂, in [0, 1) (default 0.999)."),
    "--decay": ("decay", "RMSprop's ρ (torch's alpha), in [0, 1) (default 0.99)."),
    "--eps": ("eps", "ε added to the denominator: adam, rmsprop 1e-8; adagrad 1e-10."),
    "--history": ("history", "L-BFGS's memory: how many recent steps shape its direction (default 10)."),
}


def method_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--momentum, --beta1, --beta2, --decay, --eps, --history: each method takes the ones it uses."""
    for flag, (name, text) in reversed(METHOD_OPTIONS.items()):
        command = click.option(flag, name, default=None, metavar="B", help=text)(command)
    return command


def option_numbers(given: Mapping[str, str | None]) -> dict[str, float]:
    """The options the user gave, as numbers (the methods supply their own defaults for the rest)."""
    return {
        name: number_option(text, f"--{name}", positive=name in ("lr", "eps"))
        for name, text in given.items()
        if text is not None
    }


def hyperparameters(*, exact: bool = False, **given: str | None) -> dict[str, float | str]:
    """:func:`option_numbers`; with exact or working-precision arithmetic the checked text itself.

    The text is passed on so that the run can read ``0.1`` as exactly 1/10.
    """
    values: dict[str, float | str] = dict(option_numbers(given))
    if exact:
        values = {name: text for name, text in given.items() if text is not None}
    return values


def cleandoc(text: str) -> str:
    """A docstring without its indentation, like ``inspect.cleandoc`` (inspect costs 10 ms at start-up)."""
    import textwrap

    first, _, rest = text.strip("\n").partition("\n")
    return (first.strip() + "\n" + textwrap.dedent(rest)).strip()


def methods_help(option: str = "--method") -> str:
    """Each method and its update rule, for --help (no SymPy needed)."""
    from symdescent.methods import UPDATE_RULES

    width = max(map(len, UPDATE_RULES))
    rules = "\n".join(f"  {name:<{width}}  {rule}" for name, rule in UPDATE_RULES.items())
    return f"\n\b\nMethods ({option}) and their update rules:\n{rules}\n"


CONTEXT = {"help_option_names": ["-h", "--help"]}


def expr_command(name: str, examples: str, more_help: str = "") -> Callable[[Callable[..., Any]], click.Command]:
    """A command on EXPR: EXPR, --vars and --param first, its line in ``SUMMARIES``, EXPR's help after its own."""
    from symdescent.cli.commands import SUMMARIES

    def decorate(function: Callable[..., Any]) -> click.Command:
        command = click.command(
            name, cls=ExprCommand, context_settings=CONTEXT, short_help=SUMMARIES[name], epilog=examples
        )(function_options(function))
        command.help_ends_with(lambda: more_help + function_help())
        return command

    return decorate


FORMATS = ("auto", "table", "csv", "tsv", "json", "jsonl")


def format_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format`` of the commands that run something (run, compare): one of :data:`FORMATS`."""
    return click.option("--format", "fmt", default="auto", show_default=True, type=click.Choice(FORMATS), help=help)


def count_option(
    name: str, metavar: str, help: str, *, low: int = 1, high: int | None = None, **more: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An option that takes a whole number from ``low`` to ``high`` (``--every K``, ``--workers N``): one line each."""
    return click.option(name, type=click.IntRange(low, high), metavar=metavar, help=help, **more)


_OPTION_NAME = r"--[A-Za-z][-A-Za-z0-9]*"  # compiled by re on first use


class ExprCommand(click.Command):
    """A command whose EXPR may begin with '-' ("-x^2", "-(x+1)"), yet misspelt options still fail clearly.

    Click would read "-x^2" as a cluster of short options, so before parsing,
    any argument that starts with '-' but is neither one of our options nor
    the value of one is moved behind a "--" and so reaches EXPR untouched. A
    word that looks like a long option (``--stpes``) but is none of ours is
    refused with a suggestion.
    """

    context_class = FittingContext  # help broken at spaces to the terminal's width

    @property
    def help(self) -> str | None:  # click's attribute, completed when first read
        more = self.__dict__.pop("_help_end", None)
        if more is not None:
            self.__dict__["_help"] = cleandoc(self.__dict__.get("_help") or "") + "\n" + more()
        return self.__dict__.get("_help")

    @help.setter
    def help(self, text: str | None) -> None:
        self.__dict__.pop("_help_end", None)
        self.__dict__["_help"] = text

    def help_ends_with(self, more: Callable[[], str]) -> None:
        """End the help with ``more()`` (the methods' rules, EXPR's syntax), built only when the help is read.

        A run never reads its help: it does not pay for building it (nor for the modules that list the functions).
        """
        self.__dict__["_help_end"] = more

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
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
            elif re.fullmatch(_OPTION_NAME, name):
                import difflib

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


def output_protected() -> contextlib.AbstractContextManager[None]:
    """Ignore Ctrl-C and SIGTERM while the results are written: they must not cut the JSON short."""
    return INTERRUPTS.ignored()


def positive_number(text: str, what: str) -> float:
    return number_option(text, what, positive=True)
