"""Engines: how f and ∇f are evaluated, and the fast loops for plain gradient descent.

A problem's :attr:`~symdescent.problem.Problem.engine` is chosen by size
(:func:`choose_engine`):

``python``
    SymPy differentiates; f and ∇f are printed once as Python source over
    the ``math`` module (:mod:`symdescent.compile`). No numpy import. For a
    ``gd`` run on floats the whole loop body is generated too
    (:func:`fused_steps`): a generator whose body is the update, f, ∇f,
    ‖∇f‖ and the checks inlined, with no per-step function calls besides
    ``hypot`` and ``isfinite``; steps are still yielded one at a time, as
    they are computed. A long ``-q`` run continues as the same loop compiled
    by numba (:mod:`symdescent.compiled`).
``symengine``
    For many variables, if symengine is installed: symengine differentiates
    each term by the variables it contains and compiles f and ∇f with LLVM
    (:func:`vector_steps` runs the loop on numpy arrays). SymPy's own
    gradient is then only computed if something asks for it.

Both fast loops replay the generic loop (:meth:`symdescent.run.Run.steps_from`)
with the same engine: the fused loop does the same operations in the same
order, so it gives the same floats bit for bit; the vector loop differs only
in ‖∇f‖ (√(g·g) instead of ``hypot``), to rounding. They are chosen from what
the optimiser *is*: an update that is a bare :class:`~symdescent.optimizers.base.Scale`
(plain gradient descent); any wrapper around it takes the generic loop.

The hand-over: a fast loop yields steps while nothing unusual happens, then
continues with the run's public generic loop from its last good step
(``run.steps_from(step)``), which words the ending. While running it keeps
``run.last`` (the run's public record of the last step given out) up to date.
``SYMDESCENT_ENGINE=python|symengine`` forces an engine (for tests and
benchmarks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from symdescent import settings
from symdescent.errors import NUMERIC_ERRORS
from symdescent.result import Step

if TYPE_CHECKING:
    import sympy as sp

    from symdescent.generated import Lowered
    from symdescent.optimizers.base import Optimizer


# What an engine needs of a problem and a fast loop of a run, said here so that this module,
# which the problem itself uses, depends on neither (no import cycle, not even for types).
class Problem(Protocol):
    """A :class:`symdescent.problem.Problem` as far as an engine uses it."""

    __dict__: dict[str, Any]

    @property
    def expr(self) -> sp.Expr: ...

    @property
    def variables(self) -> tuple[sp.Symbol, ...]: ...

    @property
    def names(self) -> tuple[str, ...]: ...

    @property
    def dimension(self) -> int: ...

    @property
    def gradient(self) -> tuple[sp.Expr, ...]: ...

    @property
    def engine(self) -> Engine: ...


class Run(Protocol):
    """A :class:`symdescent.run.Run` as far as a fast loop uses it."""

    @property
    def problem(self) -> Problem: ...  # read only: a run's own problem class may be more specific

    optimizer: Optimizer
    tol: float
    max_steps: int
    maximize: bool
    last: Step
    loop: str
    loop_state: Any
    status: Any

    def steps_from(self, step: Step, state: Any = None) -> Iterator[Step]: ...


#: From this many variables on, symengine (when installed) differentiates and compiles.
SYMENGINE_MIN_VARIABLES = 32


def have_symengine() -> bool:
    try:
        import numpy  # noqa: F401
        import symengine  # noqa: F401
    except ImportError:
        return False
    return True


def choose_engine(problem: Problem) -> Engine:
    """The engine for ``problem``: ``python`` for small problems, ``symengine`` for many variables."""
    forced = settings.scalar_engine()  # auto, python or symengine; anything else is refused there
    if forced == "python":
        return PythonEngine(problem)
    wanted = forced == "symengine" or (forced == "auto" and problem.dimension >= SYMENGINE_MIN_VARIABLES)
    if wanted and have_symengine():
        return SymengineEngine(problem)
    return PythonEngine(problem)


class Engine:
    """Evaluates f and ∇f for one problem; subclasses compile on first use."""

    name = ""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    @property
    def value_and_grad(self) -> Callable[..., list[float]]:
        raise NotImplementedError

    @property
    def gradient_text(self) -> tuple[str, ...]:
        return tuple(str(g) for g in self.problem.gradient)

    @property
    def function_text(self) -> str:
        return str(self.problem.expr)


#: The names the generated gradient-descent loops use.
_LOOP_NAMES: dict[str, Any] = {
    "hypot": math.hypot,
    "isfinite": math.isfinite,
    "new": tuple.__new__,
    "Step": Step,
    "NUMERIC_ERRORS": NUMERIC_ERRORS,
    "INF": math.inf,
}


class PythonEngine(Engine):
    """SymPy's gradient printed as Python source over the ``math`` module."""

    name = "python"

    @cached_property
    def lowered(self) -> Lowered:
        from symdescent.compile import lower

        problem = self.problem
        return lower([problem.expr, *problem.gradient], problem.variables)

    @cached_property
    def value_and_grad(self) -> Callable[..., list[float]]:
        from symdescent.generated import value_and_grad_from

        return value_and_grad_from(self.lowered)

    @cached_property
    def gd_steps(self) -> Callable[..., FastLoop]:
        """``gd_steps(run, step, *x, norm, *g, k, kend, tol, c)``: the steps of x ← x + c·∇f from ``step``.

        A generator with the whole loop body generated as source. ``step``
        must not meet a stopping rule. It yields each step while no stopping
        rule holds; at the first that does (or at a non-finite value or a
        ``math`` exception) it hands that step to ``run.steps_from``, the generic loop.
        """
        from symdescent.generated import define

        lowered = self.lowered
        xs = list(lowered.args)
        gs = [f"_g{i}" for i in range(len(xs))]
        f_out, *g_out = lowered.outputs
        new_step = f"new(Step, (k, ({', '.join(xs)},), _f, ({', '.join(gs)},), norm, None))"
        body = [
            "yielded = False",
            "try:",
            "    for k in range(k + 1, kend + 1):",
            "        run.last = step",
            "        yield step",
            *[f"        {x} = {x} + c*{g}" for x, g in zip(xs, gs, strict=True)],
            *[f"        {line}" for line in lowered.statements],
            f"        _f = {f_out}",
            *[f"        {g} = {out}" for g, out in zip(gs, g_out, strict=True)],
            f"        norm = hypot({', '.join(gs)})",
            # One test per step for three endings: converged, non-finite ∇f and non-finite f
            # (isfinite also refuses a complex f with TypeError; hypot refuses complex partials).
            "        if not (tol < norm < INF and isfinite(_f)):",
            "            if norm <= tol and isfinite(_f):",
            f"                step = {new_step}",
            "            else:",
            "                yielded = True",
            "            break",
            f"        step = {new_step}",
            "except NUMERIC_ERRORS:",
            "    yielded = True",
            # The generic loop words the ending; it starts by yielding ``step``, which may be given out already.
            "rest = run.steps_from(step)",
            "if yielded:",
            "    next(rest)",
            "yield from rest",
        ]
        args = ", ".join(["run", "step", *xs, "norm", *gs, "k", "kend", "tol", "c"])
        source = f"def gd_steps({args}):\n" + "".join(f"    {line}\n" for line in body)
        return define(source, "gd_steps", _LOOP_NAMES)

    @cached_property
    def gd_final(self) -> Callable[..., FastLoop]:
        """Like :attr:`gd_steps`, for a consumer that wants only the end (``-q``): no Step per step.

        Yields nothing: the loop keeps the previous point instead of a Step;
        when a step fails (a non-finite value, a ``math`` exception) the last
        good step is that point evaluated again by the same code (so bit for
        bit what the loop had). Ctrl-C leaves ``run.last`` at the last whole
        step. Then ``run.steps_from(step)``, the generic loop, words the
        ending and yields the final step.
        """
        from symdescent.generated import define

        lowered = self.lowered
        xs = list(lowered.args)
        gs = [f"_g{i}" for i in range(len(xs))]
        qs = [f"_q{i}" for i in range(len(xs))]
        f_out, *g_out = lowered.outputs
        new_step = f"new(Step, (k, ({', '.join(xs)},), _f, ({', '.join(gs)},), norm, None))"
        previous = f"back(max(k - 1, k0), {', '.join(qs)})"
        body = [
            "k0 = k",
            *[f"{q} = {x}" for q, x in zip(qs, xs, strict=True)],
            "try:",
            "    for k in range(k + 1, kend + 1):",
            *[f"        {q} = {x}" for q, x in zip(qs, xs, strict=True)],
            *[f"        {x} = {x} + c*{g}" for x, g in zip(xs, gs, strict=True)],
            *[f"        {line}" for line in lowered.statements],
            f"        _f = {f_out}",
            *[f"        {g} = {out}" for g, out in zip(gs, g_out, strict=True)],
            f"        norm = hypot({', '.join(gs)})",
            "        if not (tol < norm < INF and isfinite(_f)):",
            f"            step = {new_step} if norm <= tol and isfinite(_f) else {previous}",
            "            break",
            "    else:",
            f"        step = {new_step}",
            "except NUMERIC_ERRORS:",
            f"    step = {previous}",
            "except KeyboardInterrupt:",
            f"    run.last = {previous}",
            "    raise",
            "yield from run.steps_from(step)",
        ]
        args = ", ".join(["run", "step", *xs, "norm", *gs, "k", "kend", "tol", "c"])
        source = f"def gd_final({args}):\n" + "".join(f"    {line}\n" for line in body)
        value_and_grad = self.value_and_grad

        def back(k: int, *x: float) -> Step:
            f, *g = value_and_grad(*x)
            return Step(k, x, f, tuple(g), math.hypot(*g))

        return define(source, "gd_final", {**_LOOP_NAMES, "back": back})


class SymengineEngine(Engine):
    """symengine's per-term gradient, compiled with LLVM; evaluates on numpy arrays."""

    name = "symengine"

    @cached_property
    def model(self) -> tuple[Any, list[Any]]:
        """(f, [∂f/∂x1, …]) as symengine expressions."""
        import symengine as se

        from symdescent.budget import tick

        problem = self.problem
        f = to_symengine(problem.expr)
        variables = [se.Symbol(name) for name in problem.names]
        wanted = set(variables)
        terms = f.args if isinstance(f, se.Add) else (f,)
        by_variable: dict[Any, list[Any]] = {v: [] for v in variables}
        for term in terms:
            tick("differentiating the function", 64)
            for symbol in term.free_symbols & wanted:
                by_variable[symbol].append(term)
        return f, [se.Add(*[t.diff(v) for t in by_variable[v]]) for v in variables]

    @cached_property
    def compiled(self) -> Callable[[Any], Any]:
        """``compiled(x_array) -> array([f, ∂f/∂x1, …])``."""
        import symengine as se

        from symdescent.budget import check_compile_size

        f, grad = self.model
        check_compile_size(_terms(f) + sum(_terms(g) for g in grad))
        variables = [se.Symbol(name) for name in self.problem.names]
        try:
            # Neither LLVM's optimiser nor cse: both cost seconds on thousands of variables.
            return se.Lambdify(variables, [f, *grad], backend="llvm", opt_level=0, cse=False)
        except (RuntimeError, ValueError, TypeError):  # a symengine built without LLVM
            return se.Lambdify(variables, [f, *grad], backend="lambda", cse=True)

    @cached_property
    def value_and_grad(self) -> Callable[..., list[float]]:
        compiled = self.compiled

        def value_and_grad(*x: float) -> list[float]:
            return compiled(x).tolist()

        return value_and_grad

    @property
    def gradient_text(self) -> tuple[str, ...]:
        if "gradient" in self.problem.__dict__:  # SymPy's, if something already computed it
            return super().gradient_text
        return tuple(str(g) for g in self.model[1])

    @property
    def function_text(self) -> str:
        # SymPy's printer sorts the terms of a sum: seconds for thousands of terms.
        return str(self.model[0])


def _terms(expr: Any) -> int:
    """Terms of a symengine sum (1 for anything else), the measure of an LLVM compile's size."""
    import symengine as se

    return len(expr.args) if isinstance(expr, se.Add) else 1


def to_symengine(expr: sp.Expr) -> Any:
    """A SymPy expression as a symengine one, node by node (several times faster than ``sympify``)."""
    import symengine as se
    import sympy as sp

    from symdescent.functions import FUNCTIONS
    from symdescent.special import Special

    functions = {type_name(spec.sympy): getattr(se, spec.symengine) for spec in FUNCTIONS.values() if spec.symengine}
    memo: dict[Any, Any] = {}

    def convert(node: sp.Expr) -> Any:
        known = memo.get(node)
        if known is not None:
            return known
        if node.is_Symbol:
            value = se.Symbol(node.name)
        elif node.is_Integer:
            value = se.Integer(int(node))
        elif node.is_Rational:
            value = se.Rational(int(node.p), int(node.q))
        elif node.is_Float:
            value = se.RealDouble(float(node))
        elif node.is_Add:
            value = se.Add(*map(convert, node.args))
        elif node.is_Mul:
            value = se.Mul(*map(convert, node.args))
        elif node.is_Pow:
            value = se.Pow(convert(node.base), convert(node.exp))
        elif node is sp.pi:
            value = se.pi
        elif node is sp.E:
            value = se.E
        elif isinstance(node, Special):
            value = convert(node.standard())
        elif type(node).__name__ in functions:
            value = functions[type(node).__name__](*map(convert, node.args))
        else:
            # a leaf (symbol or number) that is already a SymPy object, never text:
            # symengine's converter for SymPy objects
            value = se.sympify(node) if isinstance(node, sp.Basic) else _refuse(node)
        memo[node] = value
        return value

    return convert(expr)


# -- the fast loops -----------------------------------------------------------------------


FastLoop = Generator[Step, None, None]


def fast_steps(run: Run, first: Step, *, final_only: bool = False) -> tuple[str, FastLoop] | None:
    """The name and steps of a fast loop equivalent to ``run``'s generic loop, or None when there is none.

    Only plain gradient descent on floats qualifies: an optimiser whose
    update is a bare :class:`Scale` (``gd``). Every other method, any wrapper
    and every other number type takes the generic loop. ``final_only``: the
    caller wants only the last step (``-q``), so the generated loop may skip
    building the others.
    """
    from symdescent.optimizers.base import Scale

    update = run.optimizer.update
    if type(update) is not Scale or run.optimizer.needs_extra:
        return None
    if type(first.f) is not float or any(type(v) is not float for v in (*first.x, *first.grad)):
        return None
    # The generic loop adds factor * g (factor * -g when maximising); c * g is the same float.
    c = -update.factor if run.maximize else update.factor
    if type(c) not in (float, int):  # an int factor is converted to float by every product anyway
        return None
    c = float(c)
    tol = run.tol if run.tol > 0 else -1.0
    engine = run.problem.engine
    if first.step >= run.max_steps or first.grad_norm <= tol:
        return None
    if isinstance(engine, PythonEngine):
        if final_only:
            from symdescent.compiled import final_steps

            compiled = final_steps(run, first, engine, c, tol)
            if compiled is not None:
                return "fused", compiled  # run.loop becomes "compiled" when the compiled loop takes over
        return "fused", (engine.gd_final if final_only else engine.gd_steps)(
            run, first, *first.x, first.grad_norm, *first.grad, first.step, run.max_steps, tol, c
        )
    if isinstance(engine, SymengineEngine):
        return "vector", vector_steps(run, first, engine, c, tol)
    return None


def vector_steps(run: Run, first: Step, engine: SymengineEngine, c: float, tol: float) -> FastLoop:
    """Plain gd with the point and gradient as numpy arrays, then the generic loop for the ending."""
    import numpy as np

    compiled = engine.compiled
    max_steps = run.max_steps
    sqrt, isfinite = math.sqrt, math.isfinite
    step = first
    x, g = np.array(first.x), np.array(first.grad)
    while step.step < max_steps and step.grad_norm > tol:
        new_x = x + c * g
        out = compiled(new_x)
        values = out.tolist()
        f, grad = values[0], out[1:]
        # ‖∇f‖ as √(g·g) in numpy: a quarter of the cost of hypot over a thousand floats,
        # equal to it to rounding (an overflow in g·g falls back to the generic loop's hypot).
        norm = sqrt(grad @ grad)
        if not (isfinite(f) and isfinite(norm)):
            break
        run.last = step
        yield step
        x, g = new_x, grad
        step = Step(step.step + 1, tuple(new_x.tolist()), f, tuple(values[1:]), norm)
    yield from run.steps_from(step)


def type_name(function: Any) -> str:
    """The class name SymPy gives a call of ``function`` (``sqrt(x)`` is a ``Pow``, handled before)."""
    return getattr(function, "__name__", "")


def _refuse(node: object) -> Any:
    raise TypeError(f"expected a SymPy expression, not {type(node).__name__}")
