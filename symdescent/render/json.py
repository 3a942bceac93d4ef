"""JSON (one object at the end) and JSON lines (one object per step, streamed).

Floats are written as their shortest round-trip ``repr`` (what ``json``
does); non-finite numbers become ``null``, so the output is strict JSON.
With ``--exact`` numbers are strings in SymPy syntax (``"4/5"``), with
``--working-precision D`` strings of D significant digits (``"0.8"``), and
the object says which in ``"arithmetic"`` (and ``"working_precision"``).
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from symdescent.render.numbers import FLOATS, Notation, json_number
from symdescent.result import Result, Step


def step_dict(step: Step, notation: Notation = FLOATS) -> dict[str, Any]:
    number = notation.json
    data: dict[str, Any] = {
        "step": step.step,
        "x": [number(v) for v in step.x],
        "f": number(step.f),
        "grad": [number(v) for v in step.grad],
        "grad_norm": number(step.grad_norm),
    }
    if step.info:
        data["info"] = {k: _value(v) for k, v in step.info.items()}
    return data


def result_dict(result: Result, *, history: bool = True, notation: Notation = FLOATS) -> dict[str, Any]:
    """The SPEC's JSON object for a run (without ``history`` when asked)."""
    number = notation.json
    data: dict[str, Any] = {
        "function": result.function,
        "variables": list(result.variables),
        "gradient": list(result.gradient),
        "method": result.method,
        "params": {k: _param(v, notation) for k, v in result.params.items()},
        "start": [number(v) for v in result.start],
    }
    if history:
        data["history"] = [step_dict(s, notation) for s in result.history]
    data.update(
        {
            "x": [number(v) for v in result.x],
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
        }
    )
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
    """Collects nothing itself: the result carries the printed history."""

    def __init__(self, out: TextIO, notation: Notation = FLOATS) -> None:
        self._out = out
        self._notation = notation

    def step(self, step: Step) -> None:
        pass

    def finish(self, result: Result) -> None:
        self._out.write(pretty(result_dict(result, notation=self._notation)) + "\n")


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

    def __init__(self, out: TextIO, notation: Notation = FLOATS) -> None:
        self._out = out
        self._notation = notation

    def step(self, step: Step) -> None:
        self._out.write(dumps({"event": "step", **step_dict(step, self._notation)}) + "\n")
        self._out.flush()

    def finish(self, result: Result) -> None:
        data = result_dict(result, history=False, notation=self._notation)
        self._out.write(dumps({"event": "result", **data}) + "\n")
        self._out.flush()
