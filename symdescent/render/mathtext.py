"""Expressions written for people on one line: ``x² + 100·(y − x²)²``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sympy as sp

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
#: √(5) or √(x) not followed by a power (√(x)² is not √x²): the radicand needs no brackets.
_BARE_ROOT = re.compile(r"√\((\d+|[^\W\d]\w*)\)(?![⁰¹²³⁴⁵⁶⁷⁸⁹⁻^])")


def inline(expr: sp.Expr, limit: int = 240) -> str:
    """Unicode one-liner for ``expr``; cut with ``…`` beyond ``limit`` characters.

    >>> inline(parse("2*x**2 + y**10"))
    '2x² + y¹⁰'
    """
    import sympy as sp

    if isinstance(expr, sp.Add) and len(expr.args) > _MANY_TERMS:
        return tidy(_leading_terms(expr, limit), limit)
    return tidy(sp.sstr(expr), limit)


#: Beyond this many terms a sum is shown by its first terms as stored, not in SymPy's printing order:
#: that order compares every term's monomial over ALL the variables (50,000 terms of 50,000 variables
#: is 2.5·10⁹ exponents, gigabytes) to show 240 characters.
_MANY_TERMS = 200


def _leading_terms(expr: sp.Expr, limit: int) -> str:
    """``a + b - c …``: the sum's terms printed one by one until the line is surely longer than ``limit``."""
    import sympy as sp

    text = ""
    for count, term in enumerate(expr.args, 1):
        piece = sp.sstr(term)
        if not text:
            text = piece
        elif piece.startswith("-"):
            text += " - " + piece[1:]
        else:
            text += " + " + piece
        if len(text) > 2 * limit:  # tidy() shortens it (x**2 -> x²): twice the limit is surely enough
            return text + (" + …" if count < len(expr.args) else "")
    return text


def tidy(text: str, limit: int, coefficient: str = r"\b(\d+)\*(?=[A-Za-z(])") -> str:
    """SymPy's ``str`` for people: powers as superscripts, ``·``, ``−``; ``coefficient`` finds the 2 of 2*x."""
    text = re.sub(r"\*\*(\d+)\b", lambda m: m.group(1).translate(_SUPERSCRIPTS), text)
    text = re.sub(r"\*\*\((-\d+)\)", lambda m: m.group(1).translate(_SUPERSCRIPTS), text)
    text = re.sub(coefficient, r"\1", text)
    text = text.replace("**", "^").replace("*", "·").replace("sqrt(", "√(").replace("Abs(", "abs(")
    text = _BARE_ROOT.sub(r"√\1", text)  # 2√5, √x: brackets only where the radicand needs them
    text = re.sub(r"(?<=[\w)]) - ", " − ", text).replace("(-", "(−")
    if text.startswith("-"):
        text = "−" + text[1:]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def signature(names: tuple[str, ...]) -> str:
    """``f(x, y)``, or ``f(x1, …, x1000)`` when there are many variables."""
    shown = names if len(names) <= 6 else (names[0], "…", names[-1])
    return f"f({', '.join(shown)})"


#: How long the table's heading lets f and each partial derivative be.
FUNCTION_LIMIT = 240
GRADIENT_LIMIT = 80


def function_inline(problem: Any) -> str:
    """f as the table's heading writes it; a problem loaded from the cache carries it ready (no SymPy)."""
    ready = getattr(problem, "function_inline", None)
    return ready if ready is not None else inline(problem.expr, FUNCTION_LIMIT)


def gradient_inline(problem: Any) -> tuple[str, ...]:
    """Each ∂f/∂xᵢ as the table's heading writes it (ready, like :func:`function_inline`, when cached)."""
    ready = getattr(problem, "gradient_inline", None)
    return ready if ready is not None else tuple(inline(g, GRADIENT_LIMIT) for g in problem.gradient)
