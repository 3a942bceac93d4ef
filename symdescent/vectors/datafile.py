"""Reading one data file, in bounded time and memory: ``--data FILE``, ``--data NAME=FILE``, ``x=@FILE``.

The file is opened once, without following it into a FIFO or a device
(``O_NONBLOCK``, then ``fstat``: a regular file or nothing), and its size is
checked against ``SYMDESCENT_DATA_LIMIT`` before a byte is read. Then:

* ``.npy``: the header is read by NumPy's own reader (never a pickle), the
  dtype must be numbers (bool, integers, floats: no complex, dates, text,
  records or objects), the file must hold as many bytes as the header claims
  (a 200-byte file claiming 10¹² entries is refused, nothing allocated), and
  the data are read in 16 MB pieces;
* ``.csv``/``.tsv``: lines are read at most :data:`MAX_LINE` characters at a
  time (a file without newlines is refused at the first MB, not after
  reading it all), each cell is a plain decimal by
  :func:`symdescent.values.decimal_float` (the forms start values refuse,
  ``1_000``, Arabic-Indic or fullwidth digits, are refused here too), and
  rows are packed into arrays every few thousand lines.

Each piece is Python code between reads, so Ctrl-C is heard within
milliseconds. Every refusal is one :class:`InputError` naming the file.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import stat
import warnings
from collections.abc import Iterator
from typing import IO

import numpy as np

from symdescent import settings
from symdescent.errors import InputError
from symdescent.values import decimal_float

#: The longest line of a CSV or TSV file, in characters (a row of 40,000 numbers).
MAX_LINE = 1_000_000
#: Rows gathered before they are packed into an array (bounds the memory of Python lists).
BLOCK_ROWS = 8192
#: Bytes of a .npy file read at a time (between two, Ctrl-C is heard).
PIECE = 16 * 1024 * 1024
#: dtype kinds that are numbers: bool, signed and unsigned integers, floats.
NUMERIC_KINDS = "biuf"
_KIND_NAMES = {
    "c": "complex numbers (only real numbers can be data)",
    "M": "dates (datetime64), not numbers",
    "m": "time spans (timedelta64), not numbers",
    "O": "Python objects, which are never loaded (a pickle could run code)",
    "S": "text, not numbers",
    "U": "text, not numbers",
    "V": "records or raw bytes, not numbers",
}


def _size_text(size: int) -> str:
    return f"{size / 1e9:.3g} GB" if size >= 1e9 else f"{size / 1e6:.3g} MB" if size >= 1e6 else f"{size} bytes"


def open_data_file(path: str) -> int:
    """A descriptor of the regular file ``path``, its size within the limit; :class:`InputError` otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)  # O_NONBLOCK: a FIFO opens at once (and is refused below)
    except OSError as error:
        raise _cannot_read(path, error) from None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{path} is a directory, not a data file", hint="give a .csv, .tsv or .npy file")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path} is not a regular file (a pipe, a device or a socket): it cannot be data")
        limit = settings.data_limit()
        if info.st_size > limit:
            raise InputError(
                f"{path} is {_size_text(info.st_size)}, more than the {_size_text(limit)} a data file may have",
                hint="set SYMDESCENT_DATA_LIMIT (bytes, e.g. 2GB) to read larger files",
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _cannot_read(path: str, error: OSError) -> InputError:
    if error.errno == errno.ENOENT:
        return InputError(f"{path}: no such file")
    if error.errno == errno.ELOOP:
        return InputError(f"{path} is a symbolic link loop, not a data file")
    if error.errno in (errno.EACCES, errno.EPERM):
        return InputError(f"{path} cannot be read: permission denied")
    if error.errno == errno.ENOTDIR:
        return InputError(f"{path}: no such file (a part of the path is not a folder)")
    return InputError(f"{path} cannot be read: {error.strerror or error}")


# -- .npy -----------------------------------------------------------------------------------


def read_npy(handle: io.BufferedReader, path: str) -> np.ndarray:
    """The numbers of a ``.npy`` file, as float64 (1-D or 2-D); refused unless the header and size agree."""
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(handle)
        else:  # 3.0 only stores record field names in UTF-8: records are refused anyway
            raise ValueError(f"version {version[0]}.{version[1]} is not supported")
    except (ValueError, OSError, EOFError, SyntaxError) as error:
        raise InputError(f"{path}: not a readable .npy file ({error})") from None
    if dtype.hasobject or dtype.kind not in NUMERIC_KINDS:
        what = _KIND_NAMES.get("O" if dtype.hasobject else dtype.kind, f"of dtype {dtype}, not numbers")
        raise InputError(f"{path} holds {what}", hint="data files hold real numbers: integers or floats")
    if len(shape) not in (1, 2) or 0 in shape:
        raise InputError(f"{path}: a vector or a matrix is needed, but its shape is {shape}")
    count = 1
    for length in shape:
        count *= int(length)
    needed = count * dtype.itemsize
    remaining = os.fstat(handle.fileno()).st_size - handle.tell()
    if remaining < needed:
        raise InputError(
            f"{path}: its header claims {count:,} entries ({_size_text(needed)}) but the file holds "
            f"{_size_text(max(remaining, 0))} of data: it is truncated or not a real .npy file"
        )
    flat = np.empty(count, dtype=dtype)
    raw = flat.view(np.uint8).data
    done = 0
    while done < needed:  # in pieces: Ctrl-C is heard between two
        got = handle.readinto(raw[done : min(done + PIECE, needed)])
        if not got:
            raise InputError(f"{path}: the file ended before its data did")
        done += got
    array = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
    return array.astype(np.float64, copy=False)


# -- .csv and .tsv --------------------------------------------------------------------------


#: Characters read a chunk at a time once the header is past (at most MAX_LINE: only a chunk's first line
#: can then be longer than MAX_LINE, and only that one is measured).
CHUNK = 1_000_000
#: A chunk with nothing but these goes to NumPy's C parser whole (it accepts, from these characters, exactly
#: the texts :data:`symdescent.values.DECIMAL` accepts: tests/test_files.py checks every short text).
_PLAIN = re.compile(r"[^0-9.eE+\-, \t\r\n]")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_END = re.compile(r"[\r\n]")


def _lines(handle: IO[str], path: str) -> Iterator[str]:
    """The file's lines, each read at most :data:`MAX_LINE` characters at a time."""
    number = 0
    while True:
        line = handle.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE and not line.endswith("\n"):
            raise _too_long(path, number)
        yield line


def _too_long(path: str, line: int) -> InputError:
    return InputError(
        f"{path}, line {line}: longer than {MAX_LINE:,} characters", hint="data files have one row of numbers per line"
    )


class _Table:
    """A CSV or TSV table as it is read: the header, the rows packed into arrays, the line reached."""

    def __init__(self, path: str, delimiter: str) -> None:
        self.path, self.delimiter = path, delimiter
        self.header: list[str] | None = None
        self.blocks: list[np.ndarray] = []
        self.rows: list[list[float]] = []
        self.width = 0
        self.line = 0  # lines read so far

    def started(self) -> bool:
        return bool(self.rows or self.blocks)

    def add_lines(self, lines: list[str]) -> None:
        """Rows read cell by cell: exact line and column in every message, quoted cells understood."""
        first = self.line
        reader = csv.reader(lines, delimiter=self.delimiter)
        try:
            for cells in reader:
                self._row([c.strip() for c in cells], first + reader.line_num)
        except csv.Error as error:
            raise InputError(f"{self.path}, line {first + reader.line_num}: {error}") from None
        self.line = first + len(lines)
        if len(self.rows) >= BLOCK_ROWS:
            self._pack()

    def _row(self, cells: list[str], line: int) -> None:
        if not cells or all(not c for c in cells):
            return
        values = [decimal_float(c) for c in cells]
        if self.header is None and not self.started() and None in values:
            for column, cell in enumerate(cells, start=1):
                _refuse_lookalike(self.path, line, column, cell)
            self.header, self.width = cells, len(cells)
            return
        if self.width and len(cells) != self.width:
            raise InputError(f"{self.path}, line {line}: {len(cells)} values, but the lines before have {self.width}")
        self.width = len(cells)
        if None in values:
            column = values.index(None) + 1
            raise InputError(f"{self.path}, line {line}, column {column}: {_not_a_number(cells[column - 1])}")
        self.rows.append(values)  # type: ignore[arg-type]  # no None left

    def _pack(self) -> None:
        if self.rows:
            self.blocks.append(np.array(self.rows, dtype=float))
            self.rows = []

    def add_chunk(self, chunk: str) -> None:
        """Whole lines: parsed by NumPy in one call when they are plainly numbers, else line by line."""
        lines = _count_lines(chunk)
        if not chunk.strip():
            self.line += lines
            return
        if '"' not in chunk and not _PLAIN.search(chunk):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an error is re-read line by line, for its line number
                try:
                    block = np.loadtxt(io.StringIO(chunk), delimiter=self.delimiter, ndmin=2, dtype=float)
                except ValueError:
                    block = None
            if block is not None and block.size and (not self.width or block.shape[1] == self.width):
                self._pack()
                self.blocks.append(block)
                self.width = block.shape[1]
                self.line += lines
                return
        self.add_lines(_split_kept(chunk))

    def finish(self) -> tuple[list[str] | None, np.ndarray]:
        self._pack()
        if not self.blocks:
            raise InputError(
                f"{self.path}: no numbers in the file" + (" (only a header)" if self.header else " (it is empty)")
            )
        array = self.blocks[0] if len(self.blocks) == 1 else np.concatenate(self.blocks)
        check_finite(self.path, array)
        return self.header, array


def _split_kept(chunk: str) -> list[str]:
    """The lines of ``chunk`` (which ends with a line end), each with its ``\\n``, ``\\r\\n`` or ``\\r``."""
    return _LINE.findall(chunk)


def _count_lines(chunk: str) -> int:
    return chunk.count("\n") + chunk.count("\r") - chunk.count("\r\n")


def _chunks(handle: IO[str], table: _Table) -> Iterator[str]:
    """The rest of the file as whole lines, about :data:`CHUNK` characters at a time."""
    rest = ""
    limit, read = settings.data_limit(), 0
    while True:
        piece = handle.read(CHUNK)
        read += len(piece)
        if read > limit:  # a file that grows while it is read (or a /proc file that claims size 0)
            raise InputError(f"{table.path} grew past the {_size_text(limit)} a data file may have while it was read")
        if not piece:
            if rest:
                yield rest + "\n"
            return
        text = rest + piece
        cut = max(text.rfind("\n"), text.rfind("\r")) + 1
        head, rest = text[:cut], text[cut:]
        first = _END.search(head)
        if first is not None and first.start() > MAX_LINE:  # only the first line can be longer than a piece
            raise _too_long(table.path, table.line + 1)
        if len(rest) > MAX_LINE:
            raise _too_long(table.path, table.line + _count_lines(head) + 1)
        if head:
            yield head


def read_delimited(handle: IO[str], path: str, delimiter: str) -> tuple[list[str] | None, np.ndarray]:
    """(header or None, 2-D values) of a CSV or TSV text; the first row is a header if a cell is not a number."""
    table = _Table(path, delimiter)
    try:
        for line in _lines(handle, path):  # line by line up to the first row of numbers (past any header)
            if not line.strip():
                table.line += 1  # a million blank lines cost a million cheap steps, not a million CSV rows
                continue
            table.add_lines([line])
            if table.started():
                break
        for chunk in _chunks(handle, table):
            table.add_chunk(chunk)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (it is not UTF-8)") from None
    return table.finish()


def _not_a_number(cell: str) -> str:
    """Why ``cell`` is not a number, in one phrase."""
    if any(c.isdigit() and not c.isascii() for c in cell):
        return f"{cell!r} is not a number: write digits 0-9 (not {_first_foreign_digit(cell)})"
    if "_" in cell and decimal_float(cell.replace("_", "")) is not None:
        return f"{cell!r} is not a number: write it without '_' ({cell.replace('_', '')})"
    return f"{cell!r} is not a number"


def _first_foreign_digit(cell: str) -> str:
    import unicodedata

    digit = next(c for c in cell if c.isdigit() and not c.isascii())
    return f"{digit!r}, {unicodedata.name(digit, f'U+{ord(digit):04X}')}"


def _refuse_lookalike(path: str, line: int, column: int, cell: str) -> None:
    """A header cell that Python would read as a number (``1_000``, ``١٢``) is a number written wrongly."""
    try:
        looks_numeric = abs(float(cell)) < float("inf")
    except ValueError:
        looks_numeric = any(c.isdigit() and not c.isascii() for c in cell)
    if looks_numeric:
        raise InputError(f"{path}, line {line}, column {column}: {_not_a_number(cell)}")


def check_finite(path: str, array: np.ndarray) -> None:
    """Refuse a value that is not finite (``1e999`` in a CSV, ``inf`` or ``nan`` in a .npy), naming its entry."""
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        where = bad[0]
        raise InputError(f"{path}: entry {tuple(int(i) + 1 for i in where)} is not a finite number")
