"""The edges of the output, with real processes: a reader that left, a closed or full stdout, SIGTERM.

Each test starts its processes at once and then waits for all of them, so
that the few seconds of start-up are paid in parallel.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from conftest import ROSENBROCK, SEED

LONG = [ROSENBROCK, "--start", "-1.2,1", "--lr", "1e-4", "--tol", "0", "--steps", "100000000"]
FORMATS = [*(["--format", fmt] for fmt in ("table", "csv", "tsv", "json", "jsonl")), ["-q"]]


def test_a_reader_that_went_away_gives_141_in_every_format(executable: Path) -> None:
    procs = []
    for fmt in FORMATS:
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader has gone before the first byte is written
        procs.append(
            subprocess.Popen(
                [str(executable), "run", SEED, "--start", "1,2", *fmt],
                stdout=write_end,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        os.close(write_end)
    for fmt, proc in zip(FORMATS, procs, strict=True):
        _, err = proc.communicate(timeout=60)
        assert (proc.returncode, err) == (141, ""), fmt


def test_a_reader_that_leaves_unread_output_gives_141(executable: Path) -> None:
    # A long table through `| head -1`: the writes after head left fail, or are cut short silently.
    shell = (
        f"'{executable}' run '{SEED}' --start 1,2 --tol 0 --steps 20000 --every 1 | head -1; echo ${{PIPESTATUS[0]}}"
    )
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60)
    assert proc.stdout.splitlines()[-1] == "141"
    assert proc.stderr == ""


#: The same long run on a vector: the array back-end keeps the same promises (issue "one program", point 9).
LONG_VECTOR = ["sum((x-1)^2)", "--start", "x=zeros(5)", "--lr", "1e-9", "--tol", "0", "--steps", "10000000"]


def wait_until_full(fd: int) -> None:
    """Until the pipe holds all it can (the writer is blocked), polled; a second where that cannot be asked."""
    if not hasattr(fcntl, "F_GETPIPE_SZ"):  # Linux only
        time.sleep(1.0)
        return
    capacity = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
        if waiting >= capacity - 4096:  # less than a page free: the next whole line does not fit
            return
        time.sleep(0.01)


@pytest.mark.parametrize("long", [LONG, LONG_VECTOR], ids=["scalars", "vector"])
def test_sigterm_with_a_slow_reader_writes_whole_lines_and_exits_143(executable: Path, long: list[str]) -> None:
    procs = {
        fmt: subprocess.Popen(
            [str(executable), "run", *long, "--format", fmt], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for fmt in ("json", "jsonl")
    }
    # under way once the first byte is out; from now on nobody reads, so json and jsonl block in a write
    first = {fmt: os.read(proc.stdout.fileno(), 1) for fmt, proc in procs.items() if proc.stdout is not None}
    for proc in procs.values():
        assert proc.stdout is not None
        wait_until_full(proc.stdout.fileno())
    for proc in procs.values():
        proc.send_signal(signal.SIGTERM)
    out = {}
    for fmt, proc in procs.items():
        rest, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, (fmt, err)
        out[fmt] = (first[fmt] + rest).decode()
    data = json.loads(out["json"])
    assert data["status"] == "interrupted"
    assert [h["step"] for h in data["history"]] == list(range(data["steps"] + 1))
    lines = [json.loads(line) for line in out["jsonl"].splitlines()]  # every line whole, none twice
    assert [line["step"] for line in lines[:-1]] == list(range(len(lines) - 1))
    assert (lines[-1]["event"], lines[-1]["status"]) == ("result", "interrupted")


@pytest.mark.parametrize(
    ("redirect", "reason"),
    [(">&-", "standard output is closed"), (">/dev/full", "No space left on device")],
)
def test_a_closed_or_full_stdout_is_one_error_line(executable: Path, redirect: str, reason: str) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    shell = f"'{executable}' run '{SEED}' --start 1,2 --format json {redirect}"
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == f"Error: cannot write the output: {reason}\n"
