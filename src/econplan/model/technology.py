"""One technology per product: the technical coefficient matrix of a technology mix.

With several processes per product, input-output analysis needs one technology per product.
By default each product's technology is the mix of the processes whose main product it is,
weighted by their base-year activity (equal weights where none ran in the base year). Joint
by-products are left out of the mix, so the matrix overstates what the economy uses; the
productivity check is therefore on the safe side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla

from econplan.model.economy import Economy

PRIMARY_KINDS = ("labour", "resource", "primary")
"""Kinds of product that no process makes from others: the primary inputs."""

DENSE_LIMIT = 1500
"""Largest cycle whose spectral radius is found with a dense eigen-solver."""


@dataclass(frozen=True)
class TechnologyMatrix:
    """``A[i, j]``: product i used per unit of product j made; ``B``: primary inputs (labour,
    resources) per unit of product j; ``weights``: each process's share in the technology of
    its main product."""

    A: sp.csr_matrix
    B: sp.csr_matrix
    products: pd.Index
    primary: pd.Index
    weights: pd.Series


def technology_matrix(
    economy: Economy, year: int | None = None, activity: pd.Series | None = None
) -> TechnologyMatrix:
    """The technology mix with processes weighted by ``activity`` (default: the base year's)."""
    activity = economy.base_activity if activity is None else activity.reindex(economy.process_ids)
    activity = activity.fillna(0.0)
    main = economy.positions("processes", "main_product")
    outputs = economy.outputs(year)
    # each process's output of its own main product
    main_output = np.asarray(outputs[main, np.arange(len(main))]).ravel()
    weight = activity.to_numpy(dtype=float)
    total = np.bincount(main, weights=weight, minlength=len(economy.product_ids))
    count = np.bincount(main, minlength=len(economy.product_ids))
    share = np.where(
        total[main] > 0, weight / np.where(total[main] > 0, total[main], 1.0), 1.0 / count[main]
    )
    # process k -> product main[k], scaled so that one unit of the product is made
    mix = sp.csr_matrix(
        (share / main_output, (np.arange(len(main)), main)),
        shape=(len(main), len(economy.product_ids)),
    )
    per_product = (economy.inputs(year) @ mix).tocsr()
    kinds = economy.tables["products"]["kind"].to_numpy()
    made = ~np.isin(kinds, PRIMARY_KINDS)
    made_rows, primary_rows = np.flatnonzero(made), np.flatnonzero(~made)
    A = sp.csr_matrix(per_product[made_rows][:, made_rows])
    B = sp.csr_matrix(per_product[primary_rows][:, made_rows])
    given = np.flatnonzero(kinds == "primary")
    if len(given) and economy.outputs(year)[given].nnz:
        # a primary row of an input-output table given out (a subsidy) is a negative input
        out = sp.csr_matrix((economy.outputs(year) @ mix).tocsr()[given][:, made_rows])
        at = np.searchsorted(primary_rows, given)
        B = sp.csr_matrix(B - _rows(out, at, B.shape))
    A.sort_indices()
    B.sort_indices()
    return TechnologyMatrix(
        A=A,
        B=B,
        products=economy.product_ids[made_rows],
        primary=economy.product_ids[primary_rows],
        weights=pd.Series(share, index=economy.process_ids, name="weight"),
    )


def _rows(block: sp.csr_matrix, at: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """``block`` placed at rows ``at`` of a matrix of ``shape``."""
    coo = block.tocoo()
    return sp.csr_matrix((coo.data, (at[coo.row], coo.col)), shape=shape)


def spectral_radius(matrix: sp.spmatrix) -> float:
    """Spectral radius of a square non-negative matrix (its Perron root)."""
    n = matrix.shape[0]
    if n == 0 or matrix.nnz == 0:
        return 0.0
    if n <= DENSE_LIMIT:
        return float(np.max(np.abs(np.linalg.eigvals(matrix.toarray()))))
    values = spla.eigs(
        sp.csr_matrix(matrix, dtype=float), k=1, which="LM", return_eigenvectors=False
    )
    return float(np.abs(values[0]))


@dataclass(frozen=True)
class Cycle:
    """Products that feed one another, and the spectral radius of their coefficients."""

    products: tuple[str, ...]
    spectral_radius: float


def unproductive_cycles(A: sp.csr_matrix, products: pd.Index) -> list[Cycle]:
    """The strongly connected groups of products whose coefficients have spectral radius >= 1.

    The spectral radius of A is the largest over its strongly connected components, so these
    are exactly the products that keep the economy from yielding a net surplus. Bounds settle
    most components without an eigenvalue: the radius is at most the largest column (or row)
    sum of the component, and at most the Collatz-Wielandt bound of a few power iterations.
    Components are found in linear time, so this stays quick at 10^6 products.
    """
    n = A.shape[0]
    # column sums below 1 bound the radius below 1, but rounding can leave them at
    # 1 - 1e-16 with a radius of 1 + 1e-16: compare with the threshold, not with 1
    if n == 0 or abs(A).sum(axis=0).max() < UNPRODUCTIVE:
        return []
    count, labels = csgraph.connected_components(A, directed=True, connection="strong")
    coo = sp.coo_matrix(A)
    inside = labels[coo.row] == labels[coo.col]
    weight = np.abs(coo.data[inside])
    bound = np.minimum(
        _largest_by_label(np.bincount(coo.col[inside], weight, minlength=n), labels, count),
        _largest_by_label(np.bincount(coo.row[inside], weight, minlength=n), labels, count),
    )
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=count))])
    A = sp.csr_matrix(A)
    cycles = []
    for label in np.flatnonzero(bound >= UNPRODUCTIVE):
        members = order[starts[label] : starts[label + 1]]
        block = A[members][:, members]
        if len(members) > DENSE_LIMIT and _collatz_wielandt_bound(block) < UNPRODUCTIVE:
            continue
        radius = spectral_radius(block)
        if radius >= UNPRODUCTIVE:
            cycles.append(Cycle(tuple(sorted(products[members])), radius))
    return sorted(cycles, key=lambda c: -c.spectral_radius)


UNPRODUCTIVE = 1.0 - 1e-12
"""Spectral radius from which a group of products counts as unable to yield a surplus."""


def _largest_by_label(values: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    largest = np.zeros(count)
    np.maximum.at(largest, labels, values)
    return largest


def _collatz_wielandt_bound(block: sp.csr_matrix, iterations: int = 100) -> float:
    """An upper bound on the spectral radius of ``block``: max_i (|B| x)_i / x_i holds for
    every positive x, and power iterations with |B| + I (which has the same Perron vector
    and no periodicity) drive it down to the radius; stops once it is below 1."""
    B = abs(sp.csr_matrix(block))
    x = np.ones(B.shape[0])
    best = np.inf
    for _ in range(iterations):
        y = B @ x
        best = min(best, float(np.max(y / x)))
        if best < UNPRODUCTIVE or float(np.min(y / x)) >= 1.0:
            break
        x = y + x
        x /= x.max()
    return best
