"""Every machine output validates against its published JSON Schema (docs/schemas/), for every kind of problem.

The five kinds of tests/test_one_program.py — two scalars, scalars with data, a vector of 3, least squares
with a matrix, a banded vector of 10⁵ on the kernel engine — through run (json, each jsonl event), compare
(json, jsonl), analyze and grad; plus exact and D-digit arithmetic and a run that ends at the step limit.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import cli
from jsonschema import Draft202012Validator

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCHEMAS = DOCS / "schemas"

#: name -> (EXPR, --start, data files as (--data value, file name, text))
KINDS: dict[str, tuple[str, str, tuple[tuple[str, str, str], ...]]] = {
    "scalars": ("(x-1)^2+(y-2)^2", "0,0", ()),
    "data": ("mean((a*t+b-T)^2)", "a=0,b=0", (("", "temps.csv", "t,T\n0,1\n1,3\n2,5\n3,7\n"),)),
    "vector": ("sum((x-1)^2)", "x=[0,0,0]", ()),
    "lsq": ("sum((A @ w - b)^2)", "w=zeros(2)", (("A=", "A.csv", "1,0\n0,2\n1,1\n"), ("b=", "b.csv", "1\n2\n3\n"))),
    "kernel": ("sum((x[i+1]-x[i])^2, i) + sum((x-1)^2)", "x=zeros(100000)", ()),
}
FIXED = ["--lr", "0.05", "--steps", "3", "--tol", "0"]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_schemas", DOCS / "gen_schemas.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check(name: str, document: object) -> None:
    errors = sorted(validator(name).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{name}: {list(e.path)}: {e.message}" for e in errors[:5])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("schemas")
    for _, _, files in KINDS.values():
        for _, file, text in files:
            (here / file).write_text(text)
    return here


def args(kind: str, folder: Path, start: str = "--start") -> list[str]:
    expr, point, files = KINDS[kind]
    out = [expr, start, point]
    for target, file, _ in files:
        out += ["--data", f"{target}{folder / file}"]
    return out


def output(*arguments: str) -> str:
    result = cli(*arguments)
    assert result.exit_code in (0, 4), result.output
    return result.stdout


def test_the_published_schemas_are_what_the_generator_writes() -> None:
    generator = _generator()
    published = {p.name for p in SCHEMAS.glob("*.schema.json")}
    assert published == {f"{name}.schema.json" for name in generator.schemas()}
    for name, schema in generator.schemas().items():
        assert (SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8") == generator.text(schema), name


@pytest.mark.parametrize("kind", KINDS)
def test_run_json_and_jsonl(kind: str, folder: Path) -> None:
    check("run", json.loads(output("run", *args(kind, folder), *FIXED, "--format", "json")))
    lines = [json.loads(line) for line in output("run", *args(kind, folder), *FIXED, "--format", "jsonl").splitlines()]
    assert [e["event"] for e in lines] == ["step"] * 4 + ["result"]
    for event in lines:
        check(f"run-jsonl-{event['event']}", event)


@pytest.mark.parametrize("kind", KINDS)
def test_compare_json_and_jsonl(kind: str, folder: Path) -> None:
    methods = ["--methods", "gd,adam", *FIXED]
    document = json.loads(output("compare", *args(kind, folder), *methods, "--format", "json"))
    check("compare", document)
    assert [r["method"] for r in document["runs"]] == ["gd", "adam"]
    for line in output("compare", *args(kind, folder), *methods, "--format", "jsonl").splitlines():
        check("compare-jsonl-run", json.loads(line))


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "kernel"])
def test_analyze(kind: str, folder: Path) -> None:
    check("analyze", json.loads(output("analyze", *args(kind, folder), "--format", "json")))


@pytest.mark.parametrize("kind", KINDS)
def test_grad_with_and_without_a_point(kind: str, folder: Path) -> None:
    with_point = json.loads(output("grad", *args(kind, folder, start="--at"), "--format", "json"))
    check("grad", with_point)
    assert {"norm", "f"} <= set(with_point)
    assert ({"at", "value"} <= set(with_point)) == (kind != "kernel")  # the point only up to 1000 entries
    expr, _, files = KINDS[kind]
    if not files:  # without data or a point: the formulas alone
        check("grad", json.loads(output("grad", expr, "--format", "json")))


def test_analyze_of_a_banded_vector(folder: Path) -> None:
    check("analyze", json.loads(output("analyze", *args("kernel", folder), "--format", "json")))


@pytest.mark.parametrize(
    "extra",
    [["--exact"], ["--working-precision", "30"], ["--method", "newton"], ["--method", "cg"], ["--maximize"]],
    ids=["exact", "mpmath", "newton", "cg", "maximize"],
)
def test_run_json_in_other_arithmetic_and_methods(extra: list[str], folder: Path) -> None:
    fixed = ["--steps", "3", "--tol", "0"] if extra[-1] in ("newton", "cg") else FIXED
    document = json.loads(output("run", *args("scalars", folder), *fixed, *extra, "--format", "json"))
    check("run", document)


def test_a_run_that_stops_at_the_step_limit(folder: Path) -> None:
    document = json.loads(output("run", *args("scalars", folder), "--steps", "2", "--format", "json"))
    assert document["status"] == "max_steps"
    check("run", document)


def test_the_schema_rejects_what_it_does_not_describe() -> None:
    """The schemas are not vacuous: a wrong type or an unknown key fails."""
    good = json.loads(output("grad", "x**2+y**2", "--at", "1,2", "--format", "json"))
    check("grad", good)
    assert list(validator("grad").iter_errors({**good, "norm": [1]}))
    assert list(validator("grad").iter_errors({**good, "surprise": 1}))
    assert list(validator("grad").iter_errors({k: v for k, v in good.items() if k != "value"}))
