"""The Click side of array problems: the ``--data`` and ``--save`` options, which route a command takes,
and ``run``'s set-up of an array problem (on the array back-end, or written out for exact arithmetic).

``wants_arrays(expr, start, data)``: a vector start value (``[1,2]``, ``ones(…)``,
``@file``), any ``--data``, or vector syntax in the function makes an array
problem; everything else is a problem of scalars.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import click

from symdescent.cli.run_options import RunOptions
from symdescent.cli.signals import INTERRUPTS
from symdescent.errors import InputError

if TYPE_CHECKING:
    from symdescent.result import Step
    from symdescent.run import Run

_VECTOR_START = re.compile(r"\[|\bones\s*\(|\bzeros\s*\(|@")


def data_option(command: Any) -> Any:
    """``--data``, repeatable: the constants of a vector problem, from files or values."""
    return click.option(
        "--data",
        "data",
        multiple=True,
        metavar="FILE|NAME=FILE",
        help="Data (constants): FILE (.csv, .tsv, .parquet or .feather, with named columns) makes one vector "
        "per column; NAME=FILE makes a vector (one column) or a matrix (.csv, .tsv, .npy, .parquet, .feather); "
        "NAME=VALUE works too. Repeat for several.",
    )(command)


def save_option(command: Any) -> Any:
    return click.option(
        "--save",
        metavar="FILE",
        callback=checked_save_file,
        help="Write the final point to FILE.npy or FILE.csv (any size; the way to keep a long vector). "
        "Written whole or not at all: an interrupted or failed write leaves an old FILE as it was.",
    )(command)


def checked_save_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--save FILE`` checked as the options are read, before any work: an empty name, a missing or
    read-only folder, a folder as the target are refused (exit 2), not found after a long run."""
    if value is None:
        return None
    from symdescent.render.save import check_save_file

    _refused_now(check_save_file, value)
    return value


def checked_plot_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--plot FILE`` checked as the options are read: ``--plot ""`` is refused, not taken for no picture."""
    if value is None:
        return None
    from symdescent.render.plot import check_plot_file

    _refused_now(check_plot_file, value)
    return value


def _refused_now(check: Callable[[str], object], value: str) -> None:
    """Run ``check`` while the options are read: its refusal is the usual ``Error:``/``Hint:`` pair, exit 2."""
    from symdescent.cli.plumbing import fail

    try:
        check(value)
    except InputError as error:
        fail(error.message, error.hint)


def wants_vectors(expr: str, start: str | None, data: Sequence[str] | None) -> bool:
    from symdescent.vectors import looks_like_vectors

    return bool(data) or looks_like_vectors(expr) or bool(start and _VECTOR_START.search(start))


def note(text: str) -> None:
    """A note for the user (an unused constant): on stderr, so that stdout stays the data."""
    click.echo(text, err=True)


def check_variables(variables: str | None, names: Sequence[str]) -> None:
    """``--vars`` of an array problem must name exactly the variables --start gives (the rest are data)."""
    if not variables:
        return
    wanted = [v.strip() for v in variables.split(",") if v.strip()]
    if sorted(wanted) != sorted(names):
        raise InputError(
            f"--vars {','.join(wanted)} does not match the start values, which give {', '.join(names)}",
            hint="the variables of a vector problem are the names in --start; give constants with --data or --param",
        )


def array_run(expr: str, start: str, data: tuple[str, ...], params: str | None, options: RunOptions) -> tuple[Any, Any]:
    """A problem of named arrays: data loaded, shapes checked, explained if asked, ready to iterate.

    Floats run on the array back-end (whole arrays, or the chunked kernel); exact or D-digit
    arithmetic on the python back-end, the problem written out entry by entry (symdescent/vectors/expand.py).
    """
    from symdescent.vectors.command import build
    from symdescent.vectors.engine import make_run
    from symdescent.vectors.plot import VectorPlot

    if options.in_arithmetic:
        return _exact_array_run(expr, start, data, params, options)
    problem = build(expr, start, data, params, options.dtype or "float64", note=note)
    hyper = options.float_hyperparameters()
    if options.explain_to is not None:
        _explain(problem, float(hyper.get("lr", 0.1)), options)
    plotter = VectorPlot(problem, options.plot) if options.plot else None
    if options.batch_size is not None or options.scheduler:
        from symdescent.cli.scale import scaled_run

        scaled = scaled_run(problem, options, hyper, has_data=bool(data))
        if scaled is not None:
            return scaled, plotter
    # the start array is the run's own (parsed here): the chunked engine may update it in place
    run_ = make_run(
        problem, method=options.method, max_steps=options.steps, tol=options.tol, maximize=options.maximize,
        in_place=True, guard=INTERRUPTS.whole, **hyper,
    )  # fmt: skip
    return run_, plotter


def _exact_array_run(
    expr: str, start: str, data: tuple[str, ...], params: str | None, options: RunOptions
) -> tuple[Run, Any]:
    """A small array problem in exact or D-digit arithmetic: written out entry by entry, run on the scalar loop.

    Numbers written in the text (start values, data and parameters given as ``NAME=[…]`` or ``NAME=0.1``)
    are read again exactly; values from files are the decimals their floats spell.
    """
    from symdescent.vectors.command import build
    from symdescent.vectors.data import parse_assignments, split_items
    from symdescent.vectors.expand import exact_start, expanded_problem, literal_values
    from symdescent.vectors.plot import VectorPlot

    if options.dtype is not None:
        raise InputError("--dtype float32 or float64 cannot be combined with exact or D-digit arithmetic")
    problem = build(expr, start, data, params, note=note)
    texts = dict(parse_assignments(start, "start"))
    for item in (*data, *split_items(params or "")):
        name, sep, value = item.partition("=")
        if sep:
            texts[name.strip()] = value
    values = literal_values(texts)
    if options.explain_to is not None:
        _explain(problem, float(options.float_hyperparameters().get("lr", 0.1)), options)
    run_ = options.iterate(expanded_problem(problem, values), exact_start(problem, values))
    plotter = _FloatSteps(VectorPlot(problem, options.plot)) if options.plot else None
    return run_, plotter


class _FloatSteps:
    """A float renderer (the array plot) fed by an exact or D-digit run: each step and the result as floats."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def recording(self, steps: Iterable[Step]) -> Iterator[Step]:
        for step in steps:
            self.step(step)
            yield step

    def step(self, step: Step) -> None:
        from symdescent.result import step_as_floats

        self._inner.step(step_as_floats(step))

    def finish(self, result: Any) -> None:
        self._inner.finish(result.as_floats())


def _explain(problem: Any, lr: float, options: RunOptions) -> None:
    """``run --explain`` of an array problem: the derivation of plain gradient descent, before the steps."""
    from symdescent.vectors.explain import explain_text

    if options.maximize or options.method != "gd":
        raise InputError("--explain derives plain gradient descent (--method gd) and cannot be used with --maximize")
    assert options.explain_to is not None
    options.explain_to.write(explain_text(problem, lr) + "\n\n")
    options.explain_to.flush()
