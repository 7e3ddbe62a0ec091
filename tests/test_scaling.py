"""The geometric scaling of the plan problem (econplan.plan.scaling). Oracles: the same passes
written as products of diagonal matrices, the textbook form (the module scales entries in
place, which is faster and must give the same factors to the bit); and what a scaling is for,
the scaled entries and bounds of a badly scaled problem near 1."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from econplan.plan.scaling import geometric_scaling


def textbook_scaling(
    matrix: sp.csc_matrix,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    passes: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Fourer's geometric-mean passes over the matrix bordered by the bounds' magnitudes,
    each pass as diag(r) B diag(c), rounded to powers of two at the end."""

    def size(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        both = np.stack(
            [
                np.where(np.isfinite(lower), np.abs(lower), 0.0),
                np.where(np.isfinite(upper), np.abs(upper), 0.0),
            ]
        )
        return both.max(axis=0)

    rows_n, cols_n = matrix.shape
    border = sp.lil_matrix((rows_n + 1, cols_n + 1))
    border[:rows_n, :cols_n] = np.abs(matrix.toarray())
    row_size, col_size = size(row_lower, row_upper), size(col_lower, col_upper)
    for i in np.flatnonzero(row_size > 0):
        border[i, cols_n] = row_size[i]
    for j in np.flatnonzero(col_size > 0):
        border[rows_n, j] = 1.0 / col_size[j]
    bordered = border.tocsr()
    r, c = np.ones(rows_n + 1), np.ones(cols_n + 1)

    def geometric_means(scaled: sp.csr_matrix) -> np.ndarray:
        means = np.ones(scaled.shape[0])
        for i in range(scaled.shape[0]):
            entries = scaled.data[scaled.indptr[i] : scaled.indptr[i + 1]]
            if len(entries):
                means[i] = np.sqrt(entries.max() * entries.min())
        return means

    for _ in range(passes):
        r /= geometric_means((sp.diags(r) @ bordered @ sp.diags(c)).tocsr())
        r[-1] = 1.0
        c /= geometric_means((sp.diags(r) @ bordered @ sp.diags(c)).T.tocsr())
        c[-1] = 1.0
    return np.exp2(np.round(np.log2(r[:-1]))), np.exp2(np.round(np.log2(c[:-1])))


def badly_scaled(seed: int) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A sparse problem whose rows and columns carry magnitudes from 1e-6 to 1e6, some bounds
    infinite, one row and one column empty."""
    rng = np.random.default_rng(seed)
    rows, cols = 40, 60
    dense = rng.random((rows, cols)) * (rng.random((rows, cols)) < 0.15)
    dense[7, :] = 0.0
    dense[:, 11] = 0.0
    row_magnitude = 10.0 ** rng.uniform(-6, 6, rows)
    col_magnitude = 10.0 ** rng.uniform(-6, 6, cols)
    matrix = sp.csc_matrix(np.diag(row_magnitude) @ dense @ np.diag(col_magnitude))
    col_lower = np.zeros(cols)
    col_upper = np.where(rng.random(cols) < 0.5, np.inf, 10.0 ** rng.uniform(-3, 8, cols))
    row_lower = np.where(rng.random(rows) < 0.3, -np.inf, row_magnitude * rng.random(rows))
    row_upper = np.where(rng.random(rows) < 0.5, np.inf, row_magnitude * 5)
    return matrix, col_lower, col_upper, row_lower, row_upper


def test_the_scaling_is_the_textbook_passes_to_the_bit() -> None:
    for seed in range(5):
        problem = badly_scaled(seed)
        rows, cols = geometric_scaling(*problem)
        expected_rows, expected_cols = textbook_scaling(*problem)
        assert np.array_equal(rows, expected_rows)
        assert np.array_equal(cols, expected_cols)
        # powers of two: scaling changes no digit of the data
        assert np.array_equal(np.log2(rows), np.round(np.log2(rows)))
        assert np.array_equal(np.log2(cols), np.round(np.log2(cols)))


def test_signs_stored_zeros_and_duplicates_scale_as_the_matrix_they_make() -> None:
    """Negative entries scale by their magnitude; a stored zero is no entry; entries stored
    twice at one place are their sum (1e4 and 1 - 1e4 are an entry of 1): the factors are those of
    the matrix the entries make, to the bit."""
    rng = np.random.default_rng(11)
    matrix, *bounds = badly_scaled(4)
    signed = matrix.copy()
    signed.data *= rng.choice([-1.0, 1.0], len(signed.data))
    expected = textbook_scaling(signed, *bounds)
    assert np.array_equal(geometric_scaling(signed, *bounds)[0], expected[0])

    coo = signed.tocoo()
    # one entry split into a sum of two of other signs, and a zero stored where none is
    first = 1e4 * coo.data[0]
    row = np.concatenate([coo.row, [coo.row[0], 7]])
    col = np.concatenate([coo.col, [coo.col[0], 0]])
    data = np.concatenate([[first], coo.data[1:], [coo.data[0] - first, 0.0]])
    # (scipy's constructor from triples sums the duplicates: the raw form is built by hand)
    order = np.lexsort((row, col))
    raw = sp.csc_matrix(
        (data[order], row[order], np.searchsorted(col[order], np.arange(signed.shape[1] + 1))),
        shape=signed.shape,
    )
    assert not raw.has_canonical_format and raw.nnz == signed.nnz + 2
    rows, cols = geometric_scaling(raw, *bounds)
    assert np.array_equal(rows, expected[0]) and np.array_equal(cols, expected[1])
    assert raw.nnz == signed.nnz + 2  # the matrix given is left as it was


def test_a_problem_in_odd_units_is_scaled_back_near_1() -> None:
    """Entries, row bounds and column bounds of order 1, then each row and column put in odd
    units (factors from 1e-6 to 1e6, as a plan's tonnes, passenger-km and vehicles): the
    scaling must find units in which everything is near 1 again."""
    rng = np.random.default_rng(3)
    rows, cols = 50, 80
    pattern = rng.random((rows, cols)) < 0.1
    pattern[np.arange(rows), rng.integers(0, cols, rows)] = True
    pattern[rng.integers(0, rows, cols), np.arange(cols)] = True
    plain = np.where(pattern, rng.uniform(0.5, 2.0, (rows, cols)), 0.0)
    row_unit = 10.0 ** rng.uniform(-6, 6, rows)
    col_unit = 10.0 ** rng.uniform(-6, 6, cols)
    matrix = sp.csc_matrix(np.diag(row_unit) @ plain @ np.diag(col_unit))
    col_upper = rng.uniform(0.5, 2.0, cols) / col_unit
    row_upper = rng.uniform(0.5, 2.0, rows) * row_unit
    r, c = geometric_scaling(matrix, np.zeros(cols), col_upper, np.full(rows, -np.inf), row_upper)
    scaled = np.abs((sp.diags(r) @ matrix @ sp.diags(c)).tocsc().data)
    assert np.abs(matrix.data).max() / np.abs(matrix.data).min() > 1e12
    assert scaled.max() / scaled.min() < 64
    for bounds in (row_upper * r, col_upper / c):
        assert np.all((bounds > 1 / 32) & (bounds < 32))
