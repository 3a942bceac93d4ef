"""``-q``: only the final point, values separated by spaces, for shell scripts."""

from __future__ import annotations

from typing import TextIO

from symdescent.render.numbers import machine
from symdescent.result import Result, Step


class QuietRenderer:
    def __init__(self, out: TextIO) -> None:
        self._out = out

    def step(self, step: Step) -> None:
        pass

    def finish(self, result: Result) -> None:
        self._out.write(" ".join(machine(v) for v in result.x) + "\n")
