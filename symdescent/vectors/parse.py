"""Vector function text -> SymPy expression with vector nodes, without ever executing the text.

The scalar grammar of :mod:`symdescent.parsing` (same numbers, functions,
constants, limits, budget checks and messages: this parser is that one with
more), plus::

    a @ b                     matrix product (same precedence as *, left to right)
    sum(v) mean(v) dot(u, v) transpose(A) max(v) min(v) prod(v)
    norm(v)  norm(v, 1)  norm(v, p)  norm(v, inf)
    x[3]                      one entry, 1-based
    sum(EXPR, i)              index sum over every i where each x[i+k] exists
    sum(EXPR, i=1..10)        index sum over an explicit, 1-based range
    x[i], x[i+1], x[i-2]      entries, only inside an index sum (|k| at most MAX_SHIFT)

``symdescent.vectors.looks_like_vectors(text)`` says whether text needs this grammar at all.
"""

from __future__ import annotations

import functools
import keyword
import re

import sympy as sp

from symdescent import budget
from symdescent.bad_characters import describe_bad_char
from symdescent.budget import MAX_SHIFT
from symdescent.errors import ParseError
from symdescent.parsing import (
    MAX_DEPTH,
    PARSED_FUNCTIONS,
    Parser,
    Token,
    _check_coefficient,
    _check_product_size,
    _check_variable_name,
    _product,
    check_size,
)
from symdescent.tokens import touches_number as _touches_number
from symdescent.vectors import nodes as vn
from symdescent.vectors.nodes import entry, parse_entry

#: Functions of the vector language, with their argument counts.
VECTOR_FUNCTIONS = {
    "sum": (1, 2),
    "mean": (1,),
    "norm": (1, 2),
    "dot": (2,),
    "transpose": (1,),
    "max": (1,),
    "min": (1,),
    "prod": (1,),
}
_NODES = {
    "mean": vn.VMean,
    "norm": vn.VNorm,
    "dot": vn.VDot,
    "transpose": vn.VTranspose,
    "max": vn.VMax,
    "min": vn.VMin,
    "prod": vn.VProd,
}
#: Longest accepted bound in sum(EXPR, i=lo..hi), in digits (beyond any vector a machine holds).
_MAX_BOUND_DIGITS = 15

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
    """Tokens as :func:`symdescent.parsing.tokenize` makes them, with ``@ [ ] = ..`` as well."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        budget.tick("parsing the function")
        kind, value, column = match.lastgroup, match.group(), match.start() + 1
        assert kind is not None  # every alternative of _TOKEN is a named group
        if kind == "space":
            continue
        if kind == "bad":
            message, hint = describe_bad_char(value)
            raise ParseError(message, column, hint)
        if value == "//":
            raise ParseError("'//' (floor division) is not supported", column)
        if kind == "name" and value.startswith("_") and _touches_number(tokens, column):
            raise ParseError(f"'_' in the number {tokens[-1].text + value!r} is not allowed", tokens[-1].column)
        tokens.append(Token(kind, "**" if value == "^" else value, column))
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _p_norm(vector: sp.Expr, p: sp.Expr, column: int) -> sp.Expr:
    """norm(v, p) = (Σ|vᵢ|ᵖ)^(1/p) for a number p ≥ 1; norm(v, 1) = Σ|vᵢ|, norm(v, inf) = max |vᵢ|."""
    if p == sp.oo:
        return vn.VMax(sp.Abs(vector))
    if not p.is_number or not p.is_real or p < 1:
        raise ParseError("norm(v, p) needs a number p ≥ 1 (or inf)", column)
    if p == 1:
        return vn.VSum(sp.Abs(vector))
    if p == 2:
        return vn.VNorm(vector)
    return vn.VSum(sp.Abs(vector) ** p) ** (1 / p)


class VectorParser(Parser):
    """The scalar :class:`~symdescent.parsing.Parser` (its limits, budget checks and messages), plus ``@``,
    the vector functions and entries."""

    def __init__(self, tokens: list[Token]) -> None:
        super().__init__(tokens)
        self._index: str | None = None  # the index name while inside sum(..., i)

    def _expect(self, op: str, opening: Token) -> None:
        token = self._next()
        if not (token.kind == "op" and token.text == op):
            self._pos -= 1
            if token.kind == "end":
                raise ParseError(f"{opening.text!r} is never closed", opening.column)
            raise self._unexpected(token)

    def _unexpected(self, token: Token) -> Exception:
        if token.kind == "name" and keyword.iskeyword(token.text) and token.text != "lambda":
            return ParseError(f"'{token.text}' is a Python keyword; only arithmetic is allowed", token.column)
        if token.text == "=":
            return ParseError("'=' is only allowed in sum(EXPR, i=1..n)", token.column)
        if token.text in ("[", "]"):
            return ParseError(
                "subscripts and lists are not allowed (x[k] is one entry, x[i] one inside sum(..., i))", token.column
            )
        return super()._unexpected(token)

    def _term(self, depth: int) -> sp.Expr:
        """Factors joined by ``*``, ``/`` and ``@``, left to right at one precedence: a*b @ c is (a*b) @ c."""
        start = self._peek().column
        factors = [self._unary(depth)]
        while self._at_op("*", "/", "@"):
            budget.tick("parsing the function", 64)
            op = self._next()
            factor = self._unary(depth)
            if op.text == "@":
                factors = [vn.VMatMul(self._multiply(factors, start), factor)]
                continue
            if op.text == "/":
                if factor.is_zero:
                    raise ParseError("division by zero", op.column)
                factor = sp.Pow(factor, -1)
            factors.append(factor)
        return self._multiply(factors, start)

    @staticmethod
    def _multiply(factors: list[sp.Expr], column: int) -> sp.Expr:
        if len(factors) == 1:
            return factors[0]
        _check_product_size(factors, column)
        product = _product(factors)
        _check_coefficient(product, column)
        return product

    def _atom(self, depth: int) -> sp.Expr:
        token = self._peek()
        if token.kind == "name" and keyword.iskeyword(token.text) and token.text != "lambda":
            raise ParseError(f"'{token.text}' is a Python keyword; only arithmetic is allowed", token.column)
        if token.kind == "name" and self._tokens[self._pos + 1].text == "[":  # a name is never the end token
            self._next()
            return self._entry(token)
        return super()._atom(depth)

    def _name(self, token: Token) -> sp.Expr:
        name = token.text
        if name in VECTOR_FUNCTIONS:
            raise ParseError(f"'{name}' is a function: write {name}(...)", token.column)
        if name == self._index:
            raise ParseError(f"the index {name} may only appear inside brackets, as in x[{name}]", token.column)
        return super()._name(token)

    def _entry(self, token: Token) -> sp.Expr:
        """``x[3]`` (one entry, 1-based) or, inside an index sum, ``x[i+k]`` -> the entry symbol ``x[i+k]``."""
        opening = self._next()
        index = self._next()
        _check_variable_name(token.text, token.column)
        if index.kind == "number":
            return self._fixed_entry(token, opening, index)
        if self._index is None:
            raise ParseError(
                f"{token.text}[...] takes a whole number (1 is the first entry), or i inside an index sum",
                index.column,
                hint=f"write {token.text}[1], or sum(... {token.text}[i] ..., i)",
            )
        if index.kind != "name" or index.text != self._index:
            raise ParseError(
                f"the index inside {token.text}[...] must be {self._index}, {self._index}+k or {self._index}-k",
                index.column,
            )
        offset = 0
        if self._at_op("+", "-"):
            sign = 1 if self._next().text == "+" else -1
            number = self._next()
            if number.kind != "number" or not number.text.isdigit():
                raise ParseError("the shift in x[i+k] must be a whole number", number.column)
            if len(number.text) > 6 or int(number.text) > MAX_SHIFT:
                raise ParseError(
                    f"the shift in {token.text}[{self._index}{'+' if sign > 0 else '-'}{number.text[:12]}] is larger "
                    f"than {MAX_SHIFT:,}, the largest an index sum may use",
                    number.column,
                )
            offset = sign * int(number.text)
        self._expect("]", opening)
        return entry(token.text, offset)

    def _fixed_entry(self, token: Token, opening: Token, index: Token) -> sp.Expr:
        if self._index is not None:
            raise ParseError(
                f"a fixed entry like {token.text}[{index.text}] cannot be inside an index sum: write it outside",
                token.column,
            )
        if not index.text.isdigit() or index.text == "0" * len(index.text):
            raise ParseError(
                f"subscripts are whole numbers from 1 on (x[1] is the first entry), not {index.text}", index.column
            )
        if len(index.text) > 18:
            raise ParseError(f"the entry {token.text}[{index.text[:12]}…] is beyond any vector", index.column)
        self._expect("]", opening)
        return vn.VEntry(sp.Symbol(token.text, real=True), sp.Integer(int(index.text)))

    def _call(self, token: Token, depth: int) -> sp.Expr:
        name = token.text
        if name not in VECTOR_FUNCTIONS:
            if name not in PARSED_FUNCTIONS:
                known = ", ".join([*PARSED_FUNCTIONS, *VECTOR_FUNCTIONS])
                raise ParseError(f"unknown function '{name}'", token.column, hint=f"known functions: {known}")
            return super()._call(token, depth)
        if depth >= MAX_DEPTH:
            raise ParseError(f"calls nested deeper than {MAX_DEPTH}", token.column)
        opening = self._next()
        if name == "sum":
            return self._sum(token, opening, depth)
        args = [self._expr(depth + 1)]
        while self._at_op(","):
            self._next()
            if name == "norm" and self._peek().text == "inf":
                self._next()
                args.append(sp.oo)
            else:
                args.append(self._expr(depth + 1))
        self._expect(")", opening)
        if len(args) not in VECTOR_FUNCTIONS[name]:
            wanted = " or ".join(str(a) for a in VECTOR_FUNCTIONS[name])
            raise ParseError(f"{name}() takes {wanted} argument(s), got {len(args)}", token.column)
        if name == "norm" and len(args) == 2:
            return _p_norm(args[0], args[1], token.column)
        return _NODES[name](*args)

    def _sum(self, token: Token, opening: Token, depth: int) -> sp.Expr:
        """``sum(v)``, ``sum(body, i)`` or ``sum(body, i=lo..hi)``: look ahead for the index first."""
        index, bounds = self._find_index(opening)
        if index is None:
            value = self._expr(depth + 1)
            self._expect(")", opening)
            return vn.VSum(value)
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
        return vn.VIndexSum(body, sp.Integer(lo), sp.Integer(hi))

    def _find_index(self, opening: Token) -> tuple[str | None, tuple[int, int] | None]:
        """Scan to the matching ')': a top-level ``, i)`` or ``, i=lo..hi)`` makes an index sum."""
        level, pos = 0, self._pos
        while pos < len(self._tokens):
            budget.tick("parsing the function")
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
                    if max(len(rest[2].text), len(rest[4].text)) > _MAX_BOUND_DIGITS:
                        raise ParseError("the range of the index sum is beyond any vector", rest[2].column)
                    lo, hi = int(rest[2].text), int(rest[4].text)
                    if not 1 <= lo <= hi:
                        raise ParseError(f"the range {lo}..{hi} must satisfy 1 ≤ first ≤ last", rest[2].column)
                    return rest[0].text, (lo, hi)
                raise ParseError("write the index as sum(EXPR, i) or sum(EXPR, i=1..10)", rest[0].column)
            pos += 1
        raise ParseError("'sum(' is never closed", opening.column)


def parse_vector(text: str) -> sp.Expr:
    """:func:`parse_vector_text`, remembered: a command parses its function more than once (build, shapes, n)."""
    return _parse_cached(text)


@functools.lru_cache(maxsize=4)
def _parse_cached(text: str) -> sp.Expr:
    return parse_vector_text(text)


def parse_vector_text(text: str) -> sp.Expr:
    """Parse vector function text (see the module docstring); raise :class:`ParseError` if refused.

    >>> parse_vector("norm(A @ x - b)^2")
    vn.VNorm(-b + vn.VMatMul(A, x))**2
    """
    with budget.time_limit():  # the command's limit when there is one, else its own
        return VectorParser(tokenize(check_size(text))).parse()
