"""The Rich table a person reads: every step, or the first and last of a long run.

Numbers are never cut: columns fold instead of ending in ``…``, and when the
output is not a terminal the CLI gives the console all the width it needs.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from symdescent.methods import METHODS
from symdescent.problem import Problem
from symdescent.render.mathtext import inline, signature
from symdescent.render.numbers import FLOATS, Notation, human
from symdescent.render.sparkline import sparkline
from symdescent.result import STATUSES, Result, Step

#: Rows kept from each end of a long run when the middle is hidden.
HEAD_ROWS = 10
TAIL_ROWS = 10
#: Beyond this many variables the table shows f and ‖∇f‖ only.
MAX_VARIABLE_COLUMNS = 6
#: The summary's sparkline: at most this many characters, for runs of at least this many steps.
SPARKLINE_WIDTH = 60
SPARKLINE_MIN_STEPS = 3


class TableRenderer:
    """Collects the printed steps and draws the table and a summary at the end."""

    def __init__(
        self, console: Console, problem: Problem, *, digits: int = 6, elide: bool = True, notation: Notation = FLOATS
    ) -> None:
        self._console = console
        self._problem = problem
        self._digits = digits
        self._notation = notation
        self._elide = elide
        self._steps: list[Step] = []

    def step(self, step: Step) -> None:
        self._steps.append(step)

    def finish(self, result: Result) -> None:
        self._console.print(Group(self._heading(result), self._table(result), self._summary(result)))

    def _heading(self, result: Result) -> Text:
        """The function and gradient above the table, left-aligned so that they wrap only at the screen's edge."""
        problem = self._problem
        method = METHODS[result.method].title if result.method in METHODS else result.method
        on = "on"
        if result.maximize:
            method, on = ("Gradient ascent", "on") if result.method == "gd" else (method, "maximising")
        show_gradient = problem.dimension <= MAX_VARIABLE_COLUMNS
        text = Text()
        text.append(f"{method} {on} {signature(problem.names)} = {inline(problem.expr)}\n", style="bold")
        text.append(_subtitle(problem, dict(result.params), show_gradient, self._notation), style="dim")
        return text

    def _table(self, result: Result) -> Table:
        problem, digits, notation = self._problem, self._digits, self._notation
        human = notation.human
        names = problem.names
        show_x = len(names) <= MAX_VARIABLE_COLUMNS
        steps = self._steps
        hidden = len(steps) - HEAD_ROWS - TAIL_ROWS if self._elide else 0
        caption = (
            f"{hidden} steps hidden: --every K thins evenly, --format csv shows every step" if hidden > 1 else None
        )
        if any(notation.is_approximate(v) for s in steps for v in (*s.x, s.f, *s.grad, s.grad_norm)):
            rounded = "≈: exact value too long for the table, rounded; --format csv or json shows it exactly"
            caption = f"{caption}\n{rounded}" if caption else rounded
        table = Table(
            caption=caption,
            box=box.SIMPLE_HEAD,
            caption_style="dim",
            header_style="bold cyan",
        )
        table.add_column("step", justify="right", style="dim", overflow="fold")
        if show_x:
            for name in names:
                table.add_column(name, justify="right", overflow="fold")
        table.add_column("f", justify="right", style="bold", overflow="fold")
        if show_x:
            for name in names:
                table.add_column(f"∂f/∂{name}", justify="right", overflow="fold")
        table.add_column("‖∇f‖", justify="right", overflow="fold")
        show_info = any(step.info for step in steps)
        if show_info:
            table.add_column("method used", style="dim", overflow="fold")

        def cells(step: Step) -> list[str]:
            values = [*step.x, step.f, *step.grad] if show_x else [step.f]
            row = [str(step.step), *(human(v, digits) for v in values), human(step.grad_norm, digits)]
            return [*row, describe_info(step.info, digits)] if show_info else row

        if hidden > 1:
            for step in steps[:HEAD_ROWS]:
                table.add_row(*cells(step))
            table.add_row(*[Text("⋮", style="dim")] * len(table.columns))
            for step in steps[-TAIL_ROWS:]:
                table.add_row(*cells(step))
        else:
            for step in steps:
                table.add_row(*cells(step))
        return table

    def _summary(self, result: Result) -> Text:
        spec = STATUSES[result.status]
        mark, style = spec.mark, f"bold {spec.colour}"
        text = Text()
        text.append(f"{mark} {result.status}", style=style)
        text.append(f" — {result.message}\n")
        human = self._notation.human
        point = ", ".join(f"{n} = {human(v, self._digits)}" for n, v in zip(result.variables, result.x, strict=True))
        if len(result.variables) > MAX_VARIABLE_COLUMNS:
            point = f"{len(result.variables)} variables (--format json or -q prints them all)"
        text.append("  final point  ", style="dim")
        text.append(point)
        text.append("\n  f            ", style="dim")
        text.append(human(result.f, self._digits), style="bold")
        if result.nfev != result.steps + 1 or result.ngev != result.steps + 1 or result.nhev:
            # only worth a line when the method evaluated more than once per step (line searches, Newton)
            text.append("\n  evaluations  ", style="dim")
            text.append(evaluations(result))
        text.append(self._sparkline(result))
        return text

    def _sparkline(self, result: Result) -> Text:
        """The shape of the descent on one line: log(f − min f) over the steps shown."""
        steps = self._steps
        text = Text()
        if len(steps) < SPARKLINE_MIN_STEPS:
            return text
        # Ascent: the distance below the best value, so that both read as a fall to ▁.
        values = [-s.f for s in steps] if result.maximize else [s.f for s in steps]
        text.append("\n  max f − f    " if result.maximize else "\n  f − min f    ", style="dim")
        text.append(sparkline(values, SPARKLINE_WIDTH), style="cyan")
        text.append(f"  log scale, steps {steps[0].step}–{steps[-1].step}", style="dim")
        return text


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


def _subtitle(problem: Problem, params: object, show_gradient: bool, notation: Notation = FLOATS) -> str:
    parts = []
    if show_gradient:
        parts.append("∇f = (" + ", ".join(inline(g, 80) for g in problem.gradient) + ")")
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
            parts.append(", ".join(shown))
    if notation.kind == "exact":
        parts.append("exact arithmetic")
    elif notation.digits is not None:
        parts.append(f"{notation.digits}-digit working precision")
    return "   ".join(parts)
