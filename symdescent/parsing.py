"""Function text -> SymPy expression, without ever executing the text.

The pipeline is three small stages, each testable alone::

    check_size(text)        -> text        refuse oversized input before any work
    tokenize(text)          -> [Token]     ASCII numbers, names and + - * / ** ^ ( ) ,
    Parser(tokens).parse()  -> sympy.Expr  precedence climbing, no eval

``parse("x^2 + 3*y")`` gives ``x**2 + 3*y`` with ``x`` and ``y`` real symbols.

Why a hand-written parser: ``ast.parse`` recurses once per term of a flat sum
and fails on 10,000 terms, and ``sympify``/``parse_expr`` end in ``eval``.
Here sums and products are flat loops (linear in the input), and only the
constructs that really nest (brackets, calls, ``**`` chains) use recursion,
which is capped at :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING

import sympy as sp
from sympy.core.add import _args_sortkey

from symdescent import budget
from symdescent.budget import MAX_BITS, MAX_DIGITS, BudgetError
from symdescent.errors import ParseError
from symdescent.functions import FUNCTIONS as FUNCTION_SPECS
from symdescent.tokens import Token, check_size, tokenize

if TYPE_CHECKING:
    from _typeshed import SupportsAllComparisons

#: Deepest accepted nesting of brackets, calls and ``**`` chains.
MAX_DEPTH = 64

#: The fixed table of functions: name -> (SymPy function, accepted argument counts), from :mod:`symdescent.functions`.
PARSED_FUNCTIONS: dict[str, tuple[Callable[..., sp.Expr], tuple[int, ...]]] = {
    name: (spec.sympy, spec.arities) for name, spec in FUNCTION_SPECS.items()
}

#: Named constants.
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}

#: Names SymPy users might expect to mean something that symdescent refuses.
REFUSED_NAMES: dict[str, str] = {
    name: f"'{name}' is not supported: symdescent works with finite real numbers"
    for name in ("I", "oo", "zoo", "nan", "NaN", "inf", "Infinity")
}

class Parser:
    """Precedence climbing over tokens, building SymPy expressions directly.

    Grammar (``**`` binds tighter than unary minus, as in Python)::

        expr   := term (("+" | "-") term)*
        term   := unary (("*" | "/") unary)*
        unary  := ("+" | "-")* power
        power  := atom ("**" unary)*          right-associative
        atom   := number | name | name "(" expr ("," expr)* ")" | "(" expr ")"
    """

    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._pos = 0
        self._symbols: dict[str, sp.Symbol] = {}

    def parse(self) -> sp.Expr:
        expr = self._expr(0)
        token = self._peek()
        if token.kind != "end":
            raise self._unexpected(token)
        return expr

    # -- token helpers -------------------------------------------------
    def _peek(self) -> Token:
        return self._tokens[self._pos]

    def _next(self) -> Token:
        token = self._tokens[self._pos]
        self._pos += 1
        return token

    def _at_op(self, *ops: str) -> bool:
        token = self._tokens[self._pos]
        return token.kind == "op" and token.text in ops

    def _unexpected(self, token: Token) -> Exception:
        if token.kind == "end":
            return _error("the function ends too early: an operand or ')' is missing", token.column)
        previous = self._tokens[self._pos - 1] if self._pos else None
        follows_operand = previous is not None and (previous.kind in ("name", "number") or previous.text == ")")
        if follows_operand and (token.kind in ("name", "number") or token.text == "("):
            assert previous is not None
            hint = f"write {previous.text}*{token.text}" if token.text != "(" else None
            return _error(f"missing operator between {previous.text!r} and {token.text!r}", token.column, hint)
        return _error(f"unexpected {token.text!r}", token.column)

    # -- grammar -------------------------------------------------------
    def _expr(self, depth: int) -> sp.Expr:
        terms = [self._term(depth)]
        while self._at_op("+", "-"):
            budget.tick("parsing the function", 64)
            negate = self._next().text == "-"
            term = self._term(depth)
            terms.append(-term if negate else term)
        return terms[0] if len(terms) == 1 else _sum(terms)

    def _term(self, depth: int) -> sp.Expr:
        start = self._peek().column
        factors = [self._unary(depth)]
        while self._at_op("*", "/"):
            budget.tick("parsing the function", 64)
            op = self._next()
            factor = self._unary(depth)
            if op.text == "/":
                if factor.is_zero:
                    raise _error("division by zero", op.column)
                factor = sp.Pow(factor, -1)
            factors.append(factor)
        if len(factors) == 1:
            return factors[0]
        if _underflows(factors):  # 1e-200*1e-200*x: a product of constants below every float is 0
            _note(f"a product of constants of about 10**{int(_magnitude(factors) * 0.30103):,} {UNDERFLOW}")
            return sp.Integer(0)
        _check_product_size(factors, start)
        product = _product(factors)
        _check_coefficient(product, start)
        return product

    def _signs(self) -> bool:
        """Consume a run of unary signs; True when they amount to a minus."""
        negate = False
        while self._at_op("+", "-"):
            negate ^= self._next().text == "-"
        return negate

    def _unary(self, depth: int) -> sp.Expr:
        negate = self._signs()
        value = self._power(depth)
        return -value if negate else value

    def _power(self, depth: int) -> sp.Expr:
        first = self._pos
        base = self._atom(depth)
        if not self._at_op("**"):
            return base
        chain: list[tuple[bool, sp.Expr, int, int]] = [(False, base, 0, first)]
        while self._at_op("**"):
            column = self._next().column
            if depth + len(chain) > MAX_DEPTH:
                raise _error(f"'**' chain nested deeper than {MAX_DEPTH}", column)
            start = self._pos
            negate = self._signs()
            chain.append((negate, self._atom(depth + len(chain)), column, start))
        negate, value, column, _ = chain[-1]
        value = -value if negate else value
        links = zip(reversed(chain[:-1]), reversed(chain[1:]), strict=True)
        for (negate, atom, _, start), (_, _, op_column, _) in links:
            value = _power(atom, value, op_column, self._source(start))
            value = -value if negate else value
        return value

    def _source(self, start: int) -> str:
        """The tokens from ``start`` to here, as the user wrote them (``(-8)**(1/3)``), for messages."""
        text = "".join(token.text for token in self._tokens[start : self._pos])
        return text if len(text) <= 60 else f"{text[:57]}..."

    def _atom(self, depth: int) -> sp.Expr:
        token = self._next()
        if token.kind == "number":
            return _number(token)
        if token.kind == "name":
            if self._at_op("("):
                return self._call(token, depth)
            return self._name(token)
        if token.kind == "op" and token.text == "(":
            if depth >= MAX_DEPTH:
                raise _error(f"brackets nested deeper than {MAX_DEPTH}", token.column)
            inner = self._expr(depth + 1)
            closing = self._next()
            if not (closing.kind == "op" and closing.text == ")"):
                self._pos -= 1
                if closing.kind == "end":
                    raise _error("'(' is never closed", token.column)
                raise self._unexpected(closing)
            return inner
        self._pos -= 1
        raise self._unexpected(token)

    def _name(self, token: Token) -> sp.Expr:
        name = token.text
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in PARSED_FUNCTIONS:
            raise _error(f"'{name}' is a function: write {name}(...)", token.column)
        _check_variable_name(name, token.column)
        symbol = self._symbols.get(name)
        if symbol is None:
            symbol = self._symbols[name] = sp.Symbol(name, real=True)
        return symbol

    def _call(self, token: Token, depth: int) -> sp.Expr:
        name = token.text
        if name not in PARSED_FUNCTIONS:
            if name in CONSTANTS:
                raise _error(f"'{name}' is a constant, not a function", token.column)
            _check_variable_name(name, token.column)
            known = ", ".join(PARSED_FUNCTIONS)
            raise _error(f"unknown function '{name}'", token.column, hint=f"known functions: {known}")
        if depth >= MAX_DEPTH:
            raise _error(f"calls nested deeper than {MAX_DEPTH}", token.column)
        function, arities = PARSED_FUNCTIONS[name]
        start = self._pos - 1
        self._next()  # "("
        args = [self._expr(depth + 1)]
        while self._at_op(","):
            self._next()
            args.append(self._expr(depth + 1))
        closing = self._next()
        if not (closing.kind == "op" and closing.text == ")"):
            self._pos -= 1
            if closing.kind == "end":
                raise _error(f"'{name}(' is never closed", token.column)
            raise self._unexpected(closing)
        if len(args) not in arities:
            wanted = " or ".join(str(a) for a in arities)
            raise _error(f"{name}() takes {wanted} argument(s), got {len(args)}", token.column)
        if name == "exp":  # exp(10**6) is E**1000000 to SymPy: predict its size before building it
            _checked(budget.check_power, sp.E, args[0], self._source(start), column=token.column)
        value = function(*args)
        if not value.free_symbols:
            _check_constant(value, self._source(start), token.column)
        return value


def parse(text: str) -> sp.Expr:
    """Turn function text into a SymPy expression; raise :class:`ParseError` if refused.

    >>> parse("x^2 + 3*y")
    x**2 + 3*y
    """
    return parse_with_notes(text)[0]


#: Notes the parse in progress makes (a constant below every float taken as 0), when someone collects them.
_NOTES: ContextVar[list[str] | None] = ContextVar("symdescent_parse_notes", default=None)


def parse_with_notes(text: str) -> tuple[sp.Expr, tuple[str, ...]]:
    """:func:`parse`, and what the user should be told about how the text was read (one line each)."""
    notes: list[str] = []
    token = _NOTES.set(notes)
    try:
        return Parser(tokenize(check_size(text))).parse(), tuple(notes)
    finally:
        _NOTES.reset(token)


def _note(message: str) -> None:
    notes = _NOTES.get()
    if notes is not None and message not in notes:
        notes.append(message)


#: What a constant below every float (10⁻³³⁰ and less) is taken as, and why: what float arithmetic makes of it.
UNDERFLOW = "is below the smallest float (about 5e-324), so it is taken as 0, as a float would be"


def parse_constant(text: str, what: str = "value") -> sp.Expr:
    """Parse an exact numeric value such as ``-1/3`` or ``pi/4`` (no variables)."""
    if not text.strip():
        raise ParseError(f"{what} is empty: a number is needed")
    try:
        value = parse(text)
    except ParseError as error:
        raise ParseError(f"{what} {text!r} is not usable: {error.reason}") from None
    if value.free_symbols:
        names = ", ".join(sorted(str(s) for s in value.free_symbols))
        raise ParseError(f"{what} {text!r} is not usable: a number is needed, but it contains {names}")
    _check_constant(value, f"{what} {text!r}", None)
    return value


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts ``x2`` before ``x10``."""
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in re.split(r"(\d+)", name) if part)


# -- checks shared by the stages -----------------------------------------


def _error(message: str, column: int | None = None, hint: str | None = None) -> ParseError:
    return ParseError(message, column, hint)


def _check_variable_name(name: str, column: int) -> None:
    if name in REFUSED_NAMES:
        raise _error(REFUSED_NAMES[name], column)
    if name.startswith("_"):
        raise _error(f"names starting with '_' are not allowed ({name!r})", column)


def _number(token: Token) -> sp.Expr:
    """A literal as an exact SymPy number, its size checked from the digits before it is built."""
    text = token.text
    if re.fullmatch(r"[0-9]+", text):
        if len(text) > MAX_DIGITS:
            raise _error(f"number too long ({len(text)} digits; the limit is {MAX_DIGITS})", token.column)
        return _checked_constant(sp.Integer(int(text)), text, token.column)
    mantissa, _, exponent = text.lower().partition("e")
    significant = len(mantissa.replace(".", "").lstrip("0"))
    if significant > MAX_DIGITS:
        raise _error(f"number too long ({significant} digits; the limit is {MAX_DIGITS})", token.column)
    digits = exponent.lstrip("+-").lstrip("0")
    if len(digits) > 6 or abs(budget.literal_exponent(text)) > MAX_BITS * 0.30103:
        if exponent.startswith("-"):  # 1e-400: as a float it is simply 0
            _note(f"{text if len(text) <= 40 else 'a number'} {UNDERFLOW}")
            return sp.Integer(0)
        raise _error(
            f"number too large: {text} ({budget.range_text()})" if len(text) <= 40 else "number too large",
            token.column,
        )
    return _checked_constant(sp.Float(text), text, token.column)


def _checked(check: Callable[..., None], *values: object, column: int | None) -> None:
    """Run a budget check on ``values``; report its refusal at ``column`` as a parse error."""
    try:
        check(*values)
    except BudgetError as error:
        raise _error(error.message, column, error.hint) from None


def _checked_constant(value: sp.Expr, what: str, column: int | None) -> sp.Expr:
    _checked(budget.check_constant, value, what, column=column)
    return value


def _magnitude(factors: list[sp.Expr]) -> float:
    """log₂ of the product of the numbers among ``factors``."""
    return sum(budget.log2_magnitude(f) for f in factors if f.is_Number and not f.is_zero)


def _underflows(factors: list[sp.Expr]) -> bool:
    """Whether the numbers among ``factors`` multiply to less than the smallest constant (10⁻³³⁰)."""
    numbers = [f for f in factors if f.is_Number]
    return len(numbers) >= 2 and not any(f.is_zero for f in numbers) and _magnitude(factors) < -MAX_BITS


def _check_product_size(factors: list[sp.Expr], column: int) -> None:
    """Predict the product of the numbers among ``factors`` from their sizes, before multiplying."""
    numbers = [f for f in factors if f.is_Number]
    if len(numbers) < 2:
        return
    magnitude = sum(budget.log2_magnitude(f) for f in numbers)
    stored = sum(budget.size_bits(f) for f in numbers)
    if abs(magnitude) > MAX_BITS or stored > 4 * MAX_BITS:
        size = "large" if magnitude > 0 else "small"
        raise _error(
            f"number too {size}: a product of constants of about 10**{int(magnitude * 0.30103):,} "
            f"({budget.range_text()})",
            column,
        )


def _check_coefficient(value: sp.Expr, column: int) -> None:
    """The numeric coefficient SymPy made of a product (sqrt(2)*sqrt(2)*… is 2**k)."""
    coefficient = value.as_coeff_Mul()[0] if value.free_symbols else value
    if coefficient.is_Number:
        _checked(budget.check_constant, coefficient, "a product of constants", column=column)


def _power(base: sp.Expr, exponent: sp.Expr, column: int, source: str | None = None) -> sp.Expr:
    """``base**exponent``, refusing constants whose value would be out of range BEFORE SymPy builds them.

    ``source`` is the text as written, for messages (default: ``(base)**(exponent)``).
    """
    if source is None:
        source = f"({base})**({exponent})"
    if base.is_Number and base.is_zero and exponent.is_number and exponent.is_negative:
        raise _error("division by zero (0 to a negative power)", column)
    _checked(budget.check_power, base, exponent, source, column=column)
    if exponent.is_Integer and exponent > 1 and base.is_Add and _plain_sum(base):
        # (y - x**2)**2 as it is: evaluating would only ask the sum's terms whether they are
        # infinite, which costs more than everything else in a long chained sum.
        return sp.Pow(base, exponent, evaluate=False)
    value = sp.Pow(base, exponent)
    if not value.free_symbols:
        _check_constant(value, source, column)
    elif value.is_Mul:
        _check_coefficient(value, column)
    return value


def _sum(terms: list[sp.Expr]) -> sp.Expr:
    """``Add(*terms)``; for a long sum of distinct terms, only sorted, as ``Add`` would.

    ``Add`` rebuilds every ``coefficient*rest`` term, and rebuilding asks
    each ``(a - b)**2`` whether it is infinite: most of the time spent on a
    long chained sum. Terms whose non-numeric parts are all different are
    left as they are by ``Add``, apart from the order, so we only sort them.
    """
    if len(terms) < 8 or not all(_plain_term(t) for t in terms):
        return sp.Add(*terms)
    rests = {t.as_coeff_Mul()[1] for t in terms}
    if len(rests) != len(terms):
        return sp.Add(*terms)
    ordered = list(terms)
    ordered.sort(key=_sort_key)  # as Add sorts its terms, with the deadline checked along the way
    return sp.Add._from_args(ordered)


def _sort_key(term: sp.Expr) -> SupportsAllComparisons:
    budget.tick("parsing the function", 256)
    return _args_sortkey(term)


def _plain_term(term: sp.Expr) -> bool:
    return (term.is_Mul or term.is_Pow or term.is_Symbol) and term.is_commutative and bool(term.free_symbols)


def _product(factors: list[sp.Expr]) -> sp.Expr:
    """``Mul(*factors)``; ``c*(a - b)**n`` as it is (see :func:`_sum` for why)."""
    if len(factors) == 2:
        coefficient, power = factors if factors[0].is_Number else factors[::-1]
        if (
            coefficient.is_Rational
            and coefficient not in (0, 1)
            and power.is_Pow
            and power.base.is_Add
            and power.exp.is_Integer
            and power.exp > 1
            and _plain_sum(power.base)
        ):
            return sp.Mul._from_args((coefficient, power))
    return sp.Mul(*factors)


def _plain_sum(expr: sp.Add) -> bool:
    """A sum with variables and only exact coefficients, which ``Pow`` leaves as it is."""
    return bool(expr.free_symbols) and not any(term.as_coeff_Mul()[0].is_Float for term in expr.args)


def _check_constant(value: sp.Expr, what: str, column: int | None) -> None:
    """A constant part must be a finite real number (refuses 1/0, log(0), sqrt(-1)) within the budget's range."""
    if value.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise _error(f"{what} is undefined (infinite or not a number)", column)
    if value.is_extended_real is False:
        raise _error(f"{what} is not a real number", column)
    _checked(budget.check_constant, value, what, column=column)
