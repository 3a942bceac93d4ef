"""The memory a vector run needs, estimated from the texts BEFORE anything is allocated.

The rule (SECURITY.md, "Memory"): the entries a command will hold — start
values, data and parameters, read from their text (``ones(2*10^9)``) or from a
``.npy`` header, never by building them — times their bytes, plus the arrays
the engine and the method add, must fit in what this process may still use:

* the memory the system has available (``MemAvailable`` of ``/proc/meminfo``,
  else the free physical pages) and what a container's memory cgroup leaves,
* what an address-space limit (``ulimit -v``, RLIMIT_AS) leaves, and
* ``SYMDESCENT_MEMORY_LIMIT``, a lower cap a service can set for untrusted text.

Over it, one :class:`OutOfMemory` (exit 2) with both figures, and nothing of
that size has been allocated. The estimate is deliberately not pessimistic:
the chunked engine's run of ``sum((x-1)^2)`` holds x and the method's state
arrays only, so 2·10⁹ float64 entries (14.9 GiB) run on a 24 GB machine.
"""

from __future__ import annotations

import functools
import math
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from symdescent import settings
from symdescent.errors import InputError

#: Bytes per entry of each dtype a start value may have; data and parameters are float64.
ITEM_BYTES = {"float64": 8, "float32": 4}
#: Room kept for everything that is not an array of n entries (interpreter, SymPy, numpy, buffers).
SLACK = 64 * 1024**2
#: The whole-array engine's arrays per step beside x and the method's state: the gradient, the next
#: point and its gradient, and about four temporaries of the generated numpy code.
ARRAY_ENGINE_ARRAYS = 7
#: State arrays of the whole-array methods that are not fused steps (the fused ones say their own).
_OTHER_STATE = {"cg": 3, "backtracking": 2, "newton": 2}

#: A pattern, compiled by re on first use (a run that never reads it does not pay for it).
_FILL = (r"^(?:[^*]+?\s*\*\s*)?(?:ones|zeros)\((?P<n>[^()]*)\)(?:\s*\*\s*.+)?$")


class OutOfMemory(InputError):
    """The run would need more memory than the process may use: refused (exit 2) with both figures."""


#: What a MemoryError that got past the estimate is reported as (one line, exit 2, never "a bug").
RAN_OUT = "not enough memory: an allocation failed while the command ran"
RAN_OUT_HINT = "use fewer entries or --dtype float32; SYMDESCENT_MEMORY_LIMIT makes the refusal come before the run"

F = TypeVar("F", bound=Callable[..., Any])


def out_of_memory() -> OutOfMemory:
    """The error for a MemoryError: the estimate let through more than the system gave."""
    return OutOfMemory(RAN_OUT, hint=RAN_OUT_HINT)


def memory_reported(command: F) -> F:
    """``command`` with a MemoryError (anywhere in it: a file, a start value, a step) as :class:`OutOfMemory`."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MemoryError:
            raise out_of_memory() from None

    return wrapper  # type: ignore[return-value]  # the same signature as command


def size_text(count: float) -> str:
    """Bytes for people: ``18.6 GiB``, ``512 MiB``."""
    for unit, scale in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{int(count)} bytes"


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _status_bytes(field: str) -> int | None:
    """A figure of ``/proc/self/status`` (VmSize: address space in use; VmRSS: resident), in bytes."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _address_space_left() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    return max(0, soft - (_status_bytes("VmSize") or 0))


def _read_number(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except (OSError, ValueError):
        return None
    return int(text) if text.isdigit() else None  # "max" (no limit) and anything odd: None


def _cgroup_left(proc: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup") -> int | None:
    """What the process's memory cgroup (a container's limit) leaves; None without a finite one.

    MemAvailable is the whole machine's: in a container limited to 3 GB it may say 20 GB, and the
    kernel then kills the process outright (no message) instead of refusing an allocation.
    """
    try:
        with open(proc, encoding="ascii") as handle:
            lines = handle.read().splitlines()
    except (OSError, ValueError):
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        if controllers == "":  # cgroup v2
            base = root + path.rstrip("/")
            limit, used = _read_number(base + "/memory.max"), _read_number(base + "/memory.current")
        elif "memory" in controllers.split(","):  # cgroup v1
            base = root + "/memory" + path.rstrip("/")
            limit, used = _read_number(base + "/memory.limit_in_bytes"), _read_number(base + "/memory.usage_in_bytes")
        else:
            continue
        if limit is not None and limit < 1 << 60:
            return max(0, limit - (used or 0))
    return None


def available() -> tuple[int, str] | None:
    """The bytes this process may still allocate and what sets that figure (None: unknown, no limit)."""
    figures: list[tuple[int, str]] = []
    free = _meminfo_available()
    if free is not None:
        figures.append((free, "available"))
    group = _cgroup_left()
    if group is not None:
        figures.append((group, "left under the memory limit of this process's control group"))
    left = _address_space_left()
    if left is not None:
        figures.append((left, "left under the address-space limit"))
    cap = settings.memory_limit()
    if cap is not None:
        used = _status_bytes("VmRSS") or 0
        figures.append((max(0, cap - used), "left under SYMDESCENT_MEMORY_LIMIT"))
    return min(figures) if figures else None


def check(needed: float, what: str) -> None:
    """Refuse, before allocating, ``needed`` bytes (plus :data:`SLACK`) that the process may not have."""
    room = available()
    if room is None:
        return
    limit, source = room
    if needed + SLACK > limit:
        raise OutOfMemory(
            f"not enough memory: {what} would take about {size_text(needed)}; {size_text(limit)} {source}",
            hint="use fewer entries, --dtype float32, or a method with less state (gd)",
        )


# -- entries read from the texts, before anything is built ------------------------------------------


def _count(text: str) -> int | None:
    """The N of ``ones(N)`` / ``zeros(N)`` by the safe constant parser; None when it is not a plain size."""
    from symdescent.parsing import parse_constant

    try:
        value = parse_constant(text.strip(), "a length")
    except (InputError, ValueError, TypeError, RecursionError):
        return None
    return int(value) if value.is_Integer and value > 0 else None


def file_entries(path: str) -> tuple[int, int] | None:
    """(entries, bytes each) a data file will hold: a ``.npy`` from its header; None where unknown.

    Only a regular file is opened (a FIFO would block); a text file's size is left to the data reader's limits.
    """
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode) or not path.lower().endswith(".npy"):
        return None
    import numpy as np

    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
    except (OSError, ValueError, SyntaxError, TypeError):
        return None  # the reader says what is wrong with the file
    entries = math.prod(int(d) for d in shape)
    return entries, max(int(dtype.itemsize), 8)  # held as float64 once read


def value_bytes(text: str, item: int, default_length: int = 0) -> int:
    """Bytes the value ``text`` (``ones(10^9)``, ``3*zeros(n)``, ``@x.npy``, ``[1,2]``, ``2``) will take."""
    text = text.strip()
    if text.startswith("@"):
        found = file_entries(text[1:].strip())
        return 0 if found is None else found[0] * max(found[1], item)
    match = re.match(_FILL, text)
    if match:
        n = match.group("n").strip()
        count = default_length if n == "n" else _count(n)
        return (count or 0) * item
    return 0  # a number or a literal list: its size is its text's


def input_bytes(
    start: str | None, data_items: Sequence[str], params: str | None, dtype: str = "float64"
) -> tuple[int, int]:
    """(bytes of the start values, bytes of data and parameters) that a vector command will allocate."""
    from symdescent.vectors.data import parse_assignments, split_items

    constants = 0
    longest = 0
    for item in data_items:
        _, sep, value = item.partition("=")
        found = file_entries(item if not sep else value.strip())
        size = found[0] * found[1] if found else (value_bytes(value, 8) if sep else 0)
        constants += size
        longest = max(longest, size // 8)
    for item in split_items(params or ""):
        _, sep, value = item.partition("=")
        if sep:
            size = value_bytes(value, 8)
            constants += size
            longest = max(longest, size // 8)
    variables = 0
    if start and "=" in start:
        try:
            values: Mapping[str, str] = parse_assignments(start, "start")
        except InputError:
            values = {}  # the real parser reports it
        size = ITEM_BYTES.get(dtype, 8)
        variables = sum(value_bytes(v, size, longest) for v in values.values())
    return variables, constants


def check_inputs(start: str | None, data_items: Sequence[str], params: str | None, dtype: str = "float64") -> None:
    """Refuse start values, data and parameters that cannot fit, before any of them is allocated."""
    variables, constants = input_bytes(start, data_items, params, dtype)
    if variables + constants > 0:
        what = "the data" if constants > variables else "the start values"
        check(variables + constants, what)


def run_bytes(entries: int, dtype: str, method: str, engine: str, in_place: bool = True) -> int:
    """Bytes a run adds to its start vector: the method's state, and on the whole-array engine its arrays."""
    item = ITEM_BYTES.get(dtype, 8)
    if engine == "kernel":
        from symdescent.kernels.steps import ARRAY_STEPS

        state = ARRAY_STEPS[method].state_arrays if method in ARRAY_STEPS else 0
        return (state + (0 if in_place else 1)) * entries * item
    from symdescent.kernels.steps import ARRAY_STEPS

    state = ARRAY_STEPS[method].state_arrays if method in ARRAY_STEPS else _OTHER_STATE.get(method, 2)
    return (state + ARRAY_ENGINE_ARRAYS) * entries * 8


def check_run(entries: int, dtype: str, method: str, engine: str, in_place: bool = True) -> None:
    """Refuse a run whose state and working arrays cannot fit, before the run allocates them."""
    if entries < 1_000_000:
        return  # a few MB at most: not worth a look at /proc
    needed = run_bytes(entries, dtype, method, engine, in_place)
    if needed:
        check(needed, f"method {method} on {entries:,} entries ({engine} engine)")
