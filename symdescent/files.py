"""Every file the program writes, written whole or not at all: ``--save``, ``--plot`` and the cache.

One way to write, so that no output can be left half written::

    with written_whole("out.csv", "the saved point", text=True) as handle:
        handle.write(...)

The bytes go to a temporary file in the target's own folder (so the rename
cannot cross file systems), are flushed and ``fsync``-ed, and the temporary
file is then renamed over the target (``os.replace``). So:

* a reader sees the old file or the new one, never a mixture or a prefix;
* a symbolic link at the target is replaced by the new file, never followed
  (a link planted at ``out.csv`` cannot redirect the write elsewhere);
* a failure (a full disk, a quota, Ctrl-C or SIGTERM, an error while the
  content is produced) removes the temporary file and leaves the old file
  exactly as it was; an ``OSError`` becomes one :class:`InputError` that names
  the file and says it is unchanged.

:func:`check_target` checks, before any work, what can be checked before: the
name is not empty, its folder exists, is a folder and can be written (a file
is created there and removed), and the target is not a folder, a device or a
read-only file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from typing import IO, Any, Literal, overload

from symdescent.errors import InputError

Path = str | os.PathLike[str]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def _reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symbolic link loop"
    return error.strerror or str(error)


def _folder_of(target: str) -> str:
    return os.path.dirname(os.path.abspath(target))


def temporary_name(target: str) -> str:
    """A fresh hidden name next to ``target``: ``.NAME.RANDOM.tmp`` (what the cache's clear removes)."""
    name = os.path.basename(target)[:100]  # a long target name must not make the temporary name too long
    return os.path.join(_folder_of(target), f".{name}.{os.urandom(6).hex()}.tmp")


def check_target(path: Path, what: str) -> None:
    """Refuse, before any work, a target that cannot be written: :class:`InputError` naming ``what``."""
    target = os.fspath(path)
    if not target.strip():
        raise InputError(f"no file name given for {what}", hint="name a file, e.g. out.csv")
    if "\0" in target:
        raise InputError(f"cannot write {what} to {target!r}: a file name cannot contain a NUL character")
    if target.endswith(("/", os.sep)):
        raise InputError(f"cannot write {what} to {target!r}: the name ends with a '/' (a folder, not a file)")
    folder = _folder_of(target)
    try:
        folder_info = os.stat(folder)
    except OSError as error:
        problem = "does not exist" if error.errno == errno.ENOENT else f"cannot be used ({_reason(error)})"
        raise InputError(f"cannot write {what} to {target!r}: the folder {folder!r} {problem}") from None
    if not stat.S_ISDIR(folder_info.st_mode):
        raise InputError(f"cannot write {what} to {target!r}: {folder!r} is not a folder")
    _check_existing(target, what)
    probe = temporary_name(target)
    try:  # the one honest test of "writable": access() says yes to root on a read-only file system
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o600))
    except OSError as error:
        raise InputError(f"cannot write {what} to {target!r}: the folder {folder!r}: {_reason(error)}") from None
    _remove(probe)


def _check_existing(target: str, what: str) -> None:
    """What is at the target already: nothing, a file (replaced), a link (replaced, never followed), or refused.

    A folder, a device, a FIFO or a socket is refused, also at the end of a link: ``--save /dev/stdout``
    must not replace the link (as root) nor write through it. So is a file this user may not write.
    """
    try:
        here = os.lstat(target)
    except OSError:
        return  # nothing there (or not reachable: the probe below says why)
    kind = here.st_mode
    if stat.S_ISLNK(kind):
        try:
            kind = os.stat(target).st_mode
        except OSError:
            return  # a dangling link or a loop: replaced like any link
    if stat.S_ISDIR(kind):
        raise InputError(f"cannot write {what} to {target!r}: it is a folder")
    if not stat.S_ISREG(kind):
        raise InputError(f"cannot write {what} to {target!r}: it is a device, a pipe or a socket, not a file")
    if stat.S_ISREG(here.st_mode) and not os.access(target, os.W_OK):
        raise InputError(f"cannot write {what} to {target!r}: the file is read-only")


@overload
def written_whole(
    path: Path, what: str, *, text: Literal[False] = ..., mode: int | None = ...
) -> contextlib.AbstractContextManager[IO[bytes]]: ...
@overload
def written_whole(
    path: Path, what: str, *, text: Literal[True], mode: int | None = ...
) -> contextlib.AbstractContextManager[IO[str]]: ...
def written_whole(path: Path, what: str, *, text: bool = False, mode: int | None = None) -> Any:
    """A handle whose content replaces ``path`` when the block ends normally, and is thrown away otherwise.

    ``mode``: the new file's permissions (default: an existing regular file's, else 0666 less the umask).
    Text is UTF-8 with ``\\n`` line ends.
    """
    return _written_whole(os.fspath(path), what, text, mode)


@contextlib.contextmanager
def _written_whole(target: str, what: str, text: bool, mode: int | None) -> Iterator[IO[Any]]:
    temporary = temporary_name(target)
    if mode is None:
        mode = _existing_mode(target)
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, mode or 0o666)
    except OSError as error:
        raise _failed(target, what, error) from None
    handle: IO[Any] = (
        open(descriptor, "w", encoding="utf-8", newline="\n") if text else open(descriptor, "wb")  # noqa: SIM115
    )
    try:
        with handle:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(descriptor, mode)  # exactly the old file's mode, whatever the umask
            yield handle
            handle.flush()
            os.fsync(handle.fileno())  # on disk before the name points at it: a crash leaves old or new
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        raise _failed(target, what, error) from None
    except BaseException:  # Ctrl-C, SIGTERM, an error while producing the content: the old file stays
        _remove(temporary)
        raise
    _sync_folder(target)


def _existing_mode(target: str) -> int | None:
    """The permission bits of a regular file at ``target`` (kept by the new file); None otherwise."""
    try:
        info = os.lstat(target)
    except OSError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None


def _failed(target: str, what: str, error: OSError) -> InputError:
    return InputError(f"could not write {what} to {target!r}: {_reason(error)}; the file was left unchanged")


def _sync_folder(target: str) -> None:
    """Make the rename itself durable where the platform allows (POSIX); harmless elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(_folder_of(target), os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
