"""Scaling of the plan problem before HiGHS sees it.

A plan mixes units and sizes: a bus wears out 2e-9 vehicles per passenger-km while a region's
consumption asks 4e9 passenger-km, and rail freight runs to 1e10 t-km a year. HiGHS scales the
matrix, but its tolerances (1e-7) are absolute in the scaled space: a reduced cost of 5e-8 on a
column that moves by 1e9 units hides a large gain, and on the built-in economy the simplex
stopped at "optimal" vertices 0.07 to 0.42 above the true tier-3 optimum, differently from run
to run. So the scaling here brings the right-hand sides and bounds, not only the
coefficients, near 1: Fourer's geometric-mean scaling of the matrix bordered by the bounds'
magnitudes (a column of row bounds, a row of column bounds), in powers of two.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _power_of_two(values: np.ndarray) -> np.ndarray:
    """Nearest powers of two: scaling by them changes no digit of the data."""
    powers: np.ndarray = np.exp2(np.round(np.log2(values)))
    return powers


def _size(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The magnitude of a variable's or row's bounds: the larger finite one, 0 for none."""
    size = np.zeros(len(lower))
    for bound in (lower, upper):
        finite = np.isfinite(bound)
        size[finite] = np.maximum(size[finite], np.abs(bound[finite]))
    return size


def _extremes(indptr: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest and smallest of the magnitudes ``data`` of each row (or column) of a compressed
    matrix with these pointers (0 and 0 for an empty one)."""
    n = len(indptr) - 1
    largest = np.zeros(n)
    smallest = np.zeros(n)
    filled = np.diff(indptr) > 0
    if len(data):
        starts = indptr[:-1][filled]
        largest[filled] = np.maximum.reduceat(data, starts)
        smallest[filled] = np.minimum.reduceat(data, starts)
    return largest, smallest


def geometric_scaling(
    matrix: sp.csc_matrix,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    passes: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column factors r, c (powers of two): HiGHS then solves diag(r) A diag(c) in
    x / c, with row bounds times r and column bounds over c, all near 1."""
    n_rows, n_cols = matrix.shape
    matrix = sp.csc_matrix(matrix)
    if not matrix.has_canonical_format:
        # duplicates summed before their magnitudes are taken: entries 3 and -2 at one place
        # are an entry of 1, not of 5 (the planner's matrices come summed already)
        matrix = matrix.copy()
        matrix.sum_duplicates()
    row_size = _size(row_lower, row_upper)
    col_size = _size(col_lower, col_upper)
    # the border: row i's bound as an entry of column n_cols, column j's bound (an entry of
    # 1/bound, since x/c near 1 wants c near the bound) as an entry of row n_rows
    border_rows = np.flatnonzero(row_size > 0)
    border_cols = np.flatnonzero(col_size > 0)
    coo = matrix.tocoo()
    bordered = sp.csr_matrix(
        (
            np.concatenate([np.abs(coo.data), row_size[border_rows], 1.0 / col_size[border_cols]]),
            (
                np.concatenate([coo.row, border_rows, np.full(len(border_cols), n_rows)]),
                np.concatenate([coo.col, np.full(len(border_rows), n_cols), border_cols]),
            ),
        ),
        shape=(n_rows + 1, n_cols + 1),
    )
    bordered.eliminate_zeros()
    # each entry scaled in place, r_i a_ij c_j, by rows and then by columns: the products of
    # diagonal matrices took 4 s of the 10 passes on IBGE's table at 30,000 products
    by_col = bordered.tocsc()
    row_of = np.repeat(np.arange(n_rows + 1), np.diff(bordered.indptr))
    col_of = np.repeat(np.arange(n_cols + 1), np.diff(by_col.indptr))
    rows = np.ones(n_rows + 1)
    cols = np.ones(n_cols + 1)
    for _ in range(passes):
        scaled = bordered.data * rows[row_of] * cols[bordered.indices]
        largest, smallest = _extremes(bordered.indptr, scaled)
        found = largest > 0
        rows[found] /= np.sqrt(largest[found] * smallest[found])
        rows[-1] = 1.0  # the border row stands for the column bounds: kept as they are
        scaled = by_col.data * rows[by_col.indices] * cols[col_of]
        largest, smallest = _extremes(by_col.indptr, scaled)
        found = largest > 0
        cols[found] /= np.sqrt(largest[found] * smallest[found])
        cols[-1] = 1.0  # the border column stands for the row bounds
    return _power_of_two(rows[:-1]), _power_of_two(cols[:-1])
