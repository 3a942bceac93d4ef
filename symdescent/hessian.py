"""The Hessian's story in one place: eigenvalues, step sizes, the kind of a point, a careful Cholesky.

``explain``, ``analyze`` and Newton's method all read the curvature of f
through this module, so they cannot disagree:

``eigenvalues(matrix)``
    ascending eigenvalues of a symmetric SymPy matrix, exact when SymPy finds
    them in radicals (n ≤ 4, no floats), else floats (rounding-level ones as 0); and whether exact.
``numeric_eigenvalues(rows)``
    the same for a numeric matrix, as floats (mpmath's symmetric solver).
``step_sizes(eigenvalues)``
    for gradient descent on the quadratic with these eigenvalues:
    L = max |λ|, the stability bound 2/λ_max and the fastest step
    2/(λ_min + λ_max) with its rate (λ_max − λ_min)/(λ_max + λ_min). Flat
    directions (λ = 0) do not move, so λ_min is the smallest *nonzero*
    eigenvalue: for (x + y)² (λ = 0, 4) the fastest step is 1/4.
``kind(eigenvalues, relative)``
    minimum, maximum, saddle or degenerate (an eigenvalue within
    ``relative`` of 0, relative to the largest).
``cholesky(matrix)``
    L with L Lᵀ = A, or None when a pivot is not clearly positive *relative
    to the matrix's scale*: a positive semidefinite, singular Hessian gives
    a pivot of rounding size, and solving with it would jump 10¹⁵ away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

Matrix = Sequence[Sequence[float]]

#: A Cholesky pivot at or below this fraction of the largest diagonal entry counts as zero.
PIVOT_RELATIVE = 1e-10
#: A numeric eigenvalue at or below this fraction of the largest |λ| is rounding and counts as 0:
#: the matrix's floats carry about 16 digits, so a singular H gives λ ≈ 1e-17·λ_max, not 0.
ROUNDING_RELATIVE = 1e-13


class StepSizes(NamedTuple):
    """What the eigenvalues say about gradient descent's step size α (None where there is none)."""

    lipschitz: Any  # L = max |λ|
    max_stable_lr: Any  # 2/λ_max, when λ_max > 0 and no λ < 0
    best_lr: Any  # 2/(λ_min + λ_max), λ_min the smallest nonzero eigenvalue, when no λ < 0
    best_rate: Any  # (λ_max − λ_min)/(λ_max + λ_min) at best_lr


def is_zero(value: Any) -> bool:
    """Whether λ is 0; also for the Float 0.0, which SymPy (since 1.13) does not count as == 0."""
    zero = getattr(value, "is_zero", None)
    return bool(zero) if zero is not None else value == 0


def _negative(value: Any) -> bool:
    return not is_zero(value) and float(value) < 0


def step_sizes(eigenvalues: Sequence[Any], simplify: Any = None) -> StepSizes:
    """L, the stability bound, the fastest α and its rate, from ascending eigenvalues (exact or float)."""
    if not eigenvalues:
        return StepSizes(None, None, None, None)
    tidy = simplify or (lambda v: v)
    lipschitz = max(eigenvalues, key=lambda v: abs(float(v)))
    lipschitz = -lipschitz if _negative(lipschitz) else lipschitz
    if _negative(eigenvalues[0]):
        return StepSizes(lipschitz, None, None, None)
    positive = [v for v in eigenvalues if not is_zero(v) and float(v) > 0]
    if not positive:
        return StepSizes(lipschitz, None, None, None)
    low, high = positive[0], positive[-1]
    return StepSizes(lipschitz, tidy(2 / high), tidy(2 / (low + high)), tidy((high - low) / (high + low)))


def rate(eigenvalues: Sequence[Any], lr: Any) -> Any:
    """max |1 − αλ| over the directions that curve (all of them when none is flat); 1 when none curves."""
    curving = [lam for lam in eigenvalues if not is_zero(lam)] or list(eigenvalues)
    return max((abs(1 - lr * lam) for lam in curving), key=float)


def kind(eigenvalues: Sequence[float], relative: float) -> str:
    """``minimum``, ``maximum``, ``saddle`` or ``degenerate`` (an eigenvalue ≈ 0) from the eigenvalues' signs."""
    scale = max([1.0, *(abs(v) for v in eigenvalues)])
    if any(abs(v) <= relative * scale for v in eigenvalues):
        return "degenerate"
    if all(v > 0 for v in eigenvalues):
        return "minimum"
    if all(v < 0 for v in eigenvalues):
        return "maximum"
    return "saddle"


def numeric_eigenvalues(rows: Sequence[Sequence[Any]], digits: int = 15) -> tuple[float, ...]:
    """Eigenvalues of a symmetric numeric matrix (floats, SymPy or mpmath numbers), ascending, as floats."""
    import mpmath

    with mpmath.workdps(digits):
        matrix = mpmath.matrix([[v if isinstance(v, float) else mpmath.mpf(str(v)) for v in row] for row in rows])
        values = mpmath.eigsy(matrix, eigvals_only=True)
        return tuple(sorted(float(v) for v in values))


def eigenvalues(matrix: Any) -> tuple[tuple[Any, ...], bool]:
    """Ascending eigenvalues of a symmetric SymPy matrix with multiplicity, and whether they are exact.

    Exact when SymPy finds them as real radicals (n ≤ 4, no floats in the
    matrix); otherwise SymPy Floats from :func:`numeric_eigenvalues`.
    """
    import sympy as sp

    if not matrix.has(sp.Float) and matrix.shape[0] <= 4:
        try:
            found = matrix.eigenvals()
            values = [sp.radsimp(sp.simplify(v)) for v in found]
            if all(v.is_real and not v.has(sp.CRootOf) for v in values):
                listed = [v for v, m in zip(values, found.values(), strict=True) for _ in range(m)]
                return tuple(sorted(listed, key=float)), True
        except (NotImplementedError, sp.polys.polyerrors.PolynomialError, TypeError, ValueError):
            pass
    if matrix.is_diagonal() and not matrix.has(sp.Float):
        return tuple(sorted(matrix.diagonal(), key=float)), True
    rows = [[entry.evalf(30) for entry in row] for row in matrix.tolist()]
    numeric = numeric_eigenvalues(rows, 30)
    scale = max(abs(v) for v in numeric)
    return tuple(sp.S.Zero if abs(v) <= ROUNDING_RELATIVE * scale else sp.Float(v, 15) for v in numeric), False


# -- Newton's linear algebra --------------------------------------------------------------


def cholesky(matrix: Matrix, relative: float = PIVOT_RELATIVE) -> list[list[float]] | None:
    """The lower-triangular L with L Lᵀ = A, or ``None`` when A is not clearly positive definite.

    A pivot must exceed ``relative`` times the largest diagonal entry: a
    singular positive semidefinite matrix leaves pivots of rounding size
    (1e-16), which are positive but would make the solution enormous.
    """
    n = len(matrix)
    scale = max((abs(matrix[i][i]) for i in range(n)), default=0.0)
    if not (math.isfinite(scale) and scale > 0):
        return None
    threshold = relative * scale
    lower = [[0.0] * n for _ in range(n)]
    for j in range(n):
        diagonal = matrix[j][j] - math.fsum(lower[j][k] ** 2 for k in range(j))
        if not (diagonal > threshold and math.isfinite(diagonal)):
            return None
        lower[j][j] = math.sqrt(diagonal)
        for i in range(j + 1, n):
            lower[i][j] = (matrix[i][j] - math.fsum(lower[i][k] * lower[j][k] for k in range(j))) / lower[j][j]
    return lower


def cholesky_solve(lower: Matrix, b: Sequence[float]) -> tuple[float, ...]:
    """Solve L Lᵀ x = b by forward and back substitution."""
    n = len(b)
    y = [0.0] * n
    for i in range(n):
        y[i] = (b[i] - math.fsum(lower[i][k] * y[k] for k in range(i))) / lower[i][i]
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (y[i] - math.fsum(lower[k][i] * x[k] for k in range(i + 1, n))) / lower[i][i]
    return tuple(x)


def solve_linear(matrix: Matrix, rhs: Sequence[float], relative: float = 1e-14) -> list[float] | None:
    """Gaussian elimination with partial pivoting (any nonsingular A); None when A is (numerically) singular."""
    n = len(rhs)
    a = [[*map(float, row), float(b)] for row, b in zip(matrix, rhs, strict=True)]
    scale = max((abs(v) for row in matrix for v in row), default=0.0)
    if not math.isfinite(scale) or scale == 0.0:
        return None
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) <= relative * scale:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for c in range(col, n + 1):
                a[r][c] -= factor * a[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x
