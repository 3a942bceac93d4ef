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
import io
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
from symdescent.cli.plumbing import METHOD_NAMES

COMMANDS: tuple[tuple[str, ...], ...] = (
    (),
    ("run",),
    ("compare",),
    ("grad",),
    ("explain",),
    ("analyze",),
    ("cache",),
    ("sweep",),
)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def in_pty(child: Callable[[], object], width: int, *, keys: bytes = b"", after: bytes = b"") -> str:
    """What ``child()`` writes to a pseudo-terminal ``width`` columns wide (a forked process: no start-up cost).

    ``keys`` are typed into the terminal once the output holds ``after`` twice (``b"\\x03"`` is Ctrl-C,
    turned into SIGINT by the terminal with its default ``^C`` echo, as at a real keyboard).
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
        if keys and output.count(after) >= 2:
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


# -- the live progress line ---------------------------------------------------------

CSI = re.compile(r"\x1b\[([?0-9;]*)([A-Za-z])")


def screen(data: str, width: int) -> list[str]:
    """What a terminal ``width`` columns wide shows after ``data``: a minimal VT100 (text with the usual
    deferred wrap at the last column, CR, LF, cursor up, erase in line and below; colours ignored)."""
    rows: list[list[str]] = [[]]
    r = c = 0
    pending = False  # the cursor is past the last column: the next character wraps
    i = 0
    while i < len(data):
        match = CSI.match(data, i) if data[i] == "\x1b" else None
        if match:
            arg, command = match.groups()
            n = int(arg) if arg.isdigit() else 0
            if command == "A":
                r, pending = max(0, r - (n or 1)), False
            elif command == "K":
                rows[r] = [] if n == 2 else rows[r][:c]
            elif command == "J":
                del rows[r][c:], rows[r + 1 :]
            i = match.end()
            continue
        char = data[i]
        i += 1
        if char == "\r":
            c, pending = 0, False
        elif char == "\n":
            r, pending = r + 1, False
        elif char >= " ":
            if pending:
                r, c, pending = r + 1, 0, False
            while len(rows) <= r:
                rows.append([])
            rows[r] += [" "] * (c + 1 - len(rows[r]))
            rows[r][c] = char
            c, pending = (c, True) if c == width - 1 else (c + 1, False)
        while len(rows) <= r:
            rows.append([])
    return ["".join(row).rstrip() for row in rows]


def _long_run() -> None:
    """In the child: a 10⁹-step run whose table (with the live line on stderr) goes to the terminal."""
    for fd, name in ((1, "stdout"), (2, "stderr")):
        setattr(sys, name, os.fdopen(fd, "w", encoding="utf-8", closefd=False))
    sys.argv = [
        "symdescent",
        "run",
        "x^2+y^2",
        "--start",
        "1,2",
        "--lr",
        "1e-12",
        "--steps",
        "1000000000",
        "--tol",
        "0",
    ]
    main()


def test_progress_fits_and_ctrl_c_leaves_nothing_stale_at_70_columns() -> None:
    """The run's live line at 70 columns: whole fields, at most 69 wide; after Ctrl-C (echoed ``^C``) the screen
    holds the table and the final note, no progress line above them (it was left there 4 times in 4)."""
    width = 70
    out = in_pty(_long_run, width, keys=b"\x03", after=b" left")
    assert "interrupted" in out
    frames = [
        part
        for part in re.split(r"[\r\n]", ANSI.sub("", out))
        if "/1,000,000,000" in part or re.match(r" *\d+% f = ", part)
    ]
    assert frames, f"no progress line was drawn: {out[:800]!r}"
    assert all(cells(frame) <= width - 1 and "…" not in frame for frame in frames), frames
    assert any(frame.endswith(" left") for frame in frames)  # the field the old line cut to "le…"
    shown = screen(out, width)
    assert not [line for line in shown if "/1,000,000,000" in line or "% f = " in line], shown
    assert any("stopped by the user" in line for line in shown)


@pytest.mark.parametrize("width", [40, 60, 70, 80, 120])
def test_progress_drops_whole_fields_to_fit(width: int) -> None:
    """Fields are dropped whole (the rate first, the step last), each line at most width − 1, the last line
    (where the cursor rests and ^C is echoed) 4 columns shorter still."""
    from rich.console import Console

    from symdescent.render.progress import ECHO_ROOM, Tracker, _Line
    from symdescent.result import Step

    tracker = Tracker(lambda: Step(123_456_789, (1.0,), -1.2345e-300, (1.0,), 9.8765e300), 1_000_000_000, lambda: 0.42)
    tracker.started -= 1000.0
    tracker._first = 0  # 123,457 steps per second so far: 1:58:20 left
    console = Console(width=width, file=io.StringIO(), force_terminal=True, color_system=None)
    head, tail = _render(console, _Line(tracker))
    assert cells(head) <= width - 1 and cells(tail) <= width - 1 - ECHO_ROOM
    progress = {
        "step 123,456,789/1,000,000,000",
        "step 123,456,789",
        "12%",
        "this step 42%",
        "123,457/s",
        "1:58:20 left",
    }
    values = {"f = −1.234e-300", "‖∇f‖ = 9.877e+300"}
    shown = head.lstrip("█▉▊▋▌▍▎▏░ ").split("  ")
    assert shown[0].startswith("step 123,456,789") and set(shown) <= progress, head
    assert set(tail.strip().removeprefix("12% ").split("  ")) <= values, tail
    if width >= 120:
        assert len(shown) == 4 and "‖∇f‖" in tail
    if width <= 60:  # no room for everything: the rate goes first
        assert "123,457/s" not in shown


def _render(console: object, line: object) -> tuple[str, str]:
    from rich.console import Console

    assert isinstance(console, Console)
    with console.capture() as captured:
        console.print(line)
    head, tail = captured.get().rstrip("\n").split("\n")
    return head.rstrip(), tail.rstrip()


# -- shell completion ----------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_is_generated(shell: str) -> None:
    out = CliRunner().invoke(main, [], prog_name="symdescent", env={"_SYMDESCENT_COMPLETE": f"{shell}_source"})
    assert out.exit_code == 0
    assert "_symdescent_completion" in out.output and "_SYMDESCENT_COMPLETE" in out.output


def completions(line: str) -> list[str]:
    """What bash completes for the last word of ``line`` (Click's protocol: COMP_WORDS, COMP_CWORD)."""
    words = line.split(" ")
    env = {"_SYMDESCENT_COMPLETE": "bash_complete", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    out = CliRunner().invoke(main, [], prog_name="symdescent", env=env)
    assert out.exit_code == 0, out.output
    return [item.split(",", 1)[1] for item in out.output.splitlines()]


def test_completion_of_commands_options_and_methods() -> None:
    assert completions("symdescent r") == ["run"]
    assert completions("symdescent a") == ["analyze"]
    assert "--method" in completions("symdescent run x^2 --start 1 --me")
    assert completions("symdescent run -x^2 --start 1 --method a") == ["adam", "adagrad"]
    assert completions("symdescent run x^2 --method A") == ["adam", "adagrad"]  # any case, like the option
    assert completions("symdescent run x^2 --method ") == list(METHOD_NAMES)
    assert completions("symdescent compare x^2 --methods gd,ad") == ["gd,adam", "gd,adagrad"]
    assert completions("symdescent run x^2 --format j") == ["json", "jsonl"]


def test_main_help_says_how_to_turn_completion_on() -> None:
    text = CliRunner().invoke(main, ["--help"], prog_name="symdescent").output
    assert "_SYMDESCENT_COMPLETE=bash_source symdescent > ~/.symdescent.bash" in text
