"""Consumption: the basket (norms per head times population) of each region and year at a
level, a column that is 1 where the economy's objective is labour (the norms met) and free
where it is consumption; with a growth path, each inhabited region's level at least
(1 + growth) times its level the year before (rows the consumption stages add)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.analysis.demand import final_demand_claims
from econplan.model.economy import Economy
from econplan.plan.families.assembly import CONSUMPTION, Assembly
from econplan.plan.families.checking import Record, label
from econplan.plan.families.family import Constraint, Family
from econplan.plan.flows import KEY
from econplan.plan.lp import INF


def assemble(a: Assembly) -> None:
    """The consumption basket (norms per head times population) at a level per region and
    year; the level is 1 when the economy's objective is labour (norms must be met)."""
    e = a.economy
    keys, products, amounts = [], [], []
    for ti, claims in enumerate(a.claims):
        basket = claims[claims["category"] == CONSUMPTION]
        keys.append(ti * a.R + a.region_positions(basket["region"]))
        products.append(a.product_positions(basket["product"]))
        amounts.append(basket["amount"].to_numpy(dtype=float))
    key = np.concatenate(keys)
    levels = np.unique(key)
    level = 1.0 if e.settings.objective != CONSUMPTION else None
    labels = a.labels(
        region=e.region_ids.to_numpy(dtype=object)[levels % a.R],
        year=a.years[levels // a.R],
    )
    block = a.lp.add_columns(
        "consumption",
        labels,
        lower=0.0 if level is None else level,
        upper=INF if level is None else level,
        unit="level of the norms (1 = the norms)",
        shape=(len(levels),),
    )
    col = block.at(np.searchsorted(levels, key))
    product = np.concatenate(products)
    a.lp.add(a.balance_row(product, key % a.R, key // a.R), col, -np.concatenate(amounts))
    a.levels = levels
    a.basket = pd.DataFrame({"key": key, "product": product, "amount": np.concatenate(amounts)})


def growth_rows(a: Assembly, inhabited: np.ndarray, growth: float) -> None:
    """Consumption per head grows at least at ``growth`` from one year to the next in
    every inhabited region: level[r, t] - (1 + growth) level[r, t - 1] >= 0."""
    keys = a.levels[inhabited]
    earlier = np.searchsorted(keys, keys - a.R)
    has = (keys >= a.R) & (earlier < len(keys))
    has[has] &= keys[earlier[has]] == keys[has] - a.R
    later, before = inhabited[has], inhabited[earlier[has]]
    levels = a.block("consumption")
    rows = a.lp.add_rows(
        "consumption_growth",
        levels.labels.iloc[later],
        lower=0.0,
        unit="level of the norms",
    )
    a.lp.add(rows.index, levels.at(later), 1.0)
    a.lp.add(rows.index, levels.at(before), -(1.0 + growth))


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """The level of the consumption basket of every region and year that has one: present in
    the plan (a missing level would count as no consumption at all), exactly 1 where the
    economy's objective is labour (the norms must be met, no more and no less); and the
    ``consumption`` table, which readers take as what people get, equal to the basket at
    that level."""
    levels = tables["consumption_level"].set_index(["region", "year"])["level"]
    fixed = e.settings.objective != CONSUMPTION
    wanted = []
    for year in e.years:
        claims = final_demand_claims(e, year)
        basket = claims[claims["category"] == CONSUMPTION]
        if len(basket) == 0:
            continue
        keys = pd.MultiIndex.from_arrays(
            [basket["region"].to_numpy(dtype=object), np.full(len(basket), year)]
        )
        level = levels.reindex(keys).to_numpy(dtype=float)
        wanted.append(basket.assign(year=year, amount=basket["amount"].to_numpy() * level))
        has = pd.Index(basket["region"].unique())
        found = levels.reindex(pd.MultiIndex.from_arrays([has, np.full(len(has), year)]))
        labels = pd.Series([f"{region} {year}" for region in has])
        record(
            "consumption level present",
            pd.Series(np.where(found.isna().to_numpy(), np.inf, 0.0)),
            pd.Series(np.ones(len(has))),
            labels,
        )
        if fixed:
            gap = (found.fillna(1.0) - 1.0).abs().reset_index(drop=True)
            record("consumption level fixed at 1", gap, pd.Series(np.ones(len(has))), labels)
    growth = e.settings.consumption_growth
    if growth is not None and e.settings.objective == CONSUMPTION:
        # every region's level at least (1 + growth) times its level the year before
        table = tables["consumption_level"]
        inhabited = table[table["persons"] > 0]
        if inhabited.empty:  # no population given: every region's basket counts (as assembled)
            inhabited = table
        before = inhabited.assign(year=inhabited["year"] + 1)
        pairs = inhabited.merge(before, on=["region", "year"], suffixes=("", "_before"))
        record(
            "consumption growth",
            (1.0 + growth) * pairs["level_before"] - pairs["level"],
            pairs["level"],
            label(pairs, ["region", "year"]),
        )
    if not wanted:
        return
    total = pd.concat(wanted, ignore_index=True).groupby(KEY)["amount"].sum()
    stated = tables["consumption"].groupby(KEY)["amount"].sum()
    both = total.index.union(stated.index)
    want = total.reindex(both).fillna(np.inf)  # a stated amount of nothing: broken outright
    said = stated.reindex(both).fillna(0.0)
    record(
        "consumption amounts stated",
        (want - said).abs().where(np.isfinite(want), np.inf),
        pd.Series(np.maximum(want.where(np.isfinite(want), 0.0).abs(), said.abs()), index=both),
        pd.Series([" ".join(map(str, k)) for k in both], index=both),
    )


FAMILY = Family(
    "consumption",
    (
        Constraint(
            "consumption_growth",
            ("region", "year"),
            "one unit less of the level the region must reach over its last year's, grown",
            "level of the norms",
            ranged=True,
            valued=False,
            checks=("consumption growth",),
        ),
    ),
    assemble,
    check,
    needs=("balance",),
    gives=("consumption", "levels", "basket"),
)
