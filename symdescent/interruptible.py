"""Long numpy work that a Ctrl-C can stop within milliseconds.

One numpy call over 10⁸ entries (``numpy.sin`` of the whole array) runs for up to a second in C, and
Python runs a signal handler only between bytecodes: a Ctrl-C waits for the call to end. Run in a
worker thread instead, the same calls (numpy releases the GIL for them) compute the same numbers at the
same speed, while the main thread waits in ``join``, which a signal interrupts at once: the
:class:`KeyboardInterrupt` reaches the caller as soon as it is raised. The abandoned work then ends
on its own (a daemon thread: it never delays the exit) and its result is dropped.

Below :data:`THREAD_MIN_ENTRIES` entries the call runs in the calling thread: it is over in milliseconds.
"""

from __future__ import annotations

import contextlib
import contextvars
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

#: From this many entries in the arguments on, an evaluation runs in a worker thread (below it one
#: evaluation takes a few milliseconds; starting a thread costs about 0.1 ms).
THREAD_MIN_ENTRIES = 1 << 20


def entries(arguments: tuple[Any, ...]) -> int:
    """How many array entries the arguments hold together (scalars count 0)."""
    import numpy as np  # here: signals_held serves the compiled loop, which runs without numpy

    return sum(a.size for a in arguments if isinstance(a, np.ndarray))


def call(function: Callable[..., T], *arguments: Any) -> T:
    """``function(*arguments)``, in a worker thread when the arguments are large (see the module's note).

    The worker runs in a copy of the caller's context, so ``numpy.errstate`` and the other context
    settings of the caller hold there too. Its exceptions (MemoryError, a domain error…) are raised here.
    """
    if entries(arguments) < THREAD_MIN_ENTRIES:
        return function(*arguments)
    outcome: list[Any] = []

    def work() -> None:
        try:
            outcome.append((True, function(*arguments)))
        except BaseException as error:  # handed to the caller as it is
            outcome.append((False, error))

    worker = threading.Thread(target=contextvars.copy_context().run, args=(work,), daemon=True, name="evaluation")
    worker.start()
    worker.join()  # a signal handler's KeyboardInterrupt is raised here, mid-evaluation
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def wrap(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` evaluated through :func:`call`."""

    def interruptible(*arguments: Any) -> T:
        return call(function, *arguments)

    interruptible.__wrapped__ = function  # type: ignore[attr-defined]
    return interruptible


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held until the block ends, then handled as usual (on the main thread).

    Why: numba compiles by calling back into Python from LLVM through ctypes, and an exception a
    signal handler raises there is printed ("Exception ignored …") and lost: a Ctrl-C during the
    compilation of a loop was ignored and the run went on to its end. Hold around the first call of a
    compiled function (compile, or load from the cache: a second or so at most).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    heard: list[int] = []
    held: dict[int, Callable[[int, Any], Any]] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if callable(handler):
            held[sig] = handler
            signal.signal(sig, lambda signum, frame: heard.append(signum))
    try:
        yield
    finally:
        for number, usual in held.items():
            signal.signal(number, usual)
        if heard:
            held[heard[0]](heard[0], None)  # the usual handler, now in plain Python: it raises KeyboardInterrupt
