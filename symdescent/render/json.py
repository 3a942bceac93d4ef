"""JSON (one object at the end) and JSON lines (one object per step, streamed).

Floats are written as their shortest round-trip ``repr`` (what ``json``
does); non-finite numbers become ``null``, so the output is strict JSON.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from symdescent.render.numbers import json_number
from symdescent.result import Result, Step


def step_dict(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {
        "step": step.step,
        "x": [json_number(v) for v in step.x],
        "f": json_number(step.f),
        "grad": [json_number(v) for v in step.grad],
        "grad_norm": json_number(step.grad_norm),
    }
    if step.info:
        data["info"] = {k: _value(v) for k, v in step.info.items()}
    return data


def _value(value: Any) -> Any:
    """Floats as JSON numbers (non-finite: null); counts, flags and words as they are."""
    return json_number(value) if isinstance(value, float) else value


def result_dict(result: Result, *, history: bool = True) -> dict[str, Any]:
    """The SPEC's JSON object for a run (without ``history`` when asked)."""
    data: dict[str, Any] = {
        "function": result.function,
        "variables": list(result.variables),
        "gradient": list(result.gradient),
        "method": result.method,
        "params": {k: _value(v) for k, v in result.params.items()},
        "start": [json_number(v) for v in result.start],
    }
    if history:
        data["history"] = [step_dict(s) for s in result.history]
    data.update(
        {
            "x": [json_number(v) for v in result.x],
            "f": json_number(result.f),
            "grad_norm": json_number(result.grad_norm),
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
    return data


def dumps(data: Any) -> str:
    return json.dumps(data, allow_nan=False, ensure_ascii=False)


class JsonRenderer:
    """Collects nothing itself: the result carries the printed history."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def step(self, step: Step) -> None:
        pass

    def finish(self, result: Result) -> None:
        self._out.write(pretty(result_dict(result)) + "\n")


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

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def step(self, step: Step) -> None:
        self._out.write(dumps({"event": "step", **step_dict(step)}) + "\n")
        self._out.flush()

    def finish(self, result: Result) -> None:
        self._out.write(dumps({"event": "result", **result_dict(result, history=False)}) + "\n")
        self._out.flush()
