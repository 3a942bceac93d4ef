"""What one input may cost, and the three means that hold every command to it.

The budget (documented in SECURITY.md; the CLI holds every command to it):

=====================  =============================================================
input                  at most :data:`MAX_LENGTH` characters (about 1 MB)
exact constants        magnitude between 10**-330 and 10**330 (:data:`MAX_BITS`),
                       literals of at most :data:`MAX_DIGITS` digits
exact evaluation       at most :data:`MAX_EXACT_BITS` bits per number it builds
time                   :data:`SECONDS` for parse + gradient + compile (and for the
                       symbolic work of explain and analyze); the run itself is
                       bounded by ``--steps`` and, in exact arithmetic, per step
memory                 under :data:`MEMORY_BYTES` (follows from the three above)
=====================  =============================================================

The means, each used where the work happens:

1. **Sizes predicted before they are built.** A power of constants is refused
   from ``log2|base| * exponent`` (:func:`check_power`), never by building it
   and looking; a point substituted exactly into f is refused from f's degree
   times the point's size in bits (:func:`check_exact_evaluation`). So no single
   big-number operation (a C call that Ctrl-C cannot interrupt) runs long.
2. **A deadline checked inside the long loops** (:func:`check`, :func:`tick`):
   per token while parsing, per term while differentiating, per expression
   while compiling and explaining. :func:`time_limit` sets it; without one
   (library use) the checks cost one comparison and never fire.
3. **Ctrl-C** is heard because every loop above is Python code running
   between such checks, and every C call inside them is small by (1).

Each refusal is a :class:`BudgetError`: an input error (exit 2) whose one-line
message names the limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from symdescent import settings
from symdescent.errors import InputError

#: Longest accepted function text, in characters (about a megabyte).
MAX_LENGTH = 1_000_000
#: Largest (and, as 1/that, smallest) magnitude of an exact constant, in bits: 2**1100 ≈ 10**331.
MAX_BITS = 1100
#: Longest accepted number literal, in significant digits.
MAX_DIGITS = 400
#: Largest number exact evaluation may build at a point, in bits (a 300,000-digit rational).
MAX_EXACT_BITS = 1_000_000
#: Largest f + ∇f handed to one LLVM compile, in terms: the compile is one C++ call that Ctrl-C
#: cannot interrupt, and its time grows faster than the size (about 5 s at 20,000 on 2 cores).
MAX_COMPILE_TERMS = 24_000
#: Largest shift k in an index sum's x[i+k]: the gradient has a boundary case for each of the
#: first and last k entries, and ``explain`` and ``grad`` show every one of them.
MAX_SHIFT = 1000
#: The promise: every command answers or refuses within this many seconds before its steps.
ANSWER_SECONDS = 10.0
#: The deadline the checks enforce, for parse + gradient + compile and explain's and analyze's
#: symbolic work: the rest of ANSWER_SECONDS is start-up and the work between two checks.
#: SYMDESCENT_TIME_LIMIT (seconds) lowers it, e.g. for tests or a shared server; it never raises it.
SECONDS = 8.0
SECONDS = min(SECONDS, settings.time_limit() or SECONDS)
#: The memory the budget is designed to stay under (measured by the hostile tests).
MEMORY_BYTES = 2 * 1024**3

_LOG2_10 = math.log2(10)


class BudgetError(InputError):
    """An input that would cost more than the budget allows: refused, exit 2, the limit named."""


def range_text() -> str:
    """The accepted range of constants, for messages."""
    return "constants must lie between about 10**-330 and 10**330"


def _decimal(bits: float) -> int:
    return int(bits / _LOG2_10)


# -- 1. sizes predicted before they are built ---------------------------------------------


def log2_magnitude(value: Any) -> float:
    """log2 |value| of a constant SymPy expression, without building anything big (0 for 0).

    Exact numbers are read from their parts (bit lengths, a Float's binary
    exponent); anything else (``sqrt(2)``, ``pi``, ``sin(1)``) is evaluated
    to 15 digits, which is cheap because its parts passed these checks.
    """
    import sympy as sp

    if value.is_Integer:
        return math.log2(abs(int(value))) if value else 0.0
    if value.is_Rational:
        return math.log2(abs(int(value.p))) - math.log2(int(value.q))
    if value.is_Float:
        _, mantissa, exponent, _ = value._mpf_
        if not mantissa:
            return 0.0 if exponent == 0 else math.inf  # 0.0 is (0, 0, 0, 0); inf and nan have exponents
        return math.log2(mantissa) + exponent
    approx = sp.N(value, 15)
    if not approx.is_Number:
        return 0.0  # complex or undefined: the callers' other checks refuse it with a better message
    return log2_magnitude(approx) if approx.is_Float or approx.is_Rational else 0.0


def size_bits(value: Any) -> int:
    """Bits an exact number occupies (numerator and denominator together)."""
    if value.is_Rational:
        return int(value.p).bit_length() + int(value.q).bit_length()
    return 0


def check_constant(value: Any, what: str) -> None:
    """Refuse an exact constant outside the range 10**-330 .. 10**330 (or too big to store)."""
    if not value.is_number or value.is_zero:
        return
    bits = log2_magnitude(value)
    if bits > MAX_BITS:
        raise BudgetError(f"number too large: {what} is about 10**{_exponent_text(bits / _LOG2_10)} ({range_text()})")
    if bits < -MAX_BITS:
        raise BudgetError(f"number too small: {what} is about 10**-{_exponent_text(-bits / _LOG2_10)} ({range_text()})")
    if size_bits(value) > 2 * MAX_BITS + 2:
        raise BudgetError(f"number too long: {what} has {size_bits(value):,} bits (the limit is {2 * MAX_BITS:,})")


def check_power(base: Any, exponent: Any, what: str) -> None:
    """Refuse ``base**exponent`` BEFORE SymPy builds it, when its constant part would be out of range.

    Covers every constant base (integers, rationals, floats, ``sqrt(2)``,
    ``pi``, ``E``…) and also the constant factor of a product base: SymPy
    turns ``(2*x)**n`` into ``2**n * x**n``. Only numeric exponents make
    SymPy build numbers; others stay symbolic and are checked once built.
    """
    if not exponent.is_number:
        return
    if base.is_Mul:
        constant = [factor for factor in base.args if factor.is_number]
        if not constant:
            return
        import sympy as sp

        base = sp.Mul(*constant)
    if not base.is_number or base.is_zero:
        return
    scale = log2_magnitude(base)
    if scale == 0.0:
        return  # ±1 (or a size SymPy keeps symbolic)
    power = abs(float_exponent(exponent))
    if power * abs(scale) > MAX_BITS:
        size = "large" if (scale > 0) == (_sign(exponent) > 0) else "small"
        digits = power * abs(scale) / _LOG2_10
        shown = f"10**{'-' if size == 'small' else ''}{_exponent_text(digits)}"
        raise BudgetError(f"number too {size}: {what} is about {shown} ({range_text()})")


def float_exponent(exponent: Any) -> float:
    """An exponent as a float, +-inf when it is beyond floats (10**400 is, and counts as huge)."""
    try:
        return float(exponent)
    except (OverflowError, TypeError):
        return math.inf


def _sign(value: Any) -> int:
    return -1 if value.is_negative else 1


def _exponent_text(digits: float) -> str:
    if not math.isfinite(digits):
        return "(more than 10**308)"
    return f"{int(digits):,}" if digits < 1e15 else f"(10**{int(math.log10(digits))})"


def literal_exponent(text: str) -> int:
    """The decimal exponent a number literal stands for (``"12.5e-3"`` -> -2), read from its digits."""
    mantissa, _, exponent = text.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return 0
    leading = len(whole.lstrip("0")) - 1 if whole.lstrip("0") else -(len(fraction) - len(fraction.lstrip("0")) + 1)
    return leading + (int(exponent) if exponent else 0)


def degree(expr: Any, limit: float = math.inf) -> float:
    """An upper bound on how many times exact evaluation multiplies a point's numbers together.

    ``x**3*y`` -> 4, ``(x**30 + 1)**30`` -> 900, ``sin(x)`` -> 1 (SymPy keeps
    ``sin(1/3)`` symbolic). Walks each distinct subexpression once; stops
    counting at ``limit``.
    """
    memo: dict[Any, float] = {}

    def walk(node: Any) -> float:
        if node in memo:
            return memo[node]
        if not node.free_symbols:
            result = 0.0
        elif node.is_Symbol:
            result = 1.0
        elif node.is_Pow and node.exp.is_number:
            result = walk(node.base) * abs(float_exponent(node.exp))
        elif node.is_Mul:
            result = sum(walk(arg) for arg in node.args)
        else:
            result = max((walk(arg) for arg in node.args), default=0.0)
        memo[node] = result = min(result, limit)
        return result

    return walk(expr)


def check_exact_evaluation(expr: Any, point: Sequence[Any], what: str = "the start point") -> None:
    """Refuse evaluating ``expr`` exactly at ``point`` when the numbers would exceed :data:`MAX_EXACT_BITS`.

    The predicted size is f's degree times the size of the point's largest
    coordinate in bits: ``(1/3)**(10**250)`` is refused at once instead of
    being built for minutes in one uninterruptible C call.
    """
    bits = _point_bits(point)
    if bits == 0.0:
        return
    predicted = degree(expr, limit=2.0 * MAX_EXACT_BITS) * bits
    if predicted > MAX_EXACT_BITS:
        raise BudgetError(
            f"exact numbers too large: f at {what} would have about {_exponent_text(predicted * 0.30103)} digits "
            f"(exact arithmetic is limited to {_decimal(MAX_EXACT_BITS):,} digits per number)",
            hint="use floats instead of exact arithmetic, or a start point with fewer digits",
        )


def check_compile_size(terms: int) -> None:
    """Refuse an LLVM compile of more than :data:`MAX_COMPILE_TERMS` terms before it starts."""
    check("compiling the function")
    if terms > MAX_COMPILE_TERMS:
        raise BudgetError(
            f"the function is too large to compile within the time limit ({terms:,} terms in f and its gradient; "
            f"the limit is {MAX_COMPILE_TERMS:,})",
            hint="fewer variables or terms; or fix some variables as parameters",
        )


#: The last point measured and its largest growth in bits: explain checks each of n update rules at one
#: point, and measuring the point's n coordinates each time made that n² (minutes at 3,000 variables).
_measured: tuple[tuple[Any, ...] | None, float] = (None, 0.0)


def _point_bits(point: Sequence[Any]) -> float:
    """The largest :func:`_growth_bits` of the point's coordinates (remembered for the last tuple)."""
    global _measured
    if isinstance(point, tuple) and _measured[0] is point:
        return _measured[1]
    bits = max((_growth_bits(value) for value in point), default=0.0)
    if isinstance(point, tuple):
        _measured = (point, bits)  # kept alive with its figure, so its id cannot be reused meanwhile
    return bits


def _growth_bits(value: Any) -> float:
    """How many bits each multiplication by ``value`` adds to an exact result (0 for 0 and ±1)."""
    if not getattr(value, "is_number", False) or value.is_zero:
        return 0.0
    if value.is_Rational:
        return math.log2(abs(int(value.p))) + math.log2(int(value.q))
    return max(abs(log2_magnitude(value)), 1.0)


# -- 2. a deadline checked inside the long loops --------------------------------------------

#: The deadline runs on CPU time: the budget bounds the work an input causes, so a busy machine
#: does not refuse an input that an idle one answers (the wall time is then longer, not the work).
_clock = time.process_time
_deadline = math.inf
_limit = SECONDS
_counter = 0


@contextmanager
def time_limit(seconds: float | None = None) -> Iterator[None]:
    """Make :func:`check` refuse work once ``seconds`` have passed.

    Without ``seconds``: :data:`SECONDS`, unless a limit is in force already
    (a stage inside a command keeps the command's limit). With ``seconds``:
    the earlier of the two deadlines.
    """
    global _deadline, _limit
    previous = _deadline, _limit
    if seconds is None and _deadline != math.inf:
        yield
        return
    seconds = SECONDS if seconds is None else seconds
    if _clock() + seconds < _deadline:
        _deadline, _limit = _clock() + seconds, seconds
    try:
        yield
    finally:
        _deadline, _limit = previous


@contextmanager
def paused() -> Iterator[None]:
    """The steps of a run: their time does not count against the deadline (``--steps`` bounds them).

    The symbolic work after the steps (a vector gradient's cases for the result) keeps what was left
    of the budget when the steps began, instead of finding the deadline long past.
    """
    global _deadline
    if _deadline == math.inf:
        yield
        return
    saved, started = _deadline, _clock()
    _deadline = math.inf
    try:
        yield
    finally:
        _deadline = saved + (_clock() - started)


def remaining() -> float:
    """Seconds left before the deadline (infinite without one): numeric work that can stop early sizes itself by it."""
    return max(0.0, _deadline - _clock())


def check(stage: str) -> None:
    """Raise :class:`BudgetError` if the deadline has passed; ``stage`` says what was being done."""
    if _clock() > _deadline:
        raise BudgetError(
            f"{stage} takes longer than the time limit ({_limit:g} s)",
            hint="simplify the function, or split it into smaller pieces",
        )


def tick(stage: str, every: int = 256) -> None:
    """:func:`check`, but only every ``every`` calls: cheap enough for a per-token loop."""
    global _counter
    _counter += 1
    if _counter >= every:
        _counter = 0
        check(stage)
