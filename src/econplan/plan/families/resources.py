"""Natural resources: what is drawn from each, each year (a source in the balance of the
region where it lies); deposits that shrink as they are drawn, flows with a yearly limit, and
renewable stocks that regrow at their rate and may not fall below their minimum."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.families.assembly import Assembly
from econplan.plan.families.checking import Record
from econplan.plan.families.family import Constraint, Family
from econplan.plan.lp import INF


def assemble(a: Assembly) -> None:
    """What is taken from natural resources: deposits shrink, flows have a yearly limit,
    renewable stocks regrow at their rate and may not fall below their minimum."""
    e = a.economy
    res = e.tables["resources"]
    n = len(res)
    p = e.positions("resources", "product")
    r = e.positions("resources", "region")
    kind = res["kind"].to_numpy(dtype=object)
    renewable = kind == "renewable"
    stock = res["stock"].to_numpy(dtype=float)
    limit = res["yearly_limit"].to_numpy(dtype=float)
    growth = res["regrowth_rate"].fillna(0.0).to_numpy(dtype=float)
    minimum = res["min_stock"].fillna(0.0).to_numpy(dtype=float)
    base = a.labels(
        product=res["product"].to_numpy(dtype=object),
        region=res["region"].to_numpy(dtype=object),
    )
    labels = pd.concat([base.assign(year=y) for y in a.years])
    lower = np.tile(np.where(renewable, -INF, 0.0), a.T)
    draw = a.lp.add_columns("draw", labels, lower=lower, unit="product unit", shape=(a.T, n))
    for ti in range(a.T):
        a.lp.add(a.balance_row(p, r, ti), draw.at(ti, np.arange(n)), 1.0)
    limited = np.flatnonzero(np.isfinite(limit))
    rows = a.lp.add_rows(
        "resource_yearly",
        pd.concat([base.iloc[limited].assign(year=y) for y in a.years]),
        upper=np.tile(limit[limited], a.T),
        unit="product unit",
        shape=(a.T, len(limited)),
    )
    for ti in range(a.T):
        a.lp.add(rows.at(ti, np.arange(len(limited))), draw.at(ti, limited), 1.0)
    deposits = np.flatnonzero((kind == "deposit") & np.isfinite(stock))
    rows = a.lp.add_rows("deposit", base.iloc[deposits], upper=stock[deposits], unit="product unit")
    for ti in range(a.T):
        a.lp.add(rows.index, draw.at(ti, deposits), 1.0)
    # renewable stocks: S_t = (1 + g) S_{t-1} - w_t, S_t >= min_stock
    ren = np.flatnonzero(renewable)
    m = len(ren)
    ren_labels = pd.concat([base.iloc[ren].assign(year=y) for y in a.years])
    stocks = a.lp.add_columns(
        "resource_stock",
        ren_labels,
        lower=np.tile(minimum[ren], a.T),
        unit="product unit",
        shape=(a.T, m),
    )
    rhs = np.zeros(a.T * m)
    rhs[:m] = (1.0 + growth[ren]) * np.nan_to_num(stock[ren])
    rows = a.lp.add_rows(
        "regrowth", ren_labels, lower=rhs, upper=rhs, unit="product unit", shape=(a.T, m)
    )
    for ti in range(a.T):
        row = rows.at(ti, np.arange(m))
        a.lp.add(row, stocks.at(ti, np.arange(m)), 1.0)
        a.lp.add(row, draw.at(ti, ren), 1.0)
        if ti > 0:
            a.lp.add(row, stocks.at(ti - 1, np.arange(m)), -(1.0 + growth[ren]))


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """Draws within yearly limits, deposits and renewable minimum stocks."""
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


FAMILY = Family(
    "resources",
    (
        Constraint(
            "resource_yearly",
            ("year", "product", "region"),
            "one more unit of the resource's yearly limit",
            "product unit",
            limit=True,
            ranged=True,
            checks=("resource yearly limit",),
        ),
        Constraint(
            "deposit",
            ("product", "region"),
            "one more unit in the deposit",
            "product unit",
            limit=True,
            ranged=True,
            checks=("deposit",),
        ),
        Constraint(
            "regrowth",
            ("year", "product", "region"),
            "one more unit of the renewable stock at the start of the plan",
            "product unit",
            ranged=True,
            checks=("renewable minimum stock",),
        ),
        Constraint(
            "min_stock",
            ("year", "product", "region"),
            "one unit less of the renewable stock's minimum",
            "product unit",
            limit=True,
            bound=True,
            checks=("renewable minimum stock",),
        ),
    ),
    assemble,
    check,
    needs=("balance",),
    gives=("draw", "resource_yearly", "deposit", "resource_stock", "regrowth"),
)
