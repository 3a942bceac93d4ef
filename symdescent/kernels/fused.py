"""The fused step: f, ∇f, ‖∇f‖ and the optimiser's update in ONE numba pass over x (``symdescent[jit]``).

The chunked numpy step (:mod:`symdescent.kernels.chunks`) reads x many times per chunk (once per
ufunc call) and the update rule of :mod:`symdescent.kernels.steps` again; this kernel reads each entry
of x and of the optimiser's state once and writes it once per step, so a step costs what memory
bandwidth allows. Layout, with R the halo (the largest offset)::

    x  = | block 0 | block 1 | ... |     one segment [A, B) per call, blocks of ``chunk`` entries in prange
    block = | tile | tile | ... |        a tile (``TILE`` entries) and its R-wide halos stay in L1

Each tile copies old x[t0 − R, t1 + R) into a small window (the left part is the old tail of the
tile before, kept as the carry; past the block's end it is a copy of the next block's head taken
before the parallel loop), evaluates every term's body and partials from the window into tile-sized
arrays, then sums each ∇f_j in the numpy kernel's order (terms, then ascending offsets) and applies
the method's rule, ufunc by ufunc as :mod:`~symdescent.kernels.steps` writes it, so both give the
same numbers to rounding. f and Σ g² are summed per block and added in block order: the result does
not depend on the number of threads. Between segments (about 4·10⁶ entries) the driver reports
progress; a segment's left halo is the copy of its old predecessor's tail.

Compilation: about 2.5 s of CPU per function on its first step ever, every method at once; the kernel's
module is kept in the cache folder (:mod:`symdescent.numba_files`), so later runs load numba's machine
code instead. The ``auto`` backend still picks numba only for long vectors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from symdescent.interruptible import signals_held
from symdescent.kernels.chunks import Sweeper
from symdescent.kernels.jit import _print, load_numba
from symdescent.kernels.steps import ArrayStep
from symdescent.kernels.terms import DifferentiatedTerm

#: Entries per tile: the window, the partials and the tile of x fit in L1/L2 together.
TILE = 512

#: LLVM may reassociate the sums (f, Σ g²) to vectorise them; no flag that assumes finite numbers (a
#: diverging run must still see inf and nan).
FASTMATH = {"reassoc"}

#: A division by zero gives inf or nan, as in the numpy kernel (the run then ends ``diverged``), where Python's
#: model raised ZeroDivisionError ("internal error", exit 1); its check also kept LLVM from vectorising the loops.
ERROR_MODEL = "numpy"

#: Entries per call of the kernel: progress (and Ctrl-C, between steps) every few milliseconds.
SEGMENT = 1 << 22

#: Per method (its index is the kernel's ``method``): the scalars (in order, read from ``P``), the state
#: arrays and the rule, one statement per ufunc call of :mod:`symdescent.kernels.steps` (``xi`` old x_j, ``g`` ∇f_j).
RULES: dict[str, tuple[tuple[str, ...], int, tuple[str, ...]]] = {
    "gd": (("lr",), 0, ("u = g * lr", "x[j] = xi - u")),
    "momentum": (
        ("lr", "mu"),
        1,
        ("v = S0[j] * mu", "v = v + g", "S0[j] = v", "u = v * lr", "x[j] = xi - u"),
    ),
    "nesterov": (
        ("lr", "mu"),
        1,
        ("v = S0[j] * mu", "v = v + g", "S0[j] = v", "u = v * mu", "u = g + u", "u = u * lr", "x[j] = xi - u"),
    ),
    "adam": (
        ("lr", "b1", "nb1", "b2", "nb2", "c1", "c2", "eps"),
        2,
        (
            "m = S0[j] * b1",
            "u = g * nb1",
            "m = m + u",
            "S0[j] = m",
            "v = S1[j] * b2",
            "u = g * g",
            "u = u * nb2",
            "v = v + u",
            "S1[j] = v",
            "u = v / c2",
            "u = math.sqrt(u)",
            "u = u + eps",
            "w = m / c1",
            "w = w / u",
            "w = w * lr",
            "x[j] = xi - w",
        ),
    ),
    "rmsprop": (
        ("lr", "rho", "nrho", "eps"),
        1,
        ("v = S0[j] * rho", "u = g * g", "u = u * nrho", "v = v + u", "S0[j] = v", *("SCALED",)),
    ),
    "adagrad": (("lr", "eps"), 1, ("u = g * g", "v = S0[j] + u", "S0[j] = v", "SCALED")),
}
SCALED = ("u = math.sqrt(v)", "u = u + eps", "u = g / u", "u = u * lr", "x[j] = xi - u")


def parameters(update: ArrayStep) -> list[float]:
    """The rule's scalars for this step, in the order of :data:`RULES` (after ``update.begin()``)."""
    p = update.params
    values: dict[str, Any] = {"lr": update.lr, "mu": p.get("momentum"), "eps": p.get("eps")}
    if update.name == "adam":
        values.update(b1=p["beta1"], nb1=1 - p["beta1"], b2=p["beta2"], nb2=1 - p["beta2"])
        values.update(c1=update.c1, c2=update.c2)  # type: ignore[attr-defined]
    if update.name == "rmsprop":
        values.update(rho=p["decay"], nrho=1 - p["decay"])
    return [float(values[name]) for name in RULES[update.name][0]]


def fused_source(terms: Sequence[DifferentiatedTerm], halo: int) -> str:
    """The kernel ``fused(x, S0, S1, method, P, A, B, left, right, n, after, out)`` for ``terms``.

    ``method`` is the index of the rule in :data:`RULES` (one compilation serves them all), ``P`` its scalars.

    Updates x[A:B] (and the state) in place; ``left`` is old x[A − R:A] and ``right`` old x[B:B + R]
    (copies: other threads may be writing there); ``out`` receives f, Σ g², and with ``after`` (halo 0
    only) f and Σ g² at the updated entries.
    """
    R = halo
    partial_names = [[f"P{t}_{o}" for o in term.offsets] for t, term in enumerate(terms)]
    lines = [
        "def fused(x, S0, S1, method, P, A, B, left, right, n, after, out):",
        f"    win = np.empty({TILE + 2 * R + 1}, x.dtype)",
        *[f"    {p} = np.zeros({TILE + R + 1}, x.dtype)" for row in partial_names for p in row],
        "    f = 0.0",
        "    gsq = 0.0",
        "    fa = 0.0",
        "    ga = 0.0",
        f"    for q in range({R}):",
        "        win[q] = left[q]",
        f"    for t0 in range(A, B, {TILE}):",
        f"        t1 = min(t0 + {TILE}, B)",
        "        span = t1 - t0",
        f"        top = min(t1 + {R}, B)",
        "        xv = x[t0:t1]",
        "        S0v = S0[t0:t1]",
        "        S1v = S1[t0:t1]",
        "        ahead = x[t0:top]",
        f"        wv = win[{R}:]",
        "        for r in range(top - t0):",
        "            wv[r] = ahead[r]",
        "        for r in range(top - t0, span + R_):".replace("R_", str(R)),
        "            wv[r] = right[t0 + r - B]",
        f"        base = t0 - {R}  # window and partial index q <-> i = base + q",
    ]
    for t, term in enumerate(terms):
        lines += _term_lines(t, term, partial_names[t], R)
    # every loop over a tile runs r from 0 over views: numba then drops its negative-index checks and vectorises
    views = [
        (f"{p}v", f"{p}[{R - o}:]")
        for t, term in enumerate(terms)
        for p, o in zip(partial_names[t], term.offsets, strict=True)
    ]
    lines += [f"        {v} = {src}" for v, src in views]
    for code, (names, _, steps) in enumerate(RULES.values()):
        rule = [line for step in steps for line in (SCALED if step == "SCALED" else (step,))]
        rule = [line.replace("S0[j]", "S0v[r]").replace("S1[j]", "S1v[r]").replace("x[j]", "xv[r]") for line in rule]
        lines += [f"        {'if' if code == 0 else 'elif'} method == {code}:"]
        lines += [f"            {name} = P[{k}]" for k, name in enumerate(names)]
        lines += ["            for r in range(span):", "                xi = wv[r]"]
        lines += ["                g = " + " + ".join(f"{v}[r]" for v, _ in views), "                gsq += g * g"]
        lines += ["                " + line for line in rule]
    if R == 0:
        lines += ["        if after:", "            for r in range(span):", "                s0 = xv[r]"]
        for t, term in enumerate(terms):
            lines += _after_lines(t, term)
        lines += ["                ga_j = " + " + ".join(f"ga_{t}" for t in range(len(terms)))]
        lines += ["                ga += ga_j * ga_j"]
    lines += [f"        for q in range({R}):", "            win[q] = win[span + q]"]
    lines += ["    out[0] = f", "    out[1] = gsq", "    out[2] = fa", "    out[3] = ga"]
    return "\n".join(lines) + "\n"


def _cse(t: int, term: DifferentiatedTerm) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    rename = {s: sp.Symbol(f"s{o}") for s, o in zip(term.symbols, term.offsets, strict=True)}
    outputs = [e.xreplace(rename) for e in (term.body, *term.partials)]
    replacements, reduced = sp.cse(outputs, symbols=sp.numbered_symbols(f"c{t}_"))
    return replacements, list(reduced)


def _term_lines(t: int, term: DifferentiatedTerm, partials: list[str], R: int) -> list[str]:
    """Body and partials of term t at every i of the tile's reach: partials into P{t}_o[i − base]."""
    replacements, reduced = _cse(t, term)
    pad = "            "
    lines = [
        f"        # term {t}: offsets {term.offsets}",
        "        lo = max(base, 0)",
        f"        hi = min(t1, n - {term.reach})",
        "        for q in range(0, min(lo, t1) - base):",
        *[f"            {p}[q] = 0.0" for p in partials],
        f"        for q in range(max(hi - base, 0), span + {R}):",
        *[f"            {p}[q] = 0.0" for p in partials],
    ]
    for first, last, f_too in (("lo", "min(t0, hi)", False), ("max(lo, t0)", "hi", True)):
        lines += [f"        q0 = {first} - base", f"        count = {last} - {first}"]
        lines += [f"        W{o} = win[q0 + {o}:]" for o in term.offsets]
        lines += [f"        {p}v = {p}[q0:]" for p in partials]
        lines += ["        for r in range(count):"]
        lines += [f"{pad}s{o} = W{o}[r]" for o in term.offsets]
        lines += [f"{pad}{sym} = {_print(value)}" for sym, value in replacements]
        if f_too:
            lines.append(f"{pad}f += {_print(reduced[0])}")
        lines += [f"{pad}{p}v[r] = {_print(reduced[k + 1])}" for k, p in enumerate(partials)]
    return lines


def _after_lines(t: int, term: DifferentiatedTerm) -> list[str]:
    """Halo 0: f and Σ g² at the updated entry x[j] (still in cache), for a run's convergence test."""
    replacements, reduced = _cse(t, term)
    pad = "                "
    lines = [f"{pad}{sym} = {_print(value)}" for sym, value in replacements]
    return [*lines, f"{pad}fa += {_print(reduced[0])}", f"{pad}ga_{t} = {_print(reduced[1])}"]


def compile_fused(terms: Sequence[DifferentiatedTerm], halo: int) -> Callable[..., None]:
    """The fused kernel, njit-compiled without the GIL (lazily, per dtype; kept in the cache): threads run blocks.

    Its exp and log are :mod:`~symdescent.kernels.vector_math`'s, branch-free, so that LLVM vectorises
    the tile loops that call them (the C library's, one entry at a time, made ``sum(exp(x) - x)`` at 10⁷
    slower than the numpy kernel); the C library's where their source is not installed.
    """
    from symdescent.kernels import vector_math

    decorated = f"@numba.njit(nogil=True, cache=CACHE, fastmath={FASTMATH!r}, error_model={ERROR_MODEL!r})\n"
    body = decorated + fused_source(terms, halo)
    vector = vector_math.vectorised(body)
    definitions = vector_math.numba_source() if vector != body else None
    if definitions is not None:
        body = f"import numpy\n\n\n{definitions}\n\n\n{vector}"
    kernel: Callable[..., None] = load_numba(body, "fused")
    return kernel


class FusedStepper:
    """Runs the fused kernels of one function over x: one compiled kernel per method, blocks on threads."""

    def __init__(self, terms: Sequence[DifferentiatedTerm], halo: int, sweeper: Sweeper) -> None:
        self.terms, self.halo, self.sweeper = terms, halo, sweeper
        self._kernel: Callable[..., None] | None = None
        self._stepped = False
        #: how far the step in progress has got (0..1), None between steps
        self.fraction_done: float | None = None

    @property
    def kernel(self) -> Callable[..., None]:
        """The compiled kernel (every method; numba compiles it on the first call for each dtype)."""
        if self._kernel is None:
            self._kernel = compile_fused(self.terms, self.halo)
        return self._kernel

    def step(
        self, x: np.ndarray, update: ArrayStep, *, after: bool = False, progress: Callable[[float], None] | None = None
    ) -> tuple[float, float, float, float]:
        """f, Σ g² at x and (``after``) at the updated x, with x and the state updated in place."""
        kernel, method = self.kernel, list(RULES).index(update.name)
        n, R = x.shape[0], self.halo
        state = [*update.state, x[:0], x[:0]]
        P = np.array(parameters(update), dtype=x.dtype)
        blocks = self.sweeper.blocks(n)
        # old values at block edges, copied before any thread writes
        edges = [(_padded(x, a - R, a, R), _padded(x, b, b + R, R)) for a, b in blocks]
        done = [0] * len(blocks)

        def run(index: int) -> list[float]:
            a, b = blocks[index]
            left, right = edges[index]
            out, totals = np.zeros(4), [0.0] * 4
            for lo in range(a, b, SEGMENT):
                hi = min(lo + SEGMENT, b)
                # halos of a segment inside the block: old x[hi:hi + R] (this block's entries, else the copy of
                # the next block's), and the next segment's left one, old x[hi − R:hi], taken before this call
                ahead = right if hi == b else _joined(x[hi : min(b, hi + R)], right, R, at_end=False)
                following = _joined(left, x[max(lo, hi - R) : hi], R, at_end=True)
                kernel(x, state[0], state[1], method, P, lo, hi, left, ahead, n, after, out)
                totals = [t + float(v) for t, v in zip(totals, out, strict=True)]
                left = following
                done[index] += hi - lo
                if index == 0:  # only the calling thread reports
                    self.fraction_done = min(1.0, sum(done) / n)
                    if progress is not None:
                        progress(self.fraction_done)
            return totals

        first = not self._stepped  # the first call compiles: a Ctrl-C in numba's ctypes callbacks would be lost
        self._stepped = True
        with np.errstate(all="ignore"), signals_held() if first else contextlib.nullcontext():
            results = self.sweeper.on_threads(run, len(blocks))
        self.fraction_done = None
        if progress is not None:
            progress(1.0)
        sums = [sum(r[c] for r in results) for c in range(4)]
        return sums[0], sums[1], sums[2], sums[3]


def _padded(x: np.ndarray, start: int, stop: int, width: int) -> np.ndarray:
    """A copy of x[start:stop] in an array of ``width`` + 1 entries (zeros where the range leaves x)."""
    out = np.zeros(width + 1, x.dtype)
    lo, hi = max(start, 0), min(stop, x.shape[0])
    if hi > lo:
        out[lo - start : hi - start] = x[lo:hi]
    return out


def _joined(first: np.ndarray, second: np.ndarray, width: int, *, at_end: bool) -> np.ndarray:
    """``width`` (+ 1) entries of first then second: the last ``width`` (``at_end``) or the first ``width``."""
    out = np.zeros(width + 1, first.dtype)
    if at_end:  # first is a halo of ``width`` + 1 (its first ``width`` count), second the entries after it
        m = min(width, second.shape[0])
        out[: width - m] = first[m:width]
        out[width - m : width] = second[second.shape[0] - m :]
    else:  # first: entries, second: a halo that continues them
        m = min(width, first.shape[0])
        out[:m] = first[:m]
        out[m:width] = second[: width - m]
    return out
