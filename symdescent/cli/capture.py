"""Hand a command's result to a caller in the same process, as well as printing it.

The notebook magic (:mod:`symdescent.notebook`) runs the very command the
terminal runs, so that its options, checks and messages are the CLI's own, and
takes the library object the command built (a Result, an explanation, an
analysis…) instead of its printed form. Outside the magic nothing is kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from symdescent.result import Step

#: The list a running magic collects into; None (nothing kept) everywhere else.
KEPT: ContextVar[list[Any] | None] = ContextVar("symdescent_kept", default=None)

#: Steps kept at each end of a run for the notebook's table; the middle is sampled for the sparkline.
EDGE = 50
MIDDLE = 2000


def keeping() -> bool:
    return KEPT.get() is not None


def keep(value: Any) -> None:
    """Give ``value`` to the magic that is running, if one is."""
    kept = KEPT.get()
    if kept is not None:
        kept.append(value)


class History:
    """A bounded history of a run of any length: its first and last steps, and an even sample between.

    The sample halves when it fills (every other step dropped, the stride doubled), so a run of 10⁸
    steps keeps about ``2·EDGE + MIDDLE`` steps, evenly spread, like the sparkline's sampler.
    """

    def __init__(self) -> None:
        self.first: list[Step] = []
        self.middle: list[Step] = []
        self.last: deque[Step] = deque(maxlen=EDGE)
        self.stride = 1

    def watch(self, steps: Iterable[Step]) -> Iterator[Step]:
        for step in steps:
            self.add(step)
            yield step

    def add(self, step: Step) -> None:
        if len(self.first) < EDGE:
            self.first.append(step)
            return
        if len(self.last) == EDGE:
            leaving = self.last[0]
            if leaving.step % self.stride == 0:
                self.middle.append(leaving)
                if len(self.middle) > MIDDLE:
                    self.stride *= 2
                    self.middle = [s for s in self.middle if s.step % self.stride == 0]
        self.last.append(step)

    def steps(self) -> tuple[Step, ...]:
        return (*self.first, *self.middle, *self.last)
