"""Help text that fits the terminal: click prints ``\\b`` blocks as they are, so their long lines are broken here.

Only at spaces, never inside a word or a quoted argument: an example command
continues with `` \\`` (still one command when pasted into a shell), any other
line (a method and its rule) under its second column.
"""

from __future__ import annotations

import re
import textwrap

#: A shell word: quoted text stays whole ("x @ x" is one word; a line is never broken inside quotes).
_SHELL_WORD = re.compile(r"""(?:"[^"]*"|'[^']*'|[^\s"'])+""")
#: A word that starts an option (``--lr``, ``-q``), not a value such as ``-1.2,1`` or ``-``.
_OPTION_START = re.compile(r"-{1,2}[A-Za-z]")


def _option_groups(words: list[str]) -> list[str]:
    """The words joined into an option and its value (``--lr 0.1``): a line breaks only before an option."""
    groups: list[str] = []
    for word in words:
        if groups and not _OPTION_START.match(word):
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
    lines: list[str] = []
    kept = False  # inside a \b block: click prints its lines as they are, so they must fit already
    for line in text.splitlines():
        kept = line == "\b" or (kept and line.strip() != "")
        body = line.lstrip(" ")
        indent = line[: len(line) - len(body)]
        if not kept or not indent or len(line) <= width:
            lines.append(line)
        elif body.startswith(("symdescent ", "echo ")):
            lines += _command_lines(indent, body, width)
        else:
            column = re.match(r" +\S+ {2,}", line)
            hanging = " " * (column.end() if column else len(indent) + 2)
            lines += textwrap.wrap(
                line, width, subsequent_indent=hanging, break_long_words=False, break_on_hyphens=False
            )
    return "\n".join(lines)


def _command_lines(indent: str, body: str, width: int) -> list[str]:
    lines: list[str] = []
    current = indent
    for part in _option_groups(_SHELL_WORD.findall(body)):
        if current.strip() and len(current) + 1 + len(part) + 2 > width:
            lines.append(current + " \\")
            current = indent + "    "
        current += (" " if current.strip() else "") + part
    return [*lines, current]
