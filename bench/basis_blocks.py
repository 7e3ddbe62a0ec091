"""Measurement: how much of the Leontief basis a factorisation must treat as one irreducible
block, on the economies of ``bench/plan.py``.

A square basis permutes to block triangular form (its Dulmage-Mendelsohn decomposition: a
zero-free diagonal by a bipartite matching, then the strongly connected components of the
graph it gives); a factorisation pivots through the triangular part without fill and meets
fill only inside the blocks on the diagonal. This prints, per economy and size, the number of
blocks and the sizes of the largest: on a generated economy (a random cyclic structure) the
largest grow with n, on IBGE's table split into products they stay the table's own cycles.
``--superlu`` also factors the largest block with SciPy's SuperLU (COLAMD ordering): another
tool's seconds and fill (the factors' nonzeros over the block's) on what no ordering of the
basis can avoid factoring.

Usage: python bench/basis_blocks.py [--kinds generated ibge68] [--sizes 1000 3000 10000]
    [--superlu]
Prints a markdown table (nothing is written: docs/performance.md, "Why the generated
economies factor slowly", quotes a run).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from plan import KINDS, economy
from scipy.sparse.csgraph import connected_components, maximum_bipartite_matching

from econplan.plan import assemble
from econplan.plan.backend import BASIC
from econplan.plan.problem import StageProblem
from econplan.plan.start import leontief_basis


def leontief_basis_matrix(problem: StageProblem) -> sp.csc_matrix:
    """The basis matrix of the Leontief start: its basic columns, then the slack column of
    each basic row (HiGHS's sign: a row's activity minus its slack is zero)."""
    statuses = leontief_basis(problem)
    if statuses is None:
        raise ValueError("the problem has no Leontief basis (no product balances)")
    cols, rows = statuses
    matrix = sp.csc_matrix(problem.matrix)
    slacks = -sp.identity(matrix.shape[0], format="csc")
    return sp.hstack(
        [matrix[:, np.flatnonzero(cols == BASIC)], slacks[:, np.flatnonzero(rows == BASIC)]]
    ).tocsc()


def blocks(basis: sp.csc_matrix) -> tuple[np.ndarray, sp.csc_matrix]:
    """Sizes of the diagonal blocks of the block triangular form of ``basis``, largest
    first, and the largest block itself."""
    pattern = basis.copy()
    pattern.data[:] = 1.0
    matched = maximum_bipartite_matching(pattern.tocsr(), perm_type="column")
    if (matched < 0).any():
        raise ValueError("the basis is structurally singular")
    _, labels = connected_components(pattern[:, matched], directed=True, connection="strong")
    counts = np.bincount(labels)
    inside = np.flatnonzero(labels == counts.argmax())
    return np.sort(counts)[::-1], basis[:, matched][inside][:, inside].tocsc()


def largest_below(sizes: np.ndarray) -> int:
    """The largest block smaller than the largest (0: none)."""
    smaller = sizes[sizes < sizes[0]]
    return int(smaller[0]) if smaller.size else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10_000])
    parser.add_argument("--superlu", action="store_true")
    args = parser.parse_args()
    header = (
        "| economy | n | basis rows | nonzeros | blocks | largest block (how many), next "
        "| one block's share |"
    )
    if args.superlu:
        header += " the largest block by SuperLU: seconds | fill |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for kind in args.kinds:
        for n in args.sizes:
            basis = leontief_basis_matrix(assemble(economy(kind, n)))
            sizes, largest = blocks(basis)
            rows = basis.shape[0]
            line = (
                f"| {kind} | {n:,} | {rows:,} | {basis.nnz:,} | {sizes.size:,} | "
                f"{sizes[0]:,} (x{int((sizes == sizes[0]).sum())}), "
                f"{largest_below(sizes):,} | "
                f"{sizes[0] / rows:.1%} |"
            )
            if args.superlu:
                began = time.perf_counter()
                lu = sla.splu(largest, permc_spec="COLAMD")
                seconds = time.perf_counter() - began
                fill = (lu.L.nnz + lu.U.nnz) / largest.nnz
                line += f" {seconds:.1f} | {fill:.0f}x |"
            print(line, flush=True)


if __name__ == "__main__":
    main()
