"""Lookups the cross-table rules share: flagged rows, ids, products, sectors and their units,
through integer positions where a table may have 10^7 rows. Derived lookups are computed once
per validation and kept on the TypedTables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from econplan.columns import is_categorical, positions, to_object, vocabulary
from econplan.errors import MoreProblems, Problem, first_flagged
from econplan.hierarchy import descendants
from econplan.validate.tables import TypedTables


def rows(frame: pd.DataFrame, mask: pd.Series) -> Iterator[tuple[int, pd.Series]]:
    """The row number and values of every row where ``mask`` (by row number) holds."""
    for row in mask[mask.fillna(False).astype(bool)].index:
        yield int(row), frame.loc[row]


def flagged(frame: pd.DataFrame, mask: np.ndarray) -> Iterator[tuple[int, int]]:
    """The row number and position of every row where ``mask`` (by position) holds."""
    rows = frame.index.to_numpy()
    for position in np.flatnonzero(mask):
        yield int(rows[position]), int(position)


def shown_rows(frame: pd.DataFrame, mask: pd.Series) -> Iterator[tuple[int, pd.Series]]:
    """Like :func:`rows`, for the first ``SHOWN`` rows only: a rule that words a problem for
    each row visits those, and :func:`beyond` counts the rest."""
    positions, _ = first_flagged(mask)
    for row in mask.index[positions]:
        yield int(row), frame.loc[row]


def shown_flagged(frame: pd.DataFrame, mask: np.ndarray) -> Iterator[tuple[int, int]]:
    """Like :func:`flagged`, for the first ``SHOWN`` rows only (:func:`beyond` counts the
    rest)."""
    rows = frame.index.to_numpy()
    positions, _ = first_flagged(mask)
    for position in positions:
        yield int(rows[position]), int(position)


def beyond(file: str, column: str | None, mask: pd.Series | np.ndarray) -> Iterator[Problem]:
    """One line counting the rows where ``mask`` holds beyond the first ``SHOWN``, which
    :func:`shown_rows` and :func:`shown_flagged` leave out."""
    _, more = first_flagged(mask)
    if more:
        yield MoreProblems.of(file, column, more)


def derived(typed: TypedTables, name: str, make: Callable[[], Any]) -> Any:
    if name not in typed.derived:
        typed.derived[name] = make()
    return typed.derived[name]


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with categorical columns as object text, for lookups by value."""
    columns = {name: to_object(c) if is_categorical(c) else c for name, c in frame.items()}
    return pd.DataFrame(columns, index=frame.index)


def by_id(typed: TypedTables, table: str) -> pd.DataFrame:
    """An id table indexed by id (first row of each id), text as objects."""

    def make() -> pd.DataFrame:
        frame = typed.tables[table]
        frame = frame[frame["id"].notna() & ~frame["id"].duplicated()]
        by_id: pd.DataFrame = as_text(frame).set_index("id")
        return by_id

    frame: pd.DataFrame = derived(typed, f"{table} by id", make)
    return frame


def product_table(typed: TypedTables) -> pd.DataFrame:
    return by_id(typed, "products")


def sector_members(typed: TypedTables) -> dict[str, set[str]]:
    """For each sector, the products of it and of all its sub-sectors."""

    def make() -> dict[str, set[str]]:
        products = product_table(typed)
        own = {
            sector: set(ids)
            for sector, ids in products.index.to_series().groupby(products["sector"]).groups.items()
        }
        return {
            sector: set().union(*(own.get(s, set()) for s in members))
            for sector, members in sector_tree(typed).items()
        }

    members: dict[str, set[str]] = derived(typed, "sector members", make)
    return members


def sector_tree(typed: TypedTables) -> dict[str, tuple[str, ...]]:
    sectors = by_id(typed, "sectors")
    return descendants(sectors.index, sectors["parent"])


def sector_units(typed: TypedTables) -> dict[str, list[str]]:
    """For each sector, the distinct units of its products and its sub-sectors', sorted."""

    def make() -> dict[str, list[str]]:
        products = product_table(typed).dropna(subset=["sector", "unit"])
        own = {s: set(u) for s, u in products.groupby("sector")["unit"].unique().items()}
        return {
            sector: sorted(set().union(*(own.get(s, set()) for s in members)))
            for sector, members in sector_tree(typed).items()
        }

    units: dict[str, list[str]] = derived(typed, "sector units", make)
    return units


def among_ids(
    typed: TypedTables, table: str, *columns: pd.Series
) -> tuple[pd.Index, list[np.ndarray]]:
    """An index to compare the columns through (the table's ids, plus any unknown values the
    columns hold, which other checks report), and each column's positions in it."""
    vocab = typed.ids(table)
    found = [positions(c, vocab) for c in columns]
    if any(((f < 0) & c.notna().to_numpy()).any() for f, c in zip(found, columns, strict=True)):
        vocab = vocabulary(pd.Series(vocab), *columns)
        found = [positions(c, vocab) for c in columns]
    return vocab, found


def mask_of(size: int, *found: np.ndarray) -> np.ndarray:
    """A boolean array over ``size`` positions plus a last one for -1 (blank or unknown),
    true at the positions found."""
    mask = np.zeros(size + 1, dtype=bool)
    for positions_found in found:
        mask[positions_found] = True
    mask[-1] = False
    return mask


def lookup(keys: pd.Series, values: pd.Series, vocab: pd.Index) -> np.ndarray:
    """For each key, the position in ``vocab`` of ``values[key]`` (``values`` indexed by
    unique ids); -1 where the key or its value is missing or unknown."""
    found = np.append(positions(values, vocab), -1)
    looked_up: np.ndarray = found[positions(keys, pd.Index(values.index, dtype=object))]
    return looked_up
