"""The light table writer writes what Rich writes, byte for byte (issue 23: a warm table without Rich).

Each run goes through the CLI twice: as it draws the table now (``make_screen``:
the light writer) and with the Rich console the table had before
(``make_console``), at many widths, with colour, without (``NO_COLOR``,
``TERM=dumb``, ``FORCE_COLOR=``), forced (``FORCE_COLOR``), and piped. The two
outputs must be the same bytes, and the light writer must have written them
(not fallen back to Rich), except where the test says Rich is needed.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence

import click.testing
import pytest
from click.testing import CliRunner
from rich.console import Console

from symdescent.cli import console as cli_console
from symdescent.cli import main
from symdescent.cli.plumbing import Streams
from symdescent.render import styled
from symdescent.render.fit import _NARROW, cell_len
from symdescent.render.styled import Column, Grid, Screen, Styled, ansi, print_rich

RUNS = {
    "two scalars": ["run", "x**2+y**2", "--start", "1,2", "--lr", "0.1"],
    "long run": ["run", "x**2+3*y**2", "--start", "1,2", "--lr", "0.01"],
    "every": ["run", "x**2+3*y**2", "--start", "1,2", "--lr", "0.001", "--every", "50"],
    "maximize": ["run", "-(x-1)**2-(y+2)**2", "--start", "0,0", "--maximize", "--lr", "0.1"],
    "diverged": ["run", "x**2", "--start", "1", "--lr", "1.5"],
    "unbounded": ["run", "x**3", "--start", "-1", "--lr", "0.1"],
    "step limit": ["run", "x**4+y**2", "--start", "1,1", "--steps", "30", "--lr", "0.01"],
    "line search": ["run", "(1-x)**2+100*(y-x**2)**2", "--start", "-1.2,1", "--method", "lbfgs"],
    "digits": ["run", "x**2+y**2", "--start", "1,2", "--lr", "0.1", "--digits", "12"],
    "exact": ["run", "x**2+y**2", "--start", "1,2", "--lr", "1/3", "--exact", "--steps", "12", "--tol", "0"],
    "many scalars": ["run", "+".join(f"(x{i}-{i})**2" for i in range(1, 9)), "--start", "0,0,0,0,0,0,0,0"],
    "vector of 3": ["run", "sum((x-1)^2)", "--start", "x=[3,2,0]", "--lr", "0.1"],
    "vector of 10": ["run", "sum((x-1)^2) + b^2", "--start", "x=zeros(10),b=2", "--lr", "0.1", "--steps", "40"],
}
WIDTHS = (20, 40, 70, 80, 120, 250)
COLOUR = {"TERM": "xterm-256color", "NO_COLOR": None, "FORCE_COLOR": None, "COLORTERM": None, "TTY_COMPATIBLE": None}
ENVIRONMENTS = {
    "colour": COLOUR,
    "NO_COLOR": {**COLOUR, "NO_COLOR": "1"},
    "TERM=dumb": {**COLOUR, "TERM": "dumb"},
    "FORCE_COLOR": {**COLOUR, "FORCE_COLOR": "1", "COLORTERM": "truecolor"},
    "FORCE_COLOR empty": {**COLOUR, "FORCE_COLOR": ""},
    "TTY_COMPATIBLE=0": {**COLOUR, "TTY_COMPATIBLE": "0"},
}


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """CliRunner's stdout claims to be a terminal, so the CLI draws for people."""
    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True, raising=False)
    yield


def drawn(
    args: Sequence[str], env: dict[str, str | None], monkeypatch: pytest.MonkeyPatch, *, rich: bool, light: bool = True
) -> str:
    """stdout of the CLI, its table drawn by Rich (as before) or by the light writer (which must not fall back)."""
    with monkeypatch.context() as patch:
        if rich:
            patch.setattr(cli_console, "make_screen", cli_console.make_console)
        elif light:

            def no_rich(console: object, parts: object) -> None:
                raise AssertionError("the light writer fell back to Rich")

            patch.setattr(styled, "print_rich", no_rich)
        result = CliRunner().invoke(main, [*args, "--format", "table"], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.stdout


def same(args: Sequence[str], env: dict[str, str | None], monkeypatch: pytest.MonkeyPatch, light: bool = True) -> None:
    """The same bytes both ways; ``light``: written by the light writer (else it may leave them to Rich)."""
    new = drawn(args, env, monkeypatch, rich=False, light=light)
    old = drawn(args, env, monkeypatch, rich=True)
    assert new == old


@pytest.mark.usefixtures("terminal")
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("run", RUNS)
def test_the_table_is_what_rich_wrote_at_every_width(run: str, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # 20 columns: a word longer than a line (a number after "final point") is Rich's to fold
    same(RUNS[run], {**COLOUR, "COLUMNS": str(width), "LINES": "40"}, monkeypatch, light=width >= 40)


@pytest.mark.usefixtures("terminal")
@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("run", ["two scalars", "long run", "diverged", "line search", "vector of 10"])
def test_the_table_is_what_rich_wrote_in_every_environment(
    run: str, environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    same(RUNS[run], {**ENVIRONMENTS[environment], "COLUMNS": "90"}, monkeypatch)


@pytest.mark.parametrize("run", ["two scalars", "long run", "vector of 3"])
def test_a_piped_table_is_what_rich_wrote(run: str, monkeypatch: pytest.MonkeyPatch) -> None:
    same(RUNS[run], {**COLOUR, "COLUMNS": "70"}, monkeypatch)


@pytest.mark.usefixtures("terminal")
def test_columns_without_lines_and_a_dumb_terminal_is_80_wide_as_in_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**COLOUR, "TERM": "dumb", "COLUMNS": "150", "LINES": None}
    out = drawn(RUNS["two scalars"], env, monkeypatch, rich=False)
    assert out == drawn(RUNS["two scalars"], env, monkeypatch, rich=True)


def both(parts: list[styled.Part], width: int, shown: styled.Styles) -> tuple[str | None, str]:
    """The light writer's text (None: it declines) and Rich's for the same parts."""
    out = io.StringIO()
    console = Console(
        file=out, width=width, force_terminal=shown != "none", no_color=shown == "attributes", highlight=False,
        force_jupyter=False, color_system="standard" if shown != "none" else None,
    )  # fmt: skip
    print_rich(console, parts)
    return ansi(parts, width, shown), out.getvalue()


def grid(*rows: Sequence[str | Styled], header: Sequence[str] = ("a", "b")) -> Grid:
    columns = [Column(name, "right" if j else "left", "dim" if j == 0 else "") for j, name in enumerate(header)]
    return Grid(columns, list(rows), "bold cyan")


@pytest.mark.parametrize("shown", ["none", "attributes", "colour"])
def test_styles_spans_and_cells_are_what_rich_writes(shown: styled.Styles) -> None:
    text = Styled("title\n", style="bold").append("a ").append("dim", "dim").append("\n\nend")
    text.stylize("red", 0, 3)
    text.append(Styled("x", "cyan").append("y", "bold yellow"))
    dots = Styled("⋮", style="dim")
    parts: list[styled.Part] = [text, grid(["1", "2.5"], [dots, dots], ["", "w[1]"]), Styled(" note", "dim")]
    light, rich = both(parts, 40, shown)
    assert light == rich


@pytest.mark.parametrize(
    ("parts", "why"),
    [
        ([Styled("a" * 41)], "a line longer than the screen: Rich folds it"),
        ([Styled("a\tb")], "a tab"),
        ([Styled("a\rb")], "a control character Rich strips"),
        ([grid(["[bold]x", "1"])], "markup"),
        ([grid(["x", ":smile:"])], "an emoji code"),
        ([grid(["a" * 40, "1"])], "a table wider than the screen"),
        ([Styled("x", "italic")], "a style the writer does not know"),
        ([Styled("x", "bright_red")], "a colour the writer does not know"),
    ],
)
def test_rich_draws_what_it_alone_can(parts: list[styled.Part], why: str) -> None:
    assert ansi(parts, 40, "colour") is None, why
    written = io.StringIO()
    fallback: list[Console] = []

    def rich() -> Console:
        fallback.append(Console(file=written, width=40, force_terminal=True, color_system="standard"))
        return fallback[0]

    Screen(io.StringIO(), 40, "colour", rich, lambda: None).print(parts)
    assert fallback and written.getvalue()


def test_narrow_characters_are_one_cell_for_rich_too() -> None:
    from rich.cells import cell_len as rich_cell_len

    assert all(rich_cell_len(c) == 1 for c in _NARROW)
    for text in ["‖∇f‖", "∂f/∂x", "⋮", "x ≈ 2.05688e−07", "漢字", "e\u0301", "👍🏽", "\x1b"]:
        assert cell_len(text) == rich_cell_len(text), text


def test_a_broken_pipe_is_reported_once() -> None:
    class Gone(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    called: list[bool] = []
    fail: Callable[[], Console] = lambda: pytest.fail("no Rich")  # noqa: E731
    Screen(Gone(), 40, "colour", fail, lambda: called.append(True)).print([Styled("x")])
    assert called == [True]


def test_make_screen_is_rich_where_the_writer_cannot_know(monkeypatch: pytest.MonkeyPatch) -> None:
    class Latin(io.StringIO):
        encoding = "latin-1"

        def isatty(self) -> bool:
            return True

    streams = Streams(io.StringIO(), Latin(), io.StringIO())  # type: ignore[arg-type]
    assert isinstance(cli_console.make_screen(streams), Console)
