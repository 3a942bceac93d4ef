"""The compiled-function cache on disk: storage only (what goes in it is :mod:`symdescent.warm`'s business).

A shell loop that calls ``symdescent run "$f" --lr $a`` ten times parses,
differentiates and compiles the same function ten times; the cache keeps
what the first call generated so that the others skip SymPy. Done the way
pip's and ccache's caches are:

* where: ``$XDG_CACHE_HOME/symdescent`` (an absolute path, as the XDG spec
  asks), else ``~/Library/Caches/symdescent`` on macOS,
  ``%LOCALAPPDATA%\\symdescent\\Cache`` on Windows and ``~/.cache/symdescent``
  elsewhere; the directory is created private (0700);
* one file per entry, named by its key (a SHA-256 of everything that
  changes the compiled result, see :func:`key`), written whole or not at all
  (:func:`symdescent.files.written_whole`: a temporary file renamed into
  place), so a reader never sees half an entry and two processes writing the
  same entry at once (a shell loop with ``&``) both succeed;
* bounded: beyond :data:`MAX_ENTRIES` entries the least recently used are
  evicted (a hit refreshes the entry's time);
* never trusted blindly: :func:`load` returns nothing unless the directory
  and the file belong to this user and nobody else can write them, the file
  starts with this format's magic line, its body has the SHA-256 the magic
  line records (a truncated or altered file does not) and the body is a JSON
  object recording the key asked for. Anything else is a miss, and the
  caller rebuilds the entry;
* acting only on what it made: :func:`info` counts and :func:`clear` removes
  only entries that pass those same checks, and neither touches a folder
  that :func:`load` would not use (a symbolic link, another user's folder).

``SYMDESCENT_CACHE=0`` turns the cache off (``--no-cache`` does it for one
command). Loading is cheap: one ``stat`` of the directory, one of the file,
one read, one hash.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import sys
from collections.abc import Iterable
from typing import Any, NamedTuple

# The built-in SHA-256 module (_sha256 up to Python 3.11, _sha2 since): hashlib would load OpenSSL
# first, a millisecond or two of a warm run's start. The same digest either way.
try:
    from _sha256 import sha256  # type: ignore[import-not-found]  # CPython-private module: typeshed has no stub
except ImportError:
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]  # CPython-private module: typeshed has no stub
    except ImportError:
        from hashlib import sha256

# The json package's C accelerator, without the package: importing json costs a warm run about 2 ms, and
# what a warm run needs (a key of strings, one entry read back) the C scanner and encoder do alone.
try:
    import _json
except ImportError:  # another Python: the json package does the same
    _json = None  # type: ignore[assignment]

from symdescent import settings
from symdescent.errors import InputError

Folder = str | os.PathLike[str]

#: Bumped whenever the layout of an entry changes: older entries are then ignored (and replaced).
FORMAT = 1
MAGIC = b"symdescent-cache"
SUFFIX = ".entry"
#: At most this many entries; the least recently used beyond it are deleted when a new one is written.
MAX_ENTRIES = 256
#: An entry larger than this is not written (a function with thousands of terms gains little anyway).
MAX_ENTRY_BYTES = 4 * 1024 * 1024


def enabled() -> bool:
    """False when ``SYMDESCENT_CACHE`` is ``0``, ``false``, ``no`` or ``off``."""
    return settings.cache_enabled()


def directory() -> str:
    """Where the cache lives (it may not exist yet)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "symdescent")
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
        return os.path.join(base, "symdescent", "Cache")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches", "symdescent")
    return os.path.join(os.path.expanduser("~"), ".cache", "symdescent")


def key(*parts: Any) -> str:
    """A hex SHA-256 of ``parts`` (JSON-encoded, so that ``("ab", "c")`` and ``("a", "bc")`` differ)."""
    return sha256(_json_list([FORMAT, *parts]).encode()).hexdigest()


def _json_list(values: list[Any]) -> str:
    """``json.dumps(values, ensure_ascii=True, separators=(",", ":"))`` for a list of strings, None and ints."""
    if _json is None or not all(v is None or type(v) in (str, int) for v in values):
        import json

        return json.dumps(values, ensure_ascii=True, separators=(",", ":"))
    items = ("null" if v is None else str(v) if type(v) is int else _json.encode_basestring_ascii(v) for v in values)
    return "[" + ",".join(items) + "]"


class _Decoding:
    """What the C scanner reads from a ``json.JSONDecoder``: the settings of a plain ``json.loads``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": -math.inf, "Infinity": math.inf, "NaN": math.nan}.__getitem__


def _loads(body: bytes) -> Any:
    """``json.loads(body)`` of the UTF-8 text :func:`encode` writes, by the C scanner alone when it can."""
    text = body.decode("utf-8", "surrogatepass")
    if _json is not None:
        try:
            value, end = _json.make_scanner(_Decoding)(text, 0)  # type: ignore[arg-type]  # reads the attributes
        except StopIteration:
            end = -1
        if end == len(text):
            return value
    import json  # not one JSON document from its first character to its last: json.loads decides

    return json.loads(text)


def _private(info: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else (always true where there are no owners)."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    return info.st_uid == getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def problem_with(path: Folder) -> str | None:
    """Why the cache directory ``path`` must not be used, or None when it is fine (or does not exist yet)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"cannot read it ({error.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link, not a directory"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a directory"
    if not _private(info):
        return "it belongs to another user or others can write to it"
    return None


def _entry_path(folder: Folder, entry_key: str) -> str:
    return os.path.join(folder, f"{entry_key}{SUFFIX}")


def load(entry_key: str, folder: Folder | None = None) -> dict[str, Any] | None:
    """The entry stored under ``entry_key``, verified; None when there is none or it does not verify."""
    folder = folder or directory()
    if problem_with(folder) is not None:
        return None
    path = _entry_path(folder, entry_key)
    entry = _verified(path, entry_key)
    if entry is not None:
        with contextlib.suppress(OSError):
            os.utime(path)  # least recently used goes first when the cache is full
    return entry


def _verified(path: str, entry_key: str) -> dict[str, Any] | None:
    """The entry in the file ``path`` if it passes every check :func:`load` makes; None otherwise.

    A regular file (never through a link), this user's and writable by nobody else, no larger than an
    entry can be, and whose magic line, format, digest and key check out.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or not _private(info) or info.st_size > MAX_ENTRY_BYTES + 200:
            return None
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(MAX_ENTRY_BYTES + 201)
    except OSError:
        return None
    finally:
        os.close(fd)
    return _decode(data, entry_key)


def _decode(data: bytes, entry_key: str) -> dict[str, Any] | None:
    """The body of a stored entry if its magic line, format, digest and key all check out."""
    head, newline, body = data.partition(b"\n")
    fields = head.split(b" ")
    if not newline or len(fields) != 3 or fields[0] != MAGIC or fields[1] != str(FORMAT).encode():
        return None
    if sha256(body).hexdigest().encode() != fields[2]:
        return None
    try:
        entry = _loads(body)
    except ValueError:
        return None
    if not isinstance(entry, dict) or entry.get("key") != entry_key:
        return None
    return entry


def encode(entry: dict[str, Any]) -> bytes:
    """The bytes of an entry file: ``symdescent-cache FORMAT SHA256`` then the JSON body."""
    import json

    body = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()
    return b" ".join([MAGIC, str(FORMAT).encode(), sha256(body).hexdigest().encode()]) + b"\n" + body


def store(entry_key: str, entry: dict[str, Any], folder: Folder | None = None) -> bool:
    """Write ``entry`` under ``entry_key`` atomically; False (and nothing written) when that is not possible.

    Never raises for the file system's sake: a cache that cannot be written is simply not used.
    """
    folder = folder or directory()
    data = encode({**entry, "key": entry_key})
    if len(data) > MAX_ENTRY_BYTES:
        return False
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    if problem_with(folder) is not None:
        return False
    try:
        from symdescent.files import written_whole  # only a run that writes an entry needs it

        with written_whole(_entry_path(folder, entry_key), "a cache entry", mode=0o600) as file:
            file.write(data)
    except (InputError, OSError):  # the temporary file is already gone
        return False
    evict(folder)
    return True


def _entries(folder: Folder) -> list[tuple[float, int, str]]:
    """(last use, size, path) of every entry file: regular files of this user, none through a link.

    Nothing at all when the folder itself fails :func:`problem_with` (a link to another folder,
    another user's folder, one others can write): the cache acts only on what it made.
    """
    if problem_with(folder) is not None:
        return []
    found = []
    try:
        with os.scandir(folder) as scan:
            for item in scan:
                if item.name.endswith(SUFFIX):
                    try:
                        info = item.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if stat.S_ISREG(info.st_mode) and _private(info):
                        found.append((info.st_mtime, info.st_size, item.path))
    except OSError:
        return []
    return found


def evict(folder: Folder, keep: int | None = None) -> int:
    """Delete the least recently used entries beyond ``keep`` (:data:`MAX_ENTRIES`); the number deleted."""
    keep = MAX_ENTRIES if keep is None else keep
    entries = _entries(folder)
    if len(entries) <= keep:
        return 0
    entries.sort()
    doomed = entries[: len(entries) - keep]
    _remove_all(path for _, _, path in doomed)
    return len(doomed)


def _remove(path: Folder) -> None:
    with contextlib.suppress(OSError):  # already gone: another process evicted or cleared it
        os.unlink(path)


def _remove_all(paths: Iterable[Folder]) -> None:
    for path in paths:
        _remove(path)


class Info(NamedTuple):
    """What ``symdescent cache info`` shows."""

    path: str
    enabled: bool
    entries: int
    size: int
    problem: str | None


def info(folder: Folder | None = None) -> Info:
    """What the cache holds: only entries that :func:`load` would use (none in a folder it would not use)."""
    folder = os.fspath(folder or directory())
    problem = problem_with(folder)
    entries = [] if problem else [e for e in _entries(folder) if _verified(e[2], _key_of(e[2])) is not None]
    return Info(folder, enabled(), len(entries), sum(size for _, size, _ in entries), problem)


class UnsafeCache(InputError):
    """The cache folder is not one the cache would use: ``clear`` leaves it alone."""


def clear(folder: Folder | None = None) -> int:
    """Delete every entry that verifies (and the cache's own temporary files); the number of entries deleted.

    Acts only on what the cache made: in a folder that :func:`problem_with` refuses (a symbolic link,
    another user's folder, one others can write) nothing is touched and :class:`UnsafeCache` is raised;
    a file that :func:`load` would not use (another format, altered, a link, another user's) stays.
    """
    folder = os.fspath(folder or directory())
    problem = problem_with(folder)
    if problem is not None:
        raise UnsafeCache(
            f"the cache directory {folder} was left alone: {problem}",
            hint="the cache uses only a private directory of your own; remove or fix it yourself",
        )
    entries = [path for _, _, path in _entries(folder) if _verified(path, _key_of(path)) is not None]
    _remove_all(entries)
    _remove_all(_temporaries(folder))
    return len(entries)


def _key_of(path: str) -> str:
    return os.path.basename(path)[: -len(SUFFIX)]


def _temporaries(folder: Folder) -> list[str]:
    """Temporary files a killed writer left (``.KEY.entry.RANDOM.tmp``): regular, this user's, private."""
    found = []
    try:
        with os.scandir(folder) as scan:
            for item in scan:
                if item.name.startswith(".") and item.name.endswith(".tmp"):
                    with contextlib.suppress(OSError):
                        info = item.stat(follow_symlinks=False)
                        if stat.S_ISREG(info.st_mode) and _private(info):
                            found.append(item.path)
    except OSError:
        return []
    return found
