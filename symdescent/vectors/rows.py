"""Row-wise losses from data in one compiled pass over the rows (``symdescent[jit]``): f and ∇f together.

A loss such as ``mean(log(1 + exp(-y * (X @ w))))`` is c·Σᵢ φ(uᵢ, yᵢ …) with u = X @ w: the
whole-array code makes a numpy pass per operation (X @ w, the products, exp, log, the sum, the
quotient, Xᵀ @ r: about eight passes over n-vectors and two over X). Here one numba loop takes each row
Xᵢ once, while it is in cache::

    uᵢ = Xᵢ·w      f += φ(uᵢ, yᵢ)      g += φ'(uᵢ, yᵢ)·Xᵢ

and φ and φ' share their subexpressions (one exp for log(1 + e) and e/(1 + e)). Within a tile of rows,
u takes four rows at a time (four sums in flight, each wⱼ loaded once), then φ and φ' run as one short loop
per subexpression, and exp and log are the branch-free ones of
:mod:`symdescent.kernels.vector_math`: LLVM vectorises these loops (four rows per AVX2 instruction),
where the C library's exp and log went one row at a time (for logistic regression, φ's share of a call
fell by about half). The rows are cut into
:data:`BLOCKS` fixed blocks run in ``prange``, each with its partial f and ∇f, added in block order:
the numbers do not depend on the number of threads, and agree with the whole-array code to rounding.

gd takes its steps in blocks (:meth:`RowPass.steps`, about 20 ms of work a call): one compiled call runs the
rule, the pass and ‖∇f‖ for many steps, and the run hands them out one by one. Around a pass of 100–150 µs,
the loop's Python cost 25–35 µs a step, more than in a loop without the pass, whose streaming of X evicts the
interpreter's data from the caches; the numbers are the same bit for bit (tests).

When: :func:`rows_evaluator` recognises the form (one vector variable w, f a constant times the sum or
mean of an elementwise expression in X @ w, data vectors of X's length and data scalars; no function
of the registry that numba lacks), numba is installed, ``SYMDESCENT_KERNEL`` is not ``numpy``, X has
at most :data:`MAX_COLUMNS` columns, and the run is long enough to pay for numba (its import, and its
compilation on first use, which the cache keeps: :mod:`symdescent.numba_files`). Otherwise, or for
other data (mini-batches), the whole-array code runs as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symdescent import interruptible, settings
from symdescent.vectors.nodes import VMatMul, VMean, VNode, VSum
from symdescent.vectors.problem import VectorProblem

#: Rows are summed in this many fixed blocks (spread over the threads): the result never depends on them.
BLOCKS = 16
#: Rows per tile: 32 rows of up to 128 entries stay in L1 between the product and the update of ∇f.
TILE = 32
#: Wider X stays on numpy: a tile of 64 rows no longer fits in cache, and BLAS's products win (2000×500 measured
#: 0.28 ms a step against numpy's 0.21).
MAX_COLUMNS = 128
#: Below this many entries in X a numpy step is a few microseconds: numba's call costs as much.
MIN_ENTRIES = 50_000
#: max_steps × entries of X from which the compiled pass pays for importing numba and loading the pass from the
#: cache (about 1 s in a new process; :data:`FIRST_TIME` for the first, which compiles it): it saves about 0.3 ns a step
#: per entry of X (measured: logistic 10000×50 over 2000 steps took 1.85 s with it against 1.25 s without).
MIN_WORK = 2_500_000_000
#: A run that must first compile the pass (about 3–4 s more than loading it: the logistic loss's took 3.8 s) pays
#: for it only when this many times as long.
FIRST_TIME = 4

Evaluator = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class RowForm:
    """f = scale · Σᵢ φ(uᵢ, vectors, scalars) with u = matrix @ variable."""

    matrix: str
    scale: float
    vectors: tuple[str, ...]
    scalars: tuple[str, ...]
    phi: sp.Expr  # in the symbols u, d0, d1 … (vectors), k0, k1 … (scalars)


def row_form(problem: VectorProblem) -> RowForm | None:
    """The form above, or None when f is anything else."""
    if type(problem) is not VectorProblem or len(problem.names) != 1 or problem.dtype != "float64":
        return None
    variable = problem.names[0]
    if len(problem.shapes.get(variable, ())) != 1:
        return None
    factors = sp.Mul.make_args(problem.formula.expr)
    reductions = [a for a in factors if isinstance(a, VSum | VMean)]
    if len(reductions) != 1:
        return None
    reduction = reductions[0]
    coefficient = sp.Mul(*(a for a in factors if a is not reduction))  # a number, or of data scalars: 0.5/λ
    constants = {s: problem.data.get(str(s)) for s in coefficient.free_symbols}
    if not all(isinstance(v, float) for v in constants.values()):
        return None
    coefficient = coefficient.xreplace({s: sp.Float(v) for s, v in constants.items()})
    products = {n for n in sp.preorder_traversal(reduction) if isinstance(n, VMatMul)}
    if len(products) != 1:
        return None
    product = products.pop()
    matrix, operand = product.args
    if not (isinstance(matrix, sp.Symbol) and operand == sp.Symbol(variable, real=True)):
        return None
    shape = problem.shapes.get(matrix.name, ())
    data_matrix = problem.data.get(matrix.name)
    if len(shape) != 2 or not isinstance(data_matrix, np.ndarray):
        return None
    u = sp.Symbol("u", real=True)
    body = reduction.args[0].xreplace({product: u})
    if any(isinstance(n, VNode) for n in sp.preorder_traversal(body)):
        return None
    vectors: list[str] = []
    scalars: list[str] = []
    rename: dict[sp.Basic, sp.Symbol] = {}
    for symbol in sorted(body.free_symbols - {u}, key=str):
        name = str(symbol)
        value = problem.data.get(name)
        if isinstance(value, float):
            rename[symbol] = sp.Symbol(f"k{len(scalars)}", real=True)
            scalars.append(name)
        elif isinstance(value, np.ndarray) and value.shape == (shape[0],):
            rename[symbol] = sp.Symbol(f"d{len(vectors)}", real=True)
            vectors.append(name)
        else:
            return None  # the variable itself outside X @ w, or a vector of another length
    rows = shape[0] if isinstance(reduction, VMean) else 1
    scale = float(coefficient) / rows
    return RowForm(matrix.name, scale, tuple(vectors), tuple(scalars), body.xreplace(rename))


def form_and_matrix(problem: VectorProblem) -> tuple[RowForm, np.ndarray] | None:
    """The row form and its data matrix X, or None when f is not of the form."""
    form = row_form(problem)
    if form is None:
        return None
    matrix = problem.data[form.matrix]
    assert isinstance(matrix, np.ndarray)  # row_form checked it
    return form, matrix


def phi_loops(form: RowForm, *, vector: bool = True) -> tuple[list[str], list[str]] | None:
    """φ and φ' over a tile of k = t1 − t0 rows (u[i] holds uᵢ on entry, φ'ᵢ on exit; f adds up φᵢ; the data
    vectors are their tile's slices a0t, a1t …) and the tile arrays they use; None when φ calls a function numba
    cannot compile.

    One loop per common subexpression, each from 0 over slices: simple enough for LLVM to vectorise (exp and
    log are :mod:`symdescent.kernels.vector_math`'s, four rows per instruction on AVX2) and short enough that
    the processor overlaps its iterations. One loop with all of φ in it was latency-bound (about 25 % slower),
    and loops indexed from t0 were not vectorised (least squares' φ took 20 µs of a call instead of 7).
    ``vector=False`` keeps the C library's exp and log (the benchmark's reference).
    """
    from symdescent.kernels import vector_math
    from symdescent.kernels.jit import _print

    u = sp.Symbol("u", real=True)
    replacements, (value, slope) = sp.cse([form.phi, sp.diff(form.phi, u)], symbols=sp.numbered_symbols("c"))
    i = sp.Symbol("i", integer=True)
    row = {u: sp.IndexedBase("u")[i]}
    row.update({sp.Symbol(f"d{k}", real=True): sp.IndexedBase(f"a{k}t")[i] for k in range(len(form.vectors))})
    row.update({symbol: sp.IndexedBase(str(symbol))[i] for symbol, _ in replacements})
    targets = [f"{symbol}[i] =" for symbol, _ in replacements] + ["f +=", "u[i] ="]  # f: a vectorised sum
    values = [_print(e.xreplace(row)) for e in [*(e for _, e in replacements), value, slope]]
    if any("_nb_" in text for text in values):
        return None
    lines = [f"a{k}t = a{k}[t0:t1]" for k in range(len(form.vectors))]
    for target, text in zip(targets, values, strict=True):
        lines += ["for i in range(t1 - t0):", f"    {target} {vector_math.vectorised(text) if vector else text}"]
    return lines, [str(symbol) for symbol, _ in replacements]


def kernel_source(form: RowForm, *, vector: bool = True) -> str | None:
    """The numba module (``block`` is the kernel), or None when φ uses a function numba cannot compile."""
    from symdescent.kernels import vector_math

    phi = phi_loops(form, vector=vector)
    if phi is None:
        return None
    loops, temporaries = phi
    uses = any(f"{name}(" in line for line in loops for name in vector_math.REPLACES.values())
    definitions = vector_math.numba_source() if uses else ""
    if definitions is None:  # their source is not installed (bytecode only): the C library's exp and log
        return kernel_source(form, vector=False)
    helpers = [definitions.rstrip(), "", ""] if uses else []
    arrays = [f"a{k}" for k in range(len(form.vectors))]
    scalars = [f"k{k}" for k in range(len(form.scalars))]
    arguments = ", ".join(["X", "w", "scale", "g", "parts", "totals", *arrays, *scalars])
    shared = ", ".join(["X", "scale", "parts", "totals", *arrays, *scalars])  # steps' own: block's but w and g
    jit = '@numba.njit(nogil=True, cache=CACHE, fastmath={"reassoc"}, error_model="numpy")'
    lines = [
        '"""symdescent: a row-wise loss and its gradient in one pass over the rows (generated)."""',
        "import math",
        "import numba",
        "import numpy",
        "CACHE = True",
        f"TILE = {TILE}",
        "",
        "",
        *helpers,
        jit.replace("nogil=True", "parallel=True, nogil=True"),
        f"def block({arguments}):",
        "    n, m = X.shape",
        "    blocks = totals.shape[0]",
        "    size = (n + blocks - 1) // blocks",
        "    for b in numba.prange(blocks):",
        "        part = parts[b]",
        "        for j in range(m):",
        "            part[j] = 0.0",
        "        f = 0.0",
        "        lo, hi = b * size, min(n, (b + 1) * size)",
        *(f"        {name} = numpy.empty(TILE)" for name in ["u", *temporaries]),
        "        for t0 in range(lo, hi, TILE):  # a tile of rows stays in L1 from u = X @ w to ∇f += r·X",
        "            t1 = min(hi, t0 + TILE)",
        "            i = t0",
        "            while i + 4 <= t1:  # four rows per pass over w: four sums in flight, w loaded once",
        "                X0, X1, X2, X3 = X[i], X[i + 1], X[i + 2], X[i + 3]",
        "                s0 = s1 = s2 = s3 = 0.0",
        "                for j in range(m):",
        "                    wj = w[j]",
        "                    s0 += X0[j] * wj",
        "                    s1 += X1[j] * wj",
        "                    s2 += X2[j] * wj",
        "                    s3 += X3[j] * wj",
        "                u[i - t0], u[i - t0 + 1], u[i - t0 + 2], u[i - t0 + 3] = s0, s1, s2, s3",
        "                i += 4",
        "            while i < t1:",
        "                row = X[i]",
        "                s = 0.0",
        "                for j in range(m):",
        "                    s += row[j] * w[j]",
        "                u[i - t0] = s",
        "                i += 1",
        *(f"            {line}" for line in loops),
        "            i = t0",
        "            while i + 4 <= t1:  # four rows per pass over the partial ∇f",
        "                X0, X1, X2, X3 = X[i], X[i + 1], X[i + 2], X[i + 3]",
        "                r0, r1, r2, r3 = u[i - t0], u[i - t0 + 1], u[i - t0 + 2], u[i - t0 + 3]",
        "                for j in range(m):",
        "                    part[j] += r0 * X0[j] + r1 * X1[j] + r2 * X2[j] + r3 * X3[j]",
        "                i += 4",
        "            while i < t1:",
        "                row, r = X[i], u[i - t0]",
        "                for j in range(m):",
        "                    part[j] += r * row[j]",
        "                i += 1",
        "        totals[b] = f",
        "    for j in range(m):",
        "        total = 0.0",
        "        for b in range(blocks):",
        "            total += parts[b, j]",
        "        g[j] = scale * total",
        "    f = 0.0",
        "    for b in range(blocks):",
        "        f += totals[b]",
        "    return scale * f",
        "",
        "",
        '@numba.njit(nogil=True, cache=CACHE, error_model="numpy")',
        f"def steps(z, g0, lr, sign, tol, W, G, F, N, {shared}):",
        '    """gd steps from z (∇f g0): W[k] the point, G[k] ∇f, F[k] f, N[k] ‖∇f‖; how many were taken."""',
        "    count, m = W.shape",
        "    w_prev, g_prev = z, g0",
        "    for k in range(count):",
        "        w, g = W[k], G[k]",
        "        for j in range(m):  # the gd rule as numpy computes it: x − (±g)·α",
        "            w[j] = w_prev[j] - (sign * g_prev[j]) * lr",
        f"        f = block({arguments})",
        "        s = 0.0",
        "        for j in range(m):",
        "            s += g[j] * g[j]",
        "        norm = math.sqrt(s)",
        "        F[k], N[k] = f, norm",
        "        if not (math.isfinite(f) and math.isfinite(norm)) or norm <= tol:",
        "            return k + 1",
        "        w_prev, g_prev = w, g",
        "    return count",
        "",
        "",
        "KERNELS = (block, steps)",
        "",
    ]
    return "\n".join(lines)


def rows_evaluator(problem: VectorProblem, max_steps: int) -> Evaluator | None:
    """``z -> (f, ∇f)`` by the compiled pass, or None where the whole-array code runs (see the module's note)."""
    backend = settings.kernel_backend()
    if backend == "numpy":
        return None
    found = form_and_matrix(problem)
    if found is None:
        return None
    form, matrix = found
    small = matrix.size < MIN_ENTRIES or max_steps * matrix.size < MIN_WORK
    if backend == "auto" and (small or matrix.shape[1] > MAX_COLUMNS):
        return None
    from symdescent.kernels.jit import have_numba

    source = kernel_source(form)
    if source is None or not have_numba():
        return None
    if backend == "auto" and max_steps * matrix.size < MIN_WORK * FIRST_TIME and not cached(source, "steps"):
        return None  # the first run must compile it: it would be the slower for the pass
    return RowPass(compiled(source, "KERNELS"), form, matrix, problem)


#: Steps per call of :meth:`RowPass.steps`: entries of X × steps, about 20 ms of work (signals are heard between calls).
BLOCK_WORK = 50_000_000
#: At most this many steps per call.
BLOCK_STEPS = 256


class RowPass:
    """``z -> (f, ∇f)`` by the compiled pass, and :meth:`steps`: many gd steps in one compiled call.

    The loop of a run costs 25–35 µs a step in Python around a 100–150 µs pass (measured inside
    ``minimize``: the pass evicts the interpreter's data from the caches every time); gd's steps taken in
    blocks by numba cost the pass alone, and give the same numbers (the rule is computed as numpy does).
    """

    def __init__(self, kernels: Any, form: RowForm, matrix: np.ndarray, problem: VectorProblem) -> None:
        (self.block, self.run_steps), self.form = kernels, form
        self.X = np.ascontiguousarray(matrix, dtype=float)
        self.vectors = [np.ascontiguousarray(problem.data[v], dtype=float) for v in form.vectors]
        self.scalars = [float(np.asarray(problem.data[s])) for s in form.scalars]
        self.parts, self.totals = np.empty((BLOCKS, self.X.shape[1])), np.empty(BLOCKS)
        # decided once: in a worker thread (a Ctrl-C then stops it at once) only when a pass takes milliseconds
        large = interruptible.entries((self.X, *self.vectors)) >= interruptible.THREAD_MIN_ENTRIES
        self.call = interruptible.call if large else None
        self.block_steps = max(1, min(BLOCK_STEPS, BLOCK_WORK // self.X.size))
        self._called: set[str] = set()

    def _run(self, function: Callable[..., Any], *arguments: Any) -> Any:
        name = function.__name__
        if name not in self._called:  # the first call compiles: a Ctrl-C in numba's ctypes callbacks would be lost
            self._called.add(name)
            with interruptible.signals_held():
                return function(*arguments)
        if self.call is None:
            return function(*arguments)
        return self.call(function, *arguments)

    def _arguments(self, w: np.ndarray, g: np.ndarray) -> tuple[Any, ...]:
        return (self.X, w, self.form.scale, g, self.parts, self.totals, *self.vectors, *self.scalars)

    def __call__(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        g = np.empty(self.X.shape[1])
        w = z if z.flags.c_contiguous else np.ascontiguousarray(z)
        return float(self._run(self.block, *self._arguments(w, g))), g

    def steps(
        self, z: np.ndarray, g: np.ndarray, count: int, lr: float, sign: float, tol: float
    ) -> list[tuple[np.ndarray, float, np.ndarray, float]]:
        """Up to ``count`` gd steps from z (where ∇f = g): (point, f, ∇f, ‖∇f‖) each; fewer when one is not
        finite or ‖∇f‖ ≤ tol (tol > 0), so that no step past the run's end is computed."""
        W, G = np.empty((count, z.size)), np.empty((count, z.size))
        F, N = np.empty(count), np.empty(count)
        taken = self._run(
            self.run_steps,
            np.ascontiguousarray(z, dtype=float),
            np.ascontiguousarray(g, dtype=float),
            lr,
            sign,
            tol if tol > 0 else -1.0,
            W,
            G,
            F,
            N,
            self.X,
            self.form.scale,
            self.parts,
            self.totals,
            *self.vectors,
            *self.scalars,
        )
        return [(W[k], float(F[k]), G[k], float(N[k])) for k in range(int(taken))]


_LOADED: dict[tuple[str, str], Any] = {}


def cached(source: str, function: str = "block") -> bool:
    """Whether the kernel ``source`` is compiled already: in this process, or in the cache folder by an earlier run."""
    from symdescent import numba_files

    in_process = any(key[0] == source for key in _LOADED)
    return in_process or (settings.cache_enabled() and numba_files.is_compiled(source, "kernels", function))


def compiled(source: str, attribute: str = "block") -> Any:
    """``attribute`` of the kernel module ``source``, from the cache folder (compiled there once), else compiled
    in memory."""
    from symdescent import numba_files
    from symdescent.generated import define  # the one place generated source is executed

    known = _LOADED.get((source, attribute))
    if known is None:
        loaded: Any = numba_files.load(source, "kernels", attribute) if settings.cache_enabled() else None
        known = loaded or define(source.replace("CACHE = True", "CACHE = False"), attribute)
        _LOADED[source, attribute] = known
    return known
