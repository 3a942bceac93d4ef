"""Warm runs: a function compiled by an earlier run, loaded from the cache without importing SymPy.

The first ``symdescent run "$f" …`` parses f, differentiates it with SymPy
and generates Python source for f and ∇f (:mod:`symdescent.compile`);
:func:`remember` then stores what it generated, and the text the output
shows (the function, the gradient, their one-line forms), in the cache
(:mod:`symdescent.cache`). Later runs of the same function (same text,
``--vars``, ``--param``, symdescent, Python and SymPy versions, engine
choice) get a :class:`CachedProblem` from :func:`load`: it has everything
the run loop, the optimisers and the renderers ask a
:class:`~symdescent.problem.Problem` for, so the output is byte for byte
the same, and none of it needs SymPy.

Whatever a warm problem was not given (the SymPy expression itself, for
``exact-line``'s polynomial line search or for naming the culprit when a
run diverges on a domain error; a Hessian no earlier run compiled) it
builds by the cold path on first use: correct, only not faster. Values the
warm path cannot read without SymPy (``pi/4``, ``1/3``) go through the
parser as before (:func:`plain_float` says which can).
"""

from __future__ import annotations

import ast
import itertools
import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from symdescent import __version__, cache, settings
from symdescent.engine import PythonEngine
from symdescent.generated import FLOAT_HELPERS, Lowered, ValueAndGrad, function_from, rows_from
from symdescent.layout import Layout

if TYPE_CHECKING:
    from symdescent.problem import Problem

#: The compiled pieces an entry may hold: f and ∇f (always), f alone (line searches), the Hessian (newton).
PIECES = ("value_and_grad", "value", "hessian")

_TEXTS = ("function_text", "function_inline")
_TUPLES = ("names", "gradient_text", "gradient_inline")


def key(text: str, variables: str | None, params: str | None) -> str:
    """The cache key of a function as the command line gives it, with everything else its code depends on."""
    python = f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}"
    engine = settings.scalar_engine()
    return cache.key(__version__, python, sympy_version(), engine, text, variables, params)


def sympy_version() -> str:
    """SymPy's version, read from its ``release.py`` without importing it ("" when not found).

    SymPy's version is part of the key: another SymPy may differentiate or print differently.
    """
    spec = _find_spec("sympy")
    if spec is None or not spec.submodule_search_locations:
        return ""
    for folder in spec.submodule_search_locations:
        try:
            with open(os.path.join(folder, "release.py"), encoding="utf-8") as file:
                text = file.read()
        except OSError:
            continue
        version = _assigned_string(text, "__version__")
        if version:
            return version
    return ""


def _assigned_string(source: str, name: str) -> str:
    """The quoted value of the first ``name = "…"`` line of ``source`` ("" if none); no regex to compile."""
    for line in source.splitlines():
        head, equals, value = line.partition("=")
        value = value.strip()
        if equals and head.strip() == name and len(value) > 2 and value[0] == value[-1] and value[0] in "'\"":
            inner = value[1:-1]
            if inner and "'" not in inner and '"' not in inner:
                return inner
    return ""


def _find_spec(name: str) -> Any:
    """``importlib.util.find_spec`` for a top-level module not imported yet, without importing importlib.util."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        spec = find(name, None) if find is not None else None
        if spec is not None:
            return spec
    return None


class CachedEngine(PythonEngine):
    """The ``python`` engine with f and ∇f already lowered (so its fused gd loop is the same code)."""

    problem: CachedProblem

    def __init__(self, problem: CachedProblem, lowered: Lowered) -> None:
        super().__init__(problem)
        self.__dict__["lowered"] = lowered  # fills PythonEngine.lowered, a cached_property

    @property
    def gradient_text(self) -> tuple[str, ...]:
        return self.problem.gradient_text

    @property
    def function_text(self) -> str:
        return self.problem.function_text


class CachedProblem:
    """A :class:`~symdescent.problem.Problem` as far as a float run needs one, from a cache entry.

    Anything else (``expr``, ``gradient``, ``variables``, ``hessian``, ``point``…)
    comes from the real problem, built on first use by ``rebuild`` (which imports SymPy).
    """

    def __init__(self, entry: dict[str, Any], rebuild: Callable[[], Problem]) -> None:
        self.names: tuple[str, ...] = tuple(entry["names"])
        self.function_text: str = entry["function_text"]
        self.gradient_text: tuple[str, ...] = tuple(entry["gradient_text"])
        self.function_inline: str = entry["function_inline"]
        self.gradient_inline: tuple[str, ...] = tuple(entry["gradient_inline"])
        self.lowered = {name: Lowered(**parts) for name, parts in entry["lowered"].items()}
        #: What the command line found out about the function with SymPy (its typo warnings, the
        #: variables f is linear in), to say again without SymPy: name -> list of strings.
        self.notes: dict[str, list[str]] = entry.get("notes", {})
        self.engine = CachedEngine(self, self.lowered["value_and_grad"])
        self._rebuild = rebuild

    @property
    def dimension(self) -> int:
        return len(self.names)

    @property
    def entry_layout(self) -> Layout:
        """Every variable a scalar, in order (the one :class:`~symdescent.layout.Layout` of every problem)."""
        return Layout.of(self.names)

    @property
    def value_and_grad(self) -> ValueAndGrad:
        return self.engine.value_and_grad

    @cached_property
    def value(self) -> Callable[..., float]:
        lowered = self.lowered.get("value")
        return function_from(lowered) if lowered else self.cold.value

    @cached_property
    def hessian_at(self) -> Callable[..., tuple[tuple[float, ...], ...]]:
        lowered = self.lowered.get("hessian")
        return rows_from(lowered, self.dimension) if lowered else self.cold.hessian_at

    @cached_property
    def cold(self) -> Problem:
        """The problem built from the text, as a run without the cache builds it (imports SymPy)."""
        problem = self._rebuild()
        if problem.names != self.names:  # the key covers all the inputs: this would be a bug
            raise RuntimeError("a cache entry disagrees with its function")
        return problem

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "cold":
            raise AttributeError(name)
        return getattr(self.cold, name)


def load(entry_key: str, rebuild: Callable[[], Problem]) -> CachedProblem | None:
    """The cached problem under ``entry_key``, or None (no entry, or one that does not verify)."""
    entry = cache.load(entry_key)
    if entry is None or not _well_formed(entry):
        return None
    return CachedProblem(entry, rebuild)


def _well_formed(entry: dict[str, Any]) -> bool:
    """Every field there with the right type (a verified entry of another layout would otherwise crash)."""
    if not all(isinstance(entry.get(name), str) for name in _TEXTS):
        return False
    if not all(isinstance(entry.get(name), list) and all(isinstance(v, str) for v in entry[name]) for name in _TUPLES):
        return False
    if not (len(entry["names"]) == len(entry["gradient_text"]) == len(entry["gradient_inline"]) > 0):
        return False
    notes = entry.get("notes", {})
    if not isinstance(notes, dict) or not all(
        isinstance(v, list) and all(isinstance(s, str) for s in v) for v in notes.values()
    ):
        return False
    lowered = entry.get("lowered")
    if not isinstance(lowered, dict) or "value_and_grad" not in lowered or not set(lowered) <= set(PIECES):
        return False
    for parts in lowered.values():
        if not isinstance(parts, dict) or set(parts) != {"args", "statements", "outputs"}:
            return False
        if not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in parts.values()):
            return False
        if parts["args"] != [f"_x{i}" for i in range(len(entry["names"]))]:
            return False
        if not all(map(_arithmetic_only, parts["statements"], itertools.repeat(True))):
            return False
        if not all(map(_arithmetic_only, parts["outputs"])):
            return False
    return True


# -- what generated code may contain ---------------------------------------------------------

_MODULES = frozenset({"math", "cmath"})
_CALLABLE = frozenset({"abs", "min", "max", "float", "complex", *FLOAT_HELPERS})
_NODES = (
    ast.Expression, ast.Module, ast.Assign, ast.Load, ast.Store, ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp,
    ast.operator, ast.unaryop, ast.IfExp, ast.Compare, ast.cmpop, ast.BoolOp, ast.boolop, ast.Call, ast.Attribute,
)  # fmt: skip


def _arithmetic_only(source: str, statement: bool = False) -> bool:
    """Whether ``source`` is what our printer writes: arithmetic on numbers, its own names and ``math``.

    A defence in depth for entries that verified (an entry this user's own
    processes wrote): even such a file cannot make a warm run call anything
    but ``math``/``cmath`` functions, ``abs``, ``min``, ``max``, ``float`` and
    ``complex`` and the float helpers of :mod:`symdescent.special`, or reach any name but
    the arguments and temporaries.
    """
    try:
        tree = ast.parse(source, mode="exec" if statement else "eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    if statement and not (
        isinstance(tree, ast.Module)  # always, in "exec" mode
        and len(tree.body) == 1
        and isinstance(tree.body[0], ast.Assign)
        and len(tree.body[0].targets) == 1
        and isinstance(tree.body[0].targets[0], ast.Name)
    ):
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            return False
        if isinstance(node, ast.Name) and not (_our_name(node.id) or node.id in _CALLABLE):
            return False
        if isinstance(node, ast.Constant) and (type(node.value) not in (int, float, complex)):
            return False
        if isinstance(node, ast.Attribute) and not (
            (isinstance(node.value, ast.Name) and node.value.id in ("math", "cmath") and not node.attr.startswith("_"))
            or node.attr in ("real", "imag")
        ):
            return False
        if isinstance(node, ast.Name) and node.id in _CALLABLE and not _called(tree, node):
            return False
    return True


def _our_name(name: str) -> bool:
    """``_x0``, ``_c12``, ``_p3`` (arguments, temporaries, parameters), ``math`` or ``cmath``: the names we print."""
    digits = name[2:]
    return name in _MODULES or (
        name[:1] == "_" and name[1:2] in ("x", "c", "p") and digits.isascii() and digits.isdigit()
    )


def _called(tree: ast.AST, name: ast.Name) -> bool:
    """Whether ``name`` (a builtin) is only ever the function of a call, never passed around."""
    return any(isinstance(node, ast.Call) and node.func is name for node in ast.walk(tree))


def entry_of(problem: Problem, notes: Mapping[str, list[str]] | None = None) -> dict[str, Any] | None:
    """What the cache keeps of a problem compiled by the ``python`` engine (None for other engines)."""
    from symdescent.compile import lower
    from symdescent.render.mathtext import function_inline, gradient_inline

    engine = problem.engine
    if not isinstance(engine, PythonEngine) or isinstance(engine, CachedEngine):
        return None
    lowered = {"value_and_grad": engine.lowered, "value": lower([problem.expr], problem.variables)}
    if "hessian_at" in problem.__dict__:  # compiled by this run (newton): worth keeping
        lowered["hessian"] = problem.lowered_hessian
    return {
        "names": list(problem.names),
        "function_text": problem.function_text,
        "gradient_text": list(problem.gradient_text),
        "function_inline": function_inline(problem),
        "gradient_inline": list(gradient_inline(problem)),
        "lowered": {name: {k: list(v) for k, v in parts._asdict().items()} for name, parts in lowered.items()},
        "notes": dict(notes or {}),
    }


def remember(problem: Problem | CachedProblem, entry_key: str, notes: Mapping[str, list[str]] | None = None) -> None:
    """Store what a run compiled, keeping pieces an earlier entry had (a newton run's Hessian).

    A warm problem is stored again only if this run built the real problem and compiled more with it.
    ``notes``: what the command line found out about the function, for warm runs to say again.
    """
    if isinstance(problem, CachedProblem):
        if "cold" not in problem.__dict__ or "hessian_at" not in problem.cold.__dict__ or "hessian" in problem.lowered:
            return
        notes = problem.notes
        problem = problem.cold
    entry = entry_of(problem, notes)
    if entry is None:
        return
    earlier = cache.load(entry_key)
    if earlier is not None and _well_formed(earlier) and earlier["names"] == entry["names"]:
        entry["lowered"] = {**earlier["lowered"], **entry["lowered"]}
    cache.store(entry_key, entry)


# -- numbers the warm path reads without SymPy -------------------------------------------------

_PLAIN = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: A decimal with at most this many significant digits is a 53-bit SymPy Float, so float() rounds it once,
#: exactly as the parser's value does; longer decimals could round twice and take the parser's way.
_DIGITS = 15


def plain_float(text: str) -> float | None:
    """``float(parse_constant(text))`` for a plain decimal literal, without SymPy; None for anything else.

    Anything else (``1/3``, ``pi/4``, ``1e999``, a 17-digit decimal) is
    left to the parser, which reads it, or words the error, as always.
    """
    text = text.strip()
    if not _PLAIN.fullmatch(text):
        return None
    body = text.lstrip("+-")
    if body.isdigit():  # an integer: the parser's value is exact, so float() of it rounds once
        return float(text) + 0.0 if len(body) <= 300 else None
    mantissa = body.replace("E", "e").partition("e")[0]
    value = float(text) + 0.0  # -0.0 reads as 0 (the parser has no negative zero)
    zero = not mantissa.replace(".", "").strip("0")
    if sum(c.isdigit() for c in mantissa) > _DIGITS or not (zero or 1e-300 <= abs(value) <= 1e300):
        return None
    return value


def plain_point(text: str, names: Sequence[str]) -> tuple[float, ...] | None:
    """``1,2`` or ``x=1,y=2`` as floats when every value is plain; None for anything else (the parser's job)."""
    parts = text.split(",")
    if len(parts) != len(names):
        return None
    if any("=" in part for part in parts):
        given: dict[str, str] = {}
        for part in parts:
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or name in given or name not in names:
                return None
            given[name] = value
        if len(given) != len(names):
            return None
        parts = [given[name] for name in names]
    values = [plain_float(part) for part in parts]
    floats = tuple(v for v in values if v is not None and math.isfinite(v))
    return floats if len(floats) == len(values) else None
