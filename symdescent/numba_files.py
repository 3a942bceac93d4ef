"""Generated numba code kept as modules in the cache folder, so numba's own cache can keep its machine code.

Why: ``numba.njit(cache=True)`` only caches a function it read from a real
file; code executed from a string is compiled again in every process (1–3 s of
CPU for a fused kernel or a compiled loop). So the generated source (our
printer's output, never user text) is written to ``<cache>/<kind>/`` and
imported from there; numba writes its ``.nbi``/``.nbc`` files beside it in
``__pycache__``. A module is imported only after its text was compared with
the text just generated (a file that differs, or that someone else could
write, is written again); at most :data:`MAX_MODULES` modules per kind are
kept, the least recently used going first. Any problem with the folder means
no cache (None): the caller compiles in memory instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import stat
import sys
from typing import Any

from symdescent import cache
from symdescent.errors import InputError

#: At most this many modules of one kind are kept in the cache folder.
MAX_MODULES = 64
#: The kinds of module: the compiled scalar loops and the numba kernels of long vectors.
KINDS = ("loops", "kernels")


def folder(kind: str) -> str:
    """Where modules of ``kind`` (``loops``, ``kernels``) live."""
    return os.path.join(cache.directory(), kind)


def place(source: str, kind: str) -> tuple[str, str]:
    """The module's stem and file for ``source`` (numba's and Python's versions count: each has its own code)."""
    from importlib.metadata import version

    python = f"{sys.implementation.name}{sys.version_info[0]}{sys.version_info[1]}"
    digest = hashlib.sha256(f"{version('numba')} {python}\n{source}".encode()).hexdigest()[:32]
    stem = f"{kind.rstrip('s')}_{digest}"
    return stem, os.path.join(folder(kind), f"{stem}.py")


def is_compiled(source: str, kind: str, function: str = "") -> bool:
    """Whether an earlier run left this module and numba's code for it (for ``function``, if named) in the cache."""
    stem, path = place(source, kind)
    compiled = os.path.join(folder(kind), "__pycache__")
    start = f"{stem}.{function}-" if function else f"{stem}."
    with contextlib.suppress(OSError):
        return read(path) == source and any(
            name.startswith(start) and name.endswith(".nbi") for name in os.listdir(compiled)
        )
    return False


def load(source: str, kind: str, attribute: str) -> Any | None:
    """``attribute`` of the module ``source``, imported from the cache folder (written first if missing or
    different); None when the cache folder cannot be used."""
    stem, path = place(source, kind)
    where = folder(kind)
    try:
        os.makedirs(where, mode=0o700, exist_ok=True)
        if cache.problem_with(cache.directory()) or cache.problem_with(where):
            return None
        if read(path) != source:
            from symdescent.files import written_whole

            with written_whole(path, "a compiled module", text=True, mode=0o600) as file:
                file.write(source)
            _evict(where, kind)
        os.utime(path)
        spec = importlib.util.spec_from_file_location(f"symdescent_{stem}", path)
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # numba's cached code finds its module by name
        spec.loader.exec_module(module)
    except (OSError, InputError):
        return None
    return getattr(module, attribute)


def read(path: str) -> str | None:
    """The file's text, if it is a regular file of this user that nobody else can write."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, encoding="utf-8", newline="") as file:
        info = os.fstat(fd)
        getuid = getattr(os, "getuid", None)
        if not stat.S_ISREG(info.st_mode) or (getuid and info.st_uid != getuid()) or info.st_mode & 0o022:
            return None
        try:
            return file.read()
        except (OSError, UnicodeDecodeError):
            return None


def _evict(where: str, kind: str) -> None:
    """Keep the :data:`MAX_MODULES` most recently used modules (and numba's files for them)."""
    prefix = f"{kind.rstrip('s')}_"
    with contextlib.suppress(OSError):
        modules = sorted(
            (entry.stat(follow_symlinks=False).st_mtime, entry.name[:-3])
            for entry in os.scandir(where)
            if entry.name.startswith(prefix) and entry.name.endswith(".py")
        )
        doomed = {stem for _, stem in modules[: max(0, len(modules) - MAX_MODULES)]}
        compiled = os.path.join(where, "__pycache__")
        others = [os.path.join(compiled, name) for name in os.listdir(compiled)] if os.path.isdir(compiled) else []
        for stem in doomed:
            mine = [p for p in others if os.path.basename(p).startswith(f"{stem}.")]
            for path in [os.path.join(where, f"{stem}.py"), *mine]:
                with contextlib.suppress(OSError):
                    os.unlink(path)


def files() -> list[tuple[str, int]]:
    """Every module of every kind and numba's files for it, with their sizes: regular files of this user
    only, in folders the cache would use (``cache info`` counts them, ``cache clear`` removes them)."""
    found = []
    if cache.problem_with(cache.directory()):
        return []
    for kind in KINDS:
        prefix = f"{kind.rstrip('s')}_"
        for where in (folder(kind), os.path.join(folder(kind), "__pycache__")):
            if cache.problem_with(where):
                continue
            with contextlib.suppress(OSError), os.scandir(where) as scan:
                for item in scan:
                    with contextlib.suppress(OSError):
                        info = item.stat(follow_symlinks=False)
                        getuid = getattr(os, "getuid", None)
                        mine = not getuid or info.st_uid == getuid()
                        if item.name.startswith(prefix) and stat.S_ISREG(info.st_mode) and mine:
                            found.append((item.path, info.st_size))
    return found


def modules() -> int:
    """How many compiled modules the cache holds."""
    return sum(1 for path, _ in files() if path.endswith(".py"))


def clear() -> int:
    """Remove every compiled module and numba's files for it; how many modules there were."""
    found = files()
    for path, _ in found:
        with contextlib.suppress(OSError):
            os.unlink(path)
    return sum(1 for path, _ in found if path.endswith(".py"))
