"""Material balances: for every product, region and year, where supply comes from and where
it goes, and the difference.

Sources: production by process, endowments (labour available, natural resources that may be
taken in the year), imports, shipments in, stock drawn. Uses: intermediate use by process (and
its sector), investment, final demand by category, exports, shipments out, transport services
used by shipments (at the origin, by link), stock built. A balance is built from ``Flows``: for
the base year from facilities' base-year output and base-year trade; for a plan from its
tables (``econplan.plan.flows``).

Flows given nationally are shared among regions so that regional balances add up to the
national one exactly: national final-demand claims by population, imports and exports by each
region's use (or production) of the product.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.model.economy import Economy

SOURCES = ("production", "endowment", "imports", "shipments_in", "stock_drawn")
USES = (
    "intermediate",
    "investment",
    "final",
    "exports",
    "shipments_out",
    "transport",
    "stock_built",
)
ENTRY_COLUMNS = ["product", "region", "year", "side", "flow", "detail", "sector", "amount"]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c == "amount" else object) for c in columns})


@dataclass(frozen=True)
class Flows:
    """What is produced, traded, shipped and used in one year, region by region.

    ``activity``: process, region, amount (units of activity). The other frames have product,
    region, amount (``final`` also category; ``shipments`` product, origin, destination;
    ``transport`` the service a link's shipments use, at the origin, with the link).
    """

    year: int
    activity: pd.DataFrame
    imports: pd.DataFrame = field(default_factory=lambda: _empty(["product", "region", "amount"]))
    exports: pd.DataFrame = field(default_factory=lambda: _empty(["product", "region", "amount"]))
    final: pd.DataFrame = field(
        default_factory=lambda: _empty(["category", "product", "region", "amount"])
    )
    investment: pd.DataFrame = field(
        default_factory=lambda: _empty(["product", "region", "amount"])
    )
    endowment: pd.DataFrame = field(default_factory=lambda: _empty(["product", "region", "amount"]))
    shipments: pd.DataFrame = field(
        default_factory=lambda: _empty(["product", "origin", "destination", "amount"])
    )
    stock_change: pd.DataFrame = field(
        default_factory=lambda: _empty(["product", "region", "amount"])
    )
    transport: pd.DataFrame = field(
        default_factory=lambda: _empty(["product", "region", "link", "amount"])
    )


def _process_flows(economy: Economy, flows: Flows, flow: str) -> pd.DataFrame:
    """Production or intermediate use per (product, process, region): coefficients times
    activity, as one sparse product (no loop over nonzeros)."""
    activity = flows.activity.groupby(["process", "region"], as_index=False)["amount"].sum()
    activity = activity[activity["amount"] != 0]
    matrix = economy.outputs(flows.year) if flow == "production" else economy.inputs(flows.year)
    processes = economy.process_ids.get_indexer(pd.Index(activity["process"]))
    columns = np.arange(len(activity))
    scale = sp.csr_matrix(
        (activity["amount"].to_numpy(dtype=float), (processes, columns)),
        shape=(len(economy.process_ids), len(activity)),
    )
    amounts = sp.coo_matrix(matrix @ scale)
    sector = economy.tables["processes"]["sector"].to_numpy(dtype=object)
    process = activity["process"].to_numpy(dtype=object)[amounts.col]
    return pd.DataFrame(
        {
            "product": economy.product_ids.to_numpy(dtype=object)[amounts.row],
            "region": activity["region"].to_numpy(dtype=object)[amounts.col],
            "year": flows.year,
            "side": "source" if flow == "production" else "use",
            "flow": flow,
            "detail": process,
            "sector": sector[processes[amounts.col]],
            "amount": amounts.data,
        }
    )


def _simple(
    frame: pd.DataFrame, year: int, side: str, flow: str, detail: str | None = None
) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "product": frame["product"].to_numpy(dtype=object),
            "region": frame["region"].to_numpy(dtype=object),
            "year": year,
            "side": side,
            "flow": flow,
            "detail": frame[detail].to_numpy(dtype=object) if detail else "",
            "sector": "",
            "amount": frame["amount"].to_numpy(dtype=float),
        }
    )
    return out


def flow_entries(economy: Economy, flows: Flows) -> pd.DataFrame:
    """Every source and use of one year as rows of ENTRY_COLUMNS."""
    y = flows.year
    stock = flows.stock_change
    ship = flows.shipments
    parts = [
        _process_flows(economy, flows, "production"),
        _simple(flows.endowment, y, "source", "endowment"),
        _simple(flows.imports, y, "source", "imports"),
        _simple(
            ship.rename(columns={"destination": "region"}), y, "source", "shipments_in", "origin"
        ),
        _simple(stock.assign(amount=(-stock["amount"]).clip(lower=0)), y, "source", "stock_drawn"),
        _process_flows(economy, flows, "intermediate"),
        _simple(flows.investment, y, "use", "investment"),
        _simple(flows.final, y, "use", "final", "category"),
        _simple(flows.exports, y, "use", "exports"),
        _simple(
            ship.rename(columns={"origin": "region"}), y, "use", "shipments_out", "destination"
        ),
        _simple(flows.transport, y, "use", "transport", "link"),
        _simple(stock.assign(amount=stock["amount"].clip(lower=0)), y, "use", "stock_built"),
    ]
    present = [p for p in parts if len(p)]
    if not present:  # nothing flows this year (a plan that makes nothing)
        return _empty(ENTRY_COLUMNS)
    entries = pd.concat(present, ignore_index=True)
    return entries[entries["amount"] != 0].reset_index(drop=True)


@dataclass(frozen=True)
class Balance:
    """Material balances of an economy: ``entries`` holds every source and use."""

    entries: pd.DataFrame

    def regional(self) -> pd.DataFrame:
        """Sources, uses and their difference per product, region and year."""
        return self._totals(["product", "region", "year"])

    def national(self) -> pd.DataFrame:
        """The same, summed over regions; shipments between regions leave out (they are uses
        of one region and sources of another, and would only swell both sides)."""
        return self._totals(["product", "year"], with_shipments=False)

    def by_flow(self, keys: tuple[str, ...] = ("product", "year")) -> pd.DataFrame:
        """Amounts by kind of flow (production, imports, ..., final) in columns."""
        table = self.entries.pivot_table(
            index=list(keys), columns="flow", values="amount", aggfunc="sum", fill_value=0.0
        )
        return table.reindex(columns=[f for f in (*SOURCES, *USES) if f in table.columns])

    def _totals(self, keys: list[str], with_shipments: bool = True) -> pd.DataFrame:
        entries = self.entries
        # a product that only moves between regions still has a (nil) national balance
        every = pd.MultiIndex.from_frame(entries[keys]).unique().sort_values()
        if not with_shipments:
            entries = entries[~entries["flow"].isin(["shipments_in", "shipments_out"])]
        signed = entries.assign(
            sources=entries["amount"].where(entries["side"] == "source", 0.0),
            uses=entries["amount"].where(entries["side"] == "use", 0.0),
        )
        totals = signed.groupby(keys, sort=True)[["sources", "uses"]].sum()
        totals = totals.reindex(every, fill_value=0.0)
        totals["difference"] = totals["sources"] - totals["uses"]
        return totals.reset_index()

    def shortfalls(self, regional: bool = False, tolerance: float = 1e-9) -> pd.DataFrame:
        """Balances whose uses exceed sources, worst first: by shortfall as a share of uses, then
        by its size. Shortfalls of at most ``tolerance`` of uses, and at least of one unit (as
        verification measures them), are rounding, not shortfalls: a solved plan balances to
        about 1e-14 of its flows, and a flow of 1e-8 t left by the solver short by all of
        itself is no shortage."""
        totals = self.regional() if regional else self.national()
        short = totals[totals["difference"] < 0].copy()
        short["share"] = -short["difference"] / short["uses"]
        short = short[-short["difference"] > tolerance * np.maximum(short["uses"], 1.0)]
        keys = ["share", "difference", "product"] + (["region"] if regional else []) + ["year"]
        ascending = [False] + [True] * (len(keys) - 1)
        return short.sort_values(keys, ascending=ascending).reset_index(drop=True)


def material_balance(economy: Economy, flows: list[Flows]) -> Balance:
    """Balances over the given years' flows."""
    parts = [flow_entries(economy, f) for f in flows]
    entries = pd.concat(parts, ignore_index=True) if parts else _empty(ENTRY_COLUMNS)
    return Balance(entries)


def base_year_flows(economy: Economy) -> Flows:
    """The base year as the economy's files describe it: facilities' base-year output,
    base-year imports and exports, and final demand claims."""
    from econplan.analysis.demand import allocate, final_demand_claims

    year = economy.settings.base_year
    facilities = economy.tables["facilities"]
    activity = pd.DataFrame(
        {
            "process": facilities["process"].to_numpy(dtype=object),
            "region": facilities["region"].to_numpy(dtype=object),
            "amount": economy.base_output.to_numpy(),
        }
    )
    flows = Flows(year, activity)
    production = _process_flows(economy, flows, "production")[["product", "region", "amount"]]
    intermediate = _process_flows(economy, flows, "intermediate")[["product", "region", "amount"]]
    final = final_demand_claims(economy, year, production)
    trade = economy.tables["trade"]
    undated = trade[trade["year"].isna()].set_index("product")
    population = economy.population[year]
    uses = pd.concat([intermediate, final[["product", "region", "amount"]]], ignore_index=True)
    imports = allocate(undated["base_imports"].dropna(), uses, population)
    exports = allocate(undated["base_exports"].dropna(), production, population)
    # primary inputs of an input-output table (value added, non-competitive imports) come
    # from outside the economy in whatever amount is used
    kinds = economy.tables["products"].set_index("id")["kind"]
    primary = intermediate[intermediate["product"].map(kinds) == "primary"]
    return Flows(
        year,
        activity,
        imports=imports,
        exports=exports,
        final=final,
        endowment=pd.concat([endowments(economy, year), primary], ignore_index=True),
    )


def endowments(economy: Economy, year: int) -> pd.DataFrame:
    """What nature and people make available in ``year``: labour supply, and of each resource
    its yearly limit (a deposit or stock without one: all of it above its minimum stock)."""
    labour = economy.tables["labour"]
    labour = labour[labour["year"] == year][["product", "region", "amount"]]
    resources = economy.tables["resources"]
    above_minimum = resources["stock"] - resources["min_stock"].fillna(0.0)
    available = resources["yearly_limit"].fillna(above_minimum)
    nature = pd.DataFrame(
        {
            "product": resources["product"].to_numpy(dtype=object),
            "region": resources["region"].to_numpy(dtype=object),
            "amount": available.to_numpy(dtype=float),
        }
    )
    return pd.concat([labour, nature], ignore_index=True)
