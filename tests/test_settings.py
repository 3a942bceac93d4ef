"""The SYMDESCENT_* variables (one reader each, one refusal each), library errors in the library's words,
and ``run --help``'s examples (issue #18, points 10, 11, 12)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import run_installed

from symdescent import settings
from symdescent.cli import main
from symdescent.cli.helptext import fit_lines
from symdescent.errors import InputError

PACKAGE = Path(__file__).resolve().parent.parent / "symdescent"

#: Each variable: (valid text, the typed value it reads as), the value when unset, and its refusal of "bogus".
VALID = {
    "SYMDESCENT_ENGINE": [("python", "python"), ("symengine", "symengine"), (" Auto ", "auto")],
    "SYMDESCENT_VECTOR_ENGINE": [("kernel", "kernel"), ("ARRAY", "array"), ("auto", "auto")],
    "SYMDESCENT_KERNEL": [("numpy", "numpy"), ("numba", "numba"), ("auto", "auto")],
    "SYMDESCENT_LOOP": [("python", "python"), ("Numba", "numba"), ("auto", "auto")],
    "SYMDESCENT_THREADS": [("1", 1), (" 3 ", 3)],
    "SYMDESCENT_TIME_LIMIT": [("2", 2.0), ("0.5", 0.5)],
    "SYMDESCENT_DATA_LIMIT": [("1000", 1000), ("500MB", 500_000_000), (" 2 gb ", 2_000_000_000)],
    "SYMDESCENT_SCHEDULER": [("local:2", "local:2"), ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786")],
    "SYMDESCENT_MEMORY_LIMIT": [("2G", 2 * 1024**3), ("500MiB", 500 * 1024**2), ("1000000", 10**6)],
    "SYMDESCENT_CACHE": [("0", False), ("off", False), ("No", False), ("1", True), ("on", True), ("true", True)],
    "SYMDESCENT_DEBUG": [("1", True), ("yes", True), ("0", False), ("false", False)],
}
UNSET = {
    "SYMDESCENT_ENGINE": "auto",
    "SYMDESCENT_VECTOR_ENGINE": "auto",
    "SYMDESCENT_KERNEL": "auto",
    "SYMDESCENT_LOOP": "auto",
    "SYMDESCENT_THREADS": None,
    "SYMDESCENT_TIME_LIMIT": None,
    "SYMDESCENT_DATA_LIMIT": 100_000_000,
    "SYMDESCENT_SCHEDULER": None,
    "SYMDESCENT_MEMORY_LIMIT": None,
    "SYMDESCENT_CACHE": True,
    "SYMDESCENT_DEBUG": False,
}
SWITCH = "1/true/yes/on (on) or 0/false/no/off (off)"
REFUSED = {
    "SYMDESCENT_ENGINE": "SYMDESCENT_ENGINE must be auto, python or symengine, got 'bogus'",
    "SYMDESCENT_VECTOR_ENGINE": "SYMDESCENT_VECTOR_ENGINE must be auto, kernel or array, got 'bogus'",
    "SYMDESCENT_KERNEL": "SYMDESCENT_KERNEL must be auto, numpy or numba, got 'bogus'",
    "SYMDESCENT_LOOP": "SYMDESCENT_LOOP must be auto, python or numba, got 'bogus'",
    "SYMDESCENT_THREADS": "SYMDESCENT_THREADS must be a whole number of threads, 1 or more, got 'bogus'",
    "SYMDESCENT_TIME_LIMIT": "SYMDESCENT_TIME_LIMIT must be a positive number of seconds, got 'bogus'",
    "SYMDESCENT_SCHEDULER": "SYMDESCENT_SCHEDULER must be local:N or a scheduler address such as tcp://host:8786, "
    "got 'bogus'",
    "SYMDESCENT_DATA_LIMIT": "SYMDESCENT_DATA_LIMIT must be a size in bytes, 1 or more (e.g. 500000000, 500MB or "
    "2GB), got 'bogus'",
    "SYMDESCENT_MEMORY_LIMIT": (
        "SYMDESCENT_MEMORY_LIMIT must be a size such as 2G, 500M or 2000000000 (bytes), got 'bogus'"
    ),
    "SYMDESCENT_CACHE": f"SYMDESCENT_CACHE must be {SWITCH}, got 'bogus'",
    "SYMDESCENT_DEBUG": f"SYMDESCENT_DEBUG must be {SWITCH}, got 'bogus'",
}


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings.READERS:
        monkeypatch.delenv(name, raising=False)


def test_every_variable_is_listed_once() -> None:
    assert set(settings.READERS) == set(VALID) == set(UNSET) == set(REFUSED)


@pytest.mark.parametrize(("name", "text", "value"), [(n, t, v) for n, pairs in VALID.items() for t, v in pairs])
def test_a_valid_value_reads_as_its_typed_value(monkeypatch: pytest.MonkeyPatch, name: str, text: str, value) -> None:
    monkeypatch.setenv(name, text)
    assert settings.READERS[name]() == value
    assert type(settings.READERS[name]()) is type(value)


@pytest.mark.parametrize("name", list(UNSET))
def test_unset_or_empty_is_the_default(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    assert settings.READERS[name]() == UNSET[name]
    monkeypatch.setenv(name, "  ")
    assert settings.READERS[name]() == UNSET[name]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("SYMDESCENT_THREADS", "0"),
        ("SYMDESCENT_THREADS", "-2"),
        ("SYMDESCENT_THREADS", "2.0"),
        ("SYMDESCENT_THREADS", "²"),  # a digit to str.isdigit, not to int()
        ("SYMDESCENT_TIME_LIMIT", "0"),
        ("SYMDESCENT_TIME_LIMIT", "-1"),
        ("SYMDESCENT_TIME_LIMIT", "nan"),
        ("SYMDESCENT_TIME_LIMIT", "inf"),
        ("SYMDESCENT_MEMORY_LIMIT", "0"),
        ("SYMDESCENT_MEMORY_LIMIT", "-1G"),
        ("SYMDESCENT_MEMORY_LIMIT", "inf"),
        ("SYMDESCENT_MEMORY_LIMIT", "2X"),
        ("SYMDESCENT_CACHE", "2"),
        ("SYMDESCENT_DATA_LIMIT", "0"),
        ("SYMDESCENT_DATA_LIMIT", "1.5GB"),
        ("SYMDESCENT_DATA_LIMIT", "1_000"),
        ("SYMDESCENT_ENGINE", "python3"),
    ],
)
def test_near_misses_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, text: str) -> None:
    monkeypatch.setenv(name, text)
    with pytest.raises(InputError, match=f"^{name} must be .*, got {re.escape(repr(text))}$"):
        settings.READERS[name]()


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_bogus_value_is_exit_2_naming_the_variable_and_its_values(name: str) -> None:
    out = CliRunner().invoke(main, ["run", "x^2", "--start", "1", "-q"], env={name: "bogus"}, catch_exceptions=False)
    assert out.exit_code == 2
    assert out.stdout == ""
    assert out.stderr.splitlines()[0] == f"Error: {REFUSED[name]}"
    assert out.stderr.splitlines()[1].startswith("Hint: unset it for the default: ")
    assert "internal error" not in out.stderr


@pytest.mark.parametrize("command", [["grad", "x^2"], ["analyze", "x^2"], ["cache", "info"]])
def test_every_command_checks_the_variables_first(command: list[str]) -> None:
    out = CliRunner().invoke(main, command, env={"SYMDESCENT_KERNEL": "bogus"}, catch_exceptions=False)
    assert (out.exit_code, out.stderr.splitlines()[0]) == (2, f"Error: {REFUSED['SYMDESCENT_KERNEL']}")


def test_a_bogus_kernel_is_exit_2_in_a_real_process(executable: Path) -> None:
    # issue #18 point 10: this was exit 1, "internal error … please report it"
    out = run_installed(executable, "run", "sum(x^2)", "--start", "x=[1,2]", "-q", env={"SYMDESCENT_KERNEL": "bogus"})
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.splitlines() == [
        f"Error: {REFUSED['SYMDESCENT_KERNEL']}",
        "Hint: unset it for the default: auto",
    ]


@pytest.mark.parametrize(
    "env",
    [
        {"SYMDESCENT_VECTOR_ENGINE": "kernel"},
        {"SYMDESCENT_VECTOR_ENGINE": "array"},
        {"SYMDESCENT_KERNEL": "numpy", "SYMDESCENT_VECTOR_ENGINE": "kernel"},
        {"SYMDESCENT_THREADS": "1", "SYMDESCENT_VECTOR_ENGINE": "kernel"},
        {"SYMDESCENT_ENGINE": "python"},
        {"SYMDESCENT_CACHE": "off", "SYMDESCENT_DEBUG": "0", "SYMDESCENT_TIME_LIMIT": "5"},
    ],
)
def test_valid_values_run(env: dict[str, str]) -> None:
    # x ← x − 0.1·2x = 0.8x: three steps from (1, 2) end at 0.8³·(1, 2) = (0.512, 1.024)
    function = "x^2 + y^2" if "SYMDESCENT_ENGINE" in env else "sum(x^2)"
    start = "x=1,y=2" if "SYMDESCENT_ENGINE" in env else "x=[1,2]"
    args = ["run", function, "--start", start, "--steps", "3", "--tol", "0", "-q"]
    out = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert out.exit_code == 0, out.stderr  # --tol 0: exactly --steps updates
    assert [float(v) for v in out.stdout.split()] == pytest.approx([0.512, 1.024], rel=1e-15)


def test_the_library_readers_raise_input_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from symdescent.kernels.chunks import max_threads
    from symdescent.kernels.jit import choose_backend
    from symdescent.problem import make_problem
    from symdescent.vectors.engine import choose_engine
    from symdescent.vectors.problem import make_vector_problem

    vector = make_vector_problem("sum(x^2)", {"x": np.ones(3)})
    for name, read in [
        ("SYMDESCENT_VECTOR_ENGINE", lambda: choose_engine(vector, "gd")),
        ("SYMDESCENT_KERNEL", lambda: choose_backend("auto", 10)),
        ("SYMDESCENT_THREADS", lambda: max_threads()),
        ("SYMDESCENT_ENGINE", lambda: make_problem("x^2").engine),
    ]:
        monkeypatch.setenv(name, "bogus")
        with pytest.raises(InputError, match=f"^{re.escape(REFUSED[name])}$"):
            read()
        monkeypatch.delenv(name)
    assert choose_engine(vector, "gd", "array")[0] == "array"  # an argument wins over the variable
    with pytest.raises(InputError, match=r"^engine must be auto, kernel or array, got 'fast'$"):
        choose_engine(vector, "gd", "fast")
    with pytest.raises(InputError, match=r"^threads must be at least 1, got 0$"):
        max_threads(0)


VARIABLE = r"(?<![_A-Z])SYMDESCENT_[A-Z_]+[A-Z]"


def test_nothing_but_settings_reads_a_symdescent_variable() -> None:
    readers = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "settings.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"os\.environ|getenv", line) and "SYMDESCENT_" in line:
                readers.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert readers == []
    # (Click's own _SYMDESCENT_COMPLETE, for shell completion, is not one of ours: the lookbehind skips it)
    docs = [PACKAGE.parent / "README.md", *sorted((PACKAGE.parent / "docs").rglob("*.md"))]
    mentioned = {v for page in docs for v in re.findall(VARIABLE, page.read_text(encoding="utf-8"))}
    for path in PACKAGE.rglob("*.py"):
        mentioned |= set(re.findall(VARIABLE, path.read_text(encoding="utf-8")))
    assert mentioned <= set(settings.READERS)  # every variable the docs name is read (and checked) here


def test_settings_imports_neither_sympy_nor_numpy() -> None:
    code = "import sys, symdescent.settings; print(sorted({'sympy', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


# -- point 11: the library's errors in its own words -------------------------------------------------

#: A CLI flag in a message: "--method", "--dtype" (not "−" or an en dash, and not inside a word).
FLAG = re.compile(r"(?<![\w-])--[a-z]")
ERRORS = {"InputError", "ParseError", "BudgetError", "SymdescentError", "StartPointError"}
#: CLI code that still lives in the core (issue #18 point 14 moves it into cli/); every other module is library.
CLI_IN_CORE = {"vectors/command.py"}


def flag_messages() -> list[str]:
    """Each ``raise SomeError(...)`` outside cli/ whose text (message or hint) names a CLI flag."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        if where.startswith("cli/") or where in CLI_IN_CORE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            called = node.exc.func
            name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", "")
            if name in ERRORS:
                texts = [
                    n.value for n in ast.walk(node.exc) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                ]
                found += [f"{where}:{node.lineno}: {t!r}" for t in texts if FLAG.search(t)]
    return found


def test_no_library_error_names_a_cli_flag() -> None:
    assert flag_messages() == []


def test_the_scan_finds_a_flag_in_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.py").write_text(
        'def f(m):\n    raise InputError(\n        f"--method {m} is not here", hint="x")\n'
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)
    assert flag_messages() == ["bad.py:2: '--method '"]


def test_vector_errors_say_method_and_dtype_and_the_cli_adds_the_flags() -> None:
    from symdescent.vectors.optim import make_array_method
    from symdescent.vectors.problem import make_vector_problem
    from symdescent.vectors.run import VectorRun

    with pytest.raises(InputError, match=r"^method exact-line is not available for vector problems$") as caught:
        make_array_method("exact-line", lambda x: 0.0, lambda x: (0.0, x))
    assert caught.value.parameter == "method"
    problem = make_vector_problem("sum(x^2) + x @ x", {"x": np.ones(3, dtype=np.float32)}, dtype="float32")
    with pytest.raises(InputError, match=r"^dtype float32 runs on the chunked engine only") as caught:
        from symdescent.vectors.engine import make_run

        make_run(problem, method="cg")
    assert caught.value.hint == "use dtype float64 (the default) for this function or method"
    assert VectorRun  # the whole-array run is what float64 would use

    out = CliRunner().invoke(main, ["run", "x @ x", "--start", "x=[1,2]", "--method", "exact-line"])
    assert out.exit_code == 2
    assert out.stderr.splitlines()[0] == "Error: --method exact-line is not available for vector problems"
    out = CliRunner().invoke(main, ["run", "sum(x^2)", "--start", "x=[1,2]", "--dtype", "float32", "--method", "cg"])
    assert out.exit_code == 2
    assert out.stderr.splitlines()[0].startswith("Error: --dtype float32 runs on the chunked engine only")
    assert out.stderr.splitlines()[1] == "Hint: use --dtype float64 (the default) for this function or method"


def test_start_and_data_errors_name_the_flags_only_on_the_command_line() -> None:
    from symdescent.vectors.data import parse_start

    with pytest.raises(InputError, match=r"^x is given twice in start$"):
        parse_start("x=[1,2],x=[1]", {}, "x @ x")
    out = CliRunner().invoke(main, ["run", "x @ x", "--start", "x=[1,2],x=[1]"])
    assert (out.exit_code, out.stderr.splitlines()[0]) == (2, "Error: x is given twice in --start")


# -- point 12: run --help shows vector and data examples, at any width, words whole ---------------------

VECTOR_EXAMPLES = [
    'symdescent run "x @ x" --start "x=[1,2]" --lr 0.1',
    'symdescent run "mean((a*t + b - y)^2)" --data "t=[0,1,2,3]" --data "y=[1,3,5,7]" --start a=0,b=0',
    'symdescent run "mean((a*t + b - T)^2)" --data temps.csv --start a=0,b=0 --method cg',
]


def shown_examples(help_text: str) -> list[str]:
    """The example commands of a help text, a command continued on the next line (`` \\`` + indent) joined back."""
    section = help_text.split("Examples:\n", 1)[1].strip()
    return [line.strip() for line in re.sub(r" \\\n\s+", " ", section).splitlines()]


@pytest.mark.parametrize("width", [70, 120])
def test_run_help_shows_the_vector_examples_whole(executable: Path, width: int) -> None:
    from symdescent.cli.run import EXAMPLES_RUN

    # a real process: click's CliRunner always formats help 80 columns wide
    out = run_installed(executable, "run", "--help", env={"COLUMNS": str(width)})
    assert out.returncode == 0
    shown = shown_examples(out.stdout)
    for example in VECTOR_EXAMPLES:
        assert example in shown
    assert shown == shown_examples(EXAMPLES_RUN)  # every example, every word whole and in order
    assert max(map(len, out.stdout.split("Examples:")[1].splitlines())) <= width
    too_long = [line for line in out.stdout.splitlines() if len(line) > width and not line.startswith("  --method [")]
    assert too_long == []  # --method's list of choices is click's, one word that cannot break


def test_fit_lines_breaks_commands_before_options_and_rules_under_their_column() -> None:
    command = 'symdescent run "a b c" --lr 0.001 --steps 20000 -q'
    text = f"\b\nExamples:\n  {command}\n\n\b\n  gd    x ← x − α∇f, α by a line search\n"
    assert fit_lines(text, 36).splitlines()[:4] == [
        "\b",
        "Examples:",
        '  symdescent run "a b c" \\',
        "      --lr 0.001 --steps 20000 -q",
    ]
    assert fit_lines(text, 34).splitlines() == [
        "\b",
        "Examples:",
        '  symdescent run "a b c" \\',
        "      --lr 0.001 --steps 20000 \\",
        "      -q",
        "",
        "\b",
        "  gd    x ← x − α∇f, α by a line",
        "        search",
    ]
    assert fit_lines(text, 200) == text.rstrip("\n")
    assert fit_lines("not kept: " + "word " * 30, 20) == "not kept: " + "word " * 30  # click wraps prose itself
