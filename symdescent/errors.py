"""Domain errors: what can go wrong, said in the user's terms.

The core raises these; only the CLI turns them into exit codes (see
``symdescent.cli.ExitCode``). Each carries a one-line ``message`` and an
optional one-line ``hint``.
"""

from __future__ import annotations


class SymdescentError(Exception):
    """Base class: a problem with the user's input, reported in one line."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(SymdescentError):
    """An option value (start point, learning rate, variables…) is unusable."""


class ParseError(InputError):
    """The function text is not a function symdescent accepts."""

    def __init__(self, message: str, column: int | None = None, hint: str | None = None) -> None:
        where = f" at column {column}" if column is not None else ""
        super().__init__(f"{message}{where}", hint)
        self.reason = message
        self.column = column


class StartPointError(SymdescentError):
    """f or its gradient is undefined, infinite or complex at the start point."""
