"""``sweep`` output: α → outcome, steps, final f — as a table, CSV/TSV, JSON, HTML or a picture.

Renderers only format. The streaming formats (table rows are printed at the
end, CSV rows as each point is known) share :func:`point_dict`, which is also
each element of the JSON's ``points``.
"""

from __future__ import annotations

import csv
import html
from typing import TYPE_CHECKING, Any, TextIO

from symdescent.render.document import json_rows_document
from symdescent.render.numbers import human, json_number, machine
from symdescent.result import STATUSES, Status

if TYPE_CHECKING:
    from rich.console import Console

    from symdescent.sweep import Sweep, SweepPoint

#: The mark and colour of the one outcome that is not a run status.
DIVERGING = ("↗", "red")
FIELDS = ("lr", "outcome", "status", "steps", "f", "grad_norm", "seconds")


def _style(point: SweepPoint) -> tuple[str, str]:
    if point.outcome == "diverging":
        return DIVERGING
    spec = STATUSES[Status(point.status)]
    return spec.mark, spec.colour


def point_dict(point: SweepPoint) -> dict[str, Any]:
    return {
        "lr": json_number(point.lr),
        "outcome": point.outcome,
        "status": str(point.status),
        "steps": point.steps,
        "f": json_number(point.f),
        "grad_norm": json_number(point.grad_norm),
        "seconds": json_number(point.seconds),
    }


def sweep_dict(sweep: Sweep) -> dict[str, Any]:
    return {
        "function": sweep.function,
        "method": sweep.method,
        "max_stable_lr": None if sweep.max_stable_lr is None else json_number(sweep.max_stable_lr),
        "best_lr": None if sweep.best_lr is None else json_number(sweep.best_lr),
        "interrupted": sweep.interrupted,
        "points": [point_dict(p) for p in sweep.points],
    }


def edge_note(sweep: Sweep) -> str | None:
    """``gd converges for α < 2/λmax = 1; the fastest α is 2/(λmin + λmax) = 0.5`` where known."""
    if sweep.max_stable_lr is None:
        return None
    note = f"{sweep.method} converges for α < 2/λmax = {human(sweep.max_stable_lr, 6)} (the Hessian is constant)"
    if sweep.best_lr is not None:
        note += f"; the fastest α is 2/(λmin + λmax) = {human(sweep.best_lr, 6)}"
    return note


class DelimitedSweepRenderer:
    """One row per α as it is known; numbers exact (shortest round-trip)."""

    def __init__(self, out: TextIO, delimiter: str = ",") -> None:
        self._out = out
        self._writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        self._written = 0  # rows so far; the header comes with the first, so a refused input prints nothing

    def point(self, point: SweepPoint) -> None:
        if not self._written:
            self._writer.writerow(FIELDS)
        row = point_dict(point)
        self._writer.writerow([machine(v) if isinstance(v, float) else v for v in (row[k] for k in FIELDS)])
        self._written += 1
        self._out.flush()

    def finish(self, sweep: Sweep) -> None:
        """The rows not yet written: after Ctrl-C, the runs that ended behind one still running."""
        for point in sweep.points[self._written :]:
            self.point(point)
        if not self._written:
            self._writer.writerow(FIELDS)
        self._out.flush()


class JsonSweepRenderer:
    def __init__(self, out: TextIO) -> None:
        self._out = out

    def point(self, point: SweepPoint) -> None:
        pass

    def finish(self, sweep: Sweep) -> None:
        self._out.write(json_rows_document(sweep_dict(sweep), "points"))


class TableSweepRenderer:
    """The table a person reads: α, the outcome with its mark, steps, final f and ‖∇f‖; the edge below."""

    def __init__(self, console: Console, digits: int = 6, title: str | None = None) -> None:
        self._console = console
        self._digits = digits
        self._title = title  # the function as typed (the JSON keeps SymPy's form, as run's does)

    def point(self, point: SweepPoint) -> None:
        pass

    def finish(self, sweep: Sweep) -> None:
        from rich.table import Table

        if not sweep.points:
            self._console.print("interrupted before any run ended" if sweep.interrupted else "no runs", soft_wrap=True)
            return
        title = f"{sweep.method} on {self._title or sweep.function}"
        table = Table(title=title, title_justify="left", box=None, padding=(0, 1))
        for name in ("α", "outcome", "steps", "f", "‖∇f‖"):
            table.add_column(name, justify="left" if name == "outcome" else "right", no_wrap=True)
        for p in sweep.points:
            mark, colour = _style(p)
            table.add_row(
                human(p.lr, self._digits),
                f"[{colour}]{mark}[/{colour}] {p.outcome}",
                str(p.steps),
                human(p.f, self._digits),
                human(p.grad_norm, self._digits),
            )
        self._console.print(table)
        note = edge_note(sweep)
        if note:
            self._console.print(note, soft_wrap=True)
        if sweep.interrupted:
            self._console.print(
                f"interrupted: {len(sweep.points)} of the runs had ended (the others are left out)", soft_wrap=True
            )


def sweep_html(sweep: Sweep) -> str:
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in ("α", "outcome", "steps", "f", "‖∇f‖")) + "</tr>"]
    for p in sweep.points:
        mark, colour = _style(p)
        cells = [human(p.lr, 6), "", str(p.steps), human(p.f, 6), human(p.grad_norm, 6)]
        row = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        outcome = f'<td><span style="color:{colour}">{mark} {html.escape(p.outcome)}</span></td>'
        rows.append("<tr>" + row.replace("<td></td>", outcome, 1) + "</tr>")
    note = edge_note(sweep)
    tail = f"<p>{html.escape(note)}</p>" if note else ""
    title = f"<p><b>{html.escape(sweep.method)}</b> on <code>{html.escape(sweep.function)}</code></p>"
    return f'<div class="symdescent-sweep">{title}<table>{"".join(rows)}</table>{tail}</div>'
