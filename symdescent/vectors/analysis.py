"""``analyze`` for functions of named arrays: one Hessian over every variable together, its eigenvalues from the data.

``analyze_arrays(problem, timeout=5)`` returns the same :class:`~symdescent.analyze.Analysis` as the
scalar ``analyze``, so both print and serialise alike. The variables — scalars, vectors or both — are
taken together as one point z = (a, b, x, …):

- H·v, the derivative of every variable's gradient along one direction v = (v_a, v_b, v_x, …), is
  derived once in vector form (:func:`hessian_action`). When it no longer contains any variable, f is
  *quadratic* and its Hessian is the same everywhere: for mean((a·t + b − T)²) it is
  2·[[mean(t²), mean(t)], [mean(t), 1]]; for ‖Ax − b‖² it is 2AᵀA.
- Its eigenvalues come from the data: all of them while z has at most :data:`DENSE` entries, else
  λmax by power iteration on H·v. They give, as for scalar functions (:func:`symdescent.hessian.step_sizes`),
  L = max |λ|, the largest stable step 2/λmax and the best step 2/(λmin + λmax).
- A quadratic with a nonsingular Hessian has one critical point: z* = z − H⁻¹∇f(z).
- Elsewhere the eigenvalues are those at the start point; a negative one there shows f is not convex.

``timeout`` bounds the numeric work (forming H, power iteration): what is not done by then is
left unknown, with a note. Without start values, :func:`default_start` sizes each variable from the data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdescent import budget
from symdescent.analyze import DEFAULT_TIMEOUT, Analysis, CriticalPoint
from symdescent.budget import BudgetError
from symdescent.errors import InputError
from symdescent.hessian import ROUNDING_RELATIVE, kind, step_sizes
from symdescent.vectors.calculus import jvp
from symdescent.vectors.codegen import compile_arrays
from symdescent.vectors.nodes import VBandGrad, VDot, VIndexSum, VMatMul, VMean, VNorm, VSize, entries, names_in
from symdescent.vectors.printing import pretty
from symdescent.vectors.problem import Formula, VectorProblem, dense_hessian

#: All eigenvalues (numpy's eigvalsh) while the point has at most this many entries; beyond, λmax alone.
DENSE = 500
#: The JSON lists the Hessian's entries and eigenvalues while the point has at most this many entries.
HESSIAN_ENTRIES = 50
#: Power iteration on H·v beyond DENSE entries (up to this many).
POWER_ENTRIES = 10**6
POWER_STEPS = 200


def _fresh(base: str, taken: set[str]) -> str:
    """``base`` with underscores added until it clashes with no name in ``taken`` (then taken too)."""
    while base in taken:
        base += "_"
    taken.add(base)
    return base


def _directions(formula: Formula) -> dict[str, str]:
    """A fresh name for each variable's part of the direction v (v_a, v_x, …), clashing with no name of f."""
    taken = set(formula.kinds) | names_in(formula.expr)
    return {name: _fresh(f"v_{name}", taken) for name in formula.variables}


def hessian_action(formula: Formula) -> dict[str, sp.Expr] | None:
    """H·v over all variables together, one formula per variable's block; None where f cannot be derived twice.

    A count n (``VSize``, from mean) does not move with the values: it stands in as a constant while deriving.
    """
    names = _directions(formula)
    direction = {n: sp.Symbol(d, real=True) for n, d in names.items()}
    taken = set(formula.kinds) | set(names.values()) | names_in(formula.expr)
    counts = {
        node: sp.Symbol(_fresh("n", taken), real=True)
        for grad in formula.gradient.values()
        for node in sp.preorder_traversal(grad)
        if isinstance(node, VSize)
    }
    back = {symbol: node for node, symbol in counts.items()}
    kinds = {**formula.kinds, **{d: formula.kinds.get(n, 0) for n, d in names.items()}}
    kinds.update({symbol.name: 0 for symbol in back})
    try:
        return {
            n: jvp(formula.gradient[n].xreplace(counts), direction, kinds).xreplace(back) for n in formula.variables
        }
    except InputError:
        return None


def is_quadratic(formula: Formula, action: Mapping[str, sp.Expr] | None) -> bool:
    """Whether ∇f is affine in all the variables together: H·v (``action``) contains none of them; no kinks."""
    if action is None or formula.expr.has(sp.Abs, sp.sign):
        return False
    counted = [e.replace(lambda node: isinstance(node, VSize), lambda node: sp.S.One) for e in action.values()]
    variables = set(formula.variables)
    counted = [e.replace(lambda node: _constant_band(node, variables), lambda node: sp.S.One) for e in counted]
    return all(not (names_in(e) & variables) for e in counted)


def _constant_band(node: sp.Basic, variables: set[str]) -> bool:
    """An index sum's part of H·v that does not depend on x: its body (v·∇ of the sum's terms) is affine in the
    entries ``x[i+k]`` and names no other variable — so the sum's terms were a quadratic in them."""
    if not isinstance(node, VBandGrad):
        return False
    var, body = node.args[0], node.args[1]
    entries = [s for s in body.free_symbols if s.name.startswith(f"{var.name}[")]
    others = names_in(body.xreplace({s: sp.S.One for s in entries})) & variables
    if others:
        return False
    try:
        return sp.Poly(body, *entries).total_degree() <= 1 if entries else True
    except sp.PolynomialError:
        return False


def hessian_text(formula: Formula) -> str | None:
    """``2AᵀA`` for a quadratic in one vector, else None (explain's closed form needs exactly this case)."""
    if not formula.is_quadratic or formula.hessian_action is None:
        return None
    action = next(iter(formula.hessian_action.values()))
    return pretty(action.xreplace({sp.Symbol("v_", real=True): sp.Symbol("I", real=True)}))


def hessian_formula(formula: Formula, action: Mapping[str, sp.Expr] | None) -> str | None:
    """The constant Hessian as a formula: ``2AᵀA`` for one vector, a matrix of formulas for scalars; else None."""
    if not is_quadratic(formula, action):
        return None
    assert action is not None
    if any(formula.kinds.get(n) for n in formula.variables):  # blocks of a mixed Hessian: no short formula here
        return hessian_text(formula) if len(formula.variables) == 1 else None
    names = _directions(formula)
    zero = {sp.Symbol(d, real=True): sp.S.Zero for d in names.values()}
    rows = []
    for row in formula.variables:
        cells = [
            pretty(_constant_means(action[row].xreplace({**zero, sp.Symbol(names[column], real=True): sp.S.One})))
            for column in formula.variables
        ]
        rows.append("[" + ", ".join(cells) + "]")
    return "[" + ", ".join(rows) + "]"


def _constant_means(expr: sp.Expr) -> sp.Expr:
    """mean(c) = c for a c without data (the ∂²/∂b² of mean((a·t + b − T)²) is 2·mean(1) = 2)."""
    return sp.factor_terms(
        expr.replace(lambda e: isinstance(e, VMean) and not names_in(e.args[0]), lambda e: e.args[0])
    )


def hessian_product(
    problem: VectorProblem, action: Mapping[str, sp.Expr] | None
) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """``(z, v) -> H v`` over the flat point, compiled from :func:`hessian_action`; None where there is none."""
    formula = problem.formula
    if action is None:
        return None
    names = _directions(formula)
    constants = sorted(problem.data)
    arguments = [*problem.names, *constants, *(names[n] for n in problem.names)]
    shapes = {**problem.shapes, **{names[n]: problem.shapes[n] for n in problem.names}}
    try:
        fn = compile_arrays(
            [action[n] for n in problem.names], arguments, shapes, [problem.shapes[n] for n in problem.names]
        )
    except BudgetError:
        raise
    except (InputError, NotImplementedError, TypeError, ValueError):
        return None

    def product(z: np.ndarray, v: np.ndarray) -> np.ndarray:
        at, along = problem.unflatten(z), problem.unflatten(v)
        values = [at[n] for n in problem.names] + [problem.data[n] for n in constants]
        with np.errstate(all="ignore"):
            parts = fn(*values, *(along[n] for n in problem.names))
        return np.concatenate([np.ravel(np.asarray(p, dtype=float)) for p in parts])

    return product


class _Clock:
    """The analysis's deadline: numeric work that would start after it is skipped.

    Two limits: ``timeout`` seconds of wall time (analyze's --timeout), and half of what is left of
    the command's CPU budget, so that the symbolic work after it (the gradient's cases shown with
    the analysis) still fits: the eigenvalues are skipped with a note rather than the command refused.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.reserve = budget.remaining() / 2  # inf without a budget (library use)
        self.ran_out = False
        self.budget_ran_out = False

    def over(self) -> bool:
        if not self.ran_out:
            self.budget_ran_out = budget.remaining() < self.reserve
            self.ran_out = self.budget_ran_out or time.monotonic() > self.deadline
        return self.ran_out

    def note(self) -> str:
        if self.budget_ran_out:
            return "the Hessian's eigenvalues were not computed within half of the time limit left"
        return f"the Hessian's eigenvalues were not computed within {self.timeout:g} s (the timeout)"


#: λmax already found in this process, by the problem's content: explain and analyze of one problem (a
#: notebook, a test session) pay for Lanczos once. Small: keys are digests, values floats.
_FOUND: dict[bytes, float] = {}


def _content(problem: VectorProblem, z: np.ndarray) -> bytes:
    """A digest of everything λmax depends on: the formula, the point and the data."""
    import hashlib

    digest = hashlib.blake2b(problem.formula.text.encode(), digest_size=20)
    for name in [*problem.names, *sorted(problem.data)]:
        digest.update(name.encode())
    digest.update(np.ascontiguousarray(z).tobytes())
    for name in sorted(problem.data):
        digest.update(np.ascontiguousarray(problem.data[name]).tobytes())
    return digest.digest()


def _largest(problem: VectorProblem, z: np.ndarray, product: Any, clock: _Clock) -> float | None:
    """max |λ| by the Lanczos iteration on H·v (once per problem and point); None without H·v or out of time."""
    if product is None:
        return None
    key = _content(problem, z)
    if key not in _FOUND:
        found = _lanczos(problem, z, product, clock)
        if found is None:
            return None
        if len(_FOUND) >= 256:
            _FOUND.clear()
        _FOUND[key] = found
    return _FOUND[key]


def _lanczos(problem: VectorProblem, z: np.ndarray, product: Any, clock: _Clock) -> float | None:
    """max |λ| by the Lanczos iteration on H·v; None when time runs out first.

    Lanczos, not power iteration: the extreme Ritz values of k steps approach the spectrum's ends far
    faster where the top eigenvalues cluster (a banded Hessian of 10⁵ entries: power iteration's 200
    steps read λmax = 9.988 for the true 10, which overstated the stable step 2/λmax). The three-term
    recurrence keeps three vectors of n entries; the extreme Ritz values need no re-orthogonalisation.
    """
    q = np.random.default_rng(0).normal(size=problem.size)
    q /= np.linalg.norm(q)
    previous, beta = np.zeros_like(q), 0.0
    alphas: list[float] = []
    betas: list[float] = []
    for _ in range(min(POWER_STEPS, problem.size)):
        if clock.over():
            return None
        w = product(z, q) - beta * previous
        alpha = float(q @ w)
        w -= alpha * q
        alphas.append(alpha)
        beta = float(np.linalg.norm(w))
        if not math.isfinite(beta) or beta <= 1e-12 * max(1.0, abs(alpha)):  # an invariant subspace: exact
            break
        betas.append(beta)
        previous, q = q, w / beta
    off = betas[: len(alphas) - 1]
    ritz = np.linalg.eigvalsh(np.diag(alphas) + np.diag(off, 1) + np.diag(off, -1))
    return float(max(abs(ritz[0]), abs(ritz[-1])))


def eigen_range(problem: VectorProblem, z: np.ndarray, timeout: float = DEFAULT_TIMEOUT) -> tuple[float, float] | None:
    """(λmin, λmax) of the Hessian at z: dense while small, else (nan, max |λ|) by power iteration; None if unknown."""
    clock = _Clock(timeout)
    product = hessian_product(problem, hessian_action(problem.formula))
    if problem.size <= DENSE:
        matrix = dense_hessian(problem, z, product, clock.over)
        if matrix is None:
            return None
        values = np.linalg.eigvalsh(matrix)
        return float(values[0]), float(values[-1])
    largest = _largest(problem, z, product, clock) if problem.size <= POWER_ENTRIES else None
    return None if largest is None else (float("nan"), largest)


def _tidy(values: np.ndarray) -> tuple[float, ...]:
    """Ascending eigenvalues with rounding-level ones (a singular H gives 1e-17·λmax) set to 0."""
    scale = max(float(np.max(np.abs(values))), 0.0)
    return tuple(0.0 if abs(v) <= ROUNDING_RELATIVE * scale else float(v) for v in values)


def analyze_arrays(problem: VectorProblem, *, timeout: float = DEFAULT_TIMEOUT) -> Analysis:
    """Hessian, eigenvalues, convexity, step sizes and (for a quadratic) the critical point of ``problem``."""
    clock = _Clock(timeout)  # from the start: the symbolic work and compiling H·v count too
    formula = problem.formula
    action = hessian_action(formula)
    quadratic = is_quadratic(formula, action)
    product = hessian_product(problem, action)
    z = problem.flat_start()
    notes: list[str] = []
    matrix = eigenvalues = None
    low = high = None
    if problem.size <= DENSE:
        matrix = dense_hessian(problem, z, product, clock.over)
        if matrix is not None:
            eigenvalues = _tidy(np.linalg.eigvalsh(matrix))
            low, high = eigenvalues[0], eigenvalues[-1]
    elif problem.size <= POWER_ENTRIES:
        high = _largest(problem, z, product, clock)
        notes.append(
            f"with {problem.size} entries only λmax is computed (power iteration on H·v); λmin, convexity "
            "and the best step need the full matrix"
        )
    else:
        notes.append(f"with {problem.size} entries the Hessian is too large to analyse here")
    if clock.ran_out:
        notes.append(clock.note())
    where = "everywhere" if quadratic else "at the start point"
    convex, reason = _convexity(quadratic, eigenvalues)
    sizes = step_sizes(eigenvalues) if eigenvalues is not None and quadratic else None
    lipschitz = max_stable = best = None
    if sizes is not None:
        lipschitz, max_stable, best = sizes.lipschitz, sizes.max_stable_lr, sizes.best_lr
    elif quadratic and high is not None and high > 0:  # power iteration: max |λ| only
        lipschitz, max_stable = high, 2 / high
    if quadratic and eigenvalues is not None and eigenvalues[0] < 0:
        notes.append(
            "the Hessian has a negative eigenvalue: gradient descent runs away along its eigenvector, "
            "so no step size is stable"
        )
    points = _critical_points(problem, z, matrix, eigenvalues) if quadratic else None
    small = problem.size <= HESSIAN_ENTRIES
    return Analysis(
        problem=problem,
        hessian=tuple(tuple(float(v) for v in row) for row in matrix)
        if quadratic and matrix is not None and small
        else None,
        critical_points=points,
        search="linear" if points is not None else "none",
        complete=points is not None,
        convex=convex,
        convex_reason=reason,
        eigenvalues=eigenvalues if quadratic and eigenvalues is not None and small else None,
        lipschitz=lipschitz,
        max_stable_lr=max_stable,
        best_lr=best,
        notes=tuple(notes),
        quadratic=quadratic,
        where=where if high is not None else None,
        lambda_min=low,
        lambda_max=high,
        hessian_formula=hessian_formula(formula, action),
    )


def _convexity(quadratic: bool, eigenvalues: tuple[float, ...] | None) -> tuple[bool | None, str]:
    if eigenvalues is None:
        return None, "could not decide: the Hessian's smallest eigenvalue is not known"
    if eigenvalues[0] < 0:
        low = f"{eigenvalues[0]:.6g}".replace("-", "−")
        if quadratic:
            return False, f"the Hessian is constant with a negative eigenvalue ({low})"
        return False, f"the Hessian has a negative eigenvalue ({low}) at the start point"
    if quadratic:
        return True, "the Hessian is constant and its eigenvalues are ≥ 0"
    return None, "could not decide: f is not quadratic, and the Hessian at the start point has no negative eigenvalue"


def _critical_points(
    problem: VectorProblem, z: np.ndarray, matrix: np.ndarray | None, eigenvalues: tuple[float, ...] | None
) -> tuple[CriticalPoint, ...] | None:
    """The one critical point of a quadratic with a nonsingular Hessian (z − H⁻¹∇f(z)); None when H is singular."""
    if matrix is None or eigenvalues is None or any(v == 0 for v in eigenvalues):
        return None
    point = z - np.linalg.solve(matrix, problem.value_and_grad(z)[1])
    values = problem.unflatten(point)
    coords = tuple(v if isinstance(v, float) else tuple(float(e) for e in np.ravel(v)) for v in values.values())
    listed = eigenvalues if problem.size <= HESSIAN_ENTRIES else ()
    return (CriticalPoint(coords, kind(eigenvalues, 0.0), problem.value(point), numeric=True, eigenvalues=listed),)


def symbolic_analysis(formula: Formula) -> Analysis:
    """analyze without sizes (no data, no start values): the formulas only; every number is unknown."""
    action = hessian_action(formula)
    data = sorted(n for n in formula.kinds if n not in formula.variables)
    need = f"values for {', '.join(data)}" if data else "the sizes of the variables"
    return Analysis(
        problem=formula,
        hessian=None,
        critical_points=None,
        search="none",
        complete=False,
        convex=None,
        convex_reason="could not decide without numbers",
        eigenvalues=None,
        lipschitz=None,
        max_stable_lr=None,
        best_lr=None,
        notes=(f"the eigenvalues, convexity and step sizes need {need}: only the formulas are shown",),
        quadratic=is_quadratic(formula, action),
        where=None,
        hessian_formula=hessian_formula(formula, action),
        needs=tuple(data),
    )


def default_start(text: str, data: Mapping[str, object]) -> dict[str, float | np.ndarray]:
    """Start values when none are given: zeros, sized by the data.

    A variable is a vector where f needs one — the operand of ``@`` or ``dot`` (``X @ w``: as many
    entries as X has columns), the argument of ``norm``, an entry ``x[i]`` of an index sum — with the
    length :func:`~symdescent.vectors.data.infer_length` reads from the data; every other variable is
    a scalar (a and b in mean((a*t + b - T)^2) are the line's two coefficients).
    Raises :class:`~symdescent.vectors.data.UnknownLength` when the data do not say a vector's length.
    """
    from symdescent.vectors.data import infer_length
    from symdescent.vectors.parse import parse_vector
    from symdescent.vectors.problem import make_formula

    expr = parse_vector(text)
    kinds = make_formula(text, variables=[]).kinds  # a capitalised name used with @ is a matrix
    variables = sorted(n for n in names_in(expr) if n not in data and kinds.get(n) != 2)
    vectors: set[str] = set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, VMatMul | VDot | VNorm):
            vectors |= {a.name for a in node.args if isinstance(a, sp.Symbol)}
        if isinstance(node, VIndexSum):
            vectors |= {name for name, _ in entries(node.args[0]).values()}
    return {name: np.zeros(infer_length(name, data, text)) if name in vectors else 0.0 for name in variables}
