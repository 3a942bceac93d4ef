"""The words of a function's text: numbers, names and operators, each with its column for messages.

Only the characters of the grammar get through (:mod:`symdescent.bad_characters` names the others), and no
Python keyword: what the parser (:mod:`symdescent.parsing`) builds from these tokens is arithmetic only.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from symdescent import budget
from symdescent.bad_characters import describe_bad_char
from symdescent.budget import MAX_LENGTH
from symdescent.errors import ParseError


def _error(message: str, column: int | None = None, hint: str | None = None) -> ParseError:
    return ParseError(message, column, hint)


_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|//|[-+*/^(),])
  | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL | re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical unit; ``column`` is 1-based, for error messages."""

    kind: str  # "number", "name", "op" or "end"
    text: str
    column: int


def check_size(text: str) -> str:
    """Refuse text longer than :data:`MAX_LENGTH` before doing any work on it."""
    if len(text) > MAX_LENGTH:
        raise _error(f"the function is too long ({len(text):,} characters; the limit is {MAX_LENGTH:,})")
    if not text.strip():
        raise _error("the function is empty")
    return text


def tokenize(text: str) -> list[Token]:
    """Split text into tokens; refuse any character outside the grammar.

    ``tokenize("x^2")`` -> ``[name 'x', op '**', number '2', end]`` (``^`` is ``**``).
    """
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        budget.tick("parsing the function")
        kind = match.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        value = match.group()
        column = match.start() + 1
        if kind == "space":
            continue
        if kind == "bad":
            message, hint = describe_bad_char(value)
            raise _error(message, column, hint)
        if kind == "op" and value == "//":
            raise _error("'//' (floor division) is not supported", column)
        if kind == "name" and value.startswith("_") and touches_number(tokens, column):
            raise _error(
                f"'_' in the number {tokens[-1].text + value!r} is not allowed",
                tokens[-1].column,
                f"write {tokens[-1].text + value.replace('_', '')}",
            )
        if kind == "op" and value == "^":
            value = "**"
        if kind == "name" and keyword.iskeyword(value) and value != "lambda":
            raise _error(f"'{value}' is a Python keyword; only arithmetic is allowed", column)
        tokens.append(Token(kind, value, column))
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def touches_number(tokens: list[Token], column: int) -> bool:
    """Whether the previous token is a number ending right before ``column`` (``1_000``)."""
    return bool(tokens) and tokens[-1].kind == "number" and tokens[-1].column + len(tokens[-1].text) == column
