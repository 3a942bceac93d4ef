"""Issue #18's test matrix: every problem kind × every command × every format × the options.

Five kinds of problem — two scalars, scalars with data, one vector of 3, a matrix-and-vector least
squares, a banded vector of 10⁵ on the kernel engine — go through one program. Each cell either works
(the documented exit code, output that parses, the numbers the maths gives, the same JSON keys for every
kind) or gives one documented refusal: exit 2, one ``Error:`` line (and at most one ``Hint:``), no
traceback. The numbers come from a few steps of gradient descent written here in numpy.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result
from conftest import cli, run_installed

LR = "0.05"  # stable for every kind: 2/λmax is 1, 0.238, 1, 0.189, 0.2
STEPS = 3
FIXED = ["--lr", LR, "--steps", str(STEPS), "--tol", "0"]  # exactly STEPS updates: status completed, exit 0
FORMATS = ("table", "csv", "tsv", "json", "jsonl", "quiet")

T = np.array([0.0, 1.0, 2.0, 3.0])
TT = 2 * T + 1  # the line fit's minimum is a = 2, b = 1, f = 0
A = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
B = np.array([1.0, 2.0, 3.0])
N = 100_000


def _band(x: np.ndarray) -> tuple[float, np.ndarray]:
    d = np.diff(x)
    grad = 2 * (x - 1)
    grad[:-1] -= 2 * d
    grad[1:] += 2 * d
    return float(d @ d + (x - 1) @ (x - 1)), grad


@dataclass(frozen=True)
class Kind:
    """A problem: its function, start, data (file name -> text) and an independent f, ∇f on the flat point."""

    expr: str
    start: str
    data: tuple[tuple[str, str], ...]
    shapes: dict[str, list[int]]
    x0: np.ndarray
    value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]]

    @property
    def variables(self) -> list[str]:
        return list(self.shapes)

    @property
    def size(self) -> int:
        return sum(math.prod(s) for s in self.shapes.values())

    def unflatten(self, z: np.ndarray) -> dict[str, object]:
        out: dict[str, object] = {}
        at = 0
        for name, shape in self.shapes.items():
            k = math.prod(shape)
            out[name] = float(z[at]) if not shape else [float(v) for v in z[at : at + k]]
            at += k
        return out

    def descend(self, lr: float = float(LR), steps: int = STEPS, sign: float = 1.0) -> list[tuple[np.ndarray, float]]:
        """(point, f) of every step of plain gradient descent (ascent for sign = -1)."""
        z, out = self.x0.astype(float), []
        for _ in range(steps + 1):
            f, g = self.value_and_grad(z)
            out.append((z.copy(), f))
            z = z - sign * lr * g
        return out


KINDS = {
    "scalars": Kind(
        "(x-1)^2+(y-2)^2",
        "0,0",
        (),
        {"x": [], "y": []},
        np.zeros(2),
        lambda z: (float((z - [1, 2]) @ (z - [1, 2])), 2 * (z - [1, 2])),
    ),
    "data": Kind(
        "mean((a*t+b-T)^2)",
        "a=0,b=0",
        (("temps.csv", "t,T\n" + "".join(f"{t:g},{v:g}\n" for t, v in zip(T, TT, strict=True))),),
        {"a": [], "b": []},
        np.zeros(2),
        lambda z: (
            float(np.mean((z[0] * T + z[1] - TT) ** 2)),
            np.array([2 * np.mean(T * (z[0] * T + z[1] - TT)), 2 * np.mean(z[0] * T + z[1] - TT)]),
        ),
    ),
    "vector": Kind(
        "sum((x-1)^2)",
        "x=[0,0,0]",
        (),
        {"x": [3]},
        np.zeros(3),
        lambda z: (float((z - 1) @ (z - 1)), 2 * (z - 1)),
    ),
    "lsq": Kind(
        "sum((A @ w - b)^2)",
        "w=zeros(2)",
        (("A=A.csv", "1,0\n0,2\n1,1\n"), ("b=b.csv", "1\n2\n3\n")),
        {"w": [2]},
        np.zeros(2),
        lambda z: (float((A @ z - B) @ (A @ z - B)), 2 * A.T @ (A @ z - B)),
    ),
    "kernel": Kind("sum((x[i+1]-x[i])^2, i) + sum((x-1)^2)", "x=zeros(100000)", (), {"x": [N]}, np.zeros(N), _band),
}
SMALL = [k for k in KINDS if k != "kernel"]  # ≤ 6 entries: every entry is printed


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("one-program")
    for kind in KINDS.values():
        for spec, text in kind.data:
            (folder / spec.split("=")[-1]).write_text(text)
    return folder


def problem_args(name: str, folder: Path, start: str = "--start") -> list[str]:
    """EXPR, the start (or --at) and the --data options of a kind."""
    kind = KINDS[name]
    args = [kind.expr, start, kind.start]
    for spec, _ in kind.data:
        target, _, file = spec.rpartition("=")
        args += ["--data", f"{target}={folder / file}" if target else str(folder / file)]
    return args


def format_args(fmt: str) -> list[str]:
    return ["-q"] if fmt == "quiet" else ["--format", fmt]


def clean(out: Result) -> None:
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr, out.stderr


def refused(out: Result) -> str:
    """The one documented refusal: exit 2, one ``Error:`` line (and at most a ``Hint:``); returns the error."""
    clean(out)
    lines = out.stderr.strip().splitlines()
    assert out.exit_code == 2 and lines and lines[0].startswith("Error: "), (out.exit_code, out.stderr)
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("Hint: ")), out.stderr
    return lines[0]


def number(text: object) -> float:
    """A number as a format writes it: a float, a decimal string or an exact fraction string."""
    if isinstance(text, int | float):
        return float(text)
    return float(Fraction(str(text)))


def flat(named: dict[str, object], kind: Kind) -> list[float]:
    assert list(named) == kind.variables  # the keys are the variables, in their order
    out: list[float] = []
    for name, value in named.items():
        if kind.shapes[name]:
            assert isinstance(value, list) and len(value) == math.prod(kind.shapes[name])
            out += [number(v) for v in value]
        else:
            out.append(number(value))
    return out


def columns(kind: Kind) -> list[str]:
    """The entries' column names: x, y for scalars; w[1], w[2] for a vector."""
    return [n if not s else f"{n}[{i + 1}]" for n, s in kind.shapes.items() for i in range(math.prod(s) or 1)]


def check_steps(kind: Kind, fmt: str, text: str, shown: list[int], sign: float = 1.0) -> None:
    """The output of ``run`` in ``fmt``: it parses, and its points and f are gradient descent's."""
    reference = kind.descend(steps=max(shown), sign=sign)
    small = kind.size <= 6
    if fmt in ("csv", "tsv"):
        rows = list(csv.reader(io.StringIO(text), delimiter="," if fmt == "csv" else "\t"))
        names = columns(kind) if small else []
        assert rows[0] == ["step", *names, "f", *(f"df/d{n}" for n in names), "grad_norm"]
        assert [int(r[0]) for r in rows[1:]] == shown and all(len(r) == len(rows[0]) for r in rows)
        for row in rows[1:]:
            point, f = reference[int(row[0])]
            assert float(row[1 + len(names)]) == pytest.approx(f, rel=1e-12)
            if small:
                assert [float(v) for v in row[1 : 1 + len(names)]] == pytest.approx(list(point), rel=1e-12, abs=1e-15)
    elif fmt in ("json", "jsonl"):
        if fmt == "json":
            data = json.loads(text)
            history = data["history"]
        else:
            events = [json.loads(line) for line in text.splitlines()]
            assert [e["event"] for e in events] == ["step"] * len(shown) + ["result"]
            history, data = events[:-1], events[-1]
            assert "history" not in data
        assert data["variables"] == kind.variables and data["shapes"] == kind.shapes
        assert [h["step"] for h in history] == shown
        for entry in history:
            point, f = reference[entry["step"]]
            assert number(entry["f"]) == pytest.approx(f, rel=1e-12)
            if small:
                assert flat(entry["x"], kind) == pytest.approx(list(point), rel=1e-12, abs=1e-15)
                assert flat(entry["grad"], kind) == pytest.approx(list(kind.value_and_grad(point)[1]), rel=1e-9)
            else:
                assert "x" not in entry and "grad" not in entry
        if small:
            assert flat(data["start"], kind) == list(kind.x0) and flat(data["x"], kind) == flat(history[-1]["x"], kind)
        else:
            assert "x" not in data and "start" not in data  # beyond 1000 entries
        assert number(data["f"]) == pytest.approx(reference[-1][1], rel=1e-12)
    elif fmt == "quiet":
        want = list(reference[-1][0]) if kind.size <= 1000 else [reference[-1][1]]
        assert [float(v) for v in text.split()] == pytest.approx(want, rel=1e-12, abs=1e-15)
    else:
        assert "f − min f" in text or "max f − f" in text, text
        assert f"{reference[-1][1]:g}" in text  # the final f, in the table's 6 digits


# -- run: every kind × every format ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", KINDS)
def test_run_in_every_format(name: str, fmt: str, data_dir: Path) -> None:
    out = cli("run", *problem_args(name, data_dir), *FIXED, *format_args(fmt))
    clean(out)
    assert out.exit_code == 0, out.stderr
    check_steps(KINDS[name], fmt, out.stdout, list(range(STEPS + 1)))


def test_run_json_has_the_same_keys_for_every_kind(data_dir: Path) -> None:
    """Scripts need not know which back-end ran: the same keys, apart from the point beyond 1000 entries."""
    keys, step_keys, params = {}, {}, {}
    for name in KINDS:
        out = cli("run", *problem_args(name, data_dir), *FIXED, "--format", "json")
        assert out.exit_code == 0, out.stderr
        data = json.loads(out.stdout)
        keys[name] = set(data) | ({"start", "x"} if KINDS[name].size > 1000 else set())
        step_keys[name] = set(data["history"][0]) | ({"x", "grad"} if KINDS[name].size > 6 else set())
        params[name] = set(data["params"])
    assert all(k == keys["scalars"] for k in keys.values()), keys
    assert all(k == step_keys["scalars"] for k in step_keys.values()), step_keys
    assert all(k == params["scalars"] for k in params.values()), params
    assert {"start", "x", "variables", "shapes", "history", "status"} <= keys["scalars"]


# -- the options, with every kind (the formats taken in turn) ------------------------------------------


def _fmt(name: str, option: str) -> str:
    """Each option meets a different format for each kind, so every pair of option and format is seen."""
    return FORMATS[(list(KINDS).index(name) + ["exact", "digits", "maximize", "every"].index(option)) % 6]


@pytest.mark.parametrize("arithmetic", ["exact", "digits"])
@pytest.mark.parametrize("name", KINDS)
def test_exact_and_working_precision(name: str, arithmetic: str, data_dir: Path) -> None:
    """Exact arithmetic gives the iterates exactly; 30 digits agree with them.

    Every small problem runs (written out entry by entry when it has arrays); the kernel's 10⁵ entries
    are the one documented refusal: exact arithmetic runs at most 100 variable entries.
    """
    option = ["--exact"] if arithmetic == "exact" else ["--working-precision", "30"]
    kind = KINDS[name]
    fmt = _fmt(name, arithmetic)
    out = cli("run", *problem_args(name, data_dir), *FIXED, *option, *format_args(fmt))
    if kind.size > 100:
        assert out.exit_code == 2
        assert "exact arithmetic runs problems of at most 100 variable entries" in refused(out)
        return
    clean(out)
    assert out.exit_code == 0, out.stderr
    full = out if fmt == "json" else cli("run", *problem_args(name, data_dir), *FIXED, *option, "--format", "json")
    data = json.loads(full.stdout)
    assert data["arithmetic"] == ("exact" if arithmetic == "exact" else "mpmath")
    if kind.size <= 6:
        last = flat(data["x"], kind)
        assert last == pytest.approx(list(kind.descend()[-1][0]), rel=1e-14, abs=1e-15)
    if name == "scalars" and arithmetic == "exact":
        # x_t = 1 − (9/10)^t, y_t = 2(1 − (9/10)^t) with α = 1/20: exactly 271/1000, 271/500 at t = 3
        assert data["x"] == {"x": "271/1000", "y": "271/500"}


@pytest.mark.parametrize("name", KINDS)
def test_maximize_a_convex_function_climbs_to_the_step_limit(name: str, data_dir: Path) -> None:
    """Ascent on a bowl climbs away, f growing every step: never a success. Where the constant Hessian is
    small enough to check (≤ 200 entries), the run says f has no maximum (unbounded, exit 3); the banded
    vector of 10⁵ entries ends at the step limit (exit 4)."""
    fmt = _fmt(name, "maximize")
    args = ["run", *problem_args(name, data_dir), "--lr", LR, "--steps", str(STEPS), "--maximize"]
    out = cli(*args, *format_args(fmt))
    clean(out)
    reference = KINDS[name].descend(sign=-1.0)
    assert reference[-1][1] > reference[0][1]
    check_steps(KINDS[name], fmt, out.stdout, list(range(STEPS + 1)), sign=-1.0)
    if name == "kernel":
        assert out.exit_code == 4, out.stderr
        assert "max_steps" in out.stdout + out.stderr  # the table's summary, else the status line on stderr
    else:
        assert out.exit_code == 3, out.stderr
        assert "unbounded" in out.stdout + out.stderr and "so it has no maximum" in out.stdout + out.stderr


@pytest.mark.parametrize("name", KINDS)
def test_every_thins_the_steps(name: str, data_dir: Path) -> None:
    """--every 2 over 5 steps: steps 0, 2, 4 and the last, 5."""
    fmt = _fmt(name, "every")
    args = ["run", *problem_args(name, data_dir), "--lr", LR, "--steps", "5", "--tol", "0", "--every", "2"]
    out = cli(*args, *format_args(fmt))
    clean(out)
    assert out.exit_code == 0, out.stderr
    if fmt == "table":
        assert out.stdout.count("\n     2 ") == 1 and "\n     1 " not in out.stdout
    else:
        check_steps(KINDS[name], fmt, out.stdout, [0, 2, 4, 5])


# -- grad --at ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rich", "text", "json", "latex"])
@pytest.mark.parametrize("name", KINDS)
def test_grad_at_the_start(name: str, fmt: str, data_dir: Path) -> None:
    kind = KINDS[name]
    out = cli("grad", *problem_args(name, data_dir, start="--at"), "--format", fmt)
    clean(out)
    assert out.exit_code == 0, out.stderr
    f, g = kind.value_and_grad(kind.x0)
    if fmt != "json":
        assert out.stdout.strip() and f"{np.linalg.norm(g):g}"[:5] in out.stdout
        return
    data = json.loads(out.stdout)
    assert data["variables"] == kind.variables and list(data["partials"]) == kind.variables
    assert len(data["gradient"]) == len(kind.variables)
    assert data["f"] == pytest.approx(f) and data["norm"] == pytest.approx(np.linalg.norm(g), rel=1e-12)
    if kind.size <= 1000:
        assert flat(data["at"], kind) == list(kind.x0)
        assert flat(data["value"], kind) == pytest.approx(list(g), rel=1e-12)


def test_grad_json_has_the_same_keys_for_every_kind(data_dir: Path) -> None:
    keys = {}
    for name in KINDS:
        data = json.loads(cli("grad", *problem_args(name, data_dir, start="--at"), "--format", "json").stdout)
        keys[name] = set(data) | ({"at", "value"} if KINDS[name].size > 1000 else set())
    assert all(k == keys["scalars"] for k in keys.values()), keys


# -- explain in 4 formats ----------------------------------------------------------------------------

SECTIONS = {
    "text": ("1. The function", "The update rule", "The first iterates"),
    "rich": ("The function", "The update rule", "The first iterates"),
    "markdown": ("## The function", "## The update rule", "## The first iterates"),
    "latex": (r"\subsection*{The function}", r"\subsection*{The update rule}", r"\subsection*{The first iterates}"),
}


@pytest.mark.parametrize("fmt", list(SECTIONS))
@pytest.mark.parametrize("name", KINDS)
def test_explain_in_every_format(name: str, fmt: str, data_dir: Path) -> None:
    out = cli("explain", *problem_args(name, data_dir), "--lr", LR, "--format", fmt)
    clean(out)
    assert out.exit_code == 0, out.stderr
    for title in SECTIONS[fmt]:
        assert title in out.stdout, (title, out.stdout[:2000])
    if fmt == "text":
        first = KINDS[name].descend(steps=1)[1][1]
        assert f"{first:g}" in out.stdout  # f of the first iterate, as the run computes it


# -- analyze -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rich", "text", "json"])
@pytest.mark.parametrize("name", KINDS)
def test_analyze(name: str, fmt: str, data_dir: Path) -> None:
    """Every kind is a convex quadratic: λmin, λmax and the best α from its Hessian, formed here."""
    kind = KINDS[name]
    args = problem_args(name, data_dir)
    if name == "scalars":
        args = args[:1]  # scalars need no sizes
    # --timeout: a wall-clock limit (5 s by default) that a loaded test machine must not decide
    out = cli("analyze", *args, "--format", fmt, "--timeout", "120")
    clean(out)
    assert out.exit_code == 0, out.stderr
    if fmt != "json":
        assert out.stdout.strip()
        return
    data = json.loads(out.stdout)
    assert data["variables"] == kind.variables
    if kind.size > 6:  # the kernel's 10⁵ entries: λmax alone (Lanczos), of H = 2L + 2I: 6 + 4·cos(π/n)
        truth = 6 + 4 * math.cos(math.pi / kind.size)
        assert data["quadratic"] is True
        assert data["lambda_max"] == pytest.approx(truth, rel=1e-4) and data["lambda_max"] <= truth + 1e-9
        return
    h = np.array([kind.value_and_grad(e)[1] - kind.value_and_grad(0 * e)[1] for e in np.eye(kind.size)])
    low, high = np.linalg.eigvalsh(h)[[0, -1]]
    assert data["convex"] is True and data["quadratic"] is True
    assert number(data["best_lr"]) == pytest.approx(2 / (low + high), rel=1e-12)
    assert number(data["max_stable_lr"]) == pytest.approx(2 / high, rel=1e-12)
    (point,) = data["critical_points"]
    assert point["kind"] == "minimum"
    assert kind.value_and_grad(np.array(flat(point["point"], kind)))[1] == pytest.approx(np.zeros(kind.size), abs=1e-9)


# -- compare -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "jsonl"])
@pytest.mark.parametrize("name", KINDS)
def test_compare(name: str, fmt: str, data_dir: Path) -> None:
    kind = KINDS[name]
    args = ["compare", *problem_args(name, data_dir), "--methods", "gd,adam", "--lr", LR, "--steps", str(STEPS)]
    out = cli(*args, "--format", fmt)
    clean(out)
    assert out.exit_code == 0, out.stderr
    gd = kind.descend()[-1]
    if fmt in ("csv", "tsv"):
        rows = list(csv.reader(io.StringIO(out.stdout), delimiter="," if fmt == "csv" else "\t"))
        names = columns(kind) if kind.size <= 6 else []
        counts = ["grad_norm", "nfev", "ngev", "nhev", "seconds", "lr", "message"]
        assert rows[0] == ["method", "status", "steps", "f", *names, *counts]
        assert [r[0] for r in rows[1:]] == ["gd", "adam"] and float(rows[1][3]) == pytest.approx(gd[1], rel=1e-12)
        if names:
            assert [float(v) for v in rows[1][4 : 4 + len(names)]] == pytest.approx(list(gd[0]), rel=1e-12)
    elif fmt in ("json", "jsonl"):
        if fmt == "json":
            data = json.loads(out.stdout)
            assert data["variables"] == kind.variables
            runs = data["runs"]
        else:
            runs = [json.loads(line) for line in out.stdout.splitlines()]
            assert all(r.pop("event") == "run" for r in runs)
        assert [r["method"] for r in runs] == ["gd", "adam"] and number(runs[0]["f"]) == pytest.approx(gd[1])
        if kind.size <= 6:
            assert flat(runs[0]["x"], kind) == pytest.approx(list(gd[0]), rel=1e-12)
    else:
        assert "gd" in out.stdout and "adam" in out.stdout


# -- run --plot ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", KINDS)
def test_plot(name: str, data_dir: Path, tmp_path: Path) -> None:
    picture = tmp_path / f"{name}.png"
    out = cli("run", *problem_args(name, data_dir), *FIXED, "--format", "csv", "--plot", str(picture))
    clean(out)
    assert out.exit_code == 0, out.stderr
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    check_steps(KINDS[name], "csv", out.stdout, list(range(STEPS + 1)))


# -- one real program ----------------------------------------------------------------------------------


def test_installed_program_runs_the_least_squares(executable: Path, data_dir: Path) -> None:
    done = run_installed(executable, "run", *problem_args("lsq", data_dir), *FIXED, "--format", "jsonl")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    check_steps(KINDS["lsq"], "jsonl", done.stdout, list(range(STEPS + 1)))
