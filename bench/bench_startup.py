"""Goal 2: start-up. ``symdescent --help`` against ``python -c "import click, rich"``, and the
seed example end to end against ``python -c "import sympy"``.

Run from a checkout with the package installed: ``python bench/bench_startup.py`` (``--markdown FILE``:
also write what it prints into FILE, for the documentation).

Each command runs REPEATS times, interleaved with its baseline, and the best wall time of
each is compared. Also checked: ``--help`` and a usage error do not import SymPy, and the
seed example does not import numpy (``python -X importtime``).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

from report import printed_as_markdown

REPEATS = 15
PYTHON = sys.executable
SCRIPT = Path(PYTHON).parent / "symdescent"
SYMDESCENT = [str(SCRIPT)] if SCRIPT.exists() else [PYTHON, "-m", "symdescent"]
SEED = ["run", "x**2+y**2", "--start", "1,2", "--lr", "0.1"]
CLICK_RICH = [PYTHON, "-c", "import click, rich"]
SYMPY = [PYTHON, "-c", "import sympy"]

PAIRS = [
    ("symdescent --help", [*SYMDESCENT, "--help"], 'python -c "import click, rich"', CLICK_RICH, 1.3),
    ("seed example, end to end", [*SYMDESCENT, *SEED], 'python -c "import sympy"', SYMPY, 1.25),
]


#: Cold runs: no compiled-function cache (bench/bench_cache.py times warm runs), bytecode cached on disk
#: and buffered output as for a user (a CI shell may set these two).
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")}
ENV["SYMDESCENT_CACHE"] = "0"


def wall(command: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=False)
    return time.perf_counter() - t0


def imported(command: list[str]) -> set[str]:
    """Top-level packages a command imports (from ``-X importtime``)."""
    script = command[1:] if command[0] == PYTHON else command
    proc = subprocess.run([PYTHON, "-X", "importtime", *script], capture_output=True, text=True, env=ENV, check=False)
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def main() -> None:
    best = {name: math.inf for pair in PAIRS for name in (pair[0], pair[2])}
    for _ in range(REPEATS):
        for ours, ours_cmd, theirs, theirs_cmd, _goal in PAIRS:
            best[ours] = min(best[ours], wall(ours_cmd))
            best[theirs] = min(best[theirs], wall(theirs_cmd))
    print(f"start-up, best of {REPEATS} (wall time)")
    print(f"  {'symdescent':<28} {'ms':>6}   {'baseline':<32} {'ms':>6}   ratio   goal")
    for ours, _, theirs, _, goal in PAIRS:
        ratio = best[ours] / best[theirs]
        print(
            f"  {ours:<28} {best[ours] * 1e3:6.0f}   {theirs:<32} {best[theirs] * 1e3:6.0f}   {ratio:5.2f}x  <= {goal}"
        )
    checks = [
        ("--help imports sympy", "sympy" in imported([*SYMDESCENT, "--help"])),
        ("a usage error imports sympy", "sympy" in imported([*SYMDESCENT, "run", "x"])),
        ("the seed example imports numpy", "numpy" in imported([*SYMDESCENT, *SEED])),
    ]
    for what, happened in checks:
        print(f"  {what}: {'yes (goal missed)' if happened else 'no'}")


if __name__ == "__main__":
    printed_as_markdown(__file__, "Start-up: --help and the seed example, no cache", main)
