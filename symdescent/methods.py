"""The one registry of methods: every fact about a method, in one entry.

Everything that names, describes or builds a method reads :data:`METHODS`:
``--method``'s choices and ``--help`` (the update rules), the table's title,
the picture's legend, compare's default learning rates and step-rule labels,
which methods may run in exact arithmetic, and :func:`symdescent.optimizers.make_optimizer`.
Adding a method is one :class:`MethodSpec` here plus its recipe function.

Importing this module stays cheap (no SymPy, no optimisers): ``--help`` reads
it. The recipe is named by ``module:function`` and imported only when built.

    spec = METHODS["adam"]
    spec.title, spec.rule, spec.defaults["lr"], spec.exact     # 'Adam', 'm ← …', 0.1, False
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from types import MappingProxyType
from typing import Any, NamedTuple


# A NamedTuple, not a frozen dataclass: a warm run defines it at start-up, ~7x cheaper.
class MethodSpec(NamedTuple):
    """What symdescent knows about one method (see the module docstring)."""

    name: str  # what --method and --methods accept
    title: str  # the table's heading
    rule: str  # the update rule in one line, for --help and the README
    recipe: str  # "module:function" that builds the optimiser from its hyperparameters
    defaults: Mapping[str, Any] = MappingProxyType({})  # every hyperparameter and its default
    #: compare's learning rate when --lr does not say: tuned so that Rosenbrock-like valleys converge
    #: (gd-like methods need α < 2/L, about 1e-3 there; Adagrad's steps shrink like 1/√t, so 1).
    compare_lr: float | None = None
    step_rule: str = ""  # how it chooses its step length, when it has no learning rate to show
    why: str = ""  # why it may stop short of the tolerance with a constant step (said under compare's table)
    exact: bool = False  # its update is plain arithmetic, so exact and D-digit runs stay in their arithmetic
    label: str = ""  # how a picture's legend names it (the name when empty)
    #: The back-ends that run it: "python" (scalars: floats, exact, D digits), "array" (numpy, whole arrays),
    #: "kernel" (chunked, in place: the fused steps of symdescent/kernels/steps.py).
    backends: tuple[str, ...] = ("python", "array")

    @property
    def arrays(self) -> bool:
        """Whether it runs on problems of named arrays (vectors, data)."""
        return "array" in self.backends

    @property
    def hyperparameters(self) -> tuple[str, ...]:
        return tuple(self.defaults)

    @property
    def has_lr(self) -> bool:
        return "lr" in self.defaults

    @property
    def legend(self) -> str:
        return self.label or self.name

    def builder(self) -> Callable[..., Any]:
        module, _, function = self.recipe.partition(":")
        return getattr(import_module(module), function)


_FIRST = "symdescent.optimizers.first_order"
_RECIPES = "symdescent.optimizers"

METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            "gd",
            "Gradient descent",
            "x ← x − α∇f",
            f"{_FIRST}:gd",
            {"lr": 0.1},
            compare_lr=1e-3,
            exact=True,
            label="gradient descent",
            backends=("python", "array", "kernel"),
        ),
        MethodSpec(
            "momentum",
            "Gradient descent with momentum",
            "v ← μv + ∇f; x ← x − αv",
            f"{_FIRST}:momentum",
            {"lr": 0.1, "momentum": 0.9},
            compare_lr=1e-3,
            exact=True,
            backends=("python", "array", "kernel"),
        ),
        MethodSpec(
            "nesterov",
            "Nesterov momentum",
            "v ← μv + ∇f; x ← x − α(∇f + μv)",
            f"{_FIRST}:nesterov",
            {"lr": 0.1, "momentum": 0.9},
            compare_lr=1e-3,
            exact=True,
            backends=("python", "array", "kernel"),
        ),
        MethodSpec(
            "adam",
            "Adam",
            "m ← β₁m + (1−β₁)∇f; v ← β₂v + (1−β₂)∇f²; x ← x − α m̂/(√v̂ + ε)",
            f"{_FIRST}:adam",
            {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
            compare_lr=1e-2,
            backends=("python", "array", "kernel"),
        ),
        MethodSpec(
            "rmsprop",
            "RMSprop",
            "v ← ρv + (1−ρ)∇f²; x ← x − α∇f/(√v + ε)",
            f"{_FIRST}:rmsprop",
            {"lr": 0.1, "decay": 0.99, "eps": 1e-8},
            compare_lr=1e-3,
            why="with a constant α RMSprop's steps stay about α long near the minimum, so it circles the minimum "
            "instead of settling; more steps do not help, a smaller α circles closer",
            backends=("python", "array", "kernel"),
        ),
        MethodSpec(
            "adagrad",
            "Adagrad",
            "G ← G + ∇f²; x ← x − α∇f/(√G + ε)",
            f"{_FIRST}:adagrad",
            {"lr": 0.1, "eps": 1e-10, "initial_accumulator_value": 0.0},
            compare_lr=1.0,
            backends=("python", "array", "kernel"),
        ),
        MethodSpec(
            "newton",
            "Newton's method",
            "solve H d = −∇f; x ← x + αd, α by backtracking from 1 (−∇f where H is not positive definite)",
            f"{_RECIPES}:newton",
            {"c1": 1e-4, "shrink": 0.5},
            step_rule="Newton, Armijo",
        ),
        MethodSpec(
            "backtracking",
            "Steepest descent with Armijo backtracking",
            "x ← x − α∇f, α = lr, lr/2, … until f drops by c₁α‖∇f‖² (Armijo)",
            f"{_RECIPES}:backtracking",
            {"lr": 1.0, "c1": 1e-4, "shrink": 0.5},
            compare_lr=1.0,
        ),
        MethodSpec(
            "exact-line",
            "Steepest descent with exact line search",
            "x ← x − α∇f, α = argmin f(x − α∇f)",
            f"{_RECIPES}:exact_line",
            step_rule="exact",
            backends=("python",),  # a line search in closed form: f must be a polynomial in named scalars
        ),
        MethodSpec(
            "cg",
            "Conjugate gradient (Polak–Ribière+)",
            "d ← −∇f + βd (Polak–Ribière+); x ← x + αd, α by strong-Wolfe line search",
            f"{_RECIPES}:cg",
            {"c1": 1e-4, "c2": 0.1, "restart_every": None},
            step_rule="strong Wolfe",
        ),
        MethodSpec(
            "lbfgs",
            "L-BFGS",
            "d ← −H∇f, H from the last m steps (two-loop recursion); x ← x + αd, α by strong Wolfe from 1",
            f"{_RECIPES}:lbfgs",
            {"history": 10, "c1": 1e-4, "c2": 0.9},
            step_rule="strong Wolfe",
        ),
    )
}

#: Each method's update rule in one line, for ``--help`` and the README (read from :data:`METHODS`).
UPDATE_RULES: dict[str, str] = {name: spec.rule for name, spec in METHODS.items()}

#: The methods whose update stays in exact or D-digit arithmetic.
EXACT_METHODS: tuple[str, ...] = tuple(name for name, spec in METHODS.items() if spec.exact)


def closest_method(name: str) -> str | None:
    """The known method a misspelt name most likely means (``adma`` → ``adam``), or None."""
    import difflib

    close = difflib.get_close_matches(name.strip().lower(), list(METHODS), n=1, cutoff=0.6)
    return close[0] if close else None


def method_name(name: object) -> str:
    """The registry's name for ``name``, whatever its case (``Adam`` → ``adam``).

    :class:`~symdescent.errors.InputError` for an unknown one, with "did you mean" when a
    known name is close and the known names in the hint.
    """
    key = name.strip().lower() if isinstance(name, str) else None
    if key in METHODS:
        return key
    from symdescent.errors import InputError

    guess = closest_method(name) if isinstance(name, str) else None
    known = f"known methods: {', '.join(METHODS)}"
    message = f"unknown method {name!r}" + (f": did you mean {guess}?" if guess else "")
    raise InputError(message, hint=known)


def method_spec(name: object) -> MethodSpec:
    """The spec of a method by name, in any case; :class:`~symdescent.errors.InputError` if unknown."""
    return METHODS[method_name(name)]
