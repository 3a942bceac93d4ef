"""One run, whatever the problem: the same output shapes, table and stop handling for scalars, vectors and data.

Issue "one program", points 4, 7 and 9: scripts no longer need to know which stack ran.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import cli

from symdescent.cli import main

SCALARS = ["(x-1)^2+(y-2)^2", "--start", "x=0,y=0"]
WITH_DATA = ["(a-c)^2+(b-2)^2", "--data", "c=1", "--start", "a=0,b=0"]
VECTOR = ["sum((x-1)^2)", "--start", "x=[0,0,0]"]


def _json(*args: str) -> dict:
    out = cli("run", *args, "--format", "json")
    assert out.exit_code in (0, 4), out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("method", ["gd", "backtracking", "cg"])
def test_scalars_and_scalars_with_data_give_the_same_json(method: str) -> None:
    plain = _json(*SCALARS, "--method", method, "--steps", "3", "--tol", "0")
    data = _json(*WITH_DATA, "--method", method, "--steps", "3", "--tol", "0")
    assert plain.keys() == data.keys()
    assert plain["params"].keys() == data["params"].keys()  # the engine key too
    assert plain["x"] == {"x": pytest.approx(data["x"]["a"]), "y": pytest.approx(data["x"]["b"])}
    for mine, theirs in zip(plain["history"], data["history"], strict=True):
        assert mine.keys() == theirs.keys()  # each step's info (line searches) on both
        assert list(mine["x"]) == ["x", "y"] and list(theirs["x"]) == ["a", "b"]
        assert list(mine["x"].values()) == pytest.approx(list(theirs["x"].values()), rel=1e-12)
        assert list(mine["grad"].values()) == pytest.approx(list(theirs["grad"].values()), rel=1e-12)


def test_a_vector_and_its_scalars_give_the_same_numbers_named_their_way() -> None:
    vector = _json("x @ x", "--start", "x=[1,2]", "--steps", "3", "--tol", "0")
    scalars = _json("x^2+y^2", "--start", "1,2", "--steps", "3", "--tol", "0")
    assert vector["shapes"] == {"x": [2]} and scalars["shapes"] == {"x": [], "y": []}
    assert [h["x"]["x"] for h in vector["history"]] == [[h["x"]["x"], h["x"]["y"]] for h in scalars["history"]]
    assert vector["x"] == {"x": [pytest.approx(0.8**3), pytest.approx(2 * 0.8**3)]}
    assert vector.keys() == scalars.keys()


def _table(*args: str, width: int) -> str:
    env = {"COLUMNS": str(width), "LINES": "50", "TERM": "dumb", "NO_COLOR": "1"}
    return CliRunner().invoke(main, ["run", *args, "--format", "table"], env=env).stdout


@pytest.mark.parametrize("width", [120, 250])
def test_the_vector_table_shows_the_partials_and_hides_steps_in_the_scalar_words(width: int) -> None:
    vector = _table(*VECTOR, "--steps", "40", "--tol", "0", width=width)
    assert "∂f/∂x[1]" in vector and "∂f/∂x[3]" in vector
    scalar = _table(*SCALARS, "--steps", "40", "--tol", "0", width=width)
    note = [line for line in vector.splitlines() if "hidden" in line]
    assert note == [line for line in scalar.splitlines() if "hidden" in line] != []
    assert "21 steps hidden" in note[0]


def test_a_full_stdout_on_a_vector_run_is_one_error_line(executable: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    shell = f"'{executable}' run 'sum((x-1)^2)' --start 'x=[0,0]' --format json >/dev/full"
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (2, "Error: cannot write the output: No space left on device\n")


def test_a_vector_run_does_not_import_scipy() -> None:
    """scipy.special (erf, erfc) is imported on first use: 0.2 s that every array problem paid at start-up."""
    import sys

    code = (
        "import sys\nfrom symdescent import minimize\n"
        "minimize('sum((x-1)^2)', start={'x': [0.0, 0.0]}, lr=0.1)\nprint('scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_vars_with_data_names_the_variables_and_a_wrong_one_is_one_refusal() -> None:
    args = ["run", "sum((x-b)^2)", "--data", "b=[1,2]", "--start", "x=[0,0]", "-q", "--tol", "1e-9"]
    named = cli(*args, "--vars", "x")
    assert named.exit_code == 0, named.stderr
    assert [float(v) for v in named.stdout.split()] == pytest.approx([1.0, 2.0], abs=1e-8)
    wrong = cli(*args, "--vars", "b")
    assert wrong.exit_code == 2
    assert wrong.stderr.startswith("Error: --vars b does not match the start values, which give x\n")


def test_an_exact_vector_run_saves_floats_not_pickled_objects(tmp_path: Path) -> None:
    import numpy as np

    path = tmp_path / "point.npy"
    exact = ["--lr", "1/10", "--exact", "--steps", "2", "-q"]
    out = cli("run", "x @ x", "--start", "x=[1,2]", *exact, "--save", str(path))
    assert out.exit_code == 4, out.stderr
    saved = np.load(path)  # allow_pickle=False: an object array would be refused here
    assert saved.dtype == np.float64 and saved.tolist() == [0.64, 1.28]
