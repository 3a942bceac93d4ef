"""A one-line picture of a sequence in Unicode blocks: ``█▆▅▄▃▂▁``.

``sparkline(values, width)`` draws ``log10(v − min v)`` so that a run
converging linearly (f − f* shrinking by a constant factor per step) is a
straight ramp, whatever f* is. The laws, checked by a property test:

- the result has ``min(len(values), width)`` characters, all from
  :data:`BARS` or a space (a bucket with no number in it);
- a monotone sequence gives a monotone line (in the same direction);
- the smallest finite value is ``▁``; the largest is ``█`` unless all finite
  values are equal (then the line is flat ``▁``); the minimum has no
  logarithm, so it shares ``▁`` with the next smallest value;
- ``+inf`` is ``█``, ``-inf`` is ``▁``; NaN is left out (a space if a whole
  bucket is NaN).

Long sequences are resampled into ``width`` contiguous buckets, each drawn
as its largest value, so spikes (an overshooting step) stay visible.

>>> sparkline([5, 3.2, 2.048, 1.31, 0.84, 0.54, 0.34, 0.22])
'█▇▆▅▄▃▁▁'
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 60, *, lowest: float | None = None) -> str:
    """``values`` as at most ``width`` block characters, on a log scale of ``v − min v``.

    ``lowest`` is the minimum of a longer sequence that ``values`` samples
    (see :class:`SparkSampler`); by default the minimum of ``values``.
    """
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    finite = [v for v in values if math.isfinite(v)]
    low = min(finite, default=0.0)
    lowest = low if lowest is None or not math.isfinite(lowest) else min(lowest, low)
    excess = [v - lowest for v in finite]
    top = max(excess, default=0.0)
    # The minimum itself (v − min v = 0) has no logarithm: draw it like the smallest positive excess.
    floor = min((e for e in excess if e > 0), default=0.0)

    def level(value: float) -> float:
        """Position in [0, 1] of one value; NaN if it has none."""
        if math.isnan(value):
            return math.nan
        if value == math.inf:
            return 1.0
        if value == -math.inf or top <= 0:
            return 0.0
        low, high = math.log10(floor), math.log10(top)
        if high <= low:
            return 0.0 if value - lowest < top else 1.0
        return (math.log10(max(value - lowest, floor)) - low) / (high - low)

    levels = [level(float(v)) for v in values]
    if len(levels) > width:
        levels = [_bucket_max(levels[i * len(levels) // width : (i + 1) * len(levels) // width]) for i in range(width)]
    return "".join(" " if math.isnan(x) else BARS[min(len(BARS) - 1, int(x * (len(BARS) - 1) + 0.5))] for x in levels)


def _bucket_max(levels: Sequence[float]) -> float:
    numbers = [x for x in levels if not math.isnan(x)]
    return max(numbers) if numbers else math.nan


def _float(value: float) -> float:
    """A float for drawing; huge exact values become ±inf, undefined ones NaN."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        return math.nan


class SparkSampler:
    """A bounded sample of a sequence of any length, for :func:`sparkline`.

    It keeps at most ``2 * width`` buckets of consecutive values, each with
    its largest and smallest value; when full, neighbours merge and each
    bucket then covers twice as many values. Sequences up to ``2 * width``
    long are kept whole, so their sparkline is exactly ``sparkline(values)``.
    """

    def __init__(self, width: int = 60) -> None:
        self._capacity = 2 * width
        self._size = 1  # values per bucket
        self._buckets: list[list[float]] = []  # [max, min] of each bucket
        self._filling = 0  # values in the last bucket
        self.count = 0
        self.lowest = math.inf
        self.highest = -math.inf

    def add(self, value: float) -> None:
        number = _float(value)
        self.count += 1
        if not math.isnan(number):
            self.lowest = min(self.lowest, number)
            self.highest = max(self.highest, number)
        if self._buckets and self._filling < self._size:
            bucket = self._buckets[-1]
            bucket[0], bucket[1] = _nanmax(bucket[0], number), _nanmin(bucket[1], number)
            self._filling += 1
            return
        if len(self._buckets) == self._capacity:  # full: merge neighbours (the capacity is even)
            pairs = zip(self._buckets[0::2], self._buckets[1::2], strict=True)
            self._buckets = [[_nanmax(a[0], b[0]), _nanmin(a[1], b[1])] for a, b in pairs]
            self._size *= 2
        self._buckets.append([number, number])
        self._filling = 1

    def values(self, *, negate: bool = False) -> tuple[list[float], float]:
        """Each bucket's largest value (of −v with ``negate``), and the smallest value of the whole sequence."""
        if negate:
            return [-b[1] for b in self._buckets], -self.highest
        return [b[0] for b in self._buckets], self.lowest


def _nanmax(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else max(a, b)


def _nanmin(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else min(a, b)
