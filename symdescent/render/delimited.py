"""CSV and TSV: one header, then one row per printed step, written as computed."""

from __future__ import annotations

import csv
from typing import TextIO

from symdescent.render.numbers import FLOATS, Notation
from symdescent.result import Result, Step


def header(names: tuple[str, ...]) -> list[str]:
    """``step,x,y,f,df/dx,df/dy,grad_norm`` for variables x, y."""
    return ["step", *names, "f", *(f"df/d{n}" for n in names), "grad_norm"]


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

    def step(self, step: Step) -> None:
        self._writer.writerow(row(step, self._notation))
        self._out.flush()

    def finish(self, result: Result) -> None:
        self._out.flush()
