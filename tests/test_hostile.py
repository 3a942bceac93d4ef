"""Hostile and broken input: every case answers with a documented exit code, one line, quickly.

Each row is (command line, expected exit code, a fragment of the one-line
message). Code 0/3/4 rows are valid inputs that must simply behave. Every
case runs in an empty working directory that must stay empty, within 2 s,
and must never show a traceback.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import cli, run_installed

R = ["run"]
S1 = ["--start", "1"]
S12 = ["--start", "1,2"]

CASES: list[tuple[str, list[str], int, str]] = [
    # -- code-injection shapes --------------------------------------------------------
    ("import-call", [*R, "__import__('os').system('touch pwned')", *S1], 2, "strings are not allowed"),
    ("dunder-name", [*R, "__import__", *S1], 2, "names starting with '_'"),
    ("subclasses", [*R, "().__class__.__bases__[0].__subclasses__()", *S1], 2, "attribute access"),
    ("attribute", [*R, "x.__class__", *S1], 2, "attribute access is not allowed at column 2"),
    ("attribute-real", [*R, "x.real", *S1], 2, "attribute access"),
    ("lambda", [*R, "lambda: 1", *S1], 2, "':' is not allowed"),
    ("lambda-x", [*R, "(lambda x: x)(1)", *S1], 2, "':' is not allowed"),
    ("list-comp", [*R, "[x for x in (1,)]", *S1], 2, "subscripts and lists"),
    ("gen-comp", [*R, "sum(x for x in y)", *S1], 2, "'for' is a Python keyword"),
    ("dict", [*R, "{x: 1}", *S1], 2, "sets and dicts"),
    ("f-string", [*R, 'f"{x}"', *S1], 2, "strings are not allowed"),
    ("string", [*R, "'x'", *S1], 2, "strings are not allowed"),
    ("bytes", [*R, "b'x'", *S1], 2, "strings are not allowed"),
    ("subscript", [*R, "x[0]", *S1], 2, "subscripts"),
    ("exec", [*R, "exec('1')", *S1], 2, "strings are not allowed"),
    ("eval-call", [*R, "eval(x)", *S1], 2, "unknown function 'eval'"),
    ("open", [*R, "open(x)", *S1], 2, "unknown function 'open'"),
    ("globals", [*R, "globals()", *S1], 2, "unknown function 'globals'"),
    ("ternary", [*R, "x if x else y", *S1], 2, "'if' is a Python keyword"),
    ("and", [*R, "x and y", *S12], 2, "'and' is a Python keyword"),
    ("not", [*R, "not x", *S1], 2, "'not' is a Python keyword"),
    ("statement", [*R, "x; import os", *S1], 2, "only one expression"),
    ("import", [*R, "import os", *S1], 2, "'import' is a Python keyword"),
    ("walrus", [*R, "(y := x)", *S1], 2, "':' is not allowed"),
    ("star", [*R, "*x", *S1], 2, "unexpected '*'"),
    ("double-star", [*R, "**x", *S1], 2, "unexpected '**'"),
    # '@' is the matrix product of the vector language: unnamed scalar start values do not fit it
    ("matmul", [*R, "x @ y", *S12], 2, "name the start values of a vector problem"),
    ("bitor", [*R, "x | y", *S12], 2, "bitwise"),
    ("invert", [*R, "~x", *S1], 2, "bitwise"),
    ("shift", [*R, "x << 2", *S1], 2, "comparisons"),
    ("comment", [*R, "x # y", *S1], 2, "comments are not allowed"),
    ("backslash", [*R, "x \\\n+ 1", *S1], 2, "backslashes"),
    ("sympy-call", [*R, "Symbol(x)", *S1], 2, "unknown function 'Symbol'"),
    ("sympify-call", [*R, "sympify(x)", *S1], 2, "unknown function 'sympify'"),
    ("getattr", [*R, "getattr(x, y)", *S12], 2, "unknown function 'getattr'"),
    ("builtins", [*R, "__builtins__", *S1], 2, "names starting with '_'"),
    ("complex-literal", [*R, "1j*x", *S1], 2, "missing operator"),
    ("hex", [*R, "0x10", *S1], 2, "missing operator"),
    # -- resource shapes ----------------------------------------------------------------
    ("power-tower", [*R, "9**9**9", *S1], 2, "number too large"),
    ("power-tower-x", [*R, "x*9**9**9", *S1], 2, "number too large"),
    ("factorial", [*R, "factorial(10**9)", *S1], 2, "unknown function 'factorial'"),
    ("huge-exponent", [*R, "x**(10**100)", *S1], 3, "overflows a float"),
    ("huge-float", [*R, "1e999999*x", *S1], 2, "too large"),
    ("huge-power", [*R, "10**10**10*x", *S1], 2, "number too large"),
    ("huge-literal", [*R, "1" * 5000 + "*x", *S1], 2, "number too long"),
    ("huge-product", [*R, "*".join(["10**300"] * 5) + "*x", *S1], 2, "number too large"),
    ("big-base", [*R, "(10**300)**(10**300)*x", *S1], 2, "number too large"),
    ("tiny-power", [*R, "2**-9**9*x", *S1], 2, "number too small"),
    ("nested-brackets", [*R, "(" * 5000 + "x" + ")" * 5000, *S1], 2, "nested deeper than 64"),
    ("nested-calls", [*R, "sin(" * 5000 + "x" + ")" * 5000, *S1], 2, "nested deeper than 64"),
    ("power-chain", [*R, "x" + "**x" * 5000, *S1], 2, "chain nested deeper"),
    ("many-minuses", [*R, "-" * 100_000 + "x**2", *S1], 0, ""),
    ("megabytes", [*R, "x+" * 1_000_000 + "x", *S1], 2, "too long"),
    ("overflow-at-start", [*R, "exp(exp(exp(x)))", "--start", "10"], 2, "overflows a float"),
    ("undefined-constant", [*R, "x + log(0)", *S1], 2, "undefined"),
    ("zero-division", [*R, "x/0", *S1], 2, "division by zero"),
    ("zero-power", [*R, "x + 0**-1", *S1], 2, "division by zero"),
    ("complex-constant", [*R, "x*sqrt(-1)", *S1], 2, "not a real number"),
    ("I", [*R, "I*x", *S1], 2, "'I' is not supported"),
    ("oo", [*R, "oo*x", *S1], 2, "'oo' is not supported"),
    ("nan-name", [*R, "nan + x", *S1], 2, "'nan' is not supported"),
    # -- look-alikes ----------------------------------------------------------------------
    ("fullwidth", [*R, "ｘ**2", *S1], 2, "FULLWIDTH LATIN SMALL LETTER X"),
    ("cyrillic", [*R, "х**2", *S1], 2, "CYRILLIC SMALL LETTER HA"),
    ("greek", [*R, "α*x", *S1], 2, "GREEK SMALL LETTER ALPHA"),
    ("superscript", [*R, "x²", *S1], 2, "SUPERSCRIPT TWO"),
    ("zero-width", [*R, "x\u200b**2", *S1], 2, "ZERO WIDTH SPACE"),
    ("nbsp", [*R, "x\u00a0+ 1", *S1], 2, "NO-BREAK SPACE"),
    ("unicode-minus", [*R, "x − 1", *S1], 2, "MINUS SIGN"),
    ("times", [*R, "x × y", *S12], 2, "MULTIPLICATION SIGN"),
    ("arabic-digit", [*R, "x**٢", *S1], 2, "ARABIC-INDIC DIGIT TWO"),
    ("fullwidth-digit", [*R, "x**２", *S1], 2, "FULLWIDTH DIGIT TWO"),
    ("rtl-override", [*R, "x\u202e+1", *S1], 2, "RIGHT-TO-LEFT OVERRIDE"),
    ("nul", [*R, "x\x01", *S1], 2, "unsupported character"),
    # -- syntax errors ----------------------------------------------------------------------
    ("trailing-op", [*R, "x +", *S1], 2, "ends too early"),
    ("open-bracket", [*R, "(x", *S1], 2, "never closed"),
    ("close-bracket", [*R, "x)", *S1], 2, "unexpected ')'"),
    ("dangling-power", [*R, "x**", *S1], 2, "ends too early"),
    ("double-comma", [*R, "atan2(x,,y)", *S12], 2, "unexpected ','"),
    ("empty-call", [*R, "sin()", *S1], 2, "unexpected ')'"),
    ("too-many-args", [*R, "log(x,2,3)", *S1], 2, "log() takes 1 or 2"),
    ("implicit-mult", [*R, "2x", *S1], 2, "write 2*x"),
    ("juxtaposed", [*R, "x y", *S12], 2, "missing operator"),
    ("empty-brackets", [*R, "()", *S1], 2, "unexpected ')'"),
    ("empty", [*R, "", *S1], 2, "empty"),
    ("blank", [*R, "   ", *S1], 2, "empty"),
    ("tuple", [*R, "x, y", *S12], 2, "unexpected ','"),
    ("floor-division", [*R, "x // 2", *S1], 2, "floor division"),
    ("modulo", [*R, "x % 2", *S1], 2, "remainder"),
    ("equation", [*R, "x**2 = 1", *S1], 2, "'=' is not allowed"),
    # -- unknown functions, no variables -------------------------------------------------------
    ("unknown-function", [*R, "foo(x)", *S1], 2, "unknown function 'foo'"),
    ("max", [*R, "Max(x, 1)", *S1], 2, "unknown function 'Max'"),
    ("gamma-call", [*R, "gamma(x)", *S1], 2, "unknown function 'gamma'"),
    ("constant-only", [*R, "3+4", *S1], 2, "no variables"),
    ("constants-only", [*R, "pi*E", *S1], 2, "no variables"),
    ("function-as-name", [*R, "sin*x", *S1], 2, "'sin' is a function"),
    # -- dimensions -----------------------------------------------------------------------------------
    ("start-too-short", [*R, "x**2+y**2", *S1], 2, "has 1 value(s) but the function has 2"),
    ("start-too-long", [*R, "x**2+y**2", "--start", "1,2,3"], 2, "has 3 value(s)"),
    ("start-unknown-name", [*R, "x**2+y**2", "--start", "x=1,z=2"], 2, "'z' is not a variable"),
    ("start-twice", [*R, "x**2+y**2", "--start", "x=1,x=2"], 2, "given twice"),
    ("start-mixed", [*R, "x**2+y**2", "--start", "x=1,2"], 2, "mix of named and unnamed"),
    ("start-empty", [*R, "x**2", "--start", ""], 2, "empty"),
    ("at-too-short", ["grad", "x**2+y**2", "--at", "1"], 2, "has 1 value(s)"),
    ("vars-missing", [*R, "x+y", "--vars", "x", *S1], 2, "which --vars does not list"),
    ("vars-twice", [*R, "x", "--vars", "x,x", *S1], 2, "more than once"),
    ("param-unknown", [*R, "x", "--param", "a=1", *S1], 2, "does not appear"),
    ("param-bad", [*R, "a*x", "--param", "a", *S1], 2, "write name=value"),
    ("param-nan", [*R, "a*x", "--param", "a=nan", *S1], 2, "'nan' is not supported"),
    # -- option values ----------------------------------------------------------------------------------
    ("lr-nan", [*R, "x**2", *S1, "--lr", "nan"], 2, "'nan' is not supported"),
    ("lr-inf", [*R, "x**2", *S1, "--lr", "inf"], 2, "'inf' is not supported"),
    ("lr-huge", [*R, "x**2", *S1, "--lr", "1e999"], 2, "too large"),
    ("lr-negative", [*R, "x**2", *S1, "--lr", "-1"], 2, "must be positive"),
    ("lr-zero", [*R, "x**2", *S1, "--lr", "0"], 2, "must be positive"),
    ("lr-text", [*R, "x**2", *S1, "--lr", "fast"], 2, "a number is needed"),
    ("tol-nan", [*R, "x**2", *S1, "--tol", "nan"], 2, "'nan' is not supported"),
    ("tol-negative", [*R, "x**2", *S1, "--tol", "-1"], 2, "must not be negative"),
    ("steps-negative", [*R, "x**2", *S1, "--steps", "-5"], 2, "Invalid value for '--steps'"),
    ("steps-text", [*R, "x**2", *S1, "--steps", "many"], 2, "Invalid value for '--steps'"),
    ("every-zero", [*R, "x**2", *S1, "--every", "0"], 2, "Invalid value for '--every'"),
    ("digits-zero", [*R, "x**2", *S1, "--digits", "0"], 2, "Invalid value for '--digits'"),
    ("start-arabic", [*R, "x**2", "--start", "٣"], 2, "ARABIC-INDIC DIGIT THREE"),
    ("start-nan", [*R, "x**2", "--start", "nan"], 2, "'nan' is not supported"),
    ("start-inf", [*R, "x**2", "--start", "1e400"], 2, "too large"),
    ("unknown-method", [*R, "x**2", *S1, "--method", "magic"], 2, "Invalid value for '--method'"),
    ("unknown-format", [*R, "x**2", *S1, "--format", "xml"], 2, "Invalid value for '--format'"),
    ("misspelt-option", [*R, "x**2", *S1, "--stpes", "3"], 2, "Did you mean '--steps'?"),
    # -- the domain at the start ------------------------------------------------------------------------------
    ("log-zero", [*R, "log(x)", "--start", "0"], 2, "log(x) is undefined at x = 0"),
    ("sqrt-negative", [*R, "sqrt(x)", "--start", "-1"], 2, "sqrt(x) is not real at x = -1"),
    ("inverse-zero", [*R, "1/x", "--start", "0"], 2, "1/x is undefined at x = 0"),
    ("fractional-power", [*R, "x**0.5", "--start", "-1"], 2, "is not real at x = -1"),
    ("asin-out", [*R, "asin(x)", "--start", "2"], 2, "asin(x) is not real at x = 2"),
    ("log-negative", [*R, "log(-x)", "--start", "1"], 2, "is not real at x = 1"),
    ("sqrt-gradient", [*R, "sqrt(x)", "--start", "0"], 2, "the gradient fails"),
    ("grad-at-undefined", ["grad", "log(x)", "--at", "0"], 2, "log(x) is undefined at x = 0"),
    # -- divergence and non-differentiable points -----------------------------------------------------------------
    ("diverge", [*R, "x**2", *S1, "--lr", "1.5"], 3, "at step 512"),
    ("leave-domain", [*R, "log(x)+x**2", *S1, "--lr", "2"], 3, "log(x) is not real at x = -5"),
    ("ascent-overflow", [*R, "exp(x)", "--start", "0", "--maximize", "--lr", "10"], 3, "diverged"),
    ("abs-kink", [*R, "abs(x)", "--start", "0"], 0, ""),
    ("sqrt-square-kink", [*R, "sqrt(x**2)", "--start", "0"], 0, ""),
    ("abs-oscillates", [*R, "abs(x)", "--start", "1", "--lr", "0.3"], 4, "step limit"),
    ("plain-names", [*R, "beta**2+gamma**2+lambda**2+N**2+S**2+O**2+Q**2", "--start", "1,1,1,1,1,1,1"], 0, ""),
]


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 80


@pytest.mark.parametrize(("args", "code", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    started = time.process_time()  # CPU time: a busy machine must not fail the test
    out = cli(*args)
    elapsed = time.process_time() - started
    assert out.exit_code == code, (out.stdout[-500:], out.stderr)
    assert fragment in out.stderr
    assert "Traceback" not in out.stderr
    assert elapsed < 2.0
    assert os.listdir(tmp_path) == []
    if code == 2:
        assert out.stdout == ""
        lines = out.stderr.splitlines()
        errors = [line for line in lines if line.startswith("Error:")]
        assert len(errors) == 1
        assert all(line.startswith(("Error:", "Hint:", "Usage:", "Try ")) or not line for line in lines)


def test_injection_through_the_installed_program_creates_nothing(executable, tmp_path: Path) -> None:
    # the first through the installed program, the others in-process (the same code), all from tmp_path
    proc = run_installed(executable, "run", "__import__('os').system('touch pwned')", "--start", "1", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: ")
    assert "Traceback" not in proc.stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        for text in ("open('pwned','w')", "x.__class__"):
            out = cli("run", text, "--start", "1")
            assert out.exit_code == 2
            assert out.stderr.startswith("Error: ")
            assert "Traceback" not in out.stderr
    assert os.listdir(tmp_path) == []
