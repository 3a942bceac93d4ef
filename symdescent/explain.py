"""The derivation of a gradient-descent run, as data: what ``symdescent explain`` shows.

``explain(problem, start="1,2", lr="0.1")`` returns an :class:`Explanation`
holding, in the order a textbook writes them:

1. the function;
2. each partial derivative, rule by rule (:mod:`symdescent.derivation`);
3. the gradient;
4. the update rule with α substituted and simplified (x ← x − α·2x = 4/5·x);
5. the curvature: when f is quadratic (constant Hessian H, affine update),
   the closed form of the iterates xₜ = x* + (I − αH)ᵗ(x₀ − x*) and, from
   H's eigenvalues λᵢ, the stability bound (max |1 − αλᵢ| < 1, that is
   0 < α < 2/λ_max), the fastest α = 2/(λ_min + λ_max) and the rates; when
   it is not quadratic, the same analysis of the Hessian at the start point
   and at the minimum the run finds;
6. the first iterates, exact when the inputs are exact.

Exactness: ``--lr 0.1`` and ``--start 0.5`` are decimal literals, taken as
the exact numbers 1/10 and 1/2 (``decimal`` records that the user wrote
decimals, so renderers may write 4/5 as 0.8). The core never prints.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symdescent import budget
from symdescent.derivation import RuleStep, derive
from symdescent.errors import InputError
from symdescent.hessian import eigenvalues as hessian_eigenvalues
from symdescent.hessian import rate, step_sizes
from symdescent.problem import Problem, float_or_nan
from symdescent.values import exact_number, read_point

#: Iterates listed after the analysis (t = 0 … ITERATES).
ITERATES = 5
#: Beyond this many variables, the Hessian analysis and closed form are skipped.
MAX_ANALYSIS_VARIABLES = 6
#: Rule steps are shown for at most this many partial derivatives.
MAX_DERIVED_PARTIALS = 6
#: Exact iterates only for a function of at most this many terms (beyond, floats from the start).
MAX_EXACT_TERMS = 300
#: Exact iterates stop when a value's text grows beyond this many characters, or after this many seconds.
MAX_EXACT_CHARS = 60
MAX_EXACT_SECONDS = 1.0


@dataclass(frozen=True)
class Partial:
    """∂f/∂xᵢ: the rule-by-rule derivation (None beyond the detail cap) and SymPy's result."""

    variable: sp.Symbol
    derivation: RuleStep | None
    result: sp.Expr


@dataclass(frozen=True)
class Update:
    """One coordinate of the update: ``after = before − α·gradient`` = ``simplified``."""

    variable: sp.Symbol
    before: sp.Symbol  # xₜ
    after: sp.Symbol  # xₜ₊₁
    gradient: sp.Expr  # ∂f/∂x at xₜ
    simplified: sp.Expr


@dataclass(frozen=True)
class Curvature:
    """The Hessian somewhere, its eigenvalues and what they say about the step size α.

    Each eigenvalue λ multiplies the error along its eigenvector by 1 − αλ
    per step (exactly for a quadratic, near ``point`` otherwise).
    """

    where: str  # "everywhere" (constant Hessian), "start" or "minimum"
    point: tuple[sp.Expr, ...] | None
    hessian: sp.ImmutableMatrix | None  # None for a vector problem (its H is a formula such as 2AᵀA)
    eigenvalues: tuple[sp.Expr, ...]  # ascending, with multiplicity (a vector problem: its extremes)
    exact: bool
    lr: sp.Expr
    factors: tuple[sp.Expr, ...]  # 1 − αλ, one per eigenvalue
    rate: sp.Expr  # max |1 − αλ| over the directions that curve
    max_stable_lr: sp.Expr | None  # 2/λ_max, when λ_max > 0 and no λ < 0
    best_lr: sp.Expr | None  # 2/(λ_min + λ_max), λ_min the smallest nonzero λ (symdescent.hessian.step_sizes)
    best_rate: sp.Expr | None  # (λ_max − λ_min)/(λ_max + λ_min) at best_lr

    @property
    def lowest(self) -> sp.Expr:
        return self.eigenvalues[0]

    @property
    def highest(self) -> sp.Expr:
        return self.eigenvalues[-1]

    @property
    def flat(self) -> bool:
        """Whether λ_min is 0 (``is_zero``: a Float 0.0 is not ``== 0`` in SymPy ≥ 1.13)."""
        return bool(self.lowest.is_zero)

    @property
    def positive_definite(self) -> bool:
        return _less(sp.S.Zero, self.lowest)

    @property
    def converges(self) -> bool:
        """True when every direction shrinks: max |1 − αλ| < 1."""
        return _less(self.rate, sp.S.One)


def _less(a: sp.Expr, b: sp.Expr) -> bool:
    """a < b for exact reals; when SymPy cannot decide (a = 1 − 1e−236: equal to every digit its
    evaluation reaches, a TypeError), by floats, which then agree: not less. Cannot decide is not a bug."""
    try:
        return bool(a < b)
    except TypeError:
        return float(a) < float(b)


@dataclass(frozen=True)
class ClosedForm:
    """xₜ = x* + Σ factorᵢᵗ · scaleᵢ · directionᵢ, exactly, for a quadratic f.

    ``minimizer`` is the minimum the iterates approach (for a singular H,
    the one nearest the start). A factor 0 means that part is gone after
    one step.
    """

    minimizer: tuple[sp.Expr, ...]
    iteration_matrix: sp.ImmutableMatrix  # I − αH
    terms: tuple[tuple[sp.Expr, sp.Expr, tuple[sp.Expr, ...]], ...]  # (1 − αλ, scale, direction)
    converges: bool


@dataclass(frozen=True)
class Iterate:
    """xₜ and f(xₜ); ``exact`` is None when only floats are known."""

    t: int
    exact: tuple[sp.Expr, ...] | None
    f_exact: sp.Expr | None
    x: tuple[float, ...]
    f: float


@dataclass(frozen=True)
class Explanation:
    """Everything ``symdescent explain`` shows, in order (see the module docstring)."""

    problem: Problem
    start: tuple[sp.Expr, ...]
    lr: sp.Expr
    exact: bool  # start and α are exact numbers
    decimal: bool  # the user wrote decimals (0.1): renderers may write 4/5 as 0.8
    partials: tuple[Partial, ...]
    derived_partials: int  # how many partials have rule steps (the rest are over the cap)
    updates: tuple[Update, ...]
    quadratic: bool | None  # None when not decided (too many variables, or no Hessian: hessian_note)
    closed_form: ClosedForm | None
    curvature: tuple[Curvature, ...]
    iterates: tuple[Iterate, ...]
    iterates_exact_until: int  # iterates with t below this are exact
    run_note: str | None  # what happened to the run that looked for the minimum, if it failed
    hessian_note: str | None = None  # why the Hessian could not be analysed, when SymPy could not build it

    @property
    def variables(self) -> tuple[sp.Symbol, ...]:
        return self.problem.variables

    def _repr_markdown_(self) -> str:
        """Jupyter shows the derivation as Markdown with LaTeX."""
        from symdescent.render.notebook import explanation_markdown

        return explanation_markdown(self)


def explain(
    problem: Problem,
    start: str | Sequence[str | float | int | sp.Expr],
    lr: str | float | int | sp.Expr = "0.1",
    *,
    iterates: int = ITERATES,
) -> Explanation:
    """The derivation of gradient descent on ``problem`` from ``start`` with step size ``lr``."""
    from symdescent.run import evaluate

    # the same reading of the point as run's (count, names, finiteness), then f and ∇f defined there
    given = read_point(problem.names, start)
    evaluate(problem, tuple(float(v) for v in given))
    pairs = [exact_number(v, f"the value of {n}") for v, n in zip(given, problem.names, strict=True)]
    x0 = tuple(v for v, _ in pairs)
    alpha, lr_decimal = exact_number(lr, "lr")
    if not (alpha.is_real and alpha.is_finite and alpha > 0):
        raise InputError(f"lr must be a positive finite number, got {lr}", parameter="lr")
    exact = all(v.is_number and v.is_real for v in x0)
    decimal = lr_decimal or any(dec for _, dec in pairs)

    variables = problem.variables
    derived = min(len(variables), MAX_DERIVED_PARTIALS)
    partials = tuple(
        Partial(v, derive(problem.expr, v) if i < derived else None, g)
        for i, (v, g) in enumerate(zip(variables, problem.gradient, strict=True))
    )
    updates = _updates(problem, alpha)

    quadratic: bool | None = None
    closed: ClosedForm | None = None
    curvature: list[Curvature] = []
    run_note = None
    hessian_note: str | None = None
    hessian: sp.Matrix | None = None
    if problem.dimension <= MAX_ANALYSIS_VARIABLES:
        try:
            hessian = _hessian(problem)
        except TypeError as error:
            # SymPy bug: it decides the sign of a constant such as log(tanh(10)) ≈ −4e−9 from 2 digits (0), may
            # then cache "not real" on it (its cache outlives one command), and its own diff later compares it:
            # "Invalid comparison of non-real". Cannot decide the curvature, so it is left out, not an error.
            if "non-real" not in str(error):
                raise
            hessian_note = "SymPy could not differentiate ∇f again here, so the Hessian is not analysed."
    if hessian is not None:
        quadratic = not any(entry.free_symbols & set(variables) for entry in hessian)
        if quadratic:
            spectrum = _curvature("everywhere", None, hessian, alpha)
            curvature.append(spectrum)
            closed = _closed_form(problem, hessian, alpha, x0)
        else:
            with contextlib.suppress(TypeError, ValueError):  # no Hessian at a kink (abs(x) at 0): skip it
                curvature.append(_curvature("start", x0, _at(hessian, variables, x0), alpha))
            minimum, run_note = _run_minimum(problem, x0, alpha)
            if minimum is not None:
                floats = tuple(sp.Float(v) for v in minimum)
                with contextlib.suppress(TypeError, ValueError):
                    curvature.append(_curvature("minimum", floats, _at(hessian, variables, floats), alpha))

    steps, exact_until = _iterates(problem, updates, x0, alpha, iterates, exact)
    return Explanation(
        problem=problem,
        start=x0,
        lr=alpha,
        exact=exact,
        decimal=decimal,
        partials=partials,
        derived_partials=derived,
        updates=updates,
        quadratic=quadratic,
        closed_form=closed,
        curvature=tuple(curvature),
        iterates=steps,
        iterates_exact_until=exact_until,
        run_note=run_note,
        hessian_note=hessian_note,
    )


# -- the update rule ------------------------------------------------------------


def time_symbols(variable: sp.Symbol) -> tuple[sp.Symbol, sp.Symbol]:
    """xₜ and xₜ₊₁ as symbols named ``x_t`` and ``x_{t+1}`` (SymPy's LaTeX writes them as subscripts)."""
    return sp.Symbol(f"{variable.name}_t", real=True), sp.Symbol(f"{variable.name}_{{t+1}}", real=True)


#: The update rule xₜ − α∂f/∂x is expanded (for the first MAX_DERIVED_PARTIALS variables) when ∂f/∂x has at
#: most this many terms.
MAX_EXPANDED_TERMS = 200


def _updates(problem: Problem, alpha: sp.Expr) -> tuple[Update, ...]:
    now = {v: time_symbols(v)[0] for v in problem.variables}
    times = set(now.values())  # once: per variable it cost 9·10⁶ set insertions at 3,000 variables
    updates = []
    for i, (v, g) in enumerate(zip(problem.variables, problem.gradient, strict=True)):
        before, after = time_symbols(v)
        budget.check("explaining the update rule")
        g_t = g.xreplace(now)
        raw = before - alpha * g_t
        symbols = raw.free_symbols & times
        # expanded for the rules shown (the first few), and only when short: expanding ∂f/∂x of thousands of
        # terms takes seconds (one SymPy call, past the deadline), expanding 3,000 short rules 3 s; the iterates
        # are the same from either form
        shown = i < MAX_DERIVED_PARTIALS and len(g.args) <= MAX_EXPANDED_TERMS
        simplified = sp.expand(raw) if shown and raw.is_polynomial(*symbols) else raw
        updates.append(Update(v, before, after, g_t, simplified))
    return tuple(updates)


def _hessian(problem: Problem) -> sp.Matrix:
    """The Hessian; once more with SymPy's cache emptied when a stale "non-real" fact from earlier work
    (a long-lived process: the library, a notebook, a test run) makes its own diff fail."""
    try:
        return sp.Matrix(problem.hessian)
    except TypeError as error:
        if "non-real" not in str(error):
            raise
        from sympy.core.cache import clear_cache

        clear_cache()
        return sp.Matrix(problem.hessian)


# -- curvature -------------------------------------------------------------------


def _at(hessian: sp.Matrix, variables: Sequence[sp.Symbol], point: Sequence[sp.Expr]) -> sp.Matrix:
    if not all(fits_exactly(entry, point) for entry in hessian):
        raise ValueError("the exact Hessian at this point would be too large")  # the caller skips it
    return hessian.xreplace(dict(zip(variables, point, strict=True)))


def _curvature(where: str, point: tuple[sp.Expr, ...] | None, hessian: sp.Matrix, alpha: sp.Expr) -> Curvature:
    eigenvalues, exact = hessian_eigenvalues(hessian)
    return curvature_of(where, point, eigenvalues, exact, alpha, sp.ImmutableMatrix(hessian))


def curvature_of(
    where: str,
    point: tuple[sp.Expr, ...] | None,
    eigenvalues: tuple[sp.Expr, ...],
    exact: bool,
    alpha: sp.Expr,
    hessian: sp.ImmutableMatrix | None = None,
) -> Curvature:
    """What the (ascending) eigenvalues say about α: also for a vector problem, whose H has no matrix here."""
    alpha_used: sp.Expr = alpha if exact else sp.Float(alpha)
    factors = tuple(
        sp.simplify(sp.nsimplify(1 - alpha_used * lam)) if exact else 1 - alpha_used * lam for lam in eigenvalues
    )
    tidy = sp.simplify if exact else None
    sizes = step_sizes(eigenvalues, tidy)
    worst = rate(eigenvalues, alpha_used)
    return Curvature(
        where=where,
        point=point,
        hessian=hessian,
        eigenvalues=eigenvalues,
        exact=exact,
        lr=alpha_used,
        factors=factors,
        rate=sp.simplify(worst) if exact else worst,
        max_stable_lr=sizes.max_stable_lr,
        best_lr=sizes.best_lr,
        best_rate=sizes.best_rate,
    )


def _closed_form(problem: Problem, hessian: sp.Matrix, alpha: sp.Expr, x0: tuple[sp.Expr, ...]) -> ClosedForm | None:
    """xₜ = x* + Σ (1 − αλ)ᵗ Pλ(x₀ − x*), with Pλ the projection onto λ's eigenvectors.

    ∇f(x) = Hx + b is affine; x* solves Hx* = −b (nearest x₀ when H is
    singular). None when f has no minimum (Hx = −b has no solution) or when
    the eigenvectors are not exact.
    """
    variables = problem.variables
    n = len(variables)
    origin = dict.fromkeys(variables, sp.S.Zero)
    b = sp.Matrix([g.xreplace(origin) for g in problem.gradient])
    start = sp.Matrix(x0)
    residual = hessian * start + b
    pinv = hessian.pinv()
    minimizer = start - pinv * residual
    if sp.simplify(hessian * minimizer + b) != sp.zeros(n, 1):
        return None
    minimizer = minimizer.applyfunc(sp.simplify)
    error = start - minimizer
    try:
        eigen = hessian.eigenvects()
    except (NotImplementedError, sp.polys.polyerrors.PolynomialError):
        return None
    terms = []
    for lam, _multiplicity, vectors in sorted(eigen, key=lambda e: float(e[0])):
        if lam.has(sp.CRootOf):
            return None
        basis = sp.Matrix.hstack(*vectors)
        projection = basis * (basis.T * basis).inv() * basis.T
        part = (projection * error).applyfunc(sp.simplify)
        if all(c == 0 for c in part):
            continue
        factor = sp.simplify(1 - alpha * lam)
        scale, direction = _primitive(tuple(part))
        terms.append((factor, scale, direction))
    converges = all(abs(float(f)) < 1 for f, _, _ in terms)
    return ClosedForm(
        minimizer=tuple(minimizer),
        iteration_matrix=sp.ImmutableMatrix(sp.eye(n) - alpha * hessian),
        terms=tuple(terms),
        converges=converges,
    )


def _primitive(vector: tuple[sp.Expr, ...]) -> tuple[sp.Expr, tuple[sp.Expr, ...]]:
    """(−2, −2) -> (−2, (1, 1)): a scale and a direction with coprime integer entries when rational."""
    if not all(c.is_Rational for c in vector):
        return sp.S.One, vector
    nonzero = [c for c in vector if c != 0]
    numerators = sp.igcd(*[abs(c.p) for c in nonzero]) if len(nonzero) > 1 else abs(nonzero[0].p)
    denominators = sp.ilcm(*[c.q for c in nonzero]) if len(nonzero) > 1 else nonzero[0].q
    scale = sp.Rational(numerators, denominators) * (1 if nonzero[0] > 0 else -1)
    return scale, tuple(c / scale for c in vector)


def _run_minimum(
    problem: Problem, x0: tuple[sp.Expr, ...], alpha: sp.Expr
) -> tuple[tuple[float, ...] | None, str | None]:
    """Where gradient descent with this α ends up (its last point), and a note if it did not converge."""
    from symdescent.run import minimize

    result = minimize(problem, tuple(float(v) for v in x0), lr=float(alpha), max_steps=50_000)
    if result.success:
        return tuple(result.flat), None
    return None, f"The run with α = {float(alpha):g} found no minimum to analyse ({result.status}: {result.message})."


# -- iterates ----------------------------------------------------------------------


def _iterates(
    problem: Problem,
    updates: tuple[Update, ...],
    x0: tuple[sp.Expr, ...],
    alpha: sp.Expr,
    count: int,
    exact: bool,
) -> tuple[tuple[Iterate, ...], int]:
    """x₀ … x_count: exact while the numbers stay small rationals, then floats.

    Only rational iterates stay exact: simplifying sums of surds and
    transcendental values (a start at pi/4, a step through sin) has no time bound.
    """
    variables = problem.variables
    rational = exact and all(v.is_Rational for v in x0)
    # exact only for a function of at most MAX_EXACT_TERMS terms: f of 2,000 terms at x = 1/2 is 2,000 exact
    # powers up to 2⁻²⁰⁰⁰ per iterate, seconds each, between two checks of the deadline
    short = len(sp.Add.make_args(problem.expr)) <= MAX_EXACT_TERMS
    point: tuple[sp.Expr, ...] | None = x0 if rational and short and fits_exactly(problem.expr, x0) else None
    floats = tuple(float(v) for v in x0)
    out: list[Iterate] = []
    exact_until = 0
    deadline = time.monotonic() + MAX_EXACT_SECONDS  # for all the exact iterates together
    for t in range(count + 1):
        budget.check("explaining the iterates")
        if point is not None:
            f_exact = problem.expr.xreplace(dict(zip(variables, point, strict=True)))
            floats = tuple(float(v) for v in point)
            out.append(Iterate(t, point, f_exact, floats, float_or_nan(f_exact)))
            exact_until = t + 1
        else:
            f, *_ = problem.values_at(floats, sympy=len(sp.Add.make_args(problem.expr)) <= MAX_EXACT_TERMS)
            out.append(Iterate(t, None, None, floats, f))
        if t == count:
            break
        if point is not None:
            values = dict(zip((u.before for u in updates), point, strict=True))
            if not all(fits_exactly(u.simplified, point) for u in updates):  # (1/3)**(10**6): predicted, not built
                point = None
                continue
            nxt = tuple(u.simplified.xreplace(values) for u in updates)
            irrational = not all(v.is_Rational for v in nxt)
            too_big = irrational or any(len(sp.sstr(v)) > MAX_EXACT_CHARS for v in nxt)
            if too_big or time.monotonic() > deadline or not all(v.is_real for v in nxt):
                point = None
                floats = tuple(float(v) for v in nxt) if all(v.is_real for v in nxt) else floats
                if not all(v.is_real for v in nxt):
                    break
                continue
            point = nxt
        else:
            f, *g = problem.values_at(floats, sympy=len(sp.Add.make_args(problem.expr)) <= MAX_EXACT_TERMS)
            if not all(math.isfinite(v) for v in (f, *g)):
                break
            floats = tuple(xi - float(alpha) * gi for xi, gi in zip(floats, g, strict=True))
    return tuple(out), exact_until


def fits_exactly(expr: sp.Expr, point: Sequence[sp.Expr]) -> bool:
    """Whether evaluating ``expr`` exactly at ``point`` stays within the budget's size (predicted, not built)."""
    try:
        budget.check_exact_evaluation(expr, point)
    except budget.BudgetError:
        return False
    return True
