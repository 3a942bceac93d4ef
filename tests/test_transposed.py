"""Aᵀ of a data matrix as a C-ordered copy (codegen.Transposed): the same numbers, made once, never for a batch."""

from __future__ import annotations

import numpy as np
import pytest

from symdescent.run import minimize
from symdescent.vectors import codegen
from symdescent.vectors.codegen import Transposed
from symdescent.vectors.problem import make_vector_problem
from symdescent.vectors.run import VectorRun


def test_the_copy_is_made_the_second_time_and_kept() -> None:
    transposed = Transposed()
    A = np.arange(12.0).reshape(4, 3)
    first = transposed(A)
    assert np.shares_memory(first, A)  # the first time: a view, no copy (a mini-batch is seen once)
    second = transposed(A)
    assert second.flags.c_contiguous and not np.shares_memory(second, A)
    np.testing.assert_array_equal(second, A.T)
    assert transposed(A) is second  # kept
    B = A.copy()  # another array: a view again, whatever its numbers
    assert np.shares_memory(transposed(B), B)


def test_fortran_ordered_and_large_matrices_are_not_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    transposed = Transposed()
    F = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    transposed(F)
    assert np.shares_memory(transposed(F), F)  # Fᵀ is C-ordered already
    monkeypatch.setattr(codegen, "TRANSPOSE_BYTES", 64)
    A = np.arange(12.0).reshape(4, 3)  # 96 bytes
    transposed(A)
    assert np.shares_memory(transposed(A), A)


def test_least_squares_and_logistic_agree_with_numpy() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 7))
    y = rng.normal(size=300)
    result = minimize(
        "mean((X @ w - y)^2)", start={"w": np.zeros(7)}, data={"X": X, "y": y}, lr=0.1, tol=0, max_steps=50
    )
    w = np.zeros(7)
    for _ in range(50):
        w = w - 0.1 * (2 / 300) * (X.T @ (X @ w - y))
    np.testing.assert_allclose(result.x["w"], w, rtol=1e-12, atol=1e-15)
    labels = np.where(y >= 0, 1.0, -1.0)
    problem = make_vector_problem("mean(log(1 + exp(-y * (X @ w))))", {"w": np.zeros(7)}, {"X": X, "y": labels})
    v = rng.normal(size=7)
    for _ in range(3):  # the first evaluation with the transpose as a view, the next with the copy
        f, g = problem.value_and_grad(v)
        margin = labels * (X @ v)
        np.testing.assert_allclose(f, np.mean(np.log1p(np.exp(-margin))), rtol=1e-13)
        np.testing.assert_allclose(g, -(X.T @ (labels / (1 + np.exp(margin)))) / 300, rtol=1e-12, atol=1e-16)


def test_changing_the_callers_matrix_in_place_between_runs_of_one_problem_changes_nothing() -> None:
    """The problem owns its matrices: f and ∇f never see two different versions of X (one of them kept as Xᵀ)."""
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    problem = make_vector_problem("sum((X @ w - y)^2)", {"w": np.zeros(3)}, {"X": X, "y": y})

    def descend() -> np.ndarray:
        run = VectorRun(problem, lr=0.001, tol=0, max_steps=20)
        run.drain()
        return np.array(run.last.x)

    first = descend()
    X *= 2.0  # the caller's array, in place
    np.testing.assert_array_equal(descend(), first)
    _, grad = problem.value_and_grad(np.ones(3))
    X0 = X / 2.0
    np.testing.assert_allclose(grad, 2 * X0.T @ (X0 @ np.ones(3) - y), rtol=1e-13)
