"""Line searches: given a descent direction d at x, choose the step length α.

Each is a piece whose input updates are the direction d and whose output is
α·d. They read ``value``, ``grad`` and ``value_fn`` (or
``value_and_grad_fn``) from the loop's extra arguments, and report the
chosen α and the number of evaluations they made in their state's ``info``.

- :func:`scale_by_backtracking` — Armijo: the first α = α₀, α₀/2, α₀/4, …
  with f(x + αd) ≤ f(x) + c₁ α ∇f(x)ᵀd (Nocedal & Wright, Algorithm 3.1).
- :func:`scale_by_strong_wolfe` — bracketing and zoom until also
  |∇f(x + αd)ᵀd| ≤ c₂ |∇f(x)ᵀd| (Nocedal & Wright, Algorithms 3.5 and 3.6).
- :func:`scale_by_exact_line` — the α minimising φ(α) = f(x + αd): the smallest
  positive root of φ'(α) = 0, from a polynomial in α that SymPy derives once
  when f is a polynomial; a numeric 1-D minimisation otherwise.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from symdescent.optimizers.base import Transform, Vector, axpy, dot, times

if TYPE_CHECKING:
    import sympy as sp


class LineSearchState(NamedTuple):
    """The last step length and slope (to guess the next α) and what the last search did."""

    alpha: float
    slope: float
    info: dict[str, Any] | None


def _first(x: Vector) -> LineSearchState:
    return LineSearchState(math.nan, math.nan, None)


# -- Armijo backtracking ----------------------------------------------------------------


def armijo(
    phi: Callable[[float], float],
    f0: float,
    slope: float,
    initial: float,
    c1: float = 1e-4,
    shrink: float = 0.5,
    max_halvings: int = 60,
) -> tuple[float, int, bool]:
    """The first α in α₀, α₀·shrink, … with sufficient decrease; ``(α, f evaluations, satisfied)``.

    ``phi(α)`` is f at x + α·d: every back-end gives its own (tuples here, numpy arrays in
    :mod:`symdescent.vectors.optim`), so that the rule itself is written once.
    """
    alpha = initial
    for evaluations in range(1, max_halvings + 1):
        if phi(alpha) <= f0 + c1 * alpha * slope:
            return alpha, evaluations, True
        alpha *= shrink
    return alpha / shrink, max_halvings, False


def scale_by_backtracking(initial: float = 1.0, c1: float = 1e-4, shrink: float = 0.5) -> Transform:
    """Armijo backtracking from α₀ = ``initial``, halving."""

    def update(d: Vector, state: LineSearchState, x: Vector, **extra: Any) -> tuple[Vector, LineSearchState]:
        slope = dot(extra["grad"], d)
        value_fn = extra["value_fn"]
        alpha, evaluations, ok = armijo(lambda a: value_fn(axpy(a, d, x)), extra["value"], slope, initial, c1, shrink)
        info: dict[str, Any] = {"alpha": alpha, "nfev": evaluations}
        if not ok:
            info["armijo"] = False
        return times(alpha, d), LineSearchState(alpha, slope, info)

    return Transform(_first, update)


# -- strong Wolfe ------------------------------------------------------------------------


def strong_wolfe(
    value_and_grad_fn: Callable[[Vector], tuple[float, Vector]],
    x: Vector,
    d: Vector,
    f0: float,
    slope0: float,
    initial: float,
    c1: float = 1e-4,
    c2: float = 0.1,
    max_evaluations: int = 40,
) -> tuple[float, int, bool]:
    """A step satisfying the strong Wolfe conditions; ``(α, evaluations, satisfied)``.

    Nocedal & Wright, Algorithm 3.5 (bracketing, doubling α) and 3.6 (zoom,
    by safeguarded cubic interpolation).
    """

    def phi(alpha: float) -> tuple[float, float]:
        f, g = value_and_grad_fn(axpy(alpha, d, x))
        return f, (dot(g, d) if math.isfinite(f) else math.nan)

    return wolfe_search(phi, f0, slope0, initial, c1, c2, max_evaluations)


def wolfe_search(
    line: Callable[[float], tuple[float, float]],
    f0: float,
    slope0: float,
    initial: float,
    c1: float = 1e-4,
    c2: float = 0.1,
    max_evaluations: int = 40,
) -> tuple[float, int, bool]:
    """The strong Wolfe search along any line: ``line(α)`` is (f, directional slope) at x + αd.

    Kept apart from the vectors it moves along, so tuples of floats and numpy
    arrays share one implementation; ``(α, evaluations, satisfied)``.
    """
    count = 0

    def phi(alpha: float) -> tuple[float, float]:
        nonlocal count
        count += 1
        return line(alpha)

    def zoom(lo: float, f_lo: float, s_lo: float, hi: float, f_hi: float, s_hi: float) -> tuple[float, bool]:
        while count < max_evaluations:
            alpha = _cubic_minimiser(lo, f_lo, s_lo, hi, f_hi, s_hi)
            f, s = phi(alpha)
            if f > f0 + c1 * alpha * slope0 or f >= f_lo or not math.isfinite(s):
                hi, f_hi, s_hi = alpha, f, s
                continue
            if abs(s) <= -c2 * slope0:
                return alpha, True
            if s * (hi - lo) >= 0:
                hi, f_hi, s_hi = lo, f_lo, s_lo
            lo, f_lo, s_lo = alpha, f, s
        return lo, False

    previous, f_previous, s_previous = 0.0, f0, slope0
    alpha = initial
    while count < max_evaluations:
        f, s = phi(alpha)
        if f > f0 + c1 * alpha * slope0 or (previous > 0 and f >= f_previous) or not math.isfinite(s):
            found, ok = zoom(previous, f_previous, s_previous, alpha, f, s)
            return found, count, ok
        if abs(s) <= -c2 * slope0:
            return alpha, count, True
        if s >= 0:
            found, ok = zoom(alpha, f, s, previous, f_previous, s_previous)
            return found, count, ok
        previous, f_previous, s_previous = alpha, f, s
        alpha *= 2
    return previous, count, False


def _cubic_minimiser(a: float, fa: float, sa: float, b: float, fb: float, sb: float) -> float:
    """The minimiser of the cubic through (a, fa, sa) and (b, fb, sb), kept inside the interval's middle 80 %.

    Nocedal & Wright, equation (3.59); bisection when the cubic has no minimiser there.
    """
    low, high = min(a, b), max(a, b)
    width = high - low
    midpoint = (a + b) / 2
    if not all(map(math.isfinite, (fa, sa, fb, sb))) or width == 0:
        return midpoint
    d1 = sa + sb - 3 * (fa - fb) / (a - b)
    radicand = d1 * d1 - sa * sb
    if radicand < 0:
        return midpoint
    d2 = math.copysign(math.sqrt(radicand), b - a)
    denominator = sb - sa + 2 * d2
    if denominator == 0:
        return midpoint
    alpha = b - (b - a) * (sb + d2 - d1) / denominator
    if not (low + 0.1 * width <= alpha <= high - 0.1 * width):
        return midpoint
    return alpha


def scale_by_strong_wolfe(c1: float = 1e-4, c2: float = 0.1, *, from_one: bool = False) -> Transform:
    """A strong-Wolfe line search; the first trial α reuses the last step's αₖ₋₁ ∇fₖ₋₁ᵀdₖ₋₁ / ∇fₖᵀdₖ.

    ``from_one``: after the first step try α = 1 (a quasi-Newton direction carries its own scale).
    """

    def update(d: Vector, state: LineSearchState, x: Vector, **extra: Any) -> tuple[Vector, LineSearchState]:
        slope = dot(extra["grad"], d)
        if from_one and math.isfinite(state.alpha):
            initial = 1.0
        elif math.isfinite(state.alpha) and slope < 0:
            initial = min(1.0, 1.01 * state.alpha * state.slope / slope)
        else:
            initial = min(1.0, 1.0 / max(math.hypot(*d), 1e-300))
        alpha, evaluations, ok = strong_wolfe(extra["value_and_grad_fn"], x, d, extra["value"], slope, initial, c1, c2)
        info: dict[str, Any] = {"alpha": alpha, "nfev": evaluations, "ngev": evaluations}
        if not ok:
            info["wolfe"] = False
        return times(alpha, d), LineSearchState(alpha, slope, info)

    return Transform(_first, update)


# -- exact line search ----------------------------------------------------------------------

#: Derive φ'(α) symbolically only for polynomials this small: beyond, the expansion costs more than it saves.
MAX_SYMBOLIC_VARIABLES = 12
MAX_SYMBOLIC_DEGREE = 8
#: ... and when expanding f, and then f(x + αd), makes at most this many terms (estimated before expanding).
MAX_SYMBOLIC_TERMS = 2000


@functools.lru_cache(maxsize=16)
def ray_derivative(expression: sp.Expr, variables: tuple[sp.Symbol, ...]) -> Callable[..., list[float]] | None:
    """Coefficients of φ'(α) = d/dα f(x + α d) as one float function of (x, d), lowest degree first.

    Derived once per function with SymPy when f is a small polynomial; ``None`` otherwise.

    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> ray_derivative(x**2, (x,))(3.0, -1.0)   # φ(α) = (3 − α)², φ'(α) = −6 + 2α
    [-6.0, 2.0]
    """
    import sympy as sp

    from symdescent.compile import compile_functions

    alpha = sp.Symbol("alpha", real=True)
    n = len(variables)
    if n > MAX_SYMBOLIC_VARIABLES or not expression.is_polynomial(*variables):
        return None
    if _expanded_terms(expression, MAX_SYMBOLIC_TERMS) > MAX_SYMBOLIC_TERMS:
        return None
    polynomial = sp.Poly(expression, *variables)
    if polynomial.total_degree() > MAX_SYMBOLIC_DEGREE:
        return None
    # x = p + αd turns the monomial Π xᵥ^eᵥ into Π (eᵥ + 1) terms
    if sum(math.prod(e + 1 for e in monomial) for monomial in polynomial.monoms()) > MAX_SYMBOLIC_TERMS:
        return None
    points = sp.symbols(f"p0:{n}", real=True)
    directions = sp.symbols(f"d0:{n}", real=True)
    ray = {v: p + alpha * dv for v, p, dv in zip(variables, points, directions, strict=True)}
    derivative = sp.diff(expression.xreplace(ray), alpha)
    coefficients = sp.Poly(sp.expand(derivative), alpha).all_coeffs()[::-1]
    return compile_functions(list(coefficients), [*points, *directions])


def _expanded_terms(expression: sp.Expr, limit: int) -> int:
    """An upper bound on the number of terms of ``expand(expression)``, without expanding; stops past ``limit``."""
    from math import comb

    if expression.is_Add:
        total = 0
        for arg in expression.args:
            total += _expanded_terms(arg, limit)
            if total > limit:
                break
        return total
    if expression.is_Mul:
        product = 1
        for arg in expression.args:
            product *= _expanded_terms(arg, limit)
            if product > limit:
                break
        return product
    if expression.is_Pow and expression.exp.is_Integer and expression.exp > 0:
        base = _expanded_terms(expression.base, limit)
        exponent = int(expression.exp)
        # monomials of degree ``exponent`` in ``base`` terms (``comb`` of huge numbers would be slow)
        return limit + 1 if base > limit or exponent > limit else min(comb(base + exponent - 1, exponent), limit + 1)
    return 1


def smallest_positive_root(coefficients: Sequence[float]) -> float | None:
    """The smallest α > 0 where c₀ + c₁α + c₂α² + … crosses from negative to positive, or ``None``.

    That is the first minimum of φ along the ray when these are φ'(α)'s
    coefficients and φ'(0) < 0. The critical points of the polynomial (the
    real roots of its derivative, found the same way) split (0, bound) into
    pieces on which it is monotone; the first piece whose end is not
    negative holds the root, found by bisection to the last bit.

    >>> smallest_positive_root([-6.0, 2.0])
    3.0
    """
    p = _trim(coefficients)
    if len(p) < 2 or not all(map(math.isfinite, p)) or p[0] >= 0:
        return None
    bound = 1 + max(abs(c / p[-1]) for c in p[:-1])  # Cauchy: every root has |α| < bound
    cuts = [c for c in _real_roots(_derivative(p)) if 0 < c < bound]
    low = 0.0
    for high in [*cuts, bound]:
        if _horner(p, high) > 0:  # a touch (double root) is no minimum: φ' must turn positive
            return _bisect(p, low, high)
        low = high
    return None


def _trim(coefficients: Sequence[float]) -> list[float]:
    p = list(coefficients)
    while p and p[-1] == 0:
        p.pop()
    return p


def _derivative(p: Sequence[float]) -> list[float]:
    return [k * c for k, c in enumerate(p)][1:]


def _horner(p: Sequence[float], t: float) -> float:
    result = 0.0
    for c in reversed(p):
        result = result * t + c
    return result


def _bisect(p: Sequence[float], low: float, high: float) -> float:
    """The point where p turns from negative (at low) to non-negative (at high)."""
    while True:
        middle = (low + high) / 2
        if not low < middle < high:
            return high
        if _horner(p, middle) < 0:
            low = middle
        else:
            high = middle


def _real_roots(coefficients: Sequence[float]) -> list[float]:
    """All real roots, sorted (double roots once or twice), by recursion on the derivative."""
    p = _trim(coefficients)
    if len(p) < 2:
        return []
    if len(p) == 2:
        return [-p[0] / p[1]]
    if len(p) == 3:
        c, b, a = p
        discriminant = b * b - 4 * a * c
        if discriminant < 0:
            return []
        q = -(b + math.copysign(math.sqrt(discriminant), b)) / 2  # no cancellation (Numerical Recipes 5.6)
        return sorted([q / a, c / q] if q != 0 else [0.0, 0.0])
    bound = 1 + max(abs(c / p[-1]) for c in p[:-1])
    points = [-bound, *(c for c in _real_roots(_derivative(p)) if -bound < c < bound), bound]
    roots = []
    for a, b in itertools.pairwise(points):
        fa, fb = _horner(p, a), _horner(p, b)
        if fa == 0:
            roots.append(a)
        elif fa * fb < 0:
            roots.append(_bisect(p, a, b) if fa < 0 else _bisect([-c for c in p], a, b))
    return roots


def golden_section(phi: Callable[[float], float], initial: float, max_evaluations: int = 200) -> tuple[float, int]:
    """Minimise φ on α > 0 numerically: bracket a minimum by doubling from ``initial``, then golden-section search."""
    count = 0

    def value(alpha: float) -> float:
        nonlocal count
        count += 1
        return phi(alpha)

    f0 = value(0.0)
    a, b = 0.0, initial
    fb = value(b)
    while fb >= f0 and b > 1e-20 and count < max_evaluations // 4:
        b /= 2
        fb = value(b)
    if fb >= f0:
        return 0.0, count
    c, fc = 2 * b, value(2 * b)
    while fc < fb and count < max_evaluations // 2:
        a, b, fb = b, c, fc
        c, fc = 2 * c, value(2 * c)
    invphi = (math.sqrt(5) - 1) / 2
    lo, hi = a, c
    m1, m2 = hi - invphi * (hi - lo), lo + invphi * (hi - lo)
    f1, f2 = value(m1), value(m2)
    while hi - lo > 1e-12 * (1 + abs(hi)) and count < max_evaluations:
        if f1 < f2:
            hi, m2, f2 = m2, m1, f1
            m1 = hi - invphi * (hi - lo)
            f1 = value(m1)
        else:
            lo, m1, f1 = m1, m2, f2
            m2 = lo + invphi * (hi - lo)
            f2 = value(m2)
    return (m1 if f1 < f2 else m2), count


def scale_by_exact_line(initial: float = 1.0) -> Transform:
    """The step length that minimises f along the ray: symbolic when f is a polynomial, numeric otherwise."""

    def update(d: Vector, state: LineSearchState, x: Vector, **extra: Any) -> tuple[Vector, LineSearchState]:
        expression, variables = extra["symbolic"]()
        coefficients_at = ray_derivative(expression, tuple(variables))
        alpha = None
        if coefficients_at is not None:
            alpha = smallest_positive_root(coefficients_at(*x, *d))
        if alpha is not None:
            info: dict[str, Any] = {"alpha": alpha, "line": "symbolic"}
        else:
            value_fn = extra["value_fn"]
            alpha, evaluations = golden_section(lambda a: value_fn(axpy(a, d, x)), initial)
            info = {"alpha": alpha, "line": "numeric", "nfev": evaluations}
        return times(alpha, d), LineSearchState(alpha, math.nan, info)

    return Transform(_first, update)
