"""L-BFGS side by side: iterations, evaluations, final f and wall time against scipy's L-BFGS-B (and torch's LBFGS).

Run from a checkout with the package and the test extra installed: ``python bench/bench_lbfgs.py``
(``--markdown docs/performance/lbfgs.md`` also writes what it prints for the docs).

The same functions from the same starts: the published test functions (tests/test_lbfgs.py) and the
breast-cancer logistic regression (standardised, L2 penalty 0.01) bundled with scikit-learn. torch
is used when it is installed (a reference only, not a dependency). Iteration counts differ by a few
because the line searches differ (scipy's is MINPACK's dcsrch, ours Nocedal & Wright 3.5–3.6); the
minimum must agree.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import minimize as scipy_minimize

from symdescent import minimize

FUNCTIONS = [
    ("Rosenbrock", "(1-x)^2 + 100*(y-x^2)^2", lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, (-1.2, 1.0)),
    ("Beale", "(1.5-x+x*y)^2 + (2.25-x+x*y^2)^2 + (2.625-x+x*y^3)^2",
     lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2, (1.0, 1.0)),
    ("Booth", "(x+2*y-7)^2 + (2*x+y-5)^2", lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2, (0.0, 0.0)),
    ("Himmelblau", "(x^2+y-11)^2 + (x+y^2-7)^2", lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, (0.0, 0.0)),
]  # fmt: skip


def torch_lbfgs(numpy_f, start):  # type: ignore[no-untyped-def]
    try:
        import torch
    except ImportError:
        return None
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], history_size=10, line_search_fn="strong_wolfe", tolerance_grad=1e-6, max_iter=1000)

    def closure():  # type: ignore[no-untyped-def]
        opt.zero_grad()
        loss = numpy_f(p[0], p[1])
        loss.backward()
        return loss

    opt.step(closure)
    return opt.state[opt._params[0]]["n_iter"], float(closure().detach())


def main() -> None:
    head = f"{'function':<14}{'ours: steps':>12}{'nfev':>7}{'f':>14}{'scipy: nit':>12}{'nfev':>7}{'f':>14}"
    print(head + f"{'torch: it':>11}")
    for name, text, numpy_f, start in FUNCTIONS:
        ours = minimize(text, start=start, method="lbfgs", tol=1e-6, max_steps=1000)
        theirs = scipy_minimize(lambda p, f=numpy_f: f(*p), np.array(start), method="L-BFGS-B")
        torch_result = torch_lbfgs(numpy_f, start)
        torch_text = "n/a" if torch_result is None else str(torch_result[0])
        print(
            f"{name:<14}{ours.steps:>12}{ours.nfev:>7}{ours.f:>14.3e}{theirs.nit:>12}{theirs.nfev:>7}{theirs.fun:>14.3e}"
            f"{torch_text:>11}"
        )
    logistic()


def logistic() -> None:
    from scipy.special import expit
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X = (data.data - data.data.mean(0)) / data.data.std(0)
    y = np.where(data.target == 1, 1.0, -1.0)

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = p[:-1], p[-1]
        margin = y * (X @ w + b)
        share = -y * expit(-margin) / len(y)
        return np.mean(np.logaddexp(0, -margin)) + 0.005 * (w @ w), np.append(X.T @ share + 0.01 * w, share.sum())

    began = time.perf_counter()
    theirs = scipy_minimize(loss, np.zeros(31), jac=True, method="L-BFGS-B", options={"gtol": 1e-8})
    scipy_seconds = time.perf_counter() - began
    began = time.perf_counter()
    ours = minimize(
        "mean(softplus(-y*(X @ w + b))) + 0.005*(w @ w)", start={"w": np.zeros(30), "b": 0.0},
        data={"X": X, "y": y}, method="lbfgs", tol=1e-8, max_steps=1000,
    )  # fmt: skip
    our_seconds = time.perf_counter() - began  # includes parsing, differentiating and compiling the formula
    gap = np.max(np.abs(np.append(ours.x["w"], ours.x["b"]) - theirs.x))
    torch_text = ""
    try:
        import torch

        Xt, yt = torch.tensor(X), torch.tensor(y)
        p = torch.zeros(31, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([p], history_size=10, line_search_fn="strong_wolfe", tolerance_grad=1e-8, max_iter=1000)

        def closure():  # type: ignore[no-untyped-def]
            opt.zero_grad()
            loss = torch.nn.functional.softplus(-yt * (Xt @ p[:-1] + p[-1])).mean() + 0.005 * (p[:-1] @ p[:-1])
            loss.backward()
            return loss

        opt.step(closure)
        torch_text = f"; torch {opt.state[opt._params[0]]['n_iter']} iterations, f = {float(closure().detach()):.12f}"
    except ImportError:
        pass
    print(
        f"\nbreast cancer (569×30, L2 0.01): ours {ours.steps} steps, {ours.nfev} f, f = {ours.f:.12f}, "
        f"{our_seconds:.2f} s (compile included); scipy {theirs.nit} iterations, {theirs.nfev} f, "
        f"f = {theirs.fun:.12f}, {scipy_seconds:.3f} s; largest coefficient gap {gap:.1e}{torch_text}"
    )


if __name__ == "__main__":
    from report import printed_as_markdown

    printed_as_markdown(__file__, "L-BFGS beside scipy's L-BFGS-B (and torch's LBFGS when installed)", main)
