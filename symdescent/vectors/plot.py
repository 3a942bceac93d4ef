"""``--plot`` for vector runs: f and ‖∇f‖ against the step; for a fit to 1-D data, the data and the fitted curve.

A fit is recognised from the formula: f is ``mean(r^2)``, ``sum(r^2)`` or
``norm(r)^2`` where the residual r = model(t, params) − T for two data
vectors t and T and scalar variables only (``a*t + b - T``). The second
panel shows the points (t, T), the model at the end, and a few earlier
steps, faded, so that one sees the line swing into place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import sympy as sp

from symdescent.render.plot import check_plot_file, keep_for_picture, save, write_whole
from symdescent.result import Result, Status, Step
from symdescent.vectors.nodes import VMean, VNode, VNorm, VSum
from symdescent.vectors.printing import pretty
from symdescent.vectors.problem import VectorProblem

#: How many earlier fits are drawn, faded.
EARLIER = 4


def fit_model(problem: VectorProblem) -> tuple[str, str, sp.Expr] | None:
    """(input name t, target name T, model expression in t and the scalar variables) or None."""
    expr = problem.formula.expr
    if any(problem.shapes[n] for n in problem.names):
        return None
    residual = None
    if isinstance(expr, VMean | VSum) and expr.args[0].is_Pow and expr.args[0].exp == 2:
        residual = expr.args[0].base
    elif expr.is_Pow and expr.exp == 2 and isinstance(expr.base, VNorm):
        residual = expr.base.args[0]
    if residual is None or any(isinstance(n, VNode) for n in sp.preorder_traversal(residual)):
        return None
    vectors = [s for s in residual.free_symbols if problem.shapes.get(s.name) and len(problem.shapes[s.name]) == 1]
    if len(vectors) != 2:
        return None
    for target in vectors:
        coefficient = residual.coeff(target)
        if coefficient in (1, -1) and target not in (residual - coefficient * target).free_symbols:
            model = -(residual - coefficient * target) * coefficient
            (inputs,) = [v for v in vectors if v != target]
            if inputs in model.free_symbols:
                return inputs.name, target.name, model
    return None


#: At most this many data points are drawn in a fit's picture (evenly spaced through the data).
MAX_DOTS = 20_000


class VectorPlot:
    """Records f, ‖∇f‖ (and the scalar parameters of a fit) along the run; draws at the end."""

    def __init__(self, problem: VectorProblem, path: str) -> None:
        self._format = check_plot_file(path)
        self._path, self._problem = path, problem
        self._fit = fit_model(problem)
        self._steps: list[tuple[int, float, float]] = []
        self._params: dict[int, np.ndarray] = {}

    def recording(self, steps: Iterable[Step]) -> Iterator[Step]:
        """The same steps, each recorded on the way through."""
        for step in steps:
            self.step(step)
            yield step

    def step(self, step: Step) -> None:
        if keep_for_picture(step.step):
            self._steps.append((step.step, step.f, step.grad_norm))
            if self._fit is not None:
                self._params[step.step] = np.array(step.x, dtype=float)

    def finish(self, result: Result) -> None:
        last = np.asarray(result.flat, dtype=float)
        if not self._steps or self._steps[-1][0] != result.steps:
            self._steps.append((result.steps, result.f, result.grad_norm))
        if self._fit is not None:
            self._params[result.steps] = last
        figure = self.figure(result)
        if self._format != "gif":
            save(figure, self._path, self._format)
            return
        from symdescent.render.animate import write_gif

        animation = self.animation(figure)
        write_whole(self._path, lambda file: write_gif(animation, file))

    def animation(self, figure: Any) -> Any:
        """The run in motion: f and ‖∇f‖ drawn step by step; the fitted line moving to its place beside them."""
        from symdescent.render.animate import Animation, Track, add_dots, caption_of, steps_of

        tracks = [Track(line, steps_of(line)) for line in figure.axes[0].get_lines()]
        steps = [k for k, _, _ in self._steps]
        animation = Animation(figure, tracks, steps, caption_of({k: f for k, f, _ in self._steps}))
        add_dots(animation, races=True)
        if self._fit is not None:
            fit = figure.axes[1]
            line = next(line for line in fit.get_lines() if line.get_gid() == "fit")
            line.set_label("the fit at the step shown")  # the still's label names the last step only
            for earlier in (e for e in fit.get_lines() if e.get_gid() == "earlier"):
                earlier.set_label(None)
            fit.legend(fontsize=8)
            animation.at_end += [*(e for e in fit.get_lines() if e.get_gid() == "earlier"), *fit.texts]
            animation.moving_artists.append(line)
            curve = _model_function(self._fit[2], self._fit[0], self._problem.names)
            kept = sorted(self._params)

            def follow(step: int) -> None:
                latest = max((k for k in kept if k <= step), default=kept[0])
                line.set_ydata(_values(curve, np.asarray(line.get_xdata()), self._params[latest]))

            animation.updates.append(follow)
        return animation

    def figure(self, result: Result) -> Any:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        panels = 2 if self._fit is not None else 1
        figure = Figure(figsize=(6.4 * panels, 4.6), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(1, panels, squeeze=False)[0]
        self._history(axes[0], result)
        if self._fit is not None:
            self._fit_panel(axes[1], result)
        title = f"f({', '.join(self._problem.names)}) = {pretty(self._problem.formula.expr)}"
        figure.suptitle(f"{title}   ({result.method}, {result.status})", fontsize=10)
        return figure

    def _history(self, ax: Any, result: Result) -> None:
        steps = [s for s in self._steps if math.isfinite(s[1]) and math.isfinite(s[2])]
        k = [s[0] for s in steps]
        f = np.array([s[1] for s in steps])
        norm = np.array([s[2] for s in steps])
        positive = bool(len(f)) and bool(np.all(f > 0))
        ax.plot(k, f, color="tab:blue", label="f")
        ax.plot(k, norm, color="tab:orange", label="‖∇f‖")
        if positive and np.all(norm > 0):
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title("f and ‖∇f‖ against the step", fontsize=10)
        ax.legend()
        if result.status in (Status.DIVERGED, Status.UNBOUNDED):
            ax.annotate(str(result.status), xy=(0.98, 0.95), xycoords="axes fraction", ha="right", color="tab:red")

    def _fit_panel(self, ax: Any, result: Result) -> None:
        assert self._fit is not None
        inputs, target, model = self._fit
        t = np.asarray(self._problem.data[inputs], dtype=float)
        y = np.asarray(self._problem.data[target], dtype=float)
        curve = _model_function(model, inputs, self._problem.names)
        grid = np.linspace(t.min(), t.max(), 200)
        every = max(1, len(t) // MAX_DOTS)  # a picture shows no more dots; 10⁶ would take long to draw
        ax.scatter(t[::every], y[::every], color="black", s=18 if every == 1 else 4, zorder=3, label="data")
        kept = sorted(self._params)
        earlier = _earlier(kept[:-1], EARLIER)
        for rank, k in enumerate(earlier):
            alpha = 0.15 + 0.5 * (rank + 1) / (len(earlier) + 1)
            ax.plot(
                grid,
                _values(curve, grid, self._params[k]),
                color="tab:blue",
                alpha=alpha,
                linewidth=1,
                label="earlier steps" if rank == 0 else None,
                gid="earlier",
            )
            ax.annotate(
                f"step {k}",
                xy=(grid[-1], _values(curve, grid[-1:], self._params[k])[0]),
                fontsize=7,
                alpha=alpha,
                ha="right",
                va="bottom",
            )
        ax.plot(
            grid,
            _values(curve, grid, self._params[kept[-1]]),
            color="tab:red",
            linewidth=2,
            label=f"step {kept[-1]}: {self._problem.point_text(self._params[kept[-1]])}",
            gid="fit",
        )
        ax.set_xlabel(inputs)
        ax.set_ylabel(target)
        ax.set_title(f"{target} ≈ {pretty(model)}", fontsize=10)
        ax.legend(fontsize=8, loc="best" if every == 1 else "upper left")  # "best" warns over large data


def _earlier(steps: list[int], count: int) -> list[int]:
    """A few steps spread on a log scale (the line moves most at the start)."""
    if len(steps) <= count:
        return steps
    picks = np.unique(np.geomspace(1, max(2, steps[-1] // 4), count).astype(int))
    return [_nearest(steps, int(p)) for p in picks]


def _nearest(steps: list[int], target: int) -> int:
    return min(steps, key=lambda s: abs(s - target))


def _model_function(model: sp.Expr, inputs: str, names: tuple[str, ...]) -> Callable[..., Any]:
    """The model as a numpy function of (t, *params); printed from our own SymPy tree, not from user text."""
    symbols = [sp.Symbol(inputs, real=True), *(sp.Symbol(n, real=True) for n in names)]
    return sp.lambdify(symbols, model, modules="numpy", docstring_limit=0)


def _values(curve: Callable[..., Any], grid: np.ndarray, params: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.broadcast_to(np.asarray(curve(grid, *params), dtype=float), grid.shape)
