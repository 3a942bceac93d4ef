"""Data as users keep it, and larger than memory: Parquet and Arrow/Feather files, read a chunk of rows at a time.

A columnar file becomes data the way a CSV does (VECTORS.md): ``--data FILE``
gives each column as a vector named by the column, ``--data NAME=FILE`` one
column as a vector or several as a matrix (rows × columns). Only numeric
columns are taken; a text, date or nested column is refused by name.

A file of at most :data:`LOAD_BYTES` of numbers is read whole, like a CSV.
A larger one is streamed: f and ∇f are sums over chunks of rows, so for a
function that is a mean or sum over the rows of its data plus terms without
data (:mod:`symdescent.vectors.batches` checks this), ∇f over all rows is
Σ (n_c/n)·∇f(chunk c) with every ``sum`` over rows written n·mean. Each
evaluation reads the file once, a chunk of :data:`CHUNK_ROWS` rows at a time,
so memory is bounded by the chunk, not by the file. Several streamed files
are read in lockstep and must have the same number of rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from symdescent.errors import InputError, install_hint

#: Columnar files up to this many bytes of numbers are read whole; larger ones are streamed.
LOAD_BYTES = 256 * 2**20
#: Rows per chunk when streaming (10 float64 columns: 20 MB).
CHUNK_ROWS = 1 << 18
#: The extensions read with pyarrow.
COLUMNAR = (".parquet", ".pq", ".feather", ".arrow", ".ipc")


def is_columnar(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in COLUMNAR


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise InputError("reading Parquet or Arrow files needs pyarrow", hint=install_hint("data")) from None
    return pyarrow


@dataclass
class ColumnarFile:
    """One data file: its numeric columns, its row count, and how they become named data."""

    path: str
    name: str | None  # None: each column a vector by its own name; else one vector or a matrix
    columns: tuple[str, ...]
    rows: int
    _schema: Any = field(default=None, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,) if self.name else self.columns

    @property
    def bytes(self) -> int:
        return self.rows * len(self.columns) * 8

    def named(self, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The chunk's columns as the data they stand for: vectors by name, or NAME's vector or matrix."""
        if self.name is None:
            return {c: columns[c] for c in self.columns}
        if len(self.columns) == 1:
            return {self.name: columns[self.columns[0]]}
        return {self.name: np.column_stack([columns[c] for c in self.columns])}

    def chunks(self, rows: int = CHUNK_ROWS) -> Iterator[dict[str, np.ndarray]]:
        """The data, ``rows`` rows at a time (the last chunk shorter)."""
        pyarrow = _pyarrow()
        if self.path.lower().endswith((".parquet", ".pq")):
            # pre_buffer off: by default pyarrow reads ahead the whole file's column chunks, so memory would
            # grow with the file (8.5 GB for an 8 GB file); a 1 MB read buffer keeps it to about one row group
            source = pyarrow.parquet.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
            batches = source.iter_batches(batch_size=rows, columns=list(self.columns))
        else:
            reader = pyarrow.ipc.open_file(pyarrow.memory_map(self.path))
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        pending: list[dict[str, np.ndarray]] = []
        held = 0
        for batch in batches:
            columns = {c: _numbers(batch.column(c), c, self.path) for c in self.columns}
            pending.append(columns)
            held += batch.num_rows
            while held >= rows:
                chunk, pending, held = _take(pending, rows, held)
                yield self.named(chunk)
        if held:
            chunk, pending, held = _take(pending, held, held)
            yield self.named(chunk)

    def read(self) -> dict[str, np.ndarray]:
        """The whole file in memory (a small one)."""
        parts = list(self.chunks(max(self.rows, 1)))
        return parts[0] if parts else self.named({c: np.empty(0) for c in self.columns})


def _take(pending: list[dict[str, np.ndarray]], rows: int, held: int) -> tuple[dict[str, np.ndarray], list, int]:
    """The first ``rows`` rows of the pending batches, and what is left."""
    names = list(pending[0])
    joined = {c: np.concatenate([p[c] for p in pending]) if len(pending) > 1 else pending[0][c] for c in names}
    chunk = {c: v[:rows] for c, v in joined.items()}
    rest = {c: v[rows:] for c, v in joined.items()}
    left = held - rows
    return chunk, ([rest] if left else []), left


def _numbers(column: Any, name: str, path: str) -> np.ndarray:
    """A column as float64; anything but integers, floats and booleans is refused by name."""
    import pyarrow.types as t

    kind = column.type
    if not (t.is_integer(kind) or t.is_floating(kind) or t.is_boolean(kind)):
        raise InputError(f"column {name!r} of {path} holds {kind}, not numbers: data must be numeric")
    if column.null_count:
        raise InputError(f"column {name!r} of {path} has {column.null_count} empty cells: every cell needs a number")
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)


def open_columnar(path: str, name: str | None = None) -> ColumnarFile:
    """The file's numeric columns and row count, from its metadata (nothing else is read yet)."""
    pyarrow = _pyarrow()
    if not os.path.isfile(path):
        raise InputError(f"{path} is not a readable data file" if os.path.exists(path) else f"{path}: no such file")
    try:
        if path.lower().endswith((".parquet", ".pq")):
            meta = pyarrow.parquet.ParquetFile(path)
            schema, rows = meta.schema_arrow, meta.metadata.num_rows
        else:
            reader = pyarrow.ipc.open_file(pyarrow.memory_map(path))
            schema, rows = reader.schema, sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
    except (OSError, pyarrow.ArrowInvalid) as error:
        raise InputError(f"{path} is not a Parquet or Arrow file that can be read: {error}") from None
    import pyarrow.types as t

    columns = tuple(schema.names)
    bad = [f for f in schema if not (t.is_integer(f.type) or t.is_floating(f.type) or t.is_boolean(f.type))]
    if bad:
        raise InputError(f"column {bad[0].name!r} of {path} holds {bad[0].type}, not numbers: data must be numeric")
    if not columns:
        raise InputError(f"{path} has no columns")
    return ColumnarFile(path, name, columns, rows, schema)


# -- f and ∇f over chunks -----------------------------------------------------------------------------


def lockstep(files: Sequence[ColumnarFile], rows: int = CHUNK_ROWS) -> Callable[[], Iterator[dict[str, np.ndarray]]]:
    """Chunks of every streamed file read side by side: the same rows of each, one chunk at a time."""
    counts = {f.rows for f in files}
    if len(counts) > 1:
        listed = ", ".join(f"{f.path} ({f.rows} rows)" for f in files)
        raise InputError(f"data files streamed together must have as many rows each: {listed}")

    def chunks() -> Iterator[dict[str, np.ndarray]]:
        for parts in zip(*(f.chunks(rows) for f in files), strict=True):
            merged: dict[str, np.ndarray] = {}
            for part in parts:
                merged.update(part)
            yield merged

    return chunks


class ChunkSums:
    """f and ∇f of a per-row problem over all rows, as the row-weighted sum of its values on each chunk.

    ``problem`` is compiled for the first chunk's shapes; a chunk of another length (the last) gets its own
    copy, compiled once. ``problem`` must be written per row (:func:`symdescent.vectors.batches.per_row`).
    """

    def __init__(self, problem: Any, rows: tuple[str, ...], n: int, chunks: Callable[[], Iterator[Mapping]]) -> None:
        self.problem, self.rows, self.n, self.chunks = problem, rows, n, chunks
        self._by_length: dict[int, Any] = {}

    def _shaped(self, length: int, chunk: Mapping[str, np.ndarray]) -> Any:
        from symdescent.vectors.batches import on_rows

        if length not in self._by_length:
            self._by_length[length] = on_rows(self.problem, self.rows, slice(0, length), chunk)
        return self._by_length[length]

    def value_and_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        total_f, total_g, seen = 0.0, np.zeros_like(z, dtype=float), 0
        for chunk in self.chunks():
            length = len(next(iter(chunk.values())))
            data = {**self.problem.data, **chunk}
            f, g = self._shaped(length, chunk).value_and_grad(z, data)
            weight = length / self.n
            total_f += weight * f
            total_g += weight * g
            seen += length
        if seen != self.n:
            raise InputError(f"the data files gave {seen} rows where {self.n} were expected: did a file change?")
        return total_f, total_g


class Sums(Protocol):
    """Whatever adds f and ∇f up over the rows: chunks of a file, or partitions on a cluster."""

    def value_and_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]: ...


@dataclass(frozen=True)
class StreamedProblem:
    """A vector problem whose row data stay on disk: every run, method and renderer takes it as a VectorProblem.

    It is the per-row problem compiled for one chunk, with f and ∇f (and f alone, for line searches)
    summed over all chunks; everything else (names, layout, start, point text) is the problem's own.
    """

    problem: Any
    sums: Sums

    def __getattr__(self, name: str) -> Any:
        return getattr(self.problem, name)

    def value_and_grad(self, z: np.ndarray, data: Mapping[str, Any] | None = None) -> tuple[float, np.ndarray]:
        return self.sums.value_and_grad(z)

    def value(self, z: np.ndarray) -> float:
        return self.sums.value_and_grad(z)[0]


def streamed_problem(
    text: str,
    start: Mapping[str, Any],
    data: Mapping[str, Any],
    files: Sequence[ColumnarFile],
    rows: int | None = None,
    dtype: str = "float64",
) -> StreamedProblem:
    """The problem of ``text`` with the columns of ``files`` streamed ``rows`` (:data:`CHUNK_ROWS`) at a time."""
    from symdescent.vectors.batches import check_rows, per_row
    from symdescent.vectors.problem import make_vector_problem

    chunks = lockstep(files, rows or CHUNK_ROWS)
    first = next(chunks(), None)
    if first is None:
        raise InputError(f"{files[0].path} has no rows")
    names = tuple(sorted(first))
    n = files[0].rows
    problem = per_row(make_vector_problem(text, start, {**data, **first}, dtype=dtype), names, n)
    if len(next(iter(first.values()))) < n:  # a mean or sum over rows is what makes the chunks add up
        rows_here = tuple(name for name in names if name in problem.data)
        check_rows(problem, rows_here, len(next(iter(first.values()))), "reading data a chunk at a time needs")
    return StreamedProblem(problem, ChunkSums(problem, tuple(n for n in names if n in problem.data), n, chunks))
