"""The descent in motion: ``--plot FILE.gif`` draws the still picture, then reveals it step by step.

Each frame shows the paths up to one step, a large dot on each run's current
point and the step number (with f, for one run); the last frame is the still
picture. Whatever the picture is — contours (2 variables), the curve (1), f
and ‖∇f‖ against the step (3 or more), several methods racing on the same
contours (compare), or a data fit with its falling loss (vectors) — the frames
reveal the artists that the still picture drew from the run, so the GIF and
the PNG can never disagree.

Frames: every recorded step while there are at most :data:`FRAMES`; beyond,
steps spread on a log scale (the point moves most at the start), first and
last always. At :data:`FPS` frames a second the whole run takes about five
seconds. Pillow (matplotlib's own dependency) writes the GIF with one shared
palette, so frames after the first store only what changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

#: Frames in the whole animation, and how fast they play: about 5 s.
FRAMES = 60
FPS = 12
#: The last frame stays this long, so that the end can be read.
HOLD_MS = 1500
#: Pixels per inch of the frames: small enough to keep the file under about 2 MB.
DPI = 72
#: The current point's dot, in a colour no picture uses for anything else.
DOT_COLOUR = "#ff00ff"


def frame_steps(steps: Sequence[int], frames: int = FRAMES) -> list[int]:
    """The step numbers that get a frame: all of them while few, else a log-spaced choice, ends included."""
    if len(steps) <= frames:
        return list(steps)
    import numpy as np

    # half spread evenly, half on a log scale (the point moves most at the start)
    even = np.linspace(0, len(steps) - 1, frames // 2).astype(int)
    early = np.geomspace(1, len(steps), frames - frames // 2).astype(int) - 1
    chosen = sorted({0, len(steps) - 1, *even.tolist(), *early.tolist()})
    return [steps[i] for i in chosen]


@dataclass
class Track:
    """One line of the still picture and the step number of each of its points."""

    line: Line2D
    steps: list[int]
    x: Any = field(init=False)
    y: Any = field(init=False)
    dot: Line2D | None = None

    def __post_init__(self) -> None:
        self.x, self.y = self.line.get_xdata(), self.line.get_ydata()
        self.markevery = self.line.get_markevery()

    def show(self, step: int) -> None:
        """Reveal the points up to ``step``; the dot on the last one shown."""
        count = sum(1 for s in self.steps if s <= step)
        self.line.set_data(self.x[:count], self.y[:count])
        if isinstance(self.markevery, list):  # the still picture's chosen markers, of the points shown so far
            self.line.set_markevery([k for k in self.markevery if k < count])
        if self.dot is not None:
            self.dot.set_visible(count > 0)
            if count:
                self.dot.set_data([self.x[count - 1]], [self.y[count - 1]])


@dataclass
class Animation:
    """The still figure and how to turn it back to any step: tracks to reveal, artists for the end only."""

    figure: Figure
    tracks: list[Track]
    steps: list[int]  # every step some track has, ascending
    caption: Callable[[int], str]
    at_end: list[Any] = field(default_factory=list)  # end stars, thinned markers: shown on the last frame
    updates: list[Callable[[int], None]] = field(default_factory=list)  # other artists that follow the step

    def frame(self, step: int, last: bool) -> None:
        for track in self.tracks:
            track.show(step)
        for update in self.updates:
            update(step)
        for artist in self.at_end:
            artist.set_visible(last)
        self._text.set_text(self.caption(step))

    moving_artists: list[Any] = field(default_factory=list)  # drawn by ``updates``

    def __post_init__(self) -> None:
        # in the first axes' top left corner, on a pale box: legible over contours, clear of titles and legends
        self._text = self.figure.axes[0].text(
            0.02, 0.98, "", transform=self.figure.axes[0].transAxes, ha="left", va="top", fontsize=10,
            family="monospace", zorder=20, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
        )  # fmt: skip

    def moving(self) -> list[Any]:
        """Every artist a frame may change: redrawn on each frame over the still background."""
        dots = [t.dot for t in self.tracks if t.dot is not None]
        return [*(t.line for t in self.tracks), *self.moving_artists, *self.at_end, *dots, self._text]


def add_dots(animation: Animation, races: bool) -> None:
    """A dot on each track's current point: magenta for one run; in a race, each run's colour and marker."""
    for track in animation.tracks:
        marker = track.line.get_marker() if races else "o"
        axes: Any = track.line.axes
        (track.dot,) = axes.plot(
            [],
            [],
            marker if marker not in (None, "", "None", " ") else "o",
            color=track.line.get_color() if races else DOT_COLOUR,
            markeredgecolor="black",
            markersize=12,
            zorder=10,
        )


def tracks_by_gid(figure: Figure, gids: Sequence[str]) -> list[Line2D]:
    """The still picture's lines drawn from the run, found by the ids the pictures give them."""
    return [line for ax in figure.axes for line in ax.get_lines() if line.get_gid() in gids]


def end_markers(figure: Figure) -> list[Any]:
    """The end stars and the thinned markers: they tell where the run ends, so they wait for the last frame."""
    return [
        line for ax in figure.axes for line in ax.get_lines() if line.get_marker() == "*" or line.get_gid() == "markers"
    ]


def write_gif(animation: Animation, out: IO[bytes]) -> int:
    """Draw every frame and write the GIF; the number of frames.

    The still part (contours, axes, legend) is drawn once; each frame redraws only the artists that
    move over a copy of it (blitting), so a frame costs a few lines, not a whole figure.
    """
    from PIL import Image

    figure = animation.figure
    figure.set_dpi(DPI)
    moving = animation.moving()
    for artist in moving:
        artist.set_animated(True)
    canvas = figure.canvas
    canvas.draw()
    background = canvas.copy_from_bbox(figure.bbox)  # type: ignore[attr-defined]  # Agg's, which figures here have
    chosen = frame_steps(animation.steps)
    images = []
    palette = None
    for k, step in enumerate(chosen):
        animation.frame(step, last=k == len(chosen) - 1)
        canvas.restore_region(background)  # type: ignore[attr-defined]
        for artist in moving:
            if artist.get_visible():
                figure.draw_artist(artist)
        width, height = canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")  # type: ignore[attr-defined]
        if palette is None:  # the first frame's palette for all: unchanged pixels then stay the same index
            palette = image.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
        images.append(image.quantize(palette=palette, dither=Image.Dither.NONE))
    durations = [round(1000 / FPS)] * (len(images) - 1) + [HOLD_MS]
    images[0].save(
        out, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False
    )
    return len(images)


def caption_for(results: Sequence[Any]) -> Callable[[int], str]:
    """``step 12   f = 0.0687`` for one run; ``step 12`` for several."""
    if len(results) != 1:
        return lambda step: f"step {step}"
    return caption_of({s.step: s.f for s in results[0].history})


def caption_of(by_step: dict[int, float]) -> Callable[[int], str]:
    """``step 12   f = 0.0687``, f from ``by_step``."""

    def caption(step: int) -> str:
        f = by_step.get(step)
        shown = "" if f is None or not math.isfinite(f) else f"   f = {f:.6g}"
        return f"step {step}{shown}"

    return caption


def steps_of(line: Line2D) -> list[int]:
    """The x data of a line drawn against the step, as step numbers (or as many as its points, for a path)."""
    import numpy as np

    return [int(k) for k in np.asarray(line.get_xdata(), dtype=float)]


def finite_steps(result: Any) -> list[int]:
    """The steps a still picture draws of a run: the finite ones, in order."""
    return [s.step for s in result.history if all(math.isfinite(v) for v in (*s.x, s.f))]


def scalar_animation(figure: Figure, results: Sequence[Any], dimension: int) -> Animation:
    """The animation of :func:`~symdescent.render.plot.run_figure` or ``compare_figure``'s picture."""
    tracks: list[Track] = []
    if dimension >= 3:  # f − f_best and ‖∇f‖ against the step: the x data are the steps
        for line in tracks_by_gid(figure, ("path", "grad_norm")):
            tracks.append(Track(line, steps_of(line)))
    else:  # one path line per run, in the runs' order, drawn from the run's finite steps
        for line, result in zip(tracks_by_gid(figure, ("path",)), results, strict=False):
            tracks.append(Track(line, finite_steps(result)[: len(steps_of(line))]))
    steps = sorted({s for track in tracks for s in track.steps})
    animation = Animation(figure, tracks, steps or [0], caption_for(results), end_markers(figure))
    add_dots(animation, races=len(results) > 1)
    return animation
