"""Total requirements by sparse solves of (I - A) x = d; the inverse is never formed.

Everything input-output analysis needs is a solve with the Leontief matrix I - A or with its
transpose: total output for a final demand (one solve), output multipliers (one transposed
solve with a vector of ones: the column sums of the inverse) and the embodied content of one
quantity per unit of every product (one transposed solve per quantity). Solves are
iterative (restarted GMRES, which for a productive A converges at least as fast as the
Neumann series), checked by their true residual, with a direct sparse factorisation as the
fallback when the iteration does not reach the tolerance.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

DEFAULT_TOLERANCE = 1e-10


class SolveError(ArithmeticError):
    """(I - A) x = d has no accurate solution: the technologies cannot yield a net surplus."""


@dataclass(frozen=True)
class Solve:
    """A solution with how it was found and how accurate it is."""

    x: np.ndarray
    method: str
    iterations: int
    residual: float
    """Relative residual ||d - (I - A) x|| / ||d||, recomputed after the solve."""


def leontief_matrix(A: sp.spmatrix, transpose: bool = False) -> sp.csr_matrix:
    """I - A (or its transpose) in CSR form."""
    n = A.shape[0]
    if A.shape != (n, n):
        raise ValueError(f"A must be square, not {A.shape}")
    M = sp.identity(n, format="csr", dtype=float) - sp.csr_matrix(A, dtype=float)
    return sp.csr_matrix(M.T) if transpose else sp.csr_matrix(M)


def leontief_operator(A: sp.spmatrix, transpose: bool = False) -> spla.LinearOperator:
    """I - A (or its transpose) as an operator: x - A x costs one product with A and never
    copies it, which at 10^6 products saves a matrix of hundreds of MB."""
    n = A.shape[0]
    if A.shape != (n, n):
        raise ValueError(f"A must be square, not {A.shape}")
    B = sp.csr_matrix(A, dtype=float)
    B = B.T if transpose else B

    def matvec(x: np.ndarray) -> np.ndarray:
        x = np.ravel(x)
        return np.asarray(x - B @ x)

    return spla.LinearOperator((n, n), matvec=matvec, dtype=float)


Operator: TypeAlias = "sp.spmatrix | spla.LinearOperator"


def relative_residual(M: Operator, x: np.ndarray, d: np.ndarray) -> float:
    norm = float(np.linalg.norm(d))
    return float(np.linalg.norm(d - M @ x)) / (norm if norm > 0 else 1.0)


def solve(
    A: sp.spmatrix,
    d: np.ndarray,
    *,
    transpose: bool = False,
    tol: float = DEFAULT_TOLERANCE,
    maxiter: int = 2000,
    M: Operator | None = None,
) -> Solve:
    """Solve (I - A) x = d, or (I - A)' x = d with ``transpose``, to relative residual ``tol``.

    ``M`` may pass a precomputed ``leontief_operator(A, transpose)`` for repeated solves.
    """
    d = np.asarray(d, dtype=float)
    M = leontief_operator(A, transpose) if M is None else M
    if not np.any(d):
        return Solve(np.zeros_like(d), "zero", 0, 0.0)
    iterations = 0

    def count(_: object) -> None:
        nonlocal iterations
        iterations += 1

    # GMRES stops on its own (preconditioned) residual estimate: ask for a little more than
    # needed, then judge by the true residual.
    x, _ = spla.gmres(
        M, d, x0=d.copy(), rtol=tol / 10, atol=0.0, restart=50, maxiter=maxiter,
        callback=count, callback_type="pr_norm",
    )  # fmt: skip
    residual = relative_residual(M, x, d)
    if np.isfinite(residual) and residual <= tol:
        return Solve(x, "gmres", iterations, residual)
    with warnings.catch_warnings():
        warnings.simplefilter("error", spla.MatrixRankWarning)
        try:
            x = spla.spsolve(sp.csc_matrix(leontief_matrix(A, transpose)), d)
        except (spla.MatrixRankWarning, RuntimeError) as error:
            raise SolveError(
                f"I - A is singular ({error}): the technology matrix is not productive"
            ) from error
    residual = relative_residual(M, x, d)
    if not np.all(np.isfinite(x)) or residual > tol:
        raise SolveError(
            f"(I - A) x = d has no accurate solution (relative residual {residual:.2e}): "
            "the technology matrix is singular or not productive"
        )
    return Solve(x, "direct", iterations, residual)


def total_output(A: sp.spmatrix, final_demand: np.ndarray, tol: float = DEFAULT_TOLERANCE) -> Solve:
    """Gross output x = (I - A)^-1 f that delivers ``final_demand`` net of all intermediate use."""
    return solve(A, final_demand, tol=tol)


def output_multipliers(A: sp.spmatrix, tol: float = DEFAULT_TOLERANCE) -> Solve:
    """Column sums of (I - A)^-1: gross output of all products per unit of final demand for
    each product (one transposed solve)."""
    return solve(A, np.ones(A.shape[0]), transpose=True, tol=tol)


def embodied(A: sp.spmatrix, B: sp.spmatrix, tol: float = DEFAULT_TOLERANCE) -> list[Solve]:
    """Direct plus indirect content per unit of each product, for each row of ``B`` (labour,
    a resource, imports, energy): b (I - A)^-1, one transposed solve per row."""
    M = leontief_operator(A, transpose=True)
    B = sp.csr_matrix(B)
    return [
        solve(A, B[k].toarray().ravel(), transpose=True, tol=tol, M=M) for k in range(B.shape[0])
    ]
