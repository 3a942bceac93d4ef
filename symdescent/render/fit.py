"""Tables that fit the screen with every number whole.

A Rich table that is wider than the console wraps or cuts its cells, and a
reader of one line then sees a wrong number (``1.5325e-0`` above ``6``).
So the table renderers never let Rich shrink a column: they offer a list of
layouts, most complete first (all columns, full digits), and draw the first
one whose natural width fits. Cells are ``no_wrap`` and may not be cut.
Piped output gets a console 100,000 columns wide, so the first layout always
fits there and no digit is lost.

The width of a ``box.SIMPLE_HEAD`` table with the default padding is the sum
of its column widths plus three characters per column and one: each column
has a space of padding on each side, and a space separates neighbours and
stands at each edge.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Option = TypeVar("Option")

#: Characters Rich measures as one cell in every Unicode version: its own single-cell ranges and the
#: symbols our tables use (the tests check each against ``rich.cells``).
_NARROW = frozenset(
    "".join(map(chr, range(0x20, 0x7F)))
    + "".join(map(chr, range(0xA0, 0xAD)))
    + "".join(map(chr, range(0xAE, 0x300)))
    + "".join(map(chr, range(0x370, 0x483)))
    + "".join(map(chr, range(0x2500, 0x25FD)))
    + "∂∇‖⋮…≈−–—‘’“”•′″√∞≤≥≠∑∏∫→←↑↓⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻₀₁₂₃₄₅₆₇₈₉₊₋ᵀ✔✘⚠"
)


def cell_len(text: str) -> int:
    """Columns ``text`` takes on a terminal, as Rich counts them (without importing Rich for plain text)."""
    if _NARROW.issuperset(text):
        return len(text)
    from rich.cells import cell_len as rich_cell_len

    return rich_cell_len(text)


#: Fewest significant digits a table rounds to before it gives up more columns.
MIN_DIGITS = 4


def table_width(columns: Sequence[Sequence[str]]) -> int:
    """Natural width of a ``box.SIMPLE_HEAD`` table whose columns hold these texts (header included)."""
    return sum(max(map(cell_len, column), default=0) for column in columns) + 3 * len(columns) + 1


@dataclass(frozen=True)
class Choice(Generic[Option]):
    option: Option
    digits: int


def choose(
    options: Sequence[Option],
    digits: int,
    width: int,
    measure: Callable[[Option, int], int],
    *,
    full_digits_only: int = 1,
) -> Choice[Option]:
    """The first option (fewest losses) whose table fits ``width`` columns, with as many digits as fit.

    The first ``full_digits_only`` options are only tried with all ``digits``
    (dropping their extra columns is better than rounding every number);
    the later ones are tried from ``digits`` down to :data:`MIN_DIGITS`.
    When nothing fits, the last option with the fewest digits.
    """
    floor = min(digits, MIN_DIGITS)
    for index, option in enumerate(options):
        if measure(option, digits) <= width:
            return Choice(option, digits)
        if index < full_digits_only or digits == floor:
            continue
        # the width grows with the digits: the most digits that fit, by bisection
        low, high = floor, digits - 1
        if measure(option, low) > width:
            continue
        while low < high:
            middle = (low + high + 1) // 2
            if measure(option, middle) <= width:
                low = middle
            else:
                high = middle - 1
        return Choice(option, low)
    return Choice(options[-1], floor)


def names(items: Sequence[str]) -> str:
    """``x``, ``x and y``, ``x, y and z``, or ``x1, x2, …, x9`` for long lists."""
    items = list(items)
    if len(items) > 4:
        items = [items[0], items[1], "…", items[-1]]
        return ", ".join(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def fit_note(hidden: Sequence[str], digits: int, asked: int, width: int, where: str = "--format csv") -> str | None:
    """``to fit 70 columns: ∂f/∂x, ∂f/∂y hidden, 5 digits; --format csv has them all``."""
    parts = []
    if hidden:
        parts.append(f"{names(hidden)} hidden")
    if digits < asked:
        parts.append(f"{digits} digits")
    if not parts:
        return None
    if not hidden:
        has = "every digit"
    elif len(hidden) == 1 and digits == asked and not any(mark in hidden[0] for mark in ",…"):
        has = "it"
    else:
        has = "them all"
    return f"to fit {width} columns: {', '.join(parts)}; {where} has {has}"


def wrap(text: str, width: int, indent: str = "", hang: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken only at plain spaces.

    No-break spaces (U+00A0) glue a formula or ``name = value`` together; they
    are written as plain spaces, and a glued piece longer than a line breaks
    at them after all. A word longer than the line stays whole on a line of its own.
    """
    width = max(width, len(indent) + 1, len(hang) + 1)
    room = width - max(len(indent), len(hang))
    if "\u00a0" in text:
        text = " ".join(w if len(w) <= room else w.replace("\u00a0", " ") for w in text.split(" "))
    lines = textwrap.wrap(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=hang,
        break_long_words=False,
        break_on_hyphens=False,
        drop_whitespace=True,
    )
    return [line.replace("\u00a0", " ") for line in lines] or [indent.rstrip()]


def glue(text: str) -> str:
    """``text`` with no-break spaces, so that :func:`wrap` keeps it on one line."""
    return text.replace(" ", "\u00a0")


def join(items: Iterable[str], sep: str = ", ") -> str:
    """Glued items joined by ``sep``: ``x = 1, y = 2`` may break only after a comma."""
    return sep.join(glue(item) for item in items)
