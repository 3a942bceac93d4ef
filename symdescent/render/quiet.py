"""``-q``: only the final point, values separated by spaces, for shell scripts.

A point of more than :data:`~symdescent.layout.QUIET_ENTRIES` entries is not
printed: f is, with a note on stderr saying how to keep the point.
"""

from __future__ import annotations

from typing import TextIO

from symdescent.layout import QUIET_ENTRIES, Layout
from symdescent.render.numbers import FLOATS, Notation
from symdescent.result import Result, Step


class QuietRenderer:
    def __init__(
        self, out: TextIO, layout: Layout, notation: Notation = FLOATS, err: TextIO | None = None, saving: bool = False
    ) -> None:
        self._out = out
        self._layout = layout
        self._notation = notation
        self._err = err
        self._saving = saving

    def step(self, step: Step) -> None:
        pass

    def finish(self, result: Result) -> None:
        machine = self._notation.machine
        if self._layout.shows_point:
            self._out.write(" ".join(machine(v) for v in result.flat) + "\n")
            return
        self._out.write(machine(result.f) + "\n")
        if self._err is not None and not self._saving:
            self._err.write(
                f"The point has {self._layout.size:,} entries (more than {QUIET_ENTRIES}): "
                "f is printed instead; use --save FILE.npy to keep the point\n"
            )
