"""Derivatives in vector form, derived once from the formula (never per entry).

Two rules do all the work:

- :func:`vjp` (reverse mode) gives ∇ₓf for a vector x: the adjoint flows
  from f down to x through each node's rule — ``sum(v)`` passes it on,
  ``‖v‖`` multiplies it by v/‖v‖, ``M @ v`` by Mᵀ, ``uᵀv`` by the other
  factor, an elementwise expression by its SymPy partial derivative
  (the elementwise chain rule), an index sum gives its banded gradient.
- :func:`jvp` (forward mode) gives ∂f/∂a for a scalar a, and H·v (the
  Hessian times a direction) for explain, analyze and Newton.

Elementwise parts are differentiated by SymPy with every vector node
replaced by a plain symbol, so the cost depends on the formula, not on n.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from symdescent import budget
from symdescent.errors import InputError
from symdescent.vectors import nodes as vn
from symdescent.vectors.nodes import depends_on, entries, entry, kind, leaves

Kinds = Mapping[str, int]


def resolve(expr: sp.Expr, kinds: Kinds) -> sp.Expr:
    """Give ``@`` its meaning from the kinds: vector @ vector is a dot product, vector @ M is Mᵀv."""
    if not isinstance(expr, sp.Basic) or not expr.args or isinstance(expr, vn.VIndexSum):
        return expr
    args = [resolve(a, kinds) for a in expr.args]
    if isinstance(expr, vn.VTranspose) and kind(args[0], kinds) < 2:
        return args[0]  # a vector is its own transpose (as in numpy): transpose(x) @ A @ x is x @ A @ x
    if isinstance(expr, vn.VMatMul):
        left, right = args
        kl, kr = kind(left, kinds), kind(right, kinds)
        if kl == 0 or kr == 0:
            raise InputError(
                f"'@' needs vectors or matrices on both sides, but {_text(left if kl == 0 else right)} is a scalar",
                hint="use * to multiply by a scalar",
            )
        if kl == 1 and kr == 1:
            return vn.VDot(left, right)
        if kl == 1:
            return vn.VMatMul(vn.VTranspose(right), left)
        return vn.VMatMul(left, right)
    return expr.func(*args)


def gradient(expr: sp.Expr, name: str, kinds: Kinds) -> sp.Expr:
    """∂f/∂a (scalar a) or ∇ₓf (vector x) as one formula."""
    symbol = sp.Symbol(name, real=True)
    with budget.time_limit():  # the command's limit when there is one, else its own
        if kinds.get(name, 0) == 0:
            return jvp(expr, {name: sp.S.One}, kinds)
        return vjp(expr, sp.S.One, symbol, kinds)


def vjp(expr: sp.Expr, adjoint: sp.Expr, x: sp.Symbol, kinds: Kinds) -> sp.Expr:
    """∇ₓ of Σ(adjoint ⊙ expr): the reverse-mode rule for the vector x."""
    if not depends_on(expr, x.name) or adjoint == 0:
        return sp.S.Zero
    budget.tick("differentiating the function", 16)
    if expr == x:
        return adjoint
    if expr.is_Add:  # term by term: the partials of a long sum cost its length, not its length squared
        own = kind(expr, kinds)
        return sp.Add(
            *(
                vjp(term, _spread(adjoint, expr, kinds) if own and not kind(term, kinds) else adjoint, x, kinds)
                for term in expr.args
            )
        )
    if isinstance(expr, vn.VEntry):
        return adjoint * vn.VUnit(*expr.args)
    if isinstance(expr, vn.VMax | vn.VMin):
        v = expr.args[0]
        return vjp(v, adjoint * vn.VPick(v, sp.Integer(1 if isinstance(expr, vn.VMax) else -1)), x, kinds)
    if isinstance(expr, vn.VProd):
        return vjp(expr.args[0], adjoint * vn.VProdOthers(expr.args[0]), x, kinds)
    if isinstance(expr, vn.VSum):
        return vjp(expr.args[0], adjoint, x, kinds)
    if isinstance(expr, vn.VMean):
        return vjp(expr.args[0], adjoint / vn.VSize(expr.args[0]), x, kinds)
    if isinstance(expr, vn.VNorm):
        v = expr.args[0]
        return vjp(v, adjoint * v / expr, x, kinds)
    if isinstance(expr, vn.VDot):
        u, v = expr.args
        return vjp(u, adjoint * v, x, kinds) + vjp(v, adjoint * u, x, kinds)
    if isinstance(expr, vn.VMatMul):
        matrix, operand = expr.args
        if depends_on(matrix, x.name):
            raise InputError(f"{x.name} appears on the left of '@': only vectors on the right are differentiated")
        return vjp(operand, vn.VMatMul(vn.VTranspose(matrix), adjoint), x, kinds)
    if isinstance(expr, vn.VIndexSum):
        body, lo, hi = expr.args
        return adjoint * vn.VBandGrad(x, body, lo, hi)
    if isinstance(expr, vn.VTranspose):
        raise InputError(f"transpose() of an expression in {x.name} is not supported")
    return _elementwise(expr, adjoint, x, kinds)


def _elementwise(expr: sp.Expr, adjoint: sp.Expr, x: sp.Symbol, kinds: Kinds) -> sp.Expr:
    """The elementwise chain rule: Σ over the leaves L of vjp(L, adjoint ⊙ ∂expr/∂L)."""
    own = kind(expr, kinds)
    total = sp.S.Zero
    for leaf, partial in partials(expr, x.name):
        contribution = adjoint * partial
        if kind(leaf, kinds) == 0 and own > 0:
            contribution = _spread(contribution, expr, kinds)
        total += vjp(leaf, contribution, x, kinds)
    return total


def _spread(adjoint: sp.Expr, expr: sp.Expr, kinds: Kinds) -> sp.Expr:
    """What a scalar inside the vector ``expr`` receives: Σ of the adjoint, which is n·adjoint for a scalar one."""
    return vn.VSum(adjoint) if kind(adjoint, kinds) else adjoint * vn.VSize(expr)


def partials(expr: sp.Expr, name: str) -> list[tuple[sp.Expr, sp.Expr]]:
    """(leaf, ∂expr/∂leaf) for each leaf of an elementwise expression that depends on ``name``."""
    wanted = [leaf for leaf in leaves(expr) if depends_on(leaf, name)]
    if wanted == [expr]:
        return [(expr, sp.S.One)]
    stand_ins = {leaf: sp.Dummy("leaf", real=True) for leaf in wanted}
    back = {d: leaf for leaf, d in stand_ins.items()}
    plain = expr.xreplace(stand_ins)
    return [(leaf, sp.diff(plain, stand_ins[leaf]).xreplace(back)) for leaf in wanted]


def jvp(expr: sp.Expr, direction: Mapping[str, sp.Expr], kinds: Kinds) -> sp.Expr:
    """The directional derivative of ``expr`` when each named variable moves along ``direction[name]``.

    With ``{a: 1}`` it is ∂expr/∂a; with ``{x: v}`` for a vector symbol v it is the
    derivative along v (used on ∇f, it gives the Hessian times v).
    """
    names = [n for n in direction if depends_on(expr, n)]
    if not names:
        return sp.S.Zero
    budget.tick("differentiating the function", 16)
    if isinstance(expr, sp.Symbol):
        return direction[expr.name]
    if expr.is_Add:
        return sp.Add(*(jvp(term, direction, kinds) for term in expr.args))
    if isinstance(expr, vn.VUnit):
        return sp.S.Zero  # eₖ does not move with x
    if isinstance(expr, vn.VEntry):
        moved = direction[expr.args[0].name]
        if isinstance(moved, sp.Symbol):
            return vn.VEntry(moved, expr.args[1])
        raise InputError("this expression cannot be differentiated twice here")
    if isinstance(expr, vn.VMax | vn.VMin):
        v = expr.args[0]
        return vn.VDot(vn.VPick(v, sp.Integer(1 if isinstance(expr, vn.VMax) else -1)), jvp(v, direction, kinds))
    if isinstance(expr, vn.VProd):
        v = expr.args[0]
        return vn.VDot(vn.VProdOthers(v), jvp(v, direction, kinds))
    if isinstance(expr, vn.VPick | vn.VProdOthers):
        raise InputError("max, min and prod are differentiated once here, not twice")
    if isinstance(expr, vn.VSum | vn.VMean):
        return expr.func(jvp(expr.args[0], direction, kinds))
    if isinstance(expr, vn.VNorm):
        v = expr.args[0]
        return vn.VDot(v, jvp(v, direction, kinds)) / expr
    if isinstance(expr, vn.VDot):
        u, v = expr.args
        return vn.VDot(jvp(u, direction, kinds), v) + vn.VDot(u, jvp(v, direction, kinds))
    if isinstance(expr, vn.VMatMul):
        matrix, operand = expr.args
        if any(depends_on(matrix, n) for n in names):
            raise InputError("a variable on the left of '@' is not supported: write the vector on the right")
        return vn.VMatMul(matrix, jvp(operand, direction, kinds))
    if isinstance(expr, vn.VIndexSum):
        body, lo, hi = expr.args
        return vn.VIndexSum(_body_jvp(body, direction), lo, hi)
    if isinstance(expr, vn.VBandGrad):
        var, body, lo, hi = expr.args
        moved = _body_jvp(body, direction)
        return vn.VBandGrad(var, moved, lo, hi) if moved != 0 else sp.S.Zero
    if isinstance(expr, vn.VTranspose | vn.VSize | vn.VPad):
        raise InputError("this expression cannot be differentiated twice here")
    total = sp.S.Zero
    for leaf, partial in _all_partials(expr, names):
        total += partial * jvp(leaf, direction, kinds)
    return total


def _all_partials(expr: sp.Expr, names: list[str]) -> list[tuple[sp.Expr, sp.Expr]]:
    seen: dict[sp.Expr, sp.Expr] = {}
    for name in names:
        for leaf, partial in partials(expr, name):
            seen[leaf] = partial
    return list(seen.items())


def _body_jvp(body: sp.Expr, direction: Mapping[str, sp.Expr]) -> sp.Expr:
    """The derivative of an index sum's body: entries x[i+o] move along v[i+o], scalars along their number."""
    total = sp.S.Zero
    for symbol, (name, offset) in entries(body).items():
        if name in direction:
            moved = direction[name]
            step = entry(moved.name, offset) if isinstance(moved, sp.Symbol) else moved
            total += sp.diff(body, symbol) * step
    for name, moved in direction.items():
        symbol = sp.Symbol(name, real=True)
        if symbol in body.free_symbols:
            total += sp.diff(body, symbol) * moved
    return total


def band_parts(grad: sp.Expr) -> dict[int, sp.Expr]:
    """For ``VBandGrad(x, body, lo, hi)``: offset o -> ∂body/∂x[i+o] (the term that lands on entry i+o)."""
    var, body, _, _ = grad.args
    parts = {}
    for symbol, (name, offset) in sorted(entries(body).items(), key=lambda item: item[1][1]):
        if name == var.name:
            budget.check("differentiating the function")
            parts[offset] = sp.diff(body, symbol)
    return parts


def band_cases(grad: sp.Expr, length: int | None = None) -> list[tuple[str, sp.Expr]]:
    """``∂f/∂x[j]`` for an index sum: [(which j, formula)], the general case first, then the boundaries.

    Each offset o contributes ∂body/∂x[i+o] at i = j − o, when that i is in the range.
    With the automatic range the j near 1 and near n lose the terms whose i falls outside.
    """
    _var, body, lo, _hi = grad.args
    parts = band_parts(grad)
    offsets = sorted({o for _, o in entries(body).values()})
    low, high = offsets[0], offsets[-1]

    def at(keep: dict[int, bool], index: int | str) -> sp.Expr:
        total = sp.S.Zero
        for offset, part in parts.items():
            budget.tick("writing out the gradient's cases", 16)
            if keep.get(offset, True):
                moved = {s: _entry_at(name, o - offset, index) for s, (name, o) in entries(part).items()}
                total += part.xreplace(moved)
        return total

    cases = [("general", at({}, "j"))]
    if lo == 0:
        # i runs from 1 − low to n − high; entry j gets offset o when 1 − low ≤ j − o ≤ n − high
        span = high - low
        for j in range(1, span + 1):
            cases.append((f"j = {j}", at({o: j - o >= 1 - low for o in parts}, j)))
        for k in range(span - 1, -1, -1):
            label = "j = n" if k == 0 else f"j = n−{k}"
            cases.append((label, at({o: o >= high - k for o in parts}, -k)))
    return cases


def _entry_at(name: str, shift: int, index: int | str) -> sp.Symbol:
    """x[j+1] (index "j"), x[3] (index 2 and shift 1), x[n-1] (index 0 = n, shift −1)."""
    if index == "j":
        text = "j" if shift == 0 else f"j{shift:+d}"
    elif isinstance(index, int) and index > 0:
        text = str(index + shift)
    else:
        back = int(index) + shift
        text = "n" if back == 0 else f"n{back:+d}"
    return sp.Symbol(f"{name}[{text}]", real=True)


def _text(expr: sp.Expr) -> str:
    from symdescent.vectors.printing import plain

    return plain(expr)
