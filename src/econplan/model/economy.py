"""The Economy: validated tables, sorted ids and sparse coefficient matrices.

An Economy is built once from validated tables and never changed: every table is sorted by
its key, every index is sorted, and matrices are returned read-only. A scenario is a new
Economy made from an old one plus changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.columns import is_categorical, is_sorted, positions, sort_codes, to_object
from econplan.hierarchy import descendants
from econplan.schema import SOURCES_TABLE, Column, Schema, Table, load_schema

ID_TABLES = (
    "sources",
    "sectors",
    "products",
    "regions",
    "processes",
    "facilities",
    "investments",
    "targets",
    "links",
)
"""Tables keyed by a single id column: their pandas views are indexed by it."""


def _given(tables: Mapping[str, pd.DataFrame], table: Table) -> pd.DataFrame:
    """``table`` as given, or empty where an optional table is not (an economy built in code
    before the table existed, such as a generated one)."""
    if table.name in tables or table.required:
        return tables[table.name]
    text = ("string", "enum")
    return pd.DataFrame(
        {c.name: pd.Series(dtype=object if c.type in text else float) for c in table.columns}
    )


@dataclass(frozen=True)
class Settings:
    name: str
    base_year: int
    first_year: int
    last_year: int
    currency: str
    description: str = ""
    foreign_currency: str = "USD"
    credit_line: float = 0.0
    objective: str = "consumption"
    consumption_growth: float | None = None
    """The least yearly growth of consumption per head in every region; None: no path."""
    terminal_growth: float | None = None
    """Capacity left for the next plan: every process an option can build has, the year after
    the horizon, at least (1 + this) times its last year's activity; None: no condition."""
    ramp: float | None = None
    """The most a process's activity in a region may rise in a year, as a share of its capacity
    the year before, besides capacity coming into use that year; None: no limit."""

    @property
    def years(self) -> tuple[int, ...]:
        """The plan's years, first to last."""
        return tuple(range(self.first_year, self.last_year + 1))

    def to_toml(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "base_year": self.base_year,
            "horizon": [self.first_year, self.last_year],
            "currency": self.currency,
            "foreign_currency": self.foreign_currency,
            "credit_line": self.credit_line,
            "objective": self.objective,
        } | {
            key: value
            for key, value in (
                ("consumption_growth", self.consumption_growth),
                ("terminal_growth", self.terminal_growth),
                ("ramp", self.ramp),
            )
            if value is not None
        }


def _among(column: Column) -> pd.Index:
    """An enum column's allowed values, as an index to look cells up in."""
    return pd.Index(list(column.values), dtype=object)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _read_only(matrix: sp.csr_matrix) -> sp.csr_matrix:
    for array in (matrix.data, matrix.indices, matrix.indptr):
        array.flags.writeable = False
    return matrix


DTYPES: dict[str, Any] = {
    "number": "float64",
    "integer": "Int64",
    "year": "Int64",
    "boolean": "boolean",
}
"""The dtype of each schema type in an Economy's tables; text (string, enum) is object with
None for blank."""


def normalise_table(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """Rows sorted by key (blank keys first, ties in file order), a fresh RangeIndex:
    deterministic whatever the order of the file.

    The sort goes through integer codes (a stable lexsort), which is what ``sort_values``
    does too, but without hashing every text cell when the key columns are categoricals.
    """
    if key and len(frame) > 1:
        codes = [sort_codes(frame[k]) for k in key]
        if not is_sorted(codes):
            frame = frame.take(np.lexsort(codes[::-1]))
    return frame.reset_index(drop=True)


def canonical_table(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The table's columns in schema order, each in the dtype of its schema type, so that an
    economy is equal to itself whatever format it was read from."""
    columns: dict[str, pd.Series] = {}
    for column in table.columns:
        values = frame[column.name]
        if column.type in ("string", "enum"):
            values = to_object(values)
        elif values.dtype != DTYPES[column.type]:
            values = values.astype(DTYPES[column.type])
        columns[column.name] = values
    return pd.DataFrame(columns, index=frame.index, copy=False)


@dataclass(frozen=True, eq=False)
class Economy:
    """A whole economy: products, processes, facilities, regions, resources, trade, targets.

    Build one with :func:`econplan.load_economy`. Tables are pandas views for people
    (``economy.products``); the coefficients behind them are sparse matrices over the sorted
    ids (``economy.inputs(2021)``).
    """

    settings: Settings
    tables: Mapping[str, pd.DataFrame] = field(repr=False)
    _positions: dict[tuple[str, str], np.ndarray] = field(default_factory=dict, repr=False)
    """Cache of :meth:`positions`, seeded by ``from_tables`` from categorical columns."""

    def __reduce__(self) -> tuple[Any, ...]:
        # the tables are a read-only view, which pickle cannot copy: they travel as a dict
        # (Dask ships an economy to its workers this way); the caches are rebuilt there
        return (_rebuilt, (self.settings, dict(self.tables)))

    @classmethod
    def from_tables(
        cls, settings: Settings, tables: Mapping[str, pd.DataFrame], schema: Schema | None = None
    ) -> Economy:
        """An Economy from typed tables that have passed validation.

        Text columns may be object or categorical: categoricals sort and look up through
        their codes, which is what makes economies of 10^7 coefficients quick to build.
        """
        schema = schema or load_schema()
        names = (*schema.csv_tables, schema[SOURCES_TABLE])
        ordered = {
            table.name: normalise_table(_given(tables, table)[list(table.column_names)], table.key)
            for table in names
        }
        ids = {
            name: pd.Index(to_object(ordered[name]["id"]).to_numpy(), dtype=object)
            for name in ID_TABLES
        }
        found: dict[tuple[str, str], np.ndarray] = {}
        for table in names:
            for column in table.columns:
                values = ordered[table.name][column.name]
                if is_categorical(values) and (column.references or column.type == "enum"):
                    among = ids[column.references] if column.references else _among(column)
                    found[table.name, column.name] = _frozen(positions(values, among))
        canonical = {table.name: canonical_table(ordered[table.name], table) for table in names}
        return cls(settings, MappingProxyType(canonical), found)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.counts().items())
        s = self.settings
        return (
            f"<Economy {s.name!r} base {s.base_year}, plan {s.first_year}-{s.last_year}: {counts}>"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Economy):
            return NotImplemented
        return (
            self.settings == other.settings
            and self.tables.keys() == other.tables.keys()
            and all(self.tables[name].equals(other.tables[name]) for name in self.tables)
        )

    __hash__ = None  # type: ignore[assignment]

    def table(self, name: str) -> pd.DataFrame:
        """A table as a DataFrame (a copy-on-write view; changing it leaves the Economy as is)."""
        frame = self.tables[name].copy(deep=False)
        return frame.set_index("id") if name in ID_TABLES else frame

    # -- the tables, for people --------------------------------------------------------------
    @property
    def sources(self) -> pd.DataFrame:
        return self.table("sources")

    @property
    def sectors(self) -> pd.DataFrame:
        return self.table("sectors")

    @property
    def products(self) -> pd.DataFrame:
        return self.table("products")

    @property
    def regions(self) -> pd.DataFrame:
        return self.table("regions")

    @property
    def population(self) -> pd.DataFrame:
        """Persons by region (rows) and year (columns)."""
        frame = self.tables["population"]
        wide = frame.pivot(index="region", columns="year", values="persons")
        return wide.reindex(index=self.region_ids).fillna(0.0)

    @property
    def processes(self) -> pd.DataFrame:
        return self.table("processes")

    @property
    def process_io(self) -> pd.DataFrame:
        return self.table("process_io")

    @property
    def facilities(self) -> pd.DataFrame:
        return self.table("facilities")

    @property
    def investments(self) -> pd.DataFrame:
        return self.table("investments")

    @property
    def investment_costs(self) -> pd.DataFrame:
        return self.table("investment_costs")

    @property
    def resources(self) -> pd.DataFrame:
        return self.table("resources")

    @property
    def labour(self) -> pd.DataFrame:
        return self.table("labour")

    @property
    def trade(self) -> pd.DataFrame:
        return self.table("trade")

    @property
    def final_demand(self) -> pd.DataFrame:
        return self.table("final_demand")

    @property
    def targets(self) -> pd.DataFrame:
        return self.table("targets")

    @property
    def links(self) -> pd.DataFrame:
        return self.table("links")

    @property
    def observed(self) -> pd.DataFrame:
        return self.table("observed")

    @property
    def seasonality(self) -> pd.DataFrame:
        return self.table("seasonality")

    # -- sorted ids ---------------------------------------------------------------------------
    def ids(self, table: str) -> pd.Index:
        """The sorted ids of an id table (``ids("products")``), as an object index."""
        if table not in self._id_indexes:
            self._id_indexes[table] = pd.Index(self.tables[table]["id"].to_numpy(dtype=object))
        return self._id_indexes[table]

    @cached_property
    def _id_indexes(self) -> dict[str, pd.Index]:
        return {}

    def positions(self, table: str, column: str) -> np.ndarray:
        """Where the value of each cell of a reference column (``positions("process_io",
        "product")``) lies among the sorted ids of the table it references, or for an enum
        column among its allowed values (in the schema's order); -1 where blank.

        Matrices are built from these integers rather than from the text, once per column.
        """
        key = (table, column)
        if key not in self._positions:
            schema_column = load_schema()[table].column(column)
            if schema_column.references is not None:
                among = self.ids(schema_column.references)
            elif schema_column.type == "enum":
                among = _among(schema_column)
            else:
                raise ValueError(f"{table}.{column} is neither a reference nor an enum")
            self._positions[key] = _frozen(positions(self.tables[table][column], among))
        return self._positions[key]

    @cached_property
    def product_ids(self) -> pd.Index:
        return self.ids("products").rename("product")

    @cached_property
    def process_ids(self) -> pd.Index:
        return self.ids("processes").rename("process")

    @cached_property
    def region_ids(self) -> pd.Index:
        return self.ids("regions").rename("region")

    @cached_property
    def sector_ids(self) -> pd.Index:
        return self.ids("sectors").rename("sector")

    @cached_property
    def facility_ids(self) -> pd.Index:
        return self.ids("facilities").rename("facility")

    @property
    def years(self) -> tuple[int, ...]:
        return self.settings.years

    # -- coefficients --------------------------------------------------------------------------
    def _coefficient_rows(self, year: int | None) -> np.ndarray:
        """Positions of the process_io rows in force in ``year``: a row for that year replaces
        the blank-year row of the same process, product and flow."""
        years = self.tables["process_io"]["year"]
        base = np.flatnonzero(years.isna().to_numpy())
        if year is None:
            return base
        dated = np.flatnonzero((years == year).fillna(False).to_numpy(dtype=bool))
        if len(dated) == 0:
            return base
        # a dated row replaces the undated row of the same process, product and flow
        pair = (
            self.positions("process_io", "process") * len(self.product_ids)
            + self.positions("process_io", "product")
        ) * 2 + self.positions("process_io", "flow")
        replaced = np.isin(pair[base], pair[dated])
        return np.concatenate([base[~replaced], dated])

    def _matrix(self, rows: np.ndarray, flow: str) -> sp.csr_matrix:
        flows = load_schema()["process_io"].column("flow").values
        rows = rows[self.positions("process_io", "flow")[rows] == flows.index(flow)]
        amount = self.tables["process_io"]["amount"].to_numpy(dtype=float)
        matrix = sp.csr_matrix(
            (
                amount[rows],
                (
                    self.positions("process_io", "product")[rows],
                    self.positions("process_io", "process")[rows],
                ),
            ),
            shape=(len(self.product_ids), len(self.process_ids)),
        )
        matrix.sum_duplicates()
        matrix.sort_indices()
        return _read_only(matrix)

    def inputs(self, year: int | None = None) -> sp.csr_matrix:
        """Products (rows) taken in per unit of each process's activity (columns) in ``year``
        (None: the coefficients without a year)."""
        return self._cached_matrix("input", year)

    def outputs(self, year: int | None = None) -> sp.csr_matrix:
        """Products (rows) given out per unit of each process's activity (columns)."""
        return self._cached_matrix("output", year)

    def net_output(self, year: int | None = None) -> sp.csr_matrix:
        """Outputs minus inputs per unit of activity."""
        return _read_only(sp.csr_matrix(self.outputs(year) - self.inputs(year)))

    @cached_property
    def _matrices(self) -> dict[tuple[str, int | None], sp.csr_matrix]:
        return {}

    def _cached_matrix(self, flow: str, year: int | None) -> sp.csr_matrix:
        key = (flow, year)
        if key not in self._matrices:
            self._matrices[key] = self._matrix(self._coefficient_rows(year), flow)
        return self._matrices[key]

    @cached_property
    def investment_bill(self) -> sp.csr_matrix:
        """Products (rows) used to build one unit of each investment option (columns), in
        total over its lead time."""
        costs = self.tables["investment_costs"]
        options = self.ids("investments")
        matrix = sp.csr_matrix(
            (
                costs["amount"].to_numpy(dtype=float),
                (
                    self.positions("investment_costs", "product"),
                    self.positions("investment_costs", "investment"),
                ),
            ),
            shape=(len(self.product_ids), len(options)),
        )
        return _read_only(matrix)

    # -- facilities and activity --------------------------------------------------------------
    def operating(self, year: int) -> pd.Series:
        """Whether each facility operates in ``year`` (by its first and last year)."""
        facilities = self.tables["facilities"]
        first = facilities["first_year"].fillna(year).astype(int)
        last = facilities["last_year"].fillna(year).astype(int)
        return pd.Series(
            ((first <= year) & (year <= last)).to_numpy(dtype=bool), index=self.facility_ids
        )

    @cached_property
    def base_output(self) -> pd.Series:
        """Each facility's activity in the base year (its capacity where no output is given)."""
        facilities = self.tables["facilities"]
        output = facilities["base_output"].fillna(facilities["capacity"]).to_numpy(dtype=float)
        output = np.where(self.operating(self.settings.base_year).to_numpy(), output, 0.0)
        return pd.Series(output, index=self.facility_ids, name="base_output")

    @cached_property
    def facility_process(self) -> sp.csr_matrix:
        """Processes (rows) by facilities (columns): 1 where the facility runs the process."""
        facilities = self.tables["facilities"]
        columns = np.arange(len(facilities))
        rows = self.positions("facilities", "process")
        matrix = sp.csr_matrix(
            (np.ones(len(facilities)), (rows, columns)),
            shape=(len(self.process_ids), len(facilities)),
        )
        return _read_only(matrix)

    @cached_property
    def base_activity(self) -> pd.Series:
        """Activity of each process in the base year: the sum of its facilities' base output."""
        activity = self.facility_process @ self.base_output.to_numpy()
        return pd.Series(activity, index=self.process_ids, name="base_activity")

    def production(self, activity: pd.Series, year: int | None = None) -> pd.Series:
        """Gross output of every product from process ``activity`` (joint products included)."""
        values = self.outputs(year) @ activity.reindex(self.process_ids).fillna(0.0).to_numpy()
        return pd.Series(values, index=self.product_ids, name="production")

    # -- groupings ------------------------------------------------------------------------------
    @cached_property
    def sector_products(self) -> dict[str, tuple[str, ...]]:
        """Each sector's products, its sub-sectors' included, sorted."""
        sectors = self.tables["sectors"]
        products = self.tables["products"]
        own = products.groupby("sector")["id"].apply(list).to_dict()
        return {
            sector: tuple(sorted(p for s in members for p in own.get(s, [])))
            for sector, members in descendants(sectors["id"], sectors["parent"]).items()
        }

    @cached_property
    def region_members(self) -> dict[str, tuple[str, ...]]:
        """Each region with all the regions below it, sorted."""
        regions = self.tables["regions"]
        return descendants(regions["id"], regions["parent"])

    def counts(self) -> dict[str, int]:
        """How many of each thing the economy holds."""
        return {
            "products": len(self.product_ids),
            "processes": len(self.process_ids),
            "facilities": len(self.facility_ids),
            "regions": len(self.region_ids),
            "sectors": len(self.sector_ids),
            "years": len(self.years),
            "investments": len(self.tables["investments"]),
            "targets": len(self.tables["targets"]),
        }


def _rebuilt(settings: Settings, tables: dict[str, pd.DataFrame]) -> Economy:
    """An economy unpickled (see ``Economy.__reduce__``)."""
    return Economy(settings, MappingProxyType(tables))
