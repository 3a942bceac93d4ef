"""Benchmark figures as a Markdown file for the documentation (``--markdown FILE`` of the bench scripts).

The performance page includes these files, so its figures are the ones a script printed, never typed by hand.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    """Where the figures were taken: the date, the machine, the load, Python and the libraries that matter."""
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    versions = ", ".join(f"{p} {_version(p)}" for p in ("sympy", "numpy", "symengine"))
    return (
        f"{datetime.date.today().isoformat()}; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load}; Python {platform.python_version()}, {versions}"
    )


class Markdown:
    """A title, a line on how and where the figures were taken, and tables of rows."""

    def __init__(self, script: str, title: str) -> None:
        command = " ".join(["python", f"bench/{Path(script).name}", *sys.argv[1:]])
        self.lines = [f"**{title}** — written by `{command}` on {machine()}.", ""]

    def table(self, head: list[str], rows: list[list[str]], caption: str = "") -> None:
        if caption:
            self.lines += [caption, ""]
        self.lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        self.lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        self.lines.append("")

    def write(self, path: str | None) -> None:
        if path:
            Path(path).write_text("\n".join(self.lines).rstrip("\n") + "\n", encoding="utf-8")


class Tee:
    """Everything a script prints, also kept: ``Markdown.text_block`` puts it in the file as it was printed."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self._out = sys.stdout

    def write(self, text: str) -> int:
        self.kept.append(text)
        return self._out.write(text)

    def flush(self) -> None:
        self._out.flush()

    def __enter__(self) -> Tee:
        sys.stdout = self  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stdout = self._out

    @property
    def text(self) -> str:
        return "".join(self.kept).rstrip("\n")


def printed_as_markdown(script: str, title: str, body: Callable[[], None]) -> None:
    """Run ``body``; with ``--markdown FILE`` among the arguments, also write what it printed into FILE."""
    if "--markdown" not in sys.argv:
        body()
        return
    path = sys.argv[sys.argv.index("--markdown") + 1]
    with Tee() as printed:
        body()
    report = Markdown(script, title)
    report.lines += ["```text", printed.text, "```", ""]
    report.write(path)


def on_terminal(command: list[str], env: dict[str, str], *, stderr: bool = True) -> None:
    """Run ``command`` with a pseudo-terminal as its output (a table's real path), reading until it exits."""
    import pty
    import select
    import subprocess

    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        command,
        stdout=secondary,
        stderr=secondary if stderr else subprocess.DEVNULL,
        env={**env, "COLUMNS": "120", "TERM": "xterm-256color"},
    )
    os.close(secondary)
    while True:
        ready, _, _ = select.select([primary], [], [], 5)
        if not ready:
            break
        try:
            if not os.read(primary, 65536):
                break
        except OSError:  # the terminal closed: the command has exited
            break
    proc.wait()
    os.close(primary)
