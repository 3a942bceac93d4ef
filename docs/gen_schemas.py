"""The JSON Schemas (draft 2020-12) of every machine output, written to docs/schemas/.

    python docs/gen_schemas.py   # rewrite docs/schemas/*.schema.json

Each published schema is self-contained (its shared pieces copied into ``$defs``), so a user validates with one
file. tests/test_schemas.py checks that the files are what this script writes and that real output of every
command, for every kind of problem, validates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from symdescent.result import STATUSES as STATUS_TABLE

FOLDER = Path(__file__).resolve().parent / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

#: The statuses of a run, from the one table of them (``result.STATUSES``).
STATUSES = [str(status) for status in STATUS_TABLE]

DEFS: dict[str, Any] = {
    "value": {
        "description": "A number: a JSON number (null when not finite) in floats; a string in SymPy syntax with "
        "--exact ('4/5') or --working-precision ('0.80000000000000000000').",
        "type": ["number", "string", "null"],
    },
    "entries": {
        "description": "A variable's value: one value for a scalar, a (nested) list for a vector or matrix.",
        "anyOf": [{"$ref": "#/$defs/value"}, {"type": "array", "items": {"$ref": "#/$defs/entries"}}],
    },
    "named": {
        "description": "A point or gradient: each variable by name (at most 1000 entries in all).",
        "type": "object",
        "additionalProperties": {"$ref": "#/$defs/entries"},
    },
    "count": {"type": "integer", "minimum": 0},
    "step": {
        "description": "One step: x and grad while all variables have at most 6 entries.",
        "type": "object",
        "properties": {
            "step": {"$ref": "#/$defs/count"},
            "x": {"$ref": "#/$defs/named"},
            "f": {"$ref": "#/$defs/value"},
            "grad": {"$ref": "#/$defs/named"},
            "grad_norm": {"$ref": "#/$defs/value"},
            "info": {
                "description": "What the method used in this step (alpha, nfev, beta, restart, fallback, line).",
                "type": "object",
            },
        },
        "required": ["step", "f", "grad_norm"],
    },
}

#: The keys of a run's result (``run --format json`` without its history).
RESULT: dict[str, Any] = {
    "function": {"type": "string", "description": "f as parsed, in SymPy syntax (or the vector syntax)."},
    "variables": {"type": "array", "items": {"type": "string"}},
    "shapes": {
        "description": "Each variable's shape: [] for a scalar, [n] for a vector.",
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"$ref": "#/$defs/count"}},
    },
    "gradient": {"type": "array", "items": {"type": "string"}, "description": "One formula per variable."},
    "method": {"type": "string"},
    "params": {
        "description": "Every hyperparameter the method used, and the engine that ran it.",
        "type": "object",
        "additionalProperties": {"type": ["number", "string", "boolean", "null"]},
    },
    "start": {"$ref": "#/$defs/named"},
    "x": {"$ref": "#/$defs/named"},
    "f": {"$ref": "#/$defs/value"},
    "grad_norm": {"$ref": "#/$defs/value"},
    "steps": {"$ref": "#/$defs/count"},
    "status": {"enum": STATUSES},
    "message": {"type": "string"},
    "tol": {"type": "number", "minimum": 0},
    "max_steps": {"$ref": "#/$defs/count"},
    "maximize": {"type": "boolean"},
    "nfev": {"$ref": "#/$defs/count"},
    "ngev": {"$ref": "#/$defs/count"},
    "nhev": {"$ref": "#/$defs/count"},
    "arithmetic": {"enum": ["exact", "mpmath"]},
    "working_precision": {"type": "integer", "minimum": 1},
}
REQUIRED = [
    "function", "variables", "shapes", "gradient", "method", "params", "f", "grad_norm", "steps", "status",
    "message", "tol", "max_steps", "maximize", "nfev", "ngev", "nhev",
]  # fmt: skip

#: The keys the SPEC names for ``analyze``; the others are documented extras.
ANALYZE_REQUIRED = [
    "function", "variables", "gradient", "hessian", "critical_points", "convex", "lipschitz", "max_stable_lr",
    "best_lr",
]  # fmt: skip


def _schema(name: str, title: str, body: dict[str, Any], defs: list[str]) -> dict[str, Any]:
    used = {key: DEFS[key] for key in defs}
    return {"$schema": DRAFT, "$id": f"{name}.schema.json", "title": title, **body, "$defs": used}


def _object(properties: dict[str, Any], required: list[str], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


ALL = ["value", "entries", "named", "count", "step"]


def schemas() -> dict[str, dict[str, Any]]:
    """Each published file name and its schema."""
    step_event = {**DEFS["step"]["properties"], "event": {"const": "step"}}
    seconds = {"seconds": {"type": "number", "minimum": 0, "description": "Wall time of the run."}}
    run = _object(
        {**RESULT, "history": {"type": "array", "items": {"$ref": "#/$defs/step"}}},
        [*REQUIRED, "history"],
        "symdescent run --format json: the run and every printed step. start and x are left out beyond 1000 entries.",
    )
    run["properties"]["history"]["items"] = {"$ref": "#/$defs/step", "unevaluatedProperties": False}
    analyze_point = {
        "type": "object",
        "properties": {
            "point": {"$ref": "#/$defs/named"},
            "kind": {"enum": ["minimum", "maximum", "saddle", "degenerate"]},
            "f": {"$ref": "#/$defs/value"},
            "numeric": {"type": "boolean"},
            "eigenvalues": {"type": "array", "items": {"type": ["number", "null"]}},
            "local_max_stable_lr": {"type": ["number", "null"]},
            "local_best_lr": {"type": ["number", "null"]},
        },
        "required": ["point", "kind", "f", "numeric", "eigenvalues"],
        "additionalProperties": False,
    }
    nullable_value = {"$ref": "#/$defs/value"}
    analyze = _object(
        {
            "function": {"type": "string"},
            "variables": {"type": "array", "items": {"type": "string"}},
            "gradient": {"type": "array", "items": {"type": "string"}},
            "hessian": {
                "description": "Formulas (strings) or, for data problems, numbers; null when too large.",
                "type": ["array", "null"],
                "items": {"type": "array", "items": {"type": ["string", "number", "null"]}},
            },
            "critical_points": {"type": ["array", "null"], "items": analyze_point},
            "convex": {"type": ["boolean", "null"]},
            "lipschitz": nullable_value,
            "max_stable_lr": nullable_value,
            "best_lr": nullable_value,
            "quadratic": {"type": ["boolean", "null"]},
            "lambda_min": nullable_value,
            "lambda_max": nullable_value,
            "where": {"type": ["string", "null"]},
            "hessian_eigenvalues": {"type": ["array", "null"], "items": nullable_value},
            "hessian_formula": {"type": ["string", "null"]},
            "convex_reason": {"type": ["string", "null"]},
            "search": {"type": "string"},
            "complete": {"type": ["boolean", "null"]},
            "notes": {"type": "array", "items": {"type": "string"}},
        },
        ANALYZE_REQUIRED,
        "symdescent analyze --format json. Exact values are strings in SymPy syntax, numeric ones numbers.",
    )
    grad = _object(
        {
            "function": {"type": "string"},
            "variables": {"type": "array", "items": {"type": "string"}},
            "partials": {"type": "object", "additionalProperties": {"type": "string"}},
            "gradient": {"type": "array", "items": {"type": "string"}},
            "at": {"$ref": "#/$defs/named"},
            "value": {"$ref": "#/$defs/named"},
            "norm": {"$ref": "#/$defs/value"},
            "f": {"$ref": "#/$defs/value"},
        },
        ["function", "variables", "partials", "gradient"],
        "symdescent grad --format json; norm and f only with --at, at and value too up to 1000 entries.",
    )
    grad["dependentRequired"] = {"at": ["value", "norm", "f"], "norm": ["f"]}
    compare_run = {**RESULT, **seconds}
    compare = _object(
        {
            "function": {"type": "string"},
            "variables": {"type": "array", "items": {"type": "string"}},
            "start": {"$ref": "#/$defs/named"},
            "runs": {
                "type": "array",
                "items": _object(compare_run, [*REQUIRED, "seconds"], "One method's run, without its history."),
            },
        },
        ["function", "variables", "runs"],
        "symdescent compare --format json: one run per method, in the order given.",
    )
    return {
        "run": _schema("run", "symdescent run --format json", run, ALL),
        "run-jsonl-step": _schema(
            "run-jsonl-step",
            "symdescent run --format jsonl: a step event",
            _object(step_event, ["event", "step", "f", "grad_norm"], "One line per printed step, as computed."),
            ALL,
        ),
        "run-jsonl-result": _schema(
            "run-jsonl-result",
            "symdescent run --format jsonl: the result event",
            _object({**RESULT, "event": {"const": "result"}}, ["event", *REQUIRED], "The last line: the result."),
            ALL,
        ),
        "compare": _schema("compare", "symdescent compare --format json", compare, ALL),
        "compare-jsonl-run": _schema(
            "compare-jsonl-run",
            "symdescent compare --format jsonl: a run event",
            _object(
                {**compare_run, "event": {"const": "run"}},
                ["event", *REQUIRED, "seconds"],
                "One line per method, as it finishes.",
            ),
            ALL,
        ),
        "analyze": _schema("analyze", "symdescent analyze --format json", analyze, ["value", "entries", "named"]),
        "grad": _schema("grad", "symdescent grad --format json", grad, ["value", "entries", "named"]),
    }


def text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for name, schema in schemas().items():
        (FOLDER / f"{name}.schema.json").write_text(text(schema), encoding="utf-8")


if __name__ == "__main__":
    main()
