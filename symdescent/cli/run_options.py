"""The options of ``run`` that say how to iterate, bundled once: every kind of problem's set-up reads them."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from symdescent.cli.plumbing import hyperparameters, option_numbers

if TYPE_CHECKING:
    from symdescent.run import Run


# A NamedTuple, not a frozen dataclass: a warm run defines it at start-up, ~7x cheaper.
class RunOptions(NamedTuple):
    """How to iterate: the method and its hyperparameters (as typed), limits, arithmetic and extras."""

    method: str
    steps: int
    tol: float
    maximize: bool
    lr: str | None
    method_params: Mapping[str, str | None] = MappingProxyType({})
    exact: bool = False
    working_precision: int | None = None
    plot: str | None = None
    dtype: str | None = None
    explain_to: TextIO | None = None
    #: Mini-batches (symdescent/vectors/batches.py) and a Dask scheduler (symdescent/vectors/cluster.py).
    batch_size: int | None = None
    epochs: int | None = None
    seed: int | None = None
    per_batch: bool = False
    scheduler: str | None = None
    #: --scheduler was given (not only SYMDESCENT_SCHEDULER): a vector it cannot run on the cluster is refused.
    scheduler_given: bool = False

    @property
    def in_arithmetic(self) -> bool:
        """Exact or D-digit numbers instead of floats."""
        return self.exact or self.working_precision is not None

    def float_hyperparameters(self) -> dict[str, Any]:
        return dict(option_numbers({**self.method_params, "lr": self.lr}))

    def iterate(self, problem: Any, start: Any) -> Run:
        """A run of the python back-end on ``problem`` from ``start``, in the arithmetic asked for."""
        from symdescent.run import iterate

        options: dict[str, Any] = hyperparameters(lr=self.lr, exact=self.in_arithmetic, **self.method_params)
        return iterate(
            problem,
            start,
            method=self.method,
            **options,
            max_steps=self.steps,
            tol=self.tol,
            maximize=self.maximize,
            exact=self.exact,
            working_precision=self.working_precision,
        )
