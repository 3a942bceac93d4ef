"""Jupyter: ``%load_ext symdescent`` gives the ``%symdescent`` line magic.

``%symdescent run "x**2+y**2" --start 1,2 --lr 0.1`` takes exactly the
command line's arguments and returns the library object the command built —
a :class:`~symdescent.result.Result` for ``run``, the explanation for
``explain``, the report for ``grad``, the analysis for ``analyze``, the
comparison for ``compare`` — which Jupyter then shows as HTML or Markdown with
LaTeX. It runs the CLI's own command, so options, checks and error messages
are the same as in a terminal: an error prints its one ``Error:`` line and the
magic returns None. What a command prints without building such an object
(``cache info``, the vector ``grad``) is printed as the terminal would show it.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import sys
from typing import Any

MAGIC = "symdescent"


def symdescent_magic(line: str) -> Any:
    """Run ``symdescent <line>`` in this process and return what the command built (None after an error)."""
    from symdescent.cli import main
    from symdescent.cli.capture import KEPT

    try:
        args = shlex.split(line)
    except ValueError as error:  # an unclosed quote
        print(f"Error: {error}", file=sys.stderr)
        return None
    kept: list[Any] = []
    printed = io.StringIO()
    token = KEPT.set(kept)
    try:
        with contextlib.redirect_stdout(printed):
            main.main(args, prog_name="symdescent", standalone_mode=True)
    except SystemExit:  # every command ends with its exit code; the notebook has no use for it
        pass
    finally:
        KEPT.reset(token)
    if kept:
        return kept[-1]
    if printed.getvalue():
        print(printed.getvalue(), end="")
    return None


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext symdescent``: register the line magic."""
    ipython.register_magic_function(symdescent_magic, "line", MAGIC)
