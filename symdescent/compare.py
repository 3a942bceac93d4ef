"""Several optimisers on the same function, from the same start, side by side.

``compare(problem, start, ["gd", "adam", "newton"])`` runs each method to
the end, one after the other, and returns a :class:`Comparison`: one
:class:`~symdescent.result.Result` per method (the last step only, no
history), in the order given, with each run's wall time. Every run's
``nfev``/``ngev``/``nhev`` say how much work it did.

Defaults are chosen so that, on a moderately curved function such as
Rosenbrock's, each method converges where theory says it should (see
:data:`DEFAULT_LR` and :data:`DEFAULT_STEPS`); a method that fails keeps its
status (``max_steps``, ``diverged``) and the comparison goes on.

    comparison = compare(make_problem("(1-x)**2+100*(y-x**2)**2"), (-1.2, 1), ["gd", "newton"])
    [(r.method, r.status, r.steps) for r in comparison.runs]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from symdescent.errors import InputError
from symdescent.layout import Layout
from symdescent.methods import METHODS, closest_method, method_name, method_spec
from symdescent.optimizers import make_optimizer
from symdescent.optimizers.base import Optimizer
from symdescent.problem import Problem
from symdescent.result import Result, Step
from symdescent.run import iterate
from symdescent.values import assignments, float_point, split_top_level

#: The learning rate each method gets when ``--lr`` does not say (:attr:`MethodSpec.compare_lr`).
DEFAULT_LR: dict[str, float] = {name: spec.compare_lr for name, spec in METHODS.items() if spec.compare_lr is not None}

#: The step budget of every method unless ``--steps`` says: enough for plain
#: gradient descent at α = 1e-3 to cross Rosenbrock's valley (about 32,000 steps).
DEFAULT_STEPS = 50_000


@dataclass(frozen=True)
class Comparison:
    """The runs of a comparison, in the order the methods were given."""

    function: str
    variables: tuple[str, ...]
    start: Sequence[Any]  # flat, every variable's entries in order
    runs: tuple[Result, ...]
    seconds: tuple[float, ...]
    interrupted: bool = False
    #: Each variable's shape (a name not listed is a scalar).
    shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def layout(self) -> Layout:
        return Layout.of(self.variables, self.shapes)

    def _repr_html_(self) -> str:
        """Jupyter shows the methods side by side."""
        from symdescent.render.notebook import comparison_html

        return comparison_html(self)


def parse_methods(text: str) -> tuple[str, ...]:
    """``"gd,adam"`` -> ``("gd", "adam")``; ``"all"`` -> every registered method."""
    if text.strip() == "all":
        return tuple(METHODS)
    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    if not methods:
        raise InputError("methods is empty", hint=f"name some of: {', '.join(METHODS)}, or all", parameter="methods")
    return _checked_methods(methods)


def _checked_methods(methods: object) -> tuple[str, ...]:
    if isinstance(methods, str) or not isinstance(methods, Sequence):
        raise InputError(f"methods must be a sequence of method names, not {type(methods).__name__}")
    named = []
    for method in methods:
        try:
            named.append(method_name(method))  # any case: Adam is adam
        except InputError:
            guess = closest_method(method) if isinstance(method, str) else None
            raise InputError(
                f"unknown method {method!r} in methods" + (f": did you mean {guess}?" if guess else ""),
                hint=f"the known ones: {', '.join(METHODS)}",
                parameter="methods",
            ) from None
    methods = named
    duplicates = sorted({m for m in methods if methods.count(m) > 1})
    if duplicates:
        raise InputError(f"methods names {', '.join(duplicates)} more than once", parameter="methods")
    return tuple(methods)


def parse_learning_rates(text: str, methods: Sequence[str], number: Callable[[str, str], float]) -> dict[str, float]:
    """``"0.1"`` (every method that has a learning rate) or ``"adam=0.1,gd=0.05"`` -> per-method values.

    ``number(text, what)`` turns one value into a float (the CLI's checked parser).
    """
    uses_lr = [m for m in methods if method_spec(m).has_lr]
    parts = split_top_level(text)
    if not any("=" in part for part in parts):
        value = number(text, "lr")
        return dict.fromkeys(uses_lr, value)
    given = assignments(
        text,
        "lr",
        missing="mix of per-method and plain values in lr {text!r}: write adam=0.1,gd=0.05",
        repeated="lr gives {name} more than one learning rate",
    )
    rates: dict[str, float] = {}
    for method, written in given.items():
        if method not in methods:
            raise InputError(
                f"lr names {method!r}, which is not among the methods compared ({', '.join(methods)})", parameter="lr"
            )
        if method not in uses_lr:
            raise InputError(f"{method} has no learning rate: it chooses its own step lengths")
        rates[method] = number(written, f"lr for {method}")
    return rates


def compare(
    problem: Problem | Any,
    start: Sequence[Any] | str | None,
    methods: Sequence[str],
    *,
    lr: float | Mapping[str, float] | None = None,
    max_steps: int | None = None,
    tol: float = 1e-6,
    maximize: bool = False,
    on_run: Callable[[Result, float], None] | None = None,
    keep: Callable[[int], bool] | None = None,
    **hyperparameters: float,
) -> Comparison:
    """Run each method from ``start`` and collect the results.

    ``lr`` is one value for every method that has a learning rate, or a value
    per method; methods it does not name get :data:`DEFAULT_LR`.
    ``hyperparameters`` (``momentum``, ``beta1``…) go to the methods that
    use them. ``on_run(result, seconds)`` is called as each run finishes.
    Results carry no history unless ``keep(step_number)`` says which steps
    to keep (a picture needs the paths, a table does not).
    A Ctrl-C stops the current run (its result is kept, ``interrupted``)
    and the comparison there. A problem of named arrays (``start`` None: its own
    start values) runs each method on the array back-end, on a copy of the start.
    """
    arrays = not isinstance(problem, Problem)
    if arrays and methods == tuple(METHODS):  # "all": the methods that run on arrays
        methods = tuple(m for m in methods if METHODS[m].arrays)
    methods = _checked_methods(methods)
    x0: Sequence[Any]
    x0 = float_point(problem.names, start) if isinstance(problem, Problem) else problem.flat_start().copy()
    if isinstance(lr, Mapping):
        rates = dict(lr)
        unknown = [m for m in rates if m not in methods]
        if unknown:
            raise InputError(f"lr names {unknown[0]!r}, which is not among the methods compared", parameter="lr")
    else:
        rates = {m: lr for m in methods if lr is not None and method_spec(m).has_lr}
    unused = [name for name in hyperparameters if not any(name in method_spec(m).defaults for m in methods)]
    if unused:
        raise InputError(f"none of the methods compared uses {', '.join(unused)}")
    plans: list[tuple[str, dict[str, Any]]] = []  # each method with its own hyperparameters, passed as keywords
    optimizers: list[Optimizer] = []  # for scalar problems: made here, so bad values fail before any run
    for method in methods:
        accepted = method_spec(method).hyperparameters
        own: dict[str, Any] = {k: v for k, v in hyperparameters.items() if k in accepted}
        if "lr" in accepted:
            own["lr"] = rates.get(method) or DEFAULT_LR.get(method, METHODS[method].defaults["lr"])
        plans.append((method, own))
        if not arrays:
            optimizers.append(make_optimizer(method, **own))
    budget = DEFAULT_STEPS if max_steps is None else max_steps
    runs: list[Result] = []
    seconds: list[float] = []
    for k, (method, own) in enumerate(plans):
        run: Any
        if isinstance(problem, Problem):
            run = iterate(problem, x0, method=optimizers[k], max_steps=budget, tol=tol, maximize=maximize)
        else:
            from symdescent.vectors.engine import make_run

            run = make_run(problem, method=method, max_steps=budget, tol=tol, maximize=maximize, **own)
        began = time.perf_counter()
        history: list[Step] = []
        try:
            for step in run:
                if keep is not None and keep(step.step):
                    history.append(step)
        except KeyboardInterrupt:
            run.interrupt()
        elapsed = time.perf_counter() - began
        if keep is not None and (not history or history[-1].step != run.last.step):
            history.append(run.last)
        result = run.result(history if keep is not None else None)
        runs.append(result)
        seconds.append(elapsed)
        if on_run is not None:
            on_run(result, elapsed)
        if run.status == "interrupted":
            break
    return Comparison(
        function=problem.function_text if arrays else str(problem.expr),
        variables=problem.names,
        start=x0,
        runs=tuple(runs),
        seconds=tuple(seconds),
        interrupted=bool(runs) and runs[-1].status == "interrupted",
        shapes=problem.entry_layout.shapes,
    )
