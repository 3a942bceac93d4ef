"""The CLI, in-process through CliRunner and as the installed program: exit codes and streams."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import time

import pytest
from conftest import SEED, cli, run_installed

import symdescent

# -- in-process --------------------------------------------------------------------


def test_seed_example_converges_with_exit_0() -> None:
    out = cli("run", SEED, "--start", "1,2", "--lr", "0.1")
    assert out.exit_code == 0
    assert out.stderr == ""
    assert out.stdout.splitlines()[1] == "0,1.0,2.0,5.0,2.0,4.0,4.47213595499958"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "x.y", "--start", "1"], 2, "Error: attribute access is not allowed at column 2"),
        (["run", "log(x)", "--start", "0"], 2, "Error: log(x) is undefined at x = 0"),
        (["run", "x**2", "--start", "1,2"], 2, "Error: the start point has 2 value(s)"),
        (["run", "x**2", "--start", "1", "--lr", "0"], 2, "Error: --lr must be positive"),
        (["run", "x**2", "--start", "1", "--lr", "inf"], 2, "'inf' is not supported"),
        (["run", "x**2", "--start", "1", "--tol", "-1"], 2, "Error: --tol must not be negative"),
        (["run", "x**2", "--start", "1", "--steps", "-1"], 2, "Invalid value for '--steps'"),
        (["run", "x**2", "--start", "1", "--stpes", "3"], 2, "Did you mean '--steps'?"),
        (["run", "x**2"], 2, "Missing option '--start'"),
        (["run", "x**2", "--start", "1", "--format", "xml"], 2, "Invalid value for '--format'"),
        (["run", "x**2", "--start", "1", "--lr", "1.5"], 3, "diverged: at step 512"),
        (["run", "x**2", "--start", "1", "--steps", "3"], 4, "max_steps: step limit reached after 3 steps"),
        (["grad", "x**", "--at", "1"], 2, "Error: the function ends too early"),
        (["grad", "9**9**9*x"], 2, "Error: number too large"),
    ],
)
def test_exit_codes_and_one_line_errors(args: list[str], code: int, message: str) -> None:
    out = cli(*args)
    assert out.exit_code == code
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    if code == 2:
        assert out.stdout == ""
        error_lines = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
        assert len(error_lines) == 1


def test_expression_starting_with_minus_and_negative_start() -> None:
    out = cli("run", "-x**2+y**2", "--start", "-1,2", "--maximize", "--vars", "x,y", "--steps", "1", "--tol", "0")
    assert out.exit_code == 0, out.stderr
    # ascent: x <- x + 0.1 * (-2x) = 0.8x and y <- y + 0.1 * 2y = 1.2y
    assert out.stdout.splitlines()[2].startswith("1,-0.8,2.4,")


def test_function_from_stdin() -> None:
    out = cli("run", "-", "--start", "1,2", "-q", input="x**2+y**2\n")
    assert out.exit_code == 0
    assert len(out.stdout.split()) == 2


def test_params_and_named_start() -> None:
    out = cli("run", "a*x**2", "--param", "a=1/2", "--start", "x=2", "--lr", "1", "-q")
    assert out.exit_code == 0
    assert out.stdout == "0.0\n"  # x - 1 * (2 * a * x) = 0 in one step


def test_grad_at_a_point() -> None:
    out = cli("grad", "x**2+y**2+z**3", "--at", "1,1,2", "--format", "json")
    data = json.loads(out.stdout)
    assert data["partials"] == {"x": "2*x", "y": "2*y", "z": "3*z**2"}
    assert data["gradient"] == ["2*x", "2*y", "3*z**2"]
    assert data["at"] == {"x": 1.0, "y": 1.0, "z": 2.0}
    assert data["value"] == {"x": 2.0, "y": 2.0, "z": 12.0}
    assert data["norm"] == pytest.approx(152**0.5)


def test_grad_text_is_plain_unicode() -> None:
    out = cli("grad", "x**2+y**2+z**3", "--at", "1,1,2", "--format", "text")
    assert "∂f/∂z = 3z²" in out.stdout
    assert "∇f   = (2, 2, 12)" in out.stdout
    assert "\x1b[" not in out.stdout


def test_grad_without_point_has_no_value_keys() -> None:
    data = json.loads(cli("grad", "x*y", "--format", "json").stdout)
    assert set(data) == {"function", "variables", "partials", "gradient"}


def test_version_and_help_with_examples() -> None:
    assert cli("--version").stdout.strip() == f"symdescent, version {symdescent.__version__}"
    for command in ([], ["run"], ["grad"]):
        out = cli(*command, "--help")
        assert out.exit_code == 0
        assert "Examples:" in out.stdout
        assert cli(*command, "-h").stdout == out.stdout


# -- the installed program -------------------------------------------------------------


def test_installed_seed_example_piped_is_csv(executable) -> None:
    proc = run_installed(executable, "run", SEED, "--start", "1,2", "--lr", "0.1")
    assert proc.returncode == 0
    assert proc.stderr == ""
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == 70
    assert float(rows[1]["x"]) == 0.8


def test_installed_exit_codes(executable) -> None:
    assert run_installed(executable, "run", "x**2", "--start", "1", "--lr", "1.5").returncode == 3
    assert run_installed(executable, "run", "x**2", "--start", "1", "--steps", "2").returncode == 4
    bad = run_installed(executable, "run", "__import__('os').system('echo hi')", "--start", "1")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.startswith("Error: ") and "Traceback" not in bad.stderr


def test_python_dash_m(executable) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "symdescent", "run", SEED, "--start", "1,2", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert len(proc.stdout.split()) == 2


def test_table_to_a_pipe_has_no_colour_codes(executable) -> None:
    proc = run_installed(executable, "run", SEED, "--start", "1,2", "--format", "table", env={"NO_COLOR": "1"})
    assert proc.returncode == 0
    assert "\x1b[" not in proc.stdout
    assert "…" not in proc.stdout


def test_closed_pipe_ends_quietly(executable) -> None:
    shell = f"'{executable}' run '{SEED}' --start 1,2 --tol 0 --steps 200000 | head -3"
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60)
    assert proc.stdout.count("\n") == 3
    assert proc.stderr == ""


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_real_sigint_mid_run_exits_130(executable, fmt: str) -> None:
    proc = subprocess.Popen(
        [
            str(executable),
            "run",
            "(1-x)**2+100*(y-x**2)**2",
            "--start",
            "-1.2,1",
            "--lr",
            "0.0001",
            "--tol",
            "0",
            "--steps",
            "100000000",
            "--format",
            fmt,
            "--every",
            "100000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the run is under way once the first row is out
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    # read through the same buffered file objects: communicate() would skip what readline() buffered
    rest = proc.stdout.read()
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    lines = (first + rest).splitlines()
    if fmt == "jsonl":
        last = json.loads(lines[-1])
        assert (last["event"], last["status"]) == ("result", "interrupted")
        assert last["steps"] > 0
    else:
        rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
        assert rows[0]["step"] == "0"
        assert int(rows[-1]["step"]) > 0
        assert "interrupted" in stderr


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "tsv", "table"])
def test_interrupt_prints_the_steps_so_far_in_every_format(monkeypatch, fmt: str) -> None:
    import symdescent.cli.run

    original = symdescent.cli.run.thinned

    def interrupted_after_five_steps(steps, every):
        for step in original(steps, every):
            if step.step == 5:
                raise KeyboardInterrupt  # as if Ctrl-C arrived while step 5 was being computed
            yield step

    monkeypatch.setattr(symdescent.cli.run, "thinned", interrupted_after_five_steps)
    out = cli("run", SEED, "--start", "1,2", "--format", fmt)
    assert out.exit_code == 130
    if fmt == "json":
        data = json.loads(out.stdout)
        # step 5 was computed when the interrupt came: it is printed too
        assert (data["status"], data["steps"]) == ("interrupted", 5)
        assert [h["step"] for h in data["history"]] == [0, 1, 2, 3, 4, 5]
    elif fmt == "jsonl":
        assert json.loads(out.stdout.splitlines()[-1])["status"] == "interrupted"
    elif fmt == "table":
        assert "■ interrupted" in out.stdout
    else:
        assert out.stdout.splitlines()[-1].split("," if fmt == "csv" else "\t")[0] == "5"
        assert "interrupted" in out.stderr


def test_usage_errors_are_one_error_line_and_a_hint() -> None:
    out = cli("run", "x**2", "--strat", "1")
    assert out.exit_code == 2
    assert out.stderr.splitlines() == [
        "Error: No such option '--strat'. Did you mean '--start'?",
        "Hint: see 'main run --help'",
    ]


def test_debug_shows_a_traceback_but_keeps_the_exit_code() -> None:
    plain = cli("run", "2x", "--start", "1")
    debug = cli("--debug", "run", "2x", "--start", "1")
    assert plain.exit_code == debug.exit_code == 2
    assert "Traceback" in debug.stderr and "Traceback" not in plain.stderr
    assert debug.stderr.splitlines()[-2:] == plain.stderr.splitlines()


def test_a_second_ctrl_c_cannot_cut_the_json_short(executable) -> None:
    proc = subprocess.Popen(
        [
            str(executable),
            "run",
            "(1-x)**2+100*(y-x**2)**2",
            "--start",
            "-1.2,1",
            "--lr",
            "0.0001",
            "--tol",
            "0",
            "--steps",
            "100000000",
            "--format",
            "jsonl",
            "--every",
            "50000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    rest = proc.stdout.read()
    proc.wait(timeout=60)
    assert proc.returncode == 130
    assert json.loads(first)["event"] == "step"
    assert json.loads(rest.splitlines()[-1])["status"] == "interrupted"


def test_run_explain_uses_the_default_learning_rate() -> None:
    out = cli("run", SEED, "--start", "1,2", "--explain", "--format", "csv")
    assert out.exit_code == 0, out.stderr
    assert "0.8ᵗ" in out.stderr


def test_analyze_refuses_a_nan_timeout() -> None:
    out = cli("analyze", "x^2", "--timeout", "nan")
    assert out.exit_code == 2
    assert "--timeout must be a finite number" in out.stderr


@pytest.mark.parametrize("command", [["grad", "(1-x)**2+100*(y-x**2)**2"], ["analyze", "x^2+y^2"]])
def test_rich_output_to_a_closed_pipe_exits_141(executable, command: list[str]) -> None:
    shell = " ".join(f"'{a}'" for a in [str(executable), *command]) + " | head -c 1 >/dev/null; echo ${PIPESTATUS[0]}"
    # once per command: test_edges.py's reader-that-went-away test covers every format through real pipes
    code = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60).stdout.strip()
    assert code in {"0", "141"}  # 0 when the output fitted in the pipe before head left


def test_help_catalogue_matches_the_registered_methods() -> None:
    from symdescent.methods import UPDATE_RULES
    from symdescent.optimizers import OPTIMIZERS

    assert list(UPDATE_RULES) == list(OPTIMIZERS)


def test_help_does_not_import_sympy_or_the_optimisers() -> None:
    code = (
        "import sys; from symdescent.cli import main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sympy', 'numpy') "
        "or m.startswith('symdescent.optimizers')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_an_unknown_engine_is_refused_not_ignored(monkeypatch) -> None:
    monkeypatch.setenv("SYMDESCENT_ENGINE", "bogus")
    out = cli("run", "x^2", "--start", "1", "-q", "--no-cache")
    assert out.exit_code == 2
    assert "SYMDESCENT_ENGINE must be auto, python or symengine, got 'bogus'" in out.stderr


def test_a_piped_table_has_no_trailing_spaces() -> None:
    out = cli("run", SEED, "--start", "1,2", "--format", "table")
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert any("4.47214" in line for line in lines)
    assert all(line == line.rstrip(" ") for line in lines)


def test_help_lists_every_command_from_the_one_table_without_importing_them() -> None:
    from importlib import import_module

    from symdescent.cli.commands import MODULES, SUMMARIES

    out = cli("--help")
    for name, summary in SUMMARIES.items():
        assert f"{name}  " in out.stdout and summary.split()[0] in out.stdout
        command = import_module(MODULES[name]).COMMAND
        assert (command.name, command.short_help) == (name, summary)
    modules = sorted(MODULES.values())
    probe = f"import sys; from symdescent.cli import main; print(sorted(m for m in sys.modules if m in {modules!r}))"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"
