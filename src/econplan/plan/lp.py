"""A linear programme in labelled blocks: the columns and rows of the plan problem, each
block a table of labels (process, region, year, ...) so that any result maps back to what it
means, and the matrix as sparse triplets gathered block by block.

Nothing here knows about economies; :mod:`econplan.plan.assemble` fills it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

INF = np.inf


@dataclass(frozen=True)
class Block:
    """A run of consecutive columns (or rows) of one kind, with a label row for each."""

    name: str
    start: int
    labels: pd.DataFrame
    unit: str = ""
    """What one unit of the column (or of the row's right-hand side) is measured in."""
    shape: tuple[int, ...] = ()
    """Where the block is a full grid over its dimensions (year by pair, year by region by
    product): their sizes, outermost first, so that ``at`` finds an entry by its indices.
    Empty for a block of listed entries."""

    @property
    def size(self) -> int:
        return len(self.labels)

    def at(self, *index: np.ndarray | int) -> np.ndarray:
        """Positions in the problem of the entries at ``index`` (one index array per
        dimension of ``shape``, broadcast together): the block's layout in one place, and an
        index out of its dimension an error rather than another block's entry. (A block of
        listed entries, such as trade's priced products year by year, has no shape; its
        entries are found through its labels or by position within it.)"""
        if len(index) != len(self.shape):
            raise ValueError(
                f"block {self.name} has {len(self.shape)} dimensions, not {len(index)}"
            )
        arrays = np.broadcast_arrays(*(np.asarray(i, dtype=np.int64) for i in index))
        flat = np.ravel_multi_index(tuple(arrays), self.shape)
        return self.start + np.atleast_1d(flat)

    @property
    def stop(self) -> int:
        return self.start + self.size

    @property
    def index(self) -> np.ndarray:
        return np.arange(self.start, self.stop)


@dataclass
class LinearProgram:
    """min cost·x subject to row_lower <= A x <= row_upper, col_lower <= x <= col_upper."""

    columns: dict[str, Block] = field(default_factory=dict)
    rows: dict[str, Block] = field(default_factory=dict)
    col_lower: list[np.ndarray] = field(default_factory=list)
    col_upper: list[np.ndarray] = field(default_factory=list)
    row_lower: list[np.ndarray] = field(default_factory=list)
    row_upper: list[np.ndarray] = field(default_factory=list)
    _entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    n_columns: int = 0
    n_rows: int = 0

    def add_columns(
        self,
        name: str,
        labels: pd.DataFrame,
        lower: float | np.ndarray = 0.0,
        upper: float | np.ndarray = INF,
        unit: str = "",
        shape: tuple[int, ...] = (),
    ) -> Block:
        block = _block(name, self.n_columns, labels, unit, shape)
        self.columns[name] = block
        _extend(self.col_lower, self.col_upper, lower, upper, block.size)
        self.n_columns += block.size
        return block

    def add_rows(
        self,
        name: str,
        labels: pd.DataFrame,
        lower: float | np.ndarray = -INF,
        upper: float | np.ndarray = INF,
        unit: str = "",
        shape: tuple[int, ...] = (),
    ) -> Block:
        block = _block(name, self.n_rows, labels, unit, shape)
        self.rows[name] = block
        _extend(self.row_lower, self.row_upper, lower, upper, block.size)
        self.n_rows += block.size
        return block

    def bound_columns(
        self, name: str, positions: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> None:
        """New bounds for columns of block ``name``, by their positions within it."""
        at = list(self.columns).index(name)  # bounds are kept block by block, in order
        self.col_lower[at][positions] = lower
        self.col_upper[at][positions] = upper

    def add(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray | float) -> None:
        """Coefficients at (rows, cols); entries at the same place add up."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        values = np.broadcast_to(np.asarray(values, dtype=float), rows.shape)
        keep = values != 0
        self._entries.append((rows[keep], cols[keep], values[keep].copy()))

    def add_sparse(self, matrix: sp.spmatrix, row_of: np.ndarray, col_of: np.ndarray) -> None:
        """A sparse block whose row i is problem row row_of[i] and column j problem column
        col_of[j]."""
        coo = sp.coo_matrix(matrix)
        self.add(row_of[coo.row], col_of[coo.col], coo.data)

    def matrix(self) -> sp.csc_matrix:
        if self._entries:
            rows, cols, values = (
                np.concatenate(parts) for parts in zip(*self._entries, strict=False)
            )
        else:
            rows = cols = np.zeros(0, dtype=np.int64)
            values = np.zeros(0)
        matrix = sp.csc_matrix((values, (rows, cols)), shape=(self.n_rows, self.n_columns))
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        matrix.sort_indices()
        return matrix

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        def joined(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0)

        return (
            joined(self.col_lower),
            joined(self.col_upper),
            joined(self.row_lower),
            joined(self.row_upper),
        )

    def column_labels(self) -> list[str]:
        return _names(self.columns, "c")

    def row_labels(self) -> list[str]:
        return _names(self.rows, "r")


def _block(name: str, start: int, labels: pd.DataFrame, unit: str, shape: tuple[int, ...]) -> Block:
    """A block whose labels are laid out as ``shape`` says (when it says)."""
    if shape and int(np.prod(shape)) != len(labels):
        raise ValueError(f"block {name}: {len(labels)} labels do not fill a grid of {shape}")
    return Block(name, start, labels.reset_index(drop=True), unit, tuple(int(n) for n in shape))


def _extend(
    lowers: list[np.ndarray],
    uppers: list[np.ndarray],
    lower: float | np.ndarray,
    upper: float | np.ndarray,
    size: int,
) -> None:
    """Append a block's bounds, a scalar standing for the whole block."""
    lowers.append(np.broadcast_to(np.asarray(lower, dtype=float), size).copy())
    uppers.append(np.broadcast_to(np.asarray(upper, dtype=float), size).copy())


def _names(blocks: dict[str, Block], prefix: str) -> list[str]:
    """Names for MPS files: block name and labels joined, safe for the format (no spaces)."""
    names: list[str] = []
    for block in blocks.values():
        if block.size == 0:
            continue
        text = pd.Series(block.name, index=block.labels.index, dtype=object)
        for column in block.labels.columns:
            text = text + "." + block.labels[column].astype(str)
        names.extend(text.str.replace(r"\s+", "_", regex=True).tolist())
    # labels identify an entry within its block, so names are unique; should two ever meet
    # (ids differing only in white space), the position keeps them apart
    joined = pd.Series(names, dtype=object)
    twice = joined.duplicated(keep=False)
    if twice.any():
        where = f".{prefix}" + pd.Series(np.arange(len(joined))).astype(str)
        joined = joined.where(~twice, joined + where)
    return joined.tolist()
