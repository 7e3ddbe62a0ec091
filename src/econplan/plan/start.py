"""Where the first stage's simplex starts: the Leontief basis, one supplier basic for each
product balance.

In an input-output economy every product balance is held by what makes the product: Leontief's
solution x = (I - A)^-1 y has the activities of the economy's processes basic and the balances
tight, and by the non-substitution theorem that basis stays optimal while final demand changes.
A plan's first stage (the tier-1 shortfalls) asks for much the same: a plan that makes what the
targets and claims need. Simplex from HiGHS's slack basis has to bring each of those activities
into the basis one iteration at a time, and each iteration costs a factorisation update whose
fill grows with the economy: on generated economies (3 regions, 5 years, 5 inputs a product)
the first stage took 7,931 iterations (2.1 s) at 300 products, 13,831 (10.5 s) at 1,000 and
58,286 (630 s) at 3,000. From this basis dual simplex took 87, 18 and 23 iterations
(0.1 s, 2.0 s, 46 s; docs/performance.md, "The Leontief start").

The basis is built by matching each balance row to one column that supplies it (a positive
coefficient): an activity making the product in the region and year first, then a shipment
into the region, an import, a draw on a resource. The match is greedy, in that order of
preference, in a few vectorised rounds. Balances left without a supplier keep their slack
basic; the solver takes the basis as a start only (HiGHS completes or repairs it), so the
match need not be perfect, only close to what a plan does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.plan.backend import AT_LOWER, AT_UPPER, AT_ZERO, BASIC
from econplan.plan.lp import Block
from econplan.plan.problem import StageProblem

BALANCE = "balance"
"""The row block of product balances (product, region, year)."""

MAKERS = ("activity",)
"""Column blocks that make a product where it is balanced."""

SHIPMENTS = "shipment"
"""The column block of shipments (product, link, origin, destination, year): one supplies the
destination's balance from the origin's."""

SOURCES = ("imports", "draw")
"""Column blocks that bring a product in from outside the economy: bought abroad, taken from
nature."""

ROUNDS = 4
"""Rounds of greedy matching of makers; each round matches columns whose first free row was
taken by a column preferred to them. On generated economies the second round matches the last
few."""


def leontief_basis(problem: StageProblem) -> tuple[np.ndarray, np.ndarray] | None:
    """Column and row statuses of the Leontief basis of ``problem``, or None where it has no
    product balances or no suppliers (nothing to start from).

    Makers first; then shipments, only from a region whose balance is already held by a
    supplier, so that the shipments of a product form a forest rooted where it is made (two
    shipments of a product between two regions, one each way, would make the basis singular:
    measured on the built-in economy, where HiGHS then spent 40 s repairing rank deficiencies);
    then imports and draws for what neither makes nor ships in."""
    lp = problem.lp
    balance = lp.rows.get(BALANCE)
    if balance is None or balance.size == 0:
        return None
    col_lower, col_upper, row_lower, row_upper = lp.bounds()
    matrix = sp.csc_matrix(problem.matrix)
    n_rows, n_cols = matrix.shape
    row_taken = np.zeros(n_rows, dtype=bool)
    # a balance without bounds (primary inputs from outside the economy) holds nothing
    row_taken[balance.index] = ~np.isfinite(row_lower[balance.index]) & ~np.isfinite(
        row_upper[balance.index]
    )
    unmatchable = row_taken.copy()
    col_taken = np.zeros(n_cols, dtype=bool)

    makers = [lp.columns[name] for name in MAKERS if name in lp.columns]
    _match(*_supplies(matrix, balance, makers), row_taken, col_taken, ROUNDS)
    shipments = lp.columns.get(SHIPMENTS)
    if shipments is not None and shipments.size:
        rows, cols = _supplies(matrix, balance, [shipments])
        origin = _origins(balance, shipments)[cols - shipments.start]
        known = origin >= 0
        rows, cols, origin = rows[known], cols[known], origin[known]
        regions = balance.labels["region"].nunique()
        for _ in range(max(regions - 1, 1)):
            reached = row_taken[origin] & ~unmatchable[origin]
            if not _match(rows[reached], cols[reached], row_taken, col_taken, 1):
                break
    sources = [lp.columns[name] for name in SOURCES if name in lp.columns]
    _match(*_supplies(matrix, balance, sources), row_taken, col_taken, ROUNDS)

    row_taken &= ~unmatchable
    if not col_taken.any():
        return None
    col_status = np.where(
        np.isfinite(col_lower),
        AT_LOWER,
        np.where(np.isfinite(col_upper), AT_UPPER, AT_ZERO),
    ).astype(np.int8)
    col_status[col_taken] = BASIC
    # a matched balance is tight (an equation, or at the bound it is held at)
    row_status = np.full(n_rows, BASIC, dtype=np.int8)
    row_status[row_taken] = np.where(np.isfinite(row_lower[row_taken]), AT_LOWER, AT_UPPER)
    return col_status, row_status


def _supplies(
    matrix: sp.csc_matrix, balance: Block, blocks: list[Block]
) -> tuple[np.ndarray, np.ndarray]:
    """The (balance row, column) pairs where a column of ``blocks`` supplies the balance (a
    positive coefficient), in the order of preference: by block as given, then by column (a
    process's rows in the order assembled), and by size within a column (a process's main
    product before its by-products)."""
    if not blocks:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    candidates = np.concatenate([block.index for block in blocks])
    preference = np.concatenate([np.full(block.size, rank) for rank, block in enumerate(blocks)])
    part = sp.coo_matrix(matrix[balance.start : balance.stop, candidates])
    supplies = part.data > 0
    rows = part.row[supplies] + balance.start
    local = part.col[supplies]
    order = np.lexsort((-part.data[supplies], candidates[local], preference[local]))
    return rows[order], candidates[local][order]


def _origins(balance: Block, shipments: Block) -> np.ndarray:
    """The balance row each shipment leaves from: its product's in its origin and year (-1
    where there is none)."""
    where = pd.MultiIndex.from_frame(balance.labels[["product", "region", "year"]])
    leaving = pd.MultiIndex.from_frame(
        shipments.labels[["product", "origin", "year"]].set_axis(
            ["product", "region", "year"], axis=1
        )
    )
    found = np.asarray(where.get_indexer(leaving), dtype=np.int64)
    return np.where(found >= 0, found + balance.start, -1)


def _match(
    rows: np.ndarray,
    cols: np.ndarray,
    row_taken: np.ndarray,
    col_taken: np.ndarray,
    rounds: int,
) -> int:
    """Greedy matching of the pairs (``rows``, ``cols``), earlier pairs preferred, skipping
    rows and columns taken; marks what it matches and returns how many."""
    matched = 0
    for _ in range(rounds):
        free = ~row_taken[rows] & ~col_taken[cols]
        if not free.any():
            break
        r, c = rows[free], cols[free]
        # each column's first free row, then each row's first such column
        _, first_of_col = np.unique(c, return_index=True)
        first_of_col.sort()
        r, c = r[first_of_col], c[first_of_col]
        _, first_of_row = np.unique(r, return_index=True)
        row_taken[r[first_of_row]] = True
        col_taken[c[first_of_row]] = True
        matched += len(first_of_row)
    return matched
