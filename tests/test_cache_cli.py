"""The cache through the command line: identical output warm and cold, no SymPy when warm, the switches."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROSENBROCK, cli, run_installed
from hypothesis import given
from hypothesis import strategies as st

from symdescent import cache
from symdescent.layout import Layout
from symdescent.render.delimited import DelimitedRenderer, header, row
from symdescent.result import Step

FORMATS = [["--format", "table"], ["--format", "csv"], ["--format", "tsv"], ["--format", "json"], ["--format", "jsonl"]]
FORMATS += [["-q"], ["--format", "table", "--every", "7"], ["--format", "json", "--every", "3"]]

RUNS = [
    ["x**2+y**2", "--start", "1,2", "--lr", "0.1"],
    [ROSENBROCK, "--start=-1.2,1", "--lr", "0.001", "--steps", "300"],
    [ROSENBROCK, "--start", "x=-1.2,y=1", "--method", "newton"],
    [ROSENBROCK, "--start=-1.2,1", "--method", "adam", "--lr", "0.05", "--steps", "120", "--beta1", "0.8"],
    [ROSENBROCK, "--start=-1.2,1", "--method", "cg"],
    ["x**4-3*x", "--start", "1", "--method", "exact-line", "--steps", "20"],
    ["-(x-1)**2-y**2", "--start", "0,1", "--maximize"],
    ["a*x**2+b*y**2", "--vars", "y,x", "--param", "a=2,b=1/2", "--start", "1,2"],
    ["log(x)", "--start", "1", "--lr", "1"],  # diverges: the message names log(x), which needs SymPy
    ["exp(x)", "--start", "1", "--lr", "10", "--steps", "100"],  # overflows
    ["sin(x)*cos(y)", "--start", "pi/4,1/3", "--lr", "1/10", "--tol", "1e-9"],  # values only the parser reads
    ["x1**2+x2**2+x3**2+x4**2+x5**2+x6**2+x7**2", "--start", "1,2,3,4,5,6,7", "--steps", "30"],
    ["yy**2+y**2+sinx**2", "--start", "1,1,1"],  # typo warnings on stderr, repeated from the cache
    ["x+y**2", "--start", "1,1", "--steps", "5"],  # step limit: the note that f is linear in x
]


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("SYMDESCENT_CACHE", raising=False)
    return tmp_path / "symdescent"


def outcome(*args: str) -> tuple[int, str, str]:
    out = cli("run", *args)
    return out.exit_code, out.stdout, out.stderr


@pytest.mark.parametrize("run", RUNS, ids=[r[0][:20] + " " + " ".join(r[1:])[:40] for r in RUNS])
def test_every_format_prints_the_same_with_and_without_the_cache(private_cache: Path, run: list[str]) -> None:
    without = [outcome(*run, *fmt, "--no-cache") for fmt in FORMATS]
    assert cache.info(private_cache).entries == 0
    cold = [outcome(*run, *fmt) for fmt in FORMATS[:1]]  # stores the entry
    assert cache.info(private_cache).entries == 1
    warm = [outcome(*run, *fmt) for fmt in FORMATS]
    assert cold[0] == without[0]
    for fmt, a, b in zip(FORMATS, without, warm, strict=True):
        assert a == b, fmt


def test_a_damaged_entry_is_rebuilt_and_the_output_does_not_change(private_cache: Path) -> None:
    run = ["x**2+y**2", "--start", "1,2", "--format", "json"]
    expected = outcome(*run)
    (entry,) = private_cache.iterdir()
    entry.write_bytes(entry.read_bytes()[:-20])
    assert outcome(*run) == expected
    assert cache.load(entry.name.removesuffix(cache.SUFFIX), private_cache) is not None  # rebuilt


def test_no_cache_and_the_environment_switch_write_nothing(
    private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome("x**2", "--start", "1", "--no-cache")
    monkeypatch.setenv("SYMDESCENT_CACHE", "0")
    outcome("x**2", "--start", "1")
    assert not private_cache.exists()
    monkeypatch.setenv("SYMDESCENT_CACHE", "1")
    outcome("x**2", "--start", "1")
    assert cache.info(private_cache).entries == 1


def test_exact_runs_do_not_touch_the_cache(private_cache: Path) -> None:
    outcome("x**2", "--start", "1", "--exact", "--steps", "3")
    outcome("x**2", "--start", "1", "--working-precision", "30", "--steps", "3")
    assert not private_cache.exists()


def test_cache_info_and_clear(private_cache: Path) -> None:
    info = cli("cache", "info")
    assert info.exit_code == 0
    assert str(private_cache) in info.stdout and "entries    0 " in info.stdout
    outcome("x**2", "--start", "1")
    outcome("y**2", "--start", "1")
    assert "entries    2 " in cli("cache", "info").stdout
    cleared = cli("cache", "clear")
    assert cleared.exit_code == 0 and "removed 2 entries" in cleared.stdout
    assert "entries    0 " in cli("cache", "info").stdout


def test_cache_info_counts_and_clear_removes_compiled_numba_modules(private_cache: Path) -> None:
    """The compiled loops and kernels live in the cache folder too: `cache clear` empties all of it."""
    pytest.importorskip("numba")
    from symdescent import numba_files

    source = "import numba\n\n\n@numba.njit(cache=True)\ndef plus_one(x):\n    return x + 1\n"
    assert numba_files.load(source, "kernels", "plus_one")(1) == 2  # compiled, numba's files written beside it
    assert numba_files.is_compiled(source, "kernels")
    assert "compiled   1 numba module (" in cli("cache", "info").stdout
    cleared = cli("cache", "clear")
    assert cleared.exit_code == 0 and "removed 0 entries and 1 compiled module" in cleared.stdout
    assert numba_files.files() == [] and not numba_files.is_compiled(source, "kernels")
    assert "compiled   0 numba modules (0 bytes)" in cli("cache", "info").stdout


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_info_says_when_the_directory_is_unsafe(private_cache: Path) -> None:
    private_cache.mkdir(mode=0o777)
    private_cache.chmod(0o777)
    assert "not used: it belongs to another user or others can write" in cli("cache", "info").stdout
    assert outcome("x**2", "--start", "1")[0] == 0  # runs, without the cache
    assert list(private_cache.iterdir()) == []


WARM_PROBE = """
import json, sys
from symdescent.cli import main
for argv in json.loads(sys.argv[1]):
    try:
        main(argv, standalone_mode=False)
    except SystemExit:
        pass
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sympy", "mpmath", "numpy", "rich"))
    print("END OF RUN", flush=True)
    print("IMPORTED", heavy, file=sys.stderr, flush=True)
"""


def probe(tmp_path: Path, *runs: list[str]) -> list[tuple[str, str]]:
    """``symdescent run`` once per item of ``runs``, one after another in one fresh process.

    For each run: its stdout and the heavy modules imported so far. A module absent after a run was not
    imported by it (nor by any run before it), so several warm runs share one process start.
    """
    env = {k: v for k, v in os.environ.items() if k != "SYMDESCENT_CACHE"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    argvs = [["run", *args] for args in runs]
    proc = subprocess.run(
        [sys.executable, "-c", WARM_PROBE, json.dumps(argvs)], capture_output=True, text=True, env=env, timeout=60
    )
    outs = proc.stdout.split("END OF RUN\n")[: len(runs)]
    imports = [line.removeprefix("IMPORTED") for line in proc.stderr.splitlines() if line.startswith("IMPORTED")]
    assert len(outs) == len(imports) == len(runs), proc.stderr
    return list(zip(outs, imports, strict=True))


def test_a_warm_run_imports_no_sympy_and_prints_what_the_cold_run_printed(tmp_path: Path) -> None:
    function = [ROSENBROCK, "--start=-1.2,1", "--steps", "50"]
    csv_run = [*function, "--lr", "0.001", "--format", "csv"]
    newton = [*function, "--method", "newton", "-q"]
    [(cold_out, cold_imports)] = probe(tmp_path, csv_run)
    assert "'sympy'" in cold_imports
    variants = (["--start", "x=0.5,y=-2", "--lr", "2e-3", "-q"], ["--method", "cg", "--format", "table"])
    warm, *others, first_newton = probe(tmp_path, csv_run, *[[*function, *v] for v in variants], newton)
    warm_out, warm_imports = warm
    assert warm_out == cold_out
    assert warm_imports.strip() == "[]"  # neither SymPy nor mpmath, numpy or even Rich
    for variant, (out, imported) in zip(variants, others, strict=True):
        assert "sympy" not in imported, (variant, imported)
        assert out.strip(), variant
    assert "'sympy'" in first_newton[1]  # first newton: the Hessian
    again, exact_start = probe(tmp_path, newton, [*function, "--start", "pi/4,1/3", "-q"])
    assert "sympy" not in again[1]  # now in the cache too
    assert "'sympy'" in exact_start[1]  # the parser reads pi/4


def test_a_shell_loop_with_background_jobs_shares_one_entry(tmp_path: Path, executable: Path) -> None:
    """Four processes at once write the same entry (a shell loop with &): all succeed, one whole entry remains."""
    env = {"XDG_CACHE_HOME": str(tmp_path), "SYMDESCENT_CACHE": "1"}
    script = " ".join(
        f'"{executable}" run "{ROSENBROCK}" --start=-1.2,1 --lr 0.00{i} --steps 40 -q > out{i} &' for i in range(1, 5)
    )
    subprocess.run(["sh", "-c", f"{script} wait"], cwd=tmp_path, env={**os.environ, **env}, timeout=60, check=True)
    outputs = [(tmp_path / f"out{i}").read_text() for i in range(1, 5)]
    assert all(len(o.split()) == 2 for o in outputs)
    assert cache.info(tmp_path / "symdescent").entries == 1
    again = run_installed(
        executable, "run", ROSENBROCK, "--start=-1.2,1", "--lr", "0.002", "--steps", "40", "-q", env=env
    )
    assert again.stdout == outputs[1]  # and warm now, the same again


numbers = st.one_of(st.floats(), st.integers(-(10**6), 10**6))


@given(st.lists(st.tuples(numbers, numbers, numbers, numbers, numbers, numbers), min_size=1, max_size=5))
def test_the_fast_csv_row_is_the_machine_notation(rows: list[tuple[float, ...]]) -> None:
    """CSV writes floats itself (their repr): the same text as the machine notation, ints as floats."""
    names = ("x", "y")
    fast, slow = io.StringIO(), io.StringIO()
    renderer = DelimitedRenderer(fast, Layout.of(names))
    writer = csv.writer(slow, lineterminator="\n")
    writer.writerow(header(Layout.of(names)))
    for k, (x, y, f, gx, gy, norm) in enumerate(rows):
        step = Step(k, (x, y), f, (gx, gy), norm)
        renderer.step(step)
        writer.writerow(row(step))
    assert fast.getvalue() == slow.getvalue()
