"""The Rich consoles of the CLI: styled on a terminal, plain (and trimmed) in a pipe or file; live progress or not."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TextIO

from symdescent.cli.exits import ExitCode, interrupted_code, quiet_broken_pipe
from symdescent.cli.plumbing import Streams
from symdescent.cli.signals import Terminated

if TYPE_CHECKING:
    from rich.console import Console

    from symdescent.render.styled import Screen, Styles


def make_console(streams: Streams, *, stderr: bool = False) -> Console:
    """A Rich console: styled on a terminal; plain and never width-limited when piped."""
    from rich.console import Console

    class QuietOnBrokenPipe(Console):
        # Rich exits with 1 when the reader goes away; we document 141, like any command killed by SIGPIPE
        def on_broken_pipe(self) -> None:
            self.quiet = True
            quiet_broken_pipe()

    out = streams.stderr if stderr else streams.stdout
    # force_jupyter=False: in a notebook (the magic) Rich would show its output as HTML itself, not write to out
    if streams.stdout_isatty and not stderr:
        return QuietOnBrokenPipe(file=out, highlight=False, force_jupyter=False)
    return QuietOnBrokenPipe(
        file=TrimmedLines(out),  # type: ignore[arg-type]  # Rich calls only write/flush/isatty; its hint says IO[str]
        width=100_000,
        force_terminal=False,
        force_jupyter=False,
        no_color=True,
        highlight=False,
        soft_wrap=False,
    )


def make_screen(streams: Streams) -> Screen | Console:
    """Standard output for the light writer, as :func:`make_console`'s Rich console would see it.

    Width, styles and box characters follow Rich's own rules (``COLUMNS``, the terminal's size,
    ``TERM=dumb``, ``NO_COLOR``, ``FORCE_COLOR``, ``TTY_COMPATIBLE``); where they are not
    simple (another system than POSIX, an encoding other than UTF-8), the Rich console itself.
    """
    from symdescent.render.styled import Screen

    out = streams.stdout
    encoding = (getattr(out, "encoding", "utf-8") or "utf-8").lower()
    stdin_module = getattr(sys.stdin, "__module__", "") or ""
    if os.name != "posix" or not encoding.startswith("utf") or stdin_module.startswith("idlelib"):
        return make_console(streams)
    if not streams.stdout_isatty:
        return Screen(TrimmedLines(out), 100_000, "none", lambda: make_console(streams), quiet_broken_pipe)  # type: ignore[arg-type]
    env = os.environ
    terminal = _is_terminal(out, env)
    dumb = terminal and env.get("TERM", "").lower() in ("dumb", "unknown")
    shown: Styles = "none" if not terminal or dumb else ("attributes" if env.get("NO_COLOR", "") != "" else "colour")
    return Screen(out, lambda: _width(env, dumb), shown, lambda: make_console(streams), quiet_broken_pipe)


def _is_terminal(out: TextIO, env: Mapping[str, str]) -> bool:
    """Rich's ``Console.is_terminal`` for a console on ``out`` not told either way."""
    compatible = env.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force = env.get("FORCE_COLOR")
    if force is not None:
        return force != ""
    isatty = getattr(out, "isatty", None)
    try:
        return False if isatty is None else bool(isatty())
    except ValueError:
        return False


def _width(env: Mapping[str, str], dumb: bool) -> int:
    """Rich's ``Console.width`` on POSIX: ``COLUMNS``, else the first of stdin, stdout, stderr with a size, else 80."""
    columns, lines = env.get("COLUMNS"), env.get("LINES")
    given = int(columns) if columns is not None and columns.isdigit() else None
    if given is not None and lines is not None and lines.isdigit():
        return given
    if dumb:
        return 80
    width = None
    for descriptor in (0, 1, 2):
        try:
            width = os.get_terminal_size(descriptor).columns
        except (AttributeError, ValueError, OSError):
            continue
        break
    if given is not None:
        return given
    return width or 80


class TrimmedLines:
    """A text stream that drops the spaces Rich pads each line of a table with: a file or pipe gets clean lines."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if lines:
            self._out.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._out.write(self._pending)
            self._pending = ""
        self._out.flush()

    def isatty(self) -> bool:
        return False


def progress_wanted(streams: Streams) -> bool:
    """Live progress only when both stdout and stderr are a terminal that can redraw a line."""
    isatty = getattr(streams.stderr, "isatty", None)
    dumb = os.environ.get("TERM", "") in ("dumb", "unknown")
    return streams.stdout_isatty and bool(isatty and isatty()) and not dumb


def draw_picture(draw: Callable[[], object], path: str) -> None:
    """Draw a picture (a GIF takes seconds) where Ctrl-C still works: stopped, it writes nothing, exit 130/143.

    The output before it is already whole; the picture is written whole or not at all, so the old file stays.
    """
    import click

    try:
        draw()
    except KeyboardInterrupt as stop:
        code = ExitCode.TERMINATED if isinstance(stop, Terminated) else interrupted_code()
        click.echo(f"Interrupted: the picture was not written to {path}", err=True)
        sys.exit(code)
    click.echo(f"Picture written to {path}", err=True)
