"""``compare`` output: a table with one row per method, CSV/TSV rows, JSON, JSON lines.

Renderers only format. Each has ``run(result, seconds)``, called as each
method's run finishes (the streaming formats write there), and
``finish(comparison)``, called once at the end. A run is the same
:class:`~symdescent.result.Result` that ``run --format json`` prints,
without its history (:func:`symdescent.render.json.result_dict`), plus
``seconds``, its wall time.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from rich.console import Console, RenderableType

from symdescent.compare import Comparison
from symdescent.layout import Layout
from symdescent.methods import METHODS, MethodSpec
from symdescent.problem import Problem
from symdescent.render.document import json_rows_document
from symdescent.render.fit import Choice, choose, fit_note, glue, table_width, wrap
from symdescent.render.json import dumps, result_dict
from symdescent.render.numbers import human, json_number, machine, plural
from symdescent.result import STATUSES, Result


class CompareRenderer(Protocol):
    def run(self, result: Result, seconds: float) -> None: ...

    def finish(self, comparison: Comparison) -> None: ...


def run_dict(result: Result, seconds: float) -> dict[str, Any]:
    """A run as JSON: the run command's object without ``history``, plus its wall time."""
    return {**result_dict(result, history=False), "seconds": json_number(seconds)}


def comparison_dict(comparison: Comparison) -> dict[str, Any]:
    """The SPEC's compare object: ``{"function", "variables", "start", "runs": [...]}``."""
    return {
        "function": comparison.function,
        "variables": list(comparison.variables),
        **({"start": comparison.layout.named(comparison.start, json_number)} if comparison.layout.shows_point else {}),
        "runs": [run_dict(r, s) for r, s in zip(comparison.runs, comparison.seconds, strict=True)],
    }


class JsonCompareRenderer:
    def __init__(self, out: TextIO) -> None:
        self._out = out

    def run(self, result: Result, seconds: float) -> None:
        pass

    def finish(self, comparison: Comparison) -> None:
        self._out.write(json_rows_document(comparison_dict(comparison), "runs"))


class JsonLinesCompareRenderer:
    """One ``{"event": "run", …}`` line per method as it finishes."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def run(self, result: Result, seconds: float) -> None:
        self._out.write(dumps({"event": "run", **run_dict(result, seconds)}) + "\n")
        self._out.flush()

    def finish(self, comparison: Comparison) -> None:
        pass


def header(layout: Layout) -> list[str]:
    """``method,status,steps,f,x,y,grad_norm,nfev,ngev,nhev,seconds,lr,message`` (the entries while shown)."""
    names = layout.labels() if layout.shows_entries else ()
    return ["method", "status", "steps", "f", *names, "grad_norm", "nfev", "ngev", "nhev", "seconds", "lr", "message"]


class DelimitedCompareRenderer:
    """One row per method, written as each run finishes; numbers exact (shortest round-trip)."""

    def __init__(self, out: TextIO, layout: Layout, delimiter: str = ",") -> None:
        self._out = out
        self._layout = layout
        self._writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        self._started = False

    def _header(self) -> None:
        # written with the first row, so that bad input found before any run prints nothing
        if not self._started:
            self._writer.writerow(header(self._layout))
            self._started = True

    def run(self, result: Result, seconds: float) -> None:
        self._header()
        lr = result.params.get("lr")
        self._writer.writerow(
            [
                result.method,
                str(result.status),
                result.steps,
                machine(result.f),
                *(map(machine, result.flat) if self._layout.shows_entries else ()),
                machine(result.grad_norm),
                result.nfev,
                result.ngev,
                result.nhev,
                machine(seconds),
                "" if lr is None else machine(lr),
                result.message,
            ]
        )
        self._out.flush()

    def finish(self, comparison: Comparison) -> None:
        self._header()
        self._out.flush()


def _spec(method: str) -> MethodSpec:
    return METHODS.get(method) or MethodSpec(method, method, "", "")


def _style(result: Result) -> tuple[str, str]:
    spec = STATUSES[result.status]
    return spec.mark, spec.colour


class TableCompareRenderer:
    """The side-by-side table a person reads, one row per method, with each failure's reason below."""

    def __init__(self, console: Console, problem: Problem, *, digits: int = 6) -> None:
        self._console = console
        self._problem = problem
        self._digits = digits

    def run(self, result: Result, seconds: float) -> None:
        pass

    def finish(self, comparison: Comparison) -> None:
        from rich.console import Group
        from rich.text import Text

        from symdescent.render.mathtext import function_inline, signature

        problem, asked = self._problem, self._digits
        width = self._console.width
        runs = comparison.runs
        goal = "Maximising" if runs and runs[0].maximize else "Minimising"
        heading = Text()
        title = f"{goal} {signature(problem.names)} = {function_inline(problem)}"
        heading.append("\n".join(wrap(title, width, hang="  ")) + "\n", style="bold")
        start = comparison.layout.point_text(comparison.start, lambda v: human(v, asked))
        tol = runs[0].tol if runs else 0

        show_hessian = any(r.nhev for r in runs)
        pairs = list(zip(runs, comparison.seconds, strict=True))
        cache: dict[tuple[tuple[str, ...], int], list[list[str]]] = {}

        def columns(shown: tuple[str, ...], digits: int) -> list[list[str]]:
            if (shown, digits) not in cache:
                cells = [_cells(r, s, digits, show_hessian) for r, s in pairs]
                cache[(shown, digits)] = [
                    [_header(name, show_hessian), *(c[name] for c in cells)] for name in _COLUMNS if name in shown
                ]
            return cache[(shown, digits)]

        # fewest losses first: the final point, then time, evaluations, ‖∇f‖ and the step rule give way
        options: list[tuple[str, ...]] = [_COLUMNS]
        for name in _DROP_ORDER:
            options.append(tuple(c for c in options[-1] if c != name))
        choice = choose(options, asked, width, lambda o, d: table_width(columns(o, d)))
        stacked = len(choice.option) < len(_COLUMNS) - MAX_HIDDEN_COLUMNS
        if stacked:
            # so narrow that the table would hide most of what there is to compare: a few lines per method instead
            table: RenderableType = _stacked(pairs, asked, width)
            fitted = None
        else:
            table, fitted = self._table(pairs, choice, columns, asked, width, show_hessian)
        subtitle = f"from {start}, {glue(f'tol = {tol:g}')}, one {'block' if stacked else 'row'} per method"
        heading.append("\n".join(wrap(subtitle, width)), style="dim")

        notes: list[Text] = []
        for result in runs:
            if not result.success:
                mark, style = _style(result)
                head = f"{mark} {result.method}"
                lines = [f"{head}: {result.message}"]
                why = _spec(result.method).why
                if why:
                    # the generic advice (more steps, a larger α) is wrong here: say why instead
                    lines = [f"{head}: {result.message.split(';')[0]}", f"  {why}"]
                for k, line in enumerate(lines):
                    for i, piece in enumerate(wrap(line, width, hang="  ")):
                        text = Text(piece)
                        if k == 0 and i == 0:
                            text.stylize(style, 0, len(head))
                        notes.append(text)
        if comparison.interrupted:
            notes.append(Text("■ interrupted: the methods after the last row did not run", style="yellow"))
        parts: list[RenderableType] = [heading, table]
        if fitted:
            parts.append(Text("\n".join(" " + line for line in wrap(fitted, width - 1)), style="dim"))
        parts += notes
        self._console.print(Group(*parts))

    @staticmethod
    def _table(
        pairs: list[tuple[Result, float]],
        choice: Choice[tuple[str, ...]],
        columns: Callable[[tuple[str, ...], int], list[list[str]]],
        asked: int,
        width: int,
        show_hessian: bool,
    ) -> tuple[RenderableType, str | None]:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        table = Table(box=box.SIMPLE_HEAD, header_style="bold cyan")
        for column in columns(choice.option, choice.digits):
            left = column[0] in ("method", "status")
            table.add_column(column[0], justify="left" if left else "right", no_wrap=True, overflow="fold")
        for result, seconds in pairs:
            cells = _cells(result, seconds, choice.digits, show_hessian)
            styles = {"method": "bold", "status": _style(result)[1]}
            table.add_row(*(Text(cells[name], style=styles.get(name, "")) for name in choice.option))
        hidden = [_header(name, show_hessian) for name in _COLUMNS if name not in choice.option]
        return table, fit_note(hidden, choice.digits, asked, width)


#: The table's columns, most important first where it drops some to fit.
_COLUMNS = ("method", "step", "status", "steps", "f", "point", "grad", "evals", "time")
_DROP_ORDER = ("point", "time", "evals", "grad", "step")


#: The table may hide this many columns (the final point, time, evaluations); beyond that, one block per method.
MAX_HIDDEN_COLUMNS = 3


def _stacked(pairs: list[tuple[Result, float]], digits: int, width: int) -> RenderableType:
    """For narrow screens: each method on two or three lines, every value shown, broken only between values."""
    from rich.text import Text

    out = Text()
    for index, (result, seconds) in enumerate(pairs):
        c = _cells(result, seconds, digits)
        step = c["step"] if result.params.get("lr") is None or result.method == "backtracking" else f"α = {c['step']}"
        counts = f"evals f {result.nfev}, ∇f {result.ngev}" + (f", H {result.nhev}" if result.nhev else "")
        lines = [
            [c["method"], c["status"], plural(result.steps, "step"), step, c["time"]],
            [f"f = {c['f']}", f"‖∇f‖ = {c['grad']}", f"at {c['point']}", counts],
        ]
        if index:
            out.append("\n")
        for k, items in enumerate(lines):
            indent = "  " if k == 0 else "    "
            text = "   ".join(glue(item) for item in items if item)
            for i, piece in enumerate(wrap(text, width, indent=indent, hang="    ")):
                line = Text(piece)
                if k == 0 and i == 0:
                    line.stylize("bold", 2, 2 + len(c["method"]))
                    at = piece.find(c["status"])
                    if at >= 0:
                        line.stylize(_style(result)[1], at, at + len(c["status"]))
                out.append_text(line)
                out.append("\n")
    return out


def _header(name: str, show_hessian: bool) -> str:
    if name == "evals":
        return "evals f / ∇f / H" if show_hessian else "evals f / ∇f"
    return {"step": "α / step rule", "point": "final point", "grad": "‖∇f‖"}.get(name, name)


def _cells(result: Result, seconds: float, digits: int, show_hessian: bool = False) -> dict[str, str]:
    """Each column's text for one run."""
    mark, _ = _style(result)
    lr = result.params.get("lr")
    step_size = f"{lr:g}" if isinstance(lr, float | int) else _spec(result.method).step_rule
    if result.method == "backtracking":
        step_size = f"Armijo from {lr:g}"
    flat = result.flat
    point = "(" + ", ".join(human(v, digits) for v in flat) + ")"
    if len(flat) > 6:
        point = f"{len(flat)} values (--format json)"
    return {
        "method": result.method,
        "step": step_size,
        "status": f"{mark} {result.status}",
        "steps": str(result.steps),
        "f": human(result.f, digits),
        "point": point,
        "grad": human(result.grad_norm, min(3, digits)),
        "evals": " / ".join(map(str, (result.nfev, result.ngev, result.nhev)[: 3 if show_hessian else 2])),
        "time": _duration(seconds),
    }


def _duration(seconds: float) -> str:
    """``12 ms``, ``1.53 s``."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
