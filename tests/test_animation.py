"""``--plot FILE.gif``: the run in motion, read back frame by frame and held against the run itself."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import pytest
from conftest import ROSENBROCK, SEED, cli

pytest.importorskip("matplotlib")
from PIL import Image

from symdescent import make_problem, minimize
from symdescent.render.animate import DOT_COLOUR, FPS, HOLD_MS, frame_steps, scalar_animation, write_gif
from symdescent.render.plot import run_figure

MAGENTA = tuple(int(DOT_COLOUR[i : i + 2], 16) for i in (1, 3, 5))


def frames(data: bytes) -> list[np.ndarray]:
    image = Image.open(io.BytesIO(data))
    out = []
    for k in range(image.n_frames):
        image.seek(k)
        out.append(np.asarray(image.convert("RGB")))
    return out


def dot_centre(frame: np.ndarray) -> tuple[float, float]:
    """Where the magenta dot is: the centre of the pixels of its colour (x right, y down)."""
    rows, columns = np.nonzero(np.all(np.abs(frame.astype(int) - MAGENTA) <= 12, axis=2))
    assert rows.size > 20, "no dot in this frame"
    return float(columns.mean()), float(rows.mean())


def test_frames_are_every_step_of_a_short_run_and_a_log_sample_of_a_long_one() -> None:
    assert frame_steps(list(range(40))) == list(range(40))
    long = frame_steps(list(range(10**6)))
    assert long[0] == 0 and long[-1] == 10**6 - 1 and long == sorted(set(long)) and len(long) <= 60
    assert sum(1 for s in long if s < 1000) >= 12  # the start, where the point moves most, gets many frames


def test_the_seed_gif_moves_the_dot_from_the_start_to_the_minimum_in_about_five_seconds() -> None:
    result = minimize(SEED, start=(1, 2), lr=0.1)  # every step kept, as --plot keeps them for a short run
    figure = run_figure(make_problem(SEED), result)
    animation = scalar_animation(figure, [result], 2)
    buffer = io.BytesIO()
    count = write_gif(animation, buffer)
    data = buffer.getvalue()
    assert count == len(frame_steps(list(range(70)))) and len(data) <= 2_000_000
    shown = frames(data)
    assert len(shown) == count
    durations = []
    image = Image.open(io.BytesIO(data))
    for k in range(image.n_frames):
        image.seek(k)
        durations.append(image.info["duration"])
    assert (
        3000 <= sum(durations) <= 7000 and durations[-1] == HOLD_MS and abs(durations[0] - 1000 / FPS) <= 10
    )  # GIF: 10 ms units
    axes = figure.axes[0]
    height = shown[0].shape[0]
    for frame, point in ((shown[0], (1.0, 2.0)), (shown[-1], result.flat)):
        x, y = axes.transData.transform(point)
        cx, cy = dot_centre(frame)
        assert abs(cx - x) <= 2 and abs(cy - (height - y)) <= 2  # the dot is where the run was


def test_compare_races_every_method_and_a_fit_swings_into_place(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import symdescent.render.animate as animate

    # 12 frames, not 60: what is checked here is the first and last frames (the seed's GIF above has them all)
    monkeypatch.setattr(animate, "frame_steps", functools.partial(frame_steps, frames=12))
    race = tmp_path / "race.gif"
    out = cli("compare", ROSENBROCK, "--start", "-1.2,1", "--methods", "gd,newton", "--plot", str(race))
    assert out.exit_code == 0
    last = frames(race.read_bytes())[-1]
    # each method's dot in its own colour: gd red-orange, newton a different hue, both present at the end
    colours = {tuple(c) for c in last.reshape(-1, 3)[::7].tolist()}
    assert len(colours) > 20
    fit = tmp_path / "fit.gif"
    out = cli(
        "run", "mean((a*t + b - y)^2)", "--data", "t=[0,1,2,3]", "--data", "y=[1,3,5,7]", "--start", "a=0,b=0",
        "--lr", "0.05", "-q", "--plot", str(fit),
    )  # fmt: skip
    assert out.exit_code == 0
    shown = frames(fit.read_bytes())
    right = [frame[:, frame.shape[1] // 2 :] for frame in (shown[1], shown[-1])]
    assert not np.array_equal(*right)  # the fitted line has moved between the early and the last frame
    assert Path(fit).stat().st_size <= 2_000_000
    curve = tmp_path / "curve.gif"  # one variable: the dot rolls along the curve
    out = cli("run", "x^4 - 3*x", "--start", "2", "--lr", "0.02", "-q", "--plot", str(curve))
    assert out.exit_code == 0 and dot_centre(frames(curve.read_bytes())[0])


def test_ctrl_c_while_the_picture_is_drawn_writes_nothing_and_exits_130(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import symdescent.render.plot as plot

    def stopped(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(plot, "plot_run", stopped)
    target = tmp_path / "seed.gif"
    out = cli("run", SEED, "--start", "1,2", "--lr", "0.1", "-q", "--plot", str(target))
    assert out.exit_code == 130 and not target.exists() and list(tmp_path.iterdir()) == []
    assert out.stdout.split() and "Interrupted: the picture was not written" in out.stderr  # the output came first
