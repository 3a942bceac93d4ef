"""exp and log as straight-line numba code, so that LLVM vectorises the loops that call them.

numba compiles ``math.exp`` and ``math.log`` to calls into the C library, one value at a time: a loop that
calls them cannot be vectorised (numba's SVML is not in llvmlite's wheels). These two are written with
arithmetic, bit moves and selects only, no branch and no call, so a loop over an array of them runs four
doubles per AVX2 instruction. Both are fdlibm's algorithms (the ones glibc's scalar code descends from),
correct to 1 ulp, with the C library's edges:

* :func:`vexp`: x = k·ln2 + r (Cody–Waite, ln2 in two parts), e^r by fdlibm's rational form on
  |r| ≤ ln2/2, times 2^k built from its exponent bits in two halves (so that overflow gives inf and
  underflow a subnormal or 0, rounded once). exp(inf) = inf, exp(-inf) = 0, exp(nan) = nan.
* :func:`vlog`: x = 2^k·m with m in [√½, √2) from the bits (subnormals scaled by 2^54 first),
  log m = 2·atanh(s) with s = (m−1)/(m+1) by fdlibm's polynomial in s². log(0) = -inf, log(x < 0) = nan,
  log(inf) = inf, log(nan) = nan.

k is rounded and turned into bits by adding 1.5·2^52 (its low bits are then k itself), never by a
float → int64 conversion, which AVX2 lacks. That addition must not be reassociated away: these
functions are compiled with fused multiply-adds as their only fastmath flag (:data:`JIT`), and LLVM keeps
their flags when it inlines them into a caller that reassociates.

The functions run as they are on numpy scalars (the tests compare both); :func:`numba_source` gives
their definitions for a generated module, :func:`vectorised` points its printed code at them.
"""

from __future__ import annotations

import inspect
import re
import textwrap

import numpy

#: How they are compiled in a generated module (which sets CACHE): fused multiply-adds, but no reassociation.
JIT = '@numba.njit(nogil=True, cache=CACHE, fastmath={"contract"}, error_model="numpy")'
#: The names the generated code calls, for the C library's functions they replace.
REPLACES = {"math.exp": "_vexp", "math.log": "_vlog"}


def vexp(x: float) -> float:
    """e^x to 1 ulp, branch-free (see the module's note)."""
    x = -760.0 if x < -760.0 else x  # past both ends the result is 0 or inf anyway; nan passes through
    x = 720.0 if x > 720.0 else x
    t = x * 1.4426950408889634 + 6755399441055744.0  # x/ln2 rounded to an integer, in t's low bits
    kd = t - 6755399441055744.0
    k = numpy.float64(t).view(numpy.int64) - 0x4338000000000000
    hi = x - kd * 6.93147180369123816490e-01  # ln2's first 32 bits: kd·ln2_hi is exact
    lo = kd * 1.90821492927058770002e-10
    r = hi - lo
    z = r * r
    p = z * (-1.65339022054652515390e-06 + z * 4.13813679705723846039e-08)
    c = r - z * (1.66666666666666019037e-01 + z * (-2.77777777770155933842e-03 + z * (6.61375632143793436117e-05 + p)))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    k1 = k >> 1  # 2^k as 2^k1 · 2^(k−k1): each factor a normal number for every k the clamps allow
    s1 = numpy.int64((k1 + 1023) << 52).view(numpy.float64)
    s2 = numpy.int64((k - k1 + 1023) << 52).view(numpy.float64)
    return y * s1 * s2


def vlog(x: float) -> float:
    """log x to 1 ulp, branch-free (see the module's note)."""
    tiny = x < 2.2250738585072014e-308  # subnormal (or 0, or negative: replaced below)
    scaled = x * 18014398509481984.0 if tiny else x
    ix = numpy.float64(scaled).view(numpy.int64) - 0x3FE6A09E667F3BCD  # bits of √½: m lands in [√½, √2)
    k = (ix >> 52) - (54 if tiny else 0)
    m = numpy.int64((ix & 0x000FFFFFFFFFFFFF) + 0x3FE6A09E667F3BCD).view(numpy.float64)
    kd = numpy.int64(k + 0x4338000000000000).view(numpy.float64) - 6755399441055744.0
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01))
    q = w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)
    t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01 + q))
    half = 0.5 * f * f
    y: float = kd * 6.93147180369123816490e-01 - ((half - (s * (half + t2 + t1) + kd * 1.90821492927058770002e-10)) - f)
    y = x if x == numpy.inf else y
    y = -numpy.inf if x == 0.0 else y
    return y if x >= 0.0 else numpy.nan


def numba_source(decorator: str = JIT) -> str | None:
    """The definitions of ``_vexp`` and ``_vlog`` for a generated module (which imports numpy), each under
    ``decorator``: it must not allow reassociation (see the module's note). None where this module's source
    is not installed (an install of bytecode only)."""
    parts = []
    for fn in (vexp, vlog):
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError):
            return None
        text = textwrap.dedent(source).replace(f"def {fn.__name__}(", f"def _{fn.__name__}(", 1)
        text = text.replace("x: float) -> float:", "x):")
        parts.append(f"{decorator}\n{text}")
    return "\n\n".join(parts)


_CALLS = re.compile(r"\bmath\.(exp|log)\(")


def vectorised(line: str) -> str:
    """Printed numba code with its ``math.exp(`` and ``math.log(`` calls made to the functions above."""
    return _CALLS.sub(lambda match: f"{REPLACES[match.group(0)[:-1]]}(", line)
