"""What the commands do for array problems, in the library's words (no Click, no printing).

``build`` binds a function to its data and start values; the CLI (``symdescent/cli/``)
decides the route and prints. Notes for the user go to the ``note`` callable it passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from symdescent.errors import InputError, install_hint

if TYPE_CHECKING:
    pass

def build(
    expr: str,
    start: str | None,
    data_items: Sequence[str],
    params: str | None,
    dtype: str = "float64",
    note: Callable[[str], None] | None = None,
) -> Any:
    """The bound problem: data loaded, start values parsed, shapes checked."""
    from symdescent.vectors.parse import parse_vector

    parse_vector(expr)  # a refused function is the first thing to report, before files and start values
    _need_numpy()
    from symdescent import budget
    from symdescent.memory import check_inputs
    from symdescent.vectors.data import parse_start

    check_inputs(start, data_items, params, dtype)  # sizes read from the texts: refused before allocating
    from symdescent.vectors.problem import make_vector_problem

    with budget.paused():  # filling and checking 10⁹ entries is bounded by the memory rule, not the time limit
        data = load_constants(data_items, params)
    if start is None:
        raise InputError("--start is needed")
    if "=" not in start:
        if start.strip().startswith(("[", "(")):  # "[1,2]" for the scalars x, y: the brackets made it a vector
            raise InputError(
                f"the start point {start.strip()} in brackets names no variable",
                hint='scalar variables are written without brackets, 1,2 (or x=1,y=2); a vector by name, x=[1,2]',
            )
        raise InputError(
            'name the start values of a vector problem: for example --start "x=[1,2]" or --start "w=zeros(3),b=0"'
        )
    streamed = [data.pop(key) for key in [k for k in data if k.startswith("@")]]  # files too large to load
    with budget.paused():  # parsing inside keeps a time limit of its own
        if streamed:
            from symdescent.vectors.stream import streamed_problem

            return streamed_problem(expr, parse_start(start, data, expr, dtype), data, streamed, dtype=dtype)
        problem = make_vector_problem(expr, parse_start(start, data, expr, dtype), data, dtype=dtype)
    if note is not None:
        _note_unused(data_items, params, problem, note)
    return problem


def load_constants(data_items: Sequence[str], params: str | None) -> dict[str, Any]:
    """The constants: ``--data`` files and values, then ``--param`` values (a name given by both is refused)."""
    from symdescent.vectors.data import load_data, parse_assignments, parse_value

    data: dict[str, Any] = load_data(list(data_items))
    if params:
        for name, value in parse_assignments(params, "--param").items():
            if name in data:
                raise InputError(f"{name} is given both by --param and by --data")
            data[name] = parse_value(value, name)
    return data


def _note_unused(data_items: Sequence[str], params: str | None, problem: Any, note: Callable[[str], None]) -> None:
    """A constant named on purpose (--data NAME=…, --param) that f does not use gets a note; a file's columns not."""
    from symdescent.vectors.data import split_items

    named = [item.partition("=")[0].strip() for item in data_items if "=" in item]
    named += [item.partition("=")[0].strip() for item in split_items(params or "") if "=" in item]
    unused = [name for name in named if name not in problem.data and name not in problem.names]
    if unused:
        note(f"Note: {', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used by the function")


def _need_numpy() -> None:
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise InputError("vectors, matrices and data need numpy", hint=install_hint("fast")) from None


def grad_vectors(
    expr: str,
    variables: str | None,
    fmt: str,
    out: TextIO,
    at: str | None = None,
    data: Sequence[str] = (),
    params: str | None = None,
) -> None:
    """``symdescent grad`` for vector syntax: the gradient formula (no data needed), and its value ``at`` a point.

    Scalar constants (``params``) are put into the formula, as for scalar functions; vector constants and
    ``data`` stay names. ``at`` is read as a start point is (``x=[1,2]``; unnamed when f has one variable).
    """
    from symdescent.vectors.gradient_text import gradient_at, gradient_report
    from symdescent.vectors.problem import make_formula

    names = [v.strip() for v in variables.split(",")] if variables else None
    constants = _constants(data, params)
    formula = make_formula(expr, _kinds(constants), names)
    if names is None and constants:
        formula = make_formula(expr, _kinds(constants), [n for n in formula.variables if n not in constants])
    point = None
    if at is not None:
        if "=" not in at and len(formula.variables) == 1:
            at = f"{formula.variables[0]}={at}"
        problem = build(expr, at, data, params)
        if names is not None and sorted(names) != sorted(problem.names):
            raise InputError(f"the variables are {', '.join(names)}, but the point gives {', '.join(problem.names)}")
        formula, point = problem.formula, gradient_at(problem)
    out.write(gradient_report(_with_scalars(formula, constants), None, fmt, point) + "\n")


def _constants(data: Sequence[str], params: str | None) -> dict[str, Any]:
    """The values of --data and --param, by name (loaded: a matrix is told from a vector by its value)."""
    if not data and not params:
        return {}
    _need_numpy()
    from symdescent.vectors.data import load_data, parse_assignments, parse_value

    values: dict[str, Any] = load_data(list(data))
    for name, value in (parse_assignments(params, "--param") if params else {}).items():
        values[name] = parse_value(value, name)
    return values


def _kinds(constants: Mapping[str, Any]) -> dict[str, int]:
    import numpy as np

    return {n: int(np.ndim(v)) for n, v in constants.items()}


def _with_scalars(formula: Any, constants: Mapping[str, Any]) -> Any:
    """The formula with each scalar constant's value in place of its name (f = 3·Σx² for --param a=3)."""
    import numpy as np
    import sympy as sp

    from symdescent.values import exact_number
    from symdescent.vectors.problem import Formula

    scalars = {
        sp.Symbol(n, real=True): exact_number(repr(float(v)), n)[0]
        for n, v in constants.items()
        if np.ndim(v) == 0 and n not in formula.variables
    }
    if not scalars:
        return formula
    kinds = {n: k for n, k in formula.kinds.items() if sp.Symbol(n, real=True) not in scalars}
    return Formula(formula.text, formula.expr.xreplace(scalars), formula.variables, kinds)


def explain_vectors(
    expr: str,
    start: str,
    data: Sequence[str],
    params: str | None,
    lr: str,
    *,
    iterates: int = 5,
    variables: str | None = None,
) -> Any:
    """``explain`` for vectors: the explanation (the CLI renders it as it renders a scalar one)."""
    from symdescent.vectors.explain import explain_vector

    problem = build(expr, start, data, params)
    if variables is not None:
        names = [v.strip() for v in variables.split(",")]
        if sorted(names) != sorted(problem.names):
            raise InputError(
                f"the variables are {', '.join(names)}, but the start point gives {', '.join(problem.names)}",
                hint="a vector problem's variables are the names given start values",
            )
    return explain_vector(problem, lr, iterates=iterates)


def analyze_vectors(expr: str, start: str | None, data: Sequence[str], params: str | None, *, timeout: float) -> Any:
    """``analyze`` for a function of named arrays: the :class:`~symdescent.analyze.Analysis`, as for scalars.

    Without --start each variable's size comes from the data (:func:`~symdescent.vectors.analysis.default_start`);
    without data either, only the formulas are analysed.
    """
    from symdescent.vectors.parse import parse_vector

    parse_vector(expr)  # a refused function is the first thing to report, before files and start values
    _need_numpy()
    from symdescent.vectors.analysis import analyze_arrays, default_start, symbolic_analysis
    from symdescent.vectors.data import UnknownLength
    from symdescent.vectors.problem import make_formula, make_vector_problem

    if start is not None:
        return analyze_arrays(build(expr, start, data, params), timeout=timeout)
    constants = load_constants(data, params)
    try:
        values = default_start(expr, constants)
    except UnknownLength:  # no sizes: what the formula alone says
        return symbolic_analysis(make_formula(expr))
    problem = make_vector_problem(expr, values, constants)
    return analyze_arrays(problem, timeout=timeout)
