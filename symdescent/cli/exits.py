"""Exit codes and the exits every command shares: ``Error:`` lines, a closed pipe, an output that failed.

Kept light (no SymPy, no Rich, none of the commands' modules): the top-level
group imports it to answer ``--help`` and usage errors, and a warm run pays
for nothing it does not use.
"""

from __future__ import annotations

import enum
import errno
import os
import sys
from typing import TextIO

import click

from symdescent.cli.signals import INTERRUPTS


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
    TERMINATED = 143  # SIGTERM, handled like Ctrl-C


def interrupted_code() -> ExitCode:
    """130 after Ctrl-C, 143 after SIGTERM."""
    return ExitCode.TERMINATED if INTERRUPTS.terminated else ExitCode.INTERRUPTED


def fail(message: str, hint: str | None = None, code: ExitCode = ExitCode.BAD_INPUT) -> None:
    """Print ``Error: …`` (and a hint) on stderr and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    if hint:
        click.echo(f"Hint: {hint}", err=True)
    sys.exit(code)


def quiet_broken_pipe() -> None:
    _stdout_to_devnull()
    sys.exit(ExitCode.BROKEN_PIPE)


def reader_gone(stream: TextIO | None) -> bool:
    """Whether ``stream`` is a pipe whose reader closed it before reading everything (``| head -1``).

    A write that the reader cuts short can return without an error, so the
    exit code checks the pipe itself: 141 then, whatever the format. A reader
    that read everything and left before the end of file (``-q | head -1``)
    has missed nothing: no 141 for it.
    """
    import stat

    if stream is None:
        return False
    try:
        fd = stream.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        import select

        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        if not any(events & select.POLLERR for _, events in poller.poll(0)):
            return False  # someone is still reading (the usual case: the modules below are not needed)
        import array
        import fcntl
        import termios

        unread = array.array("i", [0])
        fcntl.ioctl(fd, termios.FIONREAD, unread)
        return unread[0] > 0
    except (OSError, ValueError, AttributeError, ImportError):  # not a pipe, not POSIX, or no stream
        return False


#: errno values that mean stdout cannot take the output (closed, full disk, I/O error, file too large).
WRITE_ERRORS = frozenset({errno.EBADF, errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT})


def output_failed(error: OSError) -> None:
    """Standard output cannot be written: 141 when its reader left, else (closed, a full disk) exit 2.

    Any other ``OSError`` is not about the output and is raised again.
    """
    if isinstance(error, BrokenPipeError):
        quiet_broken_pipe()
    if error.errno not in WRITE_ERRORS:
        raise error
    _stdout_to_devnull()
    reason = error.strerror or str(error)
    fail(f"cannot write the output: {reason}")


def _stdout_to_devnull() -> None:
    # Point stdout at devnull so the interpreter's final flush does not fail again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (a test runner) or is None
        pass
