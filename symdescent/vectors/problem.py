"""A vector problem: the formula, its gradient in vector form, the data, and one compiled numpy function.

``make_vector_problem("norm(A @ x - b)^2", start={"x": np.zeros(3)}, data={"A": A, "b": b})``
parses, checks every shape, differentiates once (the cost does not depend
on n) and compiles f and ∇f into whole-array code. The optimisers see one
flat float64 array: every variable's entries, in the order of ``start``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp

from symdescent.errors import InputError
from symdescent.layout import Layout
from symdescent.vectors.calculus import gradient, jvp, resolve
from symdescent.vectors.codegen import TRANSPOSE_BYTES, compile_arrays
from symdescent.vectors.nodes import names_in
from symdescent.vectors.parse import parse_vector
from symdescent.vectors.printing import plain, pretty
from symdescent.vectors.shapes import describe, shape_of

Value = float | np.ndarray


@dataclass(frozen=True)
class Formula:
    """The symbolic half: f and ∇f in vector form, for given kinds (no data needed)."""

    text: str
    expr: sp.Expr
    variables: tuple[str, ...]
    kinds: Mapping[str, int]

    @cached_property
    def gradient(self) -> dict[str, sp.Expr]:
        """∂f/∂a or ∇ₓf for each variable, derived once."""
        return {name: gradient(self.expr, name, self.kinds) for name in self.variables}

    def gradient_text(self, name: str, *, fancy: bool = True) -> str:
        """∇f as text; with an index sum, entry j's formula and the boundary entries' (no vector form exists)."""
        write = pretty if fancy else plain
        cases = self.gradient_cases(name)
        if cases is None:
            return write(self.gradient[name])
        labels = [
            ("general j" if label == "general" else label if fancy else label.replace("−", "-")) for label, _ in cases
        ]
        return "; ".join(f"{write(formula)} ({label})" for label, (_, formula) in zip(labels, cases, strict=True))

    def gradient_cases(self, name: str, length: int | None = None) -> list[tuple[str, sp.Expr]] | None:
        """``∂f/∂x[j]`` as [(which j, formula)], general j first, when ∇ₓf has an index sum; else None."""
        if self.kinds.get(name) != 1:
            return None
        return entry_cases(self.gradient[name], self.kinds, length)

    @cached_property
    def hessian_action(self) -> dict[str, sp.Expr] | None:
        """H·v for a single vector variable x, as a formula in x and the direction ``v_``; None if not one vector."""
        vectors = [n for n in self.variables if self.kinds.get(n) == 1]
        if len(self.variables) != 1 or not vectors:
            return None
        name = vectors[0]
        try:
            return {name: jvp(self.gradient[name], {name: sp.Symbol("v_", real=True)}, {**self.kinds, "v_": 1})}
        except InputError:
            return None

    @property
    def is_quadratic(self) -> bool:
        """∇f is affine in the variable: H·v does not depend on x."""
        action = self.hessian_action
        return action is not None and all(not (names_in(e) & set(self.variables)) for e in action.values())


def entry_cases(grad: sp.Expr, kinds: Mapping[str, int], length: int | None = None) -> list[tuple[str, sp.Expr]] | None:
    """The entries of a gradient with one index sum: c·∇(Σᵢ …) + an elementwise rest, case by case.

    None when there is no index sum, or when the rest is not elementwise (a product by a matrix has
    no entry formula of its own here).
    """
    from symdescent.vectors.calculus import band_cases
    from symdescent.vectors.nodes import VBandGrad, VNode, kind

    bands = {n for n in sp.preorder_traversal(grad) if isinstance(n, VBandGrad)}
    if len(bands) != 1:
        return None
    band = bands.pop()
    banded = [t for t in sp.Add.make_args(grad) if t.has(band)]
    rest = sp.Add(*[t for t in sp.Add.make_args(grad) if not t.has(band)])
    factor = sp.Add(*banded) / band
    if factor.has(band) or any(isinstance(n, VNode) and kind(n, kinds) > 0 for n in sp.preorder_traversal(rest)):
        return None
    vectors = [s for s in rest.free_symbols if isinstance(s, sp.Symbol) and kinds.get(s.name) == 1]
    cases = []
    for label, formula in band_cases(band, length):
        index = "j" if label == "general" else label.removeprefix("j = ").replace("−", "-")
        at = {v: sp.Symbol(f"{v.name}[{index}]", real=True) for v in vectors}
        cases.append((label, factor * formula + rest.xreplace(at)))
    return cases


def make_formula(text: str, kinds: Mapping[str, int] | None = None, variables: Sequence[str] | None = None) -> Formula:
    """Parse and resolve; names without a known kind are guessed: Capitalised names used with @ are matrices."""
    expr = parse_vector(text)
    names = names_in(expr)
    given = dict(kinds or {})
    guessed = {n: given.get(n, 2 if n[:1].isupper() and _matrix_like(expr, n) else 1) for n in names}
    expr = resolve(expr, guessed)
    if variables is None:
        variables = _guess_variables(expr, names, guessed)
    for name in variables:
        if name not in names:
            raise InputError(f"{name!r} does not appear in the function")
        if guessed.get(name) == 2:
            raise InputError(f"{name} is a matrix: only scalars and vectors can be variables (matrices are data)")
    return Formula(text, expr, tuple(variables), guessed)


def _guess_variables(expr: sp.Expr, names: set[str], kinds: Mapping[str, int]) -> list[str]:
    """Without start values: the vectors a matrix multiplies (x in A @ x), else every non-matrix name."""
    from symdescent.vectors.nodes import VMatMul

    multiplied = {
        node.args[1].name
        for node in sp.preorder_traversal(expr)
        if isinstance(node, VMatMul) and isinstance(node.args[1], sp.Symbol)
    }
    return sorted(multiplied) or sorted(n for n in names if kinds[n] != 2)


def _matrix_like(expr: sp.Expr, name: str) -> bool:
    from symdescent.vectors.nodes import VMatMul, VTranspose

    symbol = sp.Symbol(name, real=True)
    for node in sp.preorder_traversal(expr):
        if isinstance(node, VTranspose) and node.args[0] == symbol:
            return True
        if isinstance(node, VMatMul) and symbol in node.args and node.args[0] != node.args[1]:
            return True
    return False


@dataclass(frozen=True)
class VectorProblem:
    """A formula bound to values: the shapes are fixed and the code is compiled."""

    formula: Formula
    start: Mapping[str, Value]
    data: Mapping[str, Value]
    shapes: Mapping[str, tuple[int, ...]]
    layout: tuple[tuple[str, tuple[int, ...], int, int], ...]  # name, shape, first, end in the flat array
    dtype: str = "float64"  # of the variables' arrays (float32 runs on the kernel engine only)
    _compiled: list[Callable[..., list[np.ndarray | float]]] = field(default_factory=list, repr=False, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        return self.formula.variables

    @property
    def shapes_of_variables(self) -> dict[str, tuple[int, ...]]:
        return {n: tuple(self.shapes[n]) for n in self.names}

    @property
    def dimension(self) -> int:
        """How many numbers the optimisers move (as a scalar problem's ``dimension``)."""
        return self.size

    @property
    def entry_layout(self) -> Layout:
        """Where each variable lives in the flat point (the one :class:`~symdescent.layout.Layout`)."""
        return Layout.of(self.names, self.shapes_of_variables)

    @property
    def size(self) -> int:
        """All variables' entries together."""
        return self.layout[-1][3] if self.layout else 0

    @property
    def expr(self) -> sp.Expr:
        return self.formula.expr

    @property
    def function_text(self) -> str:
        return plain(self.formula.expr)

    @property
    def gradient_text(self) -> tuple[str, ...]:
        """Each variable's gradient in vector form, as text (as a scalar problem's ``gradient_text``)."""
        return tuple(self.gradient_texts(fancy=False).values())

    @property
    def function_inline(self) -> str:
        """f as the table's heading writes it."""
        return pretty(self.formula.expr)

    @property
    def gradient_inline(self) -> tuple[str, ...]:
        return tuple(self.gradient_texts().values())

    def gradient_texts(self, *, fancy: bool = True) -> dict[str, str]:
        return {n: self.formula.gradient_text(n, fancy=fancy) for n in self.names}

    def flat_start(self) -> np.ndarray:
        return self.flatten(self.start)

    def flatten(self, values: Mapping[str, Value]) -> np.ndarray:
        """One flat array of every variable's entries; for a single vector, the vector itself (no copy of n)."""
        if len(self.layout) == 1 and self.layout[0][1]:
            return np.ravel(values[self.layout[0][0]])
        z = np.empty(self.size)
        for name, _, first, end in self.layout:
            z[first:end] = np.ravel(values[name])
        return z

    def unflatten(self, z: np.ndarray) -> dict[str, Value]:
        """Names -> floats (scalars) or arrays (views into z)."""
        return {
            name: (float(z[first]) if not shape else z[first:end].reshape(shape))
            for name, shape, first, end in self.layout
        }

    def _arguments(self, z: np.ndarray, data: Mapping[str, Value] | None = None) -> list[object]:
        values, data = self.unflatten(z), self.data if data is None else data
        return [values[n] if n in values else data[n] for n in self._argument_names]

    @cached_property
    def _argument_names(self) -> list[str]:
        return [*self.names, *sorted(self.data)]

    @cached_property
    def _value_and_grad(self) -> Callable[..., list[np.ndarray | float]]:
        exprs = [self.formula.expr, *(self.formula.gradient[n] for n in self.names)]
        out_shapes = [(), *(self.shapes[n] for n in self.names)]
        return compile_arrays(exprs, self._argument_names, self.shapes, out_shapes)

    @cached_property
    def _value(self) -> Callable[..., list[np.ndarray | float]]:
        return compile_arrays([self.formula.expr], self._argument_names, self.shapes, [()])

    def value_and_grad(self, z: np.ndarray, data: Mapping[str, Value] | None = None) -> tuple[float, np.ndarray]:
        """f and ∇f at the flat point z (∇f flat as well); ``data`` of the same shapes may replace the problem's."""
        with np.errstate(all="ignore"):
            f, *grads = self._value_and_grad(*self._arguments(z, data))
        if len(grads) == 1 and self.layout[0][1]:
            return float(f), np.asarray(grads[0], dtype=float).reshape(-1)
        return float(f), np.concatenate([np.ravel(np.asarray(g, dtype=float)) for g in grads])

    def value(self, z: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(self._value(*self._arguments(z))[0])

    @cached_property
    def hessian_vector(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
        """``(z, v) -> H v`` from the symbolic H·v (one vector variable only), else None."""
        action = self.formula.hessian_action
        if action is None:
            return None
        name, expr = next(iter(action.items()))
        shapes = {**self.shapes, "v_": self.shapes[name]}
        fn = compile_arrays([expr], [*self._argument_names, "v_"], shapes, [self.shapes[name]])

        def product(z: np.ndarray, v: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                return np.asarray(fn(*self._arguments(z), v)[0], dtype=float).reshape(-1)

        return product

    def hessian(self, z: np.ndarray) -> np.ndarray:
        """The dense Hessian (small problems only): from H·v on each unit vector, else central differences of ∇f."""
        n = self.size
        if n > 2000:
            raise InputError(f"the Hessian of {n} entries is too large to form")
        matrix = dense_hessian(self, z, self.hessian_vector)
        assert matrix is not None  # no deadline given
        return matrix

    def point_text(self, z: np.ndarray, limit: int = 6) -> str:
        parts = []
        for name, value in self.unflatten(z).items():
            if isinstance(value, float):
                parts.append(f"{name} = {value:.6g}")
            else:
                flat = value.reshape(-1)
                shown = ", ".join(f"{v:.6g}" for v in flat[:limit])
                parts.append(f"{name} = [{shown}{', …' if flat.size > limit else ''}]")
        return "; ".join(parts)


def make_vector_problem(
    text: str,
    start: Mapping[str, Value],
    data: Mapping[str, Value] | None = None,
    dtype: str = "float64",
) -> VectorProblem:
    """Bind the formula to start values and data; check every shape before anything runs.

    A start array already of ``dtype`` is used as it is (not copied): its length may be 2·10⁹. The data are
    bound as they are now: for other data, make another problem (a matrix up to 64 MB is copied, see
    :func:`_bound`; changing a larger one or a vector in place is seen by the next evaluation).
    """
    if dtype not in ("float64", "float32"):
        raise InputError(f"the dtype must be float64 or float32, got {dtype!r}")
    data = {n: _bound(_as_array(v, n), v) for n, v in (data or {}).items()}
    start = {n: _as_array(v, n, dtype) for n, v in start.items()}
    both = sorted(set(start) & set(data))
    if both:
        raise InputError(f"{both[0]} is given both as data and as a start value: a name is one or the other")
    for name, value in start.items():
        if isinstance(value, np.ndarray) and value.ndim > 1:
            raise InputError(f"{name} is a matrix: only scalars and vectors can be variables (matrices are data)")
    kinds = {n: (v.ndim if isinstance(v, np.ndarray) else 0) for n, v in {**data, **start}.items()}
    expr = parse_vector(text)
    present = names_in(expr)
    for name in start:
        if name not in present:
            raise InputError(f"{name!r} has a start value but does not appear in the function")
    data = {n: v for n, v in data.items() if n in present}  # a data file's other columns are simply not used
    kinds = {n: k for n, k in kinds.items() if n in present or n in start}
    missing = sorted(present - set(kinds))
    if missing:
        raise InputError(
            f"{missing[0]} has no value", hint="give each variable a start value and each constant a value in the data"
        )
    expr = resolve(expr, kinds)
    shapes = {n: (np.shape(v) if isinstance(v, np.ndarray) else ()) for n, v in {**data, **start}.items()}
    result = shape_of(expr, shapes)
    if result:
        raise InputError(
            f"f must be a scalar, but {describe('f', result).replace('f has', 'it is a vector of')}",
            hint="sum(...) or norm(...) is the usual fix",
        )
    formula = Formula(text, expr, tuple(start), kinds)
    layout, position = [], 0
    for name in start:
        size = int(np.prod(shapes[name])) if shapes[name] else 1
        layout.append((name, shapes[name], position, position + size))
        position += size
    return VectorProblem(formula, start, data, shapes, tuple(layout), dtype)


#: Finiteness is checked this many entries at a time (a boolean temporary of n entries is 2 GB at 2·10⁹).
_CHECK_PIECE = 1 << 20


def _bound(array: Value, given: object) -> Value:
    """A data matrix the problem owns: a copy of the caller's array (up to the size whose transpose is kept).

    The compiled function keeps a copy of a matrix's transpose (:class:`~symdescent.vectors.codegen.Transposed`);
    were the caller's own array bound, changing it in place between two runs of one problem would leave ∇f
    with the old transpose and f with the new matrix.
    """
    if not (isinstance(array, np.ndarray) and array.ndim == 2 and array.nbytes <= TRANSPOSE_BYTES):
        return array
    return array.copy() if isinstance(given, np.ndarray) and np.shares_memory(array, given) else array


def _as_array(value: object, name: str, dtype: str = "float64") -> Value:
    if isinstance(value, bool):
        raise InputError(f"the value of {name} must be numbers, not a boolean")
    if isinstance(value, int | float | np.floating | np.integer):
        return float(value)
    array = np.asarray(value, dtype=dtype)
    if array.ndim == 0:
        return float(array)
    if array.ndim > 2:
        raise InputError(f"{name} has {array.ndim} dimensions: vectors and matrices only")
    if array.size == 0:
        raise InputError(f"{name} is empty")
    flat = array.reshape(-1)
    if not all(np.isfinite(flat[k : k + _CHECK_PIECE]).all() for k in range(0, flat.size, _CHECK_PIECE)):
        raise InputError(f"{name} contains a value that is not a finite number")
    return array


def dense_hessian(
    problem: VectorProblem,
    z: np.ndarray,
    product: Callable[[np.ndarray, np.ndarray], np.ndarray] | None,
    over: Callable[[], bool] = lambda: False,
) -> np.ndarray | None:
    """The Hessian at z, column by column from H·eₖ (else central differences of ∇f); None once ``over()``."""
    n, gradient = problem.size, problem.value_and_grad
    columns = []
    for k in range(n):
        if over():
            return None
        unit = np.zeros(n)
        unit[k] = 1.0
        if product is not None:
            columns.append(product(z, unit))
        else:
            h = 1e-5 * max(1.0, abs(z[k]))
            columns.append((gradient(z + h * unit)[1] - gradient(z - h * unit)[1]) / (2 * h))
    matrix = np.array(columns).T
    return (matrix + matrix.T) / 2
