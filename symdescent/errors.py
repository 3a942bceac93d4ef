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
    """An argument (start point, learning rate, variables…) is unusable.

    ``parameter`` names the keyword argument at fault (``lr``, ``momentum``)
    when there is one, so that the CLI can name its own option instead.
    """

    def __init__(self, message: str, hint: str | None = None, *, parameter: str | None = None) -> None:
        super().__init__(message, hint)
        self.parameter = parameter


class ParseError(InputError):
    """The function text is not a function symdescent accepts."""

    def __init__(self, message: str, column: int | None = None, hint: str | None = None) -> None:
        where = f" at column {column}" if column is not None else ""
        super().__init__(f"{message}{where}", hint)
        self.reason = message
        self.column = column


class StartPointError(SymdescentError):
    """f or its gradient is undefined, infinite or complex at the start point."""


#: What generated float code raises where f is undefined (log(-1)), overflows (exp(1000)),
#: divides by zero or turns complex: the one list every loop and evaluator catches.
NUMERIC_ERRORS: tuple[type[Exception], ...] = (ValueError, OverflowError, ZeroDivisionError, TypeError)


def worded(error: SymdescentError, names: dict[str, str]) -> tuple[str, str | None]:
    """The error's message and hint with keyword names replaced by what the caller calls them.

    The core names the library's keyword arguments (``momentum must lie in
    [0, 1)``); the CLI passes its option names (``{"momentum": "--momentum"}``)
    to say ``--momentum must lie in [0, 1)``. Replaced are the error's own
    ``parameter`` and every name with an underscore (``working_precision``),
    which cannot be an ordinary word of the message.
    """
    import re

    wanted = {k: v for k, v in names.items() if "_" in k or k == getattr(error, "parameter", None)}
    if not wanted:
        return error.message, error.hint
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(map(re.escape, sorted(wanted, key=len, reverse=True))) + r")(?![\w-])"
    )

    def reword(text: str | None) -> str | None:
        return None if text is None else pattern.sub(lambda m: wanted[m.group(1)], text)

    return reword(error.message) or error.message, reword(error.hint)


def install_hint(extra: str) -> str:
    """How to install an optional extra, from an index and from a checkout (both work as written)."""
    return f'install it with: pip install "symdescent[{extra}]" (in a checkout: pip install ".[{extra}]")'
