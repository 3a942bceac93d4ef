"""The Click side of array problems: the ``--data`` and ``--save`` options and which route a command takes.

``wants_arrays(expr, start, data)``: a vector start value (``[1,2]``, ``ones(…)``,
``@file``), any ``--data``, or vector syntax in the function makes an array
problem; everything else is a problem of scalars.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import click

from symdescent.errors import InputError

_VECTOR_START = re.compile(r"\[|\bones\s*\(|\bzeros\s*\(|@")


def data_option(command: Any) -> Any:
    """``--data``, repeatable: the constants of a vector problem, from files or values."""
    return click.option(
        "--data",
        "data",
        multiple=True,
        metavar="FILE|NAME=FILE",
        help="Data (constants): FILE.csv/.tsv with a header makes one vector per column; NAME=FILE makes a vector "
        "(one column) or a matrix (.csv, .tsv, .npy); NAME=VALUE works too. Repeat for several.",
    )(command)


def save_option(command: Any) -> Any:
    return click.option(
        "--save",
        metavar="FILE",
        help="Write the final point to FILE.npy or FILE.csv (any size; the way to keep a long vector).",
    )(command)


def wants_vectors(expr: str, start: str | None, data: Sequence[str] | None) -> bool:
    from symdescent.vectors import looks_like_vectors

    return bool(data) or looks_like_vectors(expr) or bool(start and _VECTOR_START.search(start))


def note(text: str) -> None:
    """A note for the user (an unused constant): on stderr, so that stdout stays the data."""
    click.echo(text, err=True)


def refuse_scalar_only(*, variables: str | None) -> None:
    """Options that only mean something for scalar variables are refused, not ignored."""
    if variables:
        raise InputError(
            "--vars is for scalar functions: the variables of a vector problem are the names in --start",
            hint="give constants with --data or --param",
        )
