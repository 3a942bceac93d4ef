"""One program: each concept is defined in one module, the core never imports Click, modules stay small.

These read the source as text (no import), so they are fast and see every module.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symdescent"
MODULES = sorted(PACKAGE.rglob("*.py"))

#: Each concept and the one module that defines it (a class, or a module-level name).
HOMES = {
    "Step": "result.py",
    "Result": "result.py",
    "Status": "result.py",
    "STATUSES": "result.py",
    "Layout": "layout.py",
    "SHOW_ENTRIES": "layout.py",
    "QUIET_ENTRIES": "layout.py",
    "METHODS": "methods.py",
    "FUNCTIONS": "functions.py",
    "NUMERIC_ERRORS": "errors.py",
    "InputError": "errors.py",
    "StoppingRules": "stopping.py",
    "save_point": "render/save.py",
}


@functools.cache
def _definitions(path: Path) -> frozenset[str]:
    """Classes, functions and module-level assignments of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return frozenset(names)


@pytest.mark.parametrize("concept", sorted(HOMES))
def test_each_concept_is_defined_in_one_module(concept: str) -> None:
    homes = [str(p.relative_to(PACKAGE)) for p in MODULES if concept in _definitions(p)]
    assert homes == [HOMES[concept]], f"{concept} is defined in {homes}"


def test_the_vector_stack_has_no_step_or_result_of_its_own() -> None:
    """The two programs of old had VectorStep/VectorResult and their own renderers: one of each now."""
    for path in MODULES:
        text = path.read_text(encoding="utf-8")
        assert "VectorStep" not in text and "VectorResult" not in text, path
    assert not (PACKAGE / "vectors" / "render.py").exists()


def test_only_the_cli_imports_click() -> None:
    for path in MODULES:
        if path.relative_to(PACKAGE).parts[0] == "cli":
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import click|from click)", text, re.M), path


def test_no_module_is_longer_than_500_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in MODULES if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long


def test_no_import_cycle_between_modules_at_import_time() -> None:
    """Top-level imports only (a function's own import is deferred on purpose): they form no cycle."""
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        module = ".".join(("symdescent", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("symdescent"):
                targets.add(node.module)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("symdescent"))
        graph[module] = targets

    done: set[str] = set()

    def visit(node: str, trail: tuple[str, ...]) -> None:
        if node in trail:
            cycle = (*trail[trail.index(node) :], node)
            raise AssertionError(" -> ".join(cycle))
        if node in done:
            return
        for target in graph.get(node, ()):
            if target != node and not node.startswith(target + "."):  # a package's own __init__ is not a cycle
                visit(target, (*trail, node))
        done.add(node)

    for module in graph:
        visit(module, ())
