"""Expressions written for people on one line: ``x² + 100·(y − x²)²``."""

from __future__ import annotations

import re

import sympy as sp

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def inline(expr: sp.Expr, limit: int = 240) -> str:
    """Unicode one-liner for ``expr``; cut with ``…`` beyond ``limit`` characters.

    >>> inline(parse("2*x**2 + y**10"))
    '2x² + y¹⁰'
    """
    text = sp.sstr(expr)
    text = re.sub(r"\*\*(\d+)\b", lambda m: m.group(1).translate(_SUPERSCRIPTS), text)
    text = re.sub(r"\*\*\((-\d+)\)", lambda m: m.group(1).translate(_SUPERSCRIPTS), text)
    text = re.sub(r"\b(\d+)\*(?=[A-Za-z(])", r"\1", text)
    text = text.replace("**", "^").replace("*", "·").replace("sqrt(", "√(").replace("Abs(", "abs(")
    text = re.sub(r"(?<=[\w)]) - ", " − ", text).replace("(-", "(−")
    if text.startswith("-"):
        text = "−" + text[1:]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def signature(names: tuple[str, ...]) -> str:
    """``f(x, y)``, or ``f(x1, …, x1000)`` when there are many variables."""
    shown = names if len(names) <= 6 else (names[0], "…", names[-1])
    return f"f({', '.join(shown)})"
