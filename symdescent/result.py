"""One vocabulary for every run: ``Step``, ``Status`` and ``Result``.

Every optimiser fills the same fields (after scipy's ``OptimizeResult``),
and every status has one :class:`StatusSpec` in :data:`STATUSES` (message,
picture outcome, table mark, exit code), so the table, the JSON, the picture,
the exit code and the library all say the same thing.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from symdescent.layout import Flat, Layout


class Status(enum.StrEnum):
    """How a run ended."""

    CONVERGED = "converged"  # ‖∇f‖ ≤ tol
    COMPLETED = "completed"  # tol = 0 and all steps done
    MAX_STEPS = "max_steps"  # step limit reached before the tolerance
    DIVERGED = "diverged"  # a value became non-finite or complex
    UNBOUNDED = "unbounded"  # f has no minimum (maximum): it is linear in a variable, or fell without bound
    STALLED = "stalled"  # x and f no longer change: the precision limit (symdescent.stopping)
    INTERRUPTED = "interrupted"  # Ctrl-C
    TOO_SLOW = "too_slow"  # exact arithmetic: the numbers grew so big that the next step would take too long


# A NamedTuple, not a frozen dataclass: a warm run defines it at start-up, ~7x cheaper.
class StatusSpec(NamedTuple):
    """Everything said about one way a run can end: in messages, tables, pictures and exit codes."""

    message: str  # the full message; fields from :func:`status_message` ({count} is "1 step" / "5 steps")
    outcome: str  # a few words for a picture's title or legend
    mark: str  # the table's symbol
    colour: str  # the table's colour for the mark
    exit_code: int  # the CLI's exit code (README, SPEC)
    success: bool  # the run did what was asked


#: The one table of statuses (after scipy's messages table); everything else reads it.
STATUSES: dict[Status, StatusSpec] = {
    Status.CONVERGED: StatusSpec(
        "‖∇f‖ = {grad_norm:.3g} ≤ tol = {tol:g} after {count}", "converged after {count}", "✔", "green", 0, True
    ),
    Status.COMPLETED: StatusSpec(
        "all {count} done (tol = 0); ‖∇f‖ = {grad_norm:.3g}", "{count}", "✔", "green", 0, True
    ),
    Status.MAX_STEPS: StatusSpec(
        "step limit reached after {count} with ‖∇f‖ = {grad_norm:.3g} > tol = {tol:g}; {advice}",
        "step limit reached after {count}",
        "⚠",
        "yellow",
        4,
        False,
    ),
    Status.DIVERGED: StatusSpec(
        "at step {steps}, {reason}; {advice}",
        "diverged at step {steps}",
        "✘",
        "red",
        3,
        False,
    ),
    Status.UNBOUNDED: StatusSpec(
        "f is unbounded {side}: {reason}; neither more steps nor another learning rate helps",
        "unbounded {side} (step {steps})",
        "✘",
        "red",
        3,
        False,
    ),
    Status.STALLED: StatusSpec(
        "stalled after {count}: x and f did not change in the last {stall} steps, the precision limit is reached "
        "with ‖∇f‖ = {grad_norm:.3g} > tol = {tol:g}; {advice}",
        "stalled after {count}",
        "⚠",
        "yellow",
        4,
        False,
    ),
    Status.INTERRUPTED: StatusSpec(
        "stopped by the user after {count}; ‖∇f‖ = {grad_norm:.3g}",
        "interrupted after {count}",
        "■",
        "yellow",
        130,
        False,
    ),
    Status.TOO_SLOW: StatusSpec(
        "stopped after {count}: {reason}; ‖∇f‖ = {grad_norm:.3g}. "
        "Use --working-precision D (for example 50) for floats with D digits instead of exact numbers",
        "stopped after {count}: the exact numbers grew too large",
        "■",
        "yellow",
        5,
        False,
    ),
}

#: One message template per status (read from :data:`STATUSES`).
MESSAGES: dict[Status, str] = {status: spec.message for status, spec in STATUSES.items()}


def steps_text(count: int) -> str:
    """``1 step``, ``5 steps``."""
    return f"{count} step" if count == 1 else f"{count} steps"


#: What to try when the step limit is reached, by whether ‖∇f‖ went down at all.
ADVICE_SLOW = "allow more steps or a larger learning rate"
ADVICE_STUCK = (
    "‖∇f‖ did not go down from {start_norm:.3g} at the start, so the steps may overshoot: try a smaller learning rate"
)

#: The same for the methods that choose their own step lengths (exact-line, newton, cg): no --lr to suggest.
ADVICE_SLOW_WITHOUT_LR = "allow more steps"
ADVICE_FELL_WITHOUT_LR = "{method} chooses its own step lengths and ‖∇f‖ fell from {start_norm:.3g}: allow more steps"
ADVICE_STUCK_WITHOUT_LR = (
    "‖∇f‖ did not go down from {start_norm:.3g} at the start: the method makes no progress from here"
)
#: The steps left x where it was: the learning rate is below what floating point can add to x.
ADVICE_TOO_SMALL = "x did not move: the learning rate {lr:g} is too small to change it; try a larger learning rate"

#: A method that no longer moves: more steps are wasted; what may help instead.
ADVICE_STALLED = "more steps cannot help; a larger tol, or a better-conditioned (rescaled) problem may"

#: Divergence of a method that chooses its own step lengths: there is no learning rate to blame.
DIVERGED_WITHOUT_LR = "at step {steps}, {reason}; f may be unbounded along the way, or undefined beyond its domain"


#: A function linear in some variable has no minimum (nor maximum): no α or step count helps, so say that instead.
ADVICE_UNBOUNDED = "f is linear in {names}, so it has no {extremum}: neither more steps nor another learning rate helps"


def status_message(status: Status, *, linear_in: Sequence[str] = (), maximize: bool = False, **fields: Any) -> str:
    """The status's message with its fields filled in (``lr=None``: the method has no learning rate).

    ``linear_in`` names the variables f is linear in; a run that stopped short
    then says f has no minimum rather than advising another learning rate.
    """
    fields.setdefault("count", steps_text(fields["steps"]))
    fields.setdefault("stall", "several")
    if linear_in and status in (Status.MAX_STEPS, Status.DIVERGED):
        extremum = "maximum" if maximize else "minimum"
        fields["advice"] = ADVICE_UNBOUNDED.format(names=", ".join(linear_in), extremum=extremum)
    if status is Status.DIVERGED and fields.get("lr") is None and "advice" not in fields:
        return DIVERGED_WITHOUT_LR.format(**fields)
    if status is Status.DIVERGED and "advice" not in fields:
        limit = fields.get("limit")
        fields["advice"] = (
            f"{limit}: try a smaller learning rate" if limit else f"try a smaller learning rate (now {fields['lr']:g})"
        )
    if status is Status.STALLED and "advice" not in fields:
        lr, tiny = fields.get("lr"), fields.get("start_norm") == fields["grad_norm"]
        fields["advice"] = ADVICE_TOO_SMALL.format(lr=lr) if lr is not None and tiny and lr < 1e-300 else ADVICE_STALLED
    if status is Status.MAX_STEPS and "advice" not in fields:
        start_norm = fields.get("start_norm")
        stuck = start_norm is not None and fields["steps"] > 0 and fields["grad_norm"] >= start_norm
        lr = fields.get("lr")
        if lr is None:
            fell = fields.get("method") and start_norm is not None and fields["steps"] > 0 and not stuck
            advice = ADVICE_STUCK_WITHOUT_LR if stuck else ADVICE_FELL_WITHOUT_LR if fell else ADVICE_SLOW_WITHOUT_LR
        elif stuck and fields["grad_norm"] == start_norm and lr < 1e-300:
            advice = ADVICE_TOO_SMALL
        elif stuck and fields.get("limit"):
            advice = fields["limit"] + ": try a smaller learning rate"
        else:
            advice = ADVICE_STUCK if stuck else ADVICE_SLOW
        fields["advice"] = advice.format(start_norm=start_norm, lr=lr, method=fields.get("method"))
    return MESSAGES[status].format(**fields)


def outcome(status: Status, steps: int) -> str:
    """The status in a few words, for a picture: ``converged after 12 steps``."""
    return STATUSES[status].outcome.format(steps=steps, count=steps_text(steps))


class Step(NamedTuple):
    """The state after ``step`` updates: the point, f, ∇f and ‖∇f‖ there.

    Step 0 is the start point. ``info`` holds what the method used on the
    way here (for example the step length a line search chose), if anything.
    A NamedTuple because a run makes many of these and they must be cheap.
    """

    step: int
    x: Flat
    f: float
    grad: Flat
    grad_norm: float
    info: Mapping[str, Any] | None = None


class Result:
    """A finished run, with the keys of the JSON output as attributes; immutable.

    A plain class rather than a frozen dataclass: defining a 20-field dataclass (and importing
    ``dataclasses``) cost a warm run about 12 M instructions, 5% of its start-up. It behaves as the
    dataclass did: keyword or positional fields, ``==``, ``repr``, and :meth:`replace` for a changed copy.
    """

    #: The fields in order: the constructor's positions, repr, equality.
    FIELDS = (
        "function", "variables", "gradient", "method", "params", "start", "history", "x", "f", "grad_norm",
        "steps", "status", "message", "tol", "max_steps", "maximize", "nfev", "ngev", "nhev", "shapes",
    )  # fmt: skip
    __slots__ = FIELDS

    function: str
    variables: tuple[str, ...]
    gradient: tuple[str, ...]  # one formula per variable (a vector's in vector form)
    method: str
    params: Mapping[str, Any]
    start: Mapping[str, Any]  # name -> value, like x
    history: tuple[Step, ...]
    #: The final point, name -> value: a number for a scalar, a numpy array for a vector (``flat``: one sequence).
    x: Mapping[str, Any]
    f: float
    grad_norm: float
    steps: int
    status: Status
    message: str
    tol: float
    max_steps: int
    maximize: bool
    #: Evaluations of f, ∇f and the Hessian (scipy's nfev, njev, nhev), the start point's included.
    nfev: int
    ngev: int
    nhev: int
    #: Each variable's shape; a name not listed is a scalar (shape ``()``).
    shapes: Mapping[str, tuple[int, ...]]

    def __init__(
        self,
        function: str,
        variables: tuple[str, ...],
        gradient: tuple[str, ...],
        method: str,
        params: Mapping[str, Any],
        start: Mapping[str, Any],
        history: tuple[Step, ...],
        x: Mapping[str, Any],
        f: float,
        grad_norm: float,
        steps: int,
        status: Status,
        message: str,
        tol: float = 0.0,
        max_steps: int = 0,
        maximize: bool = False,
        nfev: int = 0,
        ngev: int = 0,
        nhev: int = 0,
        shapes: Mapping[str, tuple[int, ...]] | None = None,
    ) -> None:
        values = (
            *(function, variables, gradient, method, params, start, history, x, f, grad_norm, steps, status),
            *(message, tol, max_steps, maximize, nfev, ngev, nhev, {} if shapes is None else shapes),
        )
        for name, value in zip(self.FIELDS, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Result is immutable (use .replace)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a Result is immutable")

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Result) and other.__class__ is self.__class__ and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self) -> tuple[type[Result], tuple[Any, ...]]:
        return Result, self._fields()  # pickle and copy through the constructor (fields cannot be set)

    def __repr__(self) -> str:
        return "Result(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS) + ")"

    def replace(self, **changes: Any) -> Result:
        """A copy with ``changes`` (as ``dataclasses.replace`` made for the dataclass)."""
        unknown = set(changes) - set(self.FIELDS)
        if unknown:
            raise TypeError(f"Result has no field {sorted(unknown)[0]!r}")
        return Result(**{name: changes.get(name, getattr(self, name)) for name in self.FIELDS})

    @property
    def success(self) -> bool:
        """True when the run did what was asked (converged, or all fixed steps done)."""
        return STATUSES[self.status].success

    @property
    def layout(self) -> Layout:
        """Which entries of the flat ``x`` belong to which variable."""
        return Layout.of(self.variables, self.shapes)

    @property
    def flat(self) -> Flat:
        """The final point as one flat sequence, every variable's entries in order (what the optimisers see)."""
        return self.layout.flatten(self.x)

    @property
    def flat_start(self) -> Flat:
        return self.layout.flatten(self.start)

    def _repr_html_(self) -> str:
        """Jupyter shows a run as a table of its first and last steps, with a sparkline of f."""
        from symdescent.render.notebook import result_html

        return result_html(self)

    def as_floats(self) -> Result:
        """The same result with every number a float: what renderers that draw or do float maths take.

        Exact (SymPy) and D-digit (mpmath) runs convert here, once, at the
        renderer's door; a float result is returned as it is.
        """
        if any(hasattr(v, "dtype") for v in self.x.values()):  # numpy arrays: floats already, maybe 10⁹ of them
            return self
        if all(type(v) is float for v in (*self.x.values(), self.f, self.grad_norm, *self.start.values())):
            return self
        return self.replace(
            start=_named_floats(self.start),
            history=tuple(step_as_floats(s) for s in self.history),
            x=_named_floats(self.x),
            f=_float(self.f),
            grad_norm=_float(self.grad_norm),
        )


def _named_floats(point: Mapping[str, Any]) -> dict[str, Any]:
    """``{name: value}`` with floats: a scalar's value, or a vector's entries (exact runs keep them as tuples)."""
    return {name: _floats(v) if isinstance(v, tuple) else _float(v) for name, v in point.items()}


def step_as_floats(step: Step) -> Step:
    """A step with its numbers as floats (nan for what has no real float value)."""
    return step._replace(x=_floats(step.x), f=_float(step.f), grad=_floats(step.grad), grad_norm=_float(step.grad_norm))


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _floats(values: Any) -> tuple[float, ...]:
    return tuple(_float(v) for v in values)
