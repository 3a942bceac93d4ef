"""Start-up: the four whole-command goals of a shell user, each against its interpreter baseline.

Run from a checkout with the package installed: ``python bench/bench_startup.py [--repeats N]
[--against CHECKOUT] [--markdown FILE]`` (``--markdown``: also write what it prints into FILE, for
the documentation; ``--against``: also time another checkout of symdescent, interleaved in the same
rounds, to compare before and after a change).

Timed as a shell script sees them (wall time of a subprocess; the median of REPEATS, every
command once per round, so that load from other processes hits all of them alike):

* a warm run: the seed example, its function already in a private temporary cache, piped (CSV)
  and on a terminal (a pseudo-terminal, so the table is drawn), against ``python -c "import click, rich"``;
* ``symdescent --help`` against the same;
* a cold run: the seed example with a fresh, empty cache (it also writes its entry), against
  ``python -c "import sympy"``.

``--instructions`` also counts the instructions each command executes (``valgrind --tool=callgrind``, one run
each): unlike wall time, the count does not move with the load of a shared machine.

Also checked with ``python -X importtime``: ``--help`` and a usage error do not import SymPy,
and a warm CSV run and a warm table run (piped: ``--format table``) import neither SymPy, Rich nor numpy.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from report import on_terminal, printed_as_markdown

PYTHON = sys.executable
SCRIPT = Path(PYTHON).parent / "symdescent"
SYMDESCENT = [str(SCRIPT)] if SCRIPT.exists() else [PYTHON, "-m", "symdescent"]
SEED = ["run", "x**2+y**2", "--start", "1,2", "--lr", "0.1"]
CLICK_RICH = [PYTHON, "-c", "import click, rich"]
SYMPY = [PYTHON, "-c", "import sympy"]
BASE_CLICK = 'python -c "import click, rich"'
BASE_SYMPY = 'python -c "import sympy"'

#: label, baseline, goal (issue 23: at the physical limits)
GOALS = [
    ("warm run, piped (csv)", BASE_CLICK, 1.5),
    ("warm run, terminal (table)", BASE_CLICK, 2.0),
    ("symdescent --help", BASE_CLICK, 1.2),
    ("cold run (empty cache)", BASE_SYMPY, 1.2),
]

#: A user's environment: bytecode cached on disk, buffered output (a CI shell may set these two).
CLEAN = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")}


def wall(command: list[str], env: dict[str, str], *, terminal: bool = False) -> float:
    """Wall time of one run, its output read from a pipe (or a pseudo-terminal)."""
    t0 = time.perf_counter()
    if terminal:
        on_terminal(command, env)
    else:
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, check=False)
        if proc.returncode != 0:  # a timing of a failure is no timing
            raise SystemExit(f"{' '.join(command)} failed with exit code {proc.returncode}")
    return time.perf_counter() - t0


def instructions(command: list[str], env: dict[str, str], *, terminal: bool = False) -> int:
    """Instructions one run executes, counted by callgrind (the command's own process only)."""
    with tempfile.NamedTemporaryFile("r", suffix=".log") as log:
        counted = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={log.name}"]
        if terminal:
            on_terminal([*counted, *command], env)
        else:
            subprocess.run([*counted, *command], capture_output=True, env=env, check=False)
        found = re.search(r"Collected : (\d+)", log.read())
    if not found:
        raise SystemExit(f"valgrind counted nothing for {' '.join(command)}")
    return int(found.group(1))


def imported(command: list[str], env: dict[str, str]) -> set[str]:
    """Top-level packages a command imports (from ``-X importtime``)."""
    script = command[1:] if command[0] == PYTHON else command
    proc = subprocess.run([PYTHON, "-X", "importtime", *script], capture_output=True, text=True, env=env, check=False)
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def commands(checkout: str | None, scratch: str) -> dict[str, Callable[[], float]]:
    """The four timed commands of one checkout (``None``: the installed or PYTHONPATH one)."""
    env = dict(CLEAN)
    if checkout is not None:
        env["PYTHONPATH"] = checkout
    warm_home = tempfile.mkdtemp(dir=scratch)
    warm = {**env, "XDG_CACHE_HOME": warm_home}
    subprocess.run([*SYMDESCENT, *SEED], capture_output=True, env=warm, check=True)

    def cold() -> float:  # a fresh, empty cache every time: the run also writes its entry
        return wall([*SYMDESCENT, *SEED], {**env, "XDG_CACHE_HOME": tempfile.mkdtemp(dir=scratch)})

    return {
        GOALS[0][0]: lambda: wall([*SYMDESCENT, *SEED], warm),
        GOALS[1][0]: lambda: wall([*SYMDESCENT, *SEED], warm, terminal=True),
        GOALS[2][0]: lambda: wall([*SYMDESCENT, "--help"], env),
        GOALS[3][0]: cold,
    }


def counted(scratch: str) -> dict[str, int]:
    """The instructions of the baselines and of the four commands (this checkout), one run each."""
    warm = {**CLEAN, "XDG_CACHE_HOME": tempfile.mkdtemp(dir=scratch)}
    subprocess.run([*SYMDESCENT, *SEED], capture_output=True, env=warm, check=True)
    cold = {**CLEAN, "XDG_CACHE_HOME": tempfile.mkdtemp(dir=scratch)}
    return {
        BASE_CLICK: instructions(CLICK_RICH, CLEAN),
        BASE_SYMPY: instructions(SYMPY, CLEAN),
        GOALS[0][0]: instructions([*SYMDESCENT, *SEED], warm),
        GOALS[1][0]: instructions([*SYMDESCENT, *SEED], warm, terminal=True),
        GOALS[2][0]: instructions([*SYMDESCENT, "--help"], CLEAN),
        GOALS[3][0]: instructions([*SYMDESCENT, *SEED], cold),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--against", metavar="CHECKOUT", help="also time this checkout (before a change)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions (needs valgrind)")
    parser.add_argument("--markdown", metavar="FILE", help="also write what is printed into FILE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        timed: dict[str, Callable[[], float]] = {
            BASE_CLICK: lambda: wall(CLICK_RICH, CLEAN),
            BASE_SYMPY: lambda: wall(SYMPY, CLEAN),
        }
        timed.update(commands(None, scratch))
        if args.against:
            timed.update({f"{name} [against]": run for name, run in commands(args.against, scratch).items()})
        times: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(args.repeats):
            for name, run in timed.items():
                times[name].append(run())
        median = {name: statistics.median(values) for name, values in times.items()}
        print(f"start-up, median of {args.repeats} wall times, every command once per round")
        head = f"  {'symdescent':<28} {'ms':>6}   {'baseline':<32} {'ms':>6}   ratio   goal"
        print(head + ("   against" if args.against else ""))
        for name, base, goal in GOALS:
            ratio = median[name] / median[base]
            verdict = "yes" if ratio <= goal else "NO"
            line = f"  {name:<28} {median[name] * 1e3:6.0f}   {base:<32} {median[base] * 1e3:6.0f}   {ratio:5.2f}x"
            line += f"  <= {goal} {verdict}"
            if args.against:
                line += f"   {median[name + ' [against]'] / median[base]:5.2f}x"
            print(line)
        if args.instructions:
            if not shutil.which("valgrind"):
                raise SystemExit("--instructions needs valgrind")
            count = counted(scratch)
            print("instructions executed (callgrind, one run each: independent of the machine's load)")
            for name, base, goal in GOALS:
                ratio = count[name] / count[base]
                verdict = "yes" if ratio <= goal else "NO"
                print(f"  {name:<28} {count[name] / 1e6:6.0f} M   {base:<32} {count[base] / 1e6:6.0f} M   "
                      f"{ratio:5.2f}x  <= {goal} {verdict}")  # fmt: skip
        warm_home = tempfile.mkdtemp(dir=scratch)
        warm = {**CLEAN, "XDG_CACHE_HOME": warm_home}
        subprocess.run([*SYMDESCENT, *SEED], capture_output=True, env=warm, check=True)
        warm_csv = imported([*SYMDESCENT, *SEED], warm)
        warm_table = imported([*SYMDESCENT, *SEED, "--format", "table"], warm)
        checks = [
            ("--help imports sympy", "sympy" in imported([*SYMDESCENT, "--help"], CLEAN)),
            ("a usage error imports sympy", "sympy" in imported([*SYMDESCENT, "run", "x"], CLEAN)),
            ("a warm csv run imports sympy, rich or numpy", bool(warm_csv & {"sympy", "rich", "numpy"})),
            ("a warm table run imports sympy, rich or numpy", bool(warm_table & {"sympy", "rich", "numpy"})),
        ]
        for what, happened in checks:
            print(f"  {what}: {'yes (goal missed)' if happened else 'no'}")


if __name__ == "__main__":
    printed_as_markdown(__file__, "Start-up: warm and cold runs and --help against the interpreter", main)
