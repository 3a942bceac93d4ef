"""What ``symdescent analyze`` computes: the Hessian, critical points and their kinds, convexity, step sizes.

``analyze(problem, timeout=5)`` returns an :class:`Analysis`::

    a = analyze(make_problem("(x+2*y-7)**2 + (2*x+y-5)**2"))
    a.hessian            # ((10, 8), (8, 10))
    a.critical_points    # (CriticalPoint(point=(1, 3), kind='minimum', f=0, numeric=False, …),)
    a.convex, a.lipschitz, a.max_stable_lr, a.best_lr    # True, 18, 1/9, 1/10

How the critical points are found:

1. SymPy's ``solve(∇f = 0)`` runs in a child process that is killed after
   ``timeout`` seconds (SymPy cannot be interrupted from a thread). Its
   solutions are exact SymPy numbers (``numeric=False``). For a polynomial
   gradient the list is complete; a family of critical points (``x = y``)
   appears once, written with the free variable.
2. When SymPy fails, runs out of time, or the gradient is not polynomial
   (so its list may miss some, as for periodic functions), Newton's method on
   ∇f = 0 starts from a grid of seeds in [−3, 3]ⁿ (:data:`SEED_VALUES`);
   the roots it finds within [−10, 10]ⁿ that are not already known are
   added, deduplicated, as floats with ``numeric=True``.

Each point is a minimum, maximum or saddle by the signs of the Hessian's
eigenvalues there, and ``degenerate`` when one of them is zero (the test says
nothing). ``convex`` is True when the Hessian is provably positive
semidefinite everywhere (a constant PSD Hessian, or principal minors SymPy can
show are ≥ 0), False when a negative eigenvalue turns up (at a critical point
or at a seed), and None otherwise. For a constant Hessian with eigenvalues
λ₁ ≤ … ≤ λₙ ≥ 0: ``lipschitz`` L = λ_max, ``max_stable_lr`` = 2/L and
``best_lr`` = 2/(λ_min + λ_max), λ_min being the smallest nonzero eigenvalue
(flat directions do not move). For a non-constant Hessian, each minimum has
the same two step sizes for the quadratic that approximates f near it
(:attr:`CriticalPoint.local_step_sizes`). Decimal literals count as exact
decimals.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from symdescent import budget
from symdescent.arithmetic import exact_problem
from symdescent.errors import NUMERIC_ERRORS, InputError
from symdescent.hessian import eigenvalues as matrix_eigenvalues
from symdescent.hessian import kind as _kind
from symdescent.hessian import numeric_eigenvalues as _eigenvalues
from symdescent.hessian import solve_linear as _solve_linear
from symdescent.hessian import step_sizes
from symdescent.problem import Problem

#: Default seconds SymPy may spend solving ∇f = 0 (``--timeout``).
DEFAULT_TIMEOUT = 5.0
#: Newton starts from every point of this grid in each coordinate (n ≤ 3) …
SEED_VALUES = (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0)
#: … or from this many pseudo-random points of [−3, 3]ⁿ (n > 3).
RANDOM_SEEDS = 100
#: ``analyze`` refuses functions of more variables (the Hessian has n² entries, each seed costs n³).
MAX_VARIABLES = 10
#: Numeric critical points are reported within [−BOX, BOX]ⁿ.
BOX = 10.0
#: At most this many critical points are listed.
MAX_POINTS = 50


@dataclass(frozen=True)
class CriticalPoint:
    """A point where ∇f = 0: exact SymPy numbers, or floats when ``numeric``."""

    point: tuple[Any, ...]
    kind: str
    f: Any
    numeric: bool
    eigenvalues: tuple[float, ...] = ()

    @property
    def local_step_sizes(self) -> tuple[float, float] | None:
        """Near a minimum, f is about quadratic: (2/λ_max, 2/(λ_min + λ_max)) of the Hessian there, as floats."""
        if self.kind != "minimum" or not self.eigenvalues:
            return None
        sizes = step_sizes(self.eigenvalues)
        return sizes.max_stable_lr, sizes.best_lr


@dataclass(frozen=True)
class Analysis:
    """Everything ``symdescent analyze`` reports, for scalar variables and for named arrays alike.

    Values are exact SymPy numbers where they were found exactly, floats where computed
    (from data, or numerically); None where unknown.
    """

    problem: Any  # a Problem (scalar variables), a VectorProblem, or a vector Formula without sizes
    hessian: tuple[tuple[Any, ...], ...] | None  # formulas (scalars) or numbers (arrays, small); None: not listed
    critical_points: tuple[CriticalPoint, ...] | None  # None: not searched
    search: str  # "symbolic", "symbolic+numeric", "numeric", "linear" (a quadratic's one point) or "none"
    complete: bool  # True when the critical points are known to be all of them
    convex: bool | None
    convex_reason: str
    eigenvalues: tuple[Any, ...] | None  # of a constant Hessian, ascending (all of them)
    lipschitz: Any
    max_stable_lr: Any
    best_lr: Any
    notes: tuple[str, ...]
    quadratic: bool = False  # the Hessian is the same everywhere (over all the variables together)
    where: str | None = None  # where lambda_min and lambda_max hold: "everywhere" or "at the start point"
    lambda_min: float | None = None
    lambda_max: float | None = None
    hessian_formula: str | None = None  # the constant Hessian of a vector function as a formula (2AᵀA)
    needs: tuple[str, ...] = ()  # constants whose values the numbers need (no data given)

    @property
    def constant_hessian(self) -> bool:
        return self.quadratic

    def _repr_markdown_(self) -> str:
        """Jupyter shows the facts as a table and the Hessian in LaTeX."""
        from symdescent.render.notebook import analysis_markdown

        return analysis_markdown(self)


def analyze(problem: Problem, *, timeout: float = DEFAULT_TIMEOUT) -> Analysis:
    """Hessian, critical points, convexity and step sizes of ``problem``'s function."""
    if problem.dimension > MAX_VARIABLES:
        raise InputError(
            f"analyze handles functions of at most {MAX_VARIABLES} variables; this one has {problem.dimension}",
            hint="fix some of them with params name=value",
            parameter="params",
        )
    problem = exact_problem(problem)
    try:
        hessian = problem.hessian
    except TypeError as error:
        # SymPy may cache "not real" on a constant whose sign it judged from 2 digits (log(tanh(10)) ≈ −4e−9)
        # and then fail in its own diff (see explain.py, which leaves the curvature out instead)
        if "non-real" not in str(error):
            raise
        raise InputError(
            "SymPy could not differentiate ∇f again for this function, so it cannot be analysed",
            hint="a constant very close to 0 (such as log(tanh(10))) confuses SymPy; write it as a number",
        ) from error
    variables = problem.variables
    notes: list[str] = []
    constant = not any(entry.free_symbols & set(variables) for row in hessian for entry in row)
    kinks = problem.expr.has(sp.Abs, sp.sign)
    if kinks:
        # abs is not differentiable at 0: its gradient jumps there, so no Hessian bounds the steps
        constant = False
        notes.append(
            "f has kinks (abs): its gradient jumps where the argument of abs is 0, so it has no Lipschitz "
            "constant and no step size is safe; gradient descent can bounce around such a point"
        )

    symbolic = _symbolic(problem, timeout)
    points: list[CriticalPoint] = []
    polynomial = all(g.is_polynomial(*variables) for g in problem.gradient)
    solved = symbolic.get("points") is not None
    if solved:
        for coords, value in symbolic["points"]:
            points.append(_classify_exact(problem, coords, value))
    elif "error" in symbolic:
        notes.append(f"SymPy could not solve ∇f = 0 in closed form ({symbolic['error']})")
    else:
        notes.append(f"SymPy did not solve ∇f = 0 within {timeout:g} s (the timeout)")

    search = "symbolic"
    if not (solved and polynomial):
        found = _newton_search(problem, [p for p in points if not _is_family(p)])
        if found:
            search = "symbolic+numeric" if solved else "numeric"
        elif not solved:
            search = "numeric"
        points += found
        seeds = len(_seeds(problem.dimension))
        notes.append(
            f"numeric points: Newton's method from {seeds} seeds in [−3, 3]^{problem.dimension}, "
            f"roots kept within [−{BOX:g}, {BOX:g}]; there may be others"
        )
    if len(points) > MAX_POINTS:
        notes.append(f"{len(points)} critical points found; the first {MAX_POINTS} are listed")
        points = points[:MAX_POINTS]
    complete = solved and polynomial

    eigenvalues = lipschitz = max_stable = best = None
    convex: bool | None
    if constant:
        eigenvalues = matrix_eigenvalues(sp.Matrix(hessian))[0]
        convex, reason = _convex_from_eigenvalues(eigenvalues)
        lipschitz, max_stable, best, _ = step_sizes(eigenvalues, sp.radsimp)
        if eigenvalues and _negative(eigenvalues[0]):
            notes.append(
                "the Hessian has a negative eigenvalue: gradient descent runs away along its eigenvector, "
                "so no step size is stable"
            )
    else:
        convex, reason = _convexity(problem, points, symbolic.get("psd"))
    low, high = (float(eigenvalues[0]), float(eigenvalues[-1])) if eigenvalues else (None, None)
    return Analysis(
        problem=problem,
        hessian=hessian,
        critical_points=tuple(points),
        search=search,
        complete=complete,
        convex=convex,
        convex_reason=reason,
        eigenvalues=eigenvalues,
        lipschitz=lipschitz,
        max_stable_lr=max_stable,
        best_lr=best,
        notes=tuple(notes),
        quadratic=constant,
        where="everywhere" if constant else None,
        lambda_min=low,
        lambda_max=high,
    )


# -- symbolic work, in a child process that can be killed --------------------------------


def _symbolic(problem: Problem, timeout: float) -> dict[str, Any]:
    """Run :func:`_solve_child` with a hard time limit; whatever it sent before the limit."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork") if "fork" in methods else multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    job = (problem.expr, problem.gradient, problem.variables, problem.hessian)
    child = context.Process(target=_solve_child, args=(send, job), daemon=True)
    results: dict[str, Any] = {}
    child.start()
    send.close()
    try:
        import time

        deadline = time.monotonic() + timeout
        while len(results) < 2:
            left = deadline - time.monotonic()
            if left <= 0 or not receive.poll(left):
                break
            try:
                key, value = receive.recv()
            except EOFError:
                break
            results[key] = value
    finally:
        if child.is_alive():
            child.kill()
        child.join(1)
        receive.close()
    if "points" in results and isinstance(results["points"], str):
        results["error"] = results.pop("points")
    return results


def _solve_child(send: Any, job: tuple[Any, ...]) -> None:
    expr, gradient, variables, hessian = job
    try:
        send.send(("points", _solve(expr, gradient, variables)))
    except Exception as error:  # anything SymPy raises means "no closed form"
        send.send(("points", f"{type(error).__name__}: {error}".splitlines()[0][:200]))
    try:
        send.send(("psd", _provably_psd(hessian)))
    except Exception:
        send.send(("psd", None))
    send.close()


def _solve(expr: sp.Expr, gradient: Sequence[sp.Expr], variables: Sequence[sp.Symbol]) -> list[tuple[Any, Any]]:
    solutions = sp.solve(list(gradient), list(variables), dict=True)
    found = []
    for solution in solutions:
        coords = tuple(sp.simplify(solution.get(v, v)) for v in variables)
        if not all(_maybe_real(c) for c in coords):
            continue
        found.append((coords, sp.simplify(expr.xreplace(dict(zip(variables, coords, strict=True))))))
    return sorted(found, key=lambda item: [_sort_value(c) for c in item[0]])


def _maybe_real(value: sp.Expr) -> bool:
    if value.free_symbols:
        return True
    if value.is_extended_real is not None:
        return bool(value.is_extended_real)
    approx = complex(value.evalf(30))
    return abs(approx.imag) <= 1e-20 * max(1.0, abs(approx.real))


def _sort_value(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.inf


def _provably_psd(hessian: Sequence[Sequence[sp.Expr]]) -> bool | None:
    """True when every principal minor is provably ≥ 0 (so H is PSD everywhere), else None."""
    n = len(hessian)
    if n > 4:
        return None
    matrix = sp.Matrix(hessian)
    for size in range(1, n + 1):
        for rows in itertools.combinations(range(n), size):
            minor = sp.factor(matrix.extract(list(rows), list(rows)).det())
            if minor.is_nonnegative is not True:
                return None
    return True


# -- classification -------------------------------------------------------------------------


def _is_family(point: CriticalPoint) -> bool:
    return not point.numeric and any(getattr(c, "free_symbols", None) for c in point.point)


def _classify_exact(problem: Problem, coords: tuple[sp.Expr, ...], value: sp.Expr) -> CriticalPoint:
    family = any(c.free_symbols for c in coords)
    at = dict(zip(problem.variables, coords, strict=True))
    exact_rows = [[entry.xreplace(at) for entry in row] for row in problem.hessian]
    if family and not all(entry.is_number for row in exact_rows for entry in row):
        return CriticalPoint(coords, "degenerate", value, numeric=False)
    eigenvalues = _eigenvalues([[entry.evalf(30) for entry in row] for row in exact_rows], 30)
    scale = max((abs(e) for e in eigenvalues), default=0.0)
    eigenvalues = tuple(0.0 if abs(e) <= 1e-20 * scale else e for e in eigenvalues)  # rounding noise of a zero
    kind = "degenerate" if family else _kind(eigenvalues, 1e-20)  # a family of points is never isolated
    return CriticalPoint(coords, kind, value, numeric=False, eigenvalues=eigenvalues)


def _negative(value: sp.Expr) -> bool:
    return bool(float(value) < 0) if not value.is_zero else False


def _convex_from_eigenvalues(eigenvalues: Sequence[sp.Expr]) -> tuple[bool, str]:
    if eigenvalues and _negative(eigenvalues[0]):
        return False, f"the Hessian is constant with a negative eigenvalue ({sp.sstr(eigenvalues[0])})"
    return True, "the Hessian is constant and its eigenvalues are ≥ 0"


def _convexity(problem: Problem, points: Sequence[CriticalPoint], provably_psd: bool | None) -> tuple[bool | None, str]:
    names = ", ".join(problem.names)
    for point in points:
        if point.eigenvalues and point.eigenvalues[0] < -1e-9 * max(1.0, abs(point.eigenvalues[-1])):
            where = ", ".join(_short(c) for c in point.point)
            return False, f"the Hessian has a negative eigenvalue at ({names}) = ({where})"
    compiled = _compile([e for row in problem.hessian for e in row], problem.variables)
    n = problem.dimension
    if compiled is not None:
        for seed in _seeds(n):
            budget.check("checking convexity")
            try:
                flat = compiled(*seed)
                rows = [[float(flat[i * n + j]) for j in range(n)] for i in range(n)]
            except NUMERIC_ERRORS:
                continue
            if not all(math.isfinite(v) for row in rows for v in row):
                continue
            values = _eigenvalues(rows)
            if values[0] < -1e-9 * max(1.0, abs(values[-1])):
                where = ", ".join(_short(c) for c in seed)
                return False, f"the Hessian has a negative eigenvalue ({values[0]:.4g}) at ({names}) = ({where})"
    if provably_psd:
        return True, "every principal minor of the Hessian is ≥ 0 everywhere"
    return None, "could not decide: no negative eigenvalue found, and SymPy could not show the Hessian is ≥ 0"


def _short(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else sp.sstr(value)


# -- numeric search -------------------------------------------------------------------------


def _seeds(n: int) -> list[tuple[float, ...]]:
    if n <= 3:
        return list(itertools.product(SEED_VALUES, repeat=n))
    generator = random.Random(0)
    return [(0.0,) * n] + [tuple(generator.uniform(-3, 3) for _ in range(n)) for _ in range(RANDOM_SEEDS)]


def _compile(exprs: Sequence[sp.Expr], variables: Sequence[sp.Symbol]) -> Callable[..., list[float]] | None:
    """Float code for ``exprs``, or None when they cannot be compiled (a ``DiracDelta`` from ``abs``)."""
    from symdescent.compile import compile_functions
    from symdescent.errors import InputError

    try:
        return compile_functions(list(exprs), variables)
    except (InputError, NotImplementedError, TypeError, ValueError, SyntaxError):
        return None


def _newton_search(problem: Problem, known: Sequence[CriticalPoint]) -> list[CriticalPoint]:
    """Critical points from Newton's method on ∇f = 0, started from every seed; new ones only."""
    n = problem.dimension
    compiled = _compile([*problem.gradient, *(e for row in problem.hessian for e in row)], problem.variables)
    value = _compile([problem.expr], problem.variables)
    if compiled is None or value is None:
        return []

    def system(x: Sequence[float]) -> tuple[list[float], list[list[float]]]:
        flat = [float(v) for v in compiled(*x)]
        return flat[:n], [flat[n + i * n : n + (i + 1) * n] for i in range(n)]

    found: list[tuple[float, ...]] = [tuple(float(c) for c in p.point) for p in known]
    new: list[CriticalPoint] = []
    for seed in _seeds(n):
        budget.check("searching for critical points")
        root = _newton(system, seed)
        if root is None or any(abs(c) > BOX for c in root):
            continue
        if any(_close(root, other) for other in found):
            continue
        found.append(root)
        try:
            _, hessian = system(root)
            f = float(value(*root)[0])
        except NUMERIC_ERRORS:
            continue
        if not math.isfinite(f) or not all(math.isfinite(v) for row in hessian for v in row):
            continue
        eigenvalues = _eigenvalues(hessian)
        new.append(CriticalPoint(root, _kind(eigenvalues, 1e-7), f, numeric=True, eigenvalues=eigenvalues))
    return sorted(new, key=lambda p: p.point)


def _newton(
    system: Callable[[Sequence[float]], tuple[list[float], list[list[float]]]], seed: Sequence[float]
) -> tuple[float, ...] | None:
    x = list(seed)
    for _ in range(200):
        try:
            gradient, hessian = system(x)
        except NUMERIC_ERRORS:
            return None
        if not all(math.isfinite(v) for v in gradient):
            return None
        step = _solve_linear(hessian, [-g for g in gradient])
        if step is None:
            return None
        length = math.hypot(*step)
        if length > 5.0:  # a trust region keeps Newton near where it started
            step = [s * 5.0 / length for s in step]
        x = [a + b for a, b in zip(x, step, strict=True)]
        if length <= 1e-13 * (1.0 + math.hypot(*x)):
            break
    else:
        return None
    try:
        gradient, _ = system(x)
    except NUMERIC_ERRORS:
        return None
    if not math.hypot(*gradient) <= 1e-8 * (1.0 + math.hypot(*x)):
        return None
    return tuple(0.0 if abs(c) < 1e-12 else c for c in x)


def _close(a: Sequence[float], b: Sequence[float]) -> bool:
    return math.dist(a, b) <= 1e-6 * (1.0 + math.hypot(*a))
