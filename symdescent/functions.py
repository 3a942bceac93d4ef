"""The one registry of the functions a user may call: ``sin``, ``log10``, ``softplus``…

Each :class:`FunctionSpec` says everything symdescent knows about one name:
how the parser builds it (the SymPy function and its argument counts), the
help text, the derivative rule ``explain`` names and writes out (in Unicode
and LaTeX), how generated float code evaluates it, and which numpy ufunc (or
:mod:`symdescent.ufuncs` helper) evaluates it on arrays. The parser
(:mod:`~symdescent.parsing`), the rule-by-rule derivation
(:mod:`~symdescent.derivation`), ``explain``'s laws, the compiled code
(:mod:`~symdescent.compile`), both array back-ends (:func:`array_functions`),
the symengine engine and ``--help`` all read :data:`FUNCTIONS`. Adding a function is one entry (plus, for a function
SymPy lacks, a small class in :mod:`symdescent.special`).

Importing this module is cheap (no SymPy): ``--help`` reads it. The SymPy
function is named by ``module:attribute`` and resolved on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any


@dataclass(frozen=True)
class FunctionSpec:
    """One function name the parser accepts (see the module docstring)."""

    name: str  # as the user writes it
    target: str  # "module:attribute" of the SymPy function (or class) the parser calls
    arities: tuple[int, ...] = (1,)
    help: str = ""  # a few words for --help
    rule: str | None = None  # the derivation rule it has of its own (None: an alias, or a shape SymPy rewrites)
    law: str = ""  # the rule written out, Unicode
    latex: str = ""  # the rule written out, LaTeX
    symengine: str | None = None  # symengine's name for it, when symengine has it (else its SymPy rewrite is used)
    array: str | None = None  # "module:attribute" of the numpy ufunc (or symdescent.ufuncs helper) arrays use
    scalar: str | None = None  # float source of a function SymPy's printer lacks ({0}: the argument's source)

    @property
    def sympy(self) -> Any:
        return resolve(self.target)


@cache
def resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(import_module(module), attribute)


def _spec(
    name: str,
    target: str,
    law: str,
    latex: str,
    *,
    help: str = "",
    symengine: bool | str = True,
    array: str | None = None,
    **kw: Any,
) -> FunctionSpec:
    return FunctionSpec(
        name,
        target,
        rule=kw.pop("rule", name),
        law=law,
        latex=latex,
        help=help,
        symengine=(name if symengine is True else symengine) or None,
        array=array or f"{_NP}:{name}",
        **kw,
    )


_SP = "sympy"
_SPECIAL = "symdescent.special"
_NP = "numpy"
_UF = "symdescent.ufuncs"

FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec
    for spec in (
        _spec("sin", f"{_SP}:sin", "sin′ = cos", r"\sin' = \cos"),
        _spec("cos", f"{_SP}:cos", "cos′ = −sin", r"\cos' = -\sin"),
        _spec("tan", f"{_SP}:tan", "tan′ = 1 + tan²", r"\tan' = 1 + \tan^2"),
        _spec("cot", f"{_SP}:cot", "cot′ = −1 − cot²", r"\cot' = -1 - \cot^2", array=f"{_UF}:cot"),
        _spec("sec", f"{_SP}:sec", "sec′ = sec·tan", r"\sec' = \sec \tan", array=f"{_UF}:sec"),
        _spec("csc", f"{_SP}:csc", "csc′ = −csc·cot", r"\csc' = -\csc \cot", array=f"{_UF}:csc"),
        _spec("asin", f"{_SP}:asin", "asin′ x = 1/√(1 − x²)", r"\arcsin' x = 1/\sqrt{1 - x^2}", array=f"{_NP}:arcsin"),
        _spec(
            "acos", f"{_SP}:acos", "acos′ x = −1/√(1 − x²)", r"\arccos' x = -1/\sqrt{1 - x^2}", array=f"{_NP}:arccos"
        ),
        _spec("atan", f"{_SP}:atan", "atan′ x = 1/(1 + x²)", r"\arctan' x = 1/(1 + x^2)", array=f"{_NP}:arctan"),
        _spec(
            "atan2",
            f"{_SP}:atan2",
            "∂atan2(y, x) = (x·dy − y·dx)/(x² + y²)",
            r"d\,\mathrm{atan2}(y, x) = (x\,dy - y\,dx)/(x^2 + y^2)",
            arities=(2,),
            array=f"{_NP}:arctan2",
        ),
        _spec("sinh", f"{_SP}:sinh", "sinh′ = cosh", r"\sinh' = \cosh"),
        _spec("cosh", f"{_SP}:cosh", "cosh′ = sinh", r"\cosh' = \sinh"),
        _spec("tanh", f"{_SP}:tanh", "tanh′ = 1 − tanh²", r"\tanh' = 1 - \tanh^2"),
        _spec(
            "asinh",
            f"{_SP}:asinh",
            "asinh′ x = 1/√(x² + 1)",
            r"\operatorname{asinh}' x = 1/\sqrt{x^2 + 1}",
            array=f"{_NP}:arcsinh",
        ),
        _spec(
            "acosh",
            f"{_SP}:acosh",
            "acosh′ x = 1/√(x² − 1)",
            r"\operatorname{acosh}' x = 1/\sqrt{x^2 - 1}",
            array=f"{_NP}:arccosh",
        ),
        _spec(
            "atanh",
            f"{_SP}:atanh",
            "atanh′ x = 1/(1 − x²)",
            r"\operatorname{atanh}' x = 1/(1 - x^2)",
            array=f"{_NP}:arctanh",
        ),
        _spec("exp", f"{_SP}:exp", "(eˣ)′ = eˣ", r"(e^x)' = e^x"),
        _spec("log", f"{_SP}:log", "(ln x)′ = 1/x", r"(\ln x)' = 1/x", arities=(1, 2), help="log(x) or log(x, base)"),
        FunctionSpec("ln", f"{_SP}:log", help="natural log, as log"),
        _spec(
            "log10",
            f"{_SPECIAL}:log10",
            "log₁₀′ x = 1/(x·ln 10)",
            r"\log_{10}' x = 1/(x \ln 10)",
            scalar="math.log10({0})",
            symengine=False,
        ),
        _spec(
            "log2",
            f"{_SPECIAL}:log2",
            "log₂′ x = 1/(x·ln 2)",
            r"\log_2' x = 1/(x \ln 2)",
            scalar="math.log2({0})",
            symengine=False,
        ),
        FunctionSpec("sqrt", f"{_SP}:sqrt", help="square root (its rule is sqrt)", symengine="sqrt"),
        _spec(
            "cbrt",
            f"{_SPECIAL}:cbrt",
            "(∛x)′ = 1/(3·∛x²)",
            r"(\sqrt[3]{x})' = 1/(3 \sqrt[3]{x^2})",
            scalar="math.cbrt({0})",
            symengine=False,
            help="real cube root: cbrt(-8) = -2",
        ),
        _spec(
            "abs",
            f"{_SP}:Abs",
            "|x|′ = sign(x)",
            r"|x|' = \operatorname{sign}(x)",
            symengine="Abs",
            array=f"{_NP}:absolute",
        ),
        _spec(
            "erf",
            f"{_SP}:erf",
            "erf′ x = (2/√π)·e^(−x²)",
            r"\operatorname{erf}' x = \frac{2}{\sqrt{\pi}} e^{-x^2}",
            array=f"{_UF}:erf",
        ),
        _spec(
            "erfc",
            f"{_SP}:erfc",
            "erfc′ x = −(2/√π)·e^(−x²)",
            r"\operatorname{erfc}' x = -\frac{2}{\sqrt{\pi}} e^{-x^2}",
            array=f"{_UF}:erfc",
        ),
        _spec(
            "sigmoid",
            f"{_SPECIAL}:sigmoid",
            "σ′ = σ·(1 − σ)",
            r"\sigma' = \sigma (1 - \sigma)",
            scalar="_sigmoid({0})",
            symengine=False,
            help="1/(1 + exp(-x))",
            array=f"{_UF}:sigmoid",
        ),
        _spec(
            "softplus",
            f"{_SPECIAL}:softplus",
            "softplus′ x = σ(x)",
            r"\operatorname{softplus}' x = \sigma(x)",
            scalar="_softplus({0})",
            symengine=False,
            help="log(1 + exp(x))",
            array=f"{_UF}:softplus",
        ),
    )
}


def function_rules() -> dict[Any, str]:
    """SymPy function class -> the name of its derivative rule, for :mod:`symdescent.derivation`."""
    rules: dict[Any, str] = {}
    for spec in FUNCTIONS.values():
        if spec.rule is not None:
            rules.setdefault(spec.sympy, spec.rule)
    return rules


def laws() -> dict[str, tuple[str, str, str]]:
    """Each function rule's name and law in Unicode and LaTeX, for ``explain``."""
    return {spec.rule: (spec.rule, spec.law, spec.latex) for spec in FUNCTIONS.values() if spec.rule is not None}


#: Functions found only in derivatives (|x|′ = sign(x), sign′ = 2δ): SymPy target -> array target, as ``array``.
DERIVED_ARRAY: dict[str, str] = {f"{_SP}:sign": f"{_NP}:sign", f"{_SP}:DiracDelta": f"{_UF}:dirac_delta"}


@cache
def array_functions() -> dict[Any, tuple[str, Any]]:
    """SymPy function class -> (its name in generated array code, the numpy-like callable) for every registry entry.

    Both array back-ends print from this one table: the whole-array engine as ``numpy.sin(u)``, the chunked
    kernel as ``numpy.sin(u, out=t0)``; a helper of :mod:`symdescent.ufuncs` is named ``_af_sigmoid`` and so on.
    """
    pairs = [(spec.target, spec.array) for spec in FUNCTIONS.values() if spec.array]
    table: dict[Any, tuple[str, Any]] = {}
    for target, array in [*pairs, *DERIVED_ARRAY.items()]:
        cls = resolve(target)
        module, _, attribute = array.partition(":")
        code = f"numpy.{attribute}" if module == _NP else f"_af_{attribute}"
        if isinstance(cls, type):
            table.setdefault(cls, (code, resolve(array)))
    return table


def array_namespace() -> dict[str, Any]:
    """The names generated array code calls: ``numpy`` and the helpers of :data:`array_functions`."""
    names: dict[str, Any] = {code: fn for code, fn in array_functions().values() if not code.startswith("numpy.")}
    names["numpy"] = import_module(_NP)
    return names
