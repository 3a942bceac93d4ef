"""JSON (one object at the end) and JSON lines (one object per step, streamed).

Floats are written as their shortest round-trip ``repr`` (what ``json``
does); non-finite numbers become ``null``, so the output is strict JSON.
With ``--exact`` numbers are strings in SymPy syntax (``"4/5"``), with
``--working-precision D`` strings of D significant digits (``"0.8"``), and
the object says which in ``"arithmetic"`` (and ``"working_precision"``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from symdescent.layout import Layout
from symdescent.render.delimited import PacedFlush
from symdescent.render.numbers import FLOATS, Notation, json_number
from symdescent.result import Result, Step


def step_dict(step: Step, notation: Notation, layout: Layout) -> dict[str, Any]:
    """One history entry: ``x`` and ``grad`` as ``{name: value}`` while the layout shows entries."""
    number = notation.json
    data: dict[str, Any] = {"step": step.step}
    if layout.shows_entries:
        data["x"] = layout.named(step.x, number)
    data["f"] = number(step.f)
    if layout.shows_entries:
        data["grad"] = layout.named(step.grad, number)
    data["grad_norm"] = number(step.grad_norm)
    if step.info:
        data["info"] = {k: _value(v) for k, v in step.info.items()}
    return data


def head_dict(
    function: str,
    layout: Layout,
    gradient: Sequence[str],
    method: str,
    params: Mapping[str, Any],
    start: Mapping[str, Any],
    notation: Notation = FLOATS,
) -> dict[str, Any]:
    """The keys before ``history``: what is known before the first step (``start`` while not too long)."""
    data: dict[str, Any] = {
        "function": function,
        "variables": list(layout.names),
        "shapes": {name: list(shape) for name, shape in layout.shapes.items()},
        "gradient": list(gradient),
        "method": method,
        "params": {k: _param(v, notation) for k, v in params.items()},
    }
    if layout.shows_point:
        data["start"] = layout.named(layout.flatten(start), notation.json)
    return data


def result_head(result: Result, notation: Notation = FLOATS) -> dict[str, Any]:
    return head_dict(
        result.function, result.layout, result.gradient, result.method, result.params, result.start, notation
    )


def result_dict(result: Result, *, history: bool = True, notation: Notation = FLOATS) -> dict[str, Any]:
    """The SPEC's JSON object for a run (without ``history`` when asked)."""
    data = result_head(result, notation)
    if history:
        layout = result.layout
        data["history"] = [step_dict(s, notation, layout) for s in result.history]
    data.update(tail_dict(result, notation))
    return data


def tail_dict(result: Result, notation: Notation = FLOATS) -> dict[str, Any]:
    """The keys after ``history``: how the run ended."""
    number = notation.json
    layout = result.layout
    data: dict[str, Any] = {"x": layout.named(result.flat, number)} if layout.shows_point else {}
    data.update({
        "f": number(result.f),
        "grad_norm": number(result.grad_norm),
        "steps": result.steps,
        "status": str(result.status),
        "message": result.message,
        "tol": result.tol,
        "max_steps": result.max_steps,
        "maximize": result.maximize,
        "nfev": result.nfev,
        "ngev": result.ngev,
        "nhev": result.nhev,
    })
    if notation.kind != "float":
        data["arithmetic"] = notation.kind
        if notation.digits is not None:
            data["working_precision"] = notation.digits
    return data


def _value(value: Any) -> Any:
    """Floats as JSON numbers (non-finite: null); counts, flags and words as they are."""
    if isinstance(value, float):
        return json_number(value)
    return value if isinstance(value, bool | int | str) or value is None else str(value)


def _param(value: Any, notation: Notation) -> Any:
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return json_number(value)
    return notation.json(value)  # an exact or mpmath hyperparameter


def dumps(data: Any) -> str:
    return json.dumps(data, allow_nan=False, ensure_ascii=False)


class JsonRenderer:
    """One JSON object, streamed: the head, then each ``history`` entry as its step comes, then the end.

    Nothing is kept, so memory does not grow with the steps. Without a
    ``head`` (the keys known before the run) the whole object, history
    included, is written at the end from the result.
    """

    def __init__(
        self, out: TextIO, layout: Layout, notation: Notation = FLOATS, head: Mapping[str, Any] | None = None
    ) -> None:
        self._out = out
        self._notation = notation
        self._head = head
        self._layout = layout
        self._separator = ""  # before the next history entry: none yet

    def step(self, step: Step) -> None:
        if self._head is None:
            return
        if not self._separator:
            self._out.write("{\n" + _lines(self._head) + ',\n  "history": [\n')
            self._separator = ",\n"
            self._out.write("    " + dumps(step_dict(step, self._notation, self._layout)))
        else:
            self._out.write(self._separator + "    " + dumps(step_dict(step, self._notation, self._layout)))

    def abandon(self, message: str) -> None:
        """The run died (out of memory): close the object begun, with ``error`` instead of how it ended."""
        if self._head is not None and self._separator:
            self._out.write("\n  ],\n" + _lines({"error": message}) + "\n}\n")
            self._separator = ""

    def finish(self, result: Result) -> None:
        if self._head is None:
            self._out.write(pretty(result_dict(result, notation=self._notation)) + "\n")
            return
        tail = _lines(tail_dict(result, self._notation))
        if self._separator:
            self._out.write("\n  ],\n" + tail + "\n}\n")
        else:
            self._out.write("{\n" + _lines(self._head) + ',\n  "history": [],\n' + tail + "\n}\n")


def _lines(data: Mapping[str, Any]) -> str:
    return ",\n".join(f"  {dumps(key)}: {dumps(value)}" for key, value in data.items())


def pretty(data: dict[str, Any]) -> str:
    """One key per line and one history entry per line: readable, and still one JSON object."""
    lines = []
    for key, value in data.items():
        if key == "history":
            items = ",\n".join(f"    {dumps(item)}" for item in value)
            lines.append(f'  "history": [\n{items}\n  ]' if value else '  "history": []')
        else:
            lines.append(f"  {dumps(key)}: {dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}"


class JsonLinesRenderer:
    """One ``{"event": "step", …}`` line per step as it is computed, then ``{"event": "result", …}``."""

    def __init__(
        self, out: TextIO, layout: Layout, notation: Notation = FLOATS, head: Mapping[str, Any] | None = None
    ) -> None:
        self._out = out
        self._notation = notation
        self._layout = layout
        self._head = head  # taken before the run: an in-place run moves its start
        self._flush = PacedFlush(out)

    def step(self, step: Step) -> None:
        self._out.write(dumps({"event": "step", **step_dict(step, self._notation, self._layout)}) + "\n")
        self._flush()

    def finish(self, result: Result) -> None:
        data = result_dict(result, history=False, notation=self._notation)
        if self._head is not None:
            data.update({key: value for key, value in self._head.items() if key != "params"})
        self._out.write(dumps({"event": "result", **data}) + "\n")
        self._out.flush()
