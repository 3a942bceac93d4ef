"""Issue 23: printed runs take the compiled loop in blocks (symdescent/blocks.py) and print the same bytes."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from symdescent import blocks, compiled
from symdescent import run as run_module
from symdescent.cli import main
from symdescent.problem import make_problem
from symdescent.run import iterate

numba = pytest.importorskip("numba")

ROSENBROCK = "(1-x)^2 + 100*(y-x^2)^2"
METHODS = ["gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"]
FORMATS = ["csv", "tsv", "jsonl", "json", "table"]


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One cache folder for the module: each (function, method) loop is compiled once."""
    return str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def blocks_run(monkeypatch: pytest.MonkeyPatch, cache_home: str) -> list[int]:
    """Counts the compiled ``rows`` calls, so that a test knows the compiled loop really ran."""
    monkeypatch.setenv("XDG_CACHE_HOME", cache_home)
    monkeypatch.delenv("SYMDESCENT_CACHE", raising=False)
    real, calls = blocks.block_for, []

    def counted(lowered, method, name):
        function = real(lowered, method, name)

        def rows(*args):
            calls.append(args[2] - args[1])
            return function(*args)

        return rows

    monkeypatch.setattr(blocks, "block_for", counted)
    return calls


def output(loop: str, cache_home: str, *args: str) -> tuple[int, str, str]:
    env = {"SYMDESCENT_LOOP": loop, "XDG_CACHE_HOME": cache_home, "COLUMNS": "120", "LINES": "50", "TERM": "dumb"}
    result = CliRunner().invoke(main, ["run", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def same_bytes(blocks_run: list[int], cache_home: str, *args: str) -> str:
    python = output("python", cache_home, *args)
    blocks_run.clear()
    compiled_ = output("numba", cache_home, *args)
    assert blocks_run, "the compiled loop did not run"
    assert compiled_ == python
    return python[1]


# every output for gd (the fused loop's hand-over) and adam (the generic loop's, with state); two for the others
PAIRS = [(fmt, method) for method in ("gd", "adam") for fmt in FORMATS] + [
    (fmt, method) for method in METHODS if method not in ("gd", "adam") for fmt in ("csv", "json")
]


@pytest.mark.parametrize(("fmt", "method"), PAIRS)
def test_every_output_of_every_method_is_the_python_loops_byte_for_byte(fmt, method, blocks_run, cache_home) -> None:
    lr = "0.0002" if method in ("gd", "momentum", "nesterov") else "0.001"
    args = [ROSENBROCK, "--start", "-1.2,1", "--lr", lr, "--method", method, "--steps", "3000", "--format", fmt]
    out = same_bytes(blocks_run, cache_home, *args)
    assert out.count("\n") > (3000 if fmt != "table" else 20)
    thinned = same_bytes(blocks_run, cache_home, *args, "--every", "7")
    assert len(thinned) < len(out) or fmt == "table"  # the thinned table keeps 500 rows at each end


ENDINGS = [
    # (arguments, status): converged, diverged, max_steps, completed (tol 0), --maximize
    (["x^2 + 3*y^2 - x*y", "--start", "1,-2", "--lr", "0.01", "--tol", "1e-9", "--steps", "100000"], "converged"),
    ([ROSENBROCK, "--start", "-1.2,1", "--lr", "0.01", "--steps", "10000"], "diverged"),
    ([ROSENBROCK, "--start", "-1.2,1", "--lr", "0.0002", "--tol", "1e-12", "--steps", "4321"], "max_steps"),
    ([ROSENBROCK, "--start", "-1.2,1", "--lr", "0.0002", "--tol", "0", "--steps", "4321"], "completed"),
    (
        [
            "-(x-1)^2 - 2*(y+1)^2 + x*y/3",
            "--start",
            "3,3",
            "--lr",
            "0.01",
            "--maximize",
            "--tol",
            "1e-10",
            "--steps",
            "50000",
        ],
        "converged",
    ),
]


@pytest.mark.parametrize("method", ["gd", "adam", "momentum"])
@pytest.mark.parametrize(("args", "status"), ENDINGS)
def test_every_ending_is_printed_as_the_python_loop_prints_it(args, status, method, blocks_run, cache_home) -> None:
    if status == "diverged" and method == "adam":
        pytest.skip("adam's steps are at most about lr long: it does not overflow on these")
    if status == "diverged" and method != "gd":
        args = [*args[:4], "1", *args[5:]]  # a step size that makes these methods diverge too
    if method == "adam" and status == "converged":
        args = [*args, "--lr", "0.001"]
    for fmt in ("csv", "json"):
        out = same_bytes(blocks_run, cache_home, *args, "--method", method, "--format", fmt)
        if fmt == "json":
            assert json.loads(out)["status"] == status
    same_bytes(blocks_run, cache_home, *args, "--method", method, "--format", "jsonl", "--every", "7")


def test_the_steps_are_the_python_loops_across_block_ends(monkeypatch, blocks_run) -> None:
    """Small blocks whose ends fall between the printed steps: the same Steps, bit for bit."""
    monkeypatch.setattr(blocks, "MAX_ROWS", 13)
    for every in (1, 5, 7):
        monkeypatch.setenv("SYMDESCENT_LOOP", "numba")
        run = iterate(make_problem(ROSENBROCK.replace("^", "**")), (-1.2, 1.0), lr=0.0002, tol=0, max_steps=5000)
        mine = []
        for step in run.stream(every):
            assert run.last is step  # what the progress line and Ctrl-C read: the step just handed out
            mine.append(step)
        assert run.loop == "compiled" and max(blocks_run) <= 13 * every
        monkeypatch.setenv("SYMDESCENT_LOOP", "python")
        theirs = iterate(make_problem(ROSENBROCK.replace("^", "**")), (-1.2, 1.0), lr=0.0002, tol=0, max_steps=5000)
        kept = [s for s in theirs if s.step % every == 0 or s.step == 5000]
        assert [s for s in mine if s.step % every == 0 or s.step == 5000] == kept
        assert [s.step for s in mine] == sorted({s.step for s in mine})


def test_auto_takes_over_after_the_probe_and_keeps_short_runs_in_python(monkeypatch, blocks_run) -> None:
    monkeypatch.setattr(compiled, "PROBE_STEPS", 1_000)
    monkeypatch.setattr(run_module, "COMPILED_AFTER", 1_000)
    monkeypatch.setattr(compiled, "MIN_SECONDS", 0.0)
    monkeypatch.setattr(compiled, "MIN_SECONDS_TO_COMPILE", 0.0)
    monkeypatch.setenv("SYMDESCENT_LOOP", "auto")
    for method in ("gd", "adam"):
        run = iterate(
            make_problem(ROSENBROCK.replace("^", "**")), (-1.2, 1.0), lr=0.0002, tol=0, max_steps=20_000, method=method
        )
        mine = list(run.stream())
        assert run.loop == "compiled"
        monkeypatch.setenv("SYMDESCENT_LOOP", "python")
        assert mine == list(iterate(make_problem(ROSENBROCK.replace("^", "**")), (-1.2, 1.0), lr=0.0002, tol=0,
                                    max_steps=20_000, method=method))  # fmt: skip
        monkeypatch.setenv("SYMDESCENT_LOOP", "auto")
    short = iterate(make_problem(ROSENBROCK.replace("^", "**")), (-1.2, 1.0), lr=0.0002, tol=0, max_steps=1_000)
    list(short.stream())
    assert short.loop == "fused"


def test_the_rows_loop_is_kept_in_the_cache(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("SYMDESCENT_CACHE", raising=False)
    monkeypatch.setattr(compiled, "_LOADED", {})
    monkeypatch.setenv("SYMDESCENT_LOOP", "numba")
    lowered = make_problem("x**2 + 3*y**2 + x*y").engine.lowered
    assert not compiled._in_cache(lowered, "adam", "rows")
    list(iterate(make_problem("x**2 + 3*y**2 + x*y"), (1.0, 2.0), method="adam", tol=0, max_steps=2000).stream())
    assert compiled._in_cache(lowered, "adam", "rows") and not compiled._in_cache(lowered, "adam", "block")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_compiled_run_streams_and_ctrl_c_ends_it_with_whole_lines(fmt: str, tmp_path: Path) -> None:
    """Through a real program: rows reach the pipe while the run goes on; SIGINT: exit 130, every line whole."""
    env = {
        **os.environ,
        "SYMDESCENT_LOOP": "numba",
        "XDG_CACHE_HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    args = [ROSENBROCK, "--start", "-1.2,1", "--lr", "0.0001", "--tol", "0", "--steps", "100000000", "--format", fmt]
    command = [sys.executable, "-m", "symdescent", "run", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    seen = [proc.stdout.readline() for _ in range(20_000)]  # the compiled loop's rows, long before its end
    assert proc.poll() is None
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    rest, stderr = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    text = "".join(seen) + rest
    assert text.endswith("\n")
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert all(len(row) == 7 for row in rows) and "interrupted" in stderr
        numbers = [int(row[0]) for row in rows[1:]]
    else:
        lines = [json.loads(line) for line in text.splitlines()]
        assert (lines[-1]["event"], lines[-1]["status"]) == ("result", "interrupted")
        numbers = [line["step"] for line in lines[:-1]]
        assert lines[-1]["steps"] == numbers[-1]
    assert numbers == list(range(len(numbers))) and len(numbers) > 20_000


def test_a_stop_that_a_ctypes_callback_would_lose_is_held_and_delivered(monkeypatch) -> None:
    """numba compiles through ctypes callbacks from LLVM: a KeyboardInterrupt raised in one is printed
    ("Exception ignored …") and dropped, and a Ctrl-C during a loop's compilation let a 10⁸-step run go on
    to its end (exit 0, seen in CI). ``signals_held`` around the first call delivers it afterwards."""
    import ctypes

    from symdescent.interruptible import signals_held

    def busy() -> None:
        signal.raise_signal(signal.SIGINT)
        sum(range(1000))  # bytecodes: the handler runs here, inside the callback

    lost: list[type[BaseException]] = []  # what Python reports as "Exception ignored …"
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: lost.append(unraisable.exc_type))
    callback = ctypes.CFUNCTYPE(None)(busy)
    callback()  # no hold: the stop is lost
    assert lost == [KeyboardInterrupt]
    reached = []
    with pytest.raises(KeyboardInterrupt), signals_held():
        callback()
        reached.append("after the callback")
    assert reached == ["after the callback"] and lost == [KeyboardInterrupt]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the usual handler is back


def test_a_short_printed_run_does_not_even_import_the_compiled_loop() -> None:
    assert run_module.COMPILED_AFTER == compiled.PROBE_STEPS
    code = (
        "import sys; from symdescent.run import iterate; "
        "r = iterate('x**2 + y**2', (1.0, 2.0), tol=0, max_steps=100_000); list(r.stream()); "
        "print(r.loop, 'symdescent.compiled' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "SYMDESCENT_LOOP": "auto"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["fused", "False"]
