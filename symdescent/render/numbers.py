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
    """``value`` with ``digits`` significant digits: ``human(1/3, 4) == "0.3333"``."""
    number = float(value)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    return f"{number:.{digits}g}"
