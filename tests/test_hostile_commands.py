"""Hostile and broken input for the newer commands and options: explain, analyze, compare,
grad --format latex, and run --exact, --working-precision, --explain, --plot and --method.

The same table as tests/test_hostile.py: (id, command line, expected exit code,
a fragment of stderr). Rows with code 0/3/4/5 are valid inputs that must simply
behave (converge, diverge, hit the step limit, stop as too slow) with their
documented code. Every case runs in an empty working directory that must stay
empty, within 2 s, never shows a traceback, and a code-2 case prints exactly
one ``Error:`` line (and at most a ``Hint:``) and nothing on stdout.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROSENBROCK as ROS
from conftest import cli

R = ["run"]
S1 = ["--start", "1"]
S12 = ["--start", "1,2"]
E = ["explain"]
A = ["analyze"]
C = ["compare"]
GL = ["grad", "--format", "latex"]
NEST = "(" * 5000 + "x" + ")" * 5000
BIG = "+".join(f"x{i}**2" for i in range(2000))

CASES: list[tuple[str, list[str], int, str]] = [
    ("explain-import", [*E, "__import__('os').system('touch pwned')", *S1], 2, "strings are not allowed"),
    ("explain-attr", [*E, "x.__class__", *S1], 2, "attribute access"),
    ("explain-lambda", [*E, "(lambda x: x)(1)", *S1], 2, "':' is not allowed"),
    ("explain-cyrillic", [*E, "х**2", *S1], 2, "CYRILLIC"),
    ("explain-nested", [*E, NEST, *S1], 2, "nested deeper than 64"),
    ("explain-tower", [*E, "x*9**9**9", *S1], 2, "number too large"),
    ("explain-1e999999", [*E, "1e999999*x", *S1], 2, "too large"),
    ("explain-megabytes", [*E, "x+" * 1_000_000 + "x", *S1], 2, "too long"),
    ("explain-lr-zero", [*E, "x**2", *S1, "--lr", "0"], 2, "positive"),
    ("explain-lr-neg", [*E, "x**2", *S1, "--lr", "-1"], 2, "positive"),
    ("explain-lr-nan", [*E, "x**2", *S1, "--lr", "nan"], 2, "'nan' is not supported"),
    ("explain-lr-huge", [*E, "x**2", *S1, "--lr", "1e999"], 2, "too large"),
    ("explain-lr-text", [*E, "x**2", *S1, "--lr", "fast"], 2, "a number is needed"),
    ("explain-lr-complex", [*E, "x**2", *S1, "--lr", "sqrt(-1)"], 2, "not a real number"),
    ("explain-lr-tower", [*E, "x**2", *S1, "--lr", "9**9**9"], 2, "number too large"),
    ("explain-lr-inject", [*E, "x**2", *S1, "--lr", "__import__('os')"], 2, "strings are not allowed"),
    ("explain-start-inject", [*E, "x**2", "--start", "x.__class__"], 2, "attribute access"),
    ("explain-start-dims", [*E, "x**2+y**2", *S1], 2, "has 1 value(s)"),
    ("explain-start-tower", [*E, "x**2", "--start", "9**9**9"], 2, "number too large"),
    ("explain-start-big", [*E, "x**4", "--start", "10**400", "--iterates", "100"], 2, "number too large"),
    ("explain-log0", [*E, "log(x)", "--start", "0"], 2, "undefined"),
    ("explain-iterates-huge", [*E, "x**2", *S1, "--iterates", "1000000"], 2, "Invalid value for '--iterates'"),
    ("explain-iterates-neg", [*E, "x**2", *S1, "--iterates", "-1"], 2, "Invalid value for '--iterates'"),
    ("explain-format", [*E, "x**2", *S1, "--format", "html"], 2, "Invalid value for '--format'"),
    ("explain-ros-100", [*E, ROS, "--start", "-1.2,1", "--lr", "0.001", "--iterates", "100"], 0, ""),
    ("explain-diverge", [*E, "x**4", "--start", "10", "--lr", "1", "--iterates", "100"], 0, ""),
    ("explain-unbounded", [*E, "-x**4", *S1, "--iterates", "100"], 0, ""),
    ("explain-cubic", [*E, "x**3", *S1, "--iterates", "100"], 0, ""),
    ("explain-inverse", [*E, "1/x", "--start", "0.001"], 0, ""),
    ("explain-log", [*E, "log(x)", *S1, "--lr", "2"], 0, ""),
    ("explain-abs", [*E, "abs(x)+abs(y)", "--start", "0,0"], 0, ""),
    ("explain-exp-tower", [*E, "exp(exp(exp(x)))", "--start", "2"], 2, "overflows a float"),
    ("explain-param-big", [*E, "a*x**2", "--param", "a=10**400", *S1], 2, "number too large"),
    ("explain-pi-start", [*E, "sin(x)", "--start", "pi/4", "--iterates", "3"], 0, ""),
    ("analyze-import", [*A, "__import__('os')"], 2, "strings are not allowed"),
    ("analyze-attr", [*A, "x.real"], 2, "attribute access"),
    ("analyze-fullwidth", [*A, "ｘ**2"], 2, "FULLWIDTH"),
    ("analyze-nested", [*A, NEST], 2, "nested deeper"),
    ("analyze-tower", [*A, "x*9**9**9"], 2, "number too large"),
    ("analyze-megabytes", [*A, "x+" * 1_000_000 + "x"], 2, "too long"),
    ("analyze-timeout-0", [*A, "x**2", "--timeout", "0"], 2, "Invalid value for '--timeout'"),
    ("analyze-timeout-neg", [*A, "x**2", "--timeout", "-1"], 2, "Invalid value for '--timeout'"),
    ("analyze-timeout-nan", [*A, "x**2", "--timeout", "nan"], 2, "--timeout must be a finite number"),
    ("analyze-timeout-inf", [*A, "x**2", "--timeout", "inf"], 2, "Invalid value for '--timeout'"),
    ("analyze-timeout-huge", [*A, "x**2", "--timeout", "1e9"], 2, "Invalid value for '--timeout'"),
    ("analyze-timeout-text", [*A, "x**2", "--timeout", "soon"], 2, "Invalid value for '--timeout'"),
    ("analyze-11-vars", [*A, "+".join(f"x{i}**2" for i in range(11))], 2, "at most 10 variables"),
    ("analyze-constant", [*A, "3+4"], 2, "no variables"),
    ("analyze-huge-exp", [*A, "x**(10**100)", "--timeout", "0.5"], 0, ""),
    ("analyze-periodic", [*A, "sin(x)*cos(y)", "--timeout", "0.5"], 0, ""),
    ("analyze-hard-poly", [*A, "x**7-3*x**5+y**6+x*y**3+x**2*y**5", "--timeout", "0.5", "--format", "json"], 0, ""),
    ("analyze-exp-tower", [*A, "exp(exp(exp(x)))+y**2", "--timeout", "0.5"], 0, ""),
    ("analyze-abs", [*A, "abs(x)+abs(y)", "--timeout", "0.5"], 0, ""),
    ("analyze-log", [*A, "log(x)+1/x", "--timeout", "0.5"], 0, ""),
    ("analyze-cubic", [*A, "x**3", "--timeout", "0.5", "--format", "json"], 0, ""),
    ("analyze-huge-coef", [*A, "10**400*x**2+10**-400*y**2", "--format", "json"], 2, "number too large"),
    ("analyze-cbrt", [*A, "x**(1/3)+y**2", "--timeout", "0.5"], 0, ""),
    ("compare-import", [*C, "__import__('os')", *S1], 2, "strings are not allowed"),
    ("compare-subscript", [*C, "x[0]", *S1], 2, "subscripts"),
    ("compare-zero-width", [*C, "x\u200b**2", *S1], 2, "ZERO WIDTH SPACE"),
    ("compare-nested", [*C, NEST, *S1], 2, "nested deeper"),
    ("compare-tower", [*C, "x*9**9**9", *S1], 2, "number too large"),
    ("compare-methods-empty", [*C, "x**2", *S1, "--methods", ""], 2, "--methods is empty"),
    ("compare-methods-commas", [*C, "x**2", *S1, "--methods", ",,,"], 2, "--methods is empty"),
    ("compare-methods-bogus", [*C, "x**2", *S1, "--methods", "gd,magic"], 2, "unknown method 'magic'"),
    ("compare-methods-dup", [*C, "x**2", *S1, "--methods", "gd,adam,gd"], 2, "more than once"),
    ("compare-methods-all-gd", [*C, "x**2", *S1, "--methods", "all,gd"], 2, "unknown method 'all'"),
    ("compare-methods-inject", [*C, "x**2", *S1, "--methods", "__import__('os')"], 2, "unknown method"),
    ("compare-lr-unknown", [*C, "x**2", *S1, "--methods", "gd", "--lr", "magic=0.1"], 2, "not among the methods"),
    ("compare-lr-not-compared", [*C, "x**2", *S1, "--methods", "gd", "--lr", "adam=0.1"], 2, "not among the methods"),
    ("compare-lr-newton", [*C, "x**2", *S1, "--methods", "gd,newton", "--lr", "newton=0.1"], 2, "has no learning rate"),
    ("compare-lr-mixed", [*C, "x**2", *S1, "--methods", "gd,adam", "--lr", "0.1,adam=0.2"], 2, "mix of"),
    ("compare-lr-nan", [*C, "x**2", *S1, "--methods", "gd", "--lr", "gd=nan"], 2, "'nan' is not supported"),
    ("compare-lr-zero", [*C, "x**2", *S1, "--methods", "gd", "--lr", "gd=0"], 2, "must be positive"),
    ("compare-lr-empty", [*C, "x**2", *S1, "--methods", "gd", "--lr", "gd="], 2, "is empty: a number is needed"),
    ("compare-lr-dup", [*C, "x**2", *S1, "--methods", "gd", "--lr", "gd=0.1,gd=0.2"], 2, "more than one learning rate"),
    ("compare-lr-inject", [*C, "x**2", *S1, "--methods", "gd", "--lr", "gd=__import__('os')"], 2, "strings are not"),
    ("compare-momentum-1.5", [*C, "x**2", *S1, "--methods", "momentum", "--momentum", "1.5"], 2, "must lie in [0, 1)"),
    ("compare-beta2-1", [*C, "x**2", *S1, "--methods", "adam", "--beta2", "1"], 2, "must lie in [0, 1)"),
    (
        "compare-unused",
        [*C, "x**2", *S1, "--methods", "gd", "--beta1", "0.5"],
        2,
        "none of the methods compared uses beta1",
    ),
    ("compare-steps-neg", [*C, "x**2", *S1, "--steps", "-1"], 2, "Invalid value for '--steps'"),
    ("compare-tol-nan", [*C, "x**2", *S1, "--tol", "nan"], 2, "'nan' is not supported"),
    ("compare-log0", [*C, "log(x)", "--start", "0"], 2, "undefined"),
    ("compare-plot-ext", [*C, "x**2", *S1, "--plot", "out.txt"], 2, "picture format"),
    ("compare-plot-nodir", [*C, "x**2", *S1, "--plot", "nodir/out.png"], 2, "does not exist"),
    ("compare-cubic", [*C, "x**3", *S1, "--steps", "200", "--format", "json"], 0, ""),
    ("compare-quartic", [*C, "-x**4", *S1, "--steps", "200", "--format", "json"], 0, ""),
    ("compare-abs", [*C, "abs(x)+abs(y)", "--start", "1,2", "--steps", "200", "--format", "json"], 0, ""),
    ("compare-inverse", [*C, "1/x", "--start", "0.001", "--steps", "200", "--format", "json"], 0, ""),
    ("compare-inverse-neg", [*C, "1/x", "--start", "-0.001", "--steps", "200", "--format", "json"], 0, ""),
    ("compare-log", [*C, "log(x)", *S1, "--steps", "200", "--format", "json"], 0, ""),
    ("compare-exp", [*C, "exp(-x)", "--start", "0", "--steps", "200", "--format", "json"], 0, ""),
    ("compare-huge-coef", [*C, "10**400*x**2", *S1, "--steps", "50", "--format", "json"], 2, "number too large"),
    (
        "compare-many-vars",
        [*C, BIG, "--start", ",".join(["1"] * 2000), "--methods", "gd,newton", "--steps", "3", "--format", "json"],
        2,
        "at most 100 variables",
    ),
    ("gradl-import", [*GL, "__import__('os')"], 2, "strings are not allowed"),
    ("gradl-backslash", [*GL, "x\\input{/etc/passwd}"], 2, "backslashes"),
    ("gradl-braces", [*GL, "x^{2}"], 2, "sets and dicts"),
    ("gradl-nested", [*GL, NEST], 2, "nested deeper"),
    ("gradl-tower", [*GL, "x*9**9**9"], 2, "number too large"),
    ("gradl-megabytes", [*GL, "x+" * 1_000_000 + "x"], 2, "too long"),
    ("gradl-huge-exp", [*GL, "x**(10**100)"], 0, ""),
    ("gradl-long-sum", [*GL, "+".join(["x*y"] * 10000)], 0, ""),
    ("gradl-at-log0", [*GL, "log(x)", "--at", "0"], 2, "undefined"),
    ("gradl-names", [*GL, "lambda**2+beta*gamma+Q+begin+end"], 0, ""),
    ("exact-ros", [*R, ROS, "--start", "-1.2,1", "--lr", "0.001", "--exact"], 5, "too_slow"),
    ("exact-ros-json", [*R, ROS, "--start", "-1.2,1", "--lr", "0.001", "--exact", "--format", "json"], 5, "too_slow"),
    ("exact-exp", [*R, "exp(x)+x**2", *S1, "--exact", "--steps", "50"], 2, "polynomials and fractions"),
    ("exact-sin", [*R, "sin(x)", *S1, "--exact", "--steps", "6"], 2, "polynomials and fractions"),
    ("exact-big-start", [*R, "x**4", "--start", "10**400", "--exact"], 2, "number too large"),
    ("exact-wp", [*R, "x**2", *S1, "--exact", "--working-precision", "30"], 2, "exclude each other"),
    (
        "exact-adam",
        [*R, "x**2+y**2", *S12, "--exact", "--method", "adam", "--steps", "30"],
        2,
        "works with the methods",
    ),
    ("exact-log", [*R, "log(x)", *S1, "--exact", "--lr", "2"], 3, ""),
    ("exact-inverse", [*R, "1/x", *S1, "--exact", "--lr", "1"], 5, "too_slow"),
    ("wp-0", [*R, "x**2", *S1, "--working-precision", "0"], 2, "Invalid value for '--working-precision'"),
    ("wp-huge", [*R, "x**2", *S1, "--working-precision", "1000000000"], 2, "Invalid value for '--working-precision'"),
    ("wp-neg", [*R, "x**2", *S1, "--working-precision", "-5"], 2, "Invalid value for '--working-precision'"),
    ("wp-text", [*R, "x**2", *S1, "--working-precision", "lots"], 2, "Invalid value for '--working-precision'"),
    ("wp-log0", [*R, "log(x)", "--start", "0", "--working-precision", "30"], 2, "undefined"),
    ("wp-lr-nan", [*R, "x**2", *S1, "--working-precision", "30", "--lr", "nan"], 2, "'nan' is not supported"),
    ("wp-digits", [*R, "x**2", *S1, "--working-precision", "30", "--digits", "30"], 2, "Invalid value for '--digits'"),
    ("explain-run-nolr", [*R, "x**2", *S1, "--explain"], 0, ""),
    ("explain-run-adam", [*R, "x**2", *S1, "--explain", "--method", "adam"], 2, "--explain"),
    ("explain-run-max", [*R, "-x**2", *S1, "--explain", "--maximize"], 2, "--explain"),
    ("explain-run-log0", [*R, "log(x)", "--start", "0", "--explain"], 2, "undefined"),
    ("explain-run-json", [*R, "x**2", *S1, "--explain", "--lr", "0.1", "--format", "json"], 0, ""),
    ("explain-run-lr-nan", [*R, "x**2", *S1, "--explain", "--lr", "nan"], 2, "nan"),
    ("explain-run-exact", [*R, "x**2", *S1, "--explain", "--lr", "1/10", "--exact", "--format", "json"], 0, ""),
    (
        "wp-10000",
        [*R, "x**2", *S1, "--working-precision", "10000", "--steps", "3", "--tol", "0", "--format", "json"],
        0,
        "",
    ),
    ("plot-ext", [*R, "x**2", *S1, "--plot", "out.txt"], 2, "picture format"),
    ("plot-noext", [*R, "x**2", *S1, "--plot", "out"], 2, "picture format"),
    ("plot-empty", [*R, "x**2", *S1, "--plot", ""], 2, "no file name given for the picture"),
    ("plot-nodir", [*R, "x**2", *S1, "--plot", "nodir/out.png"], 2, "does not exist"),
    ("plot-dir", [*R, "x**2", *S1, "--plot", "."], 2, "picture format"),
    ("plot-dir-png", [*R, "x**2", *S1, "--plot", "/tmp"], 2, "picture format"),
    ("plot-bad-start", [*R, "log(x)", "--start", "0", "--plot", "out.png"], 2, "undefined"),
    ("plot-nul", [*R, "x**2", *S1, "--plot", "a\x00.png"], 2, "NUL character"),
    ("plot-ext-inject", [*R, "x**2", *S1, "--plot", "out.png;rm -rf x.py"], 2, "picture format"),
    ("newton-log", [*R, "log(x)", *S1, "--method", "newton"], 3, ""),
    ("newton-abs", [*R, "abs(x)+abs(y)", *S12, "--method", "newton"], 0, ""),
    ("newton-quartic", [*R, "-x**4", *S1, "--method", "newton"], 3, ""),
    ("newton-cubic", [*R, "x**3", *S1, "--method", "newton"], 0, ""),
    ("newton-inverse", [*R, "1/x", "--start", "0.001", "--method", "newton"], 0, ""),
    ("newton-inverse-neg", [*R, "1/x", "--start", "-0.001", "--method", "newton"], 0, ""),
    ("newton-lr", [*R, "x**2", *S1, "--method", "newton", "--lr", "0.1"], 2, "newton does not use --lr"),
    (
        "newton-101",
        [*R, "+".join(f"x{i}**2" for i in range(101)), "--start", ",".join(["1"] * 101), "--method", "newton"],
        2,
        "at most 100 variables",
    ),
    ("bt-log", [*R, "log(x)", *S1, "--method", "backtracking"], 3, ""),
    ("bt-quartic", [*R, "-x**4", *S1, "--method", "backtracking"], 3, ""),
    ("bt-cubic", [*R, "x**3", *S1, "--method", "backtracking"], 3, ""),
    ("bt-inverse", [*R, "1/x", "--start", "0.001", "--method", "backtracking"], 4, ""),
    ("bt-abs", [*R, "abs(x)", "--start", "0.3", "--method", "backtracking"], 0, ""),
    ("bt-lr-huge", [*R, "x**2", *S1, "--method", "backtracking", "--lr", "1e300"], 3, "f became inf"),
    ("bt-lr-tiny", [*R, "x**2", *S1, "--method", "backtracking", "--lr", "1e-300"], 4, ""),
    ("el-cubic", [*R, "x**3", *S1, "--method", "exact-line"], 3, "f is unbounded below"),
    ("el-quartic", [*R, "-x**4", *S1, "--method", "exact-line"], 3, "f is unbounded below"),
    ("el-log", [*R, "log(x)", *S1, "--method", "exact-line"], 4, "stalled after"),
    ("el-inverse", [*R, "1/x", "--start", "0.001", "--method", "exact-line"], 0, ""),
    ("el-exp", [*R, "exp(-x)", "--start", "0", "--method", "exact-line"], 0, ""),
    ("el-abs", [*R, "abs(x)+abs(y)", *S12, "--method", "exact-line"], 4, "stalled after"),
    ("el-lr", [*R, "x**2", *S1, "--method", "exact-line", "--lr", "0.1"], 2, "does not use --lr"),
    ("el-ros", [*R, ROS, "--start", "-1.2,1", "--method", "exact-line", "--steps", "2000"], 4, ""),
    ("el-deg9", [*R, "x**9+x**10+y**2", *S12, "--method", "exact-line"], 0, ""),
    ("el-huge-exp", [*R, "x**(10**100)", *S1, "--method", "exact-line"], 4, "stalled after"),
    ("cg-cubic", [*R, "x**3", *S1, "--method", "cg"], 0, ""),
    ("cg-quartic", [*R, "-x**4", *S1, "--method", "cg"], 3, "f is unbounded below"),
    ("cg-log", [*R, "log(x)", *S1, "--method", "cg"], 4, "stalled after"),
    ("cg-inverse", [*R, "1/x", "--start", "0.001", "--method", "cg"], 0, ""),
    ("cg-exp", [*R, "exp(-x)", "--start", "0", "--method", "cg"], 0, ""),
    ("cg-abs", [*R, "abs(x)+abs(y)", *S12, "--method", "cg"], 0, ""),
    ("cg-huge-exp", [*R, "x**(10**100)", "--start", "0.5", "--method", "cg"], 0, ""),
    ("momentum-1.5", [*R, "x**2", *S1, "--method", "momentum", "--momentum", "1.5"], 2, "momentum"),
    ("momentum-1", [*R, "x**2", *S1, "--method", "momentum", "--momentum", "1"], 2, "momentum"),
    ("momentum-neg", [*R, "x**2", *S1, "--method", "nesterov", "--momentum", "-0.1"], 2, "momentum"),
    ("beta2-1", [*R, "x**2", *S1, "--method", "adam", "--beta2", "1"], 2, "beta2"),
    ("beta1-nan", [*R, "x**2", *S1, "--method", "adam", "--beta1", "nan"], 2, "'nan' is not supported"),
    ("decay-1", [*R, "x**2", *S1, "--method", "rmsprop", "--decay", "1"], 2, "decay"),
    ("eps-0", [*R, "x**2", *S1, "--method", "adam", "--eps", "0"], 2, "must be positive"),
    ("eps-inf", [*R, "x**2", *S1, "--method", "adagrad", "--eps", "1e999"], 2, "too large"),
    ("gd-momentum", [*R, "x**2", *S1, "--momentum", "0.5"], 2, "does not use --momentum"),
    ("rmsprop-inverse", [*R, "1/x", "--start", "0.001", "--method", "rmsprop"], 4, "step limit"),
]


def test_the_corpus_is_large_and_covers_every_command() -> None:
    assert len(CASES) >= 60
    ids = [c[0] for c in CASES]
    assert len(set(ids)) == len(ids)
    commands = Counter(c[1][0] if c[1][0] != "grad" else "grad-latex" for c in CASES)
    for command in ("explain", "analyze", "compare", "grad-latex", "run"):
        assert commands[command] >= 10, commands
    run_options = {a for c in CASES if c[1][0] == "run" for a in c[1]}
    assert {"--exact", "--working-precision", "--explain", "--plot", "--method"} <= run_options


@pytest.mark.parametrize(("args", "code", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input_to_the_newer_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    # CPU time, not wall time: a loaded machine must not fail a run that does little work
    # (analyze's solver runs in a child process, bounded by its own timeout)
    started = time.process_time()
    out = cli(*args)
    elapsed = time.process_time() - started
    assert out.exit_code == code, (out.stdout[-500:], out.stderr[-1000:])
    assert fragment in out.stderr
    assert "Traceback" not in out.stderr
    assert "internal error" not in out.stderr
    assert elapsed < 2.0
    assert os.listdir(tmp_path) == []
    if code == 2:
        assert out.stdout == ""
        lines = out.stderr.splitlines()
        errors = [line for line in lines if line.startswith("Error:")]
        assert len(errors) == 1
        assert all(line.startswith(("Error:", "Hint:", "Usage:", "Try ")) or not line for line in lines)
        assert len([line for line in lines if line.startswith("Hint:")]) <= 1
