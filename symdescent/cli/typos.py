"""Names that look like typos: ``yy`` next to ``y``, ``sinx`` for ``sin(x)``; and f without a minimum.

Every unknown name is a variable, so a slip of the finger silently adds
one, and the run ends at the step limit for no visible reason. These are
warnings only (stderr); ``--vars`` says the names are meant and silences them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def one_letter_more(name: str, other: str) -> bool:
    """Whether ``name`` is ``other`` with one letter added (``yy``/``y``, ``sinx``/``sin``); digits do not count.

    >>> one_letter_more("yy", "y"), one_letter_more("sinx", "sin"), one_letter_more("x2", "x")
    (True, True, False)
    """
    if len(name) != len(other) + 1:
        return False
    for i, letter in enumerate(name):
        if name[:i] + name[i + 1 :] == other:
            return letter.isalpha()
    return False


def lookalikes(names: Sequence[str], functions: Iterable[str]) -> list[str]:
    """One warning per variable whose name is one letter more than another variable's or a function's.

    Linear in the number of names: each name is compared with its own one-letter deletions.
    """
    known_functions, variables = set(functions), set(names)
    warnings = []
    for name in names:
        shorter = [name[:i] + name[i + 1 :] for i, letter in enumerate(name) if letter.isalpha()]
        function = next((s for s in shorter if s in known_functions), None)
        if function is not None:
            rest = name.replace(function, "", 1) or name
            warnings.append(
                f"'{name}' is a variable of its own, not {function}({rest}): write {function}({rest}) if you meant that"
            )
            continue
        other = next((s for s in shorter if s in variables), None)
        if other is not None:
            warnings.append(f"'{name}' and '{other}' are two different variables; is '{name}' a typo for '{other}'?")
    return warnings
