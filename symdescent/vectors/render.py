"""Output of vector runs: table, csv/tsv, json, jsonl and -q, with one rule for large vectors.

The rule (documented in the README): the entries themselves are shown while
all variables together have at most :data:`SHOW_ENTRIES` entries; beyond,
the table shows the first entries of each vector then ``…`` and the machine
formats only ``step, f, grad_norm``. ``-q`` prints the final point while it
has at most :data:`QUIET_ENTRIES` entries, else f, with a hint on stderr to
use ``--save``. No renderer keeps every step.
"""

from __future__ import annotations

import collections
import json
import math
from typing import Any, TextIO

import numpy as np

from symdescent.vectors.printing import pretty
from symdescent.vectors.problem import VectorProblem
from symdescent.vectors.run import VectorResult, VectorStep

#: Entries shown per step in every format while all variables together have at most this many.
SHOW_ENTRIES = 6
#: -q and the JSON result print the final point while it has at most this many entries.
QUIET_ENTRIES = 1000
#: The table's preview of a large vector: this many first entries.
PREVIEW = 3


def entry_labels(problem: VectorProblem) -> list[str]:
    """``x[1], x[2], b``: one label per entry, 1-based like the maths."""
    labels = []
    for name, shape, first, end in problem.layout:
        if not shape:
            labels.append(name)
        elif len(shape) == 1:
            labels.extend(f"{name}[{k}]" for k in range(1, end - first + 1))
    return labels


def gradient_label(problem: VectorProblem, name: str) -> str:
    """``∂f/∂a`` for a scalar, ``∇f`` for the only vector, ``∇_w f`` for one of several variables."""
    if not problem.shapes[name]:
        return f"∂f/∂{name}"
    return "∇f" if len(problem.names) == 1 else f"∇_{name} f"


def _number(value: float) -> Any:
    return value if math.isfinite(value) else str(value)


def _human(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


class DelimitedVectorRenderer:
    def __init__(self, out: TextIO, problem: VectorProblem, delimiter: str = ",") -> None:
        self._out, self._sep = out, delimiter
        self._entries = problem.size <= SHOW_ENTRIES
        labels = entry_labels(problem) if self._entries else []
        header = ["step", *labels, "f", *(f"df/d{label}" for label in labels), "grad_norm"]
        out.write(delimiter.join(header) + "\n")

    def step(self, step: VectorStep) -> None:
        values = [*step.x, step.f, *step.grad] if self._entries else [step.f]
        self._out.write(self._sep.join([str(step.step), *(repr(float(v)) for v in values), repr(step.grad_norm)]))
        self._out.write("\n")

    def finish(self, result: VectorResult) -> None:
        self._out.flush()


def step_dict(step: VectorStep, entries: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"step": step.step}
    if entries:
        data["x"] = [_number(float(v)) for v in step.x]
    data["f"] = _number(step.f)
    if entries:
        data["grad"] = [_number(float(v)) for v in step.grad]
    data["grad_norm"] = _number(step.grad_norm)
    return data


def point_dict(problem: VectorProblem, values: Any) -> dict[str, Any] | None:
    """``{name: number or list}`` while the point has at most :data:`QUIET_ENTRIES` entries, else None."""
    if problem.size > QUIET_ENTRIES:
        return None
    return {
        n: (_number(float(v)) if np.ndim(v) == 0 else [_number(float(e)) for e in np.ravel(v)])
        for n, v in values.items()
    }


def head_dict(problem: VectorProblem, method: str, params: Any) -> dict[str, Any]:
    """The keys known before the first step, in the scalar JSON's order (plus ``shapes``)."""
    data: dict[str, Any] = {
        "function": problem.function_text,
        "variables": list(problem.names),
        "shapes": {n: list(problem.shapes[n]) for n in problem.names},
        "gradient": list(problem.gradient_texts(fancy=False).values()),
        "method": method,
        "params": {k: (_number(v) if isinstance(v, float) else v) for k, v in dict(params).items()},
    }
    start = point_dict(problem, problem.start)
    if start is not None:
        data["start"] = start
    return data


def tail_dict(result: VectorResult, problem: VectorProblem) -> dict[str, Any]:
    """The keys after ``history``: how the run ended."""
    data: dict[str, Any] = {}
    x = point_dict(problem, result.x)
    if x is not None:
        data["x"] = x
    data.update(
        f=_number(result.f),
        grad_norm=_number(result.grad_norm),
        steps=result.steps,
        status=str(result.status),
        message=result.message,
        tol=result.tol,
        max_steps=result.max_steps,
        maximize=result.maximize,
        nfev=result.nfev,
        ngev=result.ngev,
        nhev=result.nhev,
    )
    return data


def result_dict(result: VectorResult, problem: VectorProblem) -> dict[str, Any]:
    """The run's JSON object without ``history`` (the JSONL result line, one run of ``compare``)."""
    return {**head_dict(problem, result.method, result.params), **tail_dict(result, problem)}


def _lines(data: dict[str, Any]) -> str:
    return ",\n".join(
        f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in data.items()
    )


class JsonVectorRenderer:
    """One JSON object: the head, the "history" streamed as the steps come (nothing kept), then the end.

    Without ``method``/``params`` (not known yet) the head is written at the end, after the history.
    """

    def __init__(self, out: TextIO, problem: VectorProblem, method: str | None = None, params: Any = None) -> None:
        self._out, self._problem = out, problem
        self._entries = problem.size <= SHOW_ENTRIES
        self._head = head_dict(problem, method, params or {}) if method is not None else None
        self._first = True
        out.write("{\n" + (_lines(self._head) + ",\n" if self._head else "") + '  "history": [')

    def step(self, step: VectorStep) -> None:
        self._out.write(("\n    " if self._first else ",\n    ") + json.dumps(step_dict(step, self._entries)))
        self._first = False

    def finish(self, result: VectorResult) -> None:
        rest = tail_dict(result, self._problem)
        if self._head is None:
            rest = result_dict(result, self._problem)
        self._out.write(("]" if self._first else "\n  ]") + ",\n" + _lines(rest) + "\n}\n")
        self._out.flush()


class JsonLinesVectorRenderer:
    """One line per step; the result line's head (with "start") is taken before the run may move the start."""

    def __init__(self, out: TextIO, problem: VectorProblem, method: str | None = None, params: Any = None) -> None:
        self._out, self._problem = out, problem
        self._entries = problem.size <= SHOW_ENTRIES
        self._head = head_dict(problem, method, params or {}) if method is not None else None

    def step(self, step: VectorStep) -> None:
        self._out.write(json.dumps({"event": "step", **step_dict(step, self._entries)}, ensure_ascii=False) + "\n")
        self._out.flush()

    def finish(self, result: VectorResult) -> None:
        data = result_dict(result, self._problem)
        if self._head is not None:
            data = {**data, **self._head}
        self._out.write(json.dumps({"event": "result", **data}, ensure_ascii=False) + "\n")
        self._out.flush()


class QuietVectorRenderer:
    def __init__(self, out: TextIO, err: TextIO, problem: VectorProblem, *, saving: bool = False) -> None:
        self._out, self._err, self._problem, self._saving = out, err, problem, saving

    def step(self, step: VectorStep) -> None:
        pass

    def finish(self, result: VectorResult) -> None:
        if self._problem.size <= QUIET_ENTRIES:
            flat = self._problem.flatten(result.x)
            self._out.write(" ".join(repr(float(v)) for v in flat) + "\n")
        else:
            self._out.write(repr(float(result.f)) + "\n")
            if not self._saving:
                self._err.write(
                    f"The point has {self._problem.size:,} entries (more than {QUIET_ENTRIES}): "
                    "f is printed instead; use --save FILE.npy to keep the point\n"
                )
        self._out.flush()


class TableVectorRenderer:
    """A Rich table: the first rows, a bounded ring of the last ones, and a summary.

    The scalar table's machinery (:mod:`symdescent.render.fit`) picks the layout: every
    entry column with full digits, else fewer entry columns, else fewer digits, with a
    note saying what was left out, so that no number is ever cut at the screen's edge.
    """

    def __init__(
        self,
        console: Any,
        problem: VectorProblem,
        *,
        digits: int = 6,
        elide: bool = True,
        head: int = 10,
        tail: int = 10,
    ) -> None:
        from symdescent.render.sparkline import SparkSampler

        self._console, self._problem, self._digits = console, problem, digits
        self._head: list[VectorStep] = []
        self._tail: collections.deque[VectorStep] = collections.deque(maxlen=tail if elide else None)
        self._head_size = head if elide else 0
        self._hidden = 0
        self._columns = self._entry_columns()
        self._spark = SparkSampler()

    def _entry_columns(self) -> list[tuple[str, int | None]]:
        """(label, flat index or None for …)."""
        problem = self._problem
        if problem.size <= SHOW_ENTRIES:
            return list(zip(entry_labels(problem), range(problem.size), strict=True))
        columns: list[tuple[str, int | None]] = []
        for name, shape, first, end in problem.layout:
            if not shape:
                columns.append((name, first))
                continue
            for k in range(min(PREVIEW, end - first)):
                columns.append((f"{name}[{k + 1}]", first + k))
            if end - first > PREVIEW:
                columns.append(("…", None))
        return columns

    def step(self, step: VectorStep) -> None:
        light = VectorStep(
            step.step,
            np.array([step.x[i] for _, i in self._columns if i is not None]),
            step.f,
            np.empty(0),
            step.grad_norm,
            step.info,
        )
        self._spark.add(step.f)
        if len(self._head) < self._head_size:
            self._head.append(light)
            return
        if self._tail.maxlen is not None and len(self._tail) == self._tail.maxlen:
            self._hidden += 1
        self._tail.append(light)

    def finish(self, result: VectorResult) -> None:
        from rich.console import Group
        from rich.text import Text

        from symdescent.methods import METHODS
        from symdescent.render.fit import wrap

        problem, width = self._problem, self._console.width
        method = METHODS[result.method].title if result.method in METHODS else result.method
        title = f"{method} on f({', '.join(problem.names)}) = {pretty(problem.expr)}"
        gradient = "   ".join(f"{gradient_label(problem, n)} = {text}" for n, text in problem.gradient_texts().items())
        lr = result.params.get("lr")
        gradient += f"   α = {lr:g}" if isinstance(lr, int | float) else ""
        heading = Text("\n".join(wrap(title, width, hang="  ")) + "\n", style="bold")
        heading.append("\n".join(wrap(gradient, width, hang="  ")), style="dim")
        table, notes = self._table(width)
        parts: list[Any] = [heading, table]
        if notes:
            parts.append(Text("\n".join(" " + line for note in notes for line in wrap(note, width - 1)), style="dim"))
        parts.append(self._summary(result, width))
        self._console.print(Group(*parts))

    def _table(self, width: int) -> tuple[Any, list[str]]:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        from symdescent.render.fit import choose, fit_note, table_width

        rows: list[VectorStep | None] = [*self._head, *([None] if self._hidden else []), *self._tail]
        steps = [r for r in rows if r is not None]
        entries = [label for label, index in self._columns if index is not None]
        cache: dict[tuple[int, int], list[list[str]]] = {}

        # left out first when the screen is narrow: the later entries of the vectors, then the scalars
        order = sorted(
            range(len(entries)),
            key=lambda k: ("[" not in entries[k], -int(entries[k].partition("[")[2].rstrip("]") or 0), -k),
        )

        def columns(count: int, digits: int) -> list[list[str]]:
            """The table's columns with ``count`` entry columns kept (… where entries are left out)."""
            if (count, digits) not in cache:
                kept = set(order[len(entries) - count :])
                cols = [["step", *(str(s.step) for s in steps)]]
                position = 0
                for label, index in self._columns:
                    if index is not None and position in kept:
                        cols.append([label, *(_human(float(s.x[position]), digits) for s in steps)])
                    elif cols[-1][0] != "…":  # entries left out: one … for each run of them
                        cols.append(["…", *("…" for _ in steps)])
                    position += index is not None
                cols.append(["f", *(_human(s.f, digits) for s in steps)])
                cols.append(["‖∇f‖", *(_human(s.grad_norm, digits) for s in steps)])
                cache[(count, digits)] = cols
            return cache[(count, digits)]

        options = list(range(len(entries), -1, -1))
        choice = choose(options, self._digits, width, lambda o, d: table_width(columns(o, d)), full_digits_only=1)
        cols = columns(choice.option, choice.digits)
        table = Table(box=box.SIMPLE_HEAD, header_style="bold cyan")
        for j, column in enumerate(cols):
            table.add_column(
                column[0],
                justify="right",
                style="dim" if j == 0 else ("bold" if column[0] == "f" else None),
                no_wrap=True,
                overflow="fold",
            )
        body = iter(zip(*(column[1:] for column in cols), strict=True))
        for row in rows:
            table.add_row(*([Text("⋮", style="dim")] * len(cols) if row is None else next(body)))
        notes = []
        if self._hidden:
            notes.append(f"{self._hidden} steps hidden: --every K thins evenly, --format csv shows every step")
        left_out = [entries[k] for k in sorted(order[: len(entries) - choice.option])]
        note = fit_note(left_out, choice.digits, self._digits, width, where="--format csv" if left_out else "csv")
        if note:
            notes.append(note)
        return table, notes

    def _summary(self, result: VectorResult, width: int) -> Any:
        from rich.text import Text

        from symdescent.render.fit import glue, wrap
        from symdescent.render.sparkline import sparkline
        from symdescent.result import STATUSES

        problem = self._problem
        spec = STATUSES[result.status]
        mark = spec.mark
        text = Text("\n".join(wrap(f"{mark} {result.status} — {result.message}", width, hang="  ")))
        text.stylize(f"bold {spec.colour}", 0, len(mark) + 1 + len(str(result.status)))
        label = "  final point  "
        point = ", ".join(glue(part) for part in problem.point_text(problem.flatten(result.x)).split("; "))
        lines = wrap(point, width, indent=" " * len(label), hang=" " * len(label))
        text.append("\n" + label, style="dim")
        text.append("\n".join([lines[0].lstrip(), *lines[1:]]))
        text.append("\n  f            ", style="dim")
        text.append(_human(result.f, self._digits), style="bold")
        spark = self._spark
        if spark.count >= 3:
            values, lowest = spark.values(negate=result.maximize)
            room = max(1, min(60, width - len(label)))
            text.append("\n  max f − f    " if result.maximize else "\n  f − min f    ", style="dim")
            text.append(sparkline(values, room, lowest=lowest), style="cyan")
            first = self._head[0].step if self._head else (self._tail[0].step if self._tail else 0)
            scale = f"log scale, steps {first}–{result.steps}"
            used = len(label) + min(room, spark.count)
            text.append(f"  {scale}" if used + 2 + len(scale) <= width else f"\n{' ' * len(label)}{scale}", style="dim")
        return text


def compare_output(problem: VectorProblem, runs: list[tuple[VectorResult, float]], fmt: str, out: TextIO) -> None:
    """``compare``'s machine formats, with the scalar compare's keys and columns (the ≤ 6 entries rule)."""
    dicts = [{**result_dict(r, problem), "seconds": seconds} for r, seconds in runs]
    if fmt == "json":
        head = {"function": problem.function_text, "variables": list(problem.names)}
        start = point_dict(problem, problem.start)
        if start is not None:
            head["start"] = start
        body = ",\n".join(f"    {json.dumps(d, ensure_ascii=False)}" for d in dicts)
        out.write("{\n" + _lines(head) + ',\n  "runs": [\n' + body + "\n  ]\n}\n")
    elif fmt == "jsonl":
        out.writelines(json.dumps({"event": "run", **d}, ensure_ascii=False) + "\n" for d in dicts)
    else:
        import csv

        entries = problem.size <= SHOW_ENTRIES
        labels = entry_labels(problem) if entries else []
        writer = csv.writer(out, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(
            ["method", "status", "steps", "f", *labels, "grad_norm", "nfev", "ngev", "nhev", "seconds", "lr", "message"]
        )
        for result, seconds in runs:
            point = [repr(float(v)) for v in problem.flatten(result.x)] if entries else []
            lr = result.params.get("lr")
            writer.writerow(
                [
                    result.method, str(result.status), result.steps, repr(float(result.f)), *point,
                    repr(float(result.grad_norm)), result.nfev, result.ngev, result.nhev, repr(seconds),
                    "" if lr is None else repr(lr), result.message,
                ]
            )  # fmt: skip


def save_point(path: str, problem: VectorProblem, result: VectorResult) -> None:
    """``--save``: .npy (the vector, or every variable's entries in order) or .csv (one value per line)."""
    from symdescent.errors import InputError

    one = len(problem.names) == 1
    flat = np.ravel(result.x[problem.names[0]]) if one else problem.flatten(result.x)  # no copy for one vector
    if path.lower().endswith(".npy"):
        np.save(path, np.asarray(result.x[problem.names[0]]) if one else flat)  # float32 stays float32: no copy
    elif path.lower().endswith(".csv"):
        with open(path, "w") as handle:
            if one:
                handle.writelines(f"{float(v)!r}\n" for v in flat)
            else:
                handle.write("name,value\n")
                handle.writelines(
                    f"{label},{float(v)!r}\n" for label, v in zip(entry_labels(problem), flat, strict=True)
                )
    else:
        raise InputError(f"cannot save the point to {path}: use a .npy or .csv file")


def save_scalars(path: str, names: Any, values: Any) -> None:
    """``--save`` for a run of scalar variables: the final point, as a vector in the variables' order."""
    flat = [float(v) for v in values]
    if path.lower().endswith(".npy"):
        np.save(path, np.asarray(flat, dtype=float))
    else:
        with open(path, "w") as handle:
            if len(flat) == 1:
                handle.write(f"{flat[0]!r}\n")
            else:
                handle.write("name,value\n")
                handle.writelines(f"{name},{v!r}\n" for name, v in zip(names, flat, strict=True))
