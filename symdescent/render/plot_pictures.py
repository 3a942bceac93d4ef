"""The three pictures: contours for 2 variables, the curve for 1, convergence curves for 3 or more.

:func:`figure_of` chooses among them; each draws the paths of
:mod:`symdescent.render.plot_paths` on its axes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from symdescent.errors import NUMERIC_ERRORS
from symdescent.problem import Problem
from symdescent.result import Result

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from symdescent.render.plot_paths import (
    MARKERS,
    SINGLE,
    STYLES,
    _axis_label,
    _drawable,
    _framed,
    _label,
    _legend,
    _mark_ends,
    _marker_indices,
    _number,
    _Path,
    _path_label,
    _title,
)

#: Grid points per side for the contours (fewer for very large expressions).
GRID = 300
#: Linear levels unless the largest value of f − min f on the picture exceeds its median this many times.
LOG_LEVELS_RATIO = 10.0


def figure_of(problem: Problem, results: list[Result], *, single: bool) -> Figure:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dimension = problem.dimension
    paths = [
        _drawable(result, SINGLE if single else STYLES[i % len(STYLES)], _label(result), dimension <= 2)
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
            bar.set_ticks(list(ticks))
            bar.set_ticklabels([_tick(t) for t in ticks])
        else:
            ax.set_facecolor("#440154")
    n = len(paths)
    for i, p in enumerate(paths):
        # Earlier runs are drawn wider, so that paths that share a valley show as nested stripes;
        # every run has its own dashes, and its markers sit apart from the others' (phase i/n).
        width = 1.2 + 2.4 * (n - 1 - i) / max(n - 1, 1) if not single else 1.6
        halo = [patheffects.withStroke(linewidth=width + 1.2, foreground="black", alpha=0.55)]
        xs_, ys_ = p.column(0), p.column(1)
        markevery = _marker_indices(xs_, ys_, (x1 - x0, y1 - y0), MARKERS if single else MARKERS // 2, i / n)
        ax.plot(
            xs_,
            ys_,
            color=p.style.colour,
            linestyle=p.style.dashes,
            linewidth=width,
            marker=p.style.marker,
            markersize=6.0 if not single else 2.0 + width,
            markeredgecolor="black" if not single else "white",
            markeredgewidth=0.6 if not single else 0.5,
            markevery=markevery,
            path_effects=halo if single or i == 0 else None,  # one dark edge under the bundle, not one per run
            label=_path_label(p, single, len(xs_)),
            zorder=3 + i / n,  # later (narrower) runs on top of earlier (wider) ones
            gid="path",
        )
        if not single:
            # The markers again, above every line, plus one part-way along a path of few steps:
            # a run hidden under others' lines still shows its own marker.
            mx, my = [xs_[k] for k in markevery], [ys_[k] for k in markevery]
            if 1 < len(xs_) < 4:
                t = 0.15 + 0.7 * i / max(n - 1, 1)
                mx.append(xs_[0] + t * (xs_[1] - xs_[0]))
                my.append(ys_[0] + t * (ys_[1] - ys_[0]))
            ax.plot(
                mx, my, linestyle="none", marker=p.style.marker, markersize=6.0, color=p.style.colour,
                markeredgecolor="black", markeredgewidth=0.6, zorder=4.5, gid="markers",
            )  # fmt: skip
        if p.steps:
            _mark_ends(ax, p, single)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(_axis_label(problem.variables[0]))
    ax.set_ylabel(_axis_label(problem.variables[1]))
    ax.xaxis.set_major_locator(MaxNLocator(8))
    ax.yaxis.set_major_locator(MaxNLocator(8))
    _legend(figure, ax, single)


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
    for i, p in enumerate(paths):
        xs, fs = p.column(0), p.f
        colour = "#e8412c" if single else p.style.colour
        spans = (x1 - x0, high - low)
        markevery = _marker_indices(xs, fs, spans, MARKERS if single else MARKERS // 2, i / len(paths))
        ax.plot(
            xs,
            fs,
            color=colour,
            linewidth=0.9 if single else 1.4,
            linestyle="--" if single else p.style.dashes,
            marker="o" if single else p.style.marker,
            markersize=4.5 if single else 6.0 - 2.0 * i / len(paths),
            markevery=markevery,
            markeredgecolor="white" if single else "black",
            markeredgewidth=0.6,
            label="iterates" if single else p.label,
            zorder=3 + i / len(paths),
            gid="path",
        )
        if p.steps:
            _mark_ends(ax, p, single, y=lambda s: s.f)
    ax.set_xlabel(_axis_label(problem.variables[0]))
    ax.set_ylabel("$f$")
    ax.grid(alpha=0.3)
    _legend(figure, ax, single)


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
        line: dict[str, Any] = {  # Line2D properties
            "color": "#e8412c" if single else p.style.colour,
            "linestyle": "solid" if single else p.style.dashes,
            "linewidth": 1.6,
            "label": p.label,
        }
        # Zeros (the best step itself, or an exact minimum) have no logarithm: they are left out.
        top.plot(steps[gap > 0], gap[gap > 0], **line, gid="path")
        ok = np.isfinite(norms) & (norms > 0)
        bottom.plot(steps[ok], norms[ok], **line, gid="grad_norm")
    tols = {p.result.tol for p in paths if p.result.tol > 0}
    for tol in tols:
        bottom.axhline(tol, color="grey", linestyle=":", linewidth=1.2, label=f"tol = {tol:g}")
    for ax in (top, bottom):
        _log_limits(ax, [v for drawn in ax.get_lines() for v in np.asarray(drawn.get_ydata())])
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
