"""The picture of a learning-rate sweep: steps to the tolerance and the final f against α, the edge marked.

Both panels share a log α axis. Above, the steps each converged run took (a
run that did not converge is drawn at the step limit, as a cross in its
outcome's colour); below, the final f (log scale, symlog when some f ≤ 0).
Where the Hessian is constant, a dashed line marks gd's stability edge
2/λmax and a dotted one the fastest α = 2/(λmin + λmax): for x² + y² every
run left of α = 1 converges and every run right of it does not.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

from symdescent.render.plot import check_plot_file, save

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from symdescent.sweep import Sweep

#: Colours by outcome; anything else (max_steps, interrupted…) is grey.
OUTCOME_COLOURS = {"converged": "tab:green", "completed": "tab:green", "diverged": "tab:red", "diverging": "tab:orange"}
EDGE_COLOUR = "tab:red"
BEST_COLOUR = "tab:blue"


def sweep_figure(sweep: Sweep, max_steps: int) -> Figure:
    """The sweep as a matplotlib Figure of two panels, not yet saved."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 6), layout="constrained")
    steps_axes, f_axes = figure.subplots(2, 1, sharex=True)
    steps_axes.set_xscale("log")
    ceiling = _ceiling(sweep)
    for outcome in sorted({p.outcome for p in sweep.points}):
        chosen = [p for p in sweep.points if p.outcome == outcome]
        colour = OUTCOME_COLOURS.get(outcome, "tab:grey")
        converged = outcome in ("converged", "completed")
        steps_axes.scatter(
            [p.lr for p in chosen],
            [p.steps if converged else max_steps for p in chosen],
            color=colour,
            marker="o" if converged else "x",
            label=outcome,
            zorder=3,
        )
        f_axes.scatter(
            [p.lr for p in chosen],
            [min(p.f, ceiling) if not math.isnan(p.f) else ceiling for p in chosen],
            color=colour,
            marker="o" if converged else "^",
        )
    values = [p.f for p in sweep.points if math.isfinite(p.f) and p.f <= ceiling]
    if values and min(values) > 0:
        f_axes.set_yscale("log")
    elif values:
        f_axes.set_yscale("symlog", linthresh=max(1e-12, min((abs(v) for v in values if v), default=1.0)))
    if any(not p.f <= ceiling for p in sweep.points):
        f_axes.annotate("▲ f beyond the top", xy=(1, 1), xycoords="axes fraction", ha="right", va="bottom")
    for axes in (steps_axes, f_axes):
        if sweep.max_stable_lr is not None:
            axes.axvline(sweep.max_stable_lr, color=EDGE_COLOUR, linestyle="--", linewidth=1)
        if sweep.best_lr is not None:
            axes.axvline(sweep.best_lr, color=BEST_COLOUR, linestyle=":", linewidth=1)
        axes.grid(True, which="major", alpha=0.3)
    if sweep.max_stable_lr is not None:
        steps_axes.plot([], [], color=EDGE_COLOUR, linestyle="--", label=f"2/λmax = {sweep.max_stable_lr:.4g}")
    if sweep.best_lr is not None:
        steps_axes.plot([], [], color=BEST_COLOUR, linestyle=":", label=f"best α = {sweep.best_lr:.4g}")
    steps_axes.set_ylabel("steps to the tolerance")
    steps_axes.legend(loc="best", fontsize="small")
    f_axes.set_ylabel("final f")
    f_axes.set_xlabel("learning rate α")
    steps_axes.set_title(f"{sweep.method} on {sweep.function}", fontsize="medium", loc="left")
    return figure


def _ceiling(sweep: Sweep) -> float:
    """The top of the f panel: a decade above every f that did not run away (the start's f at least).

    A run that diverged ends at 10³⁰⁰ or ∞; drawn at its value it would squash the rest to a line.
    """
    kept = [p.f for p in sweep.points if math.isfinite(p.f) and p.outcome not in ("diverged", "diverging")]
    kept += [p.f0 for p in sweep.points if math.isfinite(p.f0)]
    top = max(kept, default=1.0)
    return top * 10 if top > 0 else abs(top) + 1


def plot_sweep(sweep: Sweep, path: str | os.PathLike[str], max_steps: int) -> None:
    """Write the sweep's picture to ``path``; the format is the extension."""
    fmt = check_plot_file(path)
    save(sweep_figure(sweep, max_steps), path, fmt)
