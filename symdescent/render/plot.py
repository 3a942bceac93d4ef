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
file is written whole or not at all: a temporary file in the same directory
is renamed over it.

matplotlib is the optional extra ``symdescent[plot]``, imported here only
when a picture is asked for (:func:`require_matplotlib` checks up front).
Figures are drawn on an Agg canvas directly, without pyplot: no display, no
global state, nothing left open. :func:`run_figure` and
:func:`compare_figure` return the figure before it is saved.
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from symdescent.errors import NUMERIC_ERRORS, InputError
from symdescent.problem import Problem
from symdescent.result import Result, Status, Step, outcome

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Extensions and the format matplotlib writes for them.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
INSTALL = 'pip install "symdescent[plot]"'

#: Every step up to here is kept for the picture; beyond, 2**RECORD_BITS per octave of steps.
RECORD_BITS = 10
#: A marker per step up to this many steps, then about this many along the path; the line keeps every step.
MARKERS = 80
#: A diverged path is drawn until it is this many times farther from the start than its first steps.
DIVERGED_REACH = 30.0
#: A descent whose f rises this many times higher above its lowest value than its first steps has run away.
ESCAPE = 100.0
#: Grid points per side for the contours (fewer for very large expressions).
GRID = 300
#: Linear levels unless the largest value of f − min f on the picture exceeds its median this many times.
LOG_LEVELS_RATIO = 10.0

PATH_COLOUR = "#ff4b1f"
COLOURS = ("#ff4b1f", "#00c2ff", "#ffd000", "#ff5ce1", "#7cff4f", "#ffffff", "#ff9e00", "#b39dff")


# -- checks and the CLI's renderer ------------------------------------------------------------


def plot_format(path: str | os.PathLike[str]) -> str:
    """``png``, ``svg`` or ``pdf`` from the file's extension; :class:`InputError` otherwise."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in FORMATS:
        raise InputError(
            f"cannot tell the picture format of {os.fspath(path)!r} from its extension",
            hint="end the file name with .png, .svg or .pdf",
        )
    return FORMATS[extension]


def require_matplotlib() -> None:
    """Raise :class:`InputError` naming the install command if matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        raise InputError(
            "--plot needs matplotlib, which is not installed", hint=f"install it with: {INSTALL}"
        ) from None


def check_plot_file(path: str | os.PathLike[str]) -> str:
    """Everything that can be checked before a run: the format, matplotlib and the directory."""
    fmt = plot_format(path)
    if "\0" in os.fspath(path):
        raise InputError(f"cannot write {os.fspath(path)!r}: a file name cannot contain a NUL character")
    require_matplotlib()
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"cannot write {os.fspath(path)!r}: the directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise InputError(f"cannot write {os.fspath(path)!r}: it is a directory")
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
        plot_run(self.problem, replace(result, history=self.history), self.path)


# -- public drawing functions ------------------------------------------------------------------


def plot_run(problem: Problem, result: Result, path: str | os.PathLike[str]) -> None:
    """Write the picture of one run (its ``history``) to ``path``; the format is the extension."""
    fmt = check_plot_file(path)
    save(run_figure(problem, result), path, fmt)


def plot_compare(problem: Problem, results: Sequence[Result], path: str | os.PathLike[str]) -> None:
    """Write several runs on one picture, a colour and legend entry (method and α) per run."""
    fmt = check_plot_file(path)
    save(compare_figure(problem, results), path, fmt)


def run_figure(problem: Problem, result: Result) -> Figure:
    """The picture of one run as a matplotlib Figure, not yet saved."""
    with _quiet_overflow():
        return _figure(problem, [result.as_floats()], single=True)


def compare_figure(problem: Problem, results: Sequence[Result]) -> Figure:
    """Several runs of the same problem on one Figure, not yet saved."""
    if not results:
        raise ValueError("compare_figure needs at least one result")
    with _quiet_overflow():
        return _figure(problem, [r.as_floats() for r in results], single=False)


def save(figure: Figure, path: str | os.PathLike[str], fmt: str) -> None:
    """Write the figure to a temporary file next to ``path``, then rename it: whole or not at all."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    temporary = os.path.join(directory, f".{os.path.basename(target)}.{uuid.uuid4().hex[:12]}.tmp")
    # Dates in the metadata would make every file differ; leave them out.
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt, {})
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(descriptor, "wb") as file, _quiet_overflow():
            figure.savefig(file, format=fmt, dpi=150, metadata=metadata)
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        raise InputError(f"cannot write the picture to {target!r}: {error.strerror or error}") from None
    except BaseException:
        _remove(temporary)
        raise


@contextlib.contextmanager
def _quiet_overflow() -> Iterator[None]:
    """Silence NumPy's overflow warnings: a run that blew up reaches 10³⁰⁸, and tick placement near it overflows."""
    import numpy as np

    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


# -- what is drawn -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Path:
    """One run's drawable points: finite steps, cut where a diverged run leaves the picture."""

    result: Result
    steps: tuple[Step, ...]
    left_at: int | None  # the step at which a diverged path was cut, if it was
    colour: str
    label: str

    def column(self, i: int) -> list[float]:
        return [s.x[i] for s in self.steps]

    @property
    def f(self) -> list[float]:
        return [s.f for s in self.steps]


def _figure(problem: Problem, results: list[Result], *, single: bool) -> Figure:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dimension = problem.dimension
    paths = [
        _drawable(result, PATH_COLOUR if single else COLOURS[i % len(COLOURS)], _label(result), dimension <= 2)
        for i, result in enumerate(results)
    ]
    with matplotlib.rc_context({"font.size": 11, "axes.titlesize": 12, "mathtext.fontset": "dejavusans"}):
        if dimension == 2:
            framed = _framed(paths)
            window = _window([s.x[0] for p in framed for s in p.steps], [s.x[1] for p in framed for s in p.steps])
            (x0, x1), (y0, y1) = window
            # The axes keep equal scales: size the figure to the window so that no space is wasted.
            ratio = (y1 - y0) / (x1 - x0)
            width = 6.4 if ratio <= 1 else 6.4 / ratio
            figure = Figure(figsize=(width + 2.0, width * ratio + 2.6), layout="constrained")
            _contour_picture(figure.add_subplot(), figure, problem, paths, single, window)
        elif dimension == 1:
            figure = Figure(figsize=(8.4, 5.6), layout="constrained")
            _curve_picture(figure.add_subplot(), figure, problem, paths, single)
        else:
            figure = Figure(figsize=(8.4, 6.6), layout="constrained")
            top, bottom = figure.subplots(2, 1, sharex=True)
            _convergence_picture(top, bottom, problem, paths, single)
        figure.suptitle(_title(problem, results, single))
    FigureCanvasAgg(figure)
    return figure


def _drawable(result: Result, colour: str, label: str, cut_runaway: bool) -> _Path:
    """The finite steps of a run, up to where it runs away (if it does and ``cut_runaway``)."""
    steps = [s for s in result.history if all(math.isfinite(v) for v in (*s.x, s.f))]
    cut = _runaway(steps, result) if cut_runaway else None
    left_at = steps[cut].step if cut is not None else None
    if left_at is not None:
        label = f"{label} (runs away; drawn to step {steps[cut - 1].step})"
    return _Path(result, tuple(steps[:cut]), left_at, colour, label)


def _runaway(steps: list[Step], result: Result) -> int | None:
    """Where a run that blows up leaves the picture, so that the start's neighbourhood stays visible.

    A descent is cut where f rises :data:`ESCAPE` times higher above the
    lowest f than the first steps were (an ascent, mirrored); a diverged run also
    where it gets :data:`DIVERGED_REACH` times farther from the start than
    its first steps went. Never before step 2.
    """
    if len(steps) < 3:
        return None
    sign = -1.0 if result.maximize else 1.0
    values = [sign * s.f for s in steps]
    lowest = min(values)
    allowed = lowest + ESCAPE * max(max(values[:3]) - lowest, abs(lowest) * 1e-9, 1e-300)
    cut = next((i for i in range(2, len(steps)) if values[i] > allowed), None)
    if result.status is Status.DIVERGED:
        start = steps[0].x
        reach = max(_distance(s.x, start) for s in steps[1:4]) or 1.0
        far = next((i for i in range(2, len(steps)) if _distance(steps[i].x, start) > DIVERGED_REACH * reach), None)
        cut = far if cut is None or (far is not None and far < cut) else cut
    return cut


def _framed(paths: list[_Path]) -> list[_Path]:
    """The paths the picture is framed around: those that do not run away, if there are any."""
    return [p for p in paths if p.left_at is None] or paths


def _distance(a: Sequence[float], b: Sequence[float]) -> float:
    return math.hypot(*(ai - bi for ai, bi in zip(a, b, strict=True)))


def _label(result: Result) -> str:
    lr = result.params.get("lr")
    return f"{result.method}, α = {lr:g}" if isinstance(lr, int | float) else result.method


def _title(problem: Problem, results: list[Result], single: bool) -> str:
    first = results[0]
    heading = _function_text(problem)
    if not single:
        what = "ascent" if first.maximize else "descent"
        return f"{heading}\n{len(results)} runs from {_point(first.start)}: paths of {what}"
    method = legend_name(first.method)
    if first.maximize:
        method = method.replace("descent", "ascent")
    lr = first.params.get("lr")
    alpha = f", α = {lr:g}" if isinstance(lr, int | float) else ""
    return f"{heading}\n{method}{alpha}: {outcome(first.status, first.steps)}"


def legend_name(method: str) -> str:
    """How a picture names a method: ``gradient descent``, ``adam`` (from :data:`symdescent.methods.METHODS`)."""
    from symdescent.methods import METHODS

    spec = METHODS.get(method)
    return spec.legend if spec is not None else method


def _function_text(problem: Problem) -> str:
    """``f(x, y) = …`` in mathematical notation, or as plain Unicode if too long for mathtext."""
    import sympy as sp
    from matplotlib.mathtext import MathTextParser

    from symdescent.render.mathtext import inline, signature

    if problem.dimension <= 6:
        names = ", ".join(sp.latex(v) for v in problem.variables)
        latex = f"$f({names}) = {sp.latex(problem.expr)}$"
        if len(latex) <= 140:
            try:
                MathTextParser("path").parse(latex)
                return latex
            except ValueError:
                pass
    return f"{signature(problem.names)} = {inline(problem.expr, 90)}"


def _axis_label(symbol: Any) -> str:
    import sympy as sp

    return f"${sp.latex(symbol)}$"


def _point(x: Sequence[float], names: Sequence[str] = ()) -> str:
    """``(−1.2, 1)``; a single coordinate as ``x = 2`` when its name is given."""
    if len(x) == 1 and len(names) == 1:
        return f"{names[0]} = {_number(x[0])}"
    return "(" + ", ".join(_number(v) for v in x) + ")"


def _number(value: float) -> str:
    return f"{value:.4g}".replace("-", "−")


# -- 2 variables: contours -------------------------------------------------------------------------


def _contour_picture(
    ax: Axes,
    figure: Figure,
    problem: Problem,
    paths: list[_Path],
    single: bool,
    window: tuple[tuple[float, float], tuple[float, float]],
) -> None:
    import numpy as np
    from matplotlib import patheffects
    from matplotlib.colors import BoundaryNorm
    from matplotlib.ticker import MaxNLocator

    (x0, x1), (y0, y1) = window
    side = GRID if len(str(problem.expr)) < 5000 else GRID // 3
    xs, ys = np.linspace(x0, x1, side), np.linspace(y0, y1, side)
    grid_x, grid_y = np.meshgrid(xs, ys)
    values = _evaluate(problem, [grid_x, grid_y])
    shown = values[np.isfinite(values)]
    if shown.size:
        path_f = np.array([s.f for p in paths for s in p.steps])
        lowest = float(min(shown.min(), path_f.min())) if path_f.size else float(shown.min())
        colouring = _levels(shown, lowest)
        if colouring is not None:
            shift, levels, label = colouring
            masked = np.ma.masked_invalid(values - shift)
            # Clip into the levels' range: below the lowest is the valley floor, above the highest the rim.
            clipped = np.ma.clip(masked, levels[0], levels[-1])
            cmap = "viridis"
            norm = BoundaryNorm(levels, 256)
            filled = ax.contourf(grid_x, grid_y, clipped, levels=levels, cmap=cmap, norm=norm)
            filled.set_rasterized(True)  # keeps svg and pdf files small; lines and text stay vectors
            ax.contour(
                grid_x, grid_y, clipped, levels=levels, colors="white", linewidths=0.5, alpha=0.35, linestyles="solid"
            )
            bar = figure.colorbar(filled, ax=ax, shrink=0.9, pad=0.02)
            bar.set_label(label)
            ticks = levels if len(levels) <= 12 else levels[:: math.ceil(len(levels) / 10)]
            bar.set_ticks(ticks)
            bar.set_ticklabels([_tick(t) for t in ticks])
        else:
            ax.set_facecolor("#440154")
    for i, p in enumerate(paths):
        # Earlier runs are drawn wider, so that paths that share a valley show as nested stripes.
        width = 1.6 + 1.4 * (len(paths) - 1 - i) / max(len(paths) - 1, 1) if not single else 1.6
        halo = [patheffects.withStroke(linewidth=width + 1.6, foreground="black", alpha=0.55)]
        xs_, ys_ = p.column(0), p.column(1)
        ax.plot(
            xs_,
            ys_,
            color=p.colour,
            linewidth=width,
            marker="o",
            markersize=2.0 + width,
            markeredgecolor="white",
            markeredgewidth=0.5,
            markevery=_marker_indices(xs_, ys_, (x1 - x0, y1 - y0), MARKERS if single else MARKERS // 2),
            path_effects=halo,
            label=_path_label(p, single, len(xs_)),
            zorder=3,
            gid="path",
        )
        if p.steps:
            _mark_ends(ax, p, single)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(_axis_label(problem.variables[0]))
    ax.set_ylabel(_axis_label(problem.variables[1]))
    ax.xaxis.set_major_locator(MaxNLocator(8))
    ax.yaxis.set_major_locator(MaxNLocator(8))
    _legend(figure, ax, paths, single)


def _window(xs: Sequence[float], ys: Sequence[float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The picture's x and y range: the path's box with a margin, no side shorter than 3/4 of the other."""
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, y1 - y0)
    if span <= 0:
        span = max(abs(x0), abs(y0), 1.0)
    half = 0.5 * max(x1 - x0, 0.75 * span) + 0.12 * span, 0.5 * max(y1 - y0, 0.75 * span) + 0.12 * span
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    return (cx - half[0], cx + half[0]), (cy - half[1], cy + half[1])


def _levels(values: np.ndarray, lowest: float) -> tuple[float, np.ndarray, str] | None:
    """How to colour f over the picture: ``(shift, levels, label)`` for contours of ``f − shift``.

    Evenly spaced levels (round numbers) when f − min f is spread evenly, as
    on a bowl. Log-spaced levels (1, 2, 5 per decade) above the minimum when
    its largest value is more than :data:`LOG_LEVELS_RATIO` times its median,
    as across Rosenbrock's valley, where even levels would paint the whole
    valley one colour. ``None`` if f is constant on the picture.
    """
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    excess = values - lowest
    top, median = float(excess.max()), float(np.median(excess))
    if top <= 0:
        return None
    if median > 0 and top / median <= LOG_LEVELS_RATIO:
        return 0.0, np.unique(MaxNLocator(nbins=16).tick_values(float(values.min()), float(values.max()))), "f"
    positive = excess[excess > 0]
    floor = max(float(np.quantile(positive, 0.002)), top * 1e-12)
    decades = math.log10(top / floor)
    mantissas = (1.0, 2.0, 5.0) if decades <= 6 else (1.0, 3.0) if decades <= 10 else (1.0,)
    every = max(1, math.ceil(decades / 18))
    exponents = range(math.floor(math.log10(floor)), math.ceil(math.log10(top)) + 1, every)
    candidates = np.array([m * 10.0**e for e in exponents for m in mantissas])
    inside = candidates[(candidates >= floor) & (candidates < top)]
    above = candidates[candidates >= top]
    offsets = np.concatenate([inside, above[:1]]) if above.size else np.append(inside, top)
    if abs(lowest) < offsets[0]:
        # f's own values are the labels: the lowest band, from min f up, is the valley floor.
        return 0.0, np.concatenate([[min(lowest, 0.0)], offsets]), "f   (log-spaced levels)"
    sign = f"− {_number(lowest)}" if lowest > 0 else f"+ {_number(-lowest)}"
    return lowest, np.concatenate([[0.0], offsets]), f"f {sign}   (log-spaced levels)"


def _tick(value: float) -> str:
    """``0.05``, ``1000``, or ``2×10⁻⁵`` in mathtext when very small or large."""
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}".replace("-", "−")
    exponent = math.floor(math.log10(abs(value)))
    mantissa = round(value / 10.0**exponent, 2)
    head = "" if mantissa == 1 else "−" if mantissa == -1 else f"{mantissa:g}\\times"
    return f"${head}10^{{{exponent}}}$"


def _evaluate(problem: Problem, grid: list[np.ndarray]) -> np.ndarray:
    """f on a grid, with NumPy; NaN where f is undefined or not real."""
    import numpy as np
    import sympy as sp

    with np.errstate(all="ignore"):
        try:
            function = sp.lambdify(problem.variables, problem.expr, modules="numpy", docstring_limit=0)
            raw = np.asarray(function(*grid))
        except Exception:  # a function NumPy has no counterpart for: fall back to the math module, point by point
            raw = _pointwise(problem, grid)
        if np.iscomplexobj(raw):
            raw = np.where(np.abs(raw.imag) <= 1e-12 * np.abs(raw.real), raw.real, np.nan)
        values = np.broadcast_to(raw.astype(float), grid[0].shape).copy()
    values[~np.isfinite(values)] = np.nan
    return values


def _pointwise(problem: Problem, grid: list[np.ndarray]) -> np.ndarray:
    import numpy as np

    from symdescent.compile import compile_function

    function: Callable[..., float] = compile_function(problem.expr, problem.variables)

    def one(*x: float) -> float:
        try:
            value = function(*x)
            return float(value) if isinstance(value, int | float) else math.nan
        except NUMERIC_ERRORS:
            return math.nan

    return np.vectorize(one, otypes=[float])(*grid)


def _marker_indices(
    xs: Sequence[float], ys: Sequence[float], spans: tuple[float, float], markers: int = MARKERS
) -> list[int]:
    """A marker at every step while there are few; else about ``markers`` of them, evenly along the path."""
    if len(xs) <= markers:
        return list(range(len(xs)))
    sx, sy = (s or 1.0 for s in spans)
    lengths = [math.hypot((xs[i] - xs[i - 1]) / sx, (ys[i] - ys[i - 1]) / sy) for i in range(1, len(xs))]
    gap = sum(lengths) / markers
    chosen, travelled = [0], 0.0
    for i, length in enumerate(lengths, start=1):
        travelled += length
        if travelled >= gap:
            chosen.append(i)
            travelled = 0.0
    return chosen


def _mark_ends(ax: Axes, p: _Path, single: bool, y: Callable[[Step], float] | None = None) -> None:
    """Start (a white circle) and end (a star) of one path; in a single run, labelled with their points."""
    first, last = p.steps[0], p.steps[-1]
    names = p.result.variables
    y_of = y or (lambda s: s.x[1])
    if single:
        if p.left_at is not None:
            end_label = f"last point drawn, step {last.step}: {_point(last.x, names)}; the path leaves the picture next"
        elif p.result.status is Status.DIVERGED:
            end_label = f"last finite point, step {last.step}: {_point(last.x, names)}"
        else:
            end_label = f"end, step {last.step}: {_point(last.x, names)}, f = {_number(last.f)}"
        ax.plot(
            first.x[0],
            y_of(first),
            "o",
            color="white",
            markeredgecolor="black",
            markersize=10,
            zorder=5,
            label=f"start: {_point(first.x, names)}",
        )
        ax.plot(
            last.x[0],
            y_of(last),
            "*",
            color="#ffd400",
            markeredgecolor="black",
            markersize=17,
            zorder=6,
            label=end_label,
        )
    else:
        ax.plot(first.x[0], y_of(first), "o", color="white", markeredgecolor="black", markersize=10, zorder=5)
        ax.plot(last.x[0], y_of(last), "*", color=p.colour, markeredgecolor="black", markersize=15, zorder=6)


def _path_label(p: _Path, single: bool, points: int) -> str:
    if not single:
        return p.label
    if p.result.method != "gd" or p.result.maximize:
        name = legend_name(p.result.method)
        name = name.replace("descent", "ascent") if p.result.maximize else name
    else:
        name = "path"
    steps = p.steps[-1].step if p.steps else 0
    markers = "a marker per step" if points <= MARKERS else "markers evenly along it"
    return f"{name}: {steps} step{'' if steps == 1 else 's'} ({markers})"


def _legend(figure: Figure, ax: Axes, paths: list[_Path], single: bool) -> None:
    """The legend under the picture, where it hides nothing."""
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=1 if single else min(3, len(labels)), fontsize=9)


# -- 1 variable: the curve ---------------------------------------------------------------------------


def _curve_picture(ax: Axes, figure: Figure, problem: Problem, paths: list[_Path], single: bool) -> None:
    import numpy as np

    xs_all = [s.x[0] for p in _framed(paths) for s in p.steps]
    fs_all = [s.f for p in _framed(paths) for s in p.steps]
    low_x, high_x = min(xs_all), max(xs_all)
    margin = 0.15 * (high_x - low_x) if high_x > low_x else max(abs(low_x), 1.0)
    x0, x1 = low_x - margin, high_x + margin
    grid = np.linspace(x0, x1, 800)
    curve = _evaluate(problem, [grid])
    ax.plot(grid, curve, color="#3b4cc0", linewidth=2.0, label=f"$f({_axis_label(problem.variables[0])[1:-1]})$")
    finite = np.concatenate([curve[np.isfinite(curve)], fs_all])
    low, high = float(np.quantile(finite, 0.005)), float(np.quantile(finite, 0.995))
    low, high = min(low, min(fs_all)), max(high, max(fs_all))
    pad = 0.08 * (high - low or max(abs(high), 1.0))
    ax.set_ylim(low - pad, high + pad)
    ax.set_xlim(x0, x1)
    for p in paths:
        xs, fs = p.column(0), p.f
        colour = "#e8412c" if single else p.colour
        markevery = _marker_indices(xs, fs, (x1 - x0, high - low), MARKERS if single else MARKERS // 2)
        ax.plot(
            xs,
            fs,
            color=colour,
            linewidth=0.9,
            linestyle="--" if single else "-",
            marker="o",
            markersize=4.5,
            markevery=markevery,
            markeredgecolor="white",
            markeredgewidth=0.6,
            label="iterates" if single else p.label,
            zorder=3,
            gid="path",
        )
        if p.steps:
            _mark_ends(ax, p, single, y=lambda s: s.f)
    ax.set_xlabel(_axis_label(problem.variables[0]))
    ax.set_ylabel("$f$")
    ax.grid(alpha=0.3)
    _legend(figure, ax, paths, single)


# -- 3 or more variables: convergence curves -------------------------------------------------------------


def _log_limits(ax: Axes, values: Sequence[float]) -> None:
    """Log-scale limits with a margin, within what matplotlib can draw (a run that blew up reaches 10³⁰⁸)."""
    positive = [math.log10(v) for v in values if v > 0 and math.isfinite(v)]
    if not positive:
        ax.set_ylim(0.1, 10.0)
        ax.text(0.5, 0.5, "0 at every step: nothing to show on a log scale", transform=ax.transAxes, ha="center")
        return
    low, high = min(positive), max(positive)
    margin = max(0.05 * (high - low), 0.2)
    # matplotlib's ticks overflow near the largest float: beyond 10^±250 the line leaves the axes.
    ax.set_ylim(10.0 ** max(low - margin, -250), 10.0 ** min(high + margin, 250))


def _convergence_picture(top: Axes, bottom: Axes, problem: Problem, paths: list[_Path], single: bool) -> None:
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    maximize = paths[0].result.maximize
    finite_f = [s.f for p in paths for s in p.steps]
    best = (max if maximize else min)(finite_f) if finite_f else 0.0
    for p in paths:
        steps = np.array([s.step for s in p.steps], dtype=float)
        gap = np.abs(np.array(p.f) - best)
        norms = np.array([s.grad_norm for s in p.steps])
        colour = "#e8412c" if single else p.colour
        # Zeros (the best step itself, or an exact minimum) have no logarithm: they are left out.
        top.plot(steps[gap > 0], gap[gap > 0], color=colour, linewidth=1.6, label=p.label, gid="path")
        ok = np.isfinite(norms) & (norms > 0)
        bottom.plot(steps[ok], norms[ok], color=colour, linewidth=1.6, label=p.label, gid="grad_norm")
    tols = {p.result.tol for p in paths if p.result.tol > 0}
    for tol in tols:
        bottom.axhline(tol, color="grey", linestyle=":", linewidth=1.2, label=f"tol = {tol:g}")
    for ax in (top, bottom):
        _log_limits(ax, [v for line in ax.get_lines() for v in line.get_ydata()])
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
    sign = "f_{\\mathrm{best}} - f" if maximize else "f - f_{\\mathrm{best}}"
    top.set_ylabel(f"${sign}$")
    bottom.set_ylabel(r"$\|\nabla f\|$")
    bottom.set_xlabel("step")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    if max((p.steps[-1].step for p in paths if p.steps), default=0) == 0:
        bottom.set_xlim(-1, 1)
    top.set_title(
        f"{'highest' if maximize else 'lowest'} f reached: f_best = {_number(best)}   ({problem.dimension} variables)",
        fontsize=10,
    )
    if not single or tols:
        bottom.legend(fontsize=9)
    if not single:
        top.legend(fontsize=9)
