"""What a character outside the function grammar most likely means: the parser's error message and hint.

People paste formulas from documents (``−``, ``×``, ``²``) and programmers try
Python (``[``, ``.``, ``=``); each gets a message that says what to type instead.
"""

from __future__ import annotations

import unicodedata

#: What an unexpected ASCII character most likely means, for the error message.
_BAD_CHARS: dict[str, str] = {
    ".": "attribute access is not allowed",
    "[": "subscripts and lists are not allowed",
    "]": "subscripts and lists are not allowed",
    "{": "sets and dicts are not allowed",
    "}": "sets and dicts are not allowed",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    "=": "'=' is not allowed: give a function, not an equation or assignment",
    "<": "comparisons are not allowed",
    ">": "comparisons are not allowed",
    "!": "'!' is not allowed",
    ":": "':' is not allowed (no lambdas, slices or annotations)",
    ";": "only one expression is allowed (found ';')",
    "%": "'%' (remainder) is not supported",
    "@": "'@' is not supported",
    "&": "bitwise operators are not supported",
    "|": "bitwise operators are not supported",
    "~": "bitwise operators are not supported",
    "\\": "backslashes are not allowed",
    "#": "comments are not allowed",
}


#: ASCII spellings of characters people paste from documents.
_LOOKALIKES = {"−": "-", "–": "-", "—": "-", "×": "*", "·": "*", "∙": "*", "÷": "/", "²": "**2", "³": "**3", "π": "pi"}


def describe_bad_char(char: str) -> tuple[str, str | None]:
    """The message for a character outside the grammar, and a hint to fix it if there is one."""
    if char in _BAD_CHARS:
        return _BAD_CHARS[char], None
    if char.isascii() and char.isprintable():
        return f"unexpected character {char!r}", None
    name = unicodedata.name(char, "unnamed")
    message = f"unsupported character {char!r} (U+{ord(char):04X} {name})"
    plain = _LOOKALIKES.get(char) or unicodedata.normalize("NFKC", char)
    if plain.isascii() and plain.strip() and plain.isprintable():
        return message, f"type {plain!r} instead"
    return message, "use ASCII letters, digits and + - * / ^ ( )"
