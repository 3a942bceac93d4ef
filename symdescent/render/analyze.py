"""``symdescent analyze`` output: rich, plain text or JSON.

One shape for every problem — scalar variables, vectors, data: the JSON has the
same keys, and the text the same sections (only the formulas at the top are
written in vector notation for arrays). In JSON, exact values are strings in
SymPy syntax (``"1/9"``, ``"sqrt(2)"``, ``"-LambertW(1/2)"``: each reads back
with ``sympy.sympify``, and the simple ones are valid ``--lr``/``--start``
values), numeric values (also everything computed from data) are JSON numbers,
each critical point says which it is with ``"numeric"``, and its ``"point"``
maps each variable to its value (a list for a vector).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

import sympy as sp

from symdescent.analyze import Analysis, CriticalPoint
from symdescent.hessian import is_zero
from symdescent.render.document import json_document, rich_console
from symdescent.render.fit import glue, wrap
from symdescent.render.mathtext import inline, signature
from symdescent.render.numbers import json_number

if TYPE_CHECKING:
    from rich.console import Console


def _exact(value: Any) -> Any:
    """A JSON value: a number for floats, SymPy syntax for exact values, a list for a vector, null for None."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return [_exact(v) for v in value]
    if isinstance(value, float | int) and not isinstance(value, bool):
        return json_number(float(value))
    return sp.sstr(value)


def _arrays(analysis: Analysis) -> Any:
    """The vector Formula of a problem of named arrays, None for scalar variables."""
    problem = analysis.problem
    formula = getattr(problem, "formula", problem)
    return formula if hasattr(formula, "kinds") else None


def _heading(analysis: Analysis) -> tuple[str, list[str], list[str]]:
    """(f as text, its variables, ∇f as one formula per variable): SymPy syntax, or our vector syntax."""
    formula = _arrays(analysis)
    if formula is None:
        problem = analysis.problem
        return str(problem.expr), list(problem.names), [str(g) for g in problem.gradient]
    from symdescent.vectors.printing import plain

    return plain(formula.expr), list(formula.variables), [plain(formula.gradient[n]) for n in formula.variables]


def analysis_dict(analysis: Analysis) -> dict[str, Any]:
    """The SPEC's JSON object for ``analyze`` (plus documented extra keys), the same keys for every problem."""
    function, names, gradient = _heading(analysis)
    hessian = analysis.hessian
    points = analysis.critical_points
    return {
        "function": function,
        "variables": names,
        "gradient": gradient,
        "hessian": None if hessian is None else [[_entry(e) for e in row] for row in hessian],
        "critical_points": None
        if points is None
        else [_point_dict(p, names, local=not analysis.constant_hessian) for p in points],
        "convex": analysis.convex,
        "lipschitz": _exact(analysis.lipschitz),
        "max_stable_lr": _exact(analysis.max_stable_lr),
        "best_lr": _exact(analysis.best_lr),
        "quadratic": analysis.quadratic,
        "lambda_min": _exact(analysis.lambda_min),
        "lambda_max": _exact(analysis.lambda_max),
        "where": analysis.where,
        "hessian_eigenvalues": None if analysis.eigenvalues is None else [_exact(v) for v in analysis.eigenvalues],
        "hessian_formula": analysis.hessian_formula,
        "convex_reason": analysis.convex_reason,
        "search": analysis.search,
        "complete": analysis.complete,
        "notes": list(analysis.notes),
    }


def _entry(value: Any) -> Any:
    """A Hessian entry: a number when computed, else the formula as SymPy prints it."""
    return json_number(value) if isinstance(value, float) else str(value)


def _point_dict(point: CriticalPoint, names: list[str], *, local: bool) -> dict[str, Any]:
    data = {
        "point": {name: _exact(c) for name, c in zip(names, point.point, strict=True)},
        "kind": point.kind,
        "f": _exact(point.f),
        "numeric": point.numeric,
        "eigenvalues": [json_number(v) for v in point.eigenvalues],
    }
    sizes = point.local_step_sizes if local else None
    if sizes is not None:  # near a minimum of a non-quadratic f: the step sizes of its local quadratic
        data["local_max_stable_lr"], data["local_best_lr"] = (json_number(v) for v in sizes)
    return data


#: A vector in the text shows this many entries, then "…".
SHOWN = 6


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        shown = ", ".join(_value(v) for v in value[:SHOWN])
        return f"[{shown}{', …' if len(value) > SHOWN else ''}]"
    if isinstance(value, float):
        return f"{value:.10g}".replace("-", "−")
    return inline(value)


def _point_text(point: CriticalPoint) -> str:
    if len(point.point) == 1:
        return _value(point.point[0])
    return "(" + ", ".join(_value(c) for c in point.point) + ")"


def _matrix_text(rows: tuple[tuple[Any, ...], ...]) -> str:
    def cell(e: Any) -> str:
        return f"{e:.6g}".replace("-", "−") if isinstance(e, float) else inline(e, 80)

    return "[" + ", ".join("[" + ", ".join(cell(e) for e in row) + "]" for row in rows) + "]"


_SEARCH = {
    "symbolic": "solved exactly by SymPy",
    "symbolic+numeric": "solved by SymPy, with more found numerically (≈)",
    "numeric": "found numerically (≈), by Newton's method",
    "linear": "solved from H·(z − z₀) = −∇f(z₀), as f is quadratic (≈: from the data)",
}


def text_lines(analysis: Analysis, width: int | None = None) -> list[str]:
    """The analysis as lines; with ``width``, broken at spaces (never inside a number) to fit that many columns."""
    lines = _lines(analysis, width)
    if width is None:
        return [line.replace("\u00a0", " ") for line in lines]
    out = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip(" ")))
        out += wrap(line, width, hang=indent + "    ")
    return out


def _top(analysis: Analysis) -> tuple[list[str], tuple[str, ...]]:
    """The lines about f, ∇f and H, and the variables' names."""
    formula = _arrays(analysis)
    if formula is None:
        problem = analysis.problem
        lines = [
            f"{signature(problem.names)} = {inline(problem.expr)}",
            "",
            "∇f = (" + ", ".join(inline(g) for g in problem.gradient) + ")",
            "H  = " + _matrix_text(analysis.hessian or ()) + ("   (constant)" if analysis.constant_hessian else ""),
        ]
        return lines, problem.names
    from symdescent.vectors.gradient_text import gradient_lines
    from symdescent.vectors.printing import pretty

    names = formula.variables
    lines = [f"f({', '.join(names)}) = {pretty(formula.expr)}", "", *gradient_lines(formula)]
    problem = analysis.problem
    if problem is not formula:  # sizes known
        sizes = ", ".join(
            f"{n}: {problem.shapes[n][0]} entries" if problem.shapes[n] else f"{n}: scalar" for n in names
        )
        lines.append(f"({sizes})")
    together = "" if len(names) == 1 else f" in ({', '.join(names)}) together"
    if analysis.quadratic:
        lines.append(f"f is quadratic{together}: its Hessian H is the same everywhere")
    shown = [] if analysis.hessian_formula is None else [analysis.hessian_formula]
    if analysis.hessian is not None:
        shown.append(_matrix_text(analysis.hessian))
    if shown:
        lines.append("H = " + " = ".join(shown))
    return lines, names


def _lines(analysis: Analysis, width: int | None) -> list[str]:
    lines, names = _top(analysis)
    if analysis.eigenvalues is not None:
        lines.append("eigenvalues of H: " + ", ".join(_value(v) for v in analysis.eigenvalues))
    elif analysis.lambda_max is not None:
        where = "" if analysis.quadratic else " at the start point"
        low = "λmin needs the full matrix" if analysis.lambda_min is None else f"λmin = {_value(analysis.lambda_min)}"
        lines.append(f"eigenvalues of H{where}: {low}, λmax = {_value(analysis.lambda_max)}")
    lines.append("")
    points = analysis.critical_points
    where = names[0] if len(names) == 1 else f"({', '.join(names)})"
    complete = "" if analysis.complete or not points else "; there may be others"
    if points is None:
        if analysis.lambda_max is not None:
            why = "f is not quadratic"
            if analysis.quadratic:
                singular = analysis.lambda_min is not None
                why = "H is singular: ∇f = 0 has no solution or a whole family" if singular else "H is too large here"
            lines += [f"Critical points (∇f = 0): not searched ({why})", ""]
    elif not points:
        lines += [f"Critical points (∇f = 0): none found ({_SEARCH[analysis.search]})", ""]
    else:
        lines.append(f"Critical points (∇f = 0), {_SEARCH[analysis.search]}{complete}:")
        texts = [("≈ " if p.numeric else "= ") + _point_text(p) for p in points]
        column = max(len(t) for t in texts) + len(where) + 1
        kind_width = max(len(p.kind) for p in points)
        fs = [("f ≈ " if p.numeric else "f = ") + _value(p.f) for p in points]
        f_width = max(len(t) for t in fs)
        rows = []
        for point, text, ftext in zip(points, texts, fs, strict=True):
            eig = ", ".join(f"{v:.6g}".replace("-", "−") for v in point.eigenvalues)
            tail = glue(f"eigenvalues of H ≈ {eig}") if eig else "(a family of critical points)" * _is_family(point)
            rows.append((glue(f"{where} {text}"), point.kind, glue(ftext), tail))
        aligned = [f"  {a:<{column}}   {k:<{kind_width}}   {f:<{f_width}}   {t}".rstrip() for a, k, f, t in rows]
        if width is None or max(map(len, aligned)) <= width:
            lines += aligned
        else:  # too narrow for the columns: each point on two lines
            lines += [line for a, k, f, t in rows for line in (f"  {a}   {k}   {f}", f"      {t}")]
        lines.append("")
    verdict = {True: "yes", False: "no", None: "undecided"}[analysis.convex]
    lines.append(f"Convex: {verdict} — {analysis.convex_reason}")
    lines += _step_lines(analysis, points or ())
    lines += [f"Note: {note}" for note in analysis.notes]
    return lines


def _is_family(point: CriticalPoint) -> bool:
    return not point.numeric and any(getattr(c, "free_symbols", None) for c in point.point)


def _step_lines(analysis: Analysis, points: tuple[CriticalPoint, ...]) -> list[str]:
    """L, the largest stable α and the best α — or why there are none, or those near a point."""
    lines = []
    if analysis.constant_hessian:
        if analysis.lipschitz is not None:
            lines.append(f"L = max |λ| = {_value(analysis.lipschitz)}  (∇f is L-Lipschitz)")
        if analysis.max_stable_lr is not None:
            lines.append(
                f"max stable α = 2/λ_max = {_value(analysis.max_stable_lr)}"
                f"  (gradient descent converges for 0 < α < {_value(analysis.max_stable_lr)})"
            )
        if analysis.best_lr is not None:
            flat = bool(analysis.eigenvalues and is_zero(analysis.eigenvalues[0]))
            note = "  (λ_min: the smallest eigenvalue that is not 0)" if flat else ""
            lines.append(f"best α = 2/(λ_min + λ_max) = {_value(analysis.best_lr)}{note}")
        return lines
    if analysis.hessian is None and analysis.lambda_max is None:
        return lines
    lines.append("Step sizes: the Hessian is not constant, so there is no single L, max stable α or best α")
    for point in points:
        local = point.local_step_sizes
        if local is not None:
            lines.append(
                f"  near the minimum {_point_text(point)}: stable for {glue(f'α < {local[0]:.6g}')}, "
                f"fastest at {glue(f'α ≈ {local[1]:.6g}')} (from the eigenvalues of H there)"
            )
    low, high = analysis.lambda_min, analysis.lambda_max
    if analysis.where == "at the start point" and high is not None and high > 0 and low is not None and low >= 0:
        best = f", fastest at {glue(f'α ≈ {2 / (low + high):.6g}')}" if low > 0 else ""
        lines.append(
            f"  near the start point: stable for {glue(f'α < {2 / high:.6g}')}{best} (from the eigenvalues of H there)"
        )
    return lines


def render_analysis(analysis: Analysis, fmt: str, out: TextIO, console: Console | None) -> None:
    plain = {"json": lambda: [json_document(analysis_dict(analysis))], "text": lambda: text_lines(analysis)}
    console = rich_console(fmt, console, out, plain)
    if console is None:
        return
    from rich.text import Text

    lines = text_lines(analysis, console.width)

    for line in lines:
        text = Text(line)
        if line.startswith(("Critical points", "Convex:", "f(")):
            text.stylize("bold", 0, line.find(":") + 1 if ":" in line and not line.startswith("f(") else len(line))
        elif line.startswith("Note:"):
            text.stylize("dim")
        for kind, style in (("minimum", "green"), ("maximum", "red"), ("saddle", "yellow"), ("degenerate", "magenta")):
            text.highlight_words([f" {kind} "], style=style)
        console.print(text)
