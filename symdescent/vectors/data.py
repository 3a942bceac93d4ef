"""Values from the command line and from files: ``--start "x=ones(10^6),b=0"`` and ``--data A=A.csv``.

Start values::

    x=[1,2]  x=ones(1000)  x=zeros(10^6)  x=0.5*ones(10^7)  x=zeros(n)  x=@x0.npy  x=@x0.csv  b=0

``n`` in ``zeros(n)`` is the length the data ask for (the columns of A in
``A @ x``, or the common length of the data vectors). Numbers are exact
text parsed by :func:`symdescent.parsing.parse_constant` (``1/3``, ``10^6``).

Data files: ``.csv``/``.tsv`` with an optional header row (a row with a
cell that is not a number), and ``.npy``. Every bad file is an
:class:`~symdescent.errors.InputError` naming the file and the line.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from symdescent.errors import InputError
from symdescent.parsing import parse_constant
from symdescent.values import split_top_level
from symdescent.vectors.datafile import check_finite, open_data_file, read_delimited, read_npy
from symdescent.vectors.stream import is_columnar

#: Largest vector a start value may ask for (2.5·10⁹ float64 entries is 20 GB).
MAX_ENTRIES = 2_500_000_000
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)
_FILL = re.compile(r"^(?:(?P<pre>[^*]+?)\s*\*\s*)?(?P<fn>ones|zeros)\((?P<n>[^()]*)\)(?:\s*\*\s*(?P<post>.+))?$")


class UnknownLength(InputError):
    """``zeros(n)`` where no data say what n is."""


def split_items(text: str) -> list[str]:
    """Split on commas outside brackets, square ones too: ``"x=[1,2],b=0"`` -> ``["x=[1,2]", "b=0"]``."""
    return split_top_level(text, "([", ")]")


def parse_assignments(text: str, what: str) -> dict[str, str]:
    """``"x=[1,2], b=0"`` -> ``{"x": "[1,2]", "b": "0"}``; every item must be named."""
    found: dict[str, str] = {}
    keyword = what if what.isidentifier() else None  # the keyword at fault, for the CLI to name its option
    for item in split_items(text):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise InputError(f"{what} {item!r} has no name: write NAME=VALUE, e.g. x=[1,2]", parameter=keyword)
        if not _NAME.fullmatch(name):
            raise InputError(f"bad name {name!r} in {what}", parameter=keyword)
        if name in found:
            raise InputError(f"{name} is given twice in {what}", parameter=keyword)
        if not value.strip():
            raise InputError(f"{what} has no value for {name}", parameter=keyword)
        found[name] = value.strip()
    return found


def parse_value(
    text: str, name: str, length: Callable[[], int] | None = None, dtype: str = "float64", matrix: bool = True
) -> float | np.ndarray:
    """One value: a number, ``[1,2]``, ``c*ones(N)``, ``zeros(N)``, ``@FILE``, or (a constant) ``[[1,2],[3,4]]``.

    ``ones(N)`` is allocated once, in ``dtype``: at N = 2·10⁹ it is the one array of N entries the run has.
    A variable is a number or a vector, so a start value passes ``matrix=False``.
    """
    what = f"the value of {name}"
    if text.startswith("@"):
        if not text[1:].strip():
            raise InputError(f"{what}: '@' must be followed by a file name, e.g. {name}=@{name}0.npy")
        return load_vector(text[1:].strip(), name)
    if text.startswith("["):
        if text.replace(" ", "").startswith("[["):
            if not matrix:
                raise InputError(
                    f"{what} is a matrix; a variable is a number or a vector", hint=f"e.g. {name}=[1,2] or {name}=0"
                )
            return _matrix(text, what)
        return _vector(text, what)
    match = _FILL.match(text)
    if match:
        count = _count(match.group("n"), what, length)
        factor = 1.0
        for part in (match.group("pre"), match.group("post")):
            if part:
                factor *= _number(part, what)
        return np.full(count, factor if match.group("fn") == "ones" else 0.0, dtype=dtype)
    return _number(text, what)


def _vector(text: str, what: str) -> np.ndarray:
    if not text.endswith("]"):
        raise InputError(f"{what} ({text}) has no closing ']'")
    items = split_items(text[1:-1])
    if items == [""]:
        raise InputError(f"{what} is an empty vector")
    return np.array([_number(item, what) for item in items], dtype=float)


def _matrix(text: str, what: str) -> np.ndarray:
    """``[[1,2],[3,4]]``: rows of equal length, each a vector."""
    if not text.endswith("]"):
        raise InputError(f"{what} ({text}) has no closing ']'")
    rows = [_vector(row, what) if row.startswith("[") else None for row in split_items(text[1:-1])]
    if any(row is None for row in rows):
        raise InputError(f"{what} mixes numbers and rows", hint="a matrix is a list of rows: [[1,2],[3,4]]")
    lengths = {len(row) for row in rows if row is not None}
    if len(lengths) != 1:
        raise InputError(f"{what}: the rows have different lengths ({', '.join(map(str, sorted(lengths)))})")
    return np.array(rows, dtype=float)


def _number(text: str, what: str) -> float:
    value = float(parse_constant(text.strip(), what))
    if not math.isfinite(value):
        raise InputError(f"{what} ({text}) is not a finite number")
    return value


def _count(text: str, what: str, length: Callable[[], int] | None) -> int:
    text = text.strip()
    if text == "n":
        if length is None:
            raise InputError(f"{what}: n is only known from the data", hint="write the length, e.g. zeros(10)")
        return length()
    value = parse_constant(text, what)
    if not (value.is_Integer and 1 <= int(value) <= MAX_ENTRIES):
        raise InputError(f"{what}: the length {text} must be a whole number from 1 to {MAX_ENTRIES:.3g}")
    return int(value)


# -- files ---------------------------------------------------------------------------------


def load_vector(path: str, name: str) -> np.ndarray:
    """A start vector from ``.npy`` or a one-column ``.csv``/``.tsv`` (one value per line)."""
    _, table = read_file(path)
    if table.ndim == 2 and table.shape[1] != 1:
        raise InputError(f"{path} has {table.shape[1]} columns; the start value of {name} needs one value per line")
    return table.reshape(-1)


def read_file(path: str) -> tuple[list[str] | None, np.ndarray]:
    """(header or None, values) of a data file; values are 1-D (``.npy`` vectors) or 2-D.

    Bounded before a byte is read: a regular file (not a FIFO or a device), no larger than
    ``SYMDESCENT_DATA_LIMIT``; CSV lines of bounded length (:mod:`symdescent.vectors.datafile`); read in pieces, so
    that Ctrl-C is heard at once. Numbers only: no complex, dates, text, records or Python objects.
    """
    extension = os.path.splitext(path)[1].lower()
    if not path.strip():
        raise InputError("no data file named", hint="give a .csv, .tsv or .npy file")
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory, not a data file", hint="give a .csv, .tsv or .npy file")
    if extension not in (".csv", ".tsv", ".txt", ".npy"):
        raise InputError(
            f"{path} is not a readable data file: its type {extension or '(no extension)'} is not known",
            hint="data files are .csv, .tsv, .npy, .parquet, .feather or .arrow",
        )
    descriptor = open_data_file(path)
    if extension == ".npy":
        with open(descriptor, "rb") as binary:
            array = read_npy(binary, path)
        check_finite(path, array)
        return None, array
    with open(descriptor, newline="", encoding="utf-8-sig") as text:
        return read_delimited(text, path, "\t" if extension == ".tsv" else ",")


def read_columnar(path: str, name: str | None) -> dict[str, Any]:
    """A Parquet or Arrow file's columns as data; a file too large to load is one entry ``"@path"`` to stream."""
    from symdescent.vectors.stream import LOAD_BYTES, open_columnar

    if name is not None and not _NAME.fullmatch(name):
        raise InputError(f"bad name {name!r} in data {name}={path}", parameter="data")
    table = open_columnar(path, name)
    if name is None:  # each column becomes a vector by its title, as a CSV's do
        bad = next((title for title in table.columns if not _NAME.fullmatch(title)), None)
        if bad is not None:
            raise InputError(
                f"{path}: the column title {bad!r} is not a usable name",
                hint=f"titles must be names like t, T or temp_1; or name the whole file: NAME={path}",
            )
    if table.bytes > LOAD_BYTES:
        return {f"@{path}": table}
    return dict(table.read())


def load_data(items: list[str]) -> dict[str, Any]:
    """``--data`` items: ``FILE.csv`` (columns by header) or ``NAME=FILE`` / ``NAME=VALUE``.

    A Parquet or Arrow file larger than :data:`symdescent.vectors.stream.LOAD_BYTES` of numbers is not
    loaded: its entry is ``"@path"`` (not a name) holding the :class:`~symdescent.vectors.stream.ColumnarFile`.
    """
    data: dict[str, Any] = {}

    def put(name: str, value: Any, source: str) -> None:
        if name in data:
            raise InputError(f"the data {name!r} is given twice (again by {source})")
        data[name] = value

    for item in items:
        name, sep, value = item.partition("=")
        columnar = value.strip().lstrip("@").strip() if sep else item
        if is_columnar(columnar):  # Parquet, Arrow/Feather: read whole when small, else streamed a chunk at a time
            for key, loaded in read_columnar(columnar, name.strip() if sep else None).items():
                put(key, loaded, item)
            continue
        if not sep:
            header, table = read_file(item)
            if header is None:
                raise InputError(
                    f"{item} has no header row to name its columns",
                    hint=f"name it as data NAME={item}",
                    parameter="data",
                )
            for column, title in enumerate(header):
                if not _NAME.fullmatch(title):
                    raise InputError(
                        f"{item}: the column title {title!r} is not a usable name",
                        hint="titles must be names like t, T or temp_1",
                    )
                put(title, table[:, column].copy(), item)
            continue
        name = name.strip()
        if not _NAME.fullmatch(name):
            raise InputError(f"bad name {name!r} in data {item}", parameter="data")
        value = value.strip()
        at_file = value.startswith("@")  # NAME=@FILE, as a start value or --param writes it
        if at_file:
            value = value[1:].strip()
            if not value:
                raise InputError(f"the data {name}: '@' must be followed by a file name, e.g. {name}=@{name}.csv")
        if at_file or os.path.splitext(value)[1].lower() in (".csv", ".tsv", ".txt", ".npy") or os.path.exists(value):
            _, table = read_file(value)
            put(name, table.reshape(-1) if table.ndim == 2 and table.shape[1] == 1 else table, item)
        else:
            try:
                number = parse_value(value, name)
            except InputError:
                if "/" in value or os.sep in value:  # a path, not a formula: say what is wrong with the file
                    read_file(value)
                raise
            put(name, number, item)
    return data


def parse_start(
    text: str, data: Mapping[str, object], function_text: str, dtype: str = "float64"
) -> dict[str, float | np.ndarray]:
    """``--start`` for a vector problem: every value named; ``n`` inferred from the data where used."""
    values = {}
    for name, value in parse_assignments(text, "start").items():
        length = functools.partial(infer_length, name, data, function_text)
        values[name] = parse_value(value, name, length, dtype, matrix=False)
    return values


def infer_length(name: str, data: Mapping[str, object], function_text: str) -> int:
    """The length the data ask of the vector ``name``: columns of A in ``A @ name``, else the data's length."""
    import sympy as sp

    from symdescent.vectors.nodes import VMatMul
    from symdescent.vectors.parse import parse_vector

    symbol = sp.Symbol(name, real=True)
    for node in sp.preorder_traversal(parse_vector(function_text)):
        if isinstance(node, VMatMul) and node.args[1] == symbol and isinstance(node.args[0], sp.Symbol):
            matrix = data.get(node.args[0].name)
            if isinstance(matrix, np.ndarray) and matrix.ndim == 2:
                return int(matrix.shape[1])
    lengths = {v.shape[0] for v in data.values() if isinstance(v, np.ndarray) and v.ndim == 1}
    if len(lengths) == 1:
        return lengths.pop()
    raise UnknownLength(
        f"the start value of {name}: n is not known from the data here", hint="write the length, e.g. zeros(10)"
    )
