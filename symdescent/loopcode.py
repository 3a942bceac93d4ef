"""The source of the compiled gd loop: the generated f and ∇f, rewritten for numba so that nothing changes a bit.

:mod:`symdescent.compiled` compiles it with numba; this module only writes
text (no numba, no SymPy), from a :class:`~symdescent.generated.Lowered`
(our printer's output, program names only: ``_x0``, ``_c1``…), so the loop
does exactly the operations the Python loop does, in the same order.

Where numba and CPython part ways, the rewrite makes numba *more* cautious,
never less: CPython raises on ``1/0``, on ``x**y`` and ``math.exp`` overflowing
and on a domain error, where numba would carry an infinity on (and ``1/inf``
could turn it back into a finite number). Each of those operations becomes a
helper that returns NaN instead of a non-finite result, and the loop hands
any non-finite step back to the Python loop, which words the ending as
always. Integer constants become floats (what CPython converts them to in
float arithmetic) and powers take a float exponent, so numba never
substitutes repeated multiplication for ``pow``. Anything else the printer
may write (``abs`` excepted: ``min``/``max``, conditionals, complex parts,
the special helpers) is not rewritten: such a function keeps the Python loop.
"""

from __future__ import annotations

import ast
import re

from symdescent.generated import Lowered

#: ``math`` functions the loop may call, each wrapped so that a non-finite result is NaN (see the module note).
#: Only functions numba takes from the same C library as CPython (tests/test_compiled_loop.py checks the bits).
MATH = ("sqrt", "exp", "log", "sin", "cos", "tan", "atan", "tanh", "sinh", "cosh", "asin", "acos", "log1p", "expm1")
_NAME = re.compile(r"_[xcps][0-9]+")
_EXACT = 2**53

#: Squared ‖∇f‖ at or beyond this goes back to Python (whose hypot does not overflow where g·g does).
HUGE = 1e300
#: ... and, when there is a tolerance, at or below this (where g·g loses precision to underflow).
TINY = 1e-280


class _Rewrite(ast.NodeTransformer):
    """Arithmetic as numba must see it; :class:`Unsupported` for anything else."""

    def generic_visit(self, node: ast.AST) -> ast.AST:
        raise Unsupported(type(node).__name__)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if not _NAME.fullmatch(node.id):
            raise Unsupported(node.id)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if type(value) is int and abs(value) <= _EXACT:
            return ast.Constant(float(value))
        if type(value) is float:
            return node
        raise Unsupported(repr(value))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise Unsupported(type(node.op).__name__)
        return ast.UnaryOp(node.op, self.visit(node.operand))

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            return ast.BinOp(left, node.op, right)
        if isinstance(node.op, ast.Div):
            return _call("_div", left, right)
        if isinstance(node.op, ast.Pow):
            return _call("_pow", left, right)
        raise Unsupported(type(node.op).__name__)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id == "math" and node.attr in ("pi", "e"):
            return ast.Constant(3.141592653589793 if node.attr == "pi" else 2.718281828459045)
        raise Unsupported(node.attr)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func
        if node.keywords or len(node.args) != 1:
            raise Unsupported("call")
        if isinstance(func, ast.Name) and func.id == "abs":
            return ast.Call(ast.Name("abs", ast.Load()), [self.visit(node.args[0])], [])
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "math"
            and func.attr in MATH
        ):
            return _call(f"_{func.attr}", self.visit(node.args[0]))
        raise Unsupported("call")

    def visit_Expression(self, node: ast.Expression) -> ast.AST:
        return ast.Expression(self.visit(node.body))


class Unsupported(Exception):
    """The generated code uses something the compiled loop does not reproduce bit for bit."""


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])


def _expression(source: str) -> str:
    tree = ast.parse(source, mode="eval")
    return ast.unparse(ast.fix_missing_locations(_Rewrite().visit(tree)))


def _statement(source: str) -> str:
    target, sep, value = source.partition(" = ")
    if not sep or not _NAME.fullmatch(target):
        raise Unsupported(source)
    return f"{target} = {_expression(value)}"


_HELPERS = """
@njit(cache=CACHE, error_model="numpy", nogil=True)
def _div(a, b):
    if b == 0.0:
        return math.nan
    return a / b


@njit(cache=CACHE, error_model="numpy", nogil=True)
def _pow(a, b):
    r = a ** b
    return r if math.isfinite(r) else math.nan
"""

_MATH_HELPER = """

@njit(cache=CACHE, error_model="numpy", nogil=True)
def _{name}(u):
    r = math.{name}(u)
    return r if math.isfinite(r) else math.nan
"""


def gd_source(lowered: Lowered, *, cache: bool) -> str | None:
    """A module defining ``gd_block(state, k, kend, lo, c) -> (k, code)``; None when f uses what it cannot do.

    ``state`` holds x then ∇f at step k and is updated in place. The block
    takes steps x ← x + c·∇f until step ``kend`` (code 0); it stops early at
    a step whose g·g is at or below ``lo`` (code 2: maybe converged, Python
    decides with ``hypot``), and at a step with a non-finite value, leaving
    ``state`` and k at the step before it (code 1: the Python loop takes over).
    """
    try:
        statements = [_statement(s) for s in lowered.statements]
        f_out, *g_out = (_expression(o) for o in lowered.outputs)
    except (Unsupported, SyntaxError, RecursionError):
        return None
    n = len(lowered.args)
    xs, gs = list(lowered.args), [f"_g{i}" for i in range(n)]
    qs, ns = [f"_q{i}" for i in range(n)], [f"_n{i}" for i in range(n)]
    squares = " + ".join(f"{v}*{v}" for v in ns)
    body = [
        *[f"{x} = state[{i}]" for i, x in enumerate(xs)],
        *[f"{g} = state[{n + i}]" for i, g in enumerate(gs)],
        "code = 0",
        "while k < kend:",
        *[f"    {q} = {x}" for q, x in zip(qs, xs, strict=True)],
        *[f"    {x} = {x} + c*{g}" for x, g in zip(xs, gs, strict=True)],
        *[f"    {line}" for line in statements],
        f"    _f = {f_out}",
        *[f"    {v} = {out}" for v, out in zip(ns, g_out, strict=True)],
        f"    _s = {squares}",
        f"    if not (math.isfinite(_f) and _s < {HUGE!r}):",
        *[f"        {x} = {q}" for x, q in zip(xs, qs, strict=True)],
        "        code = 1",
        "        break",
        "    k += 1",
        *[f"    {g} = {v}" for g, v in zip(gs, ns, strict=True)],
        f"    if lo >= 0.0 and (_s <= lo or _s <= {TINY!r}):",
        "        code = 2",
        "        break",
        *[f"state[{i}] = {x}" for i, x in enumerate(xs)],
        *[f"state[{n + i}] = {g}" for i, g in enumerate(gs)],
        "return k, code",
    ]
    text = "\n".join([*statements, f_out, *g_out])
    helpers = "".join(_MATH_HELPER.format(name=name) for name in MATH if f"_{name}(" in text)
    helpers = _HELPERS + helpers
    return (
        '"""symdescent: a generated gradient-descent loop (program names only)."""\n\n'
        "import math\n\nfrom numba import njit\n\n"
        f"CACHE = {cache!r}\n"
        f"{helpers}\n\n"
        '@njit(cache=CACHE, error_model="numpy", nogil=True)\n'
        "def gd_block(state, k, kend, lo, c):\n" + "".join(f"    {line}\n" for line in body)
    )
