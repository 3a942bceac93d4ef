"""The function registry: every function parses, evaluates like scipy, differentiates like finite differences,
has its own rule in ``explain``, and is listed in ``--help``."""

from __future__ import annotations

import math

import pytest
import sympy as sp
from conftest import cli
from hypothesis import given, settings
from hypothesis import strategies as st

from symdescent import minimize
from symdescent.derivation import FUNCTION_RULE_NAMES, RULES, derive
from symdescent.functions import FUNCTIONS
from symdescent.parsing import parse
from symdescent.problem import make_problem
from symdescent.special import standard

special = pytest.importorskip("scipy.special")
NEW = {
    "log10": (math.log10, (0.1, 50.0)),
    "log2": (math.log2, (0.1, 50.0)),
    "cbrt": (lambda u: special.cbrt(u), (-30.0, 30.0)),
    "erf": (lambda u: special.erf(u), (-4.0, 4.0)),
    "erfc": (lambda u: special.erfc(u), (-4.0, 4.0)),
    "sigmoid": (lambda u: special.expit(u), (-40.0, 40.0)),
    "softplus": (lambda u: float(special.logsumexp([0.0, u])), (-40.0, 40.0)),
}


@pytest.mark.parametrize("name", sorted(NEW))
def test_new_functions_match_scipy_and_finite_differences(name: str) -> None:
    reference, (low, high) = NEW[name]
    problem = make_problem(f"{name}(x)")
    for u in [low + (high - low) * k / 7 for k in range(8)]:
        if u == 0 and name == "cbrt":
            continue
        f, g = problem.value_and_grad(u)
        assert f == pytest.approx(reference(u), rel=1e-12, abs=1e-14)
        h = 1e-6 * max(1.0, abs(u))
        assert g == pytest.approx((reference(u + h) - reference(u - h)) / (2 * h), rel=1e-5, abs=1e-8)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(NEW)), u=st.floats(0.2, 20))
def test_the_sympy_rewrite_is_the_same_function(name: str, u: float) -> None:
    """standard() (used by exact, mpmath and symengine) equals the float code, value and derivative."""
    x = sp.Symbol("x", real=True)
    expr = parse(f"{name}(x)")
    rewrite = standard(expr)
    assert float(rewrite.subs(x, u)) == pytest.approx(float(expr.subs(x, u).evalf()), rel=1e-12)
    assert float(standard(sp.diff(expr, x)).subs(x, u)) == pytest.approx(
        float(sp.diff(rewrite, x).subs(x, u)), rel=1e-10
    )


@pytest.mark.parametrize("name", sorted(NEW))
def test_each_new_function_has_its_own_rule_and_law(name: str) -> None:
    x = sp.Symbol("x", real=True)
    step = derive(parse(f"{name}(x**2)"), x)
    assert step.rule == "chain" and step.outer == name
    assert name in RULES and name in FUNCTION_RULE_NAMES
    spec = FUNCTIONS[name]
    assert spec.law and spec.latex
    assert sp.simplify(standard(step.result - sp.diff(parse(f"{name}(x**2)"), x))) == 0
    out = cli("explain", f"{name}(x) + x**2", "--start", "1", "--format", "text")
    assert out.exit_code == 0, out.stderr
    assert f"{name} rule" in out.stdout


def test_every_registered_function_parses_and_is_in_help() -> None:
    help_text = cli("run", "--help").stdout
    for name, spec in FUNCTIONS.items():
        args = ", ".join(["x"] * spec.arities[0])
        parse(f"{name}({args})")
        assert name in help_text


def test_constants_are_evaluated_and_checked() -> None:
    assert parse("cbrt(-8)") == -2
    assert parse("sigmoid(0)") == sp.Rational(1, 2)
    with pytest.raises(Exception, match=r"undefined|not a real"):
        parse("log10(0)")


@pytest.mark.parametrize("arithmetic", [{}, {"working_precision": 30}])
def test_runs_with_the_new_functions_agree_across_arithmetics(arithmetic: dict) -> None:
    result = minimize(
        "softplus(x) + sigmoid(y) + y**2 + cbrt(x)**2/10 + erf(x) + log2(2 + y**2)", (1.0, 1.0), **arithmetic
    )
    floats = minimize("softplus(x) + sigmoid(y) + y**2 + cbrt(x)**2/10 + erf(x) + log2(2 + y**2)", (1.0, 1.0))
    assert result.status == floats.status
    assert [float(v) for v in result.flat] == pytest.approx(floats.flat, rel=1e-9, abs=1e-12)


def test_symengine_engine_handles_the_new_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("symengine")
    function = " + ".join(f"softplus(x{i}) + (x{i} - 1)**2 + erf(x{i})/3" for i in range(1, 5))
    monkeypatch.setenv("SYMDESCENT_ENGINE", "symengine")
    fast = minimize(make_problem(function), [0.5] * 4, tol=0, max_steps=20)
    monkeypatch.setenv("SYMDESCENT_ENGINE", "python")
    plain = minimize(make_problem(function), [0.5] * 4, tol=0, max_steps=20)
    assert fast.params["engine"] == "symengine"
    assert fast.flat == pytest.approx(plain.flat, rel=1e-12)
