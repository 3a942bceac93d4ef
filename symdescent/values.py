"""The one place that reads values the user gives: numbers, points and name=value lists.

Everything that takes a value from a person or a caller goes through here
(the CLI, :mod:`~symdescent.problem`, :mod:`~symdescent.run`,
:mod:`~symdescent.compare`, :mod:`~symdescent.explain`), so ``--start
"x = 1, y = 2"`` means the same to every command::

    number("1/3", "lr")                      -> 1/3            (a SymPy number, never eval)
    exact_number("0.1", "lr")                -> (1/10, True)   (decimal literals are exact decimals)
    read_point(("x", "y"), "y=2, x=-1")      -> (-1, 2)        (SymPy numbers, checked finite and real)
    float_point(("x", "y"), (1, 2))          -> (1.0, 2.0)
    assignments("a=2, b=pi", "param")        -> {"a": "2", "b": "pi"}
    split_top_level("atan2(1,2),3")          -> ["atan2(1,2)", "3"]
    decimal_float("-0.5")                    -> -0.5           (data files: plain decimals only, no SymPy)

A point is text (``"1,2"`` or ``"x=1,y=2"``), a sequence, a mapping of names
to values, or in one dimension a single number. Anything else, and any value
that is not a finite real number, raises :class:`~symdescent.errors.InputError`.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

import sympy as sp

from symdescent.errors import InputError

Point = str | Sequence[Any] | Mapping[str, Any] | int | float | sp.Expr


def split_top_level(text: str, opening: str = "(", closing: str = ")") -> list[str]:
    """Split on commas outside brackets: ``"atan2(1,2),3"`` -> ``["atan2(1,2)", "3"]``."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += (char in opening) - (char in closing)
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def assignments(
    text: str,
    what: str,
    example: str = "a=2",
    *,
    missing: str = "bad {what} {item!r}: write name=value, e.g. {example}",
    repeated: str = "{what} gives {name} more than once",
) -> dict[str, str]:
    """``"a=2, b=pi"`` -> ``{"a": "2", "b": "pi"}``; refuses an item without ``=`` or a name, and a repeat.

    ``missing`` and ``repeated`` word those refusals (fields: what, item, example, text, name).
    """
    given: dict[str, str] = {}
    for item in split_top_level(text):
        name, sep, value = item.partition("=")
        name = name.strip()
        fields = {"what": what, "item": item, "example": example, "text": text, "name": name}
        if not sep or not name:
            raise InputError(missing.format(**fields), parameter=_keyword(what))
        if name in given:
            raise InputError(repeated.format(**fields), parameter=_keyword(what))
        given[name] = value.strip()
    return given


#: A plain decimal literal in ASCII digits: ``2``, ``-0.5``, ``.5``, ``1.``, ``1e-3``, ``+2E+5``. Every text it
#: matches is a literal :func:`symdescent.parsing.parse_constant` reads as the same number; what the tokenizer
#: refuses (``1_000``, Arabic-Indic or fullwidth digits, ``0x10``, ``inf``, ``nan``) it does not match.
DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def decimal_float(text: str) -> float | None:
    """A plain decimal literal as a float (rounded to the nearest float); None for anything else.

    The number reader of data files: Python's ``float()`` would also take ``1_000``, ``١٢`` and ``１２``,
    which start values refuse; this takes only what both read alike, and costs no SymPy per cell.
    """
    return float(text) if DECIMAL.fullmatch(text) else None


def number(value: object, what: str) -> sp.Expr:
    """A value as a SymPy number: text is parsed (``1/3``, ``pi/4``); ints, floats and SymPy numbers are taken."""
    from symdescent.parsing import parse_constant

    if isinstance(value, str):
        return parse_constant(value, what)
    if isinstance(value, sp.Expr) and not isinstance(value, sp.logic.boolalg.Boolean):
        if value.free_symbols or not value.is_number:
            raise InputError(f"{what} must be a number, got {_shown(value)}", parameter=_keyword(what))
        from symdescent.budget import check_constant

        check_constant(value, what)  # an unevaluated Pow(2, 10**250) from a library caller
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(
            f"{what} must be a number or text such as '1/3', not {type(value).__name__}", parameter=_keyword(what)
        )
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    if isinstance(value, numbers.Rational):
        return sp.Rational(int(value.numerator), int(value.denominator))
    try:
        as_float = float(value)
    except (OverflowError, ValueError):
        as_float = math.nan
    if not math.isfinite(as_float):
        raise InputError(f"{what} must be a finite number, got {value}", parameter=_keyword(what))
    return sp.Float(float.__repr__(as_float))


def exact_number(value: object, what: str) -> tuple[sp.Expr, bool]:
    """A value as an exact SymPy number, and whether it was written with decimals.

    ``"0.1"`` -> (1/10, True), ``"1/3"`` -> (1/3, False): a decimal literal is exactly the decimal it spells.
    """
    parsed = number(value, what)
    floats = parsed.atoms(sp.Float)
    if floats:
        parsed = parsed.xreplace({f: sp.Rational(str(f)) for f in floats})
    return parsed, bool(floats)


def read_point(names: Sequence[str], values: object, what: str = "the start point") -> tuple[sp.Expr, ...]:
    """A point as SymPy numbers in the order of ``names``, each checked to be a finite real number."""
    items = _items(names, values, what)
    for name, (given, value) in zip(names, items, strict=True):
        _check_finite(name, given, value)
    return tuple(value for _, value in items)


def float_point(names: Sequence[str], values: object, what: str = "the start point") -> tuple[float, ...]:
    """A point as floats in the order of ``names`` (see :func:`read_point`)."""
    floats = []
    for name, (given, value) in zip(names, _items(names, values, what), strict=True):
        floats.append(_check_finite(name, given, value))
    return tuple(floats)


def _check_finite(name: str, given: object, value: sp.Expr) -> float:
    try:
        as_float = float(value)
    except (TypeError, OverflowError, ValueError):
        as_float = math.nan
    if not math.isfinite(as_float):
        raise InputError(f"the value of {name} ({_shown(given)}) is not a finite real number")
    return as_float


def _items(names: Sequence[str], values: object, what: str) -> list[tuple[object, sp.Expr]]:
    """Each coordinate as given and as a SymPy number, in the order of the names."""
    listed: Sequence[Any]
    if values is None:
        raise InputError(f"{what} is missing", hint="give one value per variable, e.g. 1,2")
    if isinstance(values, str):
        listed = _split_point(values, names, what)
    elif isinstance(values, Mapping):
        listed = _named(dict(values), names, what)
    elif isinstance(values, int | float | sp.Expr) and not isinstance(values, bool):
        listed = (values,)
    elif isinstance(values, Sequence) and not isinstance(values, bytes | bytearray):
        listed = values
    else:
        raise InputError(f"{what} must be text such as '1,2', a sequence or a mapping, not {type(values).__name__}")
    if len(listed) != len(names):
        _no_brackets(values, names, what)
        shown = ", ".join(names) if len(names) <= 8 else f"{', '.join(names[:4])}, …, {names[-1]}"
        raise InputError(f"{what} has {len(listed)} value(s) but the function has {len(names)} variable(s): {shown}")
    items = []
    for name, value in zip(names, listed, strict=True):
        if isinstance(value, str) and not value.strip():
            raise InputError(f"{what} has no value for {name} (an empty item between commas)")
        items.append((value, number(value, f"the value of {name}")))
    return items


def _no_brackets(values: object, names: Sequence[str], what: str) -> None:
    """``(1,2)`` or ``[1,2]`` for two variables: say that a point is written ``1,2``, without brackets."""
    text = values.strip() if isinstance(values, str) else ""
    parts = split_top_level(text[1:-1]) if len(text) > 2 and text[0] + text[-1] in ("()", "[]") else []
    if len(parts) == len(names):
        inner = ",".join(part.strip() for part in parts)
        named = ",".join(f"{name}={part.strip()}" for name, part in zip(names, parts, strict=True))
        raise InputError(
            f"{what} is written {inner}, without brackets, not {text}",
            hint=f"one value per variable, separated by commas: {inner}, or by name: {named}",
        )


def _named(given: dict[Any, object], names: Sequence[str], what: str) -> list[object]:
    unknown = [n for n in given if n not in names]
    if unknown:
        raise InputError(f"{unknown[0]!r} is not a variable of the function (variables: {', '.join(names)})")
    missing = [n for n in names if n not in given]
    if missing:
        raise InputError(f"{what} has no value for {', '.join(missing)}")
    return [given[n] for n in names]


def _split_point(text: str, names: Sequence[str], what: str) -> list[object]:
    parts = split_top_level(text)
    if not any("=" in part for part in parts):
        return list(parts)
    given = assignments(
        text,
        what,
        missing="mix of named and unnamed values in {text!r}: write x=1,y=2 or 1,2",
        repeated="{name} is given twice in {text!r}",
    )
    return _named(dict(given), names, what)


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _keyword(what: str) -> str | None:
    """``what`` as the keyword argument at fault, when it is one (``lr``), for the CLI to name its option."""
    return what if what.isidentifier() else None
