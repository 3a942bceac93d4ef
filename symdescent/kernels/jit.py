"""Optional: the same chunk kernel as one numba-compiled loop (``pip install symdescent[jit]``).

The numpy kernel (:mod:`symdescent.kernels.codegen`) makes one pass over a
chunk per ufunc call; this one makes one pass in all, with the body and its
partials computed as scalars per entry, so it stays near memory speed. It has
exactly the numpy kernel's signature and results (to rounding), so the drivers
in :mod:`symdescent.kernels.chunks` run either. Its price is numba itself (a
large dependency) and about 1–2 s of compilation per function on first use,
which is why :func:`choose_backend` only picks it for long vectors.

The source is printed from the SymPy tree with the offset symbols renamed
``s0, s1, …`` and subexpressions ``c0, c1, …``: no user text reaches it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp

from symdescent import settings
from symdescent.errors import InputError, install_hint
from symdescent.kernels.terms import DifferentiatedTerm

#: ``SYMDESCENT_KERNEL=numpy|numba`` forces a backend; by default numba is used when installed and
#: n >= JIT_MIN_ENTRIES, where a step takes long enough for the compile time to be paid back in a few steps.
BACKEND_ENV = "SYMDESCENT_KERNEL"
JIT_MIN_ENTRIES = 50_000_000
BACKENDS = ("auto", "numpy", "numba")


def have_numba() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(requested: str, n: int) -> str:
    """``numpy`` or ``numba`` for a vector of n entries (``requested``: auto, numpy or numba; env overrides auto)."""
    if requested == "auto":
        requested = settings.kernel_backend()
    if requested not in BACKENDS:
        raise InputError(f"backend must be one of {', '.join(BACKENDS)}, got {requested!r}", parameter="backend")
    if requested == "numba" and not have_numba():
        raise InputError(
            "the numba kernel needs numba, which is not installed",
            hint=f"{install_hint('jit')}, or set {BACKEND_ENV}=numpy",
        )
    if requested == "auto":
        return "numba" if n >= JIT_MIN_ENTRIES and have_numba() else "numpy"
    return requested


def numba_source(terms: Sequence[DifferentiatedTerm], *, with_grad: bool) -> str:
    """One loop per term over its i in the chunk's reach: f from i in [a, b), g[j−a] += ∂body/∂x[j] at i = j − o."""
    name = "kernel" if with_grad else "value_kernel"
    lines = [f"def {name}(xw, lo, a, b, n, g):", "    f = 0.0"]
    if with_grad:
        lines += ["    for j in range(b - a):", "        g[j] = 0.0"]
    for index, term in enumerate(terms):
        rename = {s: sp.Symbol(f"s{k}") for k, s in enumerate(term.symbols)}
        outputs = [e.xreplace(rename) for e in ([term.body, *term.partials] if with_grad else [term.body])]
        replacements, reduced = sp.cse(outputs, symbols=sp.numbered_symbols(f"c{index}_"))
        reach = term.reach
        lines += [f"    # term {index}: offsets {term.offsets}", f"    I0 = max(0, a - {reach})"]
        lines += [f"    I1 = min(b, n - {reach})", "    for i in range(I0, I1):"]
        lines += [f"        s{k} = xw[i + {o} - lo]" for k, o in enumerate(term.offsets)]
        lines += [f"        {sym} = {_print(value)}" for sym, value in replacements]
        lines += ["        if i >= a:", f"            f += {_print(reduced[0])}"]
        for k, offset in enumerate(term.offsets if with_grad else ()):
            lines += [f"        if i + {offset} >= a and i + {offset} < b:"]
            lines += [f"            g[i + {offset} - a] += {_print(reduced[k + 1])}"]
    lines.append("    return f")
    return "\n".join(lines) + "\n"


def _print(expr: sp.Expr) -> str:
    # the registry's own functions SymPy cannot print (sigmoid, softplus, cbrt…) call the helpers below
    from symdescent.special import Special

    expr = expr.replace(
        lambda node: isinstance(node, Special), lambda node: sp.Function(f"_nb_{type(node).__name__}")(*node.args)
    )
    # floats for every number: integer powers stay integer exponents, which numba turns into multiplications
    return sp.pycode(
        expr.evalf(17) if not expr.is_Integer else sp.Float(expr),
        fully_qualified_modules=True,
        allow_unknown_functions=True,
    )


def _helpers() -> dict[str, Callable[[float], float]]:
    """The special functions as scalar Python code numba compiles (numba has no math.cbrt)."""
    from symdescent.generated import FLOAT_HELPERS

    def cbrt(u: float) -> float:
        return math.copysign(abs(u) ** (1.0 / 3.0), u)

    def log10(u: float) -> float:
        return math.log10(u)

    def log2(u: float) -> float:
        return math.log2(u)

    own = {"cbrt": cbrt, "log10": log10, "log2": log2}
    careful = {name.lstrip("_"): fn for name, fn in FLOAT_HELPERS.items()}  # _sigmoid, _softplus: no overflow
    return {f"_nb_{name}": fn for name, fn in {**own, **careful}.items()}


def helpers_source() -> str:
    """The helpers' definitions as module source, each njit-compiled: a cached module carries its own copy,
    so a change to a helper changes the module's text, and its place in the cache."""
    import inspect
    import textwrap

    parts = []
    for name, fn in _helpers().items():
        text = textwrap.dedent(inspect.getsource(fn)).replace(f"def {fn.__name__}(", f"def {name}(", 1)
        parts.append(f'@numba.njit(cache=CACHE, error_model="numpy")\n{text}')
    return "\n\n".join(parts)


def numba_module(body: str, *, cache: bool) -> str:
    """A module of generated numba code: imports, the helpers, then ``body`` (functions decorated by it)."""
    return f"import math\n\nimport numba\nimport numpy as np\n\nCACHE = {cache}\n\n{helpers_source()}\n\n{body}"


def load_numba(body: str, attribute: str) -> Any:
    """``attribute`` of the numba module ``body``: imported from the cache folder, so numba's machine code
    is kept for the next process; compiled in memory when the cache is off or cannot be used."""
    if settings.cache_enabled():
        from symdescent import numba_files

        loaded = numba_files.load(numba_module(body, cache=True), "kernels", attribute)
        if loaded is not None:
            return loaded
    from symdescent.generated import define  # the one place generated source is executed

    return define(numba_module(body, cache=False), attribute)


def compile_numba(terms: Sequence[DifferentiatedTerm]) -> tuple[Callable[..., float], Callable[..., float]]:
    """The gradient and value kernels, njit-compiled (lazily, on first call, per dtype)."""
    decorated = '@numba.njit(nogil=True, cache=CACHE, error_model="numpy")\n'  # 1/0 = inf, as numpy's kernel
    body = decorated + numba_source(terms, with_grad=True) + "\n\n" + decorated + numba_source(terms, with_grad=False)
    grad, value = load_numba(body + "\n\nkernels = (kernel, value_kernel)\n", "kernels")

    def grad_kernel(xw, lo, a, b, n, g, buffers):
        return grad(xw, lo, a, b, n, g)

    def value_kernel(xw, lo, a, b, n, buffers):
        return value(xw, lo, a, b, n, None)

    return grad_kernel, value_kernel
