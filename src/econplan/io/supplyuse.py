"""Supply and use tables read from files, and a symmetric table written in the layout
``econplan.io.iotable`` reads (see ``iotable_doc.md``, "Supply and use tables").

The supply table has a row per product and a column per industry (the make matrix
transposed, as statistics offices publish it), and may have columns of imports (labelled
with ``import`` or a code such as ``P7``). The use table has the same products as rows and the
same industries as columns; its other columns are final demand and its other rows value
added. Columns and rows labelled ``total...`` are totals and left out; the balances are
checked from the figures instead: every product is used as much as it is supplied (U i + e =
q + imports) and every industry's inputs and value added add up to its output (i'U + i'W = x').
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from econplan.analysis.supplyuse import SupplyUse, SymmetricTable
from econplan.errors import EconomyError, Problem
from econplan.io.iolayout import normal_label, read_text
from econplan.io.iototals import rounding_unit
from econplan.io.sectoral import IMPORTS, final_use_category

DEFAULT_TOLERANCE = 1e-6
"""Largest relative difference allowed in a balance (or half the unit figures are rounded to)."""


@dataclass(frozen=True)
class _Grid:
    """A table's figures by row and column label, with the line of each row."""

    file: str
    corner: str
    figures: pd.DataFrame
    lines: dict[str, int]


def read_supply_use(
    supply: Path | str,
    use: Path | str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> SupplyUse:
    """The supply and use tables in the files ``supply`` and ``use`` (.csv, or .xlsx: the
    first worksheet); raises EconomyError listing every problem of both."""
    problems: list[Problem] = []
    grids = []
    for path in (Path(supply), Path(use)):
        try:
            grids.append(_grid(path))
        except EconomyError as error:
            problems += error.problems
    if problems or len(grids) < 2:
        raise EconomyError(problems)
    supplied, used = grids
    imports = [c for c in supplied.figures.columns if final_use_category(str(c)) == IMPORTS]
    industries = [c for c in supplied.figures.columns if c not in imports]
    products = list(supplied.figures.index)
    problems += _missing(used, products, industries)
    if problems:
        raise EconomyError(problems)
    V_t = supplied.figures[industries]
    made = V_t.to_numpy(dtype=float)
    for i, j in zip(*np.nonzero(made < 0), strict=True):
        problems.append(
            Problem(
                supplied.file,
                supplied.lines[str(products[i])],
                str(industries[j]),
                f"supply {made[i, j]:g} is negative: an industry cannot make less than nothing",
            )
        )
    figures = used.figures
    final_columns = [c for c in figures.columns if c not in industries]
    primary_rows = [r for r in figures.index if r not in products]
    U = figures.loc[products, industries]
    final = figures.loc[products, final_columns]
    for label in imports:  # x = Z + F - M: imports are negative final demand
        final[label] = -supplied.figures[label].to_numpy()
    tables = SupplyUse(V_t, U, final, figures.loc[primary_rows, industries])
    problems += _primary_final(used, primary_rows, final_columns)
    problems += _balances(tables, supplied, used, tolerance)
    if problems:
        raise EconomyError(problems)
    return tables


def _grid(path: Path) -> _Grid:
    """The figures of a supply or a use table; raises EconomyError with every problem."""
    problems: list[Problem] = []
    cells = read_text(path)
    text, file = cells.text, cells.file
    header = [str(h).strip() for h in text.columns]
    labels = [str(v).strip() for v in text.iloc[:, 0]]
    lines = [int(n) for n in text.index]
    keep_columns = [
        k for k, h in enumerate(header) if k and not normal_label(h).startswith("total")
    ]
    keep_rows = [k for k, r in enumerate(labels) if not normal_label(r).startswith("total")]
    seen: dict[str, int] = {}
    for k in keep_rows:
        label, line = labels[k], lines[k]
        if not label:
            problems.append(Problem(file, line, header[0] or None, "the row has no label"))
        elif label in seen:
            problems.append(
                Problem(
                    file, line, header[0] or None,
                    f"row label {label!r} appears twice (first on line {seen[label]}): labels "
                    "must be unique, outer spaces aside",
                )
            )  # fmt: skip
        seen.setdefault(label, line)
    columns = [header[k] for k in keep_columns]
    for k, column in zip(keep_columns, columns, strict=True):
        if not column or columns.count(column) > 1:
            problems.append(
                Problem(file, 1, column or f"column {k + 1}", "a blank or repeated column label")
            )
    values = np.zeros((len(keep_rows), len(keep_columns)))
    for c, k in enumerate(keep_columns):
        cells_k = text.iloc[keep_rows, k].astype(str).str.strip()
        parsed = pd.to_numeric(cells_k.where(cells_k != "", "0"), errors="coerce")
        for r in np.flatnonzero(~np.isfinite(parsed.to_numpy(dtype=float))):
            problems.append(
                Problem(
                    file,
                    lines[keep_rows[r]],
                    header[k],
                    f"{cells_k.iloc[r]!r} is not a number: write figures like 1234.5",
                )
            )
        values[:, c] = parsed.fillna(0.0).to_numpy(dtype=float)
    rows = [labels[k] for k in keep_rows]
    if problems:
        raise EconomyError(problems)
    figures = pd.DataFrame(values, index=rows, columns=columns)
    return _Grid(
        file, header[0], figures, {r: lines[k] for r, k in zip(rows, keep_rows, strict=True)}
    )


def _missing(used: _Grid, products: list[str], industries: list[str]) -> list[Problem]:
    problems = []
    rows, columns = set(used.figures.index), set(used.figures.columns)
    for product in products:
        if product not in rows:
            problems.append(
                Problem(
                    used.file, None, product,
                    "this product of the supply table has no row in the use table: add it, "
                    "labelled as in the supply table",
                )
            )  # fmt: skip
    for industry in industries:
        if industry not in columns:
            problems.append(
                Problem(
                    used.file, 1, industry,
                    "this industry of the supply table has no column in the use table: add "
                    "it, labelled as in the supply table",
                )
            )  # fmt: skip
    return problems


def _primary_final(used: _Grid, rows: list[str], columns: list[str]) -> list[Problem]:
    block = used.figures.loc[rows, columns]
    return [
        Problem(
            used.file,
            used.lines[rows[i]],
            columns[j],
            f"{rows[i]!r} is not a product of the supply table, so it is value added, and "
            f"{columns[j]!r} is not an industry, so it is final demand: value added cannot go "
            "to final demand; check the labels of both tables",
        )
        for i, j in zip(*np.nonzero(block.to_numpy() != 0), strict=True)
    ]


def _close(a: np.ndarray, b: np.ndarray, tolerance: float, unit: float) -> np.ndarray:
    scale = np.maximum(np.abs(a), np.abs(b))
    return np.asarray(np.abs(a - b) <= np.maximum(tolerance * scale, 0.5 * unit))


def _balances(tables: SupplyUse, supplied: _Grid, used: _Grid, tolerance: float) -> list[Problem]:
    problems = []
    q = tables.product_output.to_numpy()
    uses = tables.use.sum(axis=1).to_numpy() + tables.final_demand.sum(axis=1).to_numpy()
    unit = rounding_unit(tables.supply.to_numpy())
    for i in np.flatnonzero(~_close(uses, q, tolerance, unit)):
        product = str(tables.supply.index[int(i)])
        problems.append(
            Problem(
                used.file,
                used.lines[product],
                None,
                f"{product!r} is used {uses[i]:g} (industries and final demand, less imports), "
                f"but the supply table makes {q[i]:g}: a balanced pair of tables has them equal",
            )
        )
    x = tables.industry_output.to_numpy()
    inputs = tables.use.sum(axis=0).to_numpy() + tables.value_added.sum(axis=0).to_numpy()
    for j in np.flatnonzero(~_close(inputs, x, tolerance, unit)):
        industry = str(tables.supply.columns[int(j)])
        problems.append(
            Problem(
                used.file,
                1,
                industry,
                f"the inputs and value added of {industry!r} add up to {inputs[j]:g}, but it "
                f"makes {x[j]:g} in the supply table: give value added rows that cover all of it",
            )
        )
    return problems


def symmetric_frame(table: SymmetricTable) -> pd.DataFrame:
    """The symmetric table in the layout ``read_io_table`` reads: sectors, final demand and
    total output as columns; sectors, the primary rows and total input as rows."""
    corner = table.by
    labels = list(table.flows.index)
    body = pd.concat([table.flows, table.final_demand], axis=1)
    body["total_output"] = table.output
    primary = table.primary.reindex(columns=body.columns)
    total = table.flows.sum(axis=0) + table.primary.sum(axis=0)
    total_input = pd.DataFrame([total.reindex(body.columns)], index=["total_input"])
    frame = pd.concat([body, primary, total_input])
    frame.index = pd.Index([*labels, *table.primary.index, "total_input"], name=corner)
    return frame.reset_index()
