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
from typing import Any, Protocol, TextIO

from rich.console import Console

from symdescent.compare import Comparison
from symdescent.methods import METHODS, MethodSpec
from symdescent.problem import Problem
from symdescent.render.json import dumps, result_dict
from symdescent.render.numbers import human, json_number, machine
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
        "start": [json_number(v) for v in comparison.start],
        "runs": [run_dict(r, s) for r, s in zip(comparison.runs, comparison.seconds, strict=True)],
    }


class JsonCompareRenderer:
    def __init__(self, out: TextIO) -> None:
        self._out = out

    def run(self, result: Result, seconds: float) -> None:
        pass

    def finish(self, comparison: Comparison) -> None:
        data = comparison_dict(comparison)
        runs = ",\n".join(f"    {dumps(run)}" for run in data.pop("runs"))
        head = ",\n".join(f"  {dumps(k)}: {dumps(v)}" for k, v in data.items())
        self._out.write("{\n" + head + ',\n  "runs": [\n' + runs + "\n  ]\n}\n")


class JsonLinesCompareRenderer:
    """One ``{"event": "run", …}`` line per method as it finishes."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def run(self, result: Result, seconds: float) -> None:
        self._out.write(dumps({"event": "run", **run_dict(result, seconds)}) + "\n")
        self._out.flush()

    def finish(self, comparison: Comparison) -> None:
        pass


def header(names: tuple[str, ...]) -> list[str]:
    """``method,status,steps,f,x,y,grad_norm,nfev,ngev,nhev,seconds,lr,message``."""
    return ["method", "status", "steps", "f", *names, "grad_norm", "nfev", "ngev", "nhev", "seconds", "lr", "message"]


class DelimitedCompareRenderer:
    """One row per method, written as each run finishes; numbers exact (shortest round-trip)."""

    def __init__(self, out: TextIO, names: tuple[str, ...], delimiter: str = ",") -> None:
        self._out = out
        self._names = names
        self._writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        self._started = False

    def _header(self) -> None:
        # written with the first row, so that bad input found before any run prints nothing
        if not self._started:
            self._writer.writerow(header(self._names))
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
                *map(machine, result.x),
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


class TableCompareRenderer:
    """The side-by-side table a person reads, one row per method, with each failure's reason below."""

    def __init__(self, console: Console, problem: Problem, *, digits: int = 6) -> None:
        self._console = console
        self._problem = problem
        self._digits = digits

    def run(self, result: Result, seconds: float) -> None:
        pass

    def finish(self, comparison: Comparison) -> None:
        from rich import box
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        from symdescent.render.mathtext import inline, signature

        problem, digits = self._problem, self._digits
        runs = comparison.runs
        goal = "Maximising" if runs and runs[0].maximize else "Minimising"
        heading = Text()
        heading.append(f"{goal} {signature(problem.names)} = {inline(problem.expr)}\n", style="bold")
        start = ", ".join(f"{n} = {human(v, digits)}" for n, v in zip(problem.names, comparison.start, strict=True))
        tol = runs[0].tol if runs else 0
        heading.append(f"from {start}, tol = {tol:g}, one row per method", style="dim")

        table = Table(box=box.SIMPLE_HEAD, header_style="bold cyan")
        for name, justify in [
            ("method", "left"),
            ("α / step rule", "right"),
            ("status", "left"),
            ("steps", "right"),
            ("f", "right"),
            ("final point", "right"),
            ("‖∇f‖", "right"),
        ]:
            table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
        show_hessian = any(r.nhev for r in runs)
        table.add_column("evals f / ∇f / H" if show_hessian else "evals f / ∇f", justify="right")
        table.add_column("time", justify="right")

        for result, seconds in zip(runs, comparison.seconds, strict=True):
            mark, style = STATUSES[result.status].mark, STATUSES[result.status].colour
            lr = result.params.get("lr")
            step_size = f"{lr:g}" if isinstance(lr, float | int) else _spec(result.method).step_rule
            if result.method == "backtracking":
                step_size = f"Armijo from {lr:g}"
            point = "(" + ", ".join(human(v, digits) for v in result.x) + ")"
            if len(result.x) > 6:
                point = f"{len(result.x)} values (--format json)"
            row = [
                Text(result.method, style="bold"),
                step_size,
                Text(f"{mark} {result.status}", style=style),
                str(result.steps),
                human(result.f, digits),
                point,
                human(result.grad_norm, 3),
                " / ".join(map(str, (result.nfev, result.ngev, result.nhev)[: 3 if show_hessian else 2])),
                _duration(seconds),
            ]
            table.add_row(*row)

        notes = Text()
        for result in runs:
            if not result.success:
                mark, style = STATUSES[result.status].mark, STATUSES[result.status].colour
                notes.append(f"{mark} {result.method}", style=style)
                why = _spec(result.method).why
                if why:
                    # the generic advice (more steps, a larger α) is wrong here: say why instead
                    notes.append(f": {result.message.split(';')[0]}\n  {why}\n")
                else:
                    notes.append(f": {result.message}\n")
        if comparison.interrupted:
            notes.append("■ interrupted: the methods after the last row did not run\n", style="yellow")
        self._console.print(Group(heading, table, notes) if notes else Group(heading, table))


def _duration(seconds: float) -> str:
    """``12 ms``, ``1.53 s``."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
