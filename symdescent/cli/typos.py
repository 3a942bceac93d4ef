"""Names that look like typos: ``yy`` next to ``y``, ``sinx`` for ``sin(x)``; and method names.

Every unknown name is a variable, so a slip of the finger silently adds
one, and the run ends at the step limit for no visible reason. These are
warnings only (stderr); ``--vars`` says the names are meant and silences them.
A method's name is checked at once: any case is accepted, a misspelt one
gets "did you mean" (:class:`MethodChoice`), and the shell completes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from symdescent.errors import InputError
from symdescent.methods import METHODS

#: --method's choices, from the method registry (cheap to import: no SymPy).
METHOD_NAMES = tuple(METHODS)


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


class MethodChoice(click.Choice):
    """``--method``: a method's name in any case (``Adam``), a misspelt one answered with "did you mean".

    Its metavar is ``NAME`` (the help lists the methods with their rules below), so the
    option's line fits a narrow terminal; completion offers the names (click's Choice).
    """

    def __init__(self) -> None:
        super().__init__(METHOD_NAMES, case_sensitive=False)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "NAME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from symdescent.methods import method_name

        try:
            return method_name(value)
        except InputError as error:
            said = error.message if error.message.endswith("?") else f"{error.message} ({error.hint})"
            self.fail(said, param, ctx)


def complete_methods(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of a comma list of methods (``gd,ad`` -> ``gd,adam``, ``gd,adagrad``), or ``all``."""
    done, _, last = incomplete.rpartition(",")
    head = done + "," if done else ""
    given = {name.strip().lower() for name in done.split(",")}
    names = [name for name in METHOD_NAMES if name not in given and name.startswith(last.lower())]
    return [head + name for name in names] + (["all"] if not done and "all".startswith(last.lower()) else [])


def method_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--method NAME`` (gd by default) as run and sweep take it; ``help`` says which methods apply."""
    return click.option("--method", default="gd", show_default=True, type=MethodChoice(), help=help)
