"""Published input-output tables read as an economy: one product and one process per sector.

A table in the layout of ``iotable_doc.md`` (CSV or xlsx) is read with :func:`read_io_table`;
arrays already in memory become an economy with :func:`economy_from_flows`, and a pymrio
IOSystem with :func:`economy_from_pymrio`. Each sector j becomes a product measured in money
of the table and a process that makes one unit of it from ``Z[i, j] / x[j]`` of each product
i and ``row[j] / x[j]`` of each primary row (value added, labour, imports, emissions), with
one facility that made ``x[j]`` in the base year. Final-demand columns become claims of
final use (:func:`final_use_category`), exports become base-year exports.

Before the checks, ``econplan.io.ioadjust`` reads what published tables hold (tiny negative
flows, negative primary inputs and inventories, competitive imports) and says what it did in
notes. Every defect of a table is reported as a Problem with the file, the row and the column
label, all at once, in an EconomyError.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from econplan.errors import EconomyError, Problem
from econplan.io.ioadjust import adjust, final_claims, is_labour, row_category
from econplan.io.iolayout import FloatArray, Layout, normal_label, parse_layout, read_text
from econplan.io.iototals import rounding_unit
from econplan.io.mrio import economy_from_pymrio
from econplan.io.sectoral import (
    DEFAULT_BASE_YEAR,
    EXPORTS,
    IMPORTS,
    NATIONAL,
    Options,
    SectoralTable,
    build_economy,
    final_use_category,
    recognised,
)
from econplan.model.technology import unproductive_cycles

if TYPE_CHECKING:
    from econplan.model.economy import Economy

DEFAULT_TOLERANCE = 1e-6
"""Largest relative difference allowed between a total and what its cells add up to."""

LABOUR_ROWS = frozenset({"labour", "labor"})

__all__ = [
    "IOTable",
    "Layout",
    "check_layout",
    "economy_from_flows",
    "economy_from_pymrio",
    "final_use_category",
    "parse_layout",
    "read_io_table",
    "read_table",
]


# -- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class IOTable:
    """An input-output table read as an economy, and what was done to read it."""

    economy: Economy
    notes: tuple[str, ...]


def read_io_table(
    path: Path | str,
    *,
    sheet: str | None = None,
    unit: str = "money",
    name: str | None = None,
    base_year: int = DEFAULT_BASE_YEAR,
    currency: str | None = None,
    horizon: tuple[int, int] | None = None,
    population: float = 0.0,
    services: Collection[str] = (),
    tolerance: float = DEFAULT_TOLERANCE,
    categories: Mapping[str, str] | None = None,
    imports: str | None = None,
) -> Economy:
    """The economy of the input-output table at ``path`` (.csv, or .xlsx: ``sheet`` or the
    first worksheet), in the layout of ``iotable_doc.md``.

    Sector products are in ``unit`` (a row's ``unit`` cell overrides it) and of kind good,
    or service when named in ``services``. The table gives no base year, horizon or
    population: ``base_year``, ``horizon`` (default: the year after the base year) and
    ``population`` (persons in every year) stand in for them. ``categories`` names the
    category of final-demand columns by label (over the ``category`` row and the labels);
    ``imports="proportional"`` converts competitive imports to domestic flows. Raises
    EconomyError listing every defect of the table; :func:`read_table` also gives the notes
    on what was done to read it.
    """
    return read_table(
        path, sheet=sheet, unit=unit, name=name, base_year=base_year, currency=currency,
        horizon=horizon, population=population, services=services, tolerance=tolerance,
        categories=categories, imports=imports,
    ).economy  # fmt: skip


def read_table(
    path: Path | str,
    *,
    sheet: str | None = None,
    unit: str = "money",
    name: str | None = None,
    base_year: int = DEFAULT_BASE_YEAR,
    currency: str | None = None,
    horizon: tuple[int, int] | None = None,
    population: float = 0.0,
    services: Collection[str] = (),
    tolerance: float = DEFAULT_TOLERANCE,
    categories: Mapping[str, str] | None = None,
    imports: str | None = None,
) -> IOTable:
    """As :func:`read_io_table`, with the notes on what was done to read the table (an
    encoding guessed, totals found by their arithmetic, imports converted, inventories
    netted)."""
    path = Path(path)
    cells = read_text(path, sheet)
    layout = parse_layout(cells.text, cells.file, categories, decimal_comma=cells.decimal_comma)
    return _economy(
        layout,
        unit=unit,
        options=Options(
            name=name or path.stem,
            base_year=base_year,
            currency=currency or unit,
            horizon=horizon,
            population=population,
            description=f"Read from the input-output table {path.name}.",
            source_title=f"Input-output table {path.name}",
            source_note=_NOTE,
        ),
        services=services,
        tolerance=tolerance,
        imports=imports,
        notes=cells.notes,
    )


_NOTE = (
    "One process per sector with the table's coefficients; population, horizon and labour "
    "available are placeholders (see econplan.io.iotable)."
)


# -- checks ----------------------------------------------------------------------------------
def check_layout(layout: Layout, tolerance: float = DEFAULT_TOLERANCE) -> list[Problem]:
    """Every defect of a parsed (and adjusted) table: negative or missing figures, totals that
    do not add up, primary rows with final demand, a table without figures, sectors that
    cannot yield a net surplus."""
    problems = [
        *_negative_problems(layout),
        *_primary_final_problems(layout),
        *_total_output_problems(layout, tolerance),
        *_column_total_problems(layout, tolerance),
    ]
    if not problems:
        problems += _empty_problems(layout)
    if not problems:
        problems += _zero_output_problems(layout)
    if not problems:
        problems += _unproductive_problems(layout)
    return problems


def _negative_problems(layout: Layout) -> list[Problem]:
    """Negative flows (those left after rounding was set to 0), labour or rows in their own
    unit, exports and total output. Negative money rows (subsidies) and final demand
    (inventories) are read: see ``econplan.io.ioadjust``."""
    file, line = layout.file, layout.lines
    problems = []
    sectors = list(layout.sectors)
    for i, j in zip(*np.nonzero(layout.Z < 0), strict=True):
        problems.append(
            Problem(
                file,
                line[sectors[i]],
                sectors[j],
                f"inter-industry flow {layout.Z[i, j]:g} is negative: a sector cannot use less "
                "than nothing of another (negative flows down to 1e-4 of the output of the "
                "product sold are read as rounding)",
            )
        )
    physical = [
        r for r in layout.primary.index if is_labour(layout, str(r)) or str(r) in layout.units
    ]
    inputs = layout.primary.loc[physical, sectors]
    for r, j in zip(*np.nonzero(inputs.fillna(0.0).to_numpy() < 0), strict=True):
        label, value = str(inputs.index[r]), float(inputs.to_numpy()[r, j])
        problems.append(
            Problem(
                file,
                line[label],
                sectors[j],
                f"{label!r} is negative here ({value:g}): a labour row, or a row with its own "
                "unit, measures something used up and cannot be negative (money rows such as "
                "subsidies may)",
            )
        )
    final = layout.final_demand
    for column in final.columns:
        if column_category_of(layout, str(column)) != EXPORTS:
            continue
        for sector in final.index[final[column] < 0]:
            problems.append(
                Problem(
                    file,
                    line[sector],
                    str(column),
                    f"exports of {sector!r} are negative ({final.loc[sector, column]:g}): "
                    "imports go in a column of their own (category imports)",
                )
            )
    if layout.total_output is not None:
        for i in np.flatnonzero(layout.total_output < 0):
            problems.append(
                Problem(
                    file,
                    line[sectors[i]],
                    layout.total_output_column,
                    f"total output {layout.total_output[i]:g} is negative",
                )
            )
    return problems


def column_category_of(layout: Layout, label: str) -> str:
    return layout.categories.get(label) or final_use_category(label)


def _empty_problems(layout: Layout) -> list[Problem]:
    if layout.x.any() or layout.Z.any() or layout.final_demand.to_numpy().any():
        return []
    return [
        Problem(
            layout.file,
            layout.lines[layout.sectors[0]],
            None,
            "the table holds no figures: every flow, final demand and total output is 0 or "
            "blank, so there is no economy to read; fill in the figures",
        )
    ]


def _primary_final_problems(layout: Layout) -> list[Problem]:
    final = layout.primary.drop(columns=list(layout.sectors)).fillna(0.0)
    final = final.loc[[row_category(layout, str(r)) != IMPORTS for r in final.index]]
    problems = []
    for r, c in zip(*np.nonzero(final.to_numpy() != 0), strict=True):
        label, column = final.index[r], final.columns[c]
        problems.append(
            Problem(
                layout.file,
                layout.lines[label],
                column,
                f"row {label!r} has no column of its own, so it is a primary input, and "
                f"{column!r} has no row of its own, so it is final demand: a primary input "
                f"cannot go to final demand. If {label!r} is a sector, add its column to the "
                f"inter-industry block; if {column!r} is a sector, add its row; if {label!r} "
                "holds imports, name it so (--category LABEL=imports); otherwise leave the "
                "cell blank",
            )
        )
    return problems


def _close(
    a: FloatArray, b: FloatArray, tolerance: float, unit: float = 0.0
) -> npt.NDArray[np.bool_]:
    """Equal within a relative ``tolerance``, or within half the ``unit`` a given total is
    rounded to (IBGE rounds total output to whole units, its flows not)."""
    scale = np.maximum(np.abs(a), np.abs(b))
    return np.asarray(np.abs(a - b) <= np.maximum(tolerance * scale, 0.5 * unit))


def _total_output_problems(layout: Layout, tolerance: float) -> list[Problem]:
    if layout.total_output is None:
        return []
    problems = []
    x = layout.total_output
    unit = rounding_unit(x)
    sums = layout.Z.sum(axis=1) + layout.final_demand.to_numpy().sum(axis=1)
    for i, sector in enumerate(layout.sectors):
        if np.isnan(x[i]):
            problems.append(
                Problem(
                    layout.file,
                    layout.lines[sector],
                    layout.total_output_column,
                    "total output is blank: give it, or delete the column to have it computed",
                )
            )
        elif not _close(np.array(x[i]), np.array(sums[i]), tolerance, unit):
            problems.append(
                Problem(
                    layout.file,
                    layout.lines[sector],
                    layout.total_output_column,
                    f"total output {x[i]:g} is not what the row adds up to ({sums[i]:g}: sales "
                    "to the sectors plus final demand): correct the row or its total",
                )
            )
    return problems


def _column_total_problems(layout: Layout, tolerance: float) -> list[Problem]:
    sectors = list(layout.sectors)
    # labour and rows in their own unit are not money: they are not part of the column total
    money = [
        r
        for r in layout.primary.index
        if not is_labour(layout, str(r)) and str(r) not in layout.units
    ]
    inputs = layout.Z.sum(axis=0) + layout.primary.loc[money, sectors].fillna(0.0).to_numpy().sum(
        axis=0
    )
    x = layout.x
    problems = []
    for label, totals in layout.totals.iterrows():
        given = totals.to_numpy(dtype=float)
        unit = rounding_unit(given)
        for j in np.flatnonzero(~np.isnan(given)):
            if not _close(np.array(given[j]), np.array(inputs[j]), tolerance, unit):
                message = (
                    f"the inputs of {sectors[j]!r} add up to {inputs[j]:g} (the sectors' and "
                    f"the money rows' cells), not {given[j]:g}: correct the column or its total"
                )
            elif not np.isnan(x[j]) and not _close(
                np.array(given[j]), np.array(x[j]), tolerance, unit
            ):
                message = (
                    f"total input {given[j]:g} of {sectors[j]!r} differs from its total output "
                    f"{x[j]:g}: a balanced table has them equal"
                )
            else:
                continue
            problems.append(Problem(layout.file, layout.lines[str(label)], sectors[j], message))
    return problems


def _zero_output_problems(layout: Layout) -> list[Problem]:
    x = layout.x
    inputs = np.vstack([layout.Z, layout.primary[list(layout.sectors)].fillna(0.0).to_numpy()])
    labels = [*layout.sectors, *layout.primary.index]
    problems = []
    for j in np.flatnonzero((x == 0) & (inputs != 0).any(axis=0)):
        first = labels[int(np.flatnonzero(inputs[:, j])[0])]
        problems.append(
            Problem(
                layout.file,
                layout.lines[first],
                layout.sectors[j],
                f"{layout.sectors[j]!r} has inputs but a total output of 0, so its input "
                "coefficients cannot be computed: give its output or clear its column",
            )
        )
    return problems


def _unproductive_problems(layout: Layout) -> list[Problem]:
    x = layout.x
    A = layout.Z / np.where(x > 0, x, 1.0)
    sectors = pd.Index(layout.sectors)
    problems = []
    for cycle in unproductive_cycles(sp.csr_matrix(A), sectors):
        members = sectors.get_indexer(pd.Index(cycle.products))
        sums = A[:, members].sum(axis=0)
        worst = sectors[members[int(np.argmax(sums))]]
        problems.append(
            Problem(
                layout.file,
                layout.lines[worst],
                worst,
                f"the sectors {', '.join(cycle.products)} use up more of one another than they "
                f"make (spectral radius {cycle.spectral_radius:.4f} >= 1; {worst!r} uses "
                f"{sums.max():.4f} of the sectors' products per unit it makes): the table "
                "cannot yield a net surplus; check these columns and their total outputs",
            )
        )
    return problems


# -- building --------------------------------------------------------------------------------
def _economy(
    layout: Layout,
    *,
    unit: str,
    options: Options,
    services: Collection[str],
    tolerance: float,
    imports: str | None = None,
    notes: tuple[str, ...] = (),
) -> IOTable:
    adjusted = adjust(layout, imports)
    layout = adjusted.layout
    problems = list(adjusted.problems) or check_layout(layout, tolerance)
    claims, claim_notes, claim_problems = final_claims(layout) if not problems else (None, [], [])
    problems += claim_problems
    if problems or claims is None:
        raise EconomyError(problems)
    said = (*notes, *layout.notes, *adjusted.notes, *claim_notes, *_category_notes(layout))
    if said:
        options = replace(options, source_note=options.source_note + " " + " ".join(said))
    economy = build_economy(_sectoral(layout, unit, services, claims), options)
    return IOTable(economy, said)


def _category_notes(layout: Layout) -> list[str]:
    """Final-demand columns read as consumption for want of a word or code that says what
    they are."""
    unknown = [
        str(c)
        for c in layout.final_demand.columns
        if str(c) not in layout.categories and not recognised(str(c))
    ]
    if not unknown:
        return []
    return [
        f"{layout.file}: no category recognised in the final-demand column(s) "
        f"{', '.join(map(repr, unknown))}: read as consumption; name the category in a "
        "'category' row or with --category LABEL=CATEGORY"
    ]


def _sectoral(
    layout: Layout, unit: str, services: Collection[str], claims: pd.DataFrame
) -> SectoralTable:
    sectors = pd.Index(layout.sectors)
    x = layout.x
    per_unit = 1.0 / np.where(x > 0, x, 1.0)
    primary = layout.primary[list(sectors)].fillna(0.0)
    products = pd.DataFrame(
        {
            "name": sectors,
            "sector": sectors,
            "region": NATIONAL,
            "unit": [layout.units.get(s, unit) for s in sectors],
            "kind": ["service" if s in services else "good" for s in sectors],
        },
        index=sectors,
    )
    primary_products = pd.DataFrame(
        {
            "name": primary.index,
            "unit": [layout.units.get(p, unit) for p in primary.index],
            "kind": [
                "labour" if normal_label(p) in LABOUR_ROWS else "primary" for p in primary.index
            ],
        },
        index=primary.index,
    )
    exports = (claims.pop(EXPORTS) if EXPORTS in claims else pd.Series(0.0, index=sectors)).reindex(
        sectors, fill_value=0.0
    )
    long = (
        claims.rename_axis(index="product")
        .reset_index()
        .melt(id_vars="product", var_name="category", value_name="amount")
    )
    long["region"] = None
    return SectoralTable(
        products=products,
        output=x,
        A=sp.csr_matrix(layout.Z * per_unit),
        primary=primary_products,
        B=sp.csr_matrix(primary.to_numpy() * per_unit),
        final_demand=long[["category", "product", "region", "amount"]],
        exports=exports,
    )


# -- arrays ----------------------------------------------------------------------------------
def economy_from_flows(
    Z: npt.ArrayLike,
    final_demand: npt.ArrayLike | Mapping[str, npt.ArrayLike] | pd.DataFrame,
    total_output: npt.ArrayLike,
    sectors: Collection[str],
    *,
    primary: Mapping[str, npt.ArrayLike] | None = None,
    unit: str = "money",
    units: Mapping[str, str] | None = None,
    name: str = "input-output table",
    base_year: int = DEFAULT_BASE_YEAR,
    currency: str | None = None,
    horizon: tuple[int, int] | None = None,
    population: float = 0.0,
    services: Collection[str] = (),
    tolerance: float = DEFAULT_TOLERANCE,
) -> Economy:
    """The economy of an input-output table given as arrays.

    ``Z[i, j]``: sales of sector i to sector j; ``final_demand``: one vector, or columns
    named by their category label (a mapping or a DataFrame); ``total_output``: x;
    ``primary``: rows of primary inputs by sector (value added, labour, imports,
    emissions), named. ``units`` gives the unit of a sector or primary row other than
    ``unit``. Other keywords as for :func:`read_io_table`. Problems name ``name`` as the
    file and the lines the table would have in the documented layout (sectors from line 2,
    then the primary rows).
    """
    labels = [str(s) for s in sectors]
    n = len(labels)
    flows = np.asarray(Z, dtype=float)
    if flows.shape != (n, n):
        raise ValueError(f"Z must be {n} x {n} for {n} sectors, not {flows.shape}")
    x = np.asarray(total_output, dtype=float).ravel()
    if x.shape != (n,):
        raise ValueError(f"total_output must have {n} entries, not {x.shape}")
    final = _columns(final_demand, labels, "final_demand")
    rows = {k: np.asarray(v, dtype=float).ravel() for k, v in (primary or {}).items()}
    for label, row in rows.items():
        if row.shape != (n,):
            raise ValueError(f"primary row {label!r} must have {n} entries, not {row.shape}")
    clashes = sorted(set(rows) & set(labels))
    if clashes or len(set(labels)) < n:
        raise ValueError(f"sector and primary labels must be unique: {clashes or labels}")
    lines = {label: k + 2 for k, label in enumerate([*labels, *rows])}
    primary_frame = pd.DataFrame(
        np.vstack(list(rows.values())) if rows else np.zeros((0, n)), index=list(rows)
    )
    problems = _finite_problems(
        name,
        lines,
        [
            (labels, labels, flows),
            (labels, ["total_output"], x[:, None]),
            (labels, list(final.columns), final.to_numpy()),
            (list(rows), labels, primary_frame.to_numpy()),
        ],
    )
    if problems:
        raise EconomyError(problems)
    primary_frame.columns = pd.Index(labels)
    for column in final.columns:
        primary_frame[column] = np.nan
    layout = Layout(
        file=name,
        labels_column="sector",
        sectors=tuple(labels),
        Z=flows,
        final_demand=final,
        total_output=x,
        total_output_column="total_output",
        primary=primary_frame,
        totals=pd.DataFrame(columns=labels, dtype=float),
        units=dict(units or {}),
        lines=lines,
    )
    options = Options(
        name=name,
        base_year=base_year,
        currency=currency or unit,
        horizon=horizon,
        population=population,
        description=f"Built from the input-output table {name}.",
        source_title=f"Input-output table {name}",
        source_note=_NOTE,
    )
    return _economy(
        layout, unit=unit, options=options, services=services, tolerance=tolerance
    ).economy


def _columns(value: Any, index: list[str], label: str) -> pd.DataFrame:
    if isinstance(value, pd.DataFrame):
        frame = value.copy()
    elif isinstance(value, Mapping):
        frame = pd.DataFrame({str(k): np.asarray(v, dtype=float).ravel() for k, v in value.items()})
    else:
        array = np.asarray(value, dtype=float)
        array = array[:, None] if array.ndim == 1 else array
        width = array.shape[1]
        names = [label] if width == 1 else [f"{label}_{k + 1}" for k in range(width)]
        frame = pd.DataFrame(array, columns=names)
    if len(frame) != len(index):
        raise ValueError(f"{label} must have {len(index)} rows, not {len(frame)}")
    frame.index = pd.Index(index)
    frame.columns = pd.Index([str(c) for c in frame.columns])
    return frame.astype(float)


def _finite_problems(
    file: str,
    lines: Mapping[str, int],
    blocks: list[tuple[list[str], list[str], FloatArray]],
) -> list[Problem]:
    problems = []
    for rows, columns, values in blocks:
        for i, j in zip(*np.nonzero(~np.isfinite(values)), strict=True):
            problems.append(
                Problem(file, lines[rows[i]], columns[j], f"{values[i, j]} is not a finite number")
            )
    return problems
