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


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """``values`` as at most ``width`` block characters, on a log scale of ``v − min v``."""
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    finite = [v for v in values if math.isfinite(v)]
    lowest = min(finite, default=0.0)
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
