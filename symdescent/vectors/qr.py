"""Least squares from data by the thin QR of the data matrix: a step costs two n×n products, not two passes over X.

A loss ``c·Σᵢ (aᵢ·uᵢ² + bᵢ·uᵢ + cᵢ)`` with u = X @ w (every row-wise loss quadratic in u: ``mean((X @ w - y)^2)``,
weighted, or with terms linear in u) is, with qᵢ = √aᵢ, tᵢ = −bᵢ/(2aᵢ) and κᵢ = cᵢ − bᵢ²/(4aᵢ)::

    f(w) = c·(‖X̃w − ỹ‖² + Σκ)        X̃ = diag(q)·X,  ỹ = q·t

Once, at the start: X̃ = QR (thin QR, R n×n upper triangular), d = Qᵀỹ, ρ = ‖ỹ − Q·d‖² + Σκ. Then, since
‖X̃w − ỹ‖² = ‖Rw − d‖² + ρ (the part of ỹ outside X̃'s columns is orthogonal to all of them)::

    r = R·w − d        f = c·(r·r + ρ)        ∇f = 2c·Rᵀr

Both terms of f are sums of squares: no cancellation, unlike the normal-equations form f₀ + g₀·w + ½wᵀXᵀXw,
which loses the digits of f where the fit is good. r is computed the way the residual X̃w − ỹ is (one
product and a difference), so f and ∇f agree with the whole-array code to rounding.

With numba (``symdescent[jit]``) one compiled pass reads each row of R's upper triangle once, while it is in
cache, for both products (rᵢ = Rᵢ·w − dᵢ, then ∇f += rᵢ·Rᵢ): n²/2 multiply-adds where numpy's two dense
products make 2n². It runs on one thread: at n = 500 a pass takes tens of µs, and a parallel region that
short is at the scheduler's mercy on a busy machine (measured with other work running: two threads took a
median 140 µs a call and up to 7 ms, one thread 41 µs; on an idle machine two threads took 23 µs, one 35).

When: a ``row_form`` (:mod:`symdescent.vectors.rows`) whose φ is of degree 2 in u with every aᵢ > 0, X at
least twice as tall as wide, of at least :data:`MIN_ENTRIES` and at most :data:`MAX_ENTRIES` entries (the QR
holds two more arrays of X's size while it runs), ``SYMDESCENT_KERNEL`` auto, and a step limit of at least
(1.5 + :data:`PAYBACK`)·n: the QR (about 2·m·n² operations) is made after 1.5·n steps, where it starts to pay,
if the run is still going (:func:`qr_evaluator`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import sympy as sp

from symdescent import interruptible, settings
from symdescent.vectors.problem import VectorProblem
from symdescent.vectors.rows import MIN_ENTRIES, RowForm, form_and_matrix

Evaluator = Callable[[np.ndarray], tuple[float, np.ndarray]]

#: Above this many entries in X (256 MB) the row pass or numpy runs: the QR's two arrays of X's size would not be
#: small beside the data any more.
MAX_ENTRIES = 1 << 25
#: Steps (× X's columns) after the hand-over that pay the QR back even where a step saves least (numpy's products,
#: X twice as tall as wide: half of a numpy step), so that a run to its max_steps is never the slower for it.
PAYBACK = 3
#: From this many columns the compiled pass pays for its call (below, numpy's products take microseconds).
MIN_COLUMNS = 64
#: Steps × n² from which the compiled pass pays for importing numba and loading it from the cache (about 1 s in a
#: new process): it saves about 0.1·n² ns a step against numpy's two products (n = 500: from 40,000 steps).
MIN_WORK = 10_000_000_000
#: A run that must first compile the pass (about 1.6 s, against 0.6 s to load it) pays for it only when this many
#: times as long.
FIRST_TIME = 3

TRIANGLE_SOURCE = '''"""symdescent: r = R·w − d, r·r and Rᵀr in one pass over the rows of an upper triangular R."""
import numba
CACHE = True


@numba.njit(nogil=True, cache=CACHE, fastmath={"reassoc"}, error_model="numpy")
def block(R, w, d, g):
    n = R.shape[0]
    for j in range(n):
        g[j] = 0.0
    f = 0.0
    i = 0
    while i + 4 <= n:  # four rows at once: w and ∇f are read once for the four
        k = i + 3  # columns from k are in all four rows; the corner before them is done entry by entry
        s0 = R[i, i] * w[i] + R[i, i + 1] * w[i + 1] + R[i, i + 2] * w[i + 2]
        s1 = R[i + 1, i + 1] * w[i + 1] + R[i + 1, i + 2] * w[i + 2]
        s2 = R[i + 2, i + 2] * w[i + 2]
        s3 = 0.0
        # slices from k, indices from 0: numba then knows them ≥ 0 and vectorises
        a0, a1, a2, a3, tail, into = R[i, k:], R[i + 1, k:], R[i + 2, k:], R[i + 3, k:], w[k:], g[k:]
        for j in range(tail.shape[0]):
            t = tail[j]
            s0 += a0[j] * t
            s1 += a1[j] * t
            s2 += a2[j] * t
            s3 += a3[j] * t
        r0, r1, r2, r3 = s0 - d[i], s1 - d[i + 1], s2 - d[i + 2], s3 - d[i + 3]
        f += r0 * r0 + r1 * r1 + r2 * r2 + r3 * r3
        g[i] += r0 * R[i, i]
        g[i + 1] += r0 * R[i, i + 1] + r1 * R[i + 1, i + 1]
        g[i + 2] += r0 * R[i, i + 2] + r1 * R[i + 1, i + 2] + r2 * R[i + 2, i + 2]
        for j in range(tail.shape[0]):
            into[j] += r0 * a0[j] + r1 * a1[j] + r2 * a2[j] + r3 * a3[j]
        i += 4
    while i < n:
        row, tail, into = R[i, i:], w[i:], g[i:]
        s = 0.0
        for j in range(row.shape[0]):
            s += row[j] * tail[j]
        r = s - d[i]
        f += r * r
        for j in range(row.shape[0]):
            into[j] += r * row[j]
        i += 1
    return f
'''


def _triangle_pass(R: np.ndarray, d: np.ndarray, steps: int) -> Callable[[np.ndarray], tuple[float, np.ndarray]] | None:
    """``w -> (r·r, Rᵀr)`` by the compiled pass, or None without numba, or where numpy's products are as fast
    (for ``steps`` more steps)."""
    if R.shape[0] < MIN_COLUMNS or steps * R.shape[0] ** 2 < MIN_WORK or settings.kernel_backend() != "auto":
        return None
    from symdescent.kernels.jit import have_numba
    from symdescent.vectors.rows import cached, compiled

    if not have_numba() or (steps * R.shape[0] ** 2 < MIN_WORK * FIRST_TIME and not cached(TRIANGLE_SOURCE)):
        return None
    kernel = compiled(TRIANGLE_SOURCE)
    first_done: list[bool] = []

    def squares(w: np.ndarray) -> tuple[float, np.ndarray]:
        g = np.empty(R.shape[0])
        if not first_done:  # the first call compiles: a Ctrl-C in numba's ctypes callbacks would be lost
            first_done.append(True)
            with interruptible.signals_held():
                return float(kernel(R, w, d, g)), g
        return float(kernel(R, w, d, g)), g

    return squares


def coefficients(form: RowForm) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    """φ = a·u² + b·u + c with a, b, c free of u (in the data symbols d0 …, k0 …), or None when it is not."""
    u = sp.Symbol("u", real=True)
    try:
        poly = sp.Poly(sp.expand(form.phi), u)
    except sp.PolynomialError:
        return None
    if poly.degree() != 2:
        return None
    a, b, c = poly.all_coeffs()
    return a, b, c


def _row_values(form: RowForm, exprs: tuple[sp.Expr, ...], data: Mapping[str, object], rows: int) -> list[np.ndarray]:
    """Each expression at every row, from the data vectors and scalars it names (numpy code, as for f)."""
    from symdescent.vectors.codegen import compile_arrays

    names = [f"d{k}" for k in range(len(form.vectors))] + [f"k{k}" for k in range(len(form.scalars))]
    values = [np.asarray(data[v], dtype=float) for v in form.vectors]
    values += [np.asarray(data[s], dtype=float) for s in form.scalars]  # floats: row_form checked them
    shapes = {**{n: (rows,) for n in names[: len(form.vectors)]}, **{n: () for n in names[len(form.vectors) :]}}
    fn = compile_arrays(list(exprs), names, shapes, [(rows,)] * len(exprs))
    return [np.broadcast_to(np.asarray(v, dtype=float), (rows,)) for v in fn(*values)]


def qr_evaluator(problem: VectorProblem, max_steps: int, before: Evaluator) -> Evaluator | None:
    """``w -> (f, ∇f)``: ``before`` for the first :func:`handover` steps, then from the thin QR; None where the
    QR never pays or does not apply (see the module's note).

    Why wait: the QR costs about as much as 1.4·n steps of numpy's (n = X's columns). A run that ends
    sooner (it converged) would pay it for nothing; one that goes on has paid at most twice the least
    it could (the ski-rental rule), and every later step costs a fraction. A run whose max_steps leave
    fewer than :data:`PAYBACK`·n steps after the hand-over keeps numpy: the QR could not pay itself back.
    """
    if settings.kernel_backend() != "auto":
        return None
    found = form_and_matrix(problem)
    if found is None or not math.isfinite(found[0].scale) or found[0].scale == 0:
        return None
    form, matrix = found
    rows, columns = matrix.shape
    after = handover(columns)
    if not MIN_ENTRIES <= matrix.size <= MAX_ENTRIES or rows < 2 * columns or max_steps < after + PAYBACK * columns:
        return None
    if coefficients(form) is None:
        return None
    calls = 0
    chosen: list[Evaluator] = []

    def evaluate(w: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal calls
        if chosen:
            return chosen[0](w)
        calls += 1
        if calls > after:  # the start and `after` steps are done: from here the QR pays
            chosen.append(factor(problem, max_steps - after) or before)
            return chosen[0](w)
        return before(w)

    return evaluate


def handover(columns: int) -> int:
    """Steps before the QR is made: about its cost in numpy steps (1.4·n measured at 2000×500)."""
    return 3 * columns // 2


def factor(problem: VectorProblem, steps: int) -> Evaluator | None:
    """``w -> (f, ∇f)`` from the thin QR of the problem's X, made now for at most ``steps`` steps; None when f is
    not of the form or a weight aᵢ is not positive."""
    found = form_and_matrix(problem)
    polynomial = None if found is None else coefficients(found[0])
    if found is None or polynomial is None:
        return None
    form, matrix = found
    rows = matrix.shape[0]
    a, b, c = _row_values(form, polynomial, problem.data, rows)
    with np.errstate(all="ignore"):
        if not (np.all(a > 0) and np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(np.isfinite(c))):
            return None
        q = np.sqrt(a)
        target = -b / (2 * a)
        kappa = float(np.sum(c - b * b / (4 * a)))
        X = q[:, None] * np.asarray(matrix, dtype=float)
        y = q * target
        Q, R = interruptible.call(np.linalg.qr, X)  # in a worker thread when X is large: Ctrl-C is heard
        d = Q.T @ y
        rho = float(np.sum((y - Q @ d) ** 2)) + kappa
    if not (np.all(np.isfinite(R)) and math.isfinite(rho)):
        return None
    scale, twice = form.scale, 2 * form.scale
    R, d = np.ascontiguousarray(np.triu(R)), np.ascontiguousarray(d)
    squares = _triangle_pass(R, d, steps)
    if squares is not None:

        def compiled(w: np.ndarray) -> tuple[float, np.ndarray]:
            rr, g = squares(w if w.flags.c_contiguous else np.ascontiguousarray(w))
            g *= twice
            return scale * (rr + rho), g

        return compiled
    RT = np.ascontiguousarray(R.T)

    def evaluate(w: np.ndarray) -> tuple[float, np.ndarray]:
        r = R @ w
        r -= d
        return scale * (float(r @ r) + rho), twice * (RT @ r)

    return evaluate
