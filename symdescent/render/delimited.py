"""CSV and TSV: one header, then one row per printed step, written as computed."""

from __future__ import annotations

import csv
import time
from typing import TextIO

from symdescent.layout import Layout
from symdescent.render.numbers import FLOATS, Notation, machine
from symdescent.result import Result, Step


def header(layout: Layout) -> list[str]:
    """``step,x,y,f,df/dx,df/dy,grad_norm`` for variables x, y; ``step,f,grad_norm`` past the entries shown."""
    labels = layout.labels() if layout.shows_entries else ()
    return ["step", *labels, "f", *(f"df/d{n}" for n in labels), "grad_norm"]


def row(step: Step, notation: Notation = FLOATS, entries: bool = True) -> list[str]:
    machine = notation.machine
    if not entries:
        return [str(step.step), machine(step.f), machine(step.grad_norm)]
    return [str(step.step), *map(machine, step.x), machine(step.f), *map(machine, step.grad), machine(step.grad_norm)]


class PacedFlush:
    """Flush ``out`` at most every ``interval`` seconds: a reader sees rows as they come, without a
    system call per step (which would cost more than the step itself)."""

    def __init__(self, out: TextIO, interval: float = 0.05) -> None:
        self._out = out
        self._interval = interval
        self._next = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now >= self._next:
            self._out.flush()
            self._next = now + self._interval


class DelimitedRenderer:
    """Streams rows to ``out`` with the given delimiter (``,`` or tab); keeps nothing."""

    def __init__(self, out: TextIO, layout: Layout, delimiter: str = ",", notation: Notation = FLOATS) -> None:
        self._out = out
        self._notation = notation
        self._delimiter = delimiter
        self._entries = layout.shows_entries
        self._writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        self._writer.writerow(header(layout))
        self._flush = PacedFlush(out)
        # Floats never need quoting: join their text directly, faster than the csv writer.
        self._floats = notation.kind == "float"

    def step(self, step: Step) -> None:
        if not self._entries:
            self._out.write(self._delimiter.join(row(step, self._notation, entries=False)) + "\n")
        elif self._floats:
            self._out.write(
                self._delimiter.join(
                    [str(step.step), *map(machine, step.x), machine(step.f), *map(machine, step.grad),
                     machine(step.grad_norm)]
                ) + "\n"
            )  # fmt: skip
        else:
            self._writer.writerow(row(step, self._notation))
        self._flush()

    def finish(self, result: Result) -> None:
        self._out.flush()
