"""Run every ``$ symdescent …`` example in README.md and docs/ and write its real output back into the page.

    python docs/update_examples.py          # rewrite the outputs in place
    python docs/update_examples.py --check  # exit 1 and name the examples whose output differs

An example is a fenced ``console`` block: each line that starts with ``$ `` is a command, the lines up to the
next command are its output (stdout and stderr as a terminal shows them, the table as it is printed into a
pipe). Commands are ``symdescent ARGS``, optionally ending in ``; echo $?`` (the exit code is printed after
the output), and ``cat FILE``. They run in-process with Click's test runner, in a fresh copy of
docs/examples/ with an empty cache, ``COLUMNS=100`` and one thread, so the files a page names are the repository's
own. tests/test_docs.py runs the same examples and compares after :func:`normalise` (times vary).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
WIDTH = "100"
#: A fixed width, and one thread: the kernel engine's sums of f and ‖∇f‖ depend on how many threads add them.
ENV = {"COLUMNS": WIDTH, "NO_COLOR": "1", "SYMDESCENT_THREADS": "1"}
FENCE = re.compile(r"^```console[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
ECHO_STATUS = "; echo $?"

#: Durations vary from run to run: "27 ms", "1.48 s", "812 µs" and JSON's "seconds": 0.0123.
DURATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)? ?(?:ns|µs|us|ms|s)\b")
SECONDS = re.compile(r'("seconds": )[-\d.e]+')


@dataclass(frozen=True)
class Command:
    """One ``$ …`` line of a page and the output the page shows for it."""

    page: Path
    line: int  # 1-based line of the command in the page
    text: str  # the command as typed, without "$ "
    shown: str  # the output the page shows (no trailing newline)

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _split(block: str) -> Iterator[tuple[int, str, str]]:
    """(offset of the command's line in the block, command, output) for each ``$ `` line of a block."""
    lines = block.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        yield start, lines[start][2:], "\n".join(lines[start + 1 : end])


def commands(page: Path) -> list[Command]:
    """Every command of every console block of a page."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        first = text.count("\n", 0, match.start(1)) + 1
        for offset, command, shown in _split(match.group(1)):
            found.append(Command(page, first + offset, command, shown))
    return found


def all_commands() -> list[Command]:
    return [command for page in pages() for command in commands(page)]


def run(command: str, folder: Path) -> str:
    """The output of one command run in ``folder``, as a terminal would show it (no trailing newline)."""
    from click.testing import CliRunner

    from symdescent.cli import main

    echo = command.endswith(ECHO_STATUS)
    words = shlex.split(command.removesuffix(ECHO_STATUS))
    if words[0] == "cat":
        return "\n".join((folder / name).read_text(encoding="utf-8").rstrip("\n") for name in words[1:])
    if words[0] != "symdescent":
        raise ValueError(f"an example runs symdescent or cat, not {words[0]!r}: {command}")
    here = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(main, words[1:], env=ENV, catch_exceptions=False)
    finally:
        os.chdir(here)
    output = result.output.rstrip("\n")
    if echo:
        output = f"{output}\n{result.exit_code}" if output else str(result.exit_code)
    elif result.exit_code != 0:
        raise RuntimeError(f"{command!r} exited with {result.exit_code} (end it with {ECHO_STATUS!r}):\n{output}")
    return output


def normalise(text: str) -> str:
    """Output with durations replaced and runs of spaces and rules squeezed (a time's width moves columns)."""
    text = SECONDS.sub(r"\1<seconds>", text)
    text = DURATION.sub("<time>", text)
    text = re.sub(r" {2,}", " ", text)
    text = re.sub(r"─+", "─", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


class Workspace:
    """A fresh copy of docs/examples/ and an empty cache, for the examples of one run."""

    def __enter__(self) -> Path:
        self._tmp = tempfile.TemporaryDirectory(prefix="symdescent-docs-")
        folder = Path(self._tmp.name) / "examples"
        shutil.copytree(EXAMPLES, folder)
        self._cache = os.environ.get("XDG_CACHE_HOME")
        if self._cache is None:  # the tests give the session a private cache already
            os.environ["XDG_CACHE_HOME"] = str(Path(self._tmp.name) / "cache")
        return folder

    def __exit__(self, *exc: object) -> None:
        if self._cache is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        self._tmp.cleanup()


def update(page: Path, folder: Path) -> int:
    """Rewrite the outputs of one page in place; the number of outputs that changed."""
    lines = page.read_text(encoding="utf-8").split("\n")
    changed = 0
    for command in reversed(commands(page)):  # from the end, so earlier line numbers stay right
        output = run(command.text, folder)
        if normalise(output) == normalise(command.shown):  # only the times differ: leave the page alone
            continue
        changed += 1
        start = command.line  # the command is lines[start - 1]; its output follows
        end = start + (command.shown.count("\n") + 1 if command.shown else 0)
        lines[start:end] = output.split("\n") if output else []
    if changed:
        page.write_text("\n".join(lines), encoding="utf-8")
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report the examples whose output differs")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    stale = 0
    with Workspace() as folder:
        for page in pages():
            if args.check:
                for command in commands(page):
                    if normalise(run(command.text, folder)) != normalise(command.shown):
                        print(f"{command.name}: $ {command.text}", file=sys.stderr)
                        stale += 1
            else:
                changed = update(page, folder)
                if changed:
                    print(f"{page.relative_to(ROOT)}: {changed} output(s) rewritten")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
