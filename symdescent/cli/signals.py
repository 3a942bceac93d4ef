"""Ctrl-C and SIGTERM as one kind of stop, and writes that a stop cannot tear.

Both signals raise :class:`KeyboardInterrupt` (SIGTERM as its subclass
:class:`Terminated`), so every command handles them in one place and
prints what was done. While a line is being written (:meth:`Interrupts.whole`)
the stop is held back until the line is complete: a slow reader plus Ctrl-C
never leaves half a JSON line followed by the whole line again.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TypeVar

T = TypeVar("T")


class Terminated(KeyboardInterrupt):
    """SIGTERM: stop as for Ctrl-C, then exit 143."""


class Interrupts:
    """The process's SIGINT and SIGTERM handlers (installed only when run as a program)."""

    def __init__(self) -> None:
        self.installed = False
        self.terminated = False  # a SIGTERM arrived: the exit code is 143, not 130
        self._holding = False
        self._pending: type[KeyboardInterrupt] | None = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)
        self.installed = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        error = Terminated if signum == signal.SIGTERM else KeyboardInterrupt
        self.terminated = self.terminated or error is Terminated
        if self._holding:
            self._pending = error  # raised once the write in progress is complete
            return
        raise error()

    def whole(self, write: Callable[[T], None]) -> Callable[[T], None]:
        """``write`` such that a stop arriving during it waits until it returns."""

        def guarded(item: T) -> None:
            self._holding = True
            try:
                write(item)
            finally:
                self._holding = False
            if self._pending is not None:
                error, self._pending = self._pending, None
                raise error()

        return guarded

    @contextlib.contextmanager
    def ignored(self) -> Iterator[None]:
        """No stop while the results are written: an impatient second Ctrl-C must not cut the JSON short."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def ignore_from_now_on(self) -> None:
        """The output is complete: a late signal during shutdown must not change the exit code."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)


#: The one instance for the process.
INTERRUPTS = Interrupts()
