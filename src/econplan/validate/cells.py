"""Typed columns from text cells, vectorised; each bad cell becomes one problem."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.schema import Column

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
        return number, not_number, "is not a number"
    # integer and year
    fractional = ~not_number & ~empty & (number % 1 != 0)
    bad = not_number | fractional
    what = "a year (like 2021)" if kind == "year" else "a whole number"
    return number.where(~bad).astype("Int64"), bad, f"is not {what}"


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
