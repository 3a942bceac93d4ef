"""What the library's objects show in Jupyter: a run as an HTML table, derivations as Markdown with LaTeX.

Jupyter asks an object for ``_repr_html_`` or ``_repr_markdown_``; the objects
(:class:`~symdescent.result.Result`, the explanations, the gradient report, the
analysis, the comparison) answer through these functions, so the notebook shows
what the terminal shows, laid out for a browser. MathJax renders the ``$…$``
and ``$$…$$`` that the LaTeX notation writes. Nothing here computes: it only
formats what the core computed.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from symdescent.render.document import Block, Equations, Heading, Para, Steps, Table
from symdescent.result import STATUSES

if TYPE_CHECKING:
    from symdescent.analyze import Analysis
    from symdescent.compare import Comparison
    from symdescent.explain import Explanation
    from symdescent.gradient import GradientReport
    from symdescent.result import Result, Step
    from symdescent.vectors.explain import VectorExplanation

#: Rows shown at each end of a run's table; the middle is summarised in one row.
EDGE_ROWS = 3
#: Characters of the sparkline of f.
SPARK_WIDTH = 40


def number(value: Any, digits: int = 6) -> str:
    """A float to ``digits`` significant digits; an exact or D-digit number as it prints (4/5 stays 4/5)."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return format(value, f".{digits}g") if isinstance(value, float) else str(value)
    try:
        import numpy as np

        if isinstance(value, np.floating | np.integer):
            return format(float(value), f".{digits}g")
    except ImportError:  # pragma: no cover - numpy is in the fast extra
        pass
    return str(value)


def _cell(text: str, header: bool = False) -> str:
    tag = "th" if header else "td"
    return f"<{tag}>{html.escape(text)}</{tag}>"


def _row(cells: Sequence[str], header: bool = False) -> str:
    return "<tr>" + "".join(_cell(c, header) for c in cells) + "</tr>"


def _status(status: Any) -> str:
    spec = STATUSES[status]
    return f'<span style="color:{spec.colour}">{spec.mark} {html.escape(str(status))}</span>'


def _f_values(history: Sequence[Step]) -> list[float]:
    out = []
    for step in history:
        try:
            out.append(float(step.f))
        except (TypeError, ValueError, OverflowError):
            out.append(math.nan)
    return out


def result_html(result: Result) -> str:
    """A run: its status line, the first and last steps as a table, and a sparkline of f."""
    from symdescent.render.sparkline import sparkline

    layout = result.layout
    columns = layout.columns()
    header = ["step", *(label for label, _ in columns), "f", "‖∇f‖"]
    history = list(result.history)

    def cells(step: Step) -> list[str]:
        entries = ["…" if index is None else number(step.x[index]) for _, index in columns]
        return [str(step.step), *entries, number(step.f), number(step.grad_norm)]

    rows = [_row(header, header=True)]
    if len(history) > 2 * EDGE_ROWS:
        shown = history[:EDGE_ROWS]
        rows += [_row(cells(s)) for s in shown]
        hidden = history[-EDGE_ROWS].step - shown[-1].step - 1
        blank = [""] * (len(header) - 1)
        rows.append(_row([f"⋮ {hidden} steps" if hidden != 1 else "⋮ 1 step", *blank]))
        rows += [_row(cells(s)) for s in history[-EDGE_ROWS:]]
    else:
        rows += [_row(cells(s)) for s in history]
    title = (
        f"<p><b>{html.escape(result.method)}</b> on <code>{html.escape(result.function)}</code>: "
        f"{_status(result.status)} after {result.steps} step{'s' if result.steps != 1 else ''}</p>"
    )
    spark = ""
    if len(history) > 1:
        line = sparkline(_f_values(history), SPARK_WIDTH)
        spark = f'<p>f: <span style="font-family:monospace">{html.escape(line)}</span></p>'
    final = html.escape(layout.point_text(result.flat, number))
    message = f"<p>{html.escape(result.message)}</p>" if result.message else ""
    return (
        f'<div class="symdescent-result">{title}<table>{"".join(rows)}</table>{spark}'
        f"<p>At the end: {final}; f = {html.escape(number(result.f))}</p>{message}</div>"
    )


def comparison_html(comparison: Comparison) -> str:
    """Methods side by side: status, steps, f and ‖∇f‖ at the end, seconds."""
    header = ["method", "status", "steps", "f", "‖∇f‖", "seconds"]
    rows = [_row(header, header=True)]
    for run, seconds in zip(comparison.runs, comparison.seconds, strict=False):
        cells = [run.method, "", str(run.steps), number(run.f), number(run.grad_norm), f"{seconds:.3g}"]
        row = _row(cells)
        rows.append(row.replace("<td></td>", f"<td>{_status(run.status)}</td>", 1))
    return (
        f'<div class="symdescent-comparison"><p>Methods on <code>{html.escape(comparison.function)}</code></p>'
        f"<table>{''.join(rows)}</table></div>"
    )


# -- Markdown with LaTeX ------------------------------------------------------------------------------


def blocks_markdown(blocks: Sequence[Block], title: str) -> str:
    """A document's blocks (in LaTeX notation) as Markdown whose mathematics MathJax renders."""
    lines = [title]
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["", ("### " if block.text.startswith("At ") else "## ") + block.text]
        elif isinstance(block, Para):
            lines += ["", block.text.replace("\u00a0", " ")]
        elif isinstance(block, Equations):
            body = block.lines[0] if len(block.lines) == 1 else r" \\ ".join(block.lines)
            env = (r"\begin{gathered}", r"\end{gathered}") if len(block.lines) > 1 else ("", "")
            lines += ["", f"$${env[0]}{body}{env[1]}$$"]
        elif isinstance(block, Steps):
            lines.append("")
            for depth, math_text, rule in block.rows:
                label = f"*{rule}*: " if rule else ""
                shown = math_text if math_text.startswith("…") else f"${math_text}$"
                lines.append(f"{'  ' * depth}- {label}{shown}")
        elif isinstance(block, Table):
            lines += ["", "| " + " | ".join(f"${h}$" for h in block.header) + " |"]
            lines.append("|" + "|".join("---:" for _ in block.header) + "|")
            lines += ["| " + " | ".join(f"${c}$" if c else "" for c in row) + " |" for row in block.rows]
    return "\n".join(lines) + "\n"


def explanation_markdown(ex: Explanation | VectorExplanation) -> str:
    """``explain``'s derivation: the same blocks as ``--format latex``, as Markdown."""
    from symdescent.render.explain import blocks, title

    return blocks_markdown(blocks(ex, latex=True), title(ex))


def gradient_markdown(report: GradientReport) -> str:
    """``grad``: f, each partial, ∇f and its value at the point, in LaTeX."""
    from symdescent.render.gradient import latex_blocks

    return blocks_markdown(latex_blocks(report), "### The gradient")


def analysis_markdown(analysis: Analysis) -> str:
    """``analyze``: the facts as a table (the same values as its JSON), the Hessian in LaTeX when it is listed."""
    from symdescent.render.analyze import analysis_dict

    facts = analysis_dict(analysis)
    lines = [f"### Analysis of `{facts['function']}`", ""]
    if analysis.hessian is not None and all(not isinstance(e, float) for row in analysis.hessian for e in row):
        from symdescent.render.formulas import Notation

        n = Notation(latex=True, decimal=False, one_variable=len(facts["variables"]) == 1)
        rows = r" \\ ".join(" & ".join(n.e(e) for e in row) for row in analysis.hessian)
        lines += [rf"$$H = \begin{{bmatrix}} {rows} \end{{bmatrix}}$$", ""]
    lines += ["| | |", "|---|---|"]
    names = {
        "gradient": "∇f",
        "convex": "convex",
        "quadratic": "quadratic",
        "lambda_min": "λmin",
        "lambda_max": "λmax",
        "max_stable_lr": "largest stable α",
        "best_lr": "best α",
        "critical_points": "critical points",
    }
    for key, label in names.items():
        value = facts.get(key)
        if value is None:
            continue
        if key == "critical_points":
            value = "; ".join(_point_text(p) for p in value) or "none"
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        lines.append(f"| {label} | {html.escape(str(value))} |")
    return "\n".join(lines) + "\n"


def _point_text(point: dict[str, Any]) -> str:
    where = ", ".join(f"{k} = {v}" for k, v in point["point"].items())
    return f"({where}): {point['kind']}, f = {point['f']}"
