"""The methods' names and update rules as text: all that ``--help`` needs, without importing them.

Kept apart from :mod:`symdescent.optimizers` so that ``symdescent --help``
starts without loading the optimisers (a test checks the two agree).
"""

#: Each method's update rule in one line, for ``--help`` and the README.
UPDATE_RULES: dict[str, str] = {
    "gd": "x ← x − α∇f",
    "momentum": "v ← μv + ∇f; x ← x − αv",
    "nesterov": "v ← μv + ∇f; x ← x − α(∇f + μv)",
    "adam": "m ← β₁m + (1−β₁)∇f; v ← β₂v + (1−β₂)∇f²; x ← x − α m̂/(√v̂ + ε)",
    "rmsprop": "v ← ρv + (1−ρ)∇f²; x ← x − α∇f/(√v + ε)",
    "adagrad": "G ← G + ∇f²; x ← x − α∇f/(√G + ε)",
    "newton": "solve H d = −∇f; x ← x + αd, α by backtracking from 1 (−∇f where H is not positive definite)",
    "backtracking": "x ← x − α∇f, α = lr, lr/2, … until f drops by c₁α‖∇f‖² (Armijo)",
    "exact-line": "x ← x − α∇f, α = argmin f(x − α∇f)",
    "cg": "d ← −∇f + βd (Polak–Ribière+); x ← x + αd, α by strong-Wolfe line search",
}
