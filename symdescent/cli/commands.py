"""The commands of ``symdescent``: the module of each (imported only when it runs) and its line in ``--help``.

Kept apart from the command modules so that ``symdescent --help`` lists them
without importing them; each command takes its ``short_help`` from here.
"""

#: Each command's one line in ``symdescent --help``, in the order listed.
SUMMARIES: dict[str, str] = {
    "analyze": "Hessian, critical points, convexity and safe step sizes of EXPR.",
    "cache": "Show or clear the cache of compiled functions.",
    "compare": "Several optimisers on EXPR from the same start, side by side.",
    "explain": "The derivation of gradient descent on EXPR, rule by rule.",
    "grad": "The partial derivatives and gradient of EXPR, at a point if asked.",
    "run": "Iterate an optimiser on EXPR from --start and print every step.",
    "sweep": "One run per learning rate on a log grid: where each converges.",
}

#: The module that defines each command (its ``COMMAND``).
MODULES: dict[str, str] = {name: f"symdescent.cli.{name}" for name in SUMMARIES}
