"""Derivatives rule by rule, the way a textbook derives them.

``derive(expr, x)`` walks a SymPy expression from the outside in and returns
a tree of :class:`RuleStep`: each node names the rule it applies (``sum``,
``power``, ``chain``…), the expression it differentiates, the rule written
out with the pending derivatives of the parts (``formula``, an unevaluated
expression containing ``Derivative`` objects) and the result. Its children
are the derivations of those parts::

    >>> x, y = sp.symbols("x y", real=True)
    >>> step = derive(x**2 + y**2, x)
    >>> step.rule, step.result, [c.rule for c in step.children]
    ('sum', 2*x, ['power', 'constant'])

The invariant: ``derive(e, x).result`` equals ``sympy.diff(e, x)`` (as a
function; the form may differ, e.g. an unsimplified quotient rule). The
engine is pure: it never prints. Big inputs do not explode: after ``budget``
nodes, the remaining parts are differentiated by SymPy directly and marked
with the rule ``elided``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sympy as sp

from symdescent import budget as deadline
from symdescent.functions import function_rules

#: Functions with a rule of their own: SymPy class -> rule name (from :mod:`symdescent.functions`).
_FUNCTION_RULES: dict[type, str] = function_rules()

#: The rule names that belong to a function (exp, sin, …), for renderers that write "… rule".
FUNCTION_RULE_NAMES = frozenset(_FUNCTION_RULES.values())

#: Rule names, in the order a textbook introduces them (the function rules in the registry's order).
RULES = (
    "constant",  # d/dx c = 0 (c does not depend on x)
    "variable",  # d/dx x = 1
    "sum",  # (u + v)' = u' + v'
    "constant multiple",  # (c·u)' = c·u'
    "product",  # (u·v)' = u'·v + u·v'
    "quotient",  # (u/v)' = (u'·v − u·v')/v²
    "power",  # (xⁿ)' = n·xⁿ⁻¹
    "sqrt",  # (√x)' = 1/(2√x)
    "exponential",  # (aˣ)' = aˣ·ln a
    "general power",  # (u^v)' = u^v·(v'·ln u + v·u'/u)
    *dict.fromkeys(_FUNCTION_RULES.values()),
    "chain",  # (g(u))' = g'(u)·u'; ``outer`` names g's rule
    "elided",  # beyond the detail budget: SymPy's derivative, without steps
    "sympy",  # a function the engine has no rule for: SymPy's derivative
)

#: Default number of rule applications shown per partial derivative.
BUDGET = 40


@dataclass(frozen=True)
class RuleStep:
    """One rule applied: d(expr)/d(variable) = formula = result.

    ``formula`` is the rule written out with ``Derivative`` placeholders for
    the parts still to differentiate (``None`` for rules that give the
    result at once, like ``power`` on x²). ``outer`` names the outer
    function's rule in a ``chain`` step (``"power"``, ``"sin"``…).
    """

    rule: str
    expr: sp.Expr
    variable: sp.Symbol
    result: sp.Expr
    formula: sp.Expr | None = None
    children: tuple[RuleStep, ...] = ()
    outer: str | None = None

    def walk(self, depth: int = 0) -> Iterator[tuple[int, RuleStep]]:
        """Every step, parent before children, with its depth in the tree."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)

    @property
    def size(self) -> int:
        return sum(1 for _ in self.walk())

    @property
    def elided(self) -> int:
        """How many parts were differentiated without steps (beyond the budget)."""
        return sum(1 for _, s in self.walk() if s.rule == "elided")

    @property
    def rules(self) -> tuple[str, ...]:
        """The rules used, each once, in order of first use (``chain`` as its outer rule too)."""
        seen: dict[str, None] = {}
        for _, step in self.walk():
            seen[step.rule] = None
            if step.outer:
                seen[step.outer] = None
        return tuple(seen)


def derive(expr: sp.Expr, variable: sp.Symbol, budget: int = BUDGET) -> RuleStep:
    """The derivation of d(expr)/d(variable), rule by rule (see the module docstring)."""
    return _Engine(variable, budget).derive(expr)


def d(expr: sp.Expr, variable: sp.Symbol) -> sp.Expr:
    """A pending derivative, for formulas: ``Derivative(expr, variable)`` unevaluated."""
    return sp.Derivative(expr, variable, evaluate=False)


class _Engine:
    def __init__(self, variable: sp.Symbol, budget: int) -> None:
        self.x = variable
        self.left = budget

    def derive(self, expr: sp.Expr) -> RuleStep:
        x = self.x
        deadline.tick("explaining the derivative", 16)  # a 2,000-term sum is 2,000 diffs past the detail budget
        if self.left <= 0:
            # by the power rule where it applies: SymPy's diff asks each factor's assumptions (ms per term)
            from symdescent.problem import quick_diff

            return RuleStep("elided", expr, x, quick_diff(expr, x))
        self.left -= 1
        if x not in expr.free_symbols:
            return RuleStep("constant", expr, x, sp.S.Zero)
        if expr == x:
            return RuleStep("variable", expr, x, sp.S.One)
        if expr.is_Add:
            return self._sum(expr)
        if expr.is_Mul:
            return self._mul(expr)
        if expr.is_Pow:
            return self._pow(expr)
        if isinstance(expr, sp.Function) and type(expr) in _FUNCTION_RULES:
            return self._function(expr, _FUNCTION_RULES[type(expr)])
        return RuleStep("sympy", expr, x, sp.diff(expr, x))

    def _sum(self, expr: sp.Add) -> RuleStep:
        x = self.x
        terms = expr.as_ordered_terms() if len(expr.args) <= 1000 else expr.args  # the order f is written in
        # terms of one sum, each already canonical: joined as they are (a flattening Add of thousands of
        # terms, once per variable explained, took half of explain's time on a 3,000-variable quadratic)
        free = [t for t in expr.args if x not in t.free_symbols]  # a canonical Add's order: the same Add
        constant = sp.Add._from_args(free) if len(free) > 1 else (free[0] if free else sp.S.Zero)
        children: list[RuleStep] = []
        for term in terms:
            if x in term.free_symbols:
                children.append(self.derive(term))
            elif constant != 0:
                # The terms free of x fold into one step, where the first of them stands: their derivative is 0.
                children.append(RuleStep("constant", constant, x, sp.S.Zero))
                constant = sp.S.Zero
        formula = sp.Add(*[d(c.expr, x) for c in children], evaluate=False)
        return RuleStep("sum", expr, x, sp.Add(*[c.result for c in children]), formula, tuple(children))

    def _mul(self, expr: sp.Mul) -> RuleStep:
        x = self.x
        coefficient, rest = expr.as_independent(x, as_Add=False)
        if coefficient != 1:
            inner = self.derive(rest)
            formula = sp.Mul(coefficient, d(rest, x), evaluate=False)
            return RuleStep("constant multiple", expr, x, coefficient * inner.result, formula, (inner,))
        factors = list(rest.args) if rest.is_Mul else [rest]
        numerator = [f for f in factors if not _is_reciprocal(f)]
        denominator = [1 / f for f in factors if _is_reciprocal(f)]
        if numerator and denominator:
            u, v = sp.Mul(*numerator), sp.Mul(*denominator)
            du, dv = self.derive(u), self.derive(v)
            formula = sp.Mul(
                sp.Add(sp.Mul(d(u, x), v, evaluate=False), -sp.Mul(u, d(v, x), evaluate=False), evaluate=False),
                sp.Pow(v, -2, evaluate=False),
                evaluate=False,
            )
            result = (du.result * v - u * dv.result) / v**2
            return RuleStep("quotient", expr, x, result, formula, (du, dv))
        children = [self.derive(f) for f in factors]
        terms, formulas = [], []
        for i, child in enumerate(children):
            others = factors[:i] + factors[i + 1 :]
            terms.append(sp.Mul(child.result, *others))
            formulas.append(sp.Mul(*others[:i], d(child.expr, x), *others[i:], evaluate=False))
        return RuleStep("product", expr, x, sp.Add(*terms), sp.Add(*formulas, evaluate=False), tuple(children))

    def _pow(self, expr: sp.Pow) -> RuleStep:
        x = self.x
        base, exponent = expr.args
        if x not in exponent.free_symbols:
            rule = "sqrt" if exponent == sp.S.Half else "power"
            outer = exponent * base ** (exponent - 1)
            # 2(x + 2y − 7), as written on the board, rather than SymPy's distributed 2x + 4y − 14.
            shown = sp.Mul(exponent, base ** (exponent - 1), evaluate=False) if rule == "power" else outer
            return self._outer(expr, rule, base, outer, shown)
        if x not in base.free_symbols:
            return self._outer(expr, "exponential", exponent, expr * sp.log(base))
        # u^v with both depending on x: logarithmic differentiation.
        du, dv = self.derive(base), self.derive(exponent)
        formula = sp.Mul(
            expr,
            sp.Add(
                sp.Mul(d(exponent, x), sp.log(base), evaluate=False),
                sp.Mul(exponent, d(base, x), sp.Pow(base, -1, evaluate=False), evaluate=False),
                evaluate=False,
            ),
            evaluate=False,
        )
        result = expr * (dv.result * sp.log(base) + exponent * du.result / base)
        return RuleStep("general power", expr, x, result, formula, (du, dv))

    def _function(self, expr: sp.Function, rule: str) -> RuleStep:
        x = self.x
        if len(expr.args) == 1:
            return self._outer(expr, rule, expr.args[0], expr.fdiff(1))
        # atan2(y, x) and the like: one chain term per argument that depends on x.
        children, terms, formulas = [], [], []
        for i, arg in enumerate(expr.args, start=1):
            if x not in arg.free_symbols:
                continue
            child = self.derive(arg)
            children.append(child)
            partial = expr.fdiff(i)
            terms.append(partial * child.result)
            formulas.append(sp.Mul(partial, d(arg, x), evaluate=False))
        return RuleStep(
            "chain", expr, x, sp.Add(*terms), sp.Add(*formulas, evaluate=False), tuple(children), outer=rule
        )

    def _outer(
        self, expr: sp.Expr, rule: str, inner: sp.Expr, outer: sp.Expr, shown: sp.Expr | None = None
    ) -> RuleStep:
        """g(u): the rule of g alone when u is the variable, else the chain rule g'(u)·u'."""
        x = self.x
        if inner == x:
            return RuleStep(rule, expr, x, outer)
        child = self.derive(inner)
        factors = (outer,) if shown is None else sp.Mul.make_args(shown)
        formula = sp.Mul(*factors, d(inner, x), evaluate=False)
        return RuleStep("chain", expr, x, outer * child.result, formula, (child,), outer=rule)


def _is_reciprocal(factor: sp.Expr) -> bool:
    """1/v in a product: a power with a negative number as exponent (x**-2, 1/(x+1), 1/sqrt(x))."""
    return bool(factor.is_Pow and factor.exp.is_Number and factor.exp.is_negative)
