"""``symdescent analyze`` output: rich, plain text or JSON.

In JSON, exact values are strings in SymPy syntax (``"1/9"``, ``"sqrt(2)"``,
``"-LambertW(1/2)"``: each reads back with ``sympy.sympify``, and the simple
ones are valid ``--lr``/``--start`` values), numeric values are JSON numbers,
and each critical point says which it is with ``"numeric"``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

import sympy as sp

from symdescent.analyze import Analysis, CriticalPoint
from symdescent.render.fit import glue, wrap
from symdescent.render.mathtext import inline, signature
from symdescent.render.numbers import json_number

if TYPE_CHECKING:
    from rich.console import Console


def _exact(value: Any) -> Any:
    """A JSON value: a number for floats, SymPy syntax for exact values, null for None."""
    if value is None:
        return None
    if isinstance(value, float):
        return json_number(value)
    return sp.sstr(value)


def analysis_dict(analysis: Analysis) -> dict[str, Any]:
    """The SPEC's JSON object for ``analyze`` (plus a few documented extra keys)."""
    problem = analysis.problem
    return {
        "function": str(problem.expr),
        "variables": list(problem.names),
        "gradient": [str(g) for g in problem.gradient],
        "hessian": [[str(e) for e in row] for row in analysis.hessian],
        "critical_points": [_point_dict(p, local=not analysis.constant_hessian) for p in analysis.critical_points],
        "convex": analysis.convex,
        "lipschitz": _exact(analysis.lipschitz),
        "max_stable_lr": _exact(analysis.max_stable_lr),
        "best_lr": _exact(analysis.best_lr),
        "hessian_eigenvalues": None if analysis.eigenvalues is None else [_exact(v) for v in analysis.eigenvalues],
        "convex_reason": analysis.convex_reason,
        "search": analysis.search,
        "complete": analysis.complete,
        "notes": list(analysis.notes),
    }


def _point_dict(point: CriticalPoint, *, local: bool) -> dict[str, Any]:
    data = {
        "point": [_exact(c) for c in point.point],
        "kind": point.kind,
        "f": _exact(point.f),
        "numeric": point.numeric,
        "eigenvalues": [json_number(v) for v in point.eigenvalues],
    }
    sizes = point.local_step_sizes if local else None
    if sizes is not None:  # near a minimum of a non-quadratic f: the step sizes of its local quadratic
        data["local_max_stable_lr"], data["local_best_lr"] = (json_number(v) for v in sizes)
    return data


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}".replace("-", "−")
    return inline(value)


def _point_text(point: CriticalPoint) -> str:
    if len(point.point) == 1:
        return _value(point.point[0])
    return "(" + ", ".join(_value(c) for c in point.point) + ")"


def _matrix_text(rows: tuple[tuple[sp.Expr, ...], ...]) -> str:
    return "[" + ", ".join("[" + ", ".join(inline(e, 80) for e in row) + "]" for row in rows) + "]"


_SEARCH = {
    "symbolic": "solved exactly by SymPy",
    "symbolic+numeric": "solved by SymPy, with more found numerically (≈)",
    "numeric": "found numerically (≈), by Newton's method",
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


def _lines(analysis: Analysis, width: int | None) -> list[str]:
    problem = analysis.problem
    names = problem.names
    lines = [
        f"{signature(names)} = {inline(problem.expr)}",
        "",
        "∇f = (" + ", ".join(inline(g) for g in problem.gradient) + ")",
        "H  = " + _matrix_text(analysis.hessian) + ("   (constant)" if analysis.constant_hessian else ""),
    ]
    if analysis.eigenvalues is not None:
        lines.append("eigenvalues of H: " + ", ".join(_value(v) for v in analysis.eigenvalues))
    lines.append("")
    points = analysis.critical_points
    where = names[0] if len(names) == 1 else f"({', '.join(names)})"
    complete = "" if analysis.complete or not points else "; there may be others"
    if not points:
        lines.append(f"Critical points (∇f = 0): none found ({_SEARCH[analysis.search]})")
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
            tail = glue(f"eigenvalues of H ≈ {eig}") if eig else "(a family of critical points)"
            rows.append((glue(f"{where} {text}"), point.kind, glue(ftext), tail))
        aligned = [f"  {a:<{column}}   {k:<{kind_width}}   {f:<{f_width}}   {t}" for a, k, f, t in rows]
        if width is None or max(map(len, aligned)) <= width:
            lines += aligned
        else:  # too narrow for the columns: each point on two lines
            lines += [line for a, k, f, t in rows for line in (f"  {a}   {k}   {f}", f"      {t}")]
    lines.append("")
    verdict = {True: "yes", False: "no", None: "undecided"}[analysis.convex]
    lines.append(f"Convex: {verdict} — {analysis.convex_reason}")
    if analysis.constant_hessian:
        if analysis.lipschitz is not None:
            lines.append(f"L = max |λ| = {_value(analysis.lipschitz)}  (∇f is L-Lipschitz)")
        if analysis.max_stable_lr is not None and analysis.best_lr is not None:
            lines.append(
                f"max stable α = 2/λ_max = {_value(analysis.max_stable_lr)}"
                f"  (gradient descent converges for 0 < α < {_value(analysis.max_stable_lr)})"
            )
            flat = bool(analysis.eigenvalues) and analysis.eigenvalues[0] == 0
            note = "  (λ_min: the smallest eigenvalue that is not 0)" if flat else ""
            lines.append(f"best α = 2/(λ_min + λ_max) = {_value(analysis.best_lr)}{note}")
    else:
        lines.append("Step sizes: the Hessian is not constant, so there is no single L, max stable α or best α")
        for point in points:
            local = point.local_step_sizes
            if local is not None:
                lines.append(
                    f"  near the minimum {_point_text(point)}: stable for {glue(f'α < {local[0]:.6g}')}, "
                    f"fastest at {glue(f'α ≈ {local[1]:.6g}')} (from the eigenvalues of H there)"
                )
    lines += [f"Note: {note}" for note in analysis.notes]
    return lines


def render_analysis(analysis: Analysis, fmt: str, out: TextIO, console: Console | None) -> None:
    if fmt == "json":
        out.write(json.dumps(analysis_dict(analysis), allow_nan=False, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt == "text" or console is None:
        out.write("\n".join(text_lines(analysis)) + "\n")
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
