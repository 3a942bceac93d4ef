"""Pictures of runs, for ``--plot FILE``: the landscape of f and the path the steps took.

    from symdescent.render.plot import plot_run, plot_compare

    plot_run(problem, result, "rosenbrock.png")        # one run
    plot_compare(problem, [r1, r2, r3], "paths.svg")   # several runs on the same picture

What is drawn depends on the number of variables:

- **1**: the curve f(x) over the iterates' range, with the iterates on it;
- **2**: filled contours of f around the path (log-spaced levels when f spans
  decades, as in Rosenbrock's valley; evenly spaced for a round bowl), the
  path with a marker per step (thinned along the path for long runs), start
  and end, on axes of equal scale so that each step is seen crossing the
  contours at right angles;
- **3 or more**: f − f_best and ‖∇f‖ against the step, on log scales.

The format comes from the file's extension (png, svg, pdf). Points that are
not finite (the last step of a diverged run) are left out, and a diverged
path is followed only until it leaves the neighbourhood of its start. The
file is written whole or not at all (:mod:`symdescent.files`): a temporary
file in the same folder is renamed over it.

matplotlib is the optional extra ``symdescent[plot]``, imported here only
when a picture is asked for (:func:`require_matplotlib` checks up front).
Figures are drawn on an Agg canvas directly, without pyplot: no display, no
global state, nothing left open. :func:`run_figure` and
:func:`compare_figure` return the figure before it is saved.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING

from symdescent.errors import InputError, install_hint
from symdescent.files import check_target, written_whole
from symdescent.problem import Problem
from symdescent.result import Result, Step

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Extensions and the format matplotlib writes for them.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".gif": "gif"}  # gif: the run in motion

#: Every step up to here is kept for the picture; beyond, 2**RECORD_BITS per octave of steps.
RECORD_BITS = 10


# -- checks and the CLI's renderer ------------------------------------------------------------


def plot_format(path: str | os.PathLike[str]) -> str:
    """``png``, ``svg`` or ``pdf`` from the file's extension; :class:`InputError` otherwise."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in FORMATS:
        raise InputError(
            f"cannot tell the picture format of {os.fspath(path)!r} from its extension",
            hint="end the file name with .png, .svg, .pdf or .gif (an animation)",
        )
    return FORMATS[extension]


def require_matplotlib() -> None:
    """Raise :class:`InputError` naming the install command if matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        raise InputError(
            "drawing a plot needs matplotlib, which is not installed", hint=install_hint("plot")
        ) from None


def check_plot_file(path: str | os.PathLike[str]) -> str:
    """Everything that can be checked before a run: the name, the format, matplotlib and the folder."""
    if not os.fspath(path).strip():
        raise InputError("no file name given for the picture", hint="name a file, e.g. path.png")
    fmt = plot_format(path)
    if "\0" in os.fspath(path):
        raise InputError(f"cannot write {os.fspath(path)!r}: a file name cannot contain a NUL character")
    require_matplotlib()
    check_target(path, "the picture")
    return fmt


def keep_for_picture(k: int) -> bool:
    """Whether step ``k`` is kept: all of the first 2**(RECORD_BITS+1), then 2**RECORD_BITS per octave.

    Memory stays logarithmic in the number of steps (about 18,000 points for
    10⁸ steps), and the early steps, where most of the movement is, are all there.
    """
    stride_bits = k.bit_length() - RECORD_BITS - 1
    return stride_bits <= 0 or k & ((1 << stride_bits) - 1) == 0


class PlotRenderer:
    """Records the steps of a run (every one, thinned only for long runs) and writes the picture at the end.

    Unlike the printing renderers, it must see every step, not only the
    printed ones: :meth:`recording` passes the run's steps through it.
    """

    def __init__(self, problem: Problem, path: str | os.PathLike[str]) -> None:
        check_plot_file(path)
        self.problem = problem
        self.path = path
        self._kept: list[Step] = []
        self._last: Step | None = None

    def step(self, step: Step) -> None:
        if self._last is not None and step.step <= self._last.step:
            return
        self._last = step
        if keep_for_picture(step.step):
            self._kept.append(step)

    def recording(self, steps: Iterable[Step]) -> Iterator[Step]:
        """The same steps, each recorded on the way through."""
        for step in steps:
            self.step(step)
            yield step

    @property
    def history(self) -> tuple[Step, ...]:
        kept = self._kept
        if self._last is not None and (not kept or kept[-1] is not self._last):
            return (*kept, self._last)
        return tuple(kept)

    def finish(self, result: Result) -> None:
        plot_run(self.problem, result.replace(history=self.history), self.path)


# -- public drawing functions ------------------------------------------------------------------


def plot_run(problem: Problem, result: Result, path: str | os.PathLike[str]) -> None:
    """Write the picture of one run (its ``history``) to ``path``; the format is the extension (gif: animated)."""
    fmt = check_plot_file(path)
    _write(run_figure(problem, result), [result], problem.dimension, path, fmt)


def plot_compare(problem: Problem, results: Sequence[Result], path: str | os.PathLike[str]) -> None:
    """Write several runs on one picture, a colour and legend entry (method and α) per run."""
    fmt = check_plot_file(path)
    _write(compare_figure(problem, results), results, problem.dimension, path, fmt)


def _write(figure: Figure, results: Sequence[Result], dimension: int, path: str | os.PathLike[str], fmt: str) -> None:
    if fmt != "gif":
        save(figure, path, fmt)
        return
    from symdescent.render.animate import scalar_animation, write_gif

    animation = scalar_animation(figure, [r.as_floats() for r in results], dimension)
    with _quiet_overflow():
        write_whole(path, lambda file: write_gif(animation, file))


def run_figure(problem: Problem, result: Result) -> Figure:
    """The picture of one run as a matplotlib Figure, not yet saved."""
    from symdescent.render.plot_pictures import figure_of

    with _quiet_overflow():
        return figure_of(problem, [result.as_floats()], single=True)


def compare_figure(problem: Problem, results: Sequence[Result]) -> Figure:
    """Several runs of the same problem on one Figure, not yet saved."""
    if not results:
        raise ValueError("compare_figure needs at least one result")
    from symdescent.render.plot_pictures import figure_of

    with _quiet_overflow():
        return figure_of(problem, [r.as_floats() for r in results], single=False)


def save(figure: Figure, path: str | os.PathLike[str], fmt: str) -> None:
    """Write the figure whole or not at all (:func:`symdescent.files.written_whole`)."""
    # Dates in the metadata would make every file differ; leave them out. A still gif (a sweep) takes none.
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
    with written_whole(path, "the picture") as file, _quiet_overflow():
        if metadata:
            figure.savefig(file, format=fmt, dpi=150, metadata=metadata)
        else:
            figure.savefig(file, format=fmt, dpi=150)


def write_whole(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Write a picture through ``write`` (an animation's frames), whole or not at all."""
    with written_whole(path, "the picture") as file:
        write(file)


@contextlib.contextmanager
def _quiet_overflow() -> Iterator[None]:
    """Silence NumPy's overflow warnings: a run that blew up reaches 10³⁰⁸, and tick placement near it overflows."""
    import numpy as np

    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
