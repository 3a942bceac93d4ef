"""``symdescent grad`` output: rich, plain text or JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from symdescent.gradient import GradientReport
from symdescent.render.document import json_document, rich_console
from symdescent.render.fit import glue, table_width, wrap
from symdescent.render.mathtext import inline, signature
from symdescent.render.numbers import json_number

if TYPE_CHECKING:
    from rich.console import Console

    from symdescent.render.document import Block


def plain_number(value: float) -> str:
    """``2`` for 2.0, else the shortest round-trip text."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)


#: An exact value is written beside its float only while it is this short (else the float alone).
EXACT_TEXT = 40


def shown(value: float, exact: Any = None) -> str:
    """A value for people: ``π/2 ≈ 1.5707963267948966`` when it was written (or came out) exactly and is not a
    whole number, else the float alone; a real minus sign."""
    text = plain_number(value)
    if exact is not None and not exact.is_Integer:
        from symdescent.render.formulas import Notation

        written = Notation(latex=False, decimal=False, one_variable=False).e(exact)
        if len(written) <= EXACT_TEXT and written != text:
            text = f"{written} ≈ {text}"
    return text.replace("-", "−")


def _values(report: GradientReport) -> tuple[list[str], list[str], str]:
    """The point, ∇f and f there, as :func:`shown` writes them."""
    at = report.at or ()
    exact_at = report.exact_at or (None,) * len(at)
    value = report.value or ()
    exact_value = report.exact_value or (None,) * len(value)
    point = [shown(v, e) for v, e in zip(at, exact_at, strict=True)]
    grad = [shown(v, e) for v, e in zip(value, exact_value, strict=True)]
    return point, grad, shown(report.f, report.exact_f) if report.f is not None else ""


def gradient_dict(report: GradientReport) -> dict[str, Any]:
    problem = report.problem
    data: dict[str, Any] = {
        "function": str(problem.expr),
        "variables": list(problem.names),
        "partials": {n: str(g) for n, g in zip(problem.names, problem.gradient, strict=True)},
        "gradient": [str(g) for g in problem.gradient],
    }
    if report.at is not None and report.value is not None:
        data["at"] = {n: json_number(v) for n, v in zip(problem.names, report.at, strict=True)}
        data["value"] = {n: json_number(v) for n, v in zip(problem.names, report.value, strict=True)}
        data["norm"] = json_number(report.norm)
        data["f"] = json_number(report.f)
    return data


def text_lines(report: GradientReport) -> list[str]:
    problem = report.problem
    lines = [f"{signature(problem.names)} = {inline(problem.expr)}", ""]
    width = max(len(n) for n in problem.names)
    if report.derivations:
        lines += _step_lines(report)
    else:
        lines += [f"∂f/∂{n:<{width}} = {inline(g)}" for n, g in zip(problem.names, problem.gradient, strict=True)]
    lines += ["", "∇f = (" + ", ".join(inline(g) for g in problem.gradient) + ")"]
    if report.at is not None and report.value is not None and report.norm is not None:
        point, grad, f = _values(report)
        lines += [
            "",
            f"at ({', '.join(point)}):",
            f"  f    = {f}" if report.f is not None else "",
            "  ∇f   = (" + ", ".join(grad) + ")",
            f"  ‖∇f‖ = {shown(report.norm)}",
        ]
    return lines


def _step_lines(report: GradientReport) -> list[str]:
    """Each partial derivative followed by its rule-by-rule derivation."""
    from symdescent.render.document import Steps, format_steps
    from symdescent.render.formulas import Notation, step_rows

    problem = report.problem
    notation = Notation(latex=False, decimal=False, one_variable=problem.dimension == 1)
    lines: list[str] = []
    for i, (v, g) in enumerate(zip(problem.variables, problem.gradient, strict=True)):
        lines.append(f"{notation.partial(v)} = {inline(g)}")
        if i < len(report.derivations):
            lines += [line for _, line in format_steps(Steps(step_rows(report.derivations[i], notation)), indent=2)]
    if len(report.derivations) < problem.dimension:
        lines.append(f"(rule steps are shown for the first {len(report.derivations)} of {problem.dimension} variables)")
    return lines


def latex_lines(report: GradientReport) -> list[str]:
    """A LaTeX fragment (needs ``\\usepackage{amsmath}``): f, each partial with its steps, ∇f, the values."""
    from symdescent.render.document import latex_block

    lines = [r"% symdescent grad (needs \usepackage{amsmath})"]
    for block in latex_blocks(report):
        lines += latex_block(block)
    return lines


def latex_blocks(report: GradientReport) -> list[Block]:
    """f, each partial with its steps, ∇f and its value at the point, as document blocks in LaTeX notation."""
    from symdescent.render.document import Equations, Steps
    from symdescent.render.formulas import Notation, step_rows

    problem = report.problem
    n = Notation(latex=True, decimal=False, one_variable=problem.dimension == 1)
    names = ", ".join(n.e(v) for v in problem.variables)
    blocks: list[Block] = [Equations((f"f({names}) = {n.e(problem.expr)}",))]
    for i, (v, g) in enumerate(zip(problem.variables, problem.gradient, strict=True)):
        blocks.append(Equations((f"{n.partial(v)} = {n.e(g)}",)))
        if i < len(report.derivations):
            blocks.append(Steps(step_rows(report.derivations[i], n)))
    blocks.append(Equations((rf"\nabla f = {n.vector([n.e(g) for g in problem.gradient])}",)))
    if report.at is not None and report.value is not None and report.norm is not None:
        # exact where the point was written exactly (\frac{\pi}{2}, not 1.5707963267948966), else the float
        exact_at = report.exact_at or (None,) * len(report.at)
        exact_value = report.exact_value or (None,) * len(report.value)
        point = n.vector(
            [n.e(e) if e is not None else plain_number(v) for v, e in zip(report.at, exact_at, strict=True)]
        )
        value = n.vector(
            [n.e(e) if e is not None else plain_number(v) for v, e in zip(report.value, exact_value, strict=True)]
        )
        blocks.append(
            Equations((rf"\nabla f{point} = {value}, \qquad \|\nabla f{point}\| = {plain_number(report.norm)}",))
        )
    return blocks


def render_gradient(report: GradientReport, fmt: str, out: TextIO, console: Console | None) -> None:
    plain = {
        "latex": lambda: latex_lines(report),
        "json": lambda: [json_document(gradient_dict(report))],
        "text": lambda: text_lines(report),
    }
    console = rich_console(fmt, console, out, plain)
    if console is None:
        return
    from rich import box
    from rich.table import Table

    problem = report.problem
    width = console.width
    names = [f"∂f/∂{name}" for name in problem.names]
    point, values, f = _values(report)
    # the numbers never wrap; the formulas may, at spaces, in a column of at least SYMBOLIC_MIN characters
    if table_width([["partial derivative", *names], ["x" * SYMBOLIC_MIN], values]) > width:
        for line in text_lines(report):
            console.print("\n".join(wrap(line, width, hang=" " * (len(line) - len(line.lstrip()) + 4))), soft_wrap=True)
        return
    table = Table(
        title=f"{signature(problem.names)} = {inline(problem.expr)}",
        box=box.SIMPLE_HEAD,
        title_style="bold",
        header_style="bold cyan",
    )
    table.add_column("partial derivative", no_wrap=True)
    table.add_column("symbolic", min_width=SYMBOLIC_MIN, overflow="fold")
    if report.at is not None and report.value is not None:
        table.add_column(f"at ({', '.join(point)})", justify="right", no_wrap=True, min_width=max(map(len, values)))
    for i, g in enumerate(problem.gradient):
        row = [names[i], inline(g)]
        if report.value is not None:
            row.append(values[i])
        table.add_row(*row)
    console.print(table)
    text = "∇f = (" + ", ".join(glue(inline(g)) for g in problem.gradient) + ")"
    console.print("\n".join(wrap(text, width, hang="      ")), soft_wrap=True)
    if report.f is not None and report.at is not None:
        value = f"f({', '.join(point)}) = {f}"
        console.print("\n".join(wrap(value, width, hang="    ")), soft_wrap=True)
    if report.norm is not None:
        console.print(f"‖∇f‖ = {shown(report.norm)}", soft_wrap=True)


#: The narrowest the formula column of ``grad``'s table may get before the output becomes plain lines.
SYMBOLIC_MIN = 16
