"""Every ``SYMDESCENT_*`` environment variable, read and checked in one place.

Each reader returns a typed value, or raises one :class:`InputError` that
names the variable and its allowed values (the CLI exits 2 on it, before any
work starts: :func:`check_all`). Nothing else in the package reads these
variables, so each has one spelling, one set of values and one message.

Cheap to import (only ``os``, ``math`` and the errors): the warm start path
reads settings without importing SymPy or numpy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Literal, cast

from symdescent.errors import InputError

ScalarEngine = Literal["auto", "python", "symengine"]
VectorEngine = Literal["auto", "kernel", "array"]
KernelBackend = Literal["auto", "numpy", "numba"]
ScalarLoop = Literal["auto", "python", "numba"]

#: Accepted words for an on/off switch (case does not matter); unset or empty means the default.
ON = ("1", "true", "yes", "on")
OFF = ("0", "false", "no", "off")


def _text(name: str) -> str:
    return os.environ.get(name, "").strip()


def _refuse(name: str, text: str, allowed: str, default: str) -> InputError:
    return InputError(f"{name} must be {allowed}, got {text!r}", hint=f"unset it for the default: {default}")


def _one_of(items: tuple[str, ...]) -> str:
    return ", ".join(items[:-1]) + " or " + items[-1]


def _choice(name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first is the default), any case; anything else is refused."""
    text = _text(name)
    if not text:
        return choices[0]
    if text.lower() not in choices:
        raise _refuse(name, text, _one_of(choices), choices[0])
    return text.lower()


def _switch(name: str, default: bool) -> bool:
    text = _text(name)
    if not text:
        return default
    if text.lower() in ON:
        return True
    if text.lower() in OFF:
        return False
    raise _refuse(name, text, f"{'/'.join(ON)} (on) or {'/'.join(OFF)} (off)", "on" if default else "off")


def scalar_engine() -> ScalarEngine:
    """``SYMDESCENT_ENGINE``: how scalar f and ∇f are evaluated (auto: chosen by the number of variables)."""
    return cast(ScalarEngine, _choice("SYMDESCENT_ENGINE", ("auto", "python", "symengine")))


def vector_engine() -> VectorEngine:
    """``SYMDESCENT_VECTOR_ENGINE``: the whole-array or the chunked kernel engine for vector problems."""
    return cast(VectorEngine, _choice("SYMDESCENT_VECTOR_ENGINE", ("auto", "kernel", "array")))


def kernel_backend() -> KernelBackend:
    """``SYMDESCENT_KERNEL``: the chunked kernel and the pass over data rows in numpy or compiled by numba (auto:
    numba where it pays; least squares from data also by the QR of X, which only auto takes)."""
    return cast(KernelBackend, _choice("SYMDESCENT_KERNEL", ("auto", "numpy", "numba")))


def loop() -> ScalarLoop:
    """``SYMDESCENT_LOOP``: the loop of a long scalar run, Python or numba-compiled (auto: numba when it pays)."""
    return cast(ScalarLoop, _choice("SYMDESCENT_LOOP", ("auto", "python", "numba")))


def threads() -> int | None:
    """``SYMDESCENT_THREADS``: at most this many kernel threads (None: every core this process may use)."""
    text = _text("SYMDESCENT_THREADS")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) < 1:  # no sign, no "1_000", no "2.0"
        raise _refuse("SYMDESCENT_THREADS", text, "a whole number of threads, 1 or more", "every core")
    return int(text)


def time_limit() -> float | None:
    """``SYMDESCENT_TIME_LIMIT``: seconds allowed before the first step (it can only lower the built-in limit)."""
    text = _text("SYMDESCENT_TIME_LIMIT")
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise _refuse("SYMDESCENT_TIME_LIMIT", text, "a positive number of seconds", "the built-in limit")
    return seconds


#: ``SYMDESCENT_DATA_LIMIT`` when unset: the largest data file read (bytes), about 10 s of parsing for CSV.
DATA_LIMIT = 100_000_000
_SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}


def data_limit() -> int:
    """``SYMDESCENT_DATA_LIMIT``: the largest data file (``--data``, ``x=@FILE``) read, in bytes (``500MB``, ``2G``).

    Checked against the file's size before a byte is read; a service handed untrusted files can lower it.
    """
    text = _text("SYMDESCENT_DATA_LIMIT")
    if not text:
        return DATA_LIMIT
    digits = text.rstrip("kKmMgGbB ").strip()
    unit = text[len(text.rstrip("kKmMgGbB ")) :].strip().lower()
    if not (digits.isascii() and digits.isdigit()) or unit not in _SIZE_UNITS or int(digits) < 1:
        raise _refuse(
            "SYMDESCENT_DATA_LIMIT", text, "a size in bytes, 1 or more (e.g. 500000000, 500MB or 2GB)", "100MB"
        )
    return int(digits) * _SIZE_UNITS[unit]


def scheduler() -> str | None:
    """``SYMDESCENT_SCHEDULER``: the Dask scheduler when ``--scheduler`` is not given (``local:N``, an address)."""
    text = _text("SYMDESCENT_SCHEDULER")
    if not text:
        return None
    if not (text.startswith("local:") or "://" in text or ":" in text) or any(c.isspace() for c in text):
        raise _refuse(
            "SYMDESCENT_SCHEDULER", text, "local:N or a scheduler address such as tcp://host:8786", "no cluster"
        )
    return text


#: Units of SYMDESCENT_MEMORY_LIMIT: binary, as the refusals print them (1G = 1 GiB = 2**30 bytes).
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def memory_limit() -> int | None:
    """``SYMDESCENT_MEMORY_LIMIT``: the most memory a run may plan to use, e.g. ``2G`` (None: what the system has).

    A service that runs untrusted text sets it below the machine's memory: a start value, data or a
    method whose estimated arrays would pass it is refused before anything is allocated.
    """
    text = _text("SYMDESCENT_MEMORY_LIMIT")
    if not text:
        return None
    lowered = text.lower().removesuffix("ib").removesuffix("b")
    number, unit = (lowered[:-1], lowered[-1]) if lowered[-1:] in _UNITS else (lowered, "")
    try:
        value = float(number) * _UNITS[unit] if number.isascii() else math.nan
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise _refuse("SYMDESCENT_MEMORY_LIMIT", text, "a size such as 2G, 500M or 2000000000 (bytes)", "no cap")
    return int(value)


def cache_enabled() -> bool:
    """``SYMDESCENT_CACHE``: whether the cache of compiled functions is used (on unless switched off)."""
    return _switch("SYMDESCENT_CACHE", True)


def debug() -> bool:
    """``SYMDESCENT_DEBUG``: show tracebacks, as ``--debug`` does."""
    return _switch("SYMDESCENT_DEBUG", False)


#: Every variable and its reader: the README's list, and what :func:`check_all` checks.
READERS: dict[str, Callable[[], object]] = {
    "SYMDESCENT_ENGINE": scalar_engine,
    "SYMDESCENT_VECTOR_ENGINE": vector_engine,
    "SYMDESCENT_KERNEL": kernel_backend,
    "SYMDESCENT_LOOP": loop,
    "SYMDESCENT_THREADS": threads,
    "SYMDESCENT_TIME_LIMIT": time_limit,
    "SYMDESCENT_DATA_LIMIT": data_limit,
    "SYMDESCENT_SCHEDULER": scheduler,
    "SYMDESCENT_MEMORY_LIMIT": memory_limit,
    "SYMDESCENT_CACHE": cache_enabled,
    "SYMDESCENT_DEBUG": debug,
}


def check_all() -> None:
    """Read every variable, so that a bad one is refused before any work, even where this run would not read it."""
    for reader in READERS.values():
        reader()
