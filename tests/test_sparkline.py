"""The sparkline's laws, for any sequence of floats, and its place in the table's summary."""

from __future__ import annotations

import math

from conftest import SEED, cli
from hypothesis import given
from hypothesis import strategies as st

from symdescent import minimize
from symdescent.render.sparkline import BARS, sparkline

numbers = st.floats(allow_nan=True, allow_infinity=True)
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
widths = st.integers(min_value=1, max_value=80)


def rank(char: str) -> int:
    return BARS.index(char)


@given(st.lists(numbers, max_size=300), widths)
def test_length_and_alphabet(values: list[float], width: int) -> None:
    line = sparkline(values, width)
    assert len(line) == min(len(values), width)
    assert set(line) <= set(BARS) | {" "}


@given(st.lists(finite, min_size=1, max_size=300), widths)
def test_monotone_in_monotone_out(values: list[float], width: int) -> None:
    down = [rank(c) for c in sparkline(sorted(values, reverse=True), width)]
    up = [rank(c) for c in sparkline(sorted(values), width)]
    assert down == sorted(down, reverse=True)
    assert up == sorted(up)


@given(st.lists(finite, min_size=1, max_size=60))
def test_ends_of_the_scale(values: list[float]) -> None:
    line = sparkline(values, 60)
    lowest, highest = min(values), max(values)
    assert line[values.index(lowest)] == "▁"
    if highest - lowest > 0:
        assert line[values.index(highest)] == "█"
    else:
        assert line == "▁" * len(values)


@given(st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=60), st.integers(-(10**6), 10**6))
def test_adding_a_constant_does_not_change_the_line(values: list[int], shift: int) -> None:
    # integers, so that the sums are exact
    assert sparkline([float(v) for v in values]) == sparkline([float(v + shift) for v in values])


@given(st.lists(finite, min_size=1, max_size=60))
def test_nan_is_a_gap_and_infinities_are_the_ends(values: list[float]) -> None:
    line = sparkline([*values, math.nan, math.inf, -math.inf], 80)
    assert line[-3:] == " █▁"
    assert line[:-3] == sparkline(values, 80)


def test_geometric_decay_is_a_straight_ramp() -> None:
    assert sparkline([2.0**-k for k in range(16)], 8) == "█▇▆▅▄▃▂▁"


def test_long_runs_are_resampled_keeping_spikes() -> None:
    values = [1.0] * 1000
    values[500] = 1e6
    line = sparkline(values, 50)
    assert len(line) == 50
    assert line.count("█") == 1 and line[25] == "█"


def test_seed_run_in_the_table_summary() -> None:
    expected = sparkline([s.f for s in minimize(SEED, (1, 2), lr=0.1).history])
    out = cli("run", SEED, "--start", "1,2", "--format", "table")
    line = next(line for line in out.stdout.splitlines() if "f − min f" in line)
    assert expected in line
    assert expected.startswith("█") and expected.endswith("▁")
    assert "log scale" in line and "steps 0–69" in line


def test_maximize_draws_the_distance_to_the_best() -> None:
    history = minimize("-x**2", (1,), lr=0.1, maximize=True).history
    expected = sparkline([-s.f for s in history])
    out = cli("run", "-x**2", "--start", "1", "--maximize", "--format", "table")
    line = next(line for line in out.stdout.splitlines() if "max f − f" in line)
    assert expected in line
    assert expected.startswith("█") and expected.endswith("▁")


def test_no_sparkline_for_a_run_of_one_or_two_steps() -> None:
    out = cli("run", SEED, "--start", "0,0", "--format", "table")
    assert "log scale" not in out.stdout
