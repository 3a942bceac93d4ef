"""Vectors, matrices and data: parsing, derivatives in vector form, the compiled code and the optimisers.

References are independent of the code under test: finite differences, the
scalar path (the same function expanded into n = 3 scalar variables and
differentiated by symdescent's scalar engine), numpy.linalg.lstsq,
numpy.polyfit and scipy's BFGS.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symdescent.errors import InputError, ParseError
from symdescent.vectors.banded import banded_terms
from symdescent.vectors.engine import minimize_vectors
from symdescent.vectors.nodes import VDot, VIndexSum, VMatMul, VMean, VNorm, VSum, VTranspose, parse_entry
from symdescent.vectors.parse import parse_vector
from symdescent.vectors.problem import make_formula, make_vector_problem

RNG = np.random.default_rng(7)
A = RNG.normal(size=(6, 3))
B = RNG.normal(size=6)
X = RNG.normal(size=(8, 3))
Y = np.sign(RNG.normal(size=8))

#: (function, start values, data): every node type, scalars and vectors mixed.
CASES = [
    ("x @ x", {"x": np.array([1.0, -2.0, 0.5])}, {}),
    ("sum(x^2)", {"x": np.array([0.3, -0.2, 0.9])}, {}),
    ("norm(A @ x - b)^2", {"x": np.array([0.1, 0.2, -0.3])}, {"A": A, "b": B}),
    ("norm(A @ x - b)", {"x": np.array([0.1, 0.2, -0.3])}, {"A": A, "b": B}),
    ("sum(log(1 + exp(-y * (X @ w))))", {"w": np.array([0.2, -0.1, 0.4])}, {"X": X, "y": Y}),
    ("sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)", {"x": np.array([0.3, -0.4, 1.2])}, {}),
    ("sum(x[i-1]*x[i+1] + sin(x[i]), i)", {"x": np.array([0.3, -0.4, 1.2])}, {}),
    ("sum(x[i]^2*x[i+1], i=1..2)", {"x": np.array([0.3, -0.4, 1.2])}, {}),
    ("mean((a*t + b - T)^2)", {"a": 0.4, "b": -0.3}, {"t": np.arange(3.0), "T": np.array([1.0, 2.5, 3.9])}),
    (
        "mean((w @ u + c - T)^2) + dot(w, w)",
        {"w": np.array([0.1, 0.2]), "c": 0.5},
        {"u": np.array([1.0, 2.0]), "T": np.array([1.0, 2.0, 0.5])},
    ),
    ("x @ transpose(A) @ A @ x / 2 + sum(exp(x) * sqrt(1 + x^2))", {"x": np.array([0.1, 0.2, -0.3])}, {"A": A}),
    ("sum(x) * sum(x^3) + norm(x) * mean(x)", {"x": np.array([0.3, -0.4, 1.2])}, {}),
]


def finite_difference(problem, z, h=1e-6):
    grad = np.empty_like(z)
    for k in range(z.size):
        e = np.zeros_like(z)
        e[k] = h
        grad[k] = (problem.value(z + e) - problem.value(z - e)) / (2 * h)
    return grad


# -- the scalar path: the same function written out for n = 3 ---------------------------


def expand(expr, values):
    """A vector expression as SymPy scalars: a list of entries per vector, nested lists for matrices."""
    if isinstance(expr, sp.Symbol):
        entry = parse_entry(expr)
        if entry:
            raise AssertionError("entries are expanded by their index sum")
        value = values[expr.name]
        return value
    if expr.is_Number or not expr.free_symbols:
        return expr
    if isinstance(expr, VSum):
        return sp.Add(*_flat(expand(expr.args[0], values)))
    if isinstance(expr, VMean):
        entries = _flat(expand(expr.args[0], values))
        return sp.Add(*entries) / len(entries)
    if isinstance(expr, VNorm):
        return sp.sqrt(sp.Add(*(e**2 for e in _flat(expand(expr.args[0], values)))))
    if isinstance(expr, VDot):
        u, v = (expand(a, values) for a in expr.args)
        return sp.Add(*(a * b for a, b in zip(u, v, strict=True)))
    if isinstance(expr, VTranspose):
        m = expand(expr.args[0], values)
        return [list(col) for col in zip(*m, strict=True)]
    if isinstance(expr, VMatMul):
        m, v = (expand(a, values) for a in expr.args)
        return (
            [sp.Add(*(a * b for a, b in zip(row, v, strict=True))) for row in m]
            if not isinstance(v[0], list)
            else [[sp.Add(*(row[k] * v[k][j] for k in range(len(v)))) for j in range(len(v[0]))] for row in m]
        )
    if isinstance(expr, VIndexSum):
        body, lo, hi = expr.args
        found = {s: parse_entry(s) for s in body.free_symbols if parse_entry(s)}
        n = {len(values[name]) for name, _ in found.values()}.pop()
        offsets = [o for _, o in found.values()]
        first, last = (int(lo), int(hi)) if lo else (1 - min(offsets), n - max(offsets))
        total = sp.S.Zero
        for i in range(first, last + 1):
            mapping = {s: values[name][i + o - 1] for s, (name, o) in found.items()}
            total += body.xreplace(mapping)
        return total
    args = [expand(a, values) for a in expr.args]
    length = max((len(a) for a in args if isinstance(a, list)), default=None)
    if length is None:
        return expr.func(*args)
    return [expr.func(*(a[k] if isinstance(a, list) else a for a in args)) for k in range(length)]


def _flat(value):
    return value if isinstance(value, list) else [value]


def scalar_twin(problem):
    """The problem as a scalar function of x1, x2, … (the symdescent scalar path), and its variable order."""
    from symdescent.problem import make_problem

    values, names = {}, []
    for name, shape, first, end in problem.layout:
        if shape:
            symbols = [sp.Symbol(f"{name}{k}", real=True) for k in range(1, end - first + 1)]
            values[name] = symbols
            names += [s.name for s in symbols]
        else:
            values[name] = sp.Symbol(name, real=True)
            names.append(name)
    for name, value in problem.data.items():
        values[name] = (
            value
            if isinstance(value, float)
            else ([[sp.Float(v) for v in row] for row in value] if value.ndim == 2 else [sp.Float(v) for v in value])
        )
    return make_problem(expand(problem.formula.expr, values), variables=names)


@pytest.mark.parametrize(("text", "start", "data"), CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences_and_the_scalar_path(text, start, data):
    problem = make_vector_problem(text, start, data)
    z = problem.flat_start()
    f, grad = problem.value_and_grad(z)
    assert np.allclose(grad, finite_difference(problem, z), rtol=1e-6, atol=1e-6)
    twin = scalar_twin(problem)
    scalar = twin.value_and_grad(*z)
    assert f == pytest.approx(scalar[0], rel=1e-12, abs=1e-12)
    assert np.allclose(grad, scalar[1:], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x @ x", "2x"),
        ("sum(x^2)", "2x"),
        ("norm(A @ x - b)^2", "2Aᵀ(Ax − b)"),
        ("sum((x - 1)^2)", "2x − 2"),
    ],
)
def test_gradient_formulas_stay_in_vector_form(text, expected):
    formula = make_formula(text)
    assert formula.gradient_text("x") == expected


def test_differentiation_does_not_depend_on_n():
    """The formula is derived from the text alone: the same for 3 entries and for a million."""
    small = make_vector_problem("sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)", {"x": np.zeros(3)})
    large = make_vector_problem("sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)", {"x": np.zeros(10**6)})
    assert small.formula.gradient == large.formula.gradient
    assert sp.count_ops(large.formula.gradient["x"]) < 60


def test_plain_gradient_text_parses_back_to_the_same_numbers():
    problem = make_vector_problem("norm(A @ x - b)^2", {"x": np.array([0.1, 0.2, -0.3])}, {"A": A, "b": B})
    text = problem.gradient_texts(fancy=False)["x"]
    again = make_vector_problem(
        f"sum(({text}) * v)", {"v": np.zeros(3)}, {"A": A, "b": B, "x": np.array([0.1, 0.2, -0.3])}
    )
    _, grad = problem.value_and_grad(problem.flat_start())
    _, same = again.value_and_grad(again.flat_start())
    assert np.allclose(grad, same)


# -- parsing and checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x[j]", "or i inside an index sum"),
        ("sum(x[j], i)", "must be i"),
        ("sum(sum(x[i], i), i)", "cannot be nested"),
        ("sum(x, 3)", "index name"),
        ("x = 1", "'=' is only allowed"),
        ("__import__('os')", "strings are not allowed"),
        ("sum(x[i], i=3..1)", "1 ≤ first ≤ last"),
        ("x.T", "attribute"),
    ],
)
def test_refused_text(text, message):
    with pytest.raises(ParseError, match=message):
        parse_vector(text)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(InputError, match="A is 6×3 but x has 4 entries"):
        make_vector_problem("norm(A @ x - b)^2", {"x": np.zeros(4)}, {"A": A, "b": B})
    with pytest.raises(InputError, match=r"t has 3 entries but x has 2 entries|x has 2 entries but t has 3 entries"):
        make_vector_problem("sum(x * t)", {"x": np.zeros(2)}, {"t": np.zeros(3)})


def test_vector_valued_f_is_refused_with_the_usual_fix():
    with pytest.raises(InputError, match="f must be a scalar") as error:
        make_vector_problem("x^2", {"x": np.zeros(2)})
    assert "sum(...) or norm(...)" in (error.value.hint or "")


def test_matrix_times_vector_elementwise_hints_at_the_matrix_product():
    with pytest.raises(InputError) as error:
        make_vector_problem("sum(A*x)", {"x": np.zeros(3)}, {"A": A})
    assert error.value.hint == "A @ x is the matrix product"


def test_index_range_outside_the_vector_is_refused():
    with pytest.raises(InputError, match="outside x"):
        make_vector_problem("sum(x[i+1], i=1..3)", {"x": np.zeros(3)})


# -- runs: the contract's examples and independent references ---------------------------


def test_seed_in_vector_form_converges_at_step_69_like_the_scalar_run():
    from symdescent import minimize

    vector = minimize("x @ x", start={"x": [1, 2]}, lr=0.1)
    scalar = minimize("x**2 + y**2", start=(1, 2), lr=0.1)
    assert vector.steps == scalar.steps == 69
    assert np.allclose(vector.x["x"], scalar.flat, rtol=1e-14, atol=0)
    assert np.allclose(vector.x["x"], 0.8**69 * np.array([1, 2]), rtol=1e-12)


def test_least_squares_matches_lstsq():
    from symdescent import minimize

    result = minimize(
        "norm(A @ x - b)^2", start={"x": np.zeros(3)}, data={"A": A, "b": B}, lr=0.02, tol=1e-10, max_steps=10_000
    )
    assert result.success
    assert np.allclose(result.x["x"], np.linalg.lstsq(A, B, rcond=None)[0], atol=1e-6)


def test_line_fit_matches_polyfit():
    t = np.arange(7.0)
    temps = np.array([11.8, 13.1, 14.2, 14.9, 16.3, 17.0, 18.4])
    result = minimize_vectors(
        "mean((a*t + b - T)^2)", {"a": 0, "b": 0}, {"t": t, "T": temps}, lr=0.05, tol=1e-9, max_steps=20_000
    )
    assert result.success
    assert [result.x["a"], result.x["b"]] == pytest.approx(list(np.polyfit(t, temps, 1)), abs=1e-6)


def test_logistic_regression_matches_scipy_bfgs():
    optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(3)
    features = rng.normal(size=(40, 3))
    labels = np.where(features @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=40) > 0, 1.0, -1.0)

    def loss(w):
        return np.sum(np.logaddexp(0, -labels * (features @ w)))

    reference = optimize.minimize(loss, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    result = minimize_vectors(
        "sum(log(1 + exp(-y * (X @ w))))", {"w": np.zeros(3)}, {"X": features, "y": labels}, tol=1e-9, max_steps=5000
    )
    assert result.success
    assert np.allclose(result.x["w"], reference, atol=1e-5)


def test_chained_rosenbrock_with_cg_reaches_all_ones():
    result = minimize_vectors(
        "sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)",
        {"x": np.zeros(1000)},
        method="cg",
        max_steps=20_000,
        keep_history=False,
    )
    assert result.success
    assert np.allclose(result.x["x"], 1.0, atol=1e-5)


# -- the array optimisers against the scalar ones, step by step --------------------------


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("gd", {"lr": 0.001}),
        ("momentum", {"lr": 0.001}),
        ("nesterov", {"lr": 0.001}),
        ("adam", {"lr": 0.05}),
        ("rmsprop", {"lr": 0.01}),
        ("adagrad", {"lr": 0.1}),
        ("backtracking", {}),
        ("cg", {}),
        ("newton", {}),
    ],
)
def test_array_methods_follow_the_scalar_methods_step_by_step(method, options):
    from symdescent import iterate

    problem = make_vector_problem("sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)", {"x": np.array([-1.2, 1.0, 0.5])})
    scalar = list(
        iterate(scalar_twin(problem), tuple(problem.flat_start()), method=method, max_steps=15, tol=0, **options)
    )
    vector = minimize_vectors(problem.formula.text, problem.start, method=method, max_steps=15, tol=0, **options)
    assert len(vector.history) == len(scalar) == 16
    for ours, theirs in zip(vector.history, scalar, strict=True):
        assert np.allclose(ours.x, theirs.x, rtol=1e-9, atol=1e-12), (method, ours.step)
        assert ours.f == pytest.approx(theirs.f, rel=1e-9, abs=1e-12)


# -- banded_terms, for the kernel engine ---------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "sum(x^2)",
        "x @ x",
        "3*sum((x - 1)^2) + 2 + mean(exp(x))",
        "sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)",
        "sum(x[i-1]*x[i+1], i) + norm(x)^2 - sum(cos(x[i]), i)",
    ],
)
def test_banded_terms_evaluate_like_the_problem(text):
    x = np.linspace(-0.7, 1.3, 11)
    problem = make_vector_problem(text, {"x": x})
    terms, constant = banded_terms(problem)
    total = constant
    for term in terms:
        reach = max(term.offsets)
        symbols = [term.offsets[o] for o in sorted(term.offsets)]
        body = sp.lambdify(symbols, term.body, "numpy")
        total += np.sum(body(*(x[o : x.size - reach + o] for o in sorted(term.offsets))))
    assert total == pytest.approx(problem.value(x), rel=1e-12)


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("norm(x)", {}),
        ("sum(x^2) * sum(x)", {}),
        ("sum(x[i]^2, i=1..3)", {}),
        ("sum((x - t)^2)", {"t": np.ones(11)}),
        ("norm(A @ x)^2", {"A": np.ones((2, 11))}),
    ],
)
def test_banded_terms_refuse_other_forms(text, data):
    assert banded_terms(make_vector_problem(text, {"x": np.ones(11)}, data)) is None


# -- explain and analyze ---------------------------------------------------------------------


def test_explain_tells_the_seed_story_in_vector_form():
    from symdescent.vectors.explain import explain_text

    text = explain_text(make_vector_problem("x @ x", {"x": [1, 2]}), 0.1)
    assert "∇f = 2x" in text
    assert "xₜ₊₁ = xₜ − 0.1·2xₜ = 0.8·xₜ" in text
    assert "xₜ = 0.8ᵗ·x₀" in text
    assert "H = 2I" in text


def test_explain_and_analyze_compute_lambda_max_from_the_data():
    from symdescent.render.analyze import text_lines
    from symdescent.vectors.analysis import analyze_arrays
    from symdescent.vectors.explain import explain_text

    problem = make_vector_problem("norm(A @ x - b)^2", {"x": np.zeros(3)}, {"A": A, "b": B})
    eigenvalues = np.linalg.eigvalsh(2 * A.T @ A)
    text = explain_text(problem, 0.01)
    assert "H = 2AᵀA" in text
    assert f"{2 / eigenvalues[-1]:.6g}" in text
    report = "\n".join(text_lines(analyze_arrays(problem)))
    assert "Convex: yes" in report and "minimum" in report
    assert f"{2 / (eigenvalues[0] + eigenvalues[-1]):.10g}" in report


def test_index_sum_gradient_shows_the_boundary_cases():
    from symdescent.vectors.explain import gradient_report

    text = gradient_report("sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)", None, "text")
    assert "∂f/∂x[j] = " in text
    assert "j = 1 :" in text and "j = n :" in text
    assert "j = n : 200x[n] − 200x[n−1]²" in text  # the Unicode minus, also inside brackets


# -- hostile and random input: an InputError, never another exception ----------------------


VECTOR_TOKENS = [
    "x",
    "A",
    "b",
    "i",
    "1",
    "2",
    "(",
    ")",
    "[",
    "]",
    "@",
    "+",
    "-",
    "*",
    "/",
    "^",
    ",",
    "=",
    "..",
    "sum(",
    "mean(",
    "norm(",
    "dot(",
    "transpose(",
    "exp(",
    "log(",
    "x[i]",
    "x[i+1]",
    "x[i-1]",
    " ",
    "sum(x[i]^2, i)",
    "sum(x^2)",
    "A @ x",
    ", i)",
    "i=1..2",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(VECTOR_TOKENS), max_size=25).map("".join))
def test_random_vector_text_gives_a_problem_or_an_input_error(text):
    from symdescent.vectors.explain import gradient_report

    with contextlib.suppress(InputError):
        gradient_report(text, None, "json")
    try:
        problem = make_vector_problem(text, {"x": np.array([0.5, -1.0, 2.0])}, {"A": np.ones((2, 3)), "b": np.ones(2)})
    except InputError:
        return
    problem.value_and_grad(problem.flat_start())


def test_logistic_gradient_reads_with_the_sigmoid():
    formula = make_formula("sum(log(1 + exp(-y * (X @ w))))")
    assert formula.variables == ("w",)
    assert formula.gradient_text("w") == "−Xᵀ(y·σ(−y·(Xw)))"  # y·(Xw), not (y·X)w


# -- start values and files -------------------------------------------------------------------


def test_start_value_forms(tmp_path):
    from symdescent.vectors.data import parse_start

    (tmp_path / "x0.csv").write_text("1.5\n-2\n")
    values = parse_start(f"x=[1, 2/4],y=0.5*ones(10^3),z=zeros(3)*2,a=pi/4,w=@{tmp_path / 'x0.csv'}", {}, "x")
    assert list(values["x"]) == [1.0, 0.5]
    assert values["y"].shape == (1000,) and np.all(values["y"] == 0.5)
    assert list(values["z"]) == [0, 0, 0]
    assert values["a"] == pytest.approx(np.pi / 4)
    assert list(values["w"]) == [1.5, -2.0]
    assert parse_start("x=zeros(n)", {"A": np.ones((5, 4))}, "norm(A @ x)^2")["x"].shape == (4,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x=zeros(n)", "n is not known"),
        ("x=ones(0)", "whole number from 1"),
        ("x=ones(2.5)", "whole number from 1"),
        ("x=[1,", "no closing"),
        ("x=[]", "empty vector"),
        ("[1,2]", "has no name"),
        ("x=1,x=2", "given twice"),
        ("x=@missing.npy", "no such file"),
        ("x=ones(10^12)", "whole number from 1"),
    ],
)
def test_bad_start_values(text, message):
    from symdescent.vectors.data import parse_start

    with pytest.raises(InputError, match=message):
        parse_start(text, {"t": np.ones(3), "u": np.ones(4)}, "sum(x)")
