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
from typing import Any

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


#: Each method's state after x and ∇f in the block's ``state`` array (one entry per variable each; adam's step
#: count last), its parameters in ``p``, and its update as the generic loop computes it (symdescent/optimizers):
#: ``{r}`` the ascent direction (−∇f when maximising), ``{u}`` the step added to x, ``{i}`` the coordinate.
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "gd": ((), ("c",), ("{u} = c*{g}",)),
    "momentum": (("_v",), ("fac", "decay", "neg"), ("_v{i} = decay*_v{i} + {r}", "{u} = fac*_v{i}")),
    "nesterov": (
        ("_v",),
        ("fac", "decay", "neg"),
        ("_v{i} = decay*_v{i} + {r}", "{u} = fac*({r} + decay*_v{i})"),
    ),
    "adam": (
        ("_m", "_w"),
        ("fac", "b1", "b2", "eps", "neg"),
        (
            "_m{i} = b1*_m{i} + (1.0 - b1)*{r}",
            "_w{i} = b2*_w{i} + (1.0 - b2)*{r}*{r}",
            "{u} = fac*_div(_div(_m{i}, 1.0 - _pow(b1, _t)), _sqrt(_div(_w{i}, 1.0 - _pow(b2, _t))) + eps)",
        ),
    ),
    "rmsprop": (
        ("_w",),
        ("fac", "decay", "eps", "neg"),
        ("_w{i} = decay*_w{i} + (1.0 - decay)*{r}*{r}", "{u} = fac*_div({r}, _sqrt(_w{i}) + eps)"),
    ),
    "adagrad": (("_w",), ("fac", "eps", "neg"), ("_w{i} = _w{i} + {r}*{r}", "{u} = fac*_div({r}, _sqrt(_w{i}) + eps)")),
}


def block_source(lowered: Lowered, method: str = "gd", *, cache: bool) -> str | None:
    """A module defining ``block(state, k, kend, lo, p) -> (k, code)``; None when f uses what it cannot do.

    ``state`` holds x, ∇f, the method's state (see :data:`RULES`) and f at step k, updated in
    place; ``p`` the method's parameters. The block takes steps until step ``kend`` (code 0); it stops
    early at a step whose g·g is at or below ``lo`` (code 2: maybe converged, Python decides with
    ``hypot``), and at a step with a non-finite value, or (but for gd, whose fused loop does not
    count them) one that leaves x and f as they were, leaving ``state`` and k at the step before it
    (code 1: the Python loop takes over). ``rows(state, k, kend, lo, p, out, every) -> (k, code, r)``
    does the same and also writes the r steps k with k % every == 0 into ``out``, one row of x, f, ∇f each
    (``out`` has room for the (kend − k) // every + 1 of them), for the outputs that print steps.
    """
    try:
        statements = [_statement(s) for s in lowered.statements]
        f_out, *g_out = (_expression(o) for o in lowered.outputs)
    except (Unsupported, SyntaxError, RecursionError):
        return None
    arrays, params, rules = RULES[method]
    n = len(lowered.args)
    xs, gs = list(lowered.args), [f"_g{i}" for i in range(n)]
    held = [*xs, *gs, *[f"{a}{i}" for a in arrays for i in range(n)], *(["_t"] if method == "adam" else [])]
    saved = [f"_q{j}" for j in range(len(held))]
    ns = [f"_n{i}" for i in range(n)]
    direction = "{g}" if method == "gd" else "_r{i}"
    update = [
        *([f"_r{i} = -_g{i} if neg else _g{i}" for i in range(n)] if method != "gd" else []),
        *(["_t = _t + 1.0"] if method == "adam" else []),
        *[
            rule.format(i=i, g=f"_g{i}", r=direction.format(i=i, g=f"_g{i}"), u=f"_u{i}")
            for i in range(n)
            for rule in rules
        ],
        *[f"{x} = {x} + _u{i}" for i, x in enumerate(xs)],
    ]
    unchanged = " and ".join([*(f"{x} == {q}" for x, q in zip(xs, saved, strict=False)), "_f == _f0"])
    squares = " + ".join(f"{v}*{v}" for v in ns)
    # ``rows`` also writes x, f and ∇f of every step k with k % every == 0 into ``out`` (the output's rows)
    record = [
        "    if k % every == 0:",
        *[f"        out[r, {j}] = {v}" for j, v in enumerate([*xs, "_f", *gs])],
        "        r += 1",
    ]

    def body(rows: bool) -> list[str]:
        return [
            *[f"{name} = p[{j}]" for j, name in enumerate(params)],
            *[f"{name} = state[{j}]" for j, name in enumerate(held)],
            f"_f0 = state[{len(held)}]",
            "code = 0",
            *(["r = 0"] if rows else []),
            "while k < kend:",
            *[f"    {q} = {name}" for q, name in zip(saved, held, strict=True)],
            *[f"    {line}" for line in update],
            *[f"    {line}" for line in statements],
            f"    _f = {f_out}",
            *[f"    {v} = {out}" for v, out in zip(ns, g_out, strict=True)],
            f"    _s = {squares}",
            f"    if not (math.isfinite(_f) and _s < {HUGE!r}){'' if method == 'gd' else f' or ({unchanged})'}:",
            *[f"        {name} = {q}" for name, q in zip(held, saved, strict=True)],
            "        code = 1",
            "        break",
            "    k += 1",
            "    _f0 = _f",
            *[f"    {g} = {v}" for g, v in zip(gs, ns, strict=True)],
            *(record if rows else []),
            f"    if lo >= 0.0 and (_s <= lo or _s <= {TINY!r}):",
            "        code = 2",
            "        break",
            *[f"state[{j}] = {name}" for j, name in enumerate(held)],
            f"state[{len(held)}] = _f0",
            "return k, code, r" if rows else "return k, code",
        ]

    text = "\n".join([*statements, *update, f_out, *g_out])
    helpers = "".join(_MATH_HELPER.format(name=name) for name in MATH if f"_{name}(" in text)
    jit = '@njit(cache=CACHE, error_model="numpy", nogil=True)\n'
    return (
        '"""symdescent: a generated optimisation loop (program names only)."""\n\n'
        "import math\n\nfrom numba import njit\n\n"
        f"CACHE = {cache!r}\n"
        f"{_HELPERS}{helpers}\n\n"
        f"{jit}def block(state, k, kend, lo, p):\n"
        + "".join(f"    {line}\n" for line in body(False))
        + f"\n\n{jit}def rows(state, k, kend, lo, p, out, every):\n"
        + "".join(f"    {line}\n" for line in body(True))
    )


# -- which optimisers the loop reproduces, and their state as floats ---------------------------------


def plain_rule(optimizer: Any) -> tuple[str, list[float]] | None:
    """``(method, p)`` when ``optimizer`` is exactly one of :data:`RULES` built by its recipe; None otherwise.

    The hyperparameters are read from the pieces themselves (what the update really uses), not from
    ``params``; an optimiser that only bears the name, or any wrapper, is not recognised.
    """
    from symdescent.optimizers.base import Scale

    update = optimizer.update
    if optimizer.needs_extra:
        return None
    if type(update) is Scale:
        return "gd", [update.factor]
    if getattr(update, "__code__", None) is not _codes()["chain"]:
        return None
    transforms = _closure(update).get("transforms")
    if not (isinstance(transforms, tuple) and len(transforms) == 2 and type(transforms[1].update) is Scale):
        return None
    piece, factor = transforms[0].update, transforms[1].update.factor
    kind = next((k for k, code in _codes().items() if code is getattr(piece, "__code__", None)), None)
    cells = _closure(piece)
    if kind == "trace":
        method, values = ("nesterov" if cells["nesterov"] else "momentum"), [factor, cells["decay"]]
    elif kind == "adam":
        method, values = "adam", [factor, cells["b1"], cells["b2"], cells["eps"]]
    elif kind == "rms":
        method, values = "rmsprop", [factor, cells["decay"], cells["eps"]]
    elif kind == "adagrad":
        method, values = "adagrad", [factor, cells["eps"]]
    else:
        return None
    if not all(type(v) in (float, int) and abs(v) <= _EXACT for v in values):
        return None
    return method, [float(v) for v in values]


def _closure(function: Any) -> dict[str, Any]:
    cells = getattr(function, "__closure__", None) or ()
    return dict(zip(function.__code__.co_freevars, (c.cell_contents for c in cells), strict=True))


def _codes() -> dict[str, Any]:
    """The code objects of the recipes' updates (every closure a recipe makes shares its code)."""
    from symdescent.optimizers import base, first_order

    return {
        "chain": base.chain().update.__code__,
        "trace": first_order.trace(0.5).update.__code__,
        "adam": first_order.scale_by_adam(0.5, 0.5, 1.0).update.__code__,
        "rms": first_order.scale_by_rms(0.5, 1.0).update.__code__,
        "adagrad": first_order.scale_by_adagrad(1.0).update.__code__,
    }


def pack_state(method: str, state: Any) -> list[float] | None:
    """The method's state (a chain's) as the block's floats after x and ∇f; None if it is not all floats."""
    if method == "gd":
        return []
    inner = state.inner[0]
    values = [*inner.mu, *inner.nu, float(inner.steps)] if method == "adam" else list(inner[0])
    return values if all(type(v) is float for v in values) else None


def unpack_state(method: str, optimizer: Any, x: tuple[float, ...], values: list[float]) -> Any:
    """The chain's state from the block's floats (the inverse of :func:`pack_state`)."""
    state = optimizer.init(x)
    if method == "gd":
        return state
    n, inner = len(x), state.inner[0]
    if method == "adam":
        inner = inner._replace(mu=tuple(values[:n]), nu=tuple(values[n : 2 * n]), steps=int(values[2 * n]))
    else:
        inner = inner._replace(**{inner._fields[0]: tuple(values[:n])})
    return state._replace(inner=(inner, *state.inner[1:]))
