"""The live line on a terminal during a long run: step, f, ‖∇f‖, steps per second, a bar and ETA.

The computation pays nothing for it: :class:`Tracker` only holds callables
(the latest step, and optionally how far the step in progress has got),
and Rich's refresh thread polls them a few times a second. The line appears
only after ``delay`` seconds, so short runs never show it, and it is erased
when the run ends, before the final output is printed.

    tracker = Tracker(lambda: run.last, total=1000)
    with LiveProgress(console, tracker):
        for step in run: ...

A method whose single step takes long (a gradient over 10⁹ entries, in
chunks) reports its progress within the step through ``within``:
``Tracker(lambda: run.last, total, within=lambda: kernel.fraction_done)``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live

#: Seconds before the line appears, and how often it is redrawn per second.
DELAY = 0.5
REFRESH_PER_SECOND = 4
BAR_WIDTH = 20


class StepLike(Protocol):
    """What the line shows of a step (a :class:`~symdescent.result.Step` is one)."""

    @property
    def step(self) -> int: ...

    @property
    def f(self) -> Any: ...

    @property
    def grad_norm(self) -> Any: ...


class Tracker:
    """Where the live line reads from: the latest step, the step limit, the fraction of the step in progress."""

    def __init__(
        self,
        latest: Callable[[], StepLike | None],
        total: int | None = None,
        within: Callable[[], float | None] | None = None,
    ) -> None:
        self.latest = latest
        self.total = total
        self.within = within
        self.started = time.perf_counter()
        self._first: int | None = None  # the step the clock started at (a run may not start at 0)

    def line(self) -> tuple[str, float | None]:
        """Two lines of words (progress; f and ‖∇f‖) and the fraction of the bar (``None``: no bar)."""
        fields, values, bar = self.fields()
        return "  ".join(fields) + "\n" + "  ".join(values), bar

    def fields(self) -> tuple[list[str], list[str], float | None]:
        """The progress fields (step, this step's %, steps per second, time left), the values (f, ‖∇f‖), the bar."""
        step = self.latest()
        elapsed = time.perf_counter() - self.started
        if step is None:
            return [f"starting… {elapsed:.1f} s"], [], None
        if self._first is None:
            self._first = step.step
        done = step.step - self._first
        fraction_within = self.within() if self.within is not None else None
        parts = [f"step {step.step:,}" + (f"/{self.total:,}" if self.total else "")]
        if fraction_within is not None:
            parts.append(f"this step {100 * fraction_within:.0f}%")
        rate = done / elapsed if elapsed > 0 else 0.0
        if rate > 0:
            parts.append(f"{_rate(rate)}/s")
        bar = None
        if self.total:
            bar = min(1.0, (step.step + (fraction_within or 0.0)) / self.total)
            if rate > 0 and step.step < self.total:
                parts.append(f"{_duration((self.total - step.step) / rate)} left")  # at most: tol may end it sooner
        # the values on a line of their own: a narrow terminal still shows the most of both lines
        return parts, [f"f = {_short(step.f)}", f"‖∇f‖ = {_short(step.grad_norm)}"], bar


#: Columns kept free at the end of the line the cursor rests on: the terminal echoes Ctrl-C there as ``^C``
#: (twice, if pressed twice), and an echo that wrapped would leave the erase one line short.
ECHO_ROOM = 4


def _fitted(fields: list[str], room: int) -> str:
    """The fields that fit ``room`` columns, joined by two spaces: the least needed dropped whole, never cut.

    ``fields`` are in the order shown; the first (the step, or f) is needed most, then the time left,
    this step's %, the rate. The step loses its ``/total`` before it goes.
    """
    from rich.cells import cell_len

    def need(field: str) -> int:
        return 1 if field.endswith("left") else 2 if field.endswith("%") else 3

    chosen = list(fields)
    while chosen and cell_len("  ".join(chosen)) > room:
        if len(chosen) > 1:
            chosen.remove(max(reversed(chosen[1:]), key=need))  # the least needed, the rightmost of equals
        elif "/" in chosen[0]:
            chosen = [chosen[0].split("/")[0]]  # "step 5/1,000" -> "step 5"
        else:
            chosen = []
    return "  ".join(chosen)


class _Line:
    """The renderable Rich redraws: the tracker's two lines, with a bar when there is a step limit and room.

    Each line is at most the width minus one; the last (where the cursor rests)
    leaves :data:`ECHO_ROOM` columns. Fields that do not fit are dropped whole
    (the rate first, the step last), never cut.
    """

    def __init__(self, tracker: Tracker) -> None:
        self._tracker = tracker

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.cells import cell_len
        from rich.segment import Segment
        from rich.text import Text

        parts, values, bar = self._tracker.fields()
        width = options.max_width
        room, last_room = width - 1, width - 1 - ECHO_ROOM
        # the bar and its % in a column of their own when both lines keep their first field beside it
        beside = BAR_WIDTH + 1
        with_bar = bar is not None and cell_len(parts[0]) <= room - beside and cell_len(values[0]) <= last_room - beside
        if bar is not None and with_bar:
            head = Text.assemble((_bar(bar), "cyan"), " ", (_fitted(parts, room - beside), "dim"))
            tail = Text(f"{100 * bar:.0f}%".rjust(BAR_WIDTH) + " " + _fitted(values, last_room - beside))
        else:
            percent = [f"{100 * bar:.0f}%"] if bar is not None else []
            head = Text(_fitted([*parts[:1], *percent, *parts[1:]], room), style="dim")
            tail = Text(_fitted(values, last_room))
        for line in (head, tail):
            line.no_wrap, line.overflow, line.end = True, "crop", ""
        yield head
        yield Segment.line()
        yield tail


class LiveProgress:
    """A context manager: the live line on ``console`` from ``delay`` seconds in until the block ends."""

    def __init__(self, console: Console | Callable[[], Console], tracker: Tracker, *, delay: float = DELAY) -> None:
        self._console = console
        self._tracker = tracker
        self._delay = delay
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._closed = False
        self._timer = threading.Timer(delay, self._start)
        self._timer.daemon = True

    def _start(self) -> None:
        from rich.live import Live

        with self._lock:
            if self._closed:
                return
            console = self._console
            if callable(console):  # made only now: a run shorter than the delay never imports Rich for it
                console = self._console = console()
            self._live = Live(
                _Line(self._tracker),
                console=console,
                refresh_per_second=REFRESH_PER_SECOND,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()

    def __enter__(self) -> LiveProgress:
        self._timer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._live is not None:
                self._live.stop()  # transient: the line is erased
                self._live = None


def _bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """``██████▌░░░░``: eighths of a block, readable without colour (NO_COLOR) too."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part].strip() if part else ""
    return ("█" * full + partial).ljust(width, "░")


def _short(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        text = str(value)
        return text if len(text) <= 12 else text[:11] + "…"
    return (f"{number:.4g}" if math.isfinite(number) else str(number)).replace("-", "−", 1 if number < 0 else 0)


def _rate(rate: float) -> str:
    return f"{rate:,.0f}" if rate >= 10 else f"{rate:.2g}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
