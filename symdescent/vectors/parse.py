"""Vector function text -> SymPy expression with vector nodes, without ever executing the text.

The scalar grammar of :mod:`symdescent.parsing` (same numbers, functions,
constants, limits and messages), plus::

    a @ b                     matrix product (same precedence as *)
    sum(v) mean(v) norm(v) dot(u, v) transpose(A)
    sum(EXPR, i)              index sum over every i where each x[i+k] exists
    sum(EXPR, i=1..10)        index sum over an explicit, 1-based range
    x[i], x[i+1], x[i-2]      entries, only inside an index sum

``looks_like_vectors(text)`` says whether text needs this grammar at all.
"""

from __future__ import annotations

import keyword
import re

import sympy as sp

from symdescent.errors import ParseError
from symdescent.parsing import (
    CONSTANTS,
    FUNCTIONS,
    MAX_DEPTH,
    Token,
    _check_constant,
    _check_variable_name,
    _describe_bad_char,
    _number,
    _power,
    check_size,
)
from symdescent.vectors import looks_like_vectors  # noqa: F401 - kept importable from here
from symdescent.vectors.nodes import VDot, VIndexSum, VMatMul, VMean, VNorm, VSum, VTranspose, entry, parse_entry

#: Functions of the vector language, with their argument counts.
VECTOR_FUNCTIONS = {"sum": (1, 2), "mean": (1,), "norm": (1,), "dot": (2,), "transpose": (1,)}

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<op>\.\.|\*\*|//|[-+*/^(),@\[\]=])
  | (?P<number>(?:[0-9]+(?:\.(?!\.)[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL | re.ASCII,
)


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind, value, column = match.lastgroup, match.group(), match.start() + 1
        if kind == "space":
            continue
        if kind == "bad":
            message, hint = _describe_bad_char(value)
            raise ParseError(message, column, hint)
        if value == "//":
            raise ParseError("'//' (floor division) is not supported", column)
        tokens.append(Token(kind, "**" if value == "^" else value, column))  # type: ignore[arg-type]
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


class VectorParser:
    """Precedence climbing as in :class:`symdescent.parsing.Parser`, with ``@``, calls on vectors and entries."""

    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._pos = 0
        self._index: str | None = None  # the index name while inside sum(..., i)

    def parse(self) -> sp.Expr:
        expr = self._expr(0)
        if self._peek().kind != "end":
            raise self._unexpected(self._peek())
        return expr

    def _peek(self) -> Token:
        return self._tokens[self._pos]

    def _next(self) -> Token:
        token = self._tokens[self._pos]
        self._pos += 1
        return token

    def _at(self, *ops: str) -> bool:
        token = self._peek()
        return token.kind == "op" and token.text in ops

    def _expect(self, op: str, opening: Token) -> None:
        token = self._next()
        if not (token.kind == "op" and token.text == op):
            self._pos -= 1
            if token.kind == "end":
                raise ParseError(f"{opening.text!r} is never closed", opening.column)
            raise self._unexpected(token)

    def _unexpected(self, token: Token) -> ParseError:
        if token.kind == "name" and keyword.iskeyword(token.text) and token.text != "lambda":
            return ParseError(f"'{token.text}' is a Python keyword; only arithmetic is allowed", token.column)
        if token.kind == "end":
            return ParseError("the function ends too early: an operand or ')' is missing", token.column)
        if token.text == "=":
            return ParseError("'=' is only allowed in sum(EXPR, i=1..n)", token.column)
        if token.text in ("[", "]"):
            return ParseError("subscripts and lists are not allowed (x[i] only inside sum(..., i))", token.column)
        return ParseError(f"unexpected {token.text!r}", token.column)

    def _expr(self, depth: int) -> sp.Expr:
        terms = [self._term(depth)]
        while self._at("+", "-"):
            negate = self._next().text == "-"
            term = self._term(depth)
            terms.append(-term if negate else term)
        return sp.Add(*terms) if len(terms) > 1 else terms[0]

    def _term(self, depth: int) -> sp.Expr:
        value = self._unary(depth)
        while self._at("*", "/", "@"):
            op = self._next()
            factor = self._unary(depth)
            if op.text == "@":
                value = VMatMul(value, factor)
            elif op.text == "/":
                if factor.is_zero:
                    raise ParseError("division by zero", op.column)
                value = value * sp.Pow(factor, -1)
            else:
                value = value * factor
        return value

    def _unary(self, depth: int) -> sp.Expr:
        negate = False
        while self._at("+", "-"):
            negate ^= self._next().text == "-"
        value = self._power(depth)
        return -value if negate else value

    def _power(self, depth: int) -> sp.Expr:
        base = self._atom(depth)
        if not self._at("**"):
            return base
        column = self._next().column
        if depth >= MAX_DEPTH:
            raise ParseError(f"'**' chain nested deeper than {MAX_DEPTH}", column)
        exponent = self._unary(depth + 1)
        return _power(base, exponent, column)

    def _atom(self, depth: int) -> sp.Expr:
        token = self._next()
        if token.kind == "number":
            return _number(token)
        if token.kind == "name":
            if keyword.iskeyword(token.text) and token.text != "lambda":
                raise self._unexpected(token)
            if self._at("("):
                return self._call(token, depth)
            if self._at("["):
                return self._entry(token)
            return self._name(token)
        if token.kind == "op" and token.text == "(":
            if depth >= MAX_DEPTH:
                raise ParseError(f"brackets nested deeper than {MAX_DEPTH}", token.column)
            inner = self._expr(depth + 1)
            self._expect(")", token)
            return inner
        self._pos -= 1
        raise self._unexpected(token)

    def _name(self, token: Token) -> sp.Expr:
        name = token.text
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS or name in VECTOR_FUNCTIONS:
            raise ParseError(f"'{name}' is a function: write {name}(...)", token.column)
        if name == self._index:
            raise ParseError(f"the index {name} may only appear inside brackets, as in x[{name}]", token.column)
        _check_variable_name(name, token.column)
        return sp.Symbol(name, real=True)

    def _entry(self, token: Token) -> sp.Expr:
        """``x[i+k]`` inside an index sum -> the entry symbol ``x[i+k]``."""
        opening = self._next()
        if self._index is None:
            raise ParseError(
                f"subscripts like {token.text}[...] are only allowed inside an index sum",
                token.column,
                hint=f"write sum(... {token.text}[i] ..., i)",
            )
        index = self._next()
        if index.kind != "name" or index.text != self._index:
            raise ParseError(
                f"the index inside {token.text}[...] must be {self._index}, {self._index}+k or {self._index}-k",
                index.column,
            )
        offset = 0
        if self._at("+", "-"):
            sign = 1 if self._next().text == "+" else -1
            number = self._next()
            if number.kind != "number" or not number.text.isdigit() or len(number.text) > 6:
                raise ParseError("the shift in x[i+k] must be a whole number", number.column)
            offset = sign * int(number.text)
        self._expect("]", opening)
        _check_variable_name(token.text, token.column)
        return entry(token.text, offset)

    def _call(self, token: Token, depth: int) -> sp.Expr:
        name = token.text
        if depth >= MAX_DEPTH:
            raise ParseError(f"calls nested deeper than {MAX_DEPTH}", token.column)
        if name not in FUNCTIONS and name not in VECTOR_FUNCTIONS:
            known = ", ".join([*FUNCTIONS, *VECTOR_FUNCTIONS])
            raise ParseError(f"unknown function '{name}'", token.column, hint=f"known functions: {known}")
        opening = self._next()
        if name == "sum":
            return self._sum(token, opening, depth)
        args = [self._expr(depth + 1)]
        while self._at(","):
            self._next()
            args.append(self._expr(depth + 1))
        self._expect(")", opening)
        if name in VECTOR_FUNCTIONS:
            if len(args) not in VECTOR_FUNCTIONS[name]:
                raise ParseError(
                    f"{name}() takes {VECTOR_FUNCTIONS[name][0]} argument(s), got {len(args)}", token.column
                )
            return {"mean": VMean, "norm": VNorm, "dot": VDot, "transpose": VTranspose}[name](*args)
        function, arities = FUNCTIONS[name]
        if len(args) not in arities:
            wanted = " or ".join(str(a) for a in arities)
            raise ParseError(f"{name}() takes {wanted} argument(s), got {len(args)}", token.column)
        value = function(*args)
        if not value.free_symbols:
            _check_constant(value, f"{name}(...)", token.column)
        return value

    def _sum(self, token: Token, opening: Token, depth: int) -> sp.Expr:
        """``sum(v)``, ``sum(body, i)`` or ``sum(body, i=lo..hi)``: look ahead for the index first."""
        index, bounds = self._find_index(opening)
        if index is None:
            value = self._expr(depth + 1)
            self._expect(")", opening)
            return VSum(value)
        if self._index is not None:
            raise ParseError("index sums cannot be nested", token.column)
        self._index = index
        try:
            body = self._expr(depth + 1)
        finally:
            self._index = None
        self._next()  # ","
        self._next()  # the index name
        if bounds:
            self._pos += 4  # = lo .. hi
        self._expect(")", opening)
        if not any(parse_entry(s) for s in body.free_symbols):
            raise ParseError(f"sum(..., {index}) has no entry like x[{index}] in it", token.column)
        lo, hi = bounds or (0, 0)
        return VIndexSum(body, sp.Integer(lo), sp.Integer(hi))

    def _find_index(self, opening: Token) -> tuple[str | None, tuple[int, int] | None]:
        """Scan to the matching ')': a top-level ``, i)`` or ``, i=lo..hi)`` makes an index sum."""
        level, pos = 0, self._pos
        while pos < len(self._tokens):
            token = self._tokens[pos]
            if token.kind == "end":
                raise ParseError("'sum(' is never closed", opening.column)
            if token.kind == "op" and token.text in "([":
                level += 1
            elif token.kind == "op" and token.text in ")]":
                if level == 0:
                    return None, None
                level -= 1
            elif level == 0 and token.kind == "op" and token.text == ",":
                rest = self._tokens[pos + 1 : pos + 7]
                if len(rest) < 2 or rest[0].kind != "name":
                    raise ParseError("the second argument of sum must be an index name: sum(EXPR, i)", token.column)
                if rest[1].text == ")":
                    return rest[0].text, None
                texts = [t.text for t in rest[1:6]]
                if (
                    texts[:1] == ["="]
                    and len(texts) == 5
                    and texts[2] == ".."
                    and texts[4] == ")"
                    and rest[2].text.isdigit()
                    and rest[4].text.isdigit()
                ):
                    lo, hi = int(rest[2].text), int(rest[4].text)
                    if not 1 <= lo <= hi:
                        raise ParseError(f"the range {lo}..{hi} must satisfy 1 ≤ first ≤ last", rest[2].column)
                    return rest[0].text, (lo, hi)
                raise ParseError("write the index as sum(EXPR, i) or sum(EXPR, i=1..10)", rest[0].column)
            pos += 1
        raise ParseError("'sum(' is never closed", opening.column)


def parse_vector(text: str) -> sp.Expr:
    """Parse vector function text (see the module docstring); raise :class:`ParseError` if refused.

    >>> parse_vector("norm(A @ x - b)^2")
    VNorm(-b + VMatMul(A, x))**2
    """
    return VectorParser(tokenize(check_size(text))).parse()
