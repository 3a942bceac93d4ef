"""The command reference, generated from the Click commands themselves (never typed by hand).

``docs/hooks.py`` puts :func:`reference` where a page says ``<!-- symdescent:commands -->``;
``python docs/gen_reference.py`` prints it.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 100  # the help text is wrapped as a terminal of this width wraps it


def _cell(text: str) -> str:
    """Text for one Markdown table cell: no line breaks, no bare pipes."""
    return " ".join(text.split()).replace("|", "\\|")


def _commands(
    command: click.Command, ctx: click.Context, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], click.Command, click.Context]]:
    yield path, command, ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _commands(sub, click.Context(sub, info_name=name, parent=ctx), (*path, name))


def _help_text(command: click.Command, ctx: click.Context) -> str:
    formatter = click.HelpFormatter(width=WIDTH, max_width=WIDTH)
    command.format_help_text(ctx, formatter)
    return "\n".join(line[2:] if line.startswith("  ") else line for line in formatter.getvalue().splitlines())


def _epilog(command: click.Command, ctx: click.Context) -> str:
    formatter = click.HelpFormatter(width=WIDTH, max_width=WIDTH)
    command.format_epilog(ctx, formatter)
    return formatter.getvalue().strip("\n")


def section(path: tuple[str, ...], command: click.Command, ctx: click.Context) -> str:
    """One command: its usage, its help, its arguments and options, its examples."""
    name = " ".join(path)
    usage = " ".join([name, *command.collect_usage_pieces(ctx)])
    out = [f"## `{name}`", "", "```text", f"Usage: {usage}", "```", ""]
    text = _help_text(command, ctx).strip("\n")
    if text:
        out += ["```text", text, "```", ""]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if arguments:
        out += ["| argument | required |", "|---|---|"]
        out += [f"| `{p.make_metavar(ctx)}` | {'yes' if p.required else 'no'} |" for p in arguments]
        out.append("")
    records = [r for p in command.get_params(ctx) if (r := p.get_help_record(ctx)) is not None]
    if records:
        out += ["| option | meaning |", "|---|---|"]
        out += [f"| `{_cell(opts)}` | {_cell(help_)} |" for opts, help_ in records]
        out.append("")
    if isinstance(command, click.Group):
        names = command.list_commands(ctx)
        out += ["Commands: " + ", ".join(f"[`{name} {sub}`](#{'-'.join((*path, sub))})" for sub in names), ""]
    epilog = _epilog(command, ctx)
    if epilog:
        out += ["```text", epilog, "```", ""]
    return "\n".join(out)


def reference() -> str:
    """Every command and subcommand of ``symdescent``, in the order ``--help`` lists them."""
    sys.path.insert(0, str(ROOT))
    from symdescent.cli import main

    root = click.Context(main, info_name="symdescent")
    return "\n".join(section(path, command, ctx) for path, command, ctx in _commands(main, root, ("symdescent",)))


def statuses() -> str:
    """The statuses of a run and their exit codes, from the one table of them (``result.STATUSES``)."""
    sys.path.insert(0, str(ROOT))
    from symdescent.result import STATUSES

    class Named(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return key

    words = Named(count="N steps", steps="k")
    rows = ["| status | mark | exit code | success | in short |", "|---|---|---|---|---|"]
    for status, spec in STATUSES.items():
        outcome = _cell(spec.outcome.format_map(words))
        rows.append(f"| `{status}` | {spec.mark} | {spec.exit_code} | {'yes' if spec.success else 'no'} | {outcome} |")
    return "\n".join(rows) + "\n"


#: The library's API beyond ``symdescent.__all__``: the functions behind compare and analyze.
MORE_API = [("symdescent.compare", "compare"), ("symdescent.analyze", "analyze")]


def _docstring(text: str) -> str:
    """A docstring as Markdown: ``code`` and :role:`name` as code, doctests as console blocks."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text).replace("``", "`")
    out: list[str] = []
    in_example = False
    for line in text.splitlines():
        if line.startswith(">>>") and not in_example:
            out += ["```pycon"]
            in_example = True
        elif in_example and not line.strip():
            out += ["```"]
            in_example = False
        out.append(line)
    if in_example:
        out.append("```")
    return "\n".join(out)


def _annotation(annotation: object) -> str:
    """An annotation as written in the source (the modules use ``from __future__ import annotations``)."""
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    return re.sub(r"ForwardRef\('([^']*)'\)", r"\1", text)


def _signature(obj: object) -> str:
    try:
        signature = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "(...)"
    parts = []
    star = False
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        prefix = {parameter.VAR_POSITIONAL: "*", parameter.VAR_KEYWORD: "**"}.get(parameter.kind, "")
        star = star or parameter.kind is parameter.VAR_POSITIONAL
        text = prefix + parameter.name
        if parameter.annotation is not parameter.empty:
            text += f": {_annotation(parameter.annotation)}"
        if parameter.default is not parameter.empty:
            text += f" = {parameter.default!r}"
        parts.append(text)
    returns = signature.return_annotation
    tail = "" if returns in (signature.empty, None, "None") else f" -> {_annotation(returns)}"
    return f"({', '.join(parts)}){tail}"


def api() -> str:
    """Each public name of the library: its signature and its docstring."""
    sys.path.insert(0, str(ROOT))
    import symdescent

    names = [("symdescent", name) for name in symdescent.__all__] + MORE_API
    out = []
    for module, name in names:
        obj = getattr(importlib.import_module(module), name)
        signature = _signature(obj)
        if inspect.isclass(obj) and issubclass(obj, Enum):
            signature = ": " + ", ".join(f"{m.name} = {m.value!r}" for m in obj)
        out += [f"### `{module}.{name}`", "", "```python", f"{name}{signature}", "```", ""]
        out += [_docstring(inspect.getdoc(obj) or ""), ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(reference())
