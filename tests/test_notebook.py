"""Jupyter: the objects display themselves, the magic takes the CLI's arguments, and a real kernel runs the walkthrough.

The notebook under docs/ is executed by nbclient on an ipykernel started from this very Python, and the test
reads what it produced: HTML tables, Markdown with LaTeX, and the right numbers.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path

import pytest

from symdescent import minimize
from symdescent.cli.capture import EDGE, MIDDLE, History
from symdescent.notebook import symdescent_magic
from symdescent.result import Step

ROOT = Path(__file__).resolve().parent.parent
WALKTHROUGH = ROOT / "docs" / "notebooks" / "walkthrough.ipynb"


def test_a_result_is_an_html_table_of_its_first_and_last_steps_with_a_sparkline() -> None:
    result = minimize("x**2 + y**2", start=(1, 2), lr=0.1)
    page = result._repr_html_()
    assert page.count("<tr>") == 1 + 3 + 1 + 3  # header, first three, "⋮ 64 steps", last three
    assert "<td>0.8</td><td>1.6</td><td>3.2</td>" in page  # step 1 = 0.8·(1, 2), f = 3.2
    assert "⋮ 64 steps" in page  # steps 3 … 66 of 0 … 69
    assert "✔ converged" in page and "after 69 steps" in page
    assert re.search(r"f: <span[^>]*>[▁▂▃▄▅▆▇█]{40}</span>", page)


def test_an_exact_result_shows_its_fractions() -> None:
    result = minimize("x**2 + y**2", start=("1", "2"), lr="1/10", exact=True, max_steps=3, tol=0)
    assert "<td>16/25</td><td>32/25</td>" in result._repr_html_()


def test_the_magic_returns_what_the_command_built() -> None:
    run = symdescent_magic('run "x**2+y**2" --start 1,2 --lr 0.1')
    assert run.steps == 69 and run.status == "converged"
    assert [s.step for s in run.history] == list(range(70))  # a short run keeps every step
    assert run.history[1].x == pytest.approx((0.8, 1.6))
    explanation = symdescent_magic('explain "x**2+y**2" --start 1,2 --lr 0.1')
    assert r"0.8^{t}\cdot \left(1, 2\right)" in explanation._repr_markdown_()
    report = symdescent_magic('grad "x**2+y**2" --at 1,2')
    assert r"\nabla f\left(1, 2\right) = \left(2, 4\right)" in report._repr_markdown_()
    analysis = symdescent_magic('analyze "x**2+y**2"')
    assert "| best α | 1/2 |" in analysis._repr_markdown_()
    comparison = symdescent_magic('compare "x**2+y**2" --start 1,2 --methods gd,newton')
    assert [r.method for r in comparison.runs] == ["gd", "newton"]
    assert comparison._repr_html_().count("✔ converged") == 2


def test_the_magic_reports_errors_in_the_cli_words_and_returns_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert symdescent_magic('run "x**2+" --start 1') is None
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "Traceback" not in err
    assert symdescent_magic('run "x**2 --start 1') is None  # an unclosed quote
    assert "Error:" in capsys.readouterr().err


def test_the_magic_keeps_a_bounded_even_history_of_a_long_run() -> None:
    history = History()
    for t in range(100_000):
        history.add(Step(t, (float(t),), 0.0, (0.0,), 0.0))
    kept = history.steps()
    steps = [s.step for s in kept]
    assert steps[:EDGE] == list(range(EDGE)) and steps[-EDGE:] == list(range(100_000 - EDGE, 100_000))
    assert steps == sorted(set(steps))
    assert len(kept) <= 2 * EDGE + MIDDLE + 1
    middle = steps[EDGE:-EDGE]
    strides = {b - a for a, b in itertools.pairwise(middle)}
    assert len(strides) == 1  # evenly spread


def _kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for an ipykernel on this very Python (whatever `python` is on PATH)."""
    spec = tmp_path / "kernels" / "symdescent-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return "symdescent-test"


def test_a_real_kernel_runs_the_walkthrough_and_shows_tables_and_mathematics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(WALKTHROUGH, as_version=4)
    client = nbclient.NotebookClient(
        notebook, kernel_name=_kernel(tmp_path, monkeypatch), timeout=120, resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    markdown = [o.data["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    plain = [o.data["text/plain"] for o in outputs if "text/plain" in o.get("data", {})]
    assert len(html) == 3 and all("<table>" in page for page in html)  # the seed run, the vector run, the fit
    assert "after 69 steps" in html[0] and "<th>x[1]</th>" in html[1]
    assert any(r"\nabla f\left(1, 2\right) = \left(2, 4\right)" in m for m in markdown)  # the gradient at (1, 2)
    assert any(r"0.8^{t}\cdot \left(1, 2\right)" in m for m in markdown)  # the closed form
    assert any("| largest stable α | 1 |" in m for m in markdown)
    assert "(2.0, 1.0)" in plain  # the line through the data: a = 2, b = 1
