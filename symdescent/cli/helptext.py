"""Help text that fits the terminal: click prints ``\\b`` blocks as they are, so their long lines are broken here.

Only at spaces, never inside a word or a quoted argument: an example command
continues with `` \\`` (still one command when pasted into a shell), any other
line (a method and its rule) under its second column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import textwrap

# Patterns, not compiled ones: re compiles them on first use, so a run that shows no help never does.
#: A shell word: quoted text stays whole ("x @ x" is one word; a line is never broken inside quotes).
_SHELL_WORD = r"""(?:"[^"]*"|'[^']*'|[^\s"'])+"""
#: A word that starts an option (``--lr``, ``-q``), not a value such as ``-1.2,1`` or ``-``.
_OPTION_START = r"-{1,2}[A-Za-z]"


def _option_groups(words: list[str]) -> list[str]:
    """The words joined into an option and its value (``--lr 0.1``): a line breaks only before an option."""
    groups: list[str] = []
    for word in words:
        if groups and not re.match(_OPTION_START, word):
            groups[-1] += " " + word
        else:
            groups.append(word)
    return groups


def fit_lines(text: str, width: int) -> str:
    """Help text whose kept-as-is lines (click's ``\\b`` blocks) fit ``width``, broken at spaces only.

    An example command continues with `` \\`` and 4 more spaces, so the lines,
    pasted into a shell, are still the one command, and breaks only before an
    option (``--lr 0.1`` stays together). Any other indented line (a method and
    its rule) continues under its second column. A word longer than the width
    stays whole on its own line.
    """
    import textwrap

    lines: list[str] = []
    prose: list[str] = []  # unindented lines of a \b block (a paragraph set line by line)
    kept = False  # inside a \b block: click prints its lines as they are, so they must fit already

    def end_prose() -> None:
        if any(len(line) > width for line in prose):  # filled again as one paragraph, at spaces
            lines.extend(textwrap.wrap(" ".join(prose), width, break_long_words=False, break_on_hyphens=False))
        else:
            lines.extend(prose)
        prose.clear()

    for line in text.splitlines():
        kept = line == "\b" or (kept and line.strip() != "")
        body = line.lstrip(" ")
        indent = line[: len(line) - len(body)]
        if kept and line != "\b" and not indent:
            prose.append(line)
            continue
        end_prose()
        if not kept or not indent or len(line) <= width:
            lines.append(line)
        elif body.startswith(("symdescent ", "echo ", "_SYMDESCENT_COMPLETE=")):
            lines += _command_lines(indent, body, width)
        else:
            column = re.match(r" +\S+ {2,}", line)
            hanging = " " * (column.end() if column else len(indent) + 2)
            lines += textwrap.wrap(
                line, width, subsequent_indent=hanging, break_long_words=False, break_on_hyphens=False
            )
    end_prose()
    return "\n".join(lines)


def _command_lines(indent: str, body: str, width: int) -> list[str]:
    """An example command in lines that end with `` \\``: broken before an option, or between any two
    shell words when an option and its value (or the command and its quoted EXPR) cannot share a line."""
    lines: list[str] = []
    current = indent
    more = indent + "    "
    for group in _option_groups(re.findall(_SHELL_WORD, body)):
        fresh = len(more) + len(group) + 2 <= width
        for part in [group] if fresh or " " not in group else re.findall(_SHELL_WORD, group):
            if current.strip() and len(current) + 1 + len(part) + 2 > width:
                lines.append(current + " \\")
                current = more
            current += (" " if current.strip() else "") + part
    return [*lines, current]


def wrapper(width: int, initial_indent: str = "", subsequent_indent: str = "") -> textwrap.TextWrapper:
    """A wrapper that breaks at spaces only: never inside a word, after a hyphen (``--working-``) or a quote."""
    from click._textwrap import TextWrapper  # counts visible characters (ANSI styles take no room)

    return TextWrapper(
        max(width, 1),
        initial_indent=initial_indent,
        subsequent_indent=subsequent_indent,
        replace_whitespace=False,
        break_long_words=False,
        break_on_hyphens=False,
    )


def wrap_paragraphs(text: str, width: int) -> str:
    """Click's ``wrap_text(preserve_paragraphs=True)`` with :func:`wrapper`: paragraphs filled, ``\\b`` blocks kept."""
    paragraphs: list[tuple[int, bool, str]] = []
    lines: list[str] = []
    indent: int | None = None

    def flush() -> None:
        if lines:
            kept = lines[0].strip() == "\b"
            paragraphs.append((indent or 0, kept, "\n".join(lines[1:]) if kept else " ".join(lines)))
            lines.clear()

    for line in text.expandtabs().splitlines():
        if not line:
            flush()
            indent = None
            continue
        if indent is None:
            stripped = line.lstrip()
            indent, line = len(line) - len(stripped), stripped
        lines.append(line)
    flush()
    out = []
    for indent, kept, body in paragraphs:
        pad = " " * indent
        if kept:
            out.append("\n".join(pad + line for line in body.splitlines()))
        else:
            out.append(wrapper(width, pad, pad).fill(body))
    return "\n\n".join(out)


class FittingFormatter(click.HelpFormatter):
    """Click's help formatter, fitted to any terminal of 40 columns or more, breaking lines at spaces only.

    Click never goes below 50 columns, breaks words after hyphens and keeps
    ``\\b`` blocks (the method rules, the examples) as they are, however wide:
    here the width is the terminal's (at most 80), the blocks are broken by
    :func:`fit_lines`, and the option list's first column narrows with the
    screen so that the descriptions keep room.
    """

    def __init__(self, indent_increment: int = 2, width: int | None = None, max_width: int | None = None) -> None:
        if width is None:
            import shutil

            width = max(min(shutil.get_terminal_size().columns, max_width or 80) - 2, 20)
        super().__init__(indent_increment, width, max_width)

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        prefix = "Usage: " if prefix is None else prefix
        head = f"{prefix:>{self.current_indent}}{prog} "
        hanging = " " * (self.current_indent + 4)
        self.write(wrapper(self.width, head, hanging).fill(args) if args else head.rstrip())
        self.write("\n")

    def write_text(self, text: str) -> None:
        room = self.width - self.current_indent
        body = wrap_paragraphs(fit_lines(text, room), room)
        self.write("\n".join(" " * self.current_indent + line if line else "" for line in body.splitlines()))
        self.write("\n")

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        room = self.width - self.current_indent
        col_max = min(col_max, max(room * 2 // 5, 8))
        first_col = min(max((len(first) for first, _ in rows), default=0), col_max) + col_spacing
        pad = " " * self.current_indent
        for first, second in rows:
            heads = wrapper(room, pad, pad + "  ").wrap(first) or [pad]
            self.write("\n".join(heads))
            if not second:
                self.write("\n")
                continue
            if len(heads) == 1 and len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + pad + " " * first_col)
            text = wrap_paragraphs(second, max(room - first_col, 10)).splitlines() or [""]
            self.write(text[0] + "\n")
            for line in text[1:]:
                self.write(f"{pad}{' ' * first_col}{line}\n" if line else "\n")


class FittingContext(click.Context):
    """A context whose help is written by :class:`FittingFormatter`."""

    formatter_class = FittingFormatter


class FittingGroup(click.Group):
    """A group whose help (and its commands' contexts) fit the terminal: see :class:`FittingFormatter`."""

    context_class = FittingContext
