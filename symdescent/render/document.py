"""A maths document — headings, paragraphs, display equations, rule steps, tables — and its writers.

The layout of an explanation (:mod:`symdescent.render.explain`) is a list of
these blocks, with the mathematics already written by a
:class:`~symdescent.render.formulas.Notation`; this module writes them as
plain text (fitted to a width, for the terminal), Markdown or LaTeX.
The LaTeX needs ``\\usepackage{amsmath}`` in the document's preamble.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from symdescent.render.fit import wrap

if TYPE_CHECKING:
    from rich.console import Console


def json_document(data: Any) -> str:
    """A JSON document for people and programs: indented, Unicode kept, no NaN (it is not JSON)."""
    return json.dumps(data, allow_nan=False, ensure_ascii=False, indent=2)


def json_rows_document(data: Mapping[str, Any], rows: str) -> str:
    """An object whose list ``rows`` (runs, points) is written one element per line, the rest key by key."""
    items = [json.dumps(row, allow_nan=False, ensure_ascii=False) for row in data[rows]]
    head = [f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, allow_nan=False, ensure_ascii=False)}"
            for k, v in data.items() if k != rows]  # fmt: skip
    body = ",\n".join(f"    {item}" for item in items)
    return "{\n" + ",\n".join(head) + f',\n  "{rows}": [\n' + body + "\n  ]\n}\n"


def rich_console(
    fmt: str, console: Console | None, out: TextIO, plain: Mapping[str, Callable[[], Iterable[str]]]
) -> Console | None:
    """The console when ``fmt`` is rich and there is one; else None, once ``out`` has the plain document.

    ``plain`` gives each plain format's lines (``text`` also stands in for rich without a console).
    """
    if fmt == "rich" and console is not None:
        return console
    out.write("\n".join(plain[fmt if fmt in plain else "text"]()) + "\n")
    return None


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Para:
    text: str  # words with inline math already delimited


@dataclass(frozen=True)
class Equations:
    lines: tuple[str, ...]  # display math, one equation per line


@dataclass(frozen=True)
class Steps:
    rows: tuple[tuple[int, str, str], ...]  # (depth, math, rule)


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]  # math
    rows: tuple[tuple[str, ...], ...]  # math


Block = Heading | Para | Equations | Steps | Table

#: Prose lines are at most this long, also on wide screens.
PARAGRAPH_WIDTH = 96
#: Rule-step formulas are aligned in a column at most this wide; the rule names follow it.
STEP_COLUMN = 72


def text_lines(blocks: Sequence[Block], width: int | None = None) -> list[tuple[str, str]]:
    """(kind, line) pairs: the text output, with what each line is, so rich can style it.

    With ``width`` every line fits in that many columns: prose and formulas
    break only at spaces, a rule's name moves below its step, a table hides
    its middle columns. Without it (piped text) formulas stay on one line.
    """
    lines: list[tuple[str, str]] = []
    number = 0
    prose = min(PARAGRAPH_WIDTH, width or PARAGRAPH_WIDTH)
    for block in blocks:
        if isinstance(block, Heading):
            if block.text.startswith("At "):
                lines.append(("blank", ""))
                lines += [("subheading", line) for line in _fit(f"  {block.text}:", width, 4)]
                continue
            number += 1
            title = _fit(f"{number}. {block.text}", width, 3)
            if lines:
                lines.append(("blank", ""))
            lines += [("heading", line) for line in title]
            lines.append(("rule", "─" * max(len(line) for line in title)))
        elif isinstance(block, Para):
            lines += [("para", line) for line in wrap(block.text, prose, indent="  ", hang="  ")]
        elif isinstance(block, Equations):
            lines += [("equation", part) for line in block.lines for part in _fit("    " + line, width, 8)]
        elif isinstance(block, Steps):
            lines += format_steps(block, width=width)
        elif isinstance(block, Table):
            table, note = table_lines(block, None if width is None else width - 4)
            lines += [("header" if i == 0 else "table", "    " + line) for i, line in enumerate(table)]
            if note:
                lines += [("para", line) for line in wrap(note, prose, indent="    ", hang="    ")]
    return lines


def _fit(line: str, width: int | None, more: int) -> list[str]:
    """``line`` as it is, or broken at spaces into lines ``more`` columns further in than its own indent."""
    if width is None or len(line) <= width:
        return [line]
    indent = len(line) - len(line.lstrip(" "))
    return wrap(line, width, hang=" " * (indent + more))


def format_steps(block: Steps, indent: int = 6, width: int | None = None) -> list[tuple[str, str]]:
    """("step", line) with each rule's name after its step, aligned; ("label", line) when it moves below."""
    left = [" " * (indent + 2 * depth) + math for depth, math, _ in block.rows]
    column = min(max(len(line) for line in left), STEP_COLUMN)
    if width is not None:  # narrow screens: a column that leaves room for the longest rule name
        column = min(column, width - 3 - max(len(rule) for _, _, rule in block.rows))
    out: list[tuple[str, str]] = []
    for line, (depth, _, rule) in zip(left, block.rows, strict=True):
        if not rule:
            out += [("step", part) for part in _fit(line, width, 4)]
        elif len(line) <= column and (width is None or column + 3 + len(rule) <= width):
            out.append(("step", f"{line.ljust(column)}   {rule}"))
        elif width is None or len(line) + 3 + len(rule) <= width:
            out.append(("step", f"{line}   {rule}"))
        else:  # the rule's name on the next line, the formula broken at spaces if it must
            out += [("step", part) for part in _fit(line, width, 4)]
            out += [("label", part) for part in _fit(" " * (indent + 2 * depth + 4) + rule, width, 2)]
    return out


def table_lines(block: Table, width: int | None = None) -> tuple[list[str], str | None]:
    """The table as aligned text, and a note when it hid middle columns to fit ``width``."""
    rows = [block.header, *block.rows]
    widths = [max(len(r[j]) for r in rows) for j in range(len(block.header))]
    shown = list(range(len(widths)))
    # the first column (t) and the last (f) stay; the others give way from the right
    while width is not None and len(shown) > 2 and sum(widths[j] + 3 for j in shown) - 3 > width:
        del shown[-2]
    out = []
    for i, row in enumerate(rows):
        out.append("   ".join(row[j].rjust(widths[j]) for j in shown).rstrip())
        if i == 0:
            out.append("   ".join("─" * widths[j] for j in shown))
    hidden = [block.header[j] for j in range(len(widths)) if j not in shown]
    note = f"{', '.join(hidden)} hidden to fit {width} columns; --format text has them" if hidden else None
    return out, note


def markdown_lines(blocks: Sequence[Block], title: str) -> list[str]:
    """Markdown: headings and prose; the mathematics in Unicode, in code blocks (neighbouring ones merged)."""
    lines = [title]
    code: list[str] = []

    def flush() -> None:
        if code:
            lines.extend(["", "```", *code, "```"])
            code.clear()

    for block in blocks:
        if isinstance(block, Equations):
            code.extend(block.lines)
            continue
        if isinstance(block, Steps):
            code.extend(line for _, line in format_steps(block, indent=2))
            continue
        flush()
        if isinstance(block, Heading):
            lines += ["", ("### " if block.text.startswith("At ") else "## ") + block.text]
        elif isinstance(block, Para):
            lines += ["", block.text.replace("\u00a0", " ")]
        elif isinstance(block, Table):
            lines.append("")
            lines.append("| " + " | ".join(block.header) + " |")
            lines.append("|" + "|".join("---:" for _ in block.header) + "|")
            lines += ["| " + " | ".join(row) + " |" for row in block.rows]
    flush()
    return lines


def latex_lines(blocks: Sequence[Block], comment: str) -> list[str]:
    """A LaTeX fragment (needs ``\\usepackage{amsmath}``) after a ``%`` comment line."""
    lines = [f"% {comment}"]
    for block in blocks:
        lines += latex_block(block)
    return lines


def latex_block(block: Block) -> list[str]:
    """One block as LaTeX lines."""
    if isinstance(block, Heading):
        command = r"\paragraph" if block.text.startswith("At ") else r"\subsection*"
        return ["", f"{command}{{{block.text}}}"]
    if isinstance(block, Para):
        return [r"\noindent " + block.text, ""]
    if isinstance(block, Equations):
        if len(block.lines) == 1:
            return [r"\[", "  " + block.lines[0], r"\]"]
        return [r"\begin{gather*}", " \\\\\n".join("  " + line for line in block.lines), r"\end{gather*}"]
    if isinstance(block, Steps):
        # The rule first, then the step: long steps wrap like text instead of pushing the rule off the line.
        lines = [r"\begin{flushleft}"]
        for depth, math, rule in block.rows:
            label = rf"\mbox{{\small\itshape {rule}:}}\enspace " if rule else ""
            math_text = f"$\\displaystyle {math}$" if not math.startswith("…") else math.replace("…", r"\dots")
            lines.append(rf"\hspace*{{{2 * depth + 1}em}}{label}{math_text}\\[2pt]")
        lines.append(r"\end{flushleft}")
        return lines
    columns = "r" * len(block.header)
    return [
        r"\[",
        rf"\begin{{array}}{{{columns}}}",
        " & ".join(block.header) + r" \\ \hline",
        *(" & ".join(row) + r" \\" for row in block.rows),
        r"\end{array}",
        r"\]",
    ]


def print_rich(blocks: Sequence[Block], console: Console) -> None:
    """The text layout fitted to the console, styled: headings, the key equations in bold, rule names dimmed."""
    from rich.text import Text

    styles = {
        "heading": "bold cyan",
        "subheading": "bold",
        "rule": "dim",
        "equation": "bold",
        "header": "bold",
        "label": "dim italic",
    }
    for kind, line in text_lines(blocks, console.width):
        if kind == "step" and "   " in line.strip():
            math, _, rule = line.rpartition("   ")
            text = Text(math + "   ")
            text.append(rule, style="dim italic")
        else:
            text = Text(line, style=styles.get(kind, ""))
        console.print(text, soft_wrap=True)  # the lines already fit: Rich must not break them again
