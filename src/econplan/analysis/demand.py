"""Final demand claims region by region: norms per head times population, absolute claims
shared by population, and reserves as a share of what each region produces."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.model.economy import Economy

CLAIM_COLUMNS = ["category", "product", "region", "amount"]


def _shares(weights: pd.Series) -> pd.Series:
    total = float(weights.sum())
    return weights / total if total > 0 else pd.Series(1.0 / len(weights), index=weights.index)


def final_demand_claims(
    economy: Economy,
    year: int,
    production: pd.DataFrame | None = None,
    rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Claims of ``year`` by category, product and region.

    ``production`` (product, region, amount) is what share_of_output claims are shares of;
    without it those claims are left out. Rows without a year hold every year; a row with a
    region covers the region and its sub-regions. ``rows``: some rows of final_demand only
    (the soft claims of a priority); None: all of them.

    By joins, not row by row: every row is joined to the regions it covers, then valued by
    its basis at once (a loop over the rows took 11.9 of the 13.9 s of assembling a
    generated economy of 10^4 products).
    """
    demand = economy.tables["final_demand"] if rows is None else rows
    demand = demand[(demand["year"].isna() | (demand["year"] == year)).to_numpy()]
    population = economy.population[year] if year in economy.population.columns else None
    basis = demand["basis"].to_numpy(dtype=object)
    usable = np.ones(len(demand), dtype=bool)
    if population is None:
        usable &= basis != "per_head"
    if production is None:
        usable &= basis != "share_of_output"
    demand = demand[usable]
    if demand.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c == "amount" else object) for c in CLAIM_COLUMNS}
        )
    region = demand["region"].astype(object)
    key = region.where(region.map(lambda r: isinstance(r, str)), "").to_numpy(dtype=object)
    rows_frame = pd.DataFrame(
        {
            "row": np.arange(len(demand)),
            "category": demand["category"].to_numpy(dtype=object),
            "product": demand["product"].astype(str).to_numpy(dtype=object),
            "basis": demand["basis"].to_numpy(dtype=object),
            "claim": demand["amount"].to_numpy(dtype=float),
            "key": key,
        }
    )
    covered = [
        (k, member)
        for k in pd.unique(key)
        for member in (economy.region_ids if k == "" else economy.region_members[k])
    ]
    membership = pd.DataFrame(covered, columns=["key", "region"], dtype=object)
    # an inner merge keeps the rows' order and, within a row, its regions' order: each
    # (category, product, region) sums its parts in the order the row loop did
    claims = rows_frame.merge(membership, on="key", how="inner")
    kind = claims["basis"].to_numpy(dtype=object)
    claim = claims["claim"].to_numpy(dtype=float)
    amount = np.zeros(len(claims))
    people = (
        population.reindex(claims["region"]).to_numpy(dtype=float)
        if population is not None
        else np.ones(len(claims))
    )
    per_head = kind == "per_head"
    amount[per_head] = people[per_head] * claim[per_head]
    absolute = kind == "absolute"
    if absolute.any():
        # absolute claims are shared by population (equally where the row's regions have
        # none): the share of each region the row covers
        weights = pd.Series(people[absolute])
        row = claims["row"].to_numpy()[absolute]
        total = weights.groupby(row).transform("sum").to_numpy(dtype=float)
        count = weights.groupby(row).transform("size").to_numpy(dtype=float)
        share = np.where(total > 0, weights.to_numpy() / np.where(total > 0, total, 1), 1 / count)
        amount[absolute] = share * claim[absolute]
    of_output = kind == "share_of_output"
    if of_output.any() and production is not None:
        made = production.groupby(["product", "region"])["amount"].sum()
        where = pd.MultiIndex.from_arrays(
            [claims["product"].to_numpy()[of_output], claims["region"].to_numpy()[of_output]]
        )
        amount[of_output] = made.reindex(where).to_numpy(dtype=float) * claim[of_output]
    claims["amount"] = amount
    keys = ["category", "product", "region"]
    summed = claims.groupby(keys, sort=True)["amount"].sum()
    found = summed.reset_index()
    return found[found["amount"] != 0].reset_index(drop=True)


def allocate(national: pd.Series, weights: pd.DataFrame, fallback: pd.Series) -> pd.DataFrame:
    """Share national amounts per product among regions in proportion to ``weights`` (product,
    region, amount); products without weights are shared by ``fallback`` (region -> weight)."""
    rows = []
    for product, amount in national.items():
        if amount == 0 or not np.isfinite(amount):
            continue
        w = weights[weights["product"] == product].groupby("region")["amount"].sum()
        w = w[w > 0]
        shares = _shares(w if len(w) else fallback)
        rows.append(
            pd.DataFrame(
                {
                    "product": product,
                    "region": shares.index.to_numpy(dtype=object),
                    "amount": shares.to_numpy() * amount,
                }
            )
        )
    if not rows:
        return pd.DataFrame(
            {
                "product": pd.Series(dtype=object),
                "region": pd.Series(dtype=object),
                "amount": pd.Series(dtype=float),
            }
        )
    return pd.concat(rows, ignore_index=True)
