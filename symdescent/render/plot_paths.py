"""What each run's path is on a picture: its finite steps, style, label, markers and ends.

Shared by the pictures of :mod:`symdescent.render.plot_pictures`; matplotlib
is imported only inside the functions that draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symdescent.layout import Flat
from symdescent.problem import Problem
from symdescent.result import Result, Status, Step, outcome

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: A marker per step up to this many steps, then about this many along the path; the line keeps every step.
MARKERS = 80
#: A diverged path is drawn until it is this many times farther from the start than its first steps.
DIVERGED_REACH = 30.0
#: A descent whose f rises this many times higher above its lowest value than its first steps has run away.
ESCAPE = 100.0

PATH_COLOUR = "#ff4b1f"


@dataclass(frozen=True)
class Style:
    """How one run's path is drawn: a colour, a dash pattern and a marker, each different from every other run's."""

    colour: str
    dashes: str | tuple[int, tuple[float, ...]]
    marker: str


#: One style per run of a comparison (eleven methods, eleven styles): no two share a colour, a dash or a marker,
#: so paths stay apart also where they overlap, in grey print and for colour-blind readers.
STYLES = (
    Style("#ff4b1f", "solid", "o"),
    Style("#00c2ff", (0, (6.0, 2.0)), "s"),
    Style("#ffd000", (0, (1.0, 1.5)), "^"),
    Style("#ff5ce1", (0, (6.0, 2.0, 1.0, 2.0)), "D"),
    Style("#7cff4f", (0, (10.0, 3.0)), "v"),
    Style("#ffffff", (0, (3.0, 1.5, 1.0, 1.5, 1.0, 1.5)), "P"),
    Style("#ff9e00", (0, (2.0, 2.0)), "X"),
    Style("#b39dff", (0, (8.0, 2.0, 2.0, 2.0)), "p"),
    Style("#00ffb0", (0, (4.0, 1.0, 4.0, 4.0)), "h"),
    Style("#c8c8c8", (0, (12.0, 2.0, 1.0, 2.0, 1.0, 2.0)), "<"),
    Style("#deb887", (0, (1.0, 1.0, 4.0, 1.0)), ">"),
)
SINGLE = Style(PATH_COLOUR, "solid", "o")


# -- what is drawn -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Path:
    """One run's drawable points: finite steps, cut where a diverged run leaves the picture."""

    result: Result
    steps: tuple[Step, ...]
    left_at: int | None  # the step at which a diverged path was cut, if it was
    style: Style
    label: str

    def column(self, i: int) -> list[float]:
        return [s.x[i] for s in self.steps]

    @property
    def f(self) -> list[float]:
        return [s.f for s in self.steps]


def _drawable(result: Result, style: Style, label: str, cut_runaway: bool) -> _Path:
    """The finite steps of a run, up to where it runs away (if it does and ``cut_runaway``)."""
    steps = [s for s in result.history if all(math.isfinite(v) for v in (*s.x, s.f))]
    cut = _runaway(steps, result) if cut_runaway else None
    left_at = None
    if cut is not None:
        left_at = steps[cut].step
        label = f"{label} (runs away; drawn to step {steps[cut - 1].step})"
    return _Path(result, tuple(steps[:cut]), left_at, style, label)


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
    if result.status in (Status.DIVERGED, Status.UNBOUNDED):  # the path runs far off: cut it
        start = steps[0].x
        reach = max(_distance(s.x, start) for s in steps[1:4]) or 1.0
        far = next((i for i in range(2, len(steps)) if _distance(steps[i].x, start) > DIVERGED_REACH * reach), None)
        cut = far if cut is None or (far is not None and far < cut) else cut
    return cut


def _framed(paths: list[_Path]) -> list[_Path]:
    """The paths the picture is framed around: those that do not run away, if there are any."""
    return [p for p in paths if p.left_at is None] or paths


def _distance(a: Flat, b: Flat) -> float:
    return math.hypot(*(ai - bi for ai, bi in zip(a, b, strict=True)))


def _label(result: Result) -> str:
    lr = result.params.get("lr")
    return f"{result.method}, α = {lr:g}" if isinstance(lr, int | float) else result.method


def _title(problem: Problem, results: list[Result], single: bool) -> str:
    first = results[0]
    heading = _function_text(problem)
    if not single:
        what = "ascent" if first.maximize else "descent"
        runs = "1 run" if len(results) == 1 else f"{len(results)} runs"
        return f"{heading}\n{runs} from {_point(first.flat_start)}: paths of {what}"
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


def _point(x: Flat, names: Sequence[str] = ()) -> str:
    """``(−1.2, 1)``; a single coordinate as ``x = 2`` when its name is given."""
    if len(x) == 1 and len(names) == 1:
        return f"{names[0]} = {_number(x[0])}"
    return "(" + ", ".join(_number(v) for v in x) + ")"


def _number(value: float) -> str:
    return f"{value:.4g}".replace("-", "−")


def _marker_indices(
    xs: Sequence[float],
    ys: Sequence[float],
    spans: tuple[float, float],
    markers: int = MARKERS,
    phase: float = 0.0,
) -> list[int]:
    """A marker at every step while there are few; else about ``markers`` of them, evenly along the path.

    ``phase`` (0 to 1) shifts them along: runs that share a stretch of path get their markers side by side.
    """
    if len(xs) <= markers:
        return list(range(len(xs)))
    sx, sy = (s or 1.0 for s in spans)
    lengths = [math.hypot((xs[i] - xs[i - 1]) / sx, (ys[i] - ys[i - 1]) / sy) for i in range(1, len(xs))]
    gap = sum(lengths) / markers
    chosen, travelled = [0], gap * phase
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
        start_label: str | None = f"start: {_point(first.x, names)}"
        end_colour, end_size = "#ffd400", 17
    else:
        start_label = end_label = None
        end_colour, end_size = p.style.colour, 15
    start_style: dict[str, Any] = {"color": "white", "markersize": 10, "zorder": 5, "label": start_label}
    end_style: dict[str, Any] = {"color": end_colour, "markersize": end_size, "zorder": 6, "label": end_label}
    ax.plot(first.x[0], y_of(first), "o", markeredgecolor="black", **start_style)
    ax.plot(last.x[0], y_of(last), "*", markeredgecolor="black", **end_style)


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


def _legend(figure: Figure, ax: Axes, single: bool) -> None:
    """The legend under the picture, where it hides nothing."""
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=1 if single else min(3, len(labels)), fontsize=9)
