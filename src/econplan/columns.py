"""Columns of text (ids, units, enums) as integer codes, alike for object and categorical dtype.

Text read from CSV comes as object columns of Python strings; text read from Parquet comes as
categoricals (dictionary-encoded strings). At 10^7 rows, hashing Python strings row by row
costs seconds per operation, while a categorical's codes cost nothing: these helpers look up,
compare and sort through the categories (few) and the codes (many) whenever they can, and give
the same answers as the plain object operations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_categorical(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.CategoricalDtype)


def categorical(values: pd.Series) -> pd.Series:
    """The column as a categorical (missing values stay missing); free when it is one."""
    if is_categorical(values):
        return values
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object)),
        index=values.index,
        name=values.name,
    )


def uniques(values: pd.Series) -> pd.Index:
    """The distinct values present (not missing), in no particular order."""
    if is_categorical(values):
        codes = values.cat.codes.to_numpy()
        used = np.zeros(len(values.cat.categories), dtype=bool)
        used[codes[codes >= 0]] = True
        present: pd.Index = pd.Index(
            np.asarray(values.cat.categories, dtype=object)[used], dtype=object
        )
        return present
    distinct: pd.Index = pd.Index(pd.unique(values.dropna().to_numpy(dtype=object)), dtype=object)
    return distinct


def positions(values: pd.Series, ids: pd.Index) -> np.ndarray:
    """Where each value lies in ``ids`` (unique): an int64 array, -1 for missing or unknown."""
    if is_categorical(values):
        lookup = np.append(ids.get_indexer(values.cat.categories), -1).astype(np.int64)
        return lookup[values.cat.codes.to_numpy()]  # code -1 picks the appended -1
    found: np.ndarray = ids.get_indexer(pd.Index(values.to_numpy(dtype=object)))
    return found.astype(np.int64)


def vocabulary(*columns: pd.Series) -> pd.Index:
    """Every distinct value of the columns, for comparing them through integer positions."""
    found = [uniques(c).to_numpy() for c in columns]
    distinct: pd.Index = pd.Index(pd.unique(np.concatenate(found)), dtype=object)
    return distinct


def isin(values: pd.Series, allowed: pd.Index) -> pd.Series:
    """Whether each value is among ``allowed`` (unique; missing values are not among them).

    Looks the values up in ``allowed``'s own hash table, so that checking several columns
    against the same ids builds it once.
    """
    return pd.Series(positions(values, allowed) >= 0, index=values.index)


def sort_codes(values: pd.Series) -> np.ndarray:
    """Codes that sort as the values do, missing values first: integers (-1 for missing) for
    text, the numbers themselves (-inf for missing) for numbers."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers: np.ndarray = values.to_numpy(dtype=float, na_value=-np.inf)
        return numbers
    if is_categorical(values):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        categories = values.cat.categories  # pandas caches the check below on it
        if categories.is_monotonic_increasing:
            return codes
        rank = np.empty(len(categories) + 1, dtype=np.int64)
        order = np.argsort(np.asarray(categories, dtype=object), kind="stable")
        rank[order] = np.arange(len(categories))
        rank[-1] = -1
        return rank[codes]
    codes, _ = pd.factorize(values, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64)


def is_sorted(codes: list[np.ndarray]) -> bool:
    """Whether rows are already in the order of a stable lexsort by ``codes`` (first key
    first): then sorting would change nothing, and a check is linear."""
    if not codes or len(codes[0]) < 2:
        return True
    in_order = codes[-1][:-1] <= codes[-1][1:]
    for key in reversed(codes[:-1]):
        before, after = key[:-1], key[1:]
        in_order = (before < after) | ((before == after) & in_order)
    return bool(in_order.all())


def to_object(values: pd.Series) -> pd.Series:
    """Text as object dtype with None for missing: the dtype an Economy's tables hold."""
    if is_categorical(values):
        categories = np.concatenate(
            [np.asarray(values.cat.categories, dtype=object), np.array([None], dtype=object)]
        )
        return pd.Series(
            categories[values.cat.codes.to_numpy()],
            index=values.index,
            name=values.name,
            dtype=object,
            copy=False,
        )
    if values.dtype == object:
        return values
    text = values.to_numpy(dtype=object).copy()
    text[pd.isna(text)] = None
    return pd.Series(text, index=values.index, name=values.name, dtype="object")
