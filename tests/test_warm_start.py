"""What a warm start imports (issue 23): only what it uses, checked in a fresh interpreter run as the program.

A warm CSV run (the function already in the cache) loads no SymPy, Rich or
numpy, and none of the modules only other paths need (the json package, help
text formatting, the line searches and Newton, typo suggestions); ``--help``
loads none of the commands' modules. The lists are exact so that a new import on
these paths is a decision, not an accident: ``bench/bench_startup.py`` times them.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

#: Run as ``symdescent …`` (signal handlers and all), then list every module the interpreter holds.
PROBE = """
import atexit, sys
atexit.register(lambda: print("IMPORTED", sorted(sys.modules), file=sys.stderr))
sys.argv = ["symdescent", *sys.argv[1:]]
from symdescent.cli import main
main()
"""

SEED = ["run", "x**2+y**2", "--start", "1,2", "--lr", "0.1", "--format", "csv"]

#: Every module of ours a warm CSV run of a gd problem imports.
WARM_CSV = {
    "symdescent",
    "symdescent.arithmetic",
    "symdescent.budget",
    "symdescent.cache",
    "symdescent.cli",
    "symdescent.cli.arrays",
    "symdescent.cli.cache",
    "symdescent.cli.capture",
    "symdescent.cli.commands",
    "symdescent.cli.exits",
    "symdescent.cli.helptext",
    "symdescent.cli.plumbing",
    "symdescent.cli.run",
    "symdescent.cli.run_options",
    "symdescent.cli.scale",
    "symdescent.cli.signals",
    "symdescent.cli.typos",
    "symdescent.engine",
    "symdescent.errors",
    "symdescent.generated",
    "symdescent.layout",
    "symdescent.memory",
    "symdescent.methods",
    "symdescent.optimizers",
    "symdescent.optimizers.base",
    "symdescent.optimizers.first_order",
    "symdescent.optimizers.lbfgs",
    "symdescent.render",
    "symdescent.render.delimited",
    "symdescent.render.numbers",
    "symdescent.result",
    "symdescent.run",
    "symdescent.settings",
    "symdescent.stopping",
    "symdescent.vectors",
    "symdescent.warm",
}

#: Every module of ours ``symdescent --help`` imports.
HELP = {
    "symdescent",
    "symdescent.cli",
    "symdescent.cli.commands",
    "symdescent.cli.exits",
    "symdescent.cli.helptext",
    "symdescent.cli.signals",
}

#: Modules a warm CSV run has no use for (each was imported by one before issue 23).
UNUSED = {
    "sympy",
    "mpmath",
    "numpy",
    "rich",
    "json",
    "difflib",
    "symdescent.optimizers.linesearch",
    "symdescent.hessian",
    "textwrap",
    "importlib.util",
    "array",
    "fcntl",
    "termios",
    "numbers",
}


def imported(tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    """The standard output of ``symdescent *args`` with its cache in ``tmp_path``, and the modules it imported."""
    env = {k: v for k, v in os.environ.items() if k != "SYMDESCENT_CACHE"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, set(ast.literal_eval(proc.stderr.rsplit("IMPORTED", 1)[1].strip()))


def test_a_warm_csv_run_imports_only_what_it_uses(tmp_path: Path) -> None:
    cold_out, cold = imported(tmp_path, *SEED)
    assert "sympy" in cold  # the first run compiled the function (and filled the cache)
    warm_out, warm = imported(tmp_path, *SEED)
    assert warm_out == cold_out
    assert {m for m in warm if m.split(".")[0] == "symdescent"} == WARM_CSV
    assert not {m for m in warm if m in UNUSED or m.split(".")[0] in UNUSED}


#: A warm table on a terminal: the CSV run's modules but the table's instead of the CSV writer (no Rich).
WARM_TABLE = (WARM_CSV - {"symdescent.render.delimited"}) | {
    "symdescent.cli.console",
    "symdescent.render.fit",
    "symdescent.render.mathtext",
    "symdescent.render.sparkline",
    "symdescent.render.styled",
    "symdescent.render.table",
}


def on_terminal(tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    """:func:`imported` with standard output a terminal 120 columns wide (stderr a pipe: no live line)."""
    import pty

    env = {k: v for k, v in os.environ.items() if k not in ("SYMDESCENT_CACHE", "NO_COLOR", "FORCE_COLOR")}
    env.update(XDG_CACHE_HOME=str(tmp_path), COLUMNS="120", TERM="xterm-256color")
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE, *args], stdout=secondary, stderr=subprocess.PIPE, text=True, env=env
    )
    os.close(secondary)
    out = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed: the command has exited
            break
        if not chunk:
            break
        out += chunk
    os.close(primary)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out.decode(), set(ast.literal_eval(err.rsplit("IMPORTED", 1)[1].strip()))


def test_a_warm_table_on_a_terminal_imports_neither_rich_nor_sympy(tmp_path: Path) -> None:
    table = [arg for arg in SEED if arg not in ("--format", "csv")]
    cold_out, cold = on_terminal(tmp_path, *table)
    assert "sympy" in cold and "\x1b[1;36m" in cold_out  # compiled, and drawn in colour
    warm_out, warm = on_terminal(tmp_path, *table)
    assert warm_out == cold_out
    assert {m for m in warm if m.split(".")[0] == "symdescent"} == WARM_TABLE
    assert not {m for m in warm if m in UNUSED - {"textwrap"} or m.split(".")[0] in UNUSED - {"textwrap"}}


def test_help_imports_none_of_the_commands(tmp_path: Path) -> None:
    out, modules = imported(tmp_path, "--help")
    assert "Commands:" in out
    assert {m for m in modules if m.split(".")[0] == "symdescent"} == HELP
    assert not {m for m in modules if m.split(".")[0] in ("rich", "sympy", "numpy")}


def test_runs_work_without_numpy_installed(tmp_path: Path) -> None:
    """numpy is the `fast` extra: `pip install symdescent` (and pipx) has none. A `-q` run and a long printed
    run (which asks whether the compiled loop would pay) must not import it; CI's pipx step once found
    `-q` failing with ModuleNotFoundError."""
    code = (
        "import sys; sys.modules['numpy'] = None\n"  # as if not installed: any import of it fails
        "from symdescent.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    for args in (["-q"], ["--format", "csv", "--steps", "200000", "--tol", "0", "--every", "100000"]):
        command = [sys.executable, "-c", code, "run", "x**2+y**2", "--start", "1,2", "--lr", "0.1", *args]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
        assert done.returncode in (0, 4) and "Error" not in done.stderr, done.stderr
        assert done.stdout.splitlines()[-1].startswith(("2.05688", "200000,"))
