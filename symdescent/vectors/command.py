"""What the CLI commands do for vector problems; the Click layer calls these through small hooks.

``wants_vectors(expr, start, data)`` decides the route: a vector start value
(``[1,2]``, ``ones(…)``, ``@file``), any ``--data``, or vector syntax in the
function. Everything else stays on the scalar path, unchanged.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import click

from symdescent.errors import InputError

if TYPE_CHECKING:
    from symdescent.result import Status

_VECTOR_START = re.compile(r"\[|\bones\s*\(|\bzeros\s*\(|@")


def data_option(command: Any) -> Any:
    """``--data``, repeatable: the constants of a vector problem, from files or values."""
    return click.option(
        "--data",
        "data",
        multiple=True,
        metavar="FILE|NAME=FILE",
        help="Data (constants): FILE.csv/.tsv with a header makes one vector per column; NAME=FILE makes a vector "
        "(one column) or a matrix (.csv, .tsv, .npy); NAME=VALUE works too. Repeat for several.",
    )(command)


def save_option(command: Any) -> Any:
    return click.option(
        "--save",
        metavar="FILE",
        help="Write the final point to FILE.npy or FILE.csv (any size; the way to keep a long vector).",
    )(command)


def wants_vectors(expr: str, start: str | None, data: Sequence[str] | None) -> bool:
    from symdescent.vectors import looks_like_vectors

    return bool(data) or looks_like_vectors(expr) or bool(start and _VECTOR_START.search(start))


def refuse_scalar_only(*, exact: bool, working_precision: int | None, variables: str | None) -> None:
    """Options that only mean something for scalar variables are refused, not ignored."""
    if exact or working_precision is not None:
        raise InputError(
            f"--{'exact' if exact else 'working-precision'} works with scalar variables only",
            hint="vector problems run in float64",
        )
    if variables:
        raise InputError(
            "--vars is for scalar functions: the variables of a vector problem are the names in --start",
            hint="give constants with --data or --param",
        )


def build(expr: str, start: str | None, data_items: Sequence[str], params: str | None, dtype: str = "float64") -> Any:
    """The bound problem: data loaded, start values parsed, shapes checked."""
    from symdescent.vectors.parse import parse_vector

    parse_vector(expr)  # a refused function is the first thing to report, before files and start values
    _need_numpy()
    from symdescent.vectors.data import parse_start
    from symdescent.vectors.problem import make_vector_problem

    data = load_constants(data_items, params)
    if start is None:
        raise InputError("--start is needed")
    if "=" not in start:
        raise InputError(
            'name the start values of a vector problem: for example --start "x=[1,2]" or --start "w=zeros(3),b=0"'
        )
    problem = make_vector_problem(expr, parse_start(start, data, expr, dtype), data, dtype=dtype)
    _warn_unused(data_items, params, problem)
    return problem


def load_constants(data_items: Sequence[str], params: str | None) -> dict[str, Any]:
    """The constants: ``--data`` files and values, then ``--param`` values (a name given by both is refused)."""
    from symdescent.vectors.data import load_data, parse_assignments, parse_value

    data: dict[str, Any] = load_data(list(data_items))
    if params:
        for name, value in parse_assignments(params, "--param").items():
            if name in data:
                raise InputError(f"{name} is given both by --param and by --data")
            data[name] = parse_value(value, name)
    return data


def _warn_unused(data_items: Sequence[str], params: str | None, problem: Any) -> None:
    """A constant named on purpose (--data NAME=…, --param) that f does not use gets a note; a file's columns not."""
    from symdescent.vectors.data import split_items

    named = [item.partition("=")[0].strip() for item in data_items if "=" in item]
    named += [item.partition("=")[0].strip() for item in split_items(params or "") if "=" in item]
    unused = [name for name in named if name not in problem.data and name not in problem.names]
    if unused:
        click.echo(
            f"Note: {', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used by the function", err=True
        )


def _need_numpy() -> None:
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise InputError("vectors, matrices and data need numpy", hint='pip install "symdescent[fast]"') from None


def run_vectors(
    expr: str,
    start: str,
    data: Sequence[str],
    params: str | None,
    *,
    hyperparameters: Mapping[str, Any],
    method: str,
    steps: int,
    tol: float,
    maximize: bool,
    fmt: str,
    every: int | None,
    digits: int | None,
    quiet: bool,
    plot: str | None,
    save: str | None,
    stdout: TextIO,
    stderr: TextIO,
    console: Any,
    explain_to: TextIO | None = None,
    dtype: str = "float64",
    progress: Any = None,
    guard: Any = None,
) -> Status:
    """``symdescent run`` for a vector problem; returns the status (the caller maps it to the exit code).

    ``progress(run)``: a context manager for the live line (the CLI gives one on a terminal, else None);
    ``guard``: wraps each in-place step of the chunked engine so that Ctrl-C waits until it is whole.
    """
    _need_numpy()
    from symdescent.vectors.engine import make_run
    from symdescent.vectors.render import (
        DelimitedVectorRenderer,
        JsonLinesVectorRenderer,
        JsonVectorRenderer,
        QuietVectorRenderer,
        TableVectorRenderer,
        save_point,
    )

    if save and not save.lower().endswith((".npy", ".csv")):
        raise InputError(f"--save {save}: use a .npy or .csv file")
    problem = build(expr, start, data, params, dtype)
    if explain_to is not None:
        from symdescent.vectors.explain import explain_text

        if maximize or method != "gd":
            raise InputError(
                "--explain derives plain gradient descent (--method gd) and cannot be used with --maximize"
            )
        explain_to.write(explain_text(problem, float(hyperparameters.get("lr", 0.1))) + "\n\n")
        explain_to.flush()
    plotter = None
    if plot:
        from symdescent.vectors.plot import VectorPlot

        plotter = VectorPlot(problem, plot)
    # the start array is the run's own (parsed here): the chunked engine may update it in place
    run = make_run(
        problem,
        method=method,
        max_steps=steps,
        tol=tol,
        maximize=maximize,
        in_place=True,
        guard=guard,
        **hyperparameters,
    )
    renderer: Any
    if quiet:
        renderer = QuietVectorRenderer(stdout, stderr, problem, saving=bool(save))
    elif fmt == "table":
        renderer = TableVectorRenderer(console(), problem, digits=digits or 6, elide=every is None)
    elif fmt in ("csv", "tsv"):
        renderer = DelimitedVectorRenderer(stdout, problem, "," if fmt == "csv" else "\t")
    elif fmt == "json":
        renderer = JsonVectorRenderer(stdout, problem, run.method.name, run.method.params)
    else:
        renderer = JsonLinesVectorRenderer(stdout, problem, run.method.name, run.method.params)
    last = None
    try:
        with progress(run) if progress is not None else contextlib.nullcontext():
            for step in run:
                if plotter:
                    plotter.step(step)
                if every is None or step.step % every == 0 or run.status is not None:
                    renderer.step(step)
                    last = step.step
    except KeyboardInterrupt:
        run.interrupt()
        if last != run.last.step:
            renderer.step(run.last)
    result = run.result()
    renderer.finish(result)
    if (fmt != "table" or quiet) and not result.success:
        stderr.write(f"{result.status}: {result.message}\n")
    if save:
        save_point(save, problem, result)
        stderr.write(f"Point written to {save}\n")
    if plotter:
        plotter.finish(result)
        stderr.write(f"Picture written to {plot}\n")
    return result.status


def grad_vectors(expr: str, variables: str | None, fmt: str, out: TextIO, at: str | None = None) -> None:
    """``symdescent grad`` for vector syntax: the gradient formula, without any data."""
    if at is not None:
        raise InputError(
            "--at is not supported for vector functions",
            hint="symdescent run ... --steps 0 --format json prints f and ∇f at the start point",
        )
    from symdescent.vectors.explain import gradient_report

    names = [v.strip() for v in variables.split(",")] if variables else None
    out.write(gradient_report(expr, names, fmt) + "\n")


def explain_vectors(
    expr: str, start: str, data: Sequence[str], params: str | None, lr: float, out: TextIO, fmt: str = "text"
) -> None:
    """``explain`` for vectors: plain Unicode text (markdown: the same in a code block; no LaTeX yet)."""
    from symdescent.vectors.explain import explain_text

    if fmt == "latex":
        raise InputError("explain --format latex is not available for vector functions", hint="use --format text")
    text = explain_text(build(expr, start, data, params), lr)
    out.write(f"```text\n{text}\n```\n" if fmt == "markdown" else text + "\n")


def analyze_vectors(expr: str, start: str | None, data: Sequence[str], params: str | None, *, timeout: float) -> Any:
    """``analyze`` for a function of named arrays: the :class:`~symdescent.analyze.Analysis`, as for scalars.

    Without --start each variable's size comes from the data (:func:`~symdescent.vectors.analysis.default_start`);
    without data either, only the formulas are analysed.
    """
    from symdescent.vectors.parse import parse_vector

    parse_vector(expr)  # a refused function is the first thing to report, before files and start values
    _need_numpy()
    from symdescent.vectors.analysis import analyze_arrays, default_start, symbolic_analysis
    from symdescent.vectors.data import UnknownLength
    from symdescent.vectors.problem import make_formula, make_vector_problem

    if start is not None:
        return analyze_arrays(build(expr, start, data, params), timeout=timeout)
    constants = load_constants(data, params)
    try:
        values = default_start(expr, constants)
    except UnknownLength:  # no sizes: what the formula alone says
        return symbolic_analysis(make_formula(expr))
    problem = make_vector_problem(expr, values, constants)
    _warn_unused(data, params, problem)
    return analyze_arrays(problem, timeout=timeout)


def compare_vectors(
    expr: str,
    start: str,
    data: Sequence[str],
    params: str | None,
    *,
    methods: Sequence[str],
    rates: Mapping[str, float] | None,
    steps: int | None,
    tol: float,
    maximize: bool,
    hyperparameters: Mapping[str, Any],
    fmt: str,
    out: TextIO,
) -> None:
    """``symdescent compare`` for vectors: every method from the same start, one summary row each."""
    _need_numpy()
    import time

    from symdescent.compare import DEFAULT_LR, DEFAULT_STEPS
    from symdescent.optimizers import OPTIMIZERS, hyperparameters_of
    from symdescent.vectors.engine import make_run
    from symdescent.vectors.optim import ARRAY_METHODS

    unusable = [m for m in methods if m not in ARRAY_METHODS]
    if unusable and set(methods) == set(OPTIMIZERS):
        methods = [m for m in methods if m in ARRAY_METHODS]  # "all": the methods that work on arrays
    elif unusable:
        raise InputError(
            f"--methods {unusable[0]} is not available for vectors",
            hint=f"vector problems can use {', '.join(ARRAY_METHODS)}",
        )
    problem = build(expr, start, data, params)
    rows = []
    finished: list[Any] = []
    for method in methods:
        options = {k: v for k, v in hyperparameters.items() if k in hyperparameters_of(method)}
        if "lr" in hyperparameters_of(method):
            options["lr"] = (rates or {}).get(method, DEFAULT_LR.get(method, 0.1))
        started = time.perf_counter()
        run = make_run(
            problem,
            method=method,
            max_steps=steps if steps is not None else DEFAULT_STEPS,
            tol=tol,
            maximize=maximize,
            **options,
        )
        for _ in run:
            pass
        result = run.result()
        finished.append((result, time.perf_counter() - started))
        rows.append(
            {
                "method": method,
                "lr": options.get("lr"),
                "status": str(result.status),
                "steps": result.steps,
                "f": result.f,
                "grad_norm": result.grad_norm,
                "nfev": result.nfev,
                "ngev": result.ngev,
                "seconds": time.perf_counter() - started,
            }
        )
    if fmt in ("json", "jsonl", "csv", "tsv"):
        from symdescent.vectors.render import compare_output

        compare_output(problem, finished, fmt, out)
    else:
        out.write(f"{'method':<13}{'α':>8}  {'status':<10}{'steps':>7}{'f':>14}{'‖∇f‖':>12}{'seconds':>9}\n")
        for row in rows:
            lr = "" if row["lr"] is None else f"{row['lr']:g}"
            out.write(
                f"{row['method']:<13}{lr:>8}  {row['status']:<10}{row['steps']:>7}{row['f']:>14.6g}"
                f"{row['grad_norm']:>12.3g}{row['seconds']:>9.3f}\n"
            )
