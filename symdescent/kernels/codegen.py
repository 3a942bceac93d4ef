"""Generate the chunk kernel: numpy ufunc calls with ``out=`` into preallocated buffers.

A kernel evaluates f's partial sum and the gradient on one chunk [a, b) of x
from a window ``xw`` = x[lo:hi] (lo = max(0, a − halo), hi = min(n, b + halo)),
with no allocation: every intermediate goes into one of the thread's
scratch buffers ``B[k]`` (each as long as a chunk plus the halo), reused as
soon as its value is dead. Its signature is the whole contract with the
drivers (:mod:`symdescent.kernels.chunks`)::

    kernel(xw, lo, a, b, n, g, B) -> float   # sum of the bodies with i in [a, b); g[:] = ∇f[a:b]
    value_kernel(xw, lo, a, b, n, B) -> float

The kernel knows nothing about threads, in-place updates or where the window
came from, so any engine that hands it overlapping blocks (Dask's
``map_overlap`` with depth = halo) can run it unchanged.

The source is printed from the SymPy tree (after ``cse``): only fixed names
(``s0``, ``t3``, ``C[2]``) and numbers passed in a constants list reach it,
never user text. Why numpy ufuncs rather than numexpr or numba: see the
README's "Large vectors" section (measured).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from symdescent import budget
from symdescent.functions import array_functions, array_namespace
from symdescent.kernels.terms import DifferentiatedTerm

# Every function of the registry (symdescent.functions.FUNCTIONS) is called as the array function it names,
# ``numpy.sin(s0, out=t0)`` or ``_af_sigmoid(s0, out=t0)``: one table for this engine and the whole-array one.

BINARY_FUNCTIONS: dict[type, str] = {sp.Max: "maximum", sp.Min: "minimum"}


class Unsupported(ValueError):
    """The body uses something the kernel cannot evaluate elementwise."""


@dataclass
class Operand:
    """An emitted value: a constant (code is ``C[k]``), a view of x, or a scratch buffer."""

    code: str
    kind: str  # "const" | "view" | "temp" (dies at its one use) | "named" (a cse value, freed when dead)
    buffer: int = -1


@dataclass
class Emitter:
    """Turns SymPy expressions into ufunc calls, allocating scratch buffers like registers."""

    views: dict[sp.Symbol, str]
    constants: list[float]
    lines: list[str] = field(default_factory=list)
    free: list[int] = field(default_factory=list)
    used: int = 0
    named: dict[sp.Symbol, Operand] = field(default_factory=dict)

    # -- buffers ----------------------------------------------------------------------
    def new_buffer(self) -> int:
        if self.free:
            return self.free.pop()
        self.used += 1
        return self.used - 1

    def release(self, operand: Operand) -> None:
        if operand.kind in ("temp", "named"):
            self.free.append(operand.buffer)

    def target(self, *inputs: Operand) -> Operand:
        """The output buffer: an input temp that dies here, else a fresh one."""
        for op in inputs:
            if op.kind == "temp":
                for other in inputs:
                    # another temp dies here too; a named (cse) value lives on until _drop_dead frees it
                    # (freeing it here as well put its buffer twice on the free list: two live values shared it)
                    if other is not op and other.kind == "temp":
                        self.release(other)
                return op
        buffer = self.new_buffer()
        return Operand(f"t{buffer}", "temp", buffer)

    def const(self, value: Any) -> Operand:
        try:
            number = complex(value)
        except TypeError:  # zoo, nan and the like
            raise Unsupported(f"the constant {value} is not a finite number") from None
        if number.imag != 0:
            raise Unsupported(f"complex constant {value}")
        self.constants.append(float(number.real))
        return Operand(f"C[{len(self.constants) - 1}]", "const")

    def call(self, ufunc: str, *args: Operand) -> Operand:
        out = self.target(*args)
        name = ufunc if "." in ufunc or ufunc.startswith("_af_") else f"np.{ufunc}"
        self.lines.append(f"{name}({', '.join(a.code for a in args)}, out={out.code})")
        return out

    # -- expressions --------------------------------------------------------------------
    def emit(self, expr: sp.Expr) -> Operand:
        """Code for ``expr``; the result is owned by the caller (release it when dead)."""
        if expr in self.named:
            return self.named[expr]
        if expr in self.views:
            return Operand(self.views[expr], "view")
        if not (expr.free_symbols & (set(self.views) | set(self.named))):
            return self.const(sp.N(expr, 17))
        if isinstance(expr, sp.Add):
            return self.emit_add(expr)
        if isinstance(expr, sp.Mul):
            return self.emit_mul(expr)
        if isinstance(expr, sp.Pow):
            return self.emit_pow(expr)
        function = array_functions().get(type(expr))
        if function is not None:
            return self.call(function[0], *(self.emit(a) for a in expr.args))
        if type(expr) in BINARY_FUNCTIONS:
            return self.fold(BINARY_FUNCTIONS[type(expr)], expr.args)
        raise Unsupported(f"the kernel engine cannot evaluate {type(expr).__name__}")

    def fold(self, ufunc: str, args: Sequence[sp.Expr]) -> Operand:
        acc = self.emit(args[0])
        for arg in args[1:]:
            acc = self.call(ufunc, acc, self.emit(arg))
        return acc

    def emit_add(self, expr: sp.Add) -> Operand:
        const, rest = expr.as_coeff_Add()
        plus = [a for a in sp.Add.make_args(rest) if not a.could_extract_minus_sign()]
        minus = [-a for a in sp.Add.make_args(rest) if a.could_extract_minus_sign()]
        if plus:
            acc = self.emit(plus[0])
            for arg in plus[1:]:
                acc = self.call("add", acc, self.emit(arg))
        elif const != 0:  # c − u in one call
            acc = self.call("subtract", self.const(const), self.emit(minus.pop(0)))
            const = sp.Integer(0)
        else:
            acc = self.call("negative", self.emit(minus.pop(0)))
        for arg in minus:
            acc = self.call("subtract", acc, self.emit(arg))
        if const != 0:
            acc = self.call("add", acc, self.const(const))
        return acc

    def emit_mul(self, expr: sp.Mul) -> Operand:
        coeff, rest = expr.as_coeff_Mul()
        factors = sp.Mul.make_args(rest)
        numer = [f for f in factors if not (f.is_Pow and f.exp.is_number and f.exp.is_negative)]
        denom = [1 / f for f in factors if f not in numer]
        acc = self.fold("multiply", numer) if numer else None
        for d in denom:
            if acc is None:
                acc = self.call("divide", self.const(coeff), self.emit(d))
                coeff = sp.Integer(1)
            else:
                acc = self.call("divide", acc, self.emit(d))
        assert acc is not None  # a Mul with a free symbol has a factor besides its number
        if coeff == -1:
            acc = self.call("negative", acc)
        elif coeff != 1:
            acc = self.call("multiply", acc, self.const(coeff))
        return acc

    def emit_pow(self, expr: sp.Pow) -> Operand:
        base, exp = expr.args
        if exp == 2:
            return self.call("square", self.emit(base))
        if exp == sp.Rational(1, 2):
            return self.call("sqrt", self.emit(base))
        if exp == -1:
            return self.call("reciprocal", self.emit(base))
        if exp == 3 and base.free_symbols:
            b = self.emit(base)
            sq = self.call("square", b if b.kind != "temp" else Operand(b.code, "view"))  # keep b alive
            return self.call("multiply", sq, b)
        return self.call("power", self.emit(base), self.emit(exp))


@dataclass(frozen=True)
class Kernels:
    """The generated chunk functions, how many scratch buffers they need, and their source."""

    grad: Callable[..., float]
    value: Callable[..., float]
    buffers: int
    source: str


def generate(terms: Sequence[DifferentiatedTerm]) -> Kernels:
    """Print and compile the gradient kernel and the value-only kernel for ``terms``."""
    constants: list[float] = []
    grad_lines, grad_buffers = _kernel_body(terms, constants, with_grad=True)
    value_lines, value_buffers = _kernel_body(terms, constants, with_grad=False)
    buffers = max(grad_buffers, value_buffers, 1)
    source = "\n".join(
        [
            "def kernel(xw, lo, a, b, n, g, B):",
            "    f = 0.0",
            "    ginit = False",
            *grad_lines,
            "    if not ginit:",
            "        g.fill(0)",
            "    return f",
            "",
            "def value_kernel(xw, lo, a, b, n, B):",
            "    f = 0.0",
            *value_lines,
            "    return f",
            "",
        ]
    )
    from symdescent.generated import define  # the one place generated source is executed

    pair = define(
        source + "\nkernels = (kernel, value_kernel)\n",
        "kernels",
        {**array_namespace(), "np": np, "C": tuple(constants)},
    )
    kernel: Callable[..., float]
    value_kernel: Callable[..., float]
    kernel, value_kernel = pair  # define() returns the tuple the source built
    return Kernels(kernel, value_kernel, buffers, source)


def _kernel_body(
    terms: Sequence[DifferentiatedTerm], constants: list[float], *, with_grad: bool
) -> tuple[list[str], int]:
    lines: list[str] = []
    used = 0
    for index, term in enumerate(terms):
        budget.check("generating the kernel")
        reach = term.reach
        views = {s: f"s{k}" for k, s in enumerate(term.symbols)}
        outputs = [term.body, *term.partials] if with_grad else [term.body]
        replacements, reduced = sp.cse(outputs, symbols=sp.numbered_symbols(f"_cse{index}_"), optimizations=None)
        em = Emitter(views, constants)
        body_lines: list[str] = []
        last_use = _last_uses(replacements, reduced)
        for step, (name, value) in enumerate(replacements):
            budget.tick("generating the kernel", 64)
            op = em.emit(value)
            em.named[name] = Operand(op.code, "named", op.buffer) if op.kind == "temp" else op
            _drop_dead(em, last_use, step)
        for k, out in enumerate(reduced):
            op = em.emit(out)
            at = len(replacements) + k
            code = op.code if op.kind != "const" else None
            if k == 0:
                em.lines.append(f"f += {_body_sum(code, op)}")
            else:
                offset = term.offsets[k - 1]
                em.lines.extend(_contribution(offset, code, op))
            if op.kind == "temp":
                em.release(op)
            _drop_dead(em, last_use, at)
        body_lines = em.lines
        used = max(used, em.used)
        lines.append(f"    # term {index}: offsets {term.offsets}")
        lines.append(f"    I0 = max(0, a - {reach}); I1 = min(b, n - {reach})")
        lines.append("    if I1 > I0:")
        lines.append("        k = I1 - I0")
        for k, offset in enumerate(term.offsets):
            lines.append(f"        s{k} = xw[I0 + {offset} - lo:I1 + {offset} - lo]")
        lines.extend(f"        t{b} = B[{b}][:k]" for b in range(em.used))
        lines.extend("        " + line for line in body_lines)
    return lines, used


def _last_uses(replacements: list[tuple[sp.Symbol, sp.Expr]], reduced: list[sp.Expr]) -> dict[sp.Symbol, int]:
    last: dict[sp.Symbol, int] = {}
    for step, expr in enumerate([v for _, v in replacements] + list(reduced)):
        for name, _ in replacements:
            if expr.has(name):
                last[name] = step
    return last


def _drop_dead(em: Emitter, last_use: dict[sp.Symbol, int], step: int) -> None:
    for name, at in last_use.items():
        if at == step and name in em.named:
            em.release(em.named.pop(name))


def _body_sum(code: str | None, op: Operand) -> str:
    if code is None:  # a constant body: value times the number of i in [a, I1)
        return f"{op.code} * max(0, k - (a - I0))"
    return f"float({code}[a - I0:].sum(dtype=np.float64))"


def _contribution(offset: int, code: str | None, op: Operand) -> list[str]:
    """Add ∂body/∂x[i+offset] at i = j − offset into g[j − a] for the j this chunk and term cover."""
    lines = [f"j0 = max(a, I0 + {offset}); j1 = min(b, I1 + {offset})", "if j1 > j0:"]
    src = f"{code}[j0 - {offset} - I0:j1 - {offset} - I0]" if code else op.code
    lines += [
        "    if ginit:",
        f"        np.add(g[j0 - a:j1 - a], {src}, out=g[j0 - a:j1 - a])",
        "    else:",
        "        ginit = True",
        "        if j0 != a or j1 != b:",
        "            g.fill(0)",
        f"        g[j0 - a:j1 - a] = {src}",
    ]
    return lines
