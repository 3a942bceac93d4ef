"""Peak memory of `symdescent run` by number of steps and output format: it should not grow with the steps.

    python bench/bench_memory.py                 # 10^4 and 10^6 steps, every format
    python bench/bench_memory.py --steps 1e4 1e7 --formats q csv
    python bench/bench_memory.py --markdown docs/performance/memory.md   # also as Markdown, for the docs

Each run is a separate process (the installed ``symdescent`` next to this
interpreter); its peak resident memory comes from ``os.wait4`` (the child's
rusage), the figure ``/usr/bin/time -v`` reports. Output goes to
/dev/null. POSIX only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from report import Markdown

FUNCTION = "(1-x)^2+100*(y-x^2)^2"
FORMATS = {
    "q": ["-q"],
    "csv": ["--format", "csv"],
    "tsv": ["--format", "tsv"],
    "jsonl": ["--format", "jsonl"],
    "json": ["--format", "json"],
    "table": ["--format", "table"],
}


def peak_rss_mib(command: list[str]) -> tuple[float, float, int]:
    """Peak RSS (MiB) and wall time of one child process, and its exit code."""
    started = time.perf_counter()
    to_devnull = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
    pid = os.posix_spawn(command[0], command, os.environ, file_actions=to_devnull)
    _, status, usage = os.wait4(pid, 0)
    return usage.ru_maxrss / 1024, time.perf_counter() - started, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", nargs="+", default=["1e4", "1e6"])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=list(FORMATS))
    parser.add_argument("--markdown", metavar="FILE", help="also write the figures as a Markdown table")
    args = parser.parse_args()
    executable = str(Path(sys.executable).parent / "symdescent")
    counts = [int(float(s)) for s in args.steps]
    print(f"peak RSS in MiB (wall time) of: symdescent run {FUNCTION!r} --lr 1e-4 --tol 0 --steps N")
    print(f"{'format':<8}" + "".join(f"{f'N = {n:.0e}':>22}" for n in counts))
    rows = []
    for name in args.formats:
        cells, md = [], []
        for n in counts:
            command = [executable, "run", FUNCTION, "--start", "-1.2,1", "--lr", "1e-4", "--tol", "0"]
            mib, seconds, code = peak_rss_mib([*command, "--steps", str(n), *FORMATS[name]])
            cells.append(f"{mib:8.1f} ({seconds:6.1f} s)" + ("" if code == 0 else f" exit {code}"))
            md.append(f"{mib:.0f} MiB ({seconds:.1f} s)" + ("" if code == 0 else f", exit {code}"))
        print(f"{name:<8}" + "".join(f"{c:>22}" for c in cells))
        rows.append(["`-q`" if name == "q" else f"`--format {name}`", *md])
    report = Markdown(__file__, "Peak memory does not grow with the steps, in any format")
    caption = f"Peak RSS (wall time) of `symdescent run {FUNCTION!r} --lr 1e-4 --tol 0 --steps N`:"
    report.table(["format", *(f"N = {n:.0e}" for n in counts)], rows, caption)
    report.write(args.markdown)


if __name__ == "__main__":
    main()
