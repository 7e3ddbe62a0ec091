"""Typed columns from text cells, vectorised; each bad cell becomes one problem."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.columns import categorical
from econplan.io.workbook import cell_text
from econplan.schema import Column, figure

TRUE = frozenset({"true", "yes", "1"})
FALSE = frozenset({"false", "no", "0"})


def blank(text: pd.Series) -> pd.Series:
    return text.str.strip() == ""


def coerce(text: pd.Series, column: Column) -> tuple[pd.Series, pd.Series, str]:
    """The column as its schema type, a mask of cells that could not be read, and why.

    Blank cells become missing values (defaults are applied afterwards, by the caller).
    """
    stripped = text.astype(str).str.strip()
    empty = stripped == ""
    kind = column.type
    if kind == "string":
        return stripped.where(~empty, None).astype(object), pd.Series(False, index=text.index), ""
    if kind == "boolean":
        lowered = stripped.str.lower()
        value = pd.Series(pd.NA, index=text.index, dtype="boolean")
        value[lowered.isin(TRUE)] = True
        value[lowered.isin(FALSE)] = False
        bad = ~empty & ~lowered.isin(TRUE | FALSE)
        return value, bad, "is not true or false"
    if kind == "enum":
        bad = ~empty & ~stripped.isin(column.values)
        allowed = ", ".join(column.values)
        return stripped.where(~empty, None).astype(object), bad, f"is not one of: {allowed}"
    number = pd.to_numeric(stripped.where(~empty, None), errors="coerce").astype(float)
    not_number = ~empty & ~np.isfinite(number.to_numpy())
    if kind == "number":
        # a cell that is no finite number is reported as such, not also as out of range
        return number.where(~not_number), not_number, "is not a number"
    # integer and year: floats still, made Int64 by whole() once their range is checked
    fractional = ~not_number & ~empty & (number % 1 != 0)
    bad = not_number | fractional
    what = "a year (like 2021)" if kind == "year" else "a whole number"
    return number.where(~bad), bad, f"is not {what}"


def out_of_range(number: pd.Series, column: Column) -> list[tuple[np.ndarray, str]]:
    """The cells of a number, integer or year column outside its declared range (the
    column's minimum and maximum, else its type's, and for numbers the smallest size
    other than 0), each check as a mask and what it says after the cell's value."""
    if column.type not in ("number", "integer", "year"):
        return []
    value = number.to_numpy(dtype=float, na_value=np.nan)
    low, high, smallest = column.lowest, column.highest, column.kind.smallest
    own = "check the figure"
    checks = []
    if low is not None:
        if low == 0:
            why = f"{column.name} cannot be negative here"
        else:
            why = own if column.minimum is not None else column.kind.hint
        checks.append((value < low, f"is below the minimum {figure(low)}: {why}"))
    if high is not None:
        why = own if column.maximum is not None else column.kind.hint
        checks.append((value > high, f"is above the maximum {figure(high)}: {why}"))
    if smallest is not None:
        checks.append(
            (
                (value != 0) & (np.abs(value) < smallest),
                f"is not 0 but smaller than {figure(smallest)} in size, too small for the solver "
                "to tell from 0: give 0, or the figure in a smaller unit (kg instead of t)",
            )
        )
    return checks


def whole(number: pd.Series, column: Column) -> pd.Series:
    """An integer or year column as Int64, once every cell is whole and within range."""
    return number.astype("Int64") if column.type in ("integer", "year") else number


def parse_years(value: object) -> tuple[int, int] | None:
    """A horizon as [first, last], from TOML (a list) or a workbook cell ("2021-2025")."""
    if isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value):
        return int(value[0]), int(value[1])
    if isinstance(value, str):
        parts = value.strip().strip("[]").replace(",", "-").split("-")
        parts = [p.strip() for p in parts if p.strip()]
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            return int(parts[0]), int(parts[1])
    return None


def coerce_typed(values: pd.Series, column: Column) -> tuple[pd.Series, pd.Series, str]:
    """Like :func:`coerce`, for a column that a typed format (Parquet) gave.

    Numbers stay numbers and booleans booleans; everything else (text, or a type that does
    not fit the column) is typed through its distinct values, as the text a user would have
    written, so that a categorical column of 10^7 cells costs as much as its categories.
    Text comes back categorical.
    """
    kind = column.type
    dtype = values.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if numeric and kind in ("number", "integer", "year"):
        number = pd.Series(
            values.to_numpy(dtype=float, na_value=np.nan), index=values.index, name=values.name
        )
        given = number.notna().to_numpy()
        not_number = given & ~np.isfinite(number.to_numpy())
        if kind == "number":
            bad = pd.Series(not_number, index=values.index)
            return number.where(~bad), bad, "is not a number"
        bad = not_number | (given & ~not_number & (number.to_numpy() % 1 != 0))
        what = "a year (like 2021)" if kind == "year" else "a whole number"
        return number.where(~bad), pd.Series(bad, index=values.index), f"is not {what}"
    if kind == "boolean" and pd.api.types.is_bool_dtype(dtype):
        return values.astype("boolean"), pd.Series(False, index=values.index), ""
    return _coerce_categories(categorical(values), column)


def _coerce_categories(values: pd.Series, column: Column) -> tuple[pd.Series, pd.Series, str]:
    categories = values.cat.categories
    is_text = pd.api.types.infer_dtype(categories, skipna=True) == "string"
    if is_text:
        text = pd.Series(np.asarray(categories, dtype=object), dtype=object)
    else:  # numbers or booleans where text was expected: as a user would have typed them
        text = pd.Series([cell_text(v) for v in categories.tolist()], dtype=object)
    codes = values.cat.codes.to_numpy()
    if column.type in ("string", "enum") and is_text and _clean(text):
        # the common case: text as it should be, so the column stays as it is
        allowed = np.ones(len(text), dtype=bool)
        if column.type == "enum":
            allowed = text.isin(column.values).to_numpy()
        bad_rows = pd.Series(np.append(~allowed, False)[codes], index=values.index)
        return values, bad_rows, f"is not one of: {', '.join(column.values)}"
    typed, bad, why = coerce(text, column)
    bad_rows = pd.Series(np.append(bad.to_numpy(dtype=bool), False)[codes], index=values.index)
    if column.type in ("string", "enum"):
        # categories that strip to the same text (or to blank) merge
        new_codes, new_categories = pd.factorize(typed, use_na_sentinel=True)
        result = pd.Categorical.from_codes(
            np.append(new_codes, -1)[codes], categories=pd.Index(new_categories, dtype=object)
        )
        return pd.Series(result, index=values.index, name=values.name), bad_rows, why
    taken = pd.api.extensions.take(typed.array, codes, allow_fill=True)
    return pd.Series(taken, index=values.index, name=values.name), bad_rows, why


def _clean(text: pd.Series) -> bool:
    """Whether every text is non-blank and without surrounding spaces (typing changes none)."""
    return all(t and t == t.strip() for t in text.tolist())
