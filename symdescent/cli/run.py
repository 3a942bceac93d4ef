"""``symdescent run``: iterate an optimiser and stream each step to a renderer."""

from __future__ import annotations

import collections
import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TextIO, cast

import click

from symdescent.cli.arrays import array_run, check_variables, checked_plot_file, data_option, save_option, wants_vectors
from symdescent.cli.cache import NO_CACHE_HELP, problem_for_run
from symdescent.cli.capture import History, keep, keeping
from symdescent.cli.commands import SUMMARIES
from symdescent.cli.plumbing import (
    CONTEXT,
    ExprCommand,
    Streams,
    count_option,
    exit_code_for,
    format_option,
    function_help,
    function_options,
    handle_errors,
    method_options,
    methods_help,
    number_option,
    output_protected,
    read_function,
)
from symdescent.cli.run_options import RunOptions
from symdescent.cli.scale import checked as checked_scale
from symdescent.cli.scale import scale_options
from symdescent.cli.signals import INTERRUPTS
from symdescent.cli.typos import method_option
from symdescent.errors import InputError
from symdescent.memory import RAN_OUT, memory_reported, out_of_memory

if TYPE_CHECKING:
    from rich.console import Console

    from symdescent.problem import Problem
    from symdescent.render import Renderer
    from symdescent.render.numbers import Notation
    from symdescent.render.plot import PlotRenderer
    from symdescent.result import Step
    from symdescent.run import Run

EXAMPLES_RUN = """
\b
Examples:
  symdescent run "x**2+y**2" --start 1,2 --lr 0.1
  symdescent run "(1-x)^2 + 100*(y-x^2)^2" --start -1.2,1 --lr 0.001 --steps 20000 --every 1000
  symdescent run "(1-x)^2 + 100*(y-x^2)^2" --start -1.2,1 --method newton
  symdescent run "x^2 + 10*y^2" --start 1,1 --method momentum --lr 0.05 --momentum 0.5
  symdescent run "a*x^2 + y^2" --param a=3 --start x=1,y=-1 --format json
  echo "x^4 - 3*x" | symdescent run - --start 1 -q
  symdescent run "x @ x" --start "x=[1,2]" --lr 0.1
  symdescent run "mean((a*t + b - y)^2)" --data "t=[0,1,2,3]" --data "y=[1,3,5,7]" --start a=0,b=0
  symdescent run "mean((a*t + b - T)^2)" --data temps.csv --start a=0,b=0 --method cg
"""


@click.command(cls=ExprCommand, context_settings=CONTEXT, short_help=SUMMARIES["run"], epilog=EXAMPLES_RUN)
@function_options
@click.option(
    "--start", required=True, metavar="V", help="Start point: 1,2 or x=1,y=2; exact values like 1/3 or pi/4 work."
)
@click.option(
    "--lr",
    default=None,
    metavar="A",
    help="Learning rate α (step size), positive; 1/10 works. Default 0.1; backtracking starts from 1; "
    "newton, exact-line and cg choose their own steps.",
)
@click.option("--steps", default=1000, show_default=True, type=click.IntRange(min=0), help="At most this many updates.")
@click.option(
    "--tol", default="1e-6", show_default=True, metavar="T", help="Stop when ‖∇f‖ ≤ T; 0 runs exactly --steps updates."
)
@method_option("The optimiser; its update rule is listed below.")
@method_options
@click.option("--maximize", is_flag=True, help="Maximise f (every method then minimises −f; gd: x ← x + α∇f(x)).")
@format_option("auto: table on a terminal, csv when piped.")
@count_option("--every", "K", "Print every K-th step (first and last always).")
@click.option(
    "--digits",
    default=None,
    type=click.IntRange(1, 17),
    help="Significant digits in the table  [default: 6; D with --working-precision D]",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the final point, values separated by spaces.")
@click.option(
    "--exact",
    is_flag=True,
    help="Exact arithmetic: 1/10 and 0.1 stay 1/10, iterates are fractions (4/5, 16/25, …); "
    "stops with exit 5 when the numbers grow too big to continue quickly.",
)
@click.option(
    "--working-precision",
    type=click.IntRange(1, 100_000),
    metavar="D",
    help="Compute every value with D significant digits (mpmath floats) and print D digits.",
)
@click.option(
    "--plot",
    metavar="FILE",
    callback=checked_plot_file,
    help="Also write a picture of the run to FILE.png, .svg or .pdf, or its animation to FILE.gif "
    '(needs the plot extra: pip install ".[plot]" in a checkout, "symdescent[plot]" from an index).',
)
@click.option(
    "--explain",
    "show_explanation",
    is_flag=True,
    help="Print the derivation (as the explain command does) before the steps; with csv, tsv, json, jsonl "
    "or -q it goes to stderr, so that stdout stays machine-readable.",
)
@click.option("--no-cache", is_flag=True, help=NO_CACHE_HELP)
@data_option
@save_option
@click.option(
    "--dtype",
    type=click.Choice(["float64", "float32"]),
    default=None,
    help="Vector problems: the precision of x and the optimiser's state; float32 halves the memory "
    "(about 7 significant digits) and runs on the chunked engine. Default float64.",
)
@scale_options
@handle_errors
@memory_reported
def run(
    expr: str,
    variables: str | None,
    params: str | None,
    start: str,
    lr: str,
    steps: int,
    tol: str,
    method: str,
    maximize: bool,
    fmt: str,
    every: int | None,
    digits: int | None,
    quiet: bool,
    exact: bool,
    working_precision: int | None,
    plot: str | None,
    show_explanation: bool = False,
    no_cache: bool = False,
    data: tuple[str, ...] = (),
    save: str | None = None,
    dtype: str | None = None,
    batch_size: int | None = None,
    epochs: int | None = None,
    seed: int | None = None,
    scheduler: str | None = None,
    **method_params: str | None,
) -> None:
    """Iterate an optimiser (gradient descent by default) on EXPR from --start and print every step.

    Step 0 is the start point; step k is the point after k updates. The
    table hides the middle of long runs (unless --every); machine formats
    (csv, tsv, json, jsonl) print floats exactly (shortest round-trip) and
    never hide rows; jsonl streams one line per step as it is computed.

    With --exact every number is exact: the table shows fractions, csv
    SymPy syntax (4/5), json strings ("4/5"). With --working-precision D
    every value has D significant digits; csv, json and the table print
    them with D digits (json as strings).
    """
    streams = Streams.current()
    if save and not save.lower().endswith((".npy", ".csv")):
        raise InputError(f"--save {save}: use a .npy or .csv file")
    if fmt == "auto":
        fmt = "table" if streams.stdout_isatty else "csv"
    tolerance = number_option(tol, "--tol", positive=False)
    explain_to = None
    if show_explanation:
        explain_to = streams.stderr if quiet or fmt != "table" else streams.stdout
    steps_source = click.get_current_context().get_parameter_source("steps")
    vectors, scheduler_given = wants_vectors(expr, start, data), bool(scheduler)
    scheduler = checked_scale(
        batch_size, epochs, seed, scheduler, has_data=bool(data), vectors=vectors, method=method,
        in_arithmetic=exact or working_precision is not None, dtype=dtype,
        steps_given=steps_source is click.core.ParameterSource.COMMANDLINE,
    )  # fmt: skip
    options = RunOptions(
        method, steps, tolerance, maximize, lr, method_params, exact, working_precision, plot, dtype, explain_to,
        batch_size, epochs, seed, every is not None, scheduler, scheduler_given,
    )  # fmt: skip
    if vectors:
        # named arrays (symdescent/vectors/): the same renderers and exit codes as below
        run_, plotter = array_run(read_function(expr, streams), start, data, params, options)
        check_variables(variables, run_.problem.names)
        remember: Callable[[], None] = lambda: None  # noqa: E731 - only problems of scalars are cached
    else:
        if dtype is not None:
            raise InputError(
                "--dtype is for vector problems (scalar functions run in float64, --exact or --working-precision)"
            )
        run_, plotter, remember = _scalar_run(expr, variables, params, start, options, no_cache, streams)
    notation = None
    arithmetic = getattr(run_, "arithmetic", None)  # the python back-end's: floats, exact or D-digit numbers
    if arithmetic is not None:
        from symdescent.render.numbers import notation_for

        notation = notation_for(arithmetic)
    if digits is None:
        digits = working_precision or 6
    shape = "quiet" if quiet else fmt
    renderer = _renderer(shape, streams, run_, digits=digits, elide=every is None, notation=notation, saving=bool(save))
    history = History() if keeping() else None  # the notebook magic's Result gets a history
    # a picture or a history keeps every step; otherwise a thinned run's compiled blocks make only the printed ones
    source = _steps_of(run_, quiet, every, keeps_all=history is not None or plotter is not None)
    if plotter:
        source = plotter.recording(source)
    steps_ = thinned(history.watch(source) if history else source, every or 1)
    # -q of an array run may take minutes (10⁹ entries): it too gets the live line on a terminal
    try:
        with live_progress(streams, run_, enabled=(fmt == "table" and not quiet) or (quiet and notation is None)):
            shown = _render_steps(steps_, renderer, run_, quiet=quiet)
        result = run_.result()
    except MemoryError:
        abandon = getattr(renderer, "abandon", None)  # JSON: close the object begun, never stop inside it
        if abandon is not None:
            with output_protected():
                abandon(RAN_OUT)
        raise out_of_memory() from None
    with output_protected():
        if shown != run_.last.step:
            renderer.step(run_.last)  # the step in hand when Ctrl-C or SIGTERM came
        renderer.finish(result)
        if (fmt != "table" or quiet) and not result.success:
            click.echo(f"{result.status}: {result.message}", err=True)
        if save:
            from symdescent.render.save import save_point

            save_point(save, result)
            click.echo(f"Point written to {save}", err=True)
    if plotter and plot:
        # Every step taken, also of a run that diverged, hit the limit or was interrupted.
        plotter.step(run_.last)
        from symdescent.cli.console import draw_picture

        draw_picture(lambda: plotter.finish(result), plot)
    remember()
    keep(run_.result(history.steps()) if history else result)
    sys.exit(exit_code_for(result.status))


def _scalar_run(
    expr: str,
    variables: str | None,
    params: str | None,
    start: str,
    options: RunOptions,
    no_cache: bool,
    streams: Streams,
) -> tuple[Run, PlotRenderer | None, Callable[[], None]]:
    """A problem of scalars: parsed (or loaded warm from the cache), explained if asked, ready to iterate."""
    from symdescent.warm import plain_point

    # Floats only, and nothing that needs the SymPy problem itself: such a run may be warm (no SymPy).
    simple = not (options.in_arithmetic or options.explain_to is not None or options.plot)
    problem, remember = problem_for_run(expr, variables, params, streams, use_cache=simple and not no_cache)
    # a warm CachedProblem offers what the float loop reads (symdescent.warm)
    run_ = options.iterate(cast("Problem", problem), (simple and plain_point(start, problem.names)) or start)
    # a picture or a derivation needs SymPy's problem: never a warm one (simple is False)
    plotter = _plotter(cast("Problem", problem), options.plot)
    if options.explain_to is not None:
        _explain_before_run(
            cast("Problem", problem), start, options.lr, options.method, options.maximize, streams, options.explain_to
        )
    return run_, plotter, remember


def _explain_before_run(
    problem: Problem, start: str, lr: str | None, method: str, maximize: bool, streams: Streams, out: TextIO
) -> None:
    """``run --explain``: the derivation first; on stderr when stdout carries machine-readable data."""
    from symdescent.explain import explain
    from symdescent.render.explain import render_explanation

    if method != "gd":
        raise InputError(f"--explain derives plain gradient descent (--method gd), not {method}")
    if maximize:
        raise InputError("--explain derives plain gradient descent and cannot be used with --maximize")
    explanation = explain(problem, start, lr if lr is not None else "0.1")  # gd's default step size
    to_stderr = out is streams.stderr
    from symdescent.cli.console import make_console

    console = None if to_stderr or not streams.stdout_isatty else make_console(streams)
    render_explanation(explanation, "rich" if console else "text", out, console)
    out.write("\n")
    out.flush()


def _plotter(problem: Problem, path: str | None) -> PlotRenderer | None:
    """The --plot renderer, checked (format, matplotlib, directory) before the run starts."""
    if path is None:
        return None
    from symdescent.render.plot import PlotRenderer

    return PlotRenderer(problem, path)


def live_progress(streams: Streams, run_: Run, *, enabled: bool) -> contextlib.AbstractContextManager[object]:
    """The live progress line on stderr, for the table on a terminal only (never a pipe, file or machine format)."""
    if not enabled:
        return contextlib.nullcontext()
    from symdescent.cli.console import progress_wanted

    if not progress_wanted(streams):
        return contextlib.nullcontext()
    from symdescent.render.progress import LiveProgress, Tracker

    def console() -> Console:  # made when the line first shows: a short run never imports Rich for it
        from rich.console import Console

        return Console(file=streams.stderr, highlight=False, force_jupyter=False)

    within = (lambda: run_.fraction_done) if hasattr(run_, "fraction_done") else None  # the chunked engine
    return LiveProgress(console, Tracker(lambda: run_.last, run_.max_steps, within))


def _steps_of(run_: Run, quiet: bool, every: int | None, *, keeps_all: bool) -> Iterable[Step]:
    """The run's steps: a long scalar run's from the compiled loop in blocks (only the printed ones if allowed)."""
    stream = getattr(run_, "stream", None)  # a scalar run's (symdescent.run.Run); array runs have their own loops
    if quiet or stream is None:
        return run_  # -q drains the run (its own compiled loop)
    return cast("Iterable[Step]", stream(1 if keeps_all else every or 1))


def _render_steps(steps: Iterable[Step], renderer: Renderer, run_: Run, *, quiet: bool) -> int:
    """Give each step to the renderer as it comes, keeping none; the number of the last one given.

    A stop (Ctrl-C, SIGTERM) ends the run; one that arrives while a step is
    being written waits until it is written whole.
    """
    last = -1
    try:
        if quiet:  # nothing to print until the end: consume the steps at C speed
            run_.drain() if steps is run_ else collections.deque(steps, maxlen=0)
            return run_.last.step

        def show(step: Step) -> None:
            nonlocal last
            renderer.step(step)
            last = step.step

        show_whole = INTERRUPTS.whole(show)
        for step in steps:
            show_whole(step)
    except KeyboardInterrupt:
        run_.interrupt()
        return run_.last.step if quiet else last
    return last


def thinned(steps: Iterable[Step], every: int) -> Iterable[Step]:
    """Every ``every``-th step, plus always the first and the last."""
    if every == 1:
        return steps
    return _every(steps, every)


def _every(steps: Iterable[Step], every: int) -> Iterator[Step]:
    pending = None
    for step in steps:
        if step.step % every == 0:
            pending = None
            yield step
        else:
            pending = step
    if pending is not None:
        yield pending


def _renderer(
    fmt: str,
    streams: Streams,
    run_: Run,
    *,
    digits: int,
    elide: bool,
    notation: Notation | None = None,
    saving: bool = False,
) -> Renderer:
    """The one renderer for ``fmt``, for every kind of problem (the layout says how many entries fit)."""
    from symdescent.layout import layout_of
    from symdescent.render.numbers import FLOATS

    notation = notation or FLOATS
    out = streams.stdout
    problem = run_.problem
    layout = layout_of(problem)
    if fmt == "table":
        from symdescent.cli.console import make_screen
        from symdescent.render.table import TableRenderer

        return TableRenderer(make_screen(streams), problem, digits=digits, elide=elide, notation=notation)
    if fmt in ("csv", "tsv"):
        from symdescent.render.delimited import DelimitedRenderer

        return DelimitedRenderer(out, layout, "," if fmt == "csv" else "\t", notation)
    if fmt in ("json", "jsonl"):
        from symdescent.render.json import JsonLinesRenderer, JsonRenderer, head_dict

        # taken before the first step: an in-place run moves its start
        head = head_dict(
            problem.function_text, layout, problem.gradient_text, run_.method_name, run_.params,
            layout.arrays(run_.start), notation,
        )  # fmt: skip
        if fmt == "json":
            return JsonRenderer(out, layout, notation, head)
        return JsonLinesRenderer(out, layout, notation, head)
    from symdescent.render.quiet import QuietRenderer

    return QuietRenderer(out, layout, notation, err=streams.stderr, saving=saving)


run.help_ends_with(lambda: methods_help() + function_help())
COMMAND = run
