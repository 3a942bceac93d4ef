"""The command line: options in, a library call, a renderer out, an exit code.

This package is the only place that knows about terminals, streams and exit
codes: ``plumbing`` holds what the commands share, and each command has its
own module. The heavy imports (SymPy, Rich) happen inside the commands, so
``--help`` and usage errors answer without loading them.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from importlib import import_module
from types import FrameType
from typing import Any


def _stop_while_loading(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C or SIGTERM before the program's own handlers: nothing is done yet, so stop quietly."""
    raise SystemExit(143 if signum == signal.SIGTERM else 130)


def _started_as_the_program() -> bool:
    """``symdescent …`` or ``python -m symdescent …``, not a library import or a test."""
    script = sys.argv[0] if sys.argv else ""
    return os.path.basename(script) in ("symdescent", "symdescent.exe") or script.endswith(
        os.path.join("symdescent", "__main__.py")
    )


# The imports below (Click, the commands' table) take tens of milliseconds: a Ctrl-C during them
# must not print a KeyboardInterrupt traceback. SymdescentGroup.main installs the real handlers.
if _started_as_the_program() and threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGINT, _stop_while_loading)
    signal.signal(signal.SIGTERM, _stop_while_loading)

import click  # noqa: E402 - after the handlers above

from symdescent import __version__  # noqa: E402 - after the handlers above
from symdescent.cli.commands import MODULES, SUMMARIES  # noqa: E402 - after the handlers above
from symdescent.cli.exits import (  # noqa: E402 - after the handlers above
    ExitCode,
    interrupted_code,
    output_failed,
    quiet_broken_pipe,
    reader_gone,
)
from symdescent.cli.helptext import FittingGroup  # noqa: E402 - after the handlers above
from symdescent.cli.signals import INTERRUPTS  # noqa: E402 - after the handlers above


class SymdescentGroup(FittingGroup):
    """The top-level group: Click's usage errors in our one-line ``Error:`` / ``Hint:`` form.

    Commands are imported when they run, not to list them: ``--help`` reads their lines from
    :mod:`symdescent.cli.commands`.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(MODULES)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in MODULES:
            return None
        return import_module(MODULES[name]).COMMAND

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, SUMMARIES[name]) for name in self.list_commands(ctx)])

    def main(  # click's Command.main, by name
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        from_command_line = args is None  # no arguments given: click reads sys.argv
        if from_command_line:
            if sys.stdout is None:  # started with stdout closed (>&-): Python has no stream to give us
                click.echo("Error: cannot write the output: standard output is closed", err=True)
                sys.exit(ExitCode.BAD_INPUT)
            INTERRUPTS.install()  # SIGTERM like Ctrl-C, and no line torn by either
        try:
            try:
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            finally:
                # Rich and print buffer: a reader that went away (| head -1) shows up only here
                try:
                    sys.stdout.flush()
                    if from_command_line and reader_gone(sys.stdout):
                        quiet_broken_pipe()
                except OSError as error:
                    output_failed(error)
        except SystemExit:
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
            sys.exit(interrupted_code())
        finally:
            if from_command_line:
                # Whatever the exit code, the output is complete now: a Ctrl-C during interpreter
                # shutdown must not turn it into death by SIGINT (or a traceback).
                INTERRUPTS.ignore_from_now_on()
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
    3 diverged or unbounded (f has no minimum), 4 step limit reached or
    stalled (the precision limit), 5 exact numbers grew too big (--exact),
    130 interrupted, 141 output closed, 143 terminated.

    \b
    Shell completion of commands, options and method names, for bash:
      _SYMDESCENT_COMPLETE=bash_source symdescent > ~/.symdescent.bash
    and in ~/.bashrc: source ~/.symdescent.bash (zsh: zsh_source, in ~/.zshrc;
    fish: fish_source, saved as symdescent.fish in fish's completions).
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
