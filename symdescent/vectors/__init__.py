"""Vectors, matrices and data: functions such as ``x @ x``, ``norm(A @ x - b)^2`` or index sums.

Modules, each of one job: ``parse`` (text -> SymPy with vector nodes), ``nodes``
(the nodes and their kinds), ``calculus`` (derivatives in vector form), ``shapes``
(checks), ``codegen`` (whole-array numpy code), ``problem`` (formula + values),
``optim`` and ``run`` (array optimisers and the loop), ``data`` (files and start
values), ``render``, ``explain``, ``plot``, ``banded`` (the kernel engine's form)
and ``command`` (what the CLI hooks call). Importing this package is cheap.
"""

import re

_VECTOR_HINTS = re.compile(r"@|\[|\b(sum|mean|norm|dot|transpose|max|min|prod)\s*\(")


def looks_like_vectors(text: str) -> bool:
    """True when text uses vector syntax (``@``, ``x[i]``, ``sum(``, ``norm(`` …).

    Here, not in ``parse``, so that every scalar run can ask without importing SymPy.
    """
    return bool(_VECTOR_HINTS.search(text))
