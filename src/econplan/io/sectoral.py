"""An economy of one process per product, built from sector coefficients.

Input-output tables (``econplan.io.iotable``) and pymrio systems are read into a
:class:`SectoralTable` (products, their base-year output, the coefficient matrices A and B,
final demand and exports), which this module turns into an Economy. It writes the tables as
the text cells a user would have typed and runs them through the same validation as a folder
economy, so the result equals what writing it out and loading it again gives.

One unit of a process's activity is one unit of the sector's gross output, and it takes in
``A[i, j]`` of every product, its own included (the diagonal of A: a sector's use of its own
product), so :func:`econplan.technology_matrix` gives back the table's A.

What an input-output table does not say is filled in with placeholders: population 0 in
every region and year (unless given), a one-year horizon after the base year, labour
available equal to the labour the base year used, and exports capped at their base-year
level at a price of 1 (the product's unit is money of the table's currency).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.errors import EconomyError
from econplan.io.raw import RawEconomy, frame_from_rows
from econplan.model.economy import Economy
from econplan.schema import SETTINGS_TABLE, SOURCES_TABLE, load_schema

DEFAULT_BASE_YEAR = 2020
"""Base year when none is given: an input-output table does not say which year it is."""

SOURCE_ID = "iotable"
NATIONAL = "national"
PRIMARY_SECTOR = "primary_inputs"

EXPORTS = "exports"
"""The category of final-demand columns that hold exports: they go to trade.csv."""

IMPORTS = "imports"
"""The category of final-demand columns (competitive imports) and primary rows
(non-competitive imports) that hold imports."""

CATEGORY_CODES: dict[str, str] = {
    # IBGE (Brazil), as the iotbr package names its columns
    "x_bens_serv": EXPORTS,
    "x_bens": EXPORTS,
    "x_serv": EXPORTS,
    "c_g": "public_services",
    "c_ong": "consumption",
    "c_f": "consumption",
    "fbkf": "construction",
    "de": "construction",
    "m_bens_serv": IMPORTS,
    # NBS (China)
    "fu101": "consumption",
    "fu102": "consumption",
    "fu103": "public_services",
    "fu201": "construction",
    "fu202": "construction",
    "ex": EXPORTS,
    "im": IMPORTS,
    # OECD ICIO and Eurostat (ESA 2010 codes)
    "hfce": "consumption",
    "npish": "consumption",
    "ggfc": "public_services",
    "gfcf": "construction",
    "invnt": "construction",
    "expo": EXPORTS,
    "impo": IMPORTS,
    "p3_s14": "consumption",
    "p3_s15": "consumption",
    "p3_s13": "public_services",
    "p51g": "construction",
    "p52": "construction",
    "p53": "construction",
    "p5m": "construction",
    "p6": EXPORTS,
    "p7": IMPORTS,
}
"""Codes statistics offices give final-demand columns (compared without case, spaces or
hyphens), and their category."""

CATEGORY_WORDS: tuple[tuple[str, str], ...] = (
    ("import", IMPORTS),
    ("export", EXPORTS),
    ("defence", "defence"),
    ("defense", "defence"),
    ("military", "defence"),
    ("government", "public_services"),
    ("governo", "public_services"),
    ("gobierno", "public_services"),
    ("administração pública", "public_services"),
    ("public", "public_services"),
    ("capital", "construction"),
    ("investment", "construction"),
    ("fixed", "construction"),
    ("inventor", "construction"),
    ("stocks", "construction"),
    ("estoque", "construction"),
    ("existencias", "construction"),
    ("valuables", "construction"),
    ("accumulation", "construction"),
)
"""Words in a final-demand column's label and the category it goes to, first match wins;
any other column (households, private consumption, NPISH, ...) is consumption."""

CONSUMPTION_WORDS = (
    "consum",
    "household",
    "famíl",
    "famil",
    "hogar",
    "npish",
    "private",
    "final demand",
    "final use",
    "final_demand",
    "final_use",
)
"""Words that make a column consumption knowingly (not by default)."""


def final_use_category(label: str) -> str:
    """The final_demand category of a final-demand column (``exports`` for exports,
    ``imports`` for imports): by a statistics office's code, else by a word in its label,
    else consumption."""
    normal = "_".join(label.strip().lower().replace("-", " ").split())
    if normal in CATEGORY_CODES:
        return CATEGORY_CODES[normal]
    lowered = label.lower()
    for word, category in CATEGORY_WORDS:
        if word in lowered:
            return category
    return "consumption"


def recognised(label: str) -> bool:
    """Whether the label says its category (a code or a word), rather than being consumption
    for want of one."""
    normal = "_".join(label.strip().lower().replace("-", " ").split())
    lowered = label.lower()
    return (
        normal in CATEGORY_CODES
        or any(word in lowered for word, _ in CATEGORY_WORDS)
        or any(word in lowered for word in CONSUMPTION_WORDS)
    )


def final_demand_rows(
    columns: pd.DataFrame, region: str | None, named: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, pd.Series]:
    """Final-demand columns (products x labels) summed by category (as ``named``, else by
    label), as long rows, and the exports."""
    named = named or {}
    categories = [named.get(str(c)) or final_use_category(str(c)) for c in columns.columns]
    summed = columns.T.groupby(categories).sum().T
    exports = summed.pop(EXPORTS) if EXPORTS in summed else pd.Series(0.0, index=columns.index)
    long = (
        summed.rename_axis(index="product")
        .reset_index()
        .melt(id_vars="product", var_name="category", value_name="amount")
    )
    long["region"] = region
    return long[["category", "product", "region", "amount"]], exports


@dataclass(frozen=True)
class SectoralTable:
    """One economy of one process per product, as arrays.

    ``products`` (indexed by id: name, sector, region, unit, kind) are made by one process
    each, whose activity is measured in the product; ``output`` is their base-year output.
    ``A[i, j]`` is product i used per unit of product j, ``B[k, j]`` primary input k per unit
    of product j (``primary``, indexed by id: name, unit, kind). ``final_demand`` has a row per
    claim (category, product, region or None for the nation, amount) and ``exports`` the
    base-year exports per product.
    """

    products: pd.DataFrame
    output: np.ndarray
    A: sp.csr_matrix
    primary: pd.DataFrame
    B: sp.csr_matrix
    final_demand: pd.DataFrame
    exports: pd.Series
    regions: tuple[str, ...] = (NATIONAL,)
    region_names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    """Settings of the economy, and the placeholders for what the table does not give."""

    name: str
    base_year: int
    currency: str
    horizon: tuple[int, int] | None = None
    population: float = 0.0
    description: str = ""
    source_title: str = ""
    source_note: str = ""

    @property
    def years(self) -> tuple[int, int]:
        return self.horizon or (self.base_year + 1, self.base_year + 1)


def number(value: float) -> str:
    """A float as the shortest text that reads back as the same float."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _frame(header: Iterable[str], rows: list[list[Any]]) -> pd.DataFrame:
    cells = [[str(c) for c in row] for row in rows]
    return frame_from_rows(list(header), cells, list(range(2, len(rows) + 2)))


def _unused(name: str, taken: Iterable[str]) -> str:
    taken = set(taken)
    while name in taken:
        name += "_"
    return name


def _coefficient_rows(matrix: sp.csr_matrix, rows: pd.Index, columns: pd.Index) -> list[list[str]]:
    """process_io rows; a negative coefficient (a subsidy, a negative operating surplus) is
    an output of the primary product: the process gives it out."""
    coo = sp.coo_matrix(matrix)
    keep = coo.data != 0
    return [
        [str(columns[j]), str(rows[i]), "input" if v > 0 else "output", number(abs(v))]
        for i, j, v in zip(coo.row[keep], coo.col[keep], coo.data[keep], strict=True)
    ]


def raw_tables(table: SectoralTable, options: Options) -> RawEconomy:
    """The economy as text cells, as a folder reader would give them."""
    schema = load_schema()
    products, primary = table.products, table.primary
    base, (first, last) = options.base_year, options.years
    years = range(base, last + 1)
    primary_sector = _unused(PRIMARY_SECTOR, products["sector"])
    sectors = sorted(set(products["sector"]))
    x = np.asarray(table.output, dtype=float)
    ids = products.index

    tables: dict[str, pd.DataFrame] = {}
    tables["sectors"] = _frame(
        ["id", "name"],
        [[s, s] for s in sectors] + ([[primary_sector, "Primary inputs"]] if len(primary) else []),
    )
    tables["products"] = _frame(
        ["id", "name", "unit", "sector", "kind"],
        [[i, r["name"], r["unit"], r["sector"], r["kind"]] for i, r in products.iterrows()]
        + [[i, r["name"], r["unit"], primary_sector, r["kind"]] for i, r in primary.iterrows()],
    )
    tables["regions"] = _frame(
        ["id", "name"], [[r, table.region_names.get(r, r)] for r in table.regions]
    )
    tables["population"] = _frame(
        ["region", "year", "persons"],
        [[r, str(y), number(options.population)] for r in table.regions for y in years],
    )
    tables["processes"] = _frame(
        ["id", "name", "sector", "main_product"],
        [[i, r["name"], r["sector"], i] for i, r in products.iterrows()],
    )
    tables["process_io"] = _frame(
        ["process", "product", "flow", "amount"],
        [[i, i, "output", "1"] for i in ids]
        + _coefficient_rows(table.A, ids, ids)
        + _coefficient_rows(table.B, primary.index, ids),
    )
    tables["facilities"] = _frame(
        ["id", "name", "region", "process", "capacity", "base_output", "source"],
        [
            [i, r["name"], r["region"], i, number(v), number(v), SOURCE_ID]
            for (i, r), v in zip(products.iterrows(), x, strict=True)
        ],
    )
    tables["labour"] = _frame(
        ["region", "year", "product", "amount", "source"], _labour_rows(table, years)
    )
    exports = table.exports[table.exports > 0]
    tables["trade"] = _frame(
        ["product", "export_price", "export_cap", "base_exports", "source"],
        [[p, "1", number(v), number(v), SOURCE_ID] for p, v in exports.items()],
    )
    demand = table.final_demand[table.final_demand["amount"] > 0]
    tables["final_demand"] = _frame(
        ["category", "product", "region", "basis", "amount", "source"],
        [
            [c, p, r if isinstance(r, str) else "", "absolute", number(v), SOURCE_ID]
            for c, p, r, v in demand[["category", "product", "region", "amount"]].itertuples(
                index=False
            )
        ],
    )
    tables[SOURCES_TABLE] = _frame(
        ["id", "title", "note"],
        [[SOURCE_ID, options.source_title or options.name, options.source_note]],
    )
    settings: dict[str, Any] = {
        "name": options.name,
        "description": options.description,
        "base_year": base,
        "horizon": [first, last],
        "currency": options.currency,
        "foreign_currency": options.currency,
    }
    files = {t.name: f"{options.name} [{t.name}]" for t in schema.tables}
    files[SETTINGS_TABLE] = f"{options.name} [settings]"
    return RawEconomy(options.name, settings, tables, files)


def _labour_rows(table: SectoralTable, years: range) -> list[list[str]]:
    """Labour available = labour used in the base year, by region, in every year."""
    labour = table.primary.index[table.primary["kind"] == "labour"]
    if not len(labour):
        return []
    regions = pd.Index(table.regions)
    by_region = sp.csr_matrix(
        (
            np.ones(len(table.products)),
            (
                regions.get_indexer(pd.Index(table.products["region"])),
                np.arange(len(table.products)),
            ),
        ),
        shape=(len(regions), len(table.products)),
    )
    rows = table.primary.index.get_indexer(labour)
    used = (sp.csr_matrix(table.B)[rows] @ sp.diags(table.output) @ by_region.T).toarray()
    return [
        [region, str(year), product, number(used[k, r]), SOURCE_ID]
        for k, product in enumerate(labour)
        for r, region in enumerate(regions)
        for year in years
    ]


def build_economy(table: SectoralTable, options: Options) -> Economy:
    """The Economy of ``table``, validated like a folder economy.

    Raises EconomyError when validation finds problems; for tables that were checked
    beforehand these point at a defect of the conversion, with the generated table named as
    the file.
    """
    from econplan.validate import build_economy as from_typed
    from econplan.validate import check_productive
    from econplan.validate.rules import check_rules
    from econplan.validate.tables import type_tables

    schema = load_schema()
    typed, problems = type_tables(raw_tables(table, options), schema)
    problems += check_rules(typed, schema)
    if problems:
        raise EconomyError(problems)
    economy = from_typed(typed, schema)
    problems = check_productive(economy, typed)
    if problems:
        raise EconomyError(problems)
    return economy
