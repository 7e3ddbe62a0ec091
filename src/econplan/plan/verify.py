"""Verification of a plan against its economy, independent of the LP.

Every balance, capacity, investment limit, link, trade cap, foreign-exchange limit, resource
limit, labour limit and hard target is recomputed from the plan's tables (activity,
investment, shipments, trade, stocks, resources, consumption levels) and the economy's own
tables, with pandas group-bys rather than the problem's matrix, so a mistake in assembling the
problem, a solver's tolerance or a table altered after the solve shows up as a violation.

A violation is relative: how far the constraint is broken, divided by the size of what it
holds (the larger of its bound and its gross flows, and at least 1 unit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from econplan.analysis.demand import final_demand_claims
from econplan.model.economy import Economy
from econplan.plan.assemble import CONSUMPTION, shippable, trade_in_force

KEY = ["product", "region", "year"]


@dataclass(frozen=True)
class Verification:
    checks: pd.DataFrame
    """One row per check: check, count (constraints checked), max_violation, worst (what
    is most violated)."""

    @property
    def max_violation(self) -> float:
        return float(self.checks["max_violation"].max()) if len(self.checks) else 0.0

    def ok(self, limit: float = 1e-6) -> bool:
        return self.max_violation <= limit

    def to_dict(self) -> dict[str, object]:
        return {
            "max_violation": self.max_violation,
            "checks": {
                str(check): {"count": int(count), "max_violation": float(worst), "worst": what}
                for check, count, worst, what in zip(
                    self.checks["check"],
                    self.checks["count"],
                    self.checks["max_violation"],
                    self.checks["worst"],
                    strict=True,
                )
            },
        }


def _violation(excess: pd.Series, size: pd.Series, labels: pd.Series) -> tuple[float, str]:
    """The largest relative excess and what it is."""
    if len(excess) == 0:
        return 0.0, ""
    relative: np.ndarray = np.nan_to_num(
        (excess.clip(lower=0) / np.maximum(size.abs(), 1.0)).to_numpy(dtype=float), nan=np.inf
    )
    worst = int(np.argmax(relative))
    return float(relative[worst]), str(labels.iloc[worst]) if relative[worst] > 0 else ""


def _look(keys: pd.Series | pd.Index, mapping: pd.Series) -> np.ndarray:
    """``mapping`` at each key (NaN where missing), as a plain array: ``Series.map`` on
    pandas' string dtype would turn the values into strings."""
    return mapping.reindex(pd.Index(np.asarray(keys, dtype=object))).to_numpy()


def _label(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    text = frame[columns[0]].astype(str)
    for column in columns[1:]:
        text = text + " " + frame[column].astype(str)
    return text


def _flows(economy: Economy, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Supply (positive) and use (negative) entries of every product, region and year."""
    e = economy
    parts: list[pd.DataFrame] = []
    activity = tables["activity"]
    for year in e.years:
        act = activity[(activity["year"] == year) & (activity["activity"] != 0)]
        if len(act) == 0:
            continue
        process = e.process_ids.get_indexer(pd.Index(act["process"]))
        for matrix, sign in ((e.outputs(year), 1.0), (e.inputs(year), -1.0)):
            coo = matrix[:, process].tocoo()
            parts.append(
                pd.DataFrame(
                    {
                        "product": e.product_ids.to_numpy(dtype=object)[coo.row],
                        "region": act["region"].to_numpy(dtype=object)[coo.col],
                        "year": year,
                        "amount": sign * coo.data * act["activity"].to_numpy()[coo.col],
                    }
                )
            )
    # investment: the bill of materials spread evenly over the years of construction
    investment = tables["investment"]
    if len(investment):
        costs = e.tables["investment_costs"]
        options = e.tables["investments"].set_index("id")
        spread = options["lead_time"].fillna(1).clip(lower=1).astype(int)
        bill = costs.merge(investment, left_on="investment", right_on="option")
        for offset in range(int(spread.max()) if len(spread) else 0):
            during = bill[_look(bill["option"], spread) > offset]
            parts.append(
                pd.DataFrame(
                    {
                        "product": during["product"].to_numpy(dtype=object),
                        "region": during["region"].to_numpy(dtype=object),
                        "year": during["start_year"].to_numpy(dtype=int) + offset,
                        "amount": -(
                            during["amount"] * during["units"] / _look(during["option"], spread)
                        ).to_numpy(dtype=float),
                    }
                )
            )
    # final demand: claims fixed by data, the consumption basket at its level, reserves
    levels = tables["consumption_level"].set_index(["region", "year"])["level"]
    production = _production(e, tables)
    for year in e.years:
        claims = final_demand_claims(e, year, production[production["year"] == year])
        level = claims.apply(
            lambda row, y=year: (
                levels.get((row["region"], y), 0.0) if row["category"] == CONSUMPTION else 1.0
            ),
            axis=1,
        )
        amount = claims["amount"] * (level if len(claims) else 1.0)
        parts.append(
            claims[["product", "region"]].assign(year=year, amount=-amount.to_numpy(dtype=float))
        )
    trade = tables["trade"]
    parts.append(trade[KEY].assign(amount=trade["imports"] - trade["exports"]))
    ship = tables["shipments"]
    parts.append(
        ship[["product", "destination", "year"]]
        .rename(columns={"destination": "region"})
        .assign(amount=ship["amount"])
    )
    parts.append(
        ship[["product", "origin", "year"]]
        .rename(columns={"origin": "region"})
        .assign(amount=-ship["amount"])
    )
    links = e.tables["links"].set_index("id")
    service = ship.assign(
        product=_look(ship["link"], links["service"]),
        region=ship["origin"],
        amount=-ship["amount"]
        * _carried(e, ship)
        * np.nan_to_num(_look(ship["link"], links["service_per_unit"]).astype(float)),
    )
    parts.append(service[service["product"].notna()][[*KEY, "amount"]])
    stocks = tables["stocks"]
    parts.append(stocks[KEY].assign(amount=-stocks["stock"]))
    later = stocks.assign(year=stocks["year"] + 1)
    later = later[later["year"] <= e.settings.last_year]
    parts.append(later[KEY].assign(amount=later["stock"]))
    res = tables["resources"]
    parts.append(res[KEY].assign(amount=res["draw"]))
    labour = e.tables["labour"]
    labour = labour[labour["year"].isin(e.years)]
    parts.append(
        labour[["product", "region"]].assign(
            year=labour["year"].astype(int), amount=labour["amount"]
        )
    )
    flows = pd.concat([p[[*KEY, "amount"]] for p in parts if len(p)], ignore_index=True)
    flows["year"] = flows["year"].astype(int)
    return flows


def _production(economy: Economy, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Gross output by product, region and year, recomputed from activity."""
    e = economy
    parts = []
    activity = tables["activity"]
    for year in e.years:
        act = activity[(activity["year"] == year) & (activity["activity"] != 0)]
        process = e.process_ids.get_indexer(pd.Index(act["process"]))
        coo = e.outputs(year)[:, process].tocoo()
        parts.append(
            pd.DataFrame(
                {
                    "product": e.product_ids.to_numpy(dtype=object)[coo.row],
                    "region": act["region"].to_numpy(dtype=object)[coo.col],
                    "year": year,
                    "amount": coo.data * act["activity"].to_numpy()[coo.col],
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*KEY, "amount"])
    return pd.DataFrame(frame.groupby(KEY, as_index=False)["amount"].sum())


def _carried(economy: Economy, ship: pd.DataFrame) -> np.ndarray:
    """What each shipment weighs against its link's capacity: the grid counts MWh, rail,
    road and sea count tonnes (a good's mass per unit)."""
    goods, mass = shippable(economy)["rail"]
    by_mass = pd.Series(mass, index=economy.product_ids.to_numpy(dtype=object)[goods])
    mode = _look(ship["link"], economy.tables["links"].set_index("id")["mode"])
    weight = _look(ship["product"], by_mass).astype(float)
    return np.where(mode == "grid", 1.0, weight)


def verify(economy: Economy, tables: dict[str, pd.DataFrame]) -> Verification:
    """Recompute every constraint of the plan in ``tables`` and measure what is broken."""
    e = economy
    rows: list[tuple[str, int, float, str]] = []

    def record(check: str, excess: pd.Series, size: pd.Series, labels: pd.Series) -> None:
        worst, what = _violation(excess, size, labels)
        rows.append((check, len(excess), worst, what))

    # non-negativity of what cannot be negative
    for table, column in (
        ("activity", "activity"),
        ("investment", "units"),
        ("shipments", "amount"),
        ("trade", "imports"),
        ("trade", "exports"),
        ("stocks", "stock"),
        ("consumption_level", "level"),
    ):
        frame = tables[table]
        record(
            f"non-negative {table}.{column}",
            -frame[column],
            frame[column] * 0,
            _label(frame, list(frame.columns[:3])),
        )

    # balances (labour separately): supply minus use >= 0
    flows = _flows(e, tables)
    gross = flows.assign(amount=flows["amount"].abs()).groupby(KEY)["amount"].sum()
    net = flows.groupby(KEY)["amount"].sum()
    kinds = e.tables["products"].set_index("id")["kind"]
    is_labour = _look(net.index.get_level_values("product"), kinds) == "labour"
    labels = pd.Series([" ".join(map(str, k)) for k in net.index], index=net.index)
    record("balance", -net[~is_labour], gross[~is_labour], labels[~is_labour])
    record("labour", -net[is_labour], gross[is_labour], labels[is_labour])

    # capacity: activity <= facilities open + investments ready - renovated away
    record_capacity(e, tables, record)

    # investment: at most max_units of each option, started in allowed years
    investment = tables["investment"]
    options = e.tables["investments"].set_index("id")
    units = investment.groupby("option")["units"].sum()
    allowed = options["max_units"].fillna(1.0).reindex(units.index)
    record("investment limit", units - allowed, allowed, pd.Series(units.index, index=units.index))
    first = (
        options["first_year"].fillna(e.settings.first_year).reindex(investment["option"]).to_numpy()
    )
    last = (
        options["last_year"].fillna(e.settings.last_year).reindex(investment["option"]).to_numpy()
    )
    start = investment["start_year"].to_numpy()
    outside = ((start < first) | (start > last)) & (investment["units"].to_numpy() > 0)
    # a start outside the option's years is broken outright, whatever its size
    record(
        "investment years",
        pd.Series(np.where(outside, np.inf, 0.0)),
        pd.Series(np.ones(len(start))),
        _label(investment, ["option", "start_year"]),
    )

    # links: mass carried each way each year within capacity
    ship = tables["shipments"]
    links = e.tables["links"].set_index("id")
    carried = (
        (ship["amount"] * _carried(e, ship))
        .groupby([ship["link"], ship["origin"], ship["destination"], ship["year"]])
        .sum()
    )
    link = carried.index.get_level_values("link")
    capacity = pd.Series(_look(link, links["capacity"]).astype(float), index=carried.index)
    reverse = carried.index.get_level_values("origin").to_numpy() != _look(link, links["origin"])
    one_way = ~_look(link, links["two_way"].fillna(True)).astype(bool)
    capacity[reverse & one_way] = 0.0
    record(
        "link capacity",
        carried - capacity,
        capacity,
        pd.Series([" ".join(map(str, k)) for k in carried.index], index=carried.index),
    )

    # trade: caps and foreign exchange
    trade = tables["trade"]
    spending = []
    for year in e.years:
        terms = trade_in_force(e, year)
        here = trade[trade["year"] == year]
        total = here.groupby("product")[["imports", "exports"]].sum()
        for flow, price, cap in (
            ("imports", "import_price", "import_cap"),
            ("exports", "export_price", "export_cap"),
        ):
            amount = total[flow]
            amount = amount[amount > 0]
            cap_values = terms[cap].reindex(amount.index)
            priced = terms[price].reindex(amount.index)
            record(
                f"{flow} allowed",
                amount.where(priced.isna(), 0.0),
                amount,
                pd.Series(amount.index + f" {year}", index=amount.index),
            )
            capped = cap_values.notna()
            record(
                f"{flow} cap",
                (amount - cap_values)[capped],
                cap_values[capped],
                pd.Series(amount.index + f" {year}", index=amount.index)[capped],
            )
        paid = float(
            (total["imports"] * terms["import_price"].reindex(total.index).fillna(0.0)).sum()
        )
        earned = float(
            (total["exports"] * terms["export_price"].reindex(total.index).fillna(0.0)).sum()
        )
        spending.append(
            (
                year,
                paid - earned - e.settings.credit_line,
                max(paid, earned, e.settings.credit_line),
            )
        )
    fx = pd.DataFrame(spending, columns=["year", "excess", "size"])
    record("foreign exchange", fx["excess"], fx["size"], fx["year"].astype(str))

    # natural resources
    record_resources(e, tables, record)

    # hard targets
    record_targets(e, tables, record)

    found = pd.DataFrame(rows, columns=["check", "count", "max_violation", "worst"])
    # one line per check: the counts add up, the worst of its parts is its worst
    worst = found.sort_values("max_violation", ascending=False, kind="stable")
    worst = worst.drop_duplicates("check").set_index("check")
    checks = pd.DataFrame(found.groupby("check", sort=False, as_index=False)["count"].sum())
    checks["max_violation"] = worst["max_violation"].reindex(checks["check"]).to_numpy()
    checks["worst"] = worst["worst"].reindex(checks["check"]).to_numpy()
    return Verification(checks)


def record_capacity(e: Economy, tables: dict[str, pd.DataFrame], record) -> None:  # type: ignore[no-untyped-def]
    facilities = e.tables["facilities"]
    options = e.tables["investments"].set_index("id")
    investment = tables["investment"]
    facility_table = facilities.set_index("id")
    parts = []
    for year in e.years:
        open_ = facilities[e.operating(year).to_numpy()]
        parts.append(
            open_[["process", "region"]].assign(year=year, capacity=open_["capacity"].to_numpy())
        )
        ready = investment[investment["ready_year"] <= year]
        if len(ready):
            lead_ok = (
                ready["start_year"]
                + options["lead_time"].fillna(1).reindex(ready["option"]).to_numpy()
                <= year
            )
            ready = ready[lead_ok.to_numpy()]
            per_unit = options["capacity"].reindex(ready["option"]).to_numpy()
            parts.append(
                ready[["process", "region"]].assign(
                    year=year, capacity=ready["units"].to_numpy() * per_unit
                )
            )
            facility = ready["facility"]
            switch = facility.notna().to_numpy() & (
                _look(facility, facility_table["process"]) != ready["process"].to_numpy()
            )
            gone = ready[switch]
            if len(gone):
                old = facility_table.loc[gone["facility"]]
                operating = e.operating(year).reindex(gone["facility"]).to_numpy()
                share = (
                    old["capacity"].to_numpy()
                    / options["max_units"].fillna(1.0).reindex(gone["option"]).to_numpy()
                )
                parts.append(
                    pd.DataFrame(
                        {
                            "process": old["process"].to_numpy(dtype=object),
                            "region": old["region"].to_numpy(dtype=object),
                            "year": year,
                            "capacity": -share * gone["units"].to_numpy() * operating,
                        }
                    )
                )
    capacity = (
        pd.concat(parts, ignore_index=True).groupby(["process", "region", "year"])["capacity"].sum()
    )
    activity = tables["activity"].groupby(["process", "region", "year"])["activity"].sum()
    capped_processes = set(facilities["process"]) | set(options["process"])
    capped = activity[activity.index.get_level_values("process").isin(capped_processes)]
    limit = capacity.reindex(capped.index).fillna(0.0)
    labels = pd.Series([" ".join(map(str, k)) for k in capped.index], index=capped.index)
    record("capacity", capped - limit, limit, labels)


def record_resources(e: Economy, tables: dict[str, pd.DataFrame], record) -> None:  # type: ignore[no-untyped-def]
    res = e.tables["resources"].set_index(["region", "product"])
    draws = (
        tables["resources"]
        .pivot_table(index=["region", "product"], columns="year", values="draw", aggfunc="sum")
        .reindex(columns=list(e.years))
        .fillna(0.0)
    )
    draws = draws.reindex(res.index).fillna(0.0)
    labels = pd.Series([" ".join(k) for k in res.index], index=res.index)
    kind = res["kind"]
    limit = res["yearly_limit"]
    for year in e.years:
        limited = limit.notna()
        record(
            "resource yearly limit",
            (draws[year] - limit)[limited],
            limit[limited],
            labels[limited] + f" {year}",
        )
        negative = kind != "renewable"
        record(
            "resource draw non-negative",
            -draws[year][negative],
            draws[year][negative] * 0,
            labels[negative] + f" {year}",
        )
    deposit = (kind == "deposit") & res["stock"].notna()
    total = draws.sum(axis=1)
    record("deposit", (total - res["stock"])[deposit], res["stock"][deposit], labels[deposit])
    renewable = kind == "renewable"
    stock = res["stock"].fillna(0.0)[renewable]
    growth = res["regrowth_rate"].fillna(0.0)[renewable]
    minimum = res["min_stock"].fillna(0.0)[renewable]
    for year in e.years:
        stock = (1.0 + growth) * stock - draws[year][renewable]
        record("renewable minimum stock", minimum - stock, minimum, labels[renewable] + f" {year}")


def record_targets(e: Economy, tables: dict[str, pd.DataFrame], record) -> None:  # type: ignore[no-untyped-def]
    """Hard targets must hold; the plan's stated amounts for every target must be true."""
    targets = e.tables["targets"]
    production = _production(e, tables)
    trade = tables["trade"]
    consumption = tables["consumption"]
    population = e.population
    excess, size, labels, stated_error, stated_size = [], [], [], [], []
    planned_table = tables["targets"].set_index("id")["planned"]
    for row in targets.to_dict(orient="records"):
        year = int(row["year"])
        if year not in e.years:
            continue
        products = (
            (row["product"],)
            if isinstance(row["product"], str)
            else e.sector_products[row["sector"]]
        )
        members = (
            e.region_members[row["region"]]
            if isinstance(row["region"], str)
            else tuple(e.region_ids)
        )
        if row["measure"] == "production":
            frame = production
            column = "amount"
        elif row["measure"] in ("imports", "exports"):
            frame = trade
            column = row["measure"]
        else:
            frame = consumption
            column = "amount"
        inside = (
            (frame["year"] == year)
            & frame["product"].isin(products)
            & frame["region"].isin(members)
        )
        planned = float(frame.loc[inside, column].sum())
        if row["measure"] == "final_use":
            claims = final_demand_claims(e, year, production[production["year"] == year])
            fixed = claims[
                (claims["category"] != CONSUMPTION)
                & claims["product"].isin(products)
                & claims["region"].isin(members)
            ]
            planned += float(fixed["amount"].sum())
        required = float(row["amount"])
        if row["basis"] == "per_head":
            required *= (
                float(population.reindex(list(members))[year].sum())
                if year in population.columns
                else 0.0
            )
        stated_error.append(abs(planned - float(planned_table.get(row["id"], np.nan))))
        stated_size.append(max(abs(planned), abs(required)))
        if row["kind"] != "hard":
            continue
        excess.append(required - planned if row["sense"] == "at_least" else planned - required)
        size.append(required)
        labels.append(str(row["id"]))
    record(
        "hard targets",
        pd.Series(excess, dtype=float),
        pd.Series(size, dtype=float),
        pd.Series(labels, dtype=object),
    )
    record(
        "target amounts stated",
        pd.Series(stated_error, dtype=float).fillna(np.inf),
        pd.Series(stated_size, dtype=float),
        pd.Series(list(targets["id"]), dtype=object).iloc[: len(stated_error)],
    )
