"""How numbers are written: shortest round-trip for machines, D significant digits for people."""

from __future__ import annotations

import math
from typing import Any


def machine(value: Any) -> str:
    """Shortest text that reads back as the same float (``repr``), e.g. ``0.30000000000000004``."""
    return repr(float(value))


def json_number(value: Any) -> float | None:
    """A float for JSON, or ``None`` (null) when it is not finite."""
    number = float(value)
    return number if math.isfinite(number) else None


def human(value: Any, digits: int) -> str:
    """``value`` with ``digits`` significant digits: ``human(-1/3, 4) == "−0.3333"``.

    For people, so a negative number has the real minus sign (as formulas and exact values do);
    the exponent keeps its ASCII sign (``1e-06``), as everywhere else. Machines get :func:`machine`.
    """
    number = float(value)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    return minus(f"{number:.{digits}g}")


def minus(text: str) -> str:
    """A number's leading ``-`` as the minus sign ``−`` (people's output)."""
    return "−" + text[1:] if text.startswith("-") else text


class Notation:
    """How one run's numbers are written, for each arithmetic (floats by default).

    - floats: ``machine`` is the shortest round-trip text, JSON gets numbers;
    - exact (``--exact``): SymPy syntax (``4/5``, ``2*sqrt(5)``), JSON gets strings;
    - working precision D: D significant digits (trailing zeros dropped), JSON gets strings.

    The table (``human``) shows exact values as they are (``16/25``) while
    they fit in :data:`EXACT_CELL` characters, and beyond that ``≈`` and D digits.
    """

    kind = "float"
    digits: int | None = None

    def machine(self, value: Any) -> str:
        return machine(value)

    def json(self, value: Any) -> Any:
        return json_number(value)

    def human(self, value: Any, digits: int, limit: int | None = None) -> str:
        """``value`` for a person: ``digits`` significant digits (an exact value up to ``limit`` characters)."""
        return human(value, digits)

    def is_approximate(self, value: Any, limit: int | None = None) -> bool:
        """Whether ``human`` shows ``value`` rounded although the run has it exactly."""
        return False


#: Longest exact value shown as it is in a table cell.
EXACT_CELL = 40


class ExactNotation(Notation):
    kind = "exact"

    def machine(self, value: Any) -> str:
        if isinstance(value, float | int):
            return machine(value)
        import sympy as sp

        from symdescent.arithmetic import unlimited_int_digits

        with unlimited_int_digits():
            return sp.sstr(value)

    def json(self, value: Any) -> Any:
        if isinstance(value, float):
            return json_number(value)
        return self.machine(value)

    def human(self, value: Any, digits: int, limit: int | None = None) -> str:
        if isinstance(value, float | int):
            return human(value, digits)
        if self.is_approximate(value, limit):
            return "≈" + human(value, digits)
        from symdescent.render.mathtext import inline

        return inline(value)

    def is_approximate(self, value: Any, limit: int | None = None) -> bool:
        if isinstance(value, float | int):
            return False
        limit = EXACT_CELL if limit is None else limit
        if getattr(value, "is_Rational", False):
            # estimate first: the digits of a huge fraction are never written out just to be measured
            estimate = (int(value.p).bit_length() + int(value.q).bit_length()) * 0.30103
            if estimate > limit + 2:
                return True
        elif len(self.machine(value)) > 4 * limit:
            return True
        from symdescent.render.mathtext import inline

        return len(inline(value)) > limit


class PrecisionNotation(Notation):
    kind = "mpmath"
    digits: int  # always set here (None only for notations without a precision)

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def machine(self, value: Any) -> str:
        import mpmath

        if isinstance(value, float | int) and not math.isfinite(value):
            return machine(value)
        return mpmath.nstr(_mpf(value, self.digits), self.digits, min_fixed=-4, max_fixed=self.digits)

    def json(self, value: Any) -> Any:
        import mpmath

        if not mpmath.isfinite(value):
            return None
        return self.machine(value)

    def human(self, value: Any, digits: int, limit: int | None = None) -> str:
        import mpmath

        if isinstance(value, float | int) and not math.isfinite(value):
            return human(value, digits)
        text = mpmath.nstr(_mpf(value, self.digits), digits, min_fixed=-4, max_fixed=digits)
        return minus(text.removesuffix(".0"))


def _mpf(value: Any, digits: int) -> Any:
    """``value`` as an mpmath float without rounding it to the default 15 digits on the way."""
    import mpmath

    if isinstance(value, mpmath.mpf):
        return value
    with mpmath.workdps(digits):
        return mpmath.mpf(value)


FLOATS = Notation()


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 step``, ``2 steps``, ``0 steps``."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def notation_for(arithmetic: Any) -> Notation:
    """The notation that suits a :class:`symdescent.arithmetic.Arithmetic`."""
    if arithmetic.name == "exact":
        return ExactNotation()
    if arithmetic.name == "mpmath":
        return PrecisionNotation(arithmetic.digits)
    return FLOATS
