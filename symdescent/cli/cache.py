"""``symdescent cache info|clear``, and how ``run`` takes its problem from the cache.

``run`` asks :func:`problem_for_run` for its problem: from the cache when an
earlier run compiled the same function (no SymPy import at all), else built
from the text as always; either way it gets back a ``remember`` to call once
the run is done, which stores what was compiled for the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from symdescent.cli.commands import SUMMARIES
from symdescent.cli.helptext import FittingGroup
from symdescent.cli.plumbing import (
    CONTEXT,
    Streams,
    handle_errors,
    lookalike_warnings,
    problem_from_text,
    read_function,
    say,
)

if TYPE_CHECKING:
    from symdescent.problem import Problem
    from symdescent.warm import CachedProblem

NO_CACHE_HELP = "Do not use the cache of compiled functions (also SYMDESCENT_CACHE=0)."


def problem_for_run(
    expr: str, variables: str | None, params: str | None, streams: Streams, *, use_cache: bool
) -> tuple[Problem | CachedProblem, Callable[[], None]]:
    """The problem to run, and a function that stores what the run compiled (a no-op without the cache)."""
    from symdescent import cache

    text = read_function(expr, streams)

    def build() -> Problem:
        from symdescent.sympy_startup import defer_tensor_module

        defer_tensor_module()
        return problem_from_text(text, variables, params)

    if not (use_cache and cache.enabled()):
        return build(), _nothing
    from symdescent import warm

    key = warm.key(text, variables, params)
    loaded = warm.load(key, build)
    if loaded is None:
        problem = build()
        return problem, lambda: warm.remember(problem, key, notes_on(problem, variables))
    for line in loaded.notes.get("warnings", []):
        say(line)
    return loaded, lambda: warm.remember(loaded, key)


def notes_on(problem: Problem, variables: str | None) -> dict[str, list[str]]:
    """What ``run`` says about a function that takes SymPy to find out, kept in the cache for warm runs.

    The typo warnings (printed as the problem is built, only without --vars) and the
    variables f is linear in (named when a run ends without a minimum).
    """
    from symdescent.run import linear_variables

    warnings = [f"Warning: {note}" for note in problem.parse_notes]
    warnings += lookalike_warnings(problem.names) if variables is None else []
    return {"warnings": warnings, "linear_in": linear_variables(problem)}


def _nothing() -> None:
    return None


@click.group("cache", cls=FittingGroup, context_settings=CONTEXT, short_help=SUMMARIES["cache"])
def cache_group() -> None:
    """The cache of compiled functions: a run of a function compiled before skips SymPy.

    \b
    It lives in $XDG_CACHE_HOME/symdescent (else the platform's cache
    directory), keeps the least recently used entries up to a bound, and is
    safe to delete at any time. SYMDESCENT_CACHE=0 or run --no-cache turn it off.
    """


@cache_group.command("info", context_settings=CONTEXT)
@handle_errors
def info() -> None:
    """Where the cache is, whether it is used, and how much it holds.

    Only entries a run would use are counted (nothing in a directory that is a
    symbolic link, another user's, or writable by others).
    """
    from symdescent import cache, numba_files

    about = cache.info()
    compiled = numba_files.files()
    state = "on" if about.enabled else "off (SYMDESCENT_CACHE is set to turn it off)"
    if about.problem:
        state = f"not used: {about.problem}"
    click.echo(f"directory  {about.path}")
    click.echo(f"state      {state}")
    click.echo(f"entries    {about.entries} of at most {cache.MAX_ENTRIES} ({_size(about.size)})")
    count, size = sum(1 for path, _ in compiled if path.endswith(".py")), sum(s for _, s in compiled)
    click.echo(f"compiled   {count} numba {'module' if count == 1 else 'modules'} ({_size(size)})")


@cache_group.command("clear", context_settings=CONTEXT)
@handle_errors
def clear() -> None:
    """Delete every entry and compiled module (the next run of each function compiles it again).

    \b
    Only what the cache made is removed: entries that pass the checks a run
    makes before using one. A cache directory that is a symbolic link,
    belongs to another user or others can write is left alone (exit 2).
    """
    from symdescent import cache, numba_files

    removed = cache.clear()
    modules = numba_files.clear()
    entries = f"{removed} {'entry' if removed == 1 else 'entries'}"
    if modules:
        entries += f" and {modules} compiled {'module' if modules == 1 else 'modules'}"
    click.echo(f"removed {entries} from {cache.directory()}")


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    return f"{size / 1000:.1f} kB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"


COMMAND = cache_group
