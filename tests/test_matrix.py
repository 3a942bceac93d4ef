"""Every renderer × every arithmetic × a few methods, and the options that meet them.

The crashes this catches sat where two options meet (``--exact --plot``):
each cell runs ``symdescent run`` in-process and checks real properties —
the exit code, that the output parses in its format, and that the numbers
agree across float, exact and 30-digit arithmetic to rounding.
"""

from __future__ import annotations

import csv
import io
import json
import math
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symdescent.parsing import parse_constant

FUNCTION = "x**2 + 3*y**2"
START = "1,2"
#: The minimum is (0, 0); α = 1/4 is the fastest step (λ = 2, 6), and exact iterates stay powers of 2.
BASE = ["--start", START, "--lr", "0.25", "--steps", "200"]

ARITHMETICS = {"float": [], "exact": ["--exact"], "digits": ["--working-precision", "30"]}
RENDERERS = ("table", "csv", "tsv", "json", "jsonl", "quiet", "plot", "explain")
METHODS = ("gd", "momentum", "nesterov")  # the methods that run in every arithmetic


def value(text: str | float) -> float:
    """A number as any format writes it: a float, a decimal string or SymPy syntax (4/5, 2*sqrt(37))."""
    if isinstance(text, float | int):
        return float(text)
    try:
        return float(Fraction(text))
    except ValueError:
        return float(parse_constant(str(text)))


def method_args(method: str) -> list[str]:
    return ["--method", method] + (["--momentum", "0.25"] if method != "gd" else [])


def renderer_args(renderer: str, tmp_path: Path) -> list[str]:
    if renderer == "quiet":
        return ["-q"]
    if renderer == "plot":
        return ["--format", "json", "--plot", str(tmp_path / "run.png")]
    if renderer == "explain":
        return ["--format", "table", "--explain"]
    return ["--format", renderer]


def final_point(renderer: str, out: str, names: int = 2) -> tuple[float, ...] | None:
    """The last point the output reports, parsed as its format says (None when the format has no numbers)."""
    if renderer in ("json", "plot"):
        data = json.loads(out)
        assert data["history"][-1]["x"] == data["x"]
        return tuple(map(value, data["x"].values()))
    if renderer == "jsonl":
        lines = [json.loads(line) for line in out.splitlines()]
        assert [e["event"] for e in lines[:-1]] == ["step"] * (len(lines) - 1) and lines[-1]["event"] == "result"
        return tuple(map(value, lines[-1]["x"].values()))
    if renderer in ("csv", "tsv"):
        rows = list(csv.reader(io.StringIO(out), delimiter="," if renderer == "csv" else "\t"))
        assert rows[0][0] == "step" and sorted(rows[0][1:3]) == ["x", "y"] and all(len(r) == len(rows[0]) for r in rows)
        assert [int(r[0]) for r in rows[1:]] == sorted(int(r[0]) for r in rows[1:])
        return tuple(value(v) for v in rows[-1][1 : 1 + names])
    if renderer == "quiet":
        return tuple(value(v) for v in out.split())
    return None


def run(renderer: str, arithmetic: str, method: str, tmp_path: Path, *extra: str) -> tuple[float, ...] | None:
    args = ["run", FUNCTION, *BASE, *method_args(method), *ARITHMETICS[arithmetic], *extra]
    out = cli(*args, *renderer_args(renderer, tmp_path))
    assert out.exit_code == 0, (args, out.stderr)
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr
    if renderer == "plot":
        assert (tmp_path / "run.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if renderer in ("table", "explain"):
        assert "converged" in out.stdout
    if renderer == "explain":
        assert "The gradient" in out.stdout and "The update rule" in out.stdout
    return final_point(renderer, out.stdout)


@pytest.mark.parametrize("arithmetic", sorted(ARITHMETICS))
@pytest.mark.parametrize("renderer", RENDERERS)
def test_every_renderer_in_every_arithmetic(renderer: str, arithmetic: str, tmp_path: Path) -> None:
    point = run(renderer, arithmetic, "gd", tmp_path)
    if point is not None:
        assert point == pytest.approx((0.0, 0.0), abs=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_the_arithmetics_agree_to_rounding(method: str, tmp_path: Path) -> None:
    """The same run in floats, exactly and with 30 digits: the same steps, the same numbers to rounding."""
    runs = {}
    for arithmetic in ARITHMETICS:
        out = cli("run", FUNCTION, *BASE, *method_args(method), "--format", "json", *ARITHMETICS[arithmetic])
        assert out.exit_code == 0, out.stderr
        runs[arithmetic] = json.loads(out.stdout)
    steps = {name: data["steps"] for name, data in runs.items()}
    assert len(set(steps.values())) == 1, steps
    reference = [tuple(map(value, s["x"].values())) for s in runs["exact"]["history"]]
    for name in ("float", "digits"):
        history = [tuple(map(value, s["x"].values())) for s in runs[name]["history"]]
        for got, want in zip(history, reference, strict=True):
            assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
        assert value(runs[name]["f"]) == pytest.approx(value(runs["exact"]["f"]), rel=1e-9, abs=1e-15)


OPTIONS = {
    "every": (["--every", "5"], FUNCTION),
    "maximize": (["--maximize"], "-(x**2) - 3*y**2"),
    "vars": (["--vars", "y,x", "--start", "2,1"], FUNCTION),
    "param": (["--param", "a=3"], "x**2 + a*y**2"),
    "plot": ([], FUNCTION),  # the renderer adds --plot
    "explain": ([], FUNCTION),
}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    renderer=st.sampled_from(RENDERERS),
    arithmetic=st.sampled_from(sorted(ARITHMETICS)),
    method=st.sampled_from(METHODS),
    options=st.sets(st.sampled_from(sorted(OPTIONS)), max_size=2),
)
def test_option_pairs(renderer: str, arithmetic: str, method: str, options: set[str], tmp_path: Path) -> None:
    """Any two of --every, --maximize, --vars, --param with any renderer, arithmetic and method."""
    function = FUNCTION
    extra: list[str] = []
    if "maximize" in options and "param" in options:
        options = options - {"param"}
    for option in sorted(options):
        args, function = OPTIONS[option][0], OPTIONS[option][1] if option in ("maximize", "param") else function
        extra += args
    if "plot" in options and renderer not in ("explain", "plot"):
        renderer = "plot"
    if "explain" in options or renderer == "explain":
        if "maximize" in options or method != "gd":
            return  # --explain derives plain gradient descent (a documented refusal, tested elsewhere)
        renderer = "explain"
    start = ["--start", "2,1"] if "vars" in options else ["--start", START]
    args = ["run", function, *start, "--lr", "0.25", "--steps", "200", *method_args(method)]
    args += [a for a in extra if a not in ("--start", "2,1")] + ARITHMETICS[arithmetic]
    out = cli(*args, *renderer_args(renderer, tmp_path))
    assert out.exit_code == 0, (args, renderer, out.stderr)
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr
    point = final_point(renderer, out.stdout)
    if point is not None:
        assert all(math.isfinite(v) and abs(v) < 1e-5 for v in point), point
