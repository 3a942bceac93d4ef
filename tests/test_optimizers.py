"""Every optimiser against every test problem, equivalences between methods, and their update rules by hand."""

from __future__ import annotations

import itertools
import math

import pytest
import sympy as sp
from conftest import BOOTH, ROSENBROCK

from symdescent import Status, minimize
from symdescent.errors import InputError
from symdescent.hessian import cholesky, cholesky_solve
from symdescent.optimizers import OPTIMIZERS, UPDATE_RULES, make_optimizer
from symdescent.optimizers.linesearch import ray_derivative, smallest_positive_root, strong_wolfe

#: A convex quadratic: ∇f = (4x + y − 4, x + 6y + 1) = 0 at (25/23, −8/23); Hessian [[4, 1], [1, 6]].
QUADRATIC = "2*x**2 + x*y + 3*y**2 - 4*x + y"
QUADRATIC_MIN = (25 / 23, -8 / 23)
QUADRATIC_HESSIAN = ((4.0, 1.0), (1.0, 6.0))

# (method, learning rate per problem or None, step budget per problem)
# Budgets are about twice what each method needs, so a regression that slows
# a method down noticeably fails here.
TABLE = {
    #                 quadratic       Booth           Rosenbrock
    "gd": ((0.1, 100), (0.05, 300), (1e-3, 40_000)),
    "momentum": ((0.05, 500), (0.02, 600), (1e-3, 6_000)),
    "nesterov": ((0.05, 150), (0.02, 400), (1e-3, 6_000)),
    "adam": ((0.1, 600), (0.1, 700), (1e-2, 11_000)),
    "rmsprop": ((0.01, 600), (0.01, 2_000), (1e-4, 50_000)),
    "adagrad": ((1.0, 50), (1.0, 700), (1.0, 34_000)),
    "newton": ((None, 1), (None, 1), (None, 45)),
    "backtracking": ((1.0, 60), (1.0, 80), (1.0, 28_000)),
    "exact-line": ((None, 15), (None, 20), (None, 30_000)),
    "cg": ((None, 2), (None, 2), (None, 70)),
    "lbfgs": ((None, 8), (None, 12), (None, 70)),
}

PROBLEMS = [
    ("quadratic", QUADRATIC, (0, 0), QUADRATIC_MIN),
    ("booth", BOOTH, (0, 0), (1, 3)),
    ("rosenbrock", ROSENBROCK, (-1.2, 1), (1, 1)),
]


def test_every_registered_method_is_in_the_table_and_has_an_update_rule() -> None:
    assert set(TABLE) == set(OPTIMIZERS) == set(UPDATE_RULES)


@pytest.mark.parametrize("method", list(TABLE))
@pytest.mark.parametrize("problem", range(len(PROBLEMS)), ids=[p[0] for p in PROBLEMS])
def test_every_method_reaches_the_minimiser_within_its_budget(method: str, problem: int) -> None:
    name, function, start, minimiser = PROBLEMS[problem]
    lr, budget = TABLE[method][problem]
    options = {"lr": lr} if lr is not None else {}
    result = minimize(function, start, method=method, max_steps=budget, **options)
    if (method, name) == ("rmsprop", "rosenbrock"):
        # With a constant α RMSprop's steps stay about α long: it circles the
        # minimum at a distance of order α instead of converging to tol.
        assert result.status is Status.MAX_STEPS
        assert math.dist(result.flat, minimiser) < 1e-3
        return
    assert result.status is Status.CONVERGED, result.message
    assert result.steps <= budget
    assert result.flat == pytest.approx(minimiser, abs=1e-5)


# -- equivalences ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["momentum", "nesterov"])
@pytest.mark.parametrize(("function", "start"), [(QUADRATIC, (3, -2)), (ROSENBROCK, (-1.2, 1))])
def test_momentum_zero_is_gradient_descent_step_for_step(method: str, function: str, start: tuple) -> None:
    plain = minimize(function, start, method="gd", lr=1e-3, tol=0, max_steps=200)
    heavy = minimize(function, start, method=method, lr=1e-3, momentum=0.0, tol=0, max_steps=200)
    assert [s.x for s in heavy.history] == [s.x for s in plain.history]


def test_nesterov_differs_from_heavy_ball_after_the_first_step() -> None:
    # v₁ = g₀ for both, so x₁ = x₀ − α(1 + μ)g₀ for Nesterov but x₀ − αg₀ for heavy ball.
    heavy = minimize("x**2", (1,), method="momentum", lr=0.1, tol=0, max_steps=1)
    ahead = minimize("x**2", (1,), method="nesterov", lr=0.1, tol=0, max_steps=1)
    assert heavy.x["x"] == pytest.approx(1 - 0.1 * 2)
    assert ahead.x["x"] == pytest.approx(1 - 0.1 * (2 + 0.9 * 2))


def test_adam_first_three_steps_by_hand() -> None:
    # f = x² + 3y from (1, 0), α = 0.1, β₁ = 0.9, β₂ = 0.999, ε = 1e-8; ∇f = (2x, 3).
    a, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    result = minimize("x**2 + 3*y", (1, 0), method="adam", lr=a, tol=0, max_steps=3)
    xs = [s.x for s in result.history]

    # t = 1: g = (2, 3); m = (0.2, 0.3); v = (0.004, 0.009); m̂ = (2, 3); v̂ = (4, 9)
    x1 = 1 - a * 2 / (2 + eps)
    y1 = 0 - a * 3 / (3 + eps)
    assert xs[1] == pytest.approx((x1, y1), rel=1e-15)
    assert x1 == pytest.approx(0.9) and y1 == pytest.approx(-0.1)

    # t = 2: g = (2x₁, 3)
    gx = 2 * x1
    mx, vx = b1 * 0.2 + (1 - b1) * gx, b2 * 0.004 + (1 - b2) * gx**2
    my, vy = b1 * 0.3 + (1 - b1) * 3, b2 * 0.009 + (1 - b2) * 9
    x2 = x1 - a * (mx / (1 - b1**2)) / (math.sqrt(vx / (1 - b2**2)) + eps)
    y2 = y1 - a * (my / (1 - b1**2)) / (math.sqrt(vy / (1 - b2**2)) + eps)
    assert xs[2] == pytest.approx((x2, y2), rel=1e-15)

    # t = 3: g = (2x₂, 3)
    gx = 2 * x2
    mx, vx = b1 * mx + (1 - b1) * gx, b2 * vx + (1 - b2) * gx**2
    my, vy = b1 * my + (1 - b1) * 3, b2 * vy + (1 - b2) * 9
    x3 = x2 - a * (mx / (1 - b1**3)) / (math.sqrt(vx / (1 - b2**3)) + eps)
    y3 = y2 - a * (my / (1 - b1**3)) / (math.sqrt(vy / (1 - b2**3)) + eps)
    assert xs[3] == pytest.approx((x3, y3), rel=1e-15)
    # a constant gradient in y makes every Adam step there exactly α (up to ε)
    assert y3 == pytest.approx(-0.3, rel=1e-7)


def test_rmsprop_and_adagrad_first_steps_by_hand() -> None:
    rms = minimize("x**2", (1,), method="rmsprop", lr=0.01, tol=0, max_steps=2).history
    # v₁ = 0.01 · 4; x₁ = 1 − 0.01 · 2 / (√0.04 + 1e-8)
    x1 = 1 - 0.01 * 2 / (math.sqrt(0.04) + 1e-8)
    assert rms[1].x[0] == pytest.approx(x1, rel=1e-15)
    v2 = 0.99 * 0.04 + 0.01 * (2 * x1) ** 2
    assert rms[2].x[0] == pytest.approx(x1 - 0.01 * 2 * x1 / (math.sqrt(v2) + 1e-8), rel=1e-15)

    ada = minimize("x**2", (1,), method="adagrad", lr=0.5, tol=0, max_steps=2).history
    # G₁ = 4; x₁ = 1 − 0.5 · 2 / (2 + 1e-10) ≈ 0.5; G₂ = 4 + 1
    x1 = 1 - 0.5 * 2 / (2 + 1e-10)
    assert ada[1].x[0] == pytest.approx(x1, rel=1e-15)
    assert ada[2].x[0] == pytest.approx(x1 - 0.5 * 2 * x1 / (math.sqrt(4 + (2 * x1) ** 2) + 1e-10), rel=1e-15)


@pytest.mark.parametrize("start", [(0, 0), (10, -7), (-3.5, 2.25)])
def test_newton_lands_on_the_minimum_of_a_quadratic_in_one_step(start: tuple) -> None:
    result = minimize(QUADRATIC, start, method="newton")
    assert result.steps == 1
    assert result.flat == pytest.approx(QUADRATIC_MIN, abs=1e-12)
    assert result.history[1].info == {"alpha": 1.0, "nfev": 1}
    assert (result.nhev, result.ngev) == (1, 2)


def test_newton_falls_back_to_the_gradient_where_the_hessian_is_not_positive_definite() -> None:
    # f'' = 12x² − 2 < 0 at x = 0.1: the Newton direction would climb to the maximum at 0.
    result = minimize("x**4 - x**2", (0.1,), method="newton")
    first = result.history[1].info
    assert first is not None and first["fallback"] == "gradient"
    assert result.status is Status.CONVERGED
    assert result.flat[0] == pytest.approx(1 / math.sqrt(2), abs=1e-6)
    assert all(b.f <= a.f for a, b in itertools.pairwise(result.history))
    assert all(s.info is None or "fallback" not in s.info for s in result.history[-3:])


def test_exact_line_takes_the_step_gtg_over_gthg_on_a_quadratic() -> None:
    result = minimize(QUADRATIC, (3, -2), method="exact-line", tol=0, max_steps=4)
    for before, after in itertools.pairwise(result.history):
        g = before.grad
        hg = [sum(h * gj for h, gj in zip(row, g, strict=True)) for row in QUADRATIC_HESSIAN]
        expected = sum(gi * gi for gi in g) / sum(gi * hi for gi, hi in zip(g, hg, strict=True))
        assert after.info is not None
        assert after.info["line"] == "symbolic"
        assert after.info["alpha"] == pytest.approx(expected, rel=1e-12)


def test_exact_line_on_a_function_that_is_no_polynomial_is_numeric() -> None:
    # f = cosh(x) + y²: along the ray from (1, 1) the minimum is where φ'(α) = 0, found numerically.
    result = minimize("cosh(x) + y**2", (1, 1), method="exact-line")
    assert result.status is Status.CONVERGED
    assert result.history[1].info is not None and result.history[1].info["line"] == "numeric"
    assert result.flat == pytest.approx((0, 0), abs=1e-6)
    # the step is a minimum along the ray: φ'(α) = -∇f(x₁)·∇f(x₀) ≈ 0
    g0, g1 = result.history[0].grad, result.history[1].grad
    assert abs(sum(a * b for a, b in zip(g0, g1, strict=True))) < 1e-6


def test_backtracking_halves_from_lr_until_armijo_holds() -> None:
    # f = x² at 1: α = 1 gives f(−1) = 1 > 1 − 1e-4·1·4; α = 1/2 gives f(0) = 0.
    result = minimize("x**2", (1,), method="backtracking")
    assert result.history[1].info == {"alpha": 0.5, "nfev": 2}
    assert result.flat == (0.0,)
    assert result.nfev == 1 + 1 + 2


def test_cg_solves_an_n_dimensional_quadratic_in_about_n_steps() -> None:
    function = "x1**2 + 2*x2**2 + 3*x3**2 + x1*x2 - x2*x3 + x1 - x3"
    result = minimize(function, (1, 1, 1), method="cg", tol=1e-9)
    assert result.status is Status.CONVERGED
    assert result.steps <= 4
    assert result.history[1].info is not None and result.history[1].info["restart"] is True


def test_strong_wolfe_conditions_hold_for_the_chosen_step() -> None:
    def value_and_grad(x: tuple[float, ...]) -> tuple[float, tuple[float, ...]]:
        (t,) = x
        return (t - 3) ** 4 - 2 * t, (4 * (t - 3) ** 3 - 2,)

    f0, (g0,) = value_and_grad((0.0,))
    alpha, evaluations, ok = strong_wolfe(value_and_grad, (0.0,), (-g0,), f0, -g0 * g0, 1.0, c1=1e-4, c2=0.1)
    f1, (g1,) = value_and_grad((alpha * -g0,))
    assert ok and evaluations >= 1
    assert f1 <= f0 + 1e-4 * alpha * (-g0 * g0)
    assert abs(g1 * -g0) <= 0.1 * abs(-g0 * g0)


# -- pieces ------------------------------------------------------------------------------


def test_cholesky_solves_and_refuses_indefinite_matrices() -> None:
    lower = cholesky(((4.0, 2.0), (2.0, 3.0)))
    assert lower is not None
    assert cholesky_solve(lower, (2.0, 1.0)) == pytest.approx((0.5, 0.0))
    assert cholesky(((1.0, 2.0), (2.0, 1.0))) is None
    assert cholesky(((0.0,),)) is None


@pytest.mark.parametrize(
    ("coefficients", "root"),
    [
        ([-6.0, 2.0], 3.0),
        ([-2.0, 3.0, -1.0], 1.0),  # −(α − 1)(α − 2): crosses upward at 1
        ([-6.0, 11.0, -6.0, 1.0], 1.0),  # (α − 1)(α − 2)(α − 3)
        ([-1.0, 0.0, 0.0, 0.0, 1.0], 1.0),
        ([-1.0, 2.0, -1.0], None),  # −(α − 1)²: touches zero, never turns up
        ([1.0, 1.0], None),  # φ' > 0 at 0: not a descent direction
        ([-1.0, -1.0], None),  # unbounded along the ray
    ],
)
def test_smallest_positive_root(coefficients: list[float], root: float | None) -> None:
    found = smallest_positive_root(coefficients)
    if root is None:
        assert found is None
    else:
        assert found == pytest.approx(root, rel=1e-12)


def test_ray_derivative_is_derived_once_and_only_for_small_polynomials() -> None:
    x, y = sp.symbols("x y", real=True)
    coefficients = ray_derivative(x**2 + 3 * y**2, (x, y))
    assert coefficients is not None
    # φ(α) = (1 + α·1)² + 3(2 + α·(−1))²: φ'(α) = 2(1 + α) − 6(2 − α) = −10 + 8α
    assert list(coefficients(1.0, 2.0, 1.0, -1.0)) == pytest.approx([-10.0, 8.0])
    assert ray_derivative(sp.exp(x) + y, (x, y)) is None
    # (x1 + … + x12)⁸ has 75,582 terms once expanded: refused before expanding anything
    many = sp.symbols("x1:13", real=True)
    assert ray_derivative(sp.Add(*many) ** 8, many) is None


def test_params_record_every_hyperparameter() -> None:
    assert make_optimizer("adam").params == {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert make_optimizer("rmsprop").params == {"lr": 0.1, "decay": 0.99, "eps": 1e-8}
    assert make_optimizer("adagrad").params == {"lr": 0.1, "eps": 1e-10, "initial_accumulator_value": 0.0}
    assert make_optimizer("momentum").params == {"lr": 0.1, "momentum": 0.9}
    assert make_optimizer("backtracking").params == {"lr": 1.0, "c1": 1e-4, "shrink": 0.5}
    assert make_optimizer("newton").params == {"c1": 1e-4, "shrink": 0.5}
    assert make_optimizer("cg").params == {"c1": 1e-4, "c2": 0.1, "restart_every": "n"}


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("adam", {"momentum": 0.9}, "adam does not use momentum"),
        ("newton", {"lr": 0.1}, "newton does not use lr"),
        ("momentum", {"momentum": 1.0}, r"^momentum must lie in \[0, 1\)"),
        ("adam", {"beta2": -0.1}, "^beta2 must lie"),
        ("adam", {"eps": 0}, "^eps must be a positive"),
        ("sgd", {}, "unknown method"),
    ],
)
def test_bad_hyperparameters_are_refused(method: str, options: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        make_optimizer(method, **options)


def test_evaluation_counts() -> None:
    plain = minimize(QUADRATIC, (0, 0), method="gd", lr=0.1)
    assert (plain.nfev, plain.ngev, plain.nhev) == (plain.steps + 1, plain.steps + 1, 0)
    newton = minimize(ROSENBROCK, (-1.2, 1), method="newton")
    assert newton.nhev == newton.steps
    assert newton.nfev == 1 + newton.steps + sum(s.info["nfev"] for s in newton.history[1:] if s.info)


# -- maximising --------------------------------------------------------------------------

CONCAVE = "-(x-1)**2 - 2*(y+2)**2 + x*y/2"


def concave_maximiser() -> tuple[float, float]:
    x, y = sp.symbols("x y", real=True)
    f = -((x - 1) ** 2) - 2 * (y + 2) ** 2 + x * y / 2
    solution = sp.solve([sp.diff(f, x), sp.diff(f, y)], [x, y])
    return float(solution[x]), float(solution[y])


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("gd", {"lr": 0.1}),
        ("momentum", {"lr": 0.05}),
        ("adam", {"lr": 0.05}),
        ("newton", {}),
        ("backtracking", {}),
        ("exact-line", {}),
        ("cg", {}),
    ],
)
def test_maximize_climbs_to_the_maximum(method: str, options: dict) -> None:
    result = minimize(CONCAVE, (0, 0), method=method, maximize=True, max_steps=5000, **options)
    assert result.status is Status.CONVERGED, result.message
    assert result.flat == pytest.approx(concave_maximiser(), abs=1e-6)
    if method in ("newton", "backtracking", "exact-line", "cg"):
        # line searches see −f, so f never decreases
        assert all(b.f >= a.f - 1e-12 for a, b in itertools.pairwise(result.history))
    if method == "newton":
        assert result.steps == 1


def test_newton_refuses_more_variables_than_it_can_factor_in_time() -> None:
    from symdescent.optimizers.second_order import MAX_NEWTON_VARIABLES

    n = MAX_NEWTON_VARIABLES + 1
    function = "+".join(f"x{i}**2" for i in range(1, n + 1))
    with pytest.raises(InputError, match="at most 100 variables"):
        minimize(function, (1,) * n, method="newton")


def test_the_method_registry_is_the_one_source() -> None:
    """Every MethodSpec's defaults are its recipe's: a method is one entry, read by everything else."""
    import inspect

    from symdescent.methods import EXACT_METHODS, METHODS

    for name, spec in METHODS.items():
        signature = inspect.signature(spec.builder())
        assert {k: p.default for k, p in signature.parameters.items()} == dict(spec.defaults), name
        assert make_optimizer(name).name == name
        assert spec.title and spec.rule
        assert spec.has_lr == ("lr" in signature.parameters)
    assert EXACT_METHODS == ("gd", "momentum", "nesterov")
