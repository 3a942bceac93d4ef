"""The kernel engine: functions of one huge vector, evaluated chunk by chunk, in place.

For f(x) = constant + Σ_terms Σ_i body(x[i+o] for o in offsets) (see
:class:`BandTerm`), :func:`compile_banded` differentiates each body once with
SymPy and generates a chunk kernel of numpy ufunc calls into preallocated,
cache-sized buffers; :class:`BandedFunction` runs it over x with one thread
per core (``SYMDESCENT_THREADS`` limits them), writing the gradient or the
optimiser's update in place. Memory: x, the optimiser's state
(:mod:`symdescent.kernels.steps`) and a few chunk-sized buffers per thread.

Modules: ``terms`` (the form and its derivatives), ``codegen`` (the kernel),
``chunks`` (chunks, halos, threads, progress), ``steps`` (fused optimiser
updates), ``jit`` and ``fused`` (the optional numba kernel, and the numba step
that does f, ∇f and the update in one pass over x), ``banded`` (the public
function object), ``run`` (the loop).
"""

from symdescent.kernels.banded import DTYPES, BandedFunction, compile_banded
from symdescent.kernels.chunks import THREADS_ENV, max_threads
from symdescent.kernels.run import run_banded
from symdescent.kernels.steps import ARRAY_STEPS, make_step, state_bytes
from symdescent.kernels.terms import BandTerm

__all__ = [
    "ARRAY_STEPS",
    "DTYPES",
    "THREADS_ENV",
    "BandTerm",
    "BandedFunction",
    "compile_banded",
    "make_step",
    "max_threads",
    "run_banded",
    "state_bytes",
]
