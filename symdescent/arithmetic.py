"""Number backends: the same loop over floats, exact SymPy numbers or D-digit mpmath floats.

The loop in :mod:`symdescent.run` is written over tuples and Python
operators, so it runs unchanged on any number type that has ``+ - * /``.
An :class:`Arithmetic` supplies what differs between number types:

``number(c)``
    a parsed SymPy constant (start value, learning rate) in this arithmetic;
``compile(problem)``
    ``value_and_grad(*x) -> [f, df/dx1, …]`` over these numbers;
``norm(*g)``
    ‖g‖, or a non-finite value when a component is not a finite real number;
``isfinite(v)``
    whether ``v`` is a finite real number;
``errors``
    the exceptions the compiled code raises where f is undefined;
``watch()``
    a fresh per-run callback ``watch(step, seconds, x) -> reason`` that asks
    the run to stop before it gets too slow (exact arithmetic only), or None.

Three are provided::

    FLOAT                      # Python floats and the math module (the default)
    Exact()                    # SymPy Rationals: 1/10 stays 1/10, 4/5 stays 4/5
    WorkingPrecision(50)       # mpmath floats with 50 significant digits

    make_arithmetic(exact=True)                 -> Exact()
    make_arithmetic(working_precision=50)       -> WorkingPrecision(50)

Decimal literals are exact decimals outside float arithmetic: ``0.1`` in the
function, the start point or the learning rate becomes 1/10 (exactly, or to D
digits), not the binary float nearest to 0.1.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from symdescent.errors import NUMERIC_ERRORS, InputError

if TYPE_CHECKING:
    import sympy as sp

    from symdescent.problem import Problem

# SymPy is imported only by the exact and mpmath arithmetics: a float run loaded from the cache
# (symdescent.warm) imports this module and must not pay for SymPy.

#: Exact arithmetic stops before a step would take longer than this many seconds.
EXACT_STEP_SECONDS = 1.0
#: Largest accepted ``--working-precision``.
MAX_WORKING_PRECISION = 100_000

Watch = Callable[[int, float, Sequence[Any]], str]


#: Beyond 2**this a D-digit value counts as infinite (floats stop at 2**1024).
MAX_MAGNITUDE_BITS = 1_000_000


class Arithmetic:
    """Floats and the ``math`` module: the fast default (see the module docstring for the interface)."""

    name = "float"
    digits: int | None = None
    errors: tuple[type[Exception], ...] = NUMERIC_ERRORS

    def number(self, value: sp.Expr) -> Any:
        return float(value)

    def prepare(self, problem: Problem) -> Problem:
        """The problem this arithmetic iterates on (decimal literals made exact outside floats)."""
        return problem

    def compile(self, problem: Problem) -> Callable[..., list[Any]]:
        return problem.value_and_grad

    norm = staticmethod(math.hypot)
    isfinite = staticmethod(math.isfinite)

    @staticmethod
    def approx(value: Any) -> float:
        """A float near ``value``, for the tolerance test (SymPy's own comparisons can take seconds)."""
        try:
            return float(value)
        except OverflowError:
            return math.inf

    def watch(self) -> Watch | None:
        return None

    def check_size(self, problem: Problem, x: Sequence[Any]) -> None:
        """Refuse a start point whose values would be too big to build (exact arithmetic only)."""

    def too_big(self, problem: Problem, x: Sequence[Any]) -> str:
        """Why f(x) would be too big to build (exact arithmetic only), or ''."""
        return ""

    def scope(self) -> Any:
        """A context manager in force while values are computed (mpmath's precision)."""
        return _NULL_SCOPE

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _NullScope:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NULL_SCOPE = _NullScope()
FLOAT = Arithmetic()


class Exact(Arithmetic):
    """Exact SymPy numbers: rationals stay rationals, ``sqrt(2)`` stays ``sqrt(2)``.

    The norm is exact too (``2*sqrt(5)``); the tolerance test compares it
    with the float tol. Exact numbers never overflow, but on non-quadratic
    functions their size explodes (digits triple each step on Rosenbrock),
    so :meth:`watch` stops the run before a step would take longer than
    ``step_seconds``.
    """

    name = "exact"
    errors = (*NUMERIC_ERRORS, ArithmeticError)

    def __init__(self, step_seconds: float = EXACT_STEP_SECONDS) -> None:
        self.step_seconds = step_seconds

    def number(self, value: sp.Expr) -> sp.Expr:
        return exact_decimals(as_sympy(value))

    def prepare(self, problem: Problem) -> Problem:
        return exact_problem(problem)

    def compile(self, problem: Problem) -> Callable[..., list[Any]]:
        import sympy as sp

        from symdescent.special import standard

        return sp.lambdify(
            list(problem.variables),
            [standard(problem.expr), *map(standard, problem.gradient)],
            modules=[{"Rational": sp.Rational, "Integer": sp.Integer, "sympy": sp}, "sympy"],
            printer=_exact_printer(),
            cse=True,
            dummify=True,
            docstring_limit=0,
        )

    @staticmethod
    def isfinite(value: Any) -> bool:
        import sympy as sp

        if isinstance(value, sp.Rational):
            return True
        if not isinstance(value, sp.Expr) or not value.is_number or value.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
            return False
        approx = value.evalf(30)
        return bool(approx.is_Float or approx.is_Rational)

    @classmethod
    def norm(cls, *g: Any) -> Any:
        import sympy as sp

        if not all(cls.isfinite(v) for v in g):
            return sp.nan
        return exact_sqrt(sp.Add(*[v * v for v in g]))

    def watch(self) -> Watch:
        """Predict the next step's time from this one's and how fast the numbers grow.

        For rationals the growth is the ratio of their sizes in bits (the cost of
        multiplying grows about as size**1.6); otherwise the ratio of the last two
        step times. The steps are timed in CPU time, so a busy machine does not
        stop a run whose numbers are not growing.
        """
        import sympy as sp

        budget = self.step_seconds
        previous = [0.0, 0.0]  # seconds, bits
        # An earlier exact run in this process leaves its steps in SymPy's cache: replayed, they look
        # nearly free, and the first step beyond them, seconds long, would not be foreseen.
        sp.core.cache.clear_cache()

        def watch(step: int, seconds: float, x: Sequence[Any]) -> str:
            last_seconds, last_bits = previous
            if all(isinstance(v, sp.Rational) for v in x):
                bits = float(max(int(v.p).bit_length() + int(v.q).bit_length() for v in x))
                growth = (bits / last_bits) ** 1.6 if last_bits > 0 else 1.0
            else:
                bits = 0.0
                growth = seconds / last_seconds if last_seconds > 0 else 1.0
            growth = min(max(growth, 1.0), 30.0)
            previous[:] = [seconds, bits]
            if 2 * seconds * growth <= budget:  # a margin: the growth of the cost is itself uneven
                return ""
            return (
                f"the exact numbers have grown to {size_of(x)} and the next step would take "
                f"about {seconds * growth:.2g} s"
            )

        return watch

    def check_size(self, problem: Problem, x: Sequence[Any]) -> None:
        from symdescent.budget import check_exact_evaluation

        check_exact_evaluation(problem.expr, x)

    def too_big(self, problem: Problem, x: Sequence[Any]) -> str:
        from symdescent.budget import BudgetError, check_exact_evaluation

        try:
            check_exact_evaluation(problem.expr, x, "the next iterate")
        except BudgetError as error:
            return error.message
        return ""

    def __repr__(self) -> str:
        return "Exact()"


class WorkingPrecision(Arithmetic):
    """mpmath floats with ``digits`` significant decimal digits for every value."""

    name = "mpmath"
    digits: int  # always set here (None only for arithmetics without a precision)

    def __init__(self, digits: int) -> None:
        if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= MAX_WORKING_PRECISION:
            raise InputError(
                f"working_precision must be a whole number from 1 to {MAX_WORKING_PRECISION:,}",
                parameter="working_precision",
            )
        import mpmath

        self.digits = digits
        self._mpmath = mpmath
        self.errors = (*NUMERIC_ERRORS, ArithmeticError)

    def scope(self) -> Any:
        return self._mpmath.workdps(self.digits)

    def number(self, value: sp.Expr) -> Any:
        exact = exact_decimals(as_sympy(value))
        with self.scope():
            return self._mpmath.mpmathify(exact.evalf(self.digits + 5)._to_mpmath(self._mpmath.mp.prec))

    def prepare(self, problem: Problem) -> Problem:
        return exact_problem(problem)

    def compile(self, problem: Problem) -> Callable[..., list[Any]]:
        import sympy as sp
        from sympy.printing.pycode import MpmathPrinter

        from symdescent.special import standard

        compiled = sp.lambdify(
            list(problem.variables),
            [standard(problem.expr), *map(standard, problem.gradient)],
            modules=[{"mpmath": self._mpmath}, "mpmath"],  # the printer writes mpmath.log(…)
            printer=MpmathPrinter,
            cse=True,
            dummify=True,
            docstring_limit=0,
        )
        scope = self.scope

        def value_and_grad(*x: Any) -> list[Any]:
            with scope():
                return [v if isinstance(v, self._mpmath.mpf) else _real_mpf(v, self._mpmath) for v in compiled(*x)]

        return value_and_grad

    def isfinite(self, value: Any) -> bool:
        # mpmath never overflows: a value beyond 2**MAX_MAGNITUDE_BITS counts as infinite, like a float
        # overflow, or a diverging run (x - 4x³ from 10) would square its digits' exponent for ever
        mp = self._mpmath
        return (
            isinstance(value, mp.mpf) and bool(mp.isfinite(value)) and (not value or mp.mag(value) < MAX_MAGNITUDE_BITS)
        )

    def norm(self, *g: Any) -> Any:
        mpmath = self._mpmath
        with self.scope():
            if not all(self.isfinite(v) for v in g):
                return mpmath.nan
            return mpmath.sqrt(mpmath.fsum(v * v for v in g))

    def __repr__(self) -> str:
        return f"WorkingPrecision({self.digits})"


def _real_mpf(value: Any, mpmath: Any) -> Any:
    """Numbers from constant parts of f come back as ints or mpc; anything not real becomes nan."""
    import sympy as sp

    if isinstance(value, int | float | sp.Rational):
        return mpmath.mpf(value) if not isinstance(value, sp.Rational) else mpmath.mpf(value.p) / value.q
    if isinstance(value, mpmath.mpc):
        return value.real if value.imag == 0 else mpmath.nan
    return mpmath.nan


@functools.cache
def _exact_printer() -> type:
    """The printer class for exact arithmetic (built on first use: it subclasses SymPy's)."""
    from sympy.printing.pycode import SymPyPrinter

    class _ExactPrinter(SymPyPrinter):
        """Python source over SymPy numbers that keeps ``1/2`` a Rational (the stock printer writes ``1/2``)."""

        def _print_Rational(self, expr: sp.Rational) -> str:
            return f"Rational({expr.p}, {expr.q})"

        def _print_Half(self, expr: sp.Rational) -> str:
            return "Rational(1, 2)"

        def _print_Integer(self, expr: sp.Integer) -> str:
            # a constant partial derivative (0 for a variable f does not use) stays a SymPy number, not an int
            return f"Integer({expr.p})"

        _print_Zero = _print_One = _print_NegativeOne = _print_Integer

        def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
            base = self.parenthesize(expr.base, 60)
            return f"{base}**({self._print(expr.exp)})"

    return _ExactPrinter


def make_arithmetic(*, exact: bool = False, working_precision: int | None = None) -> Arithmetic:
    """The arithmetic for ``--exact`` / ``--working-precision D`` (floats when neither)."""
    if not isinstance(exact, bool):
        raise InputError(f"exact must be True or False, not {exact!r}", parameter="exact")
    if exact and working_precision is not None:
        raise InputError("exact and working_precision exclude each other: choose one", parameter="exact")
    if exact:
        return Exact()
    if working_precision is not None:
        return WorkingPrecision(working_precision)
    return FLOAT


def exact_decimals(expr: sp.Expr) -> sp.Expr:
    """Decimal literals as exact rationals: ``0.1*x`` -> ``x/10``, ``1e-3`` -> ``1/1000``.

    A parsed ``Float`` keeps at least the literal's digits, so its decimal
    text is the literal (trailing zeros aside).
    """
    import sympy as sp

    floats = expr.atoms(sp.Float)
    if not floats:
        return expr
    return expr.xreplace({f: sp.nsimplify(f, rational=True) for f in floats})


def as_sympy(value: Any) -> sp.Expr:
    """A SymPy number from a SymPy number, an int or a float (never from text: that is the parser's job)."""
    import sympy as sp

    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, not {type(value).__name__}")
    return sp.Integer(value) if isinstance(value, int) else sp.Float(value)


def exact_problem(problem: Problem) -> Problem:
    """The problem with its decimal literals made exact (and its gradient with them)."""
    from dataclasses import replace  # here: a float run never needs it (importing it costs a warm run ~1 ms)

    import sympy as sp

    if not problem.expr.has(sp.Float) and not any(g.has(sp.Float) for g in problem.gradient):
        return problem
    # the gradient is derived again, lazily, from the exact expression
    return replace(
        problem,
        expr=exact_decimals(problem.expr),
        params={name: exact_decimals(v) for name, v in problem.params.items()},
    )


#: Above this many bits SymPy's sqrt would try to factor the number (seconds); write sqrt(p/q) as it is.
_SQRT_FACTOR_BITS = 128


def exact_sqrt(value: sp.Expr) -> sp.Expr:
    """√value, simplified like SymPy does (``sqrt(20)`` -> ``2*sqrt(5)``) only while that is cheap."""
    import sympy as sp
    from sympy import integer_nthroot

    if isinstance(value, sp.Rational) and value >= 0:
        p, q = int(value.p), int(value.q)
        root_p, exact_p = integer_nthroot(p, 2)
        root_q, exact_q = integer_nthroot(q, 2)
        if exact_p and exact_q:
            return sp.Rational(root_p, root_q)
        if max(p.bit_length(), q.bit_length()) > _SQRT_FACTOR_BITS:
            return sp.Pow(value, sp.S.Half, evaluate=False)
    return sp.sqrt(value)


def size_of(x: Sequence[Any]) -> str:
    """How big exact values are, for messages: ``12,345 digits``."""
    import sympy as sp

    if all(isinstance(v, sp.Rational) for v in x):
        bits = max(int(v.p).bit_length() + int(v.q).bit_length() for v in x)
        return f"about {round(bits * math.log10(2)):,} digits"
    nodes = max(sum(1 for _ in sp.preorder_traversal(v)) for v in x)
    return f"expressions of {nodes:,} parts"


@contextmanager
def unlimited_int_digits() -> Iterator[None]:
    """Allow ``str`` of integers with more than 4,300 digits (Python's default guard) for a while."""
    getter = getattr(sys, "get_int_max_str_digits", None)
    if getter is None:
        yield
        return
    old = getter()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(old)
