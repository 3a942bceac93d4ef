"""The documentation cannot drift: every ``$ symdescent …`` example in README.md and docs/ is run and compared.

Like sqlite-utils' documentation tests (or cog): each example runs in-process in a copy of docs/examples/, and
its output must be what the page shows, times normalised. After a change to the program,
``python docs/update_examples.py`` rewrites the outputs.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


examples = _load("update_examples")
COMMANDS = examples.all_commands()


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with examples.Workspace() as here:
        yield here


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_example_output_is_what_the_page_shows(command: Any, folder: Path) -> None:
    got = examples.run(command.text, folder)
    assert examples.normalise(got) == examples.normalise(command.shown), (
        f"{command.name}: the output of `{command.text}` changed; run python docs/update_examples.py\n{got}"
    )


def test_there_are_examples_on_the_main_pages() -> None:
    pages = {c.page.relative_to(ROOT).as_posix() for c in COMMANDS}
    assert {"README.md", "docs/tutorial.md", "docs/how-to/shell-scripts.md", "docs/how-to/data-files.md"} <= pages
    assert len(COMMANDS) <= 40  # few and fast


def test_the_readme_is_short_and_keeps_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for block in re.findall(r"```sh\n(python3 -m venv .*?)\n```", readme):
        for part in block.split(" && ")[2:]:  # after the venv and its activation: what CI runs
            assert part in ci.splitlines(), f"{part!r} is in the README but .ci/run does not run it"


def test_normalise_hides_times_only() -> None:
    shown = "  gd   0.001   ✔ converged   7248   27 ms\n" + '{"seconds": 0.0084}'
    again = "  gd   0.001   ✔ converged   7248   1.48 s\n" + '{"seconds": 0.0123}'
    assert examples.normalise(shown) == examples.normalise(again)
    assert examples.normalise(shown) != examples.normalise(shown.replace("7248", "7249"))


def test_update_rewrites_a_stale_output_in_place(tmp_path: Path, folder: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('Text.\n\n```console\n$ symdescent grad "x**2" --at 3\nstale\nlines\n```\n\nMore.\n')
    assert examples.update(page, folder) == 1
    text = page.read_text()
    assert "stale" not in text and "‖∇f‖ = 6" in text and text.endswith("```\n\nMore.\n")
    assert examples.update(page, folder) == 0


def test_the_command_reference_is_generated_from_every_command_and_option() -> None:
    from symdescent.cli import main

    text = _load("gen_reference").reference()
    ctx = click.Context(main, info_name="symdescent")
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        assert f"## `symdescent {name}`" in text
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert f"`{param.opts[0]}" in text or f", {param.opts[0]}" in text, (name, param.opts)


def test_one_version_source() -> None:
    """hatch reads __version__ from symdescent/__init__.py; --version prints it; the changelog has its section."""
    import tomllib

    from conftest import cli

    import symdescent

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["dynamic"] == ["version"] and "version" not in pyproject["project"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "symdescent/__init__.py"
    assert cli("--version").stdout == f"symdescent, version {symdescent.__version__}\n"
    assert f"## [{symdescent.__version__}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_every_exit_code_and_status_is_documented() -> None:
    from symdescent.cli.plumbing import ExitCode
    from symdescent.result import STATUSES

    page = (DOCS / "reference" / "exit-codes.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"\n| {int(code)} |" in page, code
    table = _load("gen_reference").statuses()
    for status, spec in STATUSES.items():
        assert f"| `{status}` | {spec.mark} | {spec.exit_code} |" in table


def test_the_api_reference_has_every_public_name() -> None:
    import symdescent

    text = _load("gen_reference").api()
    for name in symdescent.__all__:
        assert f"### `symdescent.{name}`" in text
    assert "ForwardRef" not in text


def test_every_picture_the_pages_show_exists_and_is_drawn_by_the_script() -> None:
    """README and docs show one picture of each kind; each is drawn by docs/make_pictures.py, none by hand."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_pictures", ROOT / "docs" / "make_pictures.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    drawn = {file for file, _ in script.PICTURES}
    shown = set()
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
            path = (page.parent / target).resolve()
            assert path.exists(), f"{page.name} shows {target}, which does not exist"
            shown.add(path.name)
    assert shown == drawn == {p.name for p in (ROOT / "docs" / "images").iterdir()}
    assert all((ROOT / "docs" / "images" / name).stat().st_size <= 2_000_000 for name in drawn)
