"""``-q``: only the final point, values separated by spaces, for shell scripts."""

from __future__ import annotations

from typing import TextIO

from symdescent.render.numbers import FLOATS, Notation
from symdescent.result import Result, Step


class QuietRenderer:
    def __init__(self, out: TextIO, notation: Notation = FLOATS) -> None:
        self._out = out
        self._notation = notation

    def step(self, step: Step) -> None:
        pass

    def finish(self, result: Result) -> None:
        self._out.write(" ".join(self._notation.machine(v) for v in result.x) + "\n")
