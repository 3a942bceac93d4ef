"""CSV and TSV: one header, then one row per printed step, written as computed.

Rows are streamed: each reaches the reader within :data:`FLUSH_SECONDS` of
being computed (at once when steps are slower than that), without a write
to the pipe per row, which would cost a fast run more than computing it.
"""

from __future__ import annotations

import csv
import time
from typing import TextIO

from symdescent.render.numbers import FLOATS, Notation
from symdescent.result import Result, Step


def header(names: tuple[str, ...]) -> list[str]:
    """``step,x,y,f,df/dx,df/dy,grad_norm`` for variables x, y."""
    return ["step", *names, "f", *(f"df/d{n}" for n in names), "grad_norm"]


#: Rows are flushed to the reader at least this often (and when the run ends).
FLUSH_SECONDS = 0.05


def row(step: Step, notation: Notation = FLOATS) -> list[str]:
    machine = notation.machine
    return [str(step.step), *map(machine, step.x), machine(step.f), *map(machine, step.grad), machine(step.grad_norm)]


class DelimitedRenderer:
    """Streams rows to ``out`` with the given delimiter (``,`` or tab)."""

    def __init__(self, out: TextIO, names: tuple[str, ...], delimiter: str = ",", notation: Notation = FLOATS) -> None:
        self._out = out
        self._notation = notation
        self._writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        self._writer.writerow(header(names))
        self._floats = notation is FLOATS
        self._flushed = time.monotonic()
        out.flush()

    def step(self, step: Step) -> None:
        if self._floats:  # csv writes a float as its repr: the machine notation, without a call per value
            self._writer.writerow(
                (step.step, *map(float, step.x), float(step.f), *map(float, step.grad), float(step.grad_norm))
            )
        else:
            self._writer.writerow(row(step, self._notation))
        now = time.monotonic()
        if now - self._flushed >= FLUSH_SECONDS or step.step == 0:
            self._out.flush()
            self._flushed = now

    def finish(self, result: Result) -> None:
        self._out.flush()
