"""Styled text and a simple table, written either by Rich or by a light writer with the same bytes.

A warm run on a terminal spends more on importing Rich and laying out its
table than on everything else (issue 23). The step table is simple (a
``box.SIMPLE_HEAD`` table whose columns always fit, a few lines of text in
bold, dim and the eight standard colours), so :func:`ansi` writes it without
Rich, byte for byte as Rich would. Whatever it cannot reproduce exactly (a
line longer than the screen, a control character, a cell Rich would read as
markup or an emoji code, a style it does not know) makes it return None, and
the caller prints with Rich instead: :class:`Screen` does both.

:class:`Styled` keeps what :class:`rich.text.Text` keeps (the text, a base
style and spans), so the conversion to Rich is exact too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple, TextIO, TypeAlias

from symdescent.render.fit import cell_len

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

#: Which styles a screen shows: none (a pipe, or no terminal), bold and dim only (NO_COLOR), all.
Styles: TypeAlias = Literal["none", "attributes", "colour"]


class Styled:
    """Text with a base style and styled spans, as :class:`rich.text.Text` holds them."""

    __slots__ = ("plain", "spans", "style")

    def __init__(self, text: str = "", style: str = "") -> None:
        self.plain = text
        self.style = style
        self.spans: list[tuple[int, int, str]] = []

    def append(self, text: str | Styled, style: str = "") -> Styled:
        """Rich's ``Text.append``: a Styled brings its spans (and its base style, as one more span)."""
        if isinstance(text, Styled):
            offset = len(self.plain)
            if text.style:
                self.spans.append((offset, offset + len(text.plain), text.style))
            self.spans += [(a + offset, b + offset, span) for a, b, span in text.spans]
            self.plain += text.plain
        elif text:
            if style:
                self.spans.append((len(self.plain), len(self.plain) + len(text), style))
            self.plain += text
        return self

    def stylize(self, style: str, start: int, end: int) -> None:
        end = min(len(self.plain), end)
        if style and start < end:
            self.spans.append((start, end, style))


class Column(NamedTuple):
    header: str
    justify: Literal["left", "right"]
    style: str


class Grid(NamedTuple):
    """A ``box.SIMPLE_HEAD`` table, no-wrap columns, drawn at its natural width (the renderer made it fit)."""

    columns: Sequence[Column]
    rows: Sequence[Sequence[str | Styled]]
    header_style: str


Part: TypeAlias = Styled | Grid


# -- Rich ---------------------------------------------------------------------------------------


def rich_text(text: Styled) -> RenderableType:
    from rich.text import Span, Text

    return Text(text.plain, style=text.style, spans=[Span(*span) for span in text.spans])


def rich_renderable(part: Part) -> RenderableType:
    if isinstance(part, Styled):
        return rich_text(part)
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, header_style=part.header_style)
    for column in part.columns:
        style = column.style or None
        table.add_column(column.header, justify=column.justify, style=style, no_wrap=True, overflow="fold")
    for row in part.rows:
        table.add_row(*(rich_text(cell) if isinstance(cell, Styled) else cell for cell in row))
    return table


def print_rich(console: Console, parts: Sequence[Part]) -> None:
    from rich.console import Group

    console.print(Group(*map(rich_renderable, parts)))


# -- the light writer -----------------------------------------------------------------------------

_ATTRIBUTES = {"bold": "1", "dim": "2"}
_COLOURS = {"black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6, "white": 7}


class _Unsupported(Exception):
    """Something only Rich writes right: the caller prints with Rich."""


def _codes(styles: Sequence[str], shown: Styles) -> str:
    """The SGR parameters Rich writes for these styles combined (later colours win): ``1;36``."""
    attributes: set[str] = set()
    colour = None
    for style in styles:
        for word in style.split():
            if word in _ATTRIBUTES:
                attributes.add(_ATTRIBUTES[word])
            elif word in _COLOURS:
                colour = str(30 + _COLOURS[word])
            else:
                raise _Unsupported(word)
    codes = sorted(attributes)
    if colour is not None and shown == "colour":
        codes.append(colour)
    return ";".join(codes)


def _segment(text: str, styles: Sequence[str], shown: Styles) -> str:
    if not text or shown == "none":
        return text
    codes = _codes(styles, shown)
    return f"\x1b[{codes}m{text}\x1b[0m" if codes else text


def _checked(text: str) -> str:
    """``text`` if Rich keeps it as it is (no control characters, no tabs); else unsupported."""
    if not text.isprintable() and any(c != "\n" and (c < " " or "\x7f" <= c < "\xa0") for c in text):
        raise _Unsupported("control character")
    return text


def _text_lines(text: Styled, width: int, shown: Styles) -> list[str]:
    """Each line of ``text`` cut at every span's ends, as Rich's Text renders it when no line needs wrapping."""
    plain = _checked(text.plain)
    lines = []
    start = 0
    for line in plain.split("\n"):
        end = start + len(line)
        if cell_len(line) > width:
            raise _Unsupported("a line longer than the screen")
        cuts = {start, end}
        for a, b, _ in text.spans:
            if a < end and b > start:
                cuts.update(c for c in (a, b) if start < c < end)
        points = sorted(cuts)
        pieces = []
        for p, q in itertools.pairwise(points):
            styles = [text.style] if text.style else []
            styles += [style for a, b, style in text.spans if a <= p and q <= b]
            pieces.append(_segment(plain[p:q], styles, shown))
        lines.append("".join(pieces) + "\n")
        start = end + 1
    return lines


def _cell(cell: str | Styled) -> tuple[str, str]:
    """A cell's text and style, if Rich would draw it as it is (no markup, emoji code or line break)."""
    if isinstance(cell, Styled):
        if cell.spans:
            raise _Unsupported("spans in a cell")
        text, style = cell.plain, cell.style
    else:
        text, style = cell, ""
        # Rich reads a string cell as markup with emoji codes: only "[" before a digit (w[1]) stays as it is
        if ":" in text or "\\" in text or any(not part[:1].isdigit() for part in text.split("[")[1:]):
            raise _Unsupported("markup")
    if "\n" in _checked(text) or text != text.rstrip():
        raise _Unsupported("a cell Rich would strip or wrap")
    return text, style


def _grid_lines(grid: Grid, width: int, shown: Styles) -> list[str]:
    columns = grid.columns
    header = [(column.header, "") for column in columns]
    body = [[_cell(cell) for cell in row] for row in grid.rows]
    if not body or any(len(row) != len(columns) for row in body):
        raise _Unsupported("an empty or ragged table")
    for text, _ in header:
        _cell(text)
    widths = [max(cell_len(row[j][0]) for row in (header, *body)) for j in range(len(columns))]
    total = sum(widths) + 3 * len(widths) + 1
    if total > width:
        raise _Unsupported("a table wider than the screen")

    def line(row: list[tuple[str, str]], styles: list[str]) -> str:
        cells = []
        for (text, own), column, w, style in zip(row, columns, widths, styles, strict=True):
            pad = " " * (w - cell_len(text))
            content = pad + text if column.justify == "right" else text + pad
            base = [style] if style else []
            inner = [*base, own] if own else base
            cells.append(_segment(" ", base, shown) + _segment(content, inner, shown) + _segment(" ", base, shown))
        return " " + " ".join(cells) + " \n"

    blank = " " * total + "\n"
    rule = " " + "─" * (total - 2) + " \n"
    lines = [blank, line(header, [grid.header_style] * len(columns)), rule]
    lines += [line(row, [column.style for column in columns]) for row in body]
    lines.append(blank)
    return lines


def ansi(parts: Sequence[Part], width: int, shown: Styles) -> str | None:
    """What Rich writes for ``parts`` on a screen ``width`` columns wide; None where only Rich knows."""
    try:
        lines = []
        for part in parts:
            lines += _grid_lines(part, width, shown) if isinstance(part, Grid) else _text_lines(part, width, shown)
    except _Unsupported:
        return None
    return "".join(lines)


class Screen:
    """Standard output as Rich would find it (width, styles shown), written by :func:`ansi` or, failing it, Rich.

    ``width`` is asked each time, as Rich asks the terminal (it may be resized during a run); ``rich``
    makes the Rich console used instead; ``broken_pipe`` is called when the reader went away.
    """

    def __init__(
        self,
        file: TextIO,
        width: int | Callable[[], int],
        shown: Styles,
        rich: Callable[[], Console],
        broken_pipe: Callable[[], None],
    ) -> None:
        self.file = file
        self._width = width
        self.shown: Styles = shown
        self._rich = rich
        self._broken_pipe = broken_pipe

    @property
    def width(self) -> int:
        return self._width() if callable(self._width) else self._width

    def print(self, parts: Sequence[Part]) -> None:
        text = ansi(parts, self.width, self.shown)
        if text is None:
            print_rich(self._rich(), parts)
            return
        try:
            self.file.write(text)
            self.file.flush()
        except BrokenPipeError:
            self._broken_pipe()


def show(console: Console | Screen, parts: Sequence[Part]) -> None:
    """Write ``parts`` on a :class:`Screen` or a Rich console."""
    if isinstance(console, Screen):
        console.print(parts)
    else:
        print_rich(console, parts)
