"""The table a person reads: every step, or the first and last of a long run.

It is laid out as a Rich ``box.SIMPLE_HEAD`` table and written by
:mod:`symdescent.render.styled` with Rich's bytes but without importing Rich
(a warm run's start-up), or by Rich itself where only Rich can.

Numbers are never cut or wrapped: the table drops columns (the partials
first) or rounds to fewer digits until it fits the screen, and says so below
it (:mod:`symdescent.render.fit`). When the output is not a terminal the CLI
gives the console all the width it needs, so every digit is kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from symdescent.layout import Flat, Layout, Slot, layout_of
from symdescent.methods import METHODS
from symdescent.render.fit import choose, fit_note, join, table_width, wrap
from symdescent.render.mathtext import function_inline, gradient_inline, signature
from symdescent.render.numbers import EXACT_CELL, FLOATS, Notation, human, plural
from symdescent.render.sparkline import SparkSampler, sparkline
from symdescent.render.styled import Column, Grid, Part, Screen, Styled, show
from symdescent.result import STATUSES, Result, Step

if TYPE_CHECKING:
    from rich.console import Console

    from symdescent.problem import Problem

#: Rows kept from each end of a long run when the middle is hidden.
HEAD_ROWS = 10
TAIL_ROWS = 10
#: A table at most this many rows longer than head + tail is shown whole (hiding fewer saves nothing).
SHOW_ALL_SLACK = 5
#: Rows kept from each end of a table thinned with ``--every``, so that it too stays bounded.
THINNED_ROWS = 500
#: Beyond this many variables the table shows f and ‖∇f‖ only.
MAX_VARIABLE_COLUMNS = 6
#: The summary's sparkline: at most this many characters, for runs of at least this many steps.
SPARKLINE_WIDTH = 60
SPARKLINE_MIN_STEPS = 3


class TableRenderer:
    """Keeps the first rows and a ring of the last ones, and draws the table and a summary at the end.

    Memory stays constant however many steps are printed: the steps between
    the first and the last rows are only counted (and sampled for the
    sparkline). ``elide=False`` (``--every``) keeps far more rows, but still
    a bounded number.
    """

    def __init__(
        self,
        console: Console | Screen,
        problem: Problem,
        *,
        digits: int = 6,
        elide: bool = True,
        notation: Notation = FLOATS,
    ) -> None:
        self._console = console
        self._problem = problem
        self._layout = layout_of(problem)
        self._digits = digits
        self._notation = notation
        self._elide = elide
        head, tail = (HEAD_ROWS, TAIL_ROWS) if elide else (THINNED_ROWS, THINNED_ROWS)
        self._head_rows = head
        self._head: list[Step] = []
        # a few more than shown, so that a table barely longer than head + tail is shown whole
        self._tail: deque[Step] = deque(maxlen=tail + SHOW_ALL_SLACK)
        self._tail_rows = tail
        self._count = 0
        self._spark = SparkSampler()

    def step(self, step: Step) -> None:
        self._count += 1
        if len(self._head) < self._head_rows:
            self._head.append(step)
        else:
            self._tail.append(step)
        self._spark.add(step.f)

    def finish(self, result: Result) -> None:
        width = self._console.width
        rows, hidden = self._rows()
        table, notes = self._table(rows, hidden, width)
        parts: list[Part] = [self._heading(result), table]
        if notes:
            parts.append(Styled("\n".join(" " + line for note in notes for line in wrap(note, width - 1)), style="dim"))
        parts.append(self._summary(result, width))
        show(self._console, parts)

    def _rows(self) -> tuple[list[Step | None], int]:
        """The rows to show (None for the ⋮ row) and how many steps they leave out."""
        head, tail = self._head, list(self._tail)
        hidden = self._count - len(head) - min(len(tail), self._tail_rows)
        if hidden <= SHOW_ALL_SLACK:  # hiding a few rows saves less than the ⋮ row and the note cost
            return [*head, *tail], 0
        return [*head, None, *tail[-self._tail_rows :]], hidden

    def _heading(self, result: Result) -> Styled:
        """The function and gradient above the table, left-aligned so that they wrap only at the screen's edge."""
        problem = self._problem
        method = METHODS[result.method].title if result.method in METHODS else result.method
        on = "on"
        if result.maximize:
            method, on = ("Gradient ascent", "on") if result.method == "gd" else (method, "maximising")
        show_gradient = not self._layout.scalars_only or problem.dimension <= MAX_VARIABLE_COLUMNS
        text = Styled()
        width = self._console.width
        title = f"{method} {on} {signature(self._layout.names)} = {function_inline(problem)}"
        text.append("\n".join(wrap(title, width, hang="  ")) + "\n", style="bold")
        subtitle = _subtitle(problem, dict(result.params), show_gradient, self._notation, self._layout)
        text.append("\n".join(wrap(subtitle, width, hang="  ")), style="dim")
        return text

    def _table(self, rows: list[Step | None], hidden: int, width: int) -> tuple[Part, list[str]]:
        """The widest layout that fits: all columns, then without ∂f/∂x, the method column, the last x columns."""
        notation, asked, layout = self._notation, self._digits, self._layout
        entry_columns = layout.columns()
        names = [label for label, _ in entry_columns]
        steps = [s for s in rows if s is not None]
        show_info = any(step.info for step in steps)
        n = len(names) if len(names) <= MAX_VARIABLE_COLUMNS or not layout.scalars_only else 0
        with_partials = layout.shows_entries
        # (x columns shown, partials shown, method column shown), fewest losses first
        options = [(n, n > 0 and with_partials, show_info), (n, False, show_info), (n, False, False)]
        options += [(k, False, False) for k in range(n - 1, -1, -1)]
        options = list(dict.fromkeys(options))
        exact = notation.kind == "exact"
        cache: dict[tuple[object, int], list[list[str]]] = {}

        def columns(option: tuple[int, bool, bool], digits: int) -> list[list[str]]:
            key = (option, digits)
            if key not in cache:
                shown, partials, info = option
                # an exact value may use the cell of a float with full digits, and more while the table fits
                limit = EXACT_CELL if digits == asked else digits + 6
                cell = lambda v: notation.human(v, digits, limit)  # noqa: E731
                cols = [["step", *(str(s.step) for s in steps)]]
                for name, index in entry_columns[:shown]:
                    cols.append([name, *(_entry(s.x, index, cell) for s in steps)])
                cols.append(["f", *(cell(s.f) for s in steps)])
                if partials:
                    cols += [[f"∂f/∂{name}", *(cell(s.grad[i]) for s in steps)] for i, name in enumerate(names[:n])]
                cols.append(["‖∇f‖", *(cell(s.grad_norm) for s in steps)])
                if info:
                    cols.append(["method used", *(describe_info(s.info, digits) for s in steps)])
                cache[key] = cols
            return cache[key]

        full_only = sum(1 for _, partials, info in options if partials or info)
        choice = choose(options, asked, width, lambda o, d: table_width(columns(o, d)), full_digits_only=full_only)
        shown, partials, info = choice.option
        cols = columns(choice.option, choice.digits)
        if table_width(cols) > width:  # narrower than any table: each step as a few lines
            cols = columns(options[0], asked)
            return _vertical(cols, rows, width), [f"each step on its own lines to fit {width} columns"]
        header: list[Column] = []
        for j, column in enumerate(cols):
            name = column[0]
            text_column = info and j == len(cols) - 1
            style = "dim" if j == 0 or text_column else ("bold" if name == "f" and j == shown + 1 else "")
            header.append(Column(name, "left" if text_column else "right", style))
        body = iter(zip(*(column[1:] for column in cols), strict=True))
        dots = [Styled("⋮", style="dim")] * len(cols)
        # the layout is chosen to fit, so a cell never needs to wrap
        table = Grid(header, [dots if row is None else next(body) for row in rows], header_style="bold cyan")

        notes = []
        if hidden:
            what = plural(hidden, "row") if not self._elide else plural(hidden, "step")
            advice = "a larger --every K thins more" if not self._elide else "thin with --every K"
            notes.append(f"{what} hidden: {advice}, or --format csv for all")
        limit = EXACT_CELL if choice.digits == asked else choice.digits + 6
        if exact and any(notation.is_approximate(v, limit) for s in steps for v in (*s.x, s.f, *s.grad, s.grad_norm)):
            notes.append("≈: exact value too long for the table, rounded; --format csv or json shows it exactly")
        left_out = []
        if not partials and n and with_partials:
            left_out.append(_names_of([f"∂f/∂{name}" for name in names]))
        if show_info and not info:
            left_out.append("method used")
        if shown < n:
            left_out.append(_names_of([name for name in names[shown:n] if name != "…"]))
        note = self._fit_note(left_out, choice.digits, asked, width, entries_hidden=shown < n)
        if note:
            notes.append(note)
        return table, notes

    def _fit_note(
        self, left_out: list[str], digits: int, asked: int, width: int, *, entries_hidden: bool
    ) -> str | None:
        """What fitting left out, and the output that does hold it.

        CSV has every entry, partial and digit, but not the method's column (JSON has); past
        :data:`~symdescent.layout.SHOW_ENTRIES` entries CSV and JSON keep only f and ‖∇f‖ per step,
        so a hidden entry column is found only in the result's point (``--save``).
        """
        layout = self._layout
        if layout.shows_entries or not entries_hidden:
            where = "--format json" if "method used" in left_out or not layout.shows_entries else "--format csv"
            return fit_note(left_out, digits, asked, width, where)
        note = fit_note(left_out, digits, asked, width, "--save FILE")
        if note is None:
            return None
        head = note.rsplit("; ", 1)[0]
        keeps = "per step, csv and json keep f and ‖∇f‖ only"
        return f"{head}; --save FILE writes all {layout.size} entries of the result ({keeps})"

    def _summary(self, result: Result, width: int) -> Styled:
        spec = STATUSES[result.status]
        mark, style = spec.mark, f"bold {spec.colour}"
        text = Styled("\n".join(wrap(f"{mark} {result.status} — {result.message}", width, hang="  ")))
        text.stylize(style, 0, len(mark) + 1 + len(str(result.status)))
        notation, layout = self._notation, self._layout
        room = width - len(_LABEL)
        shown = result.flat if layout.scalars_only and layout.size <= MAX_VARIABLE_COLUMNS else []
        digits = _digits_that_fit([result.f, *shown], self._digits, room, notation)
        human = lambda v: notation.human(v, digits)  # noqa: E731
        if layout.scalars_only and len(result.variables) > MAX_VARIABLE_COLUMNS:
            point = f"{len(result.variables)} variables (--format json or -q prints them all)"
        elif layout.scalars_only:
            point = join(_equals(n, human(v)) for n, v in zip(result.variables, result.flat, strict=True))
        else:
            point = layout.point_text(result.flat, lambda v: notation.human(v, self._digits))
        text.append("\n")
        _labelled(text, "final point", wrap(point, width, indent=" " * len(_LABEL), hang=" " * len(_LABEL)))
        text.append("\n")
        _labelled(text, "f", [human(result.f)], style="bold")
        if result.nfev != result.steps + 1 or result.ngev != result.steps + 1 or result.nhev:
            # only worth a line when the method evaluated more than once per step (line searches, Newton)
            text.append("\n")
            _labelled(text, "evaluations", [evaluations(result)])
        text.append(self._sparkline(result, width))
        return text

    def _sparkline(self, result: Result, width: int) -> Styled:
        """The shape of the descent on one line: log(f − min f) over the steps shown."""
        spark = self._spark
        text = Styled()
        if spark.count < SPARKLINE_MIN_STEPS or not self._head:
            return text
        # Ascent: the distance below the best value, so that both read as a fall to ▁.
        values, lowest = spark.values(negate=result.maximize)
        text.append("\n  max f − f    " if result.maximize else "\n  f − min f    ", style="dim")
        text.append(sparkline(values, max(1, min(SPARKLINE_WIDTH, width - len(_LABEL))), lowest=lowest), style="cyan")
        first, last = self._head[0].step, (self._tail[-1] if self._tail else self._head[-1]).step
        scale = f"log scale, steps {first}–{last}"
        used = len(_LABEL) + min(SPARKLINE_WIDTH, spark.count, width - len(_LABEL))
        if used + 2 + len(scale) <= width:
            text.append(f"  {scale}", style="dim")
        else:
            text.append(f"\n{' ' * len(_LABEL)}{scale}", style="dim")
        return text


def _vertical(columns: list[list[str]], rows: list[Step | None], width: int) -> Styled:
    """For very narrow screens: ``step 3`` and then ``name = value`` pairs, broken only between pairs."""
    text = Styled()
    body = iter(zip(*(column[1:] for column in columns), strict=True))
    for row in rows:
        if row is None:
            text.append(" ⋮\n", style="dim")
            continue
        cells = next(body)
        text.append(f" step {cells[0]}\n", style="bold")
        pairs = join(f"{column[0]} = {cell}" for column, cell in zip(columns[1:], cells[1:], strict=True) if cell)
        text.append("\n".join(wrap(pairs, width, indent="   ", hang="   ")) + "\n")
    return text


def _gradient_label(slot: Slot, count: int) -> str:
    """``∂f/∂b`` for a scalar, ``∇f`` for the only variable, ``∇_w f`` for one vector of several."""
    if not slot.shape:
        return f"∂f/∂{slot.name}"
    return "∇f" if count == 1 else f"∇_{slot.name} f"


#: The summary's labels take this much room: ``  final point  ``.
_LABEL = "  final point  "


def _labelled(text: Styled, label: str, lines: list[str], style: str = "") -> None:
    text.append(f"  {label:<{len(_LABEL) - 2}}", style="dim")
    text.append(lines[0].lstrip() if lines else "", style=style)
    for line in lines[1:]:
        text.append("\n" + line, style=style)


def _equals(name: str, value: str) -> str:
    """``x = 0.25``, or ``x ≈ 2.05688e-07`` for a rounded exact value (never ``x = ≈…``)."""
    return f"{name} ≈ {value[1:]}" if value.startswith("≈") else f"{name} = {value}"


def _names_of(items: Sequence[str]) -> str:
    """``∂f/∂x, ∂f/∂y`` or ``∂f/∂x1 … ∂f/∂x6``: a short name for a group of columns."""
    return ", ".join(items) if len(items) <= 2 else f"{items[0]} … {items[-1]}"


def _digits_that_fit(values: Sequence[object], digits: int, room: int, notation: Notation) -> int:
    """The most digits (at most ``digits``) with which each value fits in ``room`` characters."""
    for d in range(digits, 0, -1):
        if all(len(notation.human(v, d)) <= room for v in values):
            return d
    return 1


#: How hyperparameters and step information are written for people.
_SYMBOLS = {
    "lr": "α",
    "alpha": "α",
    "momentum": "μ",
    "beta": "β",
    "beta1": "β₁",
    "beta2": "β₂",
    "decay": "ρ",
    "eps": "ε",
    "c1": "c₁",
    "c2": "c₂",
    "nfev": "f evals",
    "ngev": "∇f evals",
}


def describe_info(info: object, digits: int) -> str:
    """``α = 0.25, f evals = 3`` from a step's info."""
    if not isinstance(info, dict) or not info:
        return ""
    parts = []
    for key, value in info.items():
        shown = human(value, digits) if isinstance(value, float) else str(value)
        parts.append(f"{_SYMBOLS.get(key, key)} = {shown}")
    return ", ".join(parts)


def evaluations(result: Result) -> str:
    """``f 50, ∇f 22, Hessian 21``."""
    text = f"f {result.nfev}, ∇f {result.ngev}"
    return text + (f", Hessian {result.nhev}" if result.nhev else "")


def _entry(x: Flat, index: int | None, cell: Callable[[object], str]) -> str:
    """One entry's cell; ``…`` for the column of entries left out (and past a large run's first entries)."""
    return "…" if index is None or index >= len(x) else cell(x[index])


def _subtitle(
    problem: Problem, params: object, show_gradient: bool, notation: Notation = FLOATS, layout: Layout | None = None
) -> str:
    parts = []
    if show_gradient and layout is not None and not layout.scalars_only:
        gradients = zip(layout.slots, gradient_inline(problem), strict=True)
        parts.append(join(f"{_gradient_label(slot, len(layout.slots))} = {text}" for slot, text in gradients))
    elif show_gradient:
        parts.append("∇f = (" + ", ".join(gradient_inline(problem)) + ")")
    if isinstance(params, dict):
        shown = []
        for key, value in params.items():
            if key == "engine":  # how, not what: it is in the JSON for those who ask
                continue
            if isinstance(value, bool | str):
                shown.append(f"{key} = {value}")
            elif isinstance(value, float | int):
                shown.append(f"{_SYMBOLS.get(key, key)} = {value:g}")
            else:  # an exact or mpmath hyperparameter
                shown.append(f"{_SYMBOLS.get(key, key)} = {notation.machine(value)}")
        if shown:
            parts.append(join(shown))
    if notation.kind == "exact":
        parts.append("exact arithmetic")
    elif notation.digits is not None:
        parts.append(f"{notation.digits}-digit working precision")
    return "   ".join(parts)
