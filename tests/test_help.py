"""``--help`` fits the terminal at any width of 40 columns or more, broken at spaces only.

Each width is checked through a real pseudo-terminal (its window size set,
``COLUMNS`` too): the help of every command is read back from the terminal
and compared with the same help unwrapped. Fitting may only move line breaks
(every word on the screen is a word of the unwrapped help) and no line may be
wider than the screen (a terminal would break it mid-word itself).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
import unicodedata
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from symdescent.cli import main
from symdescent.cli.helptext import fit_lines

COMMANDS: tuple[tuple[str, ...], ...] = ((), ("run",), ("compare",), ("grad",), ("explain",), ("analyze",), ("cache",))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def in_pty(child: Callable[[], object], width: int, *, keys: bytes = b"", after: float = 0.0) -> str:
    """What ``child()`` writes to a pseudo-terminal ``width`` columns wide (a forked process: no start-up cost).

    ``keys`` are typed into the terminal ``after`` seconds (``b"\\x03"`` is Ctrl-C, turned into
    SIGINT by the terminal with its default ``^C`` echo, as at a real keyboard).
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin, stdout and stderr are the terminal
        code = 0
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, width, 0, 0))
            os.environ.update({"COLUMNS": str(width), "LINES": "24", "TERM": "xterm"})
            for name in ("NO_COLOR", "FORCE_COLOR"):
                os.environ.pop(name, None)
            child()
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 0
        except BaseException:
            code = 99
        finally:
            sys.stdout.flush()
            os._exit(code)
    output = b""
    started = time.monotonic()
    while True:
        if keys and time.monotonic() - started >= after:
            os.write(fd, keys)
            keys = b""
        ready, _, _ = select.select([fd], [], [], 0.02)
        if not ready:
            if time.monotonic() - started > 60:
                os.kill(pid, signal.SIGKILL)
            continue
        try:
            data = os.read(fd, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        output += data
    os.waitpid(pid, 0)
    os.close(fd)
    return output.decode("utf-8", "replace")


def cells(line: str) -> int:
    """The columns a line takes on the screen (combining accents, as in m̂, take none)."""
    return sum(not unicodedata.combining(c) for c in line)


def unwrapped(command: tuple[str, ...]) -> set[str]:
    help_text = (
        CliRunner()
        .invoke(main, [*command, "--help"], prog_name="symdescent", terminal_width=10**5, max_content_width=10**5)
        .output
    )
    return set(help_text.split())


def _print_every_help() -> None:
    """In the child on the terminal: every command's help, between markers."""
    out = os.fdopen(1, "w", encoding="utf-8", closefd=False)
    sys.stdout = sys.__stdout__ = out
    for command in COMMANDS:
        out.write(f"=== {' '.join(command)}\n")
        out.flush()
        with contextlib.suppress(SystemExit):
            main.main([*command, "--help"], prog_name="symdescent", standalone_mode=False)
        out.flush()


@pytest.mark.parametrize("width", [40, 60, 70, 80, 120])
def test_help_fits_the_terminal_at_words(width: int) -> None:
    screen = ANSI.sub("", in_pty(_print_every_help, width)).replace("\r\n", "\n")
    helps = re.split(r"^=== ?(.*)\n", screen, flags=re.MULTILINE)[1:]
    assert len(helps) == 2 * len(COMMANDS)
    for name, text in zip(helps[::2], helps[1::2], strict=True):
        command = tuple(name.split())
        assert "Usage: symdescent" in text
        too_wide = [line for line in text.splitlines() if cells(line) > width]
        assert not too_wide, f"{command} at {width}: {too_wide}"
        words = unwrapped(command) | {"\\"}  # an example command continues with " \"
        # click shortens a subcommand's summary to whole words and "..."
        split = [w for w in text.split() if w not in words and w.removesuffix("...") not in words]
        assert not split, f"{command} at {width}: words split {split}"


def test_method_rules_and_examples_break_at_spaces() -> None:
    """The lines kept as they are (method rules, examples) broken at spaces: before an option, `` \\`` after."""
    text = "\b\nMethods:\n  cg   d ← −∇f + βd (Polak–Ribière+); x ← x + αd, α by strong-Wolfe line search\n\n"
    text += '\b\n  symdescent run "(1-x)^2 + 100*(y-x^2)^2" --start -1.2,1 --working-precision 30'
    fitted = fit_lines(text, 40).splitlines()
    assert fitted[2:5] == [
        "  cg   d ← −∇f + βd (Polak–Ribière+); x",
        "       ← x + αd, α by strong-Wolfe line",
        "       search",
    ]
    assert fitted[7:] == [
        "  symdescent run \\",
        '      "(1-x)^2 + 100*(y-x^2)^2" \\',
        "      --start -1.2,1 \\",
        "      --working-precision 30",
    ]


def test_method_metavar_is_short() -> None:
    """--method's line names NAME, not every method in brackets (which no narrow screen can hold)."""
    text = CliRunner().invoke(main, ["run", "--help"], terminal_width=80).output
    assert "--method NAME" in text and "[gd|momentum" not in text
